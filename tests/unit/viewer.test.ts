/**
 * createViewer: who an error page is shown to. It reads the request as a GET
 * (a refused write still identifies its author), parses the Cookie header when
 * Elysia has not, and falls back to ANONYMOUS instead of throwing.
 */
import { describe, expect, test } from 'bun:test'
import { ANONYMOUS, type Actor, type Authenticator } from '../../src/identity'
import { createViewer } from '../../src/viewer'

const ann: Actor = { ...ANONYMOUS, userId: 'u1', email: 'ann@example.com', via: 'cookie', roles: ['user'], role: 'user', permissions: new Set() }

function authenticator(authenticate: Authenticator['authenticate']): Authenticator {
  return { authenticate, clientIp: () => null }
}

describe('createViewer', () => {
  test('identifies from the Cookie header, reading the request as a GET', async () => {
    const seen: Array<{ method: string; cookie: unknown }> = []
    const viewer = createViewer(
      authenticator(async ({ request, cookie }) => {
        seen.push({ method: request.method, cookie: cookie.council_session?.value })
        return ann
      }),
    )
    const request = new Request('http://localhost/sessions', { method: 'POST', headers: { cookie: 'a=1; council_session=abc.123%3D; broken' } })
    expect(await viewer(request)).toBe(ann)
    expect(seen).toEqual([{ method: 'GET', cookie: 'abc.123=' }])
  })

  test('a credential the authenticator refuses, or none, is ANONYMOUS — never a throw', async () => {
    const refusing = createViewer(authenticator(async () => Promise.reject(new Error('bad token'))))
    expect(await refusing(new Request('http://localhost/x'))).toBe(ANONYMOUS)
    const nobody = createViewer(authenticator(async () => null))
    expect(await nobody(new Request('http://localhost/x'))).toBe(ANONYMOUS)
  })
})
