/**
 * The user docs: markdown files under docs/user/, read once and rendered
 * through the app's one sanitiser with heading ids and a table of contents.
 * A slug names a file only through this map, so no request ever reaches the
 * file system with a path of its own.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { badRequest, notFound } from '../../errors'
import { renderDocument, type TocEntry } from '../../markdown'
import type { Page } from '../../pagination'

const DOCS_DIR = resolve(import.meta.dir, '../../../docs/user')

/** The reading order; files not listed follow, alphabetically. */
export const DOC_ORDER = [
  'getting-started',
  'running-a-council',
  'reading-the-results',
  'documents-and-privacy',
  'palettes',
  'api-and-tokens',
  'for-admins',
] as const

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/

export interface DocSummary {
  slug: string
  title: string
  summary: string
}

export interface Doc extends DocSummary {
  html: string
  toc: TocEntry[]
}

/** The first paragraph as plain text: what the index shows under the title. */
function summaryOf(source: string): string {
  const paragraph = source
    .split(/\n\s*\n/)
    .map((block) => block.trim())
    .find((block) => block && !block.startsWith('#') && !block.startsWith('|') && !block.startsWith('```') && !block.startsWith('-'))
  return (paragraph ?? '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[*_`]/g, '')
    .replace(/\s+/g, ' ')
    .slice(0, 300)
}

function load(dir: string): Doc[] {
  const slugs = readdirSync(dir)
    .filter((name) => name.endsWith('.md'))
    .map((name) => name.slice(0, -3))
    .filter((slug) => SLUG.test(slug))
  const rank = (slug: string) => {
    const index = (DOC_ORDER as readonly string[]).indexOf(slug)
    return index === -1 ? DOC_ORDER.length : index
  }
  slugs.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
  return slugs.map((slug) => {
    const source = readFileSync(join(dir, `${slug}.md`), 'utf8')
    const { html, toc } = renderDocument(source)
    const title = toc.find((entry) => entry.level === 1)?.text ?? slug
    return { slug, title, summary: summaryOf(source.replace(/^#[^\n]*\n/, '')), html, toc }
  })
}

const loaded = new Map<string, Doc[]>()

/**
 * @example
 * const docs = createDocsService()
 * docs.get('getting-started').toc
 */
export function createDocsService(dir = DOCS_DIR) {
  // Docs ship with the code, so they are read and rendered once per process.
  const docs = loaded.get(dir) ?? load(dir)
  loaded.set(dir, docs)
  const bySlug = new Map(docs.map((doc) => [doc.slug, doc]))
  const summaries: DocSummary[] = docs.map(({ slug, title, summary }) => ({ slug, title, summary }))

  return {
    all: (): DocSummary[] => summaries,

    /** The index as a list page (`limit` already clamped by pageParams); the cursor is the last slug seen. */
    page(cursor: string | undefined, limit: number): Page<DocSummary> {
      let start = 0
      if (cursor) {
        const after = Buffer.from(cursor, 'base64url').toString()
        const index = docs.findIndex((doc) => doc.slug === after)
        if (index === -1) throw badRequest('invalid_cursor', 'The cursor is not one this API issued; start again without it.')
        start = index + 1
      }
      const items = summaries.slice(start, start + limit)
      const last = items[items.length - 1]
      return { items, next_cursor: start + limit < docs.length && last ? Buffer.from(last.slug).toString('base64url') : null, limit }
    },

    /** The doc, or 404 for a slug that is malformed or names none. */
    get(slug: string): Doc {
      const doc = SLUG.test(slug) ? bySlug.get(slug) : undefined
      if (!doc) throw notFound(`The document "${slug.slice(0, 80)}"`)
      return doc
    },
  }
}

type DocsService = ReturnType<typeof createDocsService>
