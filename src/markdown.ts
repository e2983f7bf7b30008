/**
 * Markdown from models and users, rendered and sanitised: marked turns it into
 * HTML, sanitize-html keeps only a safe subset (no scripts, styles, event
 * handlers or javascript: links), so the result may be inserted into pages as is.
 */
import { escapeHtml } from '@kitajs/html'
import { marked } from 'marked'
import sanitizeHtml from 'sanitize-html'

const ALLOWED: sanitizeHtml.IOptions = {
  allowedTags: [
    'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'p', 'br', 'hr', 'blockquote', 'pre', 'code', 'em', 'strong', 'del',
    'ul', 'ol', 'li', 'a', 'table', 'thead', 'tbody', 'tr', 'th', 'td',
  ],
  allowedAttributes: { a: ['href', 'title', 'rel'], code: ['class'], th: ['align'], td: ['align'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  transformTags: { a: sanitizeHtml.simpleTransform('a', { rel: 'noopener noreferrer nofollow' }) },
}

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
  let html = sanitizeHtml(marked.parse(text, { async: false, gfm: true }) as string, ALLOWED)
  quoted.forEach((quote, i) => (html = html.split(`verbatim${key}n${i}x`).join(escapeHtml(quote).replaceAll('\n', '<br />'))))
  return html
}
