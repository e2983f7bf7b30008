/** How a download names its file: an attachment, whatever the content, with a name no client can misread as a path or a header. */

/**
 * `attachment; filename="Q3 report.pdf"; filename*=UTF-8''Q3%20report.pdf`:
 * the ASCII fallback keeps letters, digits, spaces, dots, dashes and
 * underscores (others become "_"), never starts with a dot, and always ends
 * with the document's own extension; the UTF-8 form carries the real name.
 * @example
 * contentDisposition('résumé\r\n.pdf', 'pdf') // attachment; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf
 */
export function contentDisposition(filename: string, kind: string): string {
  const extension = `.${kind.replace(/[^a-z0-9]/gi, '').toLowerCase() || 'bin'}`
  const clean = filename.replace(/[\p{Cc}\p{Cf}\\/:*?"<>|]+/gu, '').trim()
  const stem = clean.toLowerCase().endsWith(extension) ? clean.slice(0, -extension.length) : clean
  const ascii =
    stem
      .replace(/[^A-Za-z0-9 ._-]/g, '_')
      .replace(/^[.\s]+/, '')
      .slice(0, 120)
      .trim() || 'document'
  const utf8 = encodeURIComponent(`${stem.slice(0, 200) || 'document'}${extension}`).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  return `attachment; filename="${ascii}${extension}"; filename*=UTF-8''${utf8}`
}
