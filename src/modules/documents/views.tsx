/**
 * The document parts of the session pages, each its own component inserted
 * with one line: the upload fields of the new-session form (with the
 * acknowledgements), the list of a session's documents (polling itself while
 * any is being read), notes on sources the council could not use, the
 * citations of the results, citation markers in drafts and synthesis turned
 * into links, and the page that shows one cited page's text.
 */
import type { Actor } from '../../identity'
import { Layout } from '../../../views/layout'
import { formatBytes } from '../../documents'
import type { UploadConfig } from '../../config/uploads'
import { UPLOAD_ACKNOWLEDGEMENT } from './service'

export const WEB_SEARCH_ACKNOWLEDGEMENT = 'The question will be sent to the configured web search provider, and its results to the configured LLM provider'

/** One line of the document list; the session summary's documents fit, pages_done comes with the live fragment. */
export interface DocumentItem {
  id: string
  filename: string
  content_type: string
  bytes: number
  status: 'pending' | 'extracting' | 'extracted' | 'failed'
  pages: number | null
  pages_done?: number
  error: string | null
}

/** A citation of the results (results.ts `citations[]`). */
export interface CitationItem {
  label: string
  kind: 'doc' | 'web'
  document_id: string | null
  filename: string | null
  page: number | null
  url: string | null
  title: string | null
  snippet: string | null
  cited_by: string
  stage: string
  verified: boolean
  reason: string | null
}

const REASONS: Record<string, string> = {
  no_page: 'no page was given',
  unknown_source: 'no such source was given',
  not_given: 'that page was not among the sources given',
  snippet_not_on_page: 'the quoted text is not on that page',
  quote_not_found: 'a quotation does not occur in the source',
  low_overlap: 'the sentence does not match the source',
}

const TYPES: Record<string, string> = {
  'application/pdf': 'PDF',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'DOCX',
  'text/plain': 'TXT',
  'text/markdown': 'MD',
  'text/csv': 'CSV',
}
const typeOf = (mime: string) => TYPES[mime.split(';')[0]!.trim()] ?? mime

const pageHref = (sessionId: string, documentId: string, page: number) => `/sessions/${sessionId}/documents/${documentId}/pages/${page}`

const reading = (doc: DocumentItem) => doc.status === 'pending' || doc.status === 'extracting'

function statusText(doc: DocumentItem): string {
  if (doc.status === 'pending') return 'waiting to be read'
  if (doc.status === 'extracting') return doc.pages ? `reading page ${doc.pages_done ?? 0} of ${doc.pages}` : 'reading'
  if (doc.status === 'extracted') return `${doc.pages ?? 0} ${doc.pages === 1 ? 'page' : 'pages'} read`
  return 'could not be read'
}

/** The stylesheet and the small script of the upload fields, once per page (outside the form, which htmx re-renders on a refusal). */
export function UploadAssets() {
  return (
    <>
      <link rel="stylesheet" href="/assets/documents.css" />
      <script src="/assets/upload-form.js" defer></script>
    </>
  )
}

/** The source checkboxes of a sent form, ticked again when the form comes back refused (files cannot be). */
export interface SourceValues {
  acknowledgeUploads?: boolean
  webSearch?: boolean
  acknowledgeWebSearch?: boolean
}

/** The new-session form's upload and web-search fields; nothing when both are off on this server. */
export function UploadFields({
  limits,
  uploads,
  webSearch,
  error,
  sent = {},
}: {
  limits: UploadConfig
  uploads: boolean
  webSearch: boolean
  /** A refusal, shown beside the field it is about. */
  error?: { field: 'uploads' | 'web_search'; message: string }
  sent?: SourceValues
}) {
  const notice = (field: 'uploads' | 'web_search') =>
    error?.field === field ? (
      <div class="notice error" role="alert" id={`${field.replace('_', '-')}-error`} safe>
        {error.message}
      </div>
    ) : (
      ''
    )
  const accept = limits.allowedTypes.map((kind) => `.${kind}`).join(',')
  return (
    <>
      {uploads ? (
        <fieldset class="field sources" id="upload-field">
          <legend>Documents (optional)</legend>
          {notice('uploads')}
          {/* Before the file input: a form sends its fields in this order, and the server checks the acknowledgement before it stores a byte. */}
          <label class="inline small ack">
            <input type="checkbox" name="acknowledge_uploads" value="true" id="acknowledge-uploads" checked={!!sent.acknowledgeUploads} /> {UPLOAD_ACKNOWLEDGEMENT}
          </label>
          <input type="file" id="files" name="files" multiple accept={accept} aria-describedby="upload-limits" />
          <p class="muted small" id="upload-limits" safe>
            {`Up to ${limits.maxFiles} files, ${formatBytes(limits.maxFileBytes)} each and ${formatBytes(limits.maxSessionBytes)} in total: ${limits.allowedTypes.map((kind) => kind.toUpperCase()).join(', ')}. Scanned images without a text layer cannot be read.`}
          </p>
        </fieldset>
      ) : (
        ''
      )}
      {webSearch ? (
        <fieldset class="field sources" id="web-search-field">
          <legend>Web search (optional)</legend>
          {notice('web_search')}
          <label class="inline small">
            <input type="checkbox" name="web_search" value="true" id="web-search" checked={!!sent.webSearch} /> Search the web for the question before the council drafts
          </label>
          <label class="inline small ack">
            <input type="checkbox" name="acknowledge_web_search" value="true" id="acknowledge-web-search" checked={!!sent.acknowledgeWebSearch} /> {WEB_SEARCH_ACKNOWLEDGEMENT}
          </label>
        </fieldset>
      ) : (
        ''
      )}
    </>
  )
}

