/**
 * renderMarkdown: model and user markdown becomes HTML that is safe to insert
 * as is — no scripts, event handlers or javascript: links — while headings,
 * lists, code and links survive, links with rel="noopener …".
 */
import { describe, expect, test } from 'bun:test'
import { headingSlug, renderDocument, renderMarkdown } from '../../src/markdown'
import { inertProblems, XSS_PAYLOADS } from '../helpers/xss'

describe('renderMarkdown: what is removed', () => {
  test('<script> elements are removed with their content', () => {
    const html = renderMarkdown('Before <script>alert("x")</script> after\n\n<script src="https://evil.example/x.js"></script>')
    expect(html).not.toContain('<script')
    expect(html).not.toContain('alert(')
    expect(html).not.toContain('evil.example')
    expect(html).toContain('Before')
    expect(html).toContain('after')
  })

  test('on* event-handler attributes are removed, and elements outside the allow-list go', () => {
    const html = renderMarkdown(
      '<p onmouseover="steal()">hover</p>\n\n<a href="https://ok.example" onclick="steal()">ok</a>\n\n<img src=x onerror="steal()">\n\n<svg onload="steal()"></svg>',
    )
    expect(html).not.toMatch(/\son[a-z]+\s*=/i)
    expect(html).not.toContain('steal()')
    expect(html).not.toContain('<img')
    expect(html).not.toContain('<svg')
    expect(html).toContain('hover')
    expect(html).toContain('href="https://ok.example"')
  })

  test('javascript: links lose their href, however they are spelled', () => {
    for (const source of [
      '[click](javascript:alert(1))',
      '<a href="javascript:alert(1)">x</a>',
      '<a href="JaVaScRiPt:alert(1)">x</a>',
      '<a href="&#106;avascript:alert(1)">x</a>',
      '<a href=" javascript:alert(1)">x</a>',
    ]) {
      const html = renderMarkdown(source)
      expect(html.toLowerCase()).not.toContain('javascript:')
      expect(html).not.toContain('&#106;')
      expect(html).not.toContain('alert(1)"')
    }
  })

  test('style, iframe and data: URLs are removed', () => {
    const html = renderMarkdown('<style>body{display:none}</style>\n\n<iframe src="https://evil.example"></iframe>\n\n[d](data:text/html,abc)')
    expect(html).not.toContain('<style')
    expect(html).not.toContain('display:none')
    expect(html).not.toContain('<iframe')
    expect(html).not.toContain('data:')
  })
})

describe('renderMarkdown: what is kept', () => {
  test('headings, lists, emphasis and tables', () => {
    const html = renderMarkdown('# Title\n\n## Part\n\n- alpha\n- beta\n\n1. first\n2. second\n\n**bold** _em_\n\n| a | b |\n|---|---|\n| 1 | 2 |')
    expect(html).toContain('<h1>Title</h1>')
    expect(html).toContain('<h2>Part</h2>')
    expect(html).toMatch(/<ul>\s*<li>alpha<\/li>\s*<li>beta<\/li>\s*<\/ul>/)
    expect(html).toMatch(/<ol>\s*<li>first<\/li>/)
    expect(html).toContain('<strong>bold</strong>')
    expect(html).toContain('<em>em</em>')
    expect(html).toContain('<table>')
    expect(html).toContain('<td>1</td>')
  })

  test('code blocks and inline code, with their text escaped', () => {
    const html = renderMarkdown('```js\nif (a < b && c) run("<tag>")\n```\n\nUse `x < y` here.')
    expect(html).toContain('<pre><code class="language-js">')
    expect(html).toContain('a &lt; b &amp;&amp; c')
    expect(html).toContain('&lt;tag&gt;')
    expect(html).toContain('<code>x &lt; y</code>')
  })

  test('http(s) and mailto links keep their href and title', () => {
    const html = renderMarkdown('[docs](https://example.com/docs "The docs") and [mail](mailto:team@example.com)')
    expect(html).toContain('href="https://example.com/docs"')
    expect(html).toContain('title="The docs"')
    expect(html).toContain('href="mailto:team@example.com"')
  })

  test('links carry rel="noopener noreferrer nofollow", replacing any rel the source gave', () => {
    const html = renderMarkdown('[docs](https://example.com/docs)\n\n<a href="https://example.com/x" rel="opener">x</a>')
    const anchors = html.match(/<a\b[^>]*>/g) ?? []
    expect(anchors).toHaveLength(2)
    for (const anchor of anchors) {
      expect(anchor).toContain('rel="noopener noreferrer nofollow"')
      expect(anchor).not.toContain('rel="opener"')
    }
  })
})

