/** The payment store's contract, on libsql and on PostgreSQL: conditional settles, events once, entitlements once. */
import { expect, test } from 'bun:test'
import { newId } from '../../../db/client'
import type { EntitlementRow, PaymentRow } from '../../../db/schema'
import { eachDialect } from '../../helpers/databases'

const payment = (userId: string, fields: Partial<PaymentRow> = {}): PaymentRow => {
  const now = new Date()
  return { id: newId(), userId, paletteId: 'expert-panel', amountCents: 1900, status: 'pending', providerRef: null, createdAt: now, updatedAt: now, ...fields }
}
const entitlement = (userId: string, paletteId: string, paymentId: string | null = null): EntitlementRow => ({
  id: newId(),
  userId,
  paletteId,
  paymentId,
  grantedAt: new Date(),
})

eachDialect('payment store', (use) => {
  test('a payment reads back equal; a missing one is undefined', async () => {
    const { stores } = use()
    const row = payment(`u-${newId()}`)
    await stores.payments.insertPayment(row)
    expect(await stores.payments.payment(row.id)).toEqual(row)
    expect(await stores.payments.payment(newId())).toBeUndefined()
  })

  test('settle: pending → succeeded once, with the provider ref; a success is final', async () => {
    const { stores } = use()
    const row = payment(`u-${newId()}`)
    await stores.payments.insertPayment(row)
    const at = new Date(row.createdAt.getTime() + 1000)
    const settled = await stores.payments.settle(row.id, 'succeeded', 'ch_1', at)
    expect(settled).toMatchObject({ id: row.id, status: 'succeeded', providerRef: 'ch_1', updatedAt: at })
    expect(await stores.payments.settle(row.id, 'succeeded', 'ch_2', new Date())).toBeUndefined()
    expect(await stores.payments.settle(row.id, 'failed', null, new Date())).toBeUndefined()
    expect(await stores.payments.payment(row.id)).toMatchObject({ status: 'succeeded', providerRef: 'ch_1' })
  })

  test('settle: pending → failed, failed → succeeded, and a missing payment is undefined', async () => {
    const { stores } = use()
    const row = payment(`u-${newId()}`)
    await stores.payments.insertPayment(row)
    expect((await stores.payments.settle(row.id, 'failed', null, new Date()))?.status).toBe('failed')
    expect(await stores.payments.settle(row.id, 'failed', null, new Date())).toBeUndefined()
    // Without a provider ref, the one already stored is kept.
    expect(await stores.payments.settle(row.id, 'succeeded', null, new Date())).toMatchObject({ status: 'succeeded', providerRef: null })
    expect(await stores.payments.settle(newId(), 'succeeded', null, new Date())).toBeUndefined()
  })

  test('concurrent settles of one payment: exactly one moves it', async () => {
    const { stores } = use()
    const row = payment(`u-${newId()}`)
    await stores.payments.insertPayment(row)
    const results = await Promise.all(Array.from({ length: 8 }, () => stores.payments.settle(row.id, 'succeeded', null, new Date())))
    expect(results.filter(Boolean)).toHaveLength(1)
  })

  test('recordEvent is true once per event id, whatever the payload', async () => {
    const { stores } = use()
    const id = `evt_${newId()}`
    const event = { id, paymentId: newId(), type: 'payment.succeeded', receivedAt: new Date() }
    expect(await stores.payments.recordEvent(event)).toBe(true)
    expect(await stores.payments.recordEvent(event)).toBe(false)
    expect(await stores.payments.recordEvent({ ...event, type: 'payment.failed' })).toBe(false)
    const racing = `evt_${newId()}`
    const results = await Promise.all(Array.from({ length: 6 }, () => stores.payments.recordEvent({ ...event, id: racing })))
    expect(results.filter(Boolean)).toHaveLength(1)
  })

  test('grant is true once per user and palette; entitlement and unlockedPalettes read it', async () => {
    const { stores } = use()
    const user = `u-${newId()}`
    expect(await stores.payments.unlockedPalettes(user)).toEqual([])
    expect(await stores.payments.entitlement(user, 'expert-panel')).toBeUndefined()
    const first = entitlement(user, 'expert-panel', newId())
    expect(await stores.payments.grant(first)).toBe(true)
    expect(await stores.payments.grant(entitlement(user, 'expert-panel', newId()))).toBe(false)
    expect(await stores.payments.grant(entitlement(user, 'strategy'))).toBe(true)
    expect(await stores.payments.entitlement(user, 'expert-panel')).toEqual(first)
    expect((await stores.payments.unlockedPalettes(user)).sort()).toEqual(['expert-panel', 'strategy'])
    expect(await stores.payments.unlockedPalettes(`u-${newId()}`)).toEqual([])
    const racer = `u-${newId()}`
    const results = await Promise.all(Array.from({ length: 6 }, () => stores.payments.grant(entitlement(racer, 'expert-panel'))))
    expect(results.filter(Boolean)).toHaveLength(1)
  })

  test('writes inside a transaction roll back with it', async () => {
    const { stores } = use()
    const row = payment(`u-${newId()}`)
    await stores.payments.insertPayment(row)
    await expect(
      stores.transaction(async (tx) => {
        await tx.payments.settle(row.id, 'succeeded', null, new Date())
        await tx.payments.grant(entitlement(row.userId, row.paletteId, row.id))
        await tx.payments.recordEvent({ id: `evt_${row.id}`, paymentId: row.id, type: 'payment.succeeded', receivedAt: new Date() })
        throw new Error('abort')
      }),
    ).rejects.toThrow('abort')
    expect((await stores.payments.payment(row.id))?.status).toBe('pending')
    expect(await stores.payments.entitlement(row.userId, row.paletteId)).toBeUndefined()
    expect(await stores.payments.recordEvent({ id: `evt_${row.id}`, paymentId: row.id, type: 'x', receivedAt: new Date() })).toBe(true)
  })
})
