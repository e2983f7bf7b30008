/**
 * Markdown from models and users, rendered and sanitised: marked turns it into
 * HTML, sanitize-html keeps only a safe subset (no scripts, styles, event
 * handlers or javascript: links), so the result may be inserted into pages as is.
 */
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
 */
export function renderMarkdown(source: string): string {
  const html = marked.parse(source, { async: false, gfm: true }) as string
  return sanitizeHtml(html, ALLOWED)
}