describe('renderMarkdown: text quoted verbatim', () => {
  test('the user’s question inside a synthesis is shown as written, escaped, while the rest is markdown', () => {
    const question = '# Should we <b>ship</b> **now**?\n- really'
    const html = renderMarkdown(`## Answer\n\n**Question:** ${question}\n\nWe *should*.`, { verbatim: [question] })
    expect(html).toContain('<h2>Answer</h2>')
    expect(html).toContain('<strong>Question:</strong> # Should we &lt;b&gt;ship&lt;/b&gt; **now**?<br />- really')
    expect(html).toContain('<em>should</em>')
    expect(html).not.toContain('<b>')
    expect(html).not.toContain('<h1')
    expect(html).not.toContain('verbatim')
  })

  test('absent or empty quotes change nothing, and every occurrence is kept', () => {
    expect(renderMarkdown('**a**', { verbatim: ['', 'zzz'] })).toBe(renderMarkdown('**a**'))
    const html = renderMarkdown('*x* and *x*', { verbatim: ['*x*'] })
    expect(html).toBe('<p>*x* and *x*</p>\n')
  })
})

describe('renderMarkdown: the OWASP XSS filter-evasion payloads are inert', () => {
  test('the checker itself notices what it must', () => {
    expect(inertProblems('<img src=x onerror=alert(1)>')).not.toEqual([])
    expect(inertProblems('<a href="jav&#x09;ascript:alert(1)">x</a>')).toEqual(['href with scheme javascript:'])
    expect(inertProblems('<p onclick="x">y</p>')).toEqual(['attribute onclick on <p>'])
    expect(inertProblems('<a href="//evil.example">x</a>')).toEqual(['protocol-relative href //evil.example'])
    expect(inertProblems('<h2 id="main">x</h2>')).toEqual(['<h2 id="main"> outside the doc- namespace'])
    expect(inertProblems('<p>ok <a href="https://ok.example" rel="x">l</a> &lt;script&gt;</p>')).toEqual([])
  })

  test('the set covers the cheat sheet broadly (at least 40 payloads)', () => {
    expect(XSS_PAYLOADS.length).toBeGreaterThanOrEqual(40)
  })

  for (const { name, source } of XSS_PAYLOADS)
    test(`${name}`, () => {
      for (const html of [renderMarkdown(source), renderDocument(source).html, renderMarkdown(`Some text\n\n${source}\n\nmore text`)]) {
        expect(inertProblems(html)).toEqual([])
        expect(html).not.toMatch(/<script|<img|<svg|<iframe|<object|<embed|<form|<meta|<style|<link|<base/i)
      }
    })

  test('protocol-relative links lose their href; relative ones keep it', () => {
    expect(renderMarkdown('[x](//evil.example/path)')).not.toContain('href')
    expect(renderMarkdown('[x](/docs/getting-started#doc-log-in)')).toContain('href="/docs/getting-started#doc-log-in"')
  })
})

describe('renderDocument: headings get ids for a table of contents', () => {
  test('ids in the doc- namespace, unique within the document, and a toc in order', () => {
    const { html, toc } = renderDocument('# Start & go\n\n## Log *in*\n\nText.\n\n## Log in\n\n### Ünïcode héading')
    expect(toc).toEqual([
      { level: 1, id: 'doc-start-go', text: 'Start & go' },
      { level: 2, id: 'doc-log-in', text: 'Log in' },
      { level: 2, id: 'doc-log-in-2', text: 'Log in' },
      { level: 3, id: 'doc-unicode-heading', text: 'Ünïcode héading' },
    ])
    expect(html).toContain('<h1 id="doc-start-go">Start &amp; go</h1>')
    expect(html).toContain('<h2 id="doc-log-in">Log <em>in</em></h2>')
    expect(html).toContain('<h2 id="doc-log-in-2">')
  })

  test('raw HTML headings keep no id, and renderMarkdown (tickets, comments) never emits one', () => {
    expect(renderDocument('<h2 id="main">x</h2>\n\n<h3 id="doc-forged">y</h3>').html).not.toContain('id="main"')
    expect(renderMarkdown('# Title\n\n<h2 id="doc-x">x</h2>')).not.toContain(' id=')
  })

  test('a heading made only of symbols still gets an id', () => {
    expect(renderDocument('## ???').toc).toEqual([{ level: 2, id: 'doc-section', text: '???' }])
    expect(headingSlug('  Roles & role bindings ')).toBe('roles-role-bindings')
  })
})
