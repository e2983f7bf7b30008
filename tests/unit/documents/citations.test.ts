/**
 * Citations: parsing `[doc:N p.P]` / `[web:N]` markers (and the spellings
 * models use), and the verification rule of src/documents/citations.ts —
 * verified only when the labelled snippet occurs on that page and the citing
 * sentence really draws on it; everything else is flagged with a reason.
 */
import { describe, expect, test } from 'bun:test'
import { labelWebResults, parseCitations, selectSnippets, verifyCitation, verifyCitations, type CitationSources, type SourceDocument } from '../../../src/documents'

const docs: SourceDocument[] = [
  {
    id: 'd1',
    filename: 'report.pdf',
    pages: [
      { page: 1, text: 'Annual report 2023 of the Example Group.' },
      { page: 2, text: 'Revenue grew by 12 percent to 4.1 billion kroner.\nGrowth came mostly from the Nordic markets.' },
    ],
  },
  { id: 'd2', filename: 'minutes.docx', pages: [{ page: 1, text: 'The board approved a dividend of 3 kroner per share.' }] },
]
const snippets = selectSnippets('revenue growth dividend', docs)
const web = labelWebResults([{ title: 'Nordic markets outlook', url: 'https://news.example/nordic', snippet: 'Analysts expect Nordic retail demand to slow in 2024.' }])
const sources: CitationSources = {
  snippets,
  web,
  pageText: (doc, page) => docs[doc - 1]?.pages.find((p) => p.page === page)?.text,
}

describe('parseCitations', () => {
  test('finds doc and web markers with their citing sentence', () => {
    const text = 'Revenue grew by 12 percent [doc:1 p.2]. Demand may slow next year [web:1].'
    const citations = parseCitations(text)
    expect(citations).toHaveLength(2)
    expect(citations[0]).toMatchObject({ kind: 'doc', doc: 1, page: 2, label: '[doc:1 p.2]', marker: '[doc:1 p.2]', sentence: 'Revenue grew by 12 percent' })
    expect(citations[0]!.start).toBe(text.indexOf('[doc:1 p.2]'))
    expect(citations[1]).toMatchObject({ kind: 'web', n: 1, label: '[web:1]', sentence: 'Demand may slow next year' })
  })

  test('spellings models produce: comma, "page", no colon, several in one bracket', () => {
    const labels = (text: string) => parseCitations(text).map((c) => c.label)
    expect(labels('A claim [doc:1, p.2].')).toEqual(['[doc:1 p.2]'])
    expect(labels('A claim [doc 1 page 2].')).toEqual(['[doc:1 p.2]'])
    expect(labels('A claim [Doc:3 P.14].')).toEqual(['[doc:3 p.14]'])
    expect(labels('A claim [doc:1 p.2; web:3].')).toEqual(['[doc:1 p.2]', '[web:3]'])
    expect(labels('A claim [doc:1 p.2][doc:2 p.1].')).toEqual(['[doc:1 p.2]', '[doc:2 p.1]'])
    expect(labels('A claim [doc:2].')).toEqual(['[doc:2]'])
  })

  test('brackets of prose, links and arrays are not citations', () => {
    expect(parseCitations('See [the docs for details], [link](https://x), arr[0], [see doc 1 for more].')).toEqual([])
  })

  test('a marker opening a sentence cites the text after it; other markers are not part of the sentence', () => {
    const [first, second] = parseCitations('Intro.\n[doc:2 p.1] The board approved a dividend. Then [web:1] [doc:1 p.2] revenue grew.')
    expect(first!.sentence).toBe('The board approved a dividend')
    expect(second!.sentence).toBe('Then')
  })
})

