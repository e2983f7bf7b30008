/**
 * Payments, the provider events already processed, and the entitlements they
 * grant. Every write is conditional, so replayed, duplicated or reordered
 * deliveries converge on one state. The contract suite is
 * tests/unit/stores/payment-store.test.ts (libsql and PostgreSQL).
 */
import type { EntitlementRow, PaymentEventRow, PaymentRow } from '../../../db/schema'

type PaymentStatus = 'pending' | 'succeeded' | 'failed'

export interface PaymentStore {
  insertPayment(row: PaymentRow): Promise<void>
  payment(id: string): Promise<PaymentRow | undefined>
  /**
   * Moves a payment to `succeeded` (from pending or failed) or `failed` (from
   * pending only: a success is final); the updated row, or undefined when the
   * payment is missing or the move is not allowed from where it stands.
   */
  settle(id: string, to: Exclude<PaymentStatus, 'pending'>, providerRef: string | null, at: Date): Promise<PaymentRow | undefined>
  /** Records a provider event by its id; false when it was recorded before (a replay or duplicate). */
  recordEvent(row: PaymentEventRow): Promise<boolean>
  /** Grants a palette unless the user has it; true when this call granted it (of concurrent callers, one). */
  grant(row: EntitlementRow): Promise<boolean>
  entitlement(userId: string, paletteId: string): Promise<EntitlementRow | undefined>
  /** The ids of the palettes granted to the user. */
  unlockedPalettes(userId: string): Promise<string[]>
}
