/**
 * Markdown from models and users, rendered and sanitised — the one sanitiser of
 * the app (council output, tickets, comments, docs). marked turns markdown into
 * HTML; sanitize-html then keeps only an allow-list of tags and attributes, so
 * whatever marked lets through (raw HTML is legal markdown) cannot run:
 *
 * - no element outside the list (script, style, iframe, object, embed, form,
 *   meta, svg, img, base, link …); script/style/textarea content goes too;
 * - no attribute outside the list: no on* handlers, no style, no hx-* or
 *   data-hx-* (htmx runs on every page and would act on them), no target;
 * - links keep http, https, mailto and relative URLs only (entity-encoded and
 *   whitespace-split schemes are decoded before the check), never
 *   protocol-relative ones, and always carry rel="noopener noreferrer nofollow";
 * - `class` only as `language-*` on code; `id` only on headings, only when the
 *   caller asks for heading ids (docs), and only in the `doc-` namespace, so a
 *   ticket can never clobber an element id the page or htmx relies on.
 *
 * tests/unit/markdown.test.ts runs the OWASP filter-evasion payloads through it.
 */
import { escapeHtml } from '@kitajs/html'
import { Marked, type Tokens } from 'marked'
import sanitizeHtml from 'sanitize-html'

/** Heading ids are namespaced so they never collide with the page's own element ids. */
const HEADING_ID_PREFIX = 'doc-'
const HEADING_ID = /^doc-[a-z0-9]+(?:-[a-z0-9]+)*$/
const HEADINGS = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'] as const

const BASE: sanitizeHtml.IOptions = {
  allowedTags: [
    ...HEADINGS, 'p', 'br', 'hr', 'blockquote', 'pre', 'code', 'em', 'strong', 'del',
    'ul', 'ol', 'li', 'a', 'table', 'thead', 'tbody', 'tr', 'th', 'td',
  ],
  allowedAttributes: { a: ['href', 'title', 'rel'], code: ['class'], th: ['align'], td: ['align'] },
  allowedClasses: { code: ['language-*'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesAppliedToAttributes: ['href'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  nonTextTags: ['script', 'style', 'textarea', 'option', 'noscript', 'title', 'xmp', 'noembed', 'noframes', 'iframe', 'template'],
  transformTags: { a: sanitizeHtml.simpleTransform('a', { rel: 'noopener noreferrer nofollow' }) },
}

const WITH_HEADING_IDS: sanitizeHtml.IOptions = {
  ...BASE,
  allowedAttributes: { ...BASE.allowedAttributes, ...Object.fromEntries(HEADINGS.map((tag) => [tag, ['id']])) },
  // An id survives only in the generated namespace; anything else written as raw HTML is dropped.
  transformTags: {
    ...BASE.transformTags,
    ...Object.fromEntries(
      HEADINGS.map((tag) => [
        tag,
        (name: string, attribs: sanitizeHtml.Attributes) => {
          const { id, ...rest } = attribs
          return { tagName: name, attribs: id && HEADING_ID.test(id) ? { ...rest, id } : rest }
        },
      ]),
    ),
  },
}

const plain = new Marked({ async: false, gfm: true })

/**
 * @example
 * renderMarkdown('**bold** <script>x</script>') // '<p><strong>bold</strong> </p>'
 * renderMarkdown('**Question:** # not a heading', { verbatim: ['# not a heading'] }) // '<p><strong>Question:</strong> # not a heading</p>'
 */
export function renderMarkdown(source: string, { verbatim = [] }: { verbatim?: readonly string[] } = {}): string {
  // Text quoted from the user (their question, repeated in a model's answer) is shown as they wrote it, not read as
  // markdown: it is swapped for a placeholder word before rendering and put back, escaped, afterwards.
  const key = crypto.randomUUID().replaceAll('-', '')
  const quoted = [...new Set(verbatim)].filter((text) => text.trim().length > 0 && source.includes(text)).sort((a, b) => b.length - a.length)
  let text = source
  quoted.forEach((quote, i) => (text = text.split(quote).join(`verbatim${key}n${i}x`)))
  let html = sanitizeHtml(plain.parse(text) as string, BASE)
  quoted.forEach((quote, i) => (html = html.split(`verbatim${key}n${i}x`).join(escapeHtml(quote).replaceAll('\n', '<br />'))))
  return html
}

export interface TocEntry {
  /** 1–6 */
  level: number
  /** The heading's element id (without '#'). */
  id: string
  text: string
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&#x27;': "'" }

/** The visible text of a fragment of (already sanitised) inline HTML. */
const textOf = (html: string) =>
  sanitizeHtml(html, { allowedTags: [], allowedAttributes: {} }).replace(/&(?:amp|lt|gt|quot|#39|#x27);/g, (e) => ENTITIES[e] ?? e).trim()

/** "Roles & role bindings" → "roles-role-bindings" (ASCII letters and digits; accents dropped). */
export function headingSlug(text: string): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '')
  return slug || 'section'
}

/**
 * Markdown rendered like renderMarkdown, with an id on every heading and the
 * table of contents built from them (ids unique within the document).
 * @example
 * const { html, toc } = renderDocument('# Start\n\n## Log in')
 * // toc: [{ level: 1, id: 'doc-start', text: 'Start' }, { level: 2, id: 'doc-log-in', text: 'Log in' }]
 */
export function renderDocument(source: string): { html: string; toc: TocEntry[] } {
  const toc: TocEntry[] = []
  const used = new Map<string, number>()
  const marked = new Marked({ async: false, gfm: true })
  marked.use({
    renderer: {
      heading(this: { parser: { parseInline(tokens: Tokens.Heading['tokens']): string } }, token: Tokens.Heading) {
        const inner = this.parser.parseInline(token.tokens)
        const text = textOf(sanitizeHtml(inner, BASE))
        const base = `${HEADING_ID_PREFIX}${headingSlug(text)}`
        const seen = used.get(base) ?? 0
        used.set(base, seen + 1)
        const id = seen === 0 ? base : `${base}-${seen + 1}`
        toc.push({ level: token.depth, id, text })
        return `<h${token.depth} id="${id}">${inner}</h${token.depth}>\n`
      },
    },
  })
  const html = sanitizeHtml(marked.parse(source) as string, WITH_HEADING_IDS)
  return { html, toc }
}
