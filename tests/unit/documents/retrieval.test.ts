/**
 * Snippet selection: stemming and stopwords, passages cut at sentences, BM25
 * ranking across documents, the snippet and character bounds, labels, and the
 * openings of documents nothing matched in.
 */
import { describe, expect, test } from 'bun:test'
import { labelWebResults, passageSpans, selectSnippets, stem, terms, type SourceDocument } from '../../../src/documents'

const report: SourceDocument = {
  id: 'doc-a',
  filename: 'annual-report.pdf',
  pages: [
    { page: 1, text: 'Annual report 2023. This report covers the whole group.' },
    { page: 2, text: 'Revenue grew by 12 percent to 4.1 billion. Growth came mostly from the Nordic markets.' },
    { page: 3, text: 'Staff turnover fell. The canteen was renovated in spring.' },
  ],
}
const minutes: SourceDocument = {
  id: 'doc-b',
  filename: 'minutes.docx',
  pages: [{ page: 1, text: 'The board discussed revenues and approved the dividend. The next meeting is in June.' }],
}

describe('terms', () => {
  test('lowercase, accents folded, stopwords dropped, light stemming', () => {
    expect(terms('The Revenues GREW; revenue is growing at the Café, 2023!')).toEqual(['revenu', 'grew', 'revenu', 'grow', 'caf', '2023'])
    expect(['ranking', 'ranked', 'ranks', 'rank'].map(stem)).toEqual(['rank', 'rank', 'rank', 'rank'])
    expect(['policies', 'policy'].map(stem)).toEqual(['policy', 'policy'])
    expect(['running', 'stopped'].map(stem)).toEqual(['run', 'stop'])
  })
})

describe('passageSpans', () => {
  test('whole sentences, about the target length, exact slices without outer whitespace', () => {
    const text = Array.from({ length: 20 }, (_, i) => `Sentence ${i + 1} has a few words.`).join(' ')
    const spans = passageSpans(text, 120)
    expect(spans.length).toBeGreaterThan(3)
    for (const [start, end] of spans) {
      const slice = text.slice(start, end)
      expect(slice).toMatch(/^Sentence \d+ .*\.$/)
      expect(slice.length).toBeLessThanOrEqual(120)
    }
  })

  test('one very long sentence is cut at spaces', () => {
    const text = `${'word '.repeat(400).trim()}.`
    for (const [start, end] of passageSpans(text, 100)) expect(end - start).toBeLessThanOrEqual(150)
  })
})

describe('selectSnippets', () => {
  test('the best matching passage comes first in score, labelled [doc:N p.P], an exact slice of its page', () => {
    const snippets = selectSnippets('What was the revenue growth?', [report, minutes], { includeOpenings: false })
    const best = [...snippets].sort((a, b) => b.score - a.score)[0]!
    expect(best.label).toBe('[doc:1 p.2]')
    expect(best.documentId).toBe('doc-a')
    expect(best.filename).toBe('annual-report.pdf')
    for (const snippet of snippets) {
      const page = [report, minutes][snippet.doc - 1]!.pages.find((p) => p.page === snippet.page)!
      expect(page.text.slice(snippet.start, snippet.start + snippet.text.length)).toBe(snippet.text)
      expect(snippet.score).toBeGreaterThan(0)
    }
    expect(snippets.map((s) => s.label)).toContain('[doc:2 p.1]')
    expect(snippets.map((s) => s.label)).not.toContain('[doc:1 p.3]')
  })

  test('returned in reading order: document, page, position', () => {
    const snippets = selectSnippets('revenue report board', [report, minutes])
    const keys = snippets.map((s) => [s.doc, s.page, s.start])
    expect(keys).toEqual([...keys].sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!))
  })

  test('documents can carry their own numbers', () => {
    const snippets = selectSnippets('dividend', [{ ...minutes, n: 7 }], { includeOpenings: false })
    expect(snippets.map((s) => s.label)).toEqual(['[doc:7 p.1]'])
  })

  test('bounded by maxSnippets, maxChars and maxPerPage', () => {
    const long: SourceDocument = {
      pages: Array.from({ length: 30 }, (_, i) => ({
        page: i + 1,
        text: Array.from({ length: 10 }, (_, j) => `Budget line ${j} on page ${i + 1} mentions the budget and the budget again.`).join(' '),
      })),
    }
    const few = selectSnippets('budget', [long], { maxSnippets: 3 })
    expect(few).toHaveLength(3)
    const small = selectSnippets('budget', [long], { maxChars: 1000, maxSnippets: 50, passageChars: 300 })
    expect(small.reduce((sum, s) => sum + s.text.length, 0)).toBeLessThanOrEqual(1000)
    const spread = selectSnippets('budget', [long], { maxSnippets: 20, maxChars: 100_000, passageChars: 100 })
    const perPage = new Map<number, number>()
    for (const s of spread) perPage.set(s.page, (perPage.get(s.page) ?? 0) + 1)
    expect(Math.max(...perPage.values())).toBeLessThanOrEqual(2)
  })

  test('a document nothing matched in still gets its opening (score 0); none without includeOpenings', () => {
    const snippets = selectSnippets('dividend', [report, minutes])
    const opening = snippets.find((s) => s.doc === 1)!
    expect(opening).toMatchObject({ label: '[doc:1 p.1]', score: 0, text: 'Annual report 2023. This report covers the whole group.' })
    expect(selectSnippets('dividend', [report, minutes], { includeOpenings: false }).map((s) => s.doc)).toEqual([2])
  })

  test('a question of stopwords only, or no documents, gives openings or nothing', () => {
    expect(selectSnippets('what is it?', [report, minutes]).map((s) => s.label)).toEqual(['[doc:1 p.1]', '[doc:2 p.1]'])
    expect(selectSnippets('revenue', [])).toEqual([])
    expect(selectSnippets('revenue', [{ pages: [{ page: 1, text: '' }] }])).toEqual([])
  })

  test('a passage longer than the remaining budget is cut at a word boundary, still an exact slice', () => {
    const doc: SourceDocument = { pages: [{ page: 1, text: `Budget ${'figures and more figures '.repeat(40)}end.` }] }
    const [snippet] = selectSnippets('budget', [doc], { maxChars: 300, passageChars: 2000 })
    expect(snippet!.text.length).toBeLessThanOrEqual(300)
    expect(doc.pages[0]!.text.startsWith(snippet!.text)).toBe(true)
    expect(snippet!.text.endsWith(' ')).toBe(false)
  })
})

describe('labelWebResults', () => {
  test('numbers results [web:1], [web:2] in order', () => {
    const web = labelWebResults([
      { title: 'A', url: 'https://a.example', snippet: 'first' },
      { title: 'B', url: 'https://b.example', snippet: 'second' },
    ])
    expect(web).toEqual([
      { label: '[web:1]', n: 1, title: 'A', url: 'https://a.example', snippet: 'first' },
      { label: '[web:2]', n: 2, title: 'B', url: 'https://b.example', snippet: 'second' },
    ])
  })
})
