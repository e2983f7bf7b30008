/** The docs index and one guide with its table of contents (beside it on a wide screen, above it on a phone). */
import type { Actor } from '../../../plugins/auth'
import { Layout } from '../../../views/layout'
import type { Doc, DocSummary } from './service'

export function DocsIndexPage({ actor, docs }: { actor: Actor; docs: DocSummary[] }) {
  return (
    <Layout title="Docs" actor={actor} path="/docs">
      <h1>User guides</h1>
      <ol class="doc-index" id="doc-index">
        {docs.map((doc) => (
          <li class="card">
            <h2>
              <a href={`/docs/${doc.slug}`} safe>
                {doc.title}
              </a>
            </h2>
            <p class="muted" safe>
              {doc.summary}
            </p>
          </li>
        ))}
      </ol>
    </Layout>
  )
}

export function DocPage({ actor, doc, docs }: { actor: Actor; doc: Doc; docs: DocSummary[] }) {
  const safeHtml = doc.html
  const index = docs.findIndex((other) => other.slug === doc.slug)
  const previous = docs[index - 1]
  const next = docs[index + 1]
  const headings = doc.toc.filter((entry) => entry.level >= 2 && entry.level <= 3)
  return (
    <Layout title={doc.title} actor={actor} path="/docs">
      <p class="small">
        <a href="/docs">← All guides</a>
      </p>
      <div class="doc-layout">
        {headings.length > 0 ? (
          <nav class="toc card" id="toc" aria-label="On this page">
            <details open>
              <summary>On this page</summary>
              <ol>
                {headings.map((entry) => (
                  <li class={`toc-level-${entry.level}`}>
                    <a href={`#${entry.id}`} safe>
                      {entry.text}
                    </a>
                  </li>
                ))}
              </ol>
            </details>
          </nav>
        ) : (
          ''
        )}
        <article class="markdown doc card" id="doc" data-slug={doc.slug}>
          {safeHtml}
        </article>
      </div>
      <nav class="doc-pager small" aria-label="More guides">
        {previous ? (
          <a href={`/docs/${previous.slug}`} rel="prev" safe>
            {`← ${previous.title}`}
          </a>
        ) : (
          <span />
        )}
        {next ? (
          <a href={`/docs/${next.slug}`} rel="next" safe>
            {`${next.title} →`}
          </a>
        ) : (
          ''
        )}
      </nav>
    </Layout>
  )
}
