/** Reading the audit trail in tests the way an auditor would: through GET /api/admin/audit. */
import { expect } from 'bun:test'
import type { TestApp } from './app'

export interface AuditItem {
  action: string
  actor: string
  role: string
  target: string
  request_id: string
  metadata: Record<string, unknown> | null
}

/**
 * The audit events of one request (its X-Request-Id), newest first.
 * @example
 * const [event] = await auditOf(t, res.headers.get('x-request-id')!, 'admin@example.com')
 */
export async function auditOf(app: TestApp, requestId: string, admin: string): Promise<AuditItem[]> {
  await app.deps.audit.flush()
  const res = await app.json('GET', `/api/admin/audit?request_id=${encodeURIComponent(requestId)}`, { user: admin })
  expect(res.status).toBe(200)
  return res.body.items
}