/** The documents of a session, with status and pages; while any is being read the list refreshes itself. */
export function DocumentList({ sessionId, documents }: { sessionId: string; documents: readonly DocumentItem[] }) {
  if (documents.length === 0) return <section id="documents" hidden></section>
  const live = documents.some(reading)
  return (
    <section
      class="card documents"
      id="documents"
      aria-live="polite"
      hx-get={live ? `/sessions/${sessionId}/documents` : undefined}
      hx-trigger={live ? 'load delay:1s' : undefined}
      hx-swap={live ? 'outerHTML' : undefined}
    >
      <link rel="stylesheet" href="/assets/documents.css" />
      <h2>Documents</h2>
      <table class="documents-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Size</th>
            <th>Type</th>
            <th>Status</th>
          </tr>
        </thead>
        <tbody>
          {documents.map((doc) => (
            <tr id={`document-${doc.id}`} class={`document ${doc.status}`}>
              <td class="document-name">
                <a href={`/api/v1/documents/${doc.id}/content`} download={doc.filename} safe>
                  {doc.filename}
                </a>
              </td>
              <td safe>{formatBytes(doc.bytes)}</td>
              <td safe>{typeOf(doc.content_type)}</td>
              <td>
                <span class={`badge doc-${doc.status}`} safe>
                  {doc.status}
                </span>{' '}
                <span class="muted small" safe>
                  {statusText(doc)}
                </span>
                {doc.status === 'extracting' && doc.pages ? (
                  <progress max={String(doc.pages)} value={String(doc.pages_done ?? 0)} safe>
                    {`${doc.pages_done ?? 0} of ${doc.pages}`}
                  </progress>
                ) : (
                  ''
                )}
                {doc.error ? (
                  <p class="doc-error small" safe>
                    {doc.error}
                  </p>
                ) : (
                  ''
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}

/** Sources the council could not use (an unreadable document, a failed search), said plainly above the answer. */
export function SourceNotes({ notes }: { notes: readonly string[] }) {
  if (notes.length === 0) return ''
  return (
    <div class="notice warn source-notes" id="source-notes" role="status">
      <strong>Not every source could be used.</strong>
      <ul>
        {notes.map((note) => (
          <li safe>{note}</li>
        ))}
      </ul>
    </div>
  )
}

/** A text fragment (`#:~:text=…`): browsers that know it scroll to the cited words and highlight them. */
function textFragment(snippet: string | null): string {
  const words = (snippet ?? '').split(/\s+/).filter(Boolean).slice(0, 8)
  if (words.length < 3) return ''
  return `#:~:text=${words.map((word) => encodeURIComponent(word).replace(/-/g, '%2D')).join('%20')}`
}

const hrefOf = (sessionId: string, citation: CitationItem): string | null =>
  citation.kind === 'web'
    ? citation.url
    : citation.document_id && citation.page
      ? `${pageHref(sessionId, citation.document_id, citation.page)}${textFragment(citation.snippet)}`
      : null

/** The citations of the council's answer, one line per source and outcome with everyone who cited it: each links to the cited page (or web result); unverified ones are flagged, not presented as fact. */
export function CitationList({ sessionId, citations }: { sessionId: string; citations: readonly CitationItem[] }) {
  if (citations.length === 0) return ''
  const grouped = new Map<string, { citation: CitationItem; by: string[] }>()
  for (const citation of citations) {
    const key = `${citation.label}|${citation.verified}|${citation.reason ?? ''}`
    const entry = grouped.get(key) ?? { citation, by: [] }
    entry.by.push(citation.stage === 'synthesis' ? `${citation.cited_by} (synthesis)` : citation.cited_by)
    grouped.set(key, entry)
  }
  return (
    <section class="card citations" id="citations">
      <link rel="stylesheet" href="/assets/documents.css" />
      <h2>Sources cited</h2>
      <ul>
        {[...grouped.values()].map(({ citation, by }) => {
          const href = hrefOf(sessionId, citation)
          const name = citation.kind === 'web' ? (citation.title ?? citation.url ?? citation.label) : `${citation.filename ?? 'unknown document'}${citation.page ? `, page ${citation.page}` : ''}`
          return (
            <li class={`citation-item ${citation.verified ? 'verified' : 'unverified'}`}>
              {href ? (
                <a class="citation" href={href} rel={citation.kind === 'web' ? 'noopener noreferrer nofollow' : undefined} safe>
                  {citation.label}
                </a>
              ) : (
                <span class="citation" safe>
                  {citation.label}
                </span>
              )}{' '}
              <span safe>{name}</span>{' '}
              {citation.verified ? (
                <span class="badge verified" title="The cited text occurs in the source">
                  verified
                </span>
              ) : (
                <span class="badge unverified" safe>
                  {`unverified: ${REASONS[citation.reason ?? ''] ?? 'it could not be checked'}`}
                </span>
              )}
              <div class="muted small" safe>{`cited by ${by.join(', ')}`}</div>
              {citation.snippet ? (
                <blockquote class="small" safe>
                  {citation.snippet.length > 400 ? `${citation.snippet.slice(0, 400)}…` : citation.snippet}
                </blockquote>
              ) : (
                ''
              )}
            </li>
          )
        })}
      </ul>
    </section>
  )
}

const escapeAttribute = (text: string) => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/**
 * Turns `[doc:N p.P]` and `[web:N]` markers in rendered, sanitised markdown
 * into links to the cited page (or result), flagged when the citation did not
 * verify. Only text between tags is touched, and what is inserted is built
 * from ids, numbers and escaped URLs, so the HTML stays as safe as it was.
 * @example
 * const html = linkCitations(renderMarkdown(draft.content), sessionId, citationsOf(draft))
 */
export function linkCitations(html: string, sessionId: string, citations: readonly CitationItem[]): string {
  if (citations.length === 0) return html
  const byLabel = new Map<string, CitationItem>()
  // An unverified occurrence wins: a flag must never be hidden by a verified twin.
  for (const citation of citations) if (!byLabel.has(citation.label) || !citation.verified) byLabel.set(citation.label, citation)
  return html
    .split(/(<[^>]*>)/)
    .map((part) =>
      part.startsWith('<')
        ? part
        : part.replace(/\[(?:doc:\d{1,4} p\.\d{1,5}|web:\d{1,3})\]/g, (label) => {
            const citation = byLabel.get(label)
            const href = citation && hrefOf(sessionId, citation)
            if (!citation || !href) return label
            const flag = citation.verified ? '' : '<span class="flag">unverified</span>'
            const title = citation.verified ? 'verified: the cited text occurs in the source' : `unverified: ${REASONS[citation.reason ?? ''] ?? 'not checked'}`
            return `<a class="citation ${citation.verified ? 'verified' : 'unverified'}" href="${escapeAttribute(href)}" title="${escapeAttribute(title)}"${citation.kind === 'web' ? ' rel="noopener noreferrer nofollow"' : ''}>${label}</a>${flag}`
          }),
    )
    .join('')
}

/** One page of a document's extracted text: what a citation link opens. */
export function DocumentPage({
  actor,
  sessionId,
  document,
  page,
  text,
  fragment,
}: {
  actor: Actor
  sessionId: string
  document: { id: string; filename: string; pages: number | null }
  page: number
  text: string
  fragment: boolean
}) {
  const pages = document.pages ?? page
  const body = (
    <article class="card document-page" id="document-page">
      <link rel="stylesheet" href="/assets/documents.css" />
      <p>
        <a href={`/sessions/${sessionId}`}>← Back to the session</a>
      </p>
      <h1 safe>{`${document.filename} — page ${page} of ${pages}`}</h1>
      <p class="muted small">The text as it was read from the document; layout and images are not kept.</p>
      <nav class="pager" aria-label="Pages">
        {page > 1 ? (
          <a href={pageHref(sessionId, document.id, page - 1)} safe>
            {`← Page ${page - 1}`}
          </a>
        ) : (
          ''
        )}{' '}
        {page < pages ? (
          <a href={pageHref(sessionId, document.id, page + 1)} safe>
            {`Page ${page + 1} →`}
          </a>
        ) : (
          ''
        )}
      </nav>
      <pre class="page-text" safe>
        {text || '(This page has no text.)'}
      </pre>
    </article>
  )
  if (fragment) return body
  return (
    <Layout title={`${document.filename}, page ${page}`} actor={actor}>
      {body}
    </Layout>
  )
}