describe('verifyCitation', () => {
  test('verified: the snippet for the label is on that page and the sentence draws on it', () => {
    const [citation] = verifyCitations('Revenue grew by 12 percent to 4.1 billion kroner [doc:1 p.2].', sources)
    expect(citation).toMatchObject({ verified: true, reason: null, documentId: 'd1', filename: 'report.pdf' })
    expect(citation!.snippet).toContain('Revenue grew by 12 percent')
    expect(citation!.overlap).toBeGreaterThanOrEqual(0.3)
  })

  test('a paraphrase sharing enough words is verified; an unrelated claim under a real label is low_overlap', () => {
    expect(verifyCitations('The board approved a dividend of three kroner for each share [doc:2 p.1].', sources)[0]!.verified).toBe(true)
    const [wrong] = verifyCitations('The company plans to open offices in Japan [doc:2 p.1].', sources)
    expect(wrong).toMatchObject({ verified: false, reason: 'low_overlap' })
    expect(wrong!.snippet).toContain('dividend')
  })

  test('a page or document that does not exist is unknown_source; a doc cited without a page is no_page', () => {
    expect(verifyCitations('Revenue grew [doc:1 p.9].', sources)[0]!.reason).toBe('unknown_source')
    expect(verifyCitations('Revenue grew [doc:5 p.1].', sources)[0]!.reason).toBe('unknown_source')
    expect(verifyCitations('Revenue grew [doc:1].', sources)[0]!.reason).toBe('no_page')
  })

  test('a real page the prompt never showed is not_given', () => {
    const onlyPageTwo: CitationSources = { ...sources, snippets: snippets.filter((s) => s.label === '[doc:1 p.2]') }
    expect(verifyCitations('Annual report 2023 of the Example Group [doc:1 p.1].', onlyPageTwo)[0]!.reason).toBe('not_given')
  })

  test('a snippet that does not occur on the page it is labelled with is snippet_not_on_page', () => {
    const mislabelled: CitationSources = {
      ...sources,
      snippets: [{ label: '[doc:1 p.1]', doc: 1, page: 1, start: 0, score: 1, text: 'Revenue grew by 12 percent to 4.1 billion kroner.' }],
    }
    const [citation] = verifyCitations('Revenue grew by 12 percent [doc:1 p.1].', mislabelled)
    expect(citation).toMatchObject({ verified: false, reason: 'snippet_not_on_page' })
  })

  test('whitespace and case differences between snippet and page do not matter', () => {
    const reflowed: CitationSources = {
      ...sources,
      snippets: [{ label: '[doc:1 p.2]', doc: 1, page: 2, start: 0, score: 1, text: 'revenue grew by 12 percent\n to 4.1 BILLION kroner.' }],
    }
    expect(verifyCitations('Revenue grew by 12 percent [doc:1 p.2].', reflowed)[0]!.verified).toBe(true)
  })

  test('a quotation must occur on the page', () => {
    expect(verifyCitations('The report says "Growth came mostly from the Nordic markets" [doc:1 p.2].', sources)[0]!.verified).toBe(true)
    const [invented] = verifyCitations('The report says "growth came entirely from Asian markets" [doc:1 p.2].', sources)
    expect(invented).toMatchObject({ verified: false, reason: 'quote_not_found' })
  })

  test('web: verified against the result given; unknown numbers and unrelated claims are flagged', () => {
    expect(verifyCitations('Analysts expect Nordic demand to slow in 2024 [web:1].', sources)[0]).toMatchObject({ verified: true, url: 'https://news.example/nordic' })
    expect(verifyCitations('Analysts expect Nordic demand to slow [web:4].', sources)[0]!.reason).toBe('unknown_source')
    expect(verifyCitations('Interest rates will fall sharply [web:1].', sources)[0]!.reason).toBe('low_overlap')
    expect(verifyCitations('Interest rates [web:1].', { ...sources, web: undefined })[0]!.reason).toBe('unknown_source')
  })

  test('thresholds are options', () => {
    const [citation] = parseCitations('Nordic analysts discussed the outlook, hiring plans and pricing at length [doc:1 p.2].')
    expect(verifyCitation(citation!, sources).verified).toBe(false)
    expect(verifyCitation(citation!, sources, { minOverlap: 0.1, minShared: 1 }).verified).toBe(true)
  })

  test('unverified citations are kept, not dropped', () => {
    const text = 'Revenue grew by 12 percent [doc:1 p.2]. Mars has two moons [doc:1 p.2]. Something [web:9].'
    const citations = verifyCitations(text, sources)
    expect(citations.map((c) => c.verified)).toEqual([true, false, false])
  })
})
