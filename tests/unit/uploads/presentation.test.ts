/**
 * How uploads and citations are presented: display names without paths or
 * control characters, download names no client can misread, citation markers
 * turned into links only in text (never inside a tag or attribute), the
 * offline provider citing what its prompt quotes, and the upload settings.
 */
import { describe, expect, test } from 'bun:test'
import { ConfigError, loadConfig } from '../../../src/config'
import { citeSources } from '../../../src/llm/offline-sources'
import { contentDisposition } from '../../../src/modules/documents/download'
import { displayName } from '../../../src/modules/documents/uploads'
import { linkCitations, type CitationItem } from '../../../src/modules/documents/views'
import { renderMarkdown } from '../../../src/markdown'
import { wrapUntrusted } from '../../../src/documents'

describe('names', () => {
  test('a display name has no path, no control or invisible characters, and at most 200 characters with its extension kept', () => {
    expect(displayName('C:\\Users\\ann\\Q3 report.pdf')).toBe('Q3 report.pdf')
    expect(displayName('../../etc/passwd')).toBe('passwd')
    expect(displayName('evil\u202Etxt.exe\u0000.pdf')).toBe('eviltxt.exe.pdf')
    expect(displayName('  spaced \t name .md ')).toBe('spaced name .md')
    const long = displayName(`${'x'.repeat(300)}.docx`)
    expect(long.length).toBe(200)
    expect(long.endsWith('….docx')).toBe(true)
  })

  test('a download is always an attachment with a safe ASCII name and the real name in UTF-8', () => {
    expect(contentDisposition('report.pdf', 'pdf')).toBe(`attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`)
    expect(contentDisposition('résumé "final".pdf', 'pdf')).toBe(`attachment; filename="r_sum_ final.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20final.pdf`)
    expect(contentDisposition('.htaccess', 'txt')).toBe(`attachment; filename="htaccess.txt"; filename*=UTF-8''.htaccess.txt`)
    expect(contentDisposition('a\r\nSet-Cookie: x=1.md', 'md')).not.toMatch(/[\r\n]/)
    expect(contentDisposition('', 'csv')).toBe(`attachment; filename="document.csv"; filename*=UTF-8''document.csv`)
  })
})

const citation = (fields: Partial<CitationItem>): CitationItem => ({
  label: '[doc:1 p.2]',
  kind: 'doc',
  document_id: '0190a6b2-0000-7000-8000-000000000001',
  filename: 'r.pdf',
  page: 2,
  url: null,
  title: null,
  snippet: 'x',
  cited_by: 'analyst',
  stage: 'draft',
  verified: true,
  reason: null,
  ...fields,
})

describe('citation links', () => {
  test('markers in text become links to the cited page; unverified ones are flagged; unknown labels stay text', () => {
    const html = renderMarkdown('Growth was strong [doc:1 p.2]. Cats fly [doc:1 p.3]. See [web:1]. Unknown [doc:4 p.1].')
    const linked = linkCitations(html, 's1', [
      citation({}),
      citation({ label: '[doc:1 p.3]', page: 3, verified: false, reason: 'low_overlap' }),
      citation({ label: '[web:1]', kind: 'web', document_id: null, page: null, url: 'https://example.org/a?b=1&c="2"' }),
    ])
    expect(linked).toContain(`<a class="citation verified" href="/sessions/s1/documents/0190a6b2-0000-7000-8000-000000000001/pages/2"`)
    expect(linked).toContain('class="citation unverified"')
    expect(linked).toContain('<span class="flag">unverified</span>')
    expect(linked).toContain('href="https://example.org/a?b=1&amp;c=&quot;2&quot;"')
    expect(linked).toContain('rel="noopener noreferrer nofollow"')
    expect(linked).toContain('Unknown [doc:4 p.1]')
  })

  test('a marker inside a tag or an attribute is left alone, so no markup can be injected', () => {
    const html = renderMarkdown('[click](https://example.org/x "title [doc:1 p.2]") and `code [doc:1 p.2]`')
    const linked = linkCitations(html, 's1', [citation({})])
    expect(linked).toContain('title="title [doc:1 p.2]"')
    expect(linked.match(/<a /g)).toHaveLength(2)
  })
})

describe('the offline provider with sources', () => {
  test('cites the first passage of each source it is given, with its label, and nothing when there are none', () => {
    const prompt = [
      'Question: Why?',
      wrapUntrusted({ label: '[doc:2 p.4]', title: 'b.pdf', text: 'Short. Board minutes note that third quarter growth came from enterprise customers. More text.' }, { nonce: 'n1' }),
      wrapUntrusted({ label: '[doc:2 p.5]', title: 'b.pdf', text: 'Another page of the same document with enough words here.' }, { nonce: 'n2' }),
      wrapUntrusted({ label: '[web:1]', title: 'Pricing', url: 'https://example.org', text: 'Usage based pricing lifted revenue by nine percent.' }, { nonce: 'n3' }),
    ].join('\n\n')
    expect(citeSources(prompt)).toEqual([
      '- Board minutes note that third quarter growth came from enterprise customers [doc:2 p.4].',
      '- Usage based pricing lifted revenue by nine percent [web:1].',
    ])
    expect(citeSources('Question: Why?')).toEqual([])
  })
})

describe('upload settings', () => {
  test('defaults follow SPEC §5; sizes accept units; bad values name the variable', () => {
    const config = loadConfig({ APP_ENV: 'test' })
    expect(config.uploads).toMatchObject({ maxFileBytes: 25 * 1024 * 1024, maxFiles: 10, maxSessionBytes: 50 * 1024 * 1024, allowedTypes: ['pdf', 'docx', 'txt', 'md', 'csv'] })
    expect(config.quota.limits.upload).toBeDefined()
    const custom = loadConfig({ APP_ENV: 'test', UPLOAD_MAX_FILE_BYTES: '5MiB', UPLOAD_ALLOWED_TYPES: '.PDF, txt', UPLOAD_MAX_SESSION_BYTES: '1000' })
    expect(custom.uploads).toMatchObject({ maxFileBytes: 5 * 1024 * 1024, allowedTypes: ['pdf', 'txt'], maxSessionBytes: 1000 })
    for (const [variable, value] of [
      ['UPLOAD_MAX_FILE_BYTES', 'lots'],
      ['UPLOAD_MAX_FILES', '0'],
      ['UPLOAD_ALLOWED_TYPES', 'pdf,exe'],
      ['DOCUMENTS_WAIT_MS', '-1'],
    ] as const) {
      let error: unknown
      try {
        loadConfig({ APP_ENV: 'test', [variable]: value })
      } catch (caught) {
        error = caught
      }
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).variable).toBe(variable)
    }
  })
})
