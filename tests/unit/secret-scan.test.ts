/**
 * The secret scanner (scripts/lib/secrets.ts). Every planted secret is assembled at run
 * time from pieces, so this file itself holds none and passes the scan of the tree.
 */
import { describe, expect, test } from 'bun:test'
import { applyAllowList, isPlaceholder, looksRandom, parseSecretAllowList, scanText, shannonEntropy } from '../../scripts/lib/secrets'

const join = (...parts: string[]) => parts.join('')
const RANDOM40 = join('wJalrXUtnFEMI/K7MDENG/', 'bPxRfiCYz9Q4k2Lm8v')
const planted: Array<[rule: string, text: string]> = [
  ['private-key', join('-----BEGIN ', 'RSA PRIVATE KEY-----\nMIIEow…\n-----END RSA PRIVATE KEY-----')],
  ['private-key', join('-----BEGIN ', 'OPENSSH PRIVATE KEY-----')],
  ['aws-access-key-id', `const id = "${join('AKIA', 'Q3ZX7PLK2WB4RT6M')}"`],
  ['aws-secret-access-key', `aws_secret_access_key = ${RANDOM40}`],
  ['github-token', `token: ${join('ghp_', 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8')}`],
  ['github-token', join('GH=github_pat_', '11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012345')],
  ['slack-token', join('xoxb-', '123456789012-abcdefABCDEF')],
  ['openai-key', `OPENAI_API_KEY=${join('sk-proj-', 'abcdefghij0123456789', 'T3Blbk', 'FJ', 'abcdefghij0123456789')}`],
  ['stripe-live-key', join('sk_', 'live_', '4eC39HqLyjWDarjtT1zdp7dc')],
  ['google-api-key', join('AIza', 'SyA-1234567890abcdefghijklmnopqrstu')],
  ['npm-token', join('//registry/:_authToken=npm_', 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8')],
  ['password-in-url', `DATABASE_URL=${join('postgres://council:', 'Zq8r!vT2@db.internal:5432/council')}`],
  ['jwt', join('eyJhbGciOiJIUzI1NiJ9', '.eyJzdWIiOiJ1c2VyLTEiLCJyb2xlIjoiYWRtaW4ifQ', '.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')],
  ['generic-secret-assignment', `const SESSION_SECRET = '${join('f3Kq9vX2', 'mP7wR4tZ8nB1cL6yH0sD')}'`],
  ['generic-secret-assignment', `"apiKey": "${join('a8F3kQ9z', 'X2mV7pL4wR1tN6bY')}"`],
]

describe('scanText finds planted secrets', () => {
  test.each(planted)('%s', (rule, text) => {
    const findings = scanText('planted.txt', `first line\n${text}\n`)
    expect(findings.map((f) => f.rule)).toContain(rule)
    const finding = findings.find((f) => f.rule === rule)!
    expect(finding.line).toBe(2)
    expect(finding.masked).not.toContain(finding.match)
  })
})

describe('scanText leaves ordinary text alone', () => {
  test.each([
    ['a placeholder in a connection URL', 'DATABASE_URL=postgres://council:${POSTGRES_PASSWORD}@postgres:5432/council'],
    ['a password-less URL', 'TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test'],
    ['an angle-bracket placeholder', 'S3_URL=https://user:<password>@minio:9000'],
    ['a word-like value', "const token = 'metrics-token-for-the-sidecar'"],
    ['a variable reference', 'SESSION_SECRET: ${SESSION_SECRET:?set a random value}'],
    ['an integrity hash', '"sha512-49CycTz1aAZmvFcwkeFyhud1HUmRIB5Tabf7ALV+VA4Iu85MTfz2cUwzPagMFAdVBvrWdkCxG67I30tUwwpKsw=="'],
    ['a repeated value', `JWT_SECRET: '${'j'.repeat(40)}'`],
    ['a BEGIN PUBLIC KEY block', '-----BEGIN PUBLIC KEY-----'],
  ])('%s', (_, text) => {
    expect(scanText('ok.txt', text)).toEqual([])
  })
})

test('entropy and the randomness judgement', () => {
  expect(shannonEntropy('aaaa')).toBe(0)
  expect(shannonEntropy('abcd')).toBe(2)
  expect(looksRandom(join('f3Kq9vX2', 'mP7wR4tZ8nB1cL6yH0sD'))).toBe(true)
  expect(looksRandom('short1A')).toBe(false)
  expect(looksRandom('x'.repeat(30))).toBe(false)
  expect(isPlaceholder('${S3_SECRET_ACCESS_KEY}')).toBe(true)
  expect(isPlaceholder('changeme')).toBe(true)
})

describe('the allow-list', () => {
  const finding = (file: string, match: string) => scanText(file, `const SESSION_SECRET = '${match}'`)
  const fixture = join('fixture0', 'Key9vX2mP7wR4tZ8nB1c')

  test('an entry covers only its path, rule and value', () => {
    const allow = parseSecretAllowList(
      JSON.stringify({
        allow: [{ path: 'tests/integration/*.test.ts', rule: 'generic-secret-assignment', contains: 'fixture0', reason: 'test-only HS256 key, signs nothing real' }],
      }),
    )
    const covered = finding('tests/integration/auth.test.ts', fixture)
    const otherFile = finding('src/config/index.ts', fixture)
    const otherValue = finding('tests/integration/auth.test.ts', join('real0000', 'Key9vX2mP7wR4tZ8nB1c'))
    const result = applyAllowList([...covered, ...otherFile, ...otherValue], allow)
    expect(result.allowed.map((f) => f.file)).toEqual(['tests/integration/auth.test.ts'])
    expect(result.open.map((f) => f.file)).toEqual(['src/config/index.ts', 'tests/integration/auth.test.ts'])
    expect(result.unused).toEqual([])
  })

  test.each([
    [{ allow: [{ path: 'x', rule: 'no-such-rule', reason: 'a long enough reason here' }] }, 'unknown rule'],
    [{ allow: [{ path: 'x', rule: '*', reason: 'ok' }] }, 'needs a reason a reviewer can check'],
    [{ allow: [{ rule: '*', reason: 'a long enough reason here' }] }, 'needs "path"'],
  ])('a malformed entry is refused (%#)', (value, message) => {
    expect(() => parseSecretAllowList(JSON.stringify(value))).toThrow(message)
  })
})
