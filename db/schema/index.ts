/**
 * Row types, exported once. They are read off the SQLite tables; the type
 * checks below fail the build if a PostgreSQL table's row differs, so a store of
 * either dialect can return these types without a cast (and
 * tests/unit/schema-parity.test.ts compares columns, keys and indexes at run time).
 */
import type * as pg from './pg'
import type * as sqlite from './sqlite'

export type UserRow = typeof sqlite.users.$inferSelect
export type RoleBindingRow = typeof sqlite.roleBindings.$inferSelect
export type SessionRow = typeof sqlite.sessions.$inferSelect
export type JobRow = typeof sqlite.jobs.$inferSelect
export type JobLogRow = typeof sqlite.jobLogs.$inferSelect
export type AuditEventRow = typeof sqlite.auditEvents.$inferSelect
export type AuditOutboxRow = typeof sqlite.auditOutbox.$inferSelect
export type AgentRow = typeof sqlite.agents.$inferSelect
export type PaletteRow = typeof sqlite.palettes.$inferSelect
export type StageOutputRow = typeof sqlite.stageOutputs.$inferSelect
export type LimitRow = typeof sqlite.limits.$inferSelect
export type BudgetUsageRow = typeof sqlite.budgetUsage.$inferSelect
export type BudgetReservationRow = typeof sqlite.budgetReservations.$inferSelect
export type RoadmapItemRow = typeof sqlite.roadmapItems.$inferSelect
export type TicketRow = typeof sqlite.tickets.$inferSelect
export type TicketCommentRow = typeof sqlite.ticketComments.$inferSelect
export type PaymentRow = typeof sqlite.payments.$inferSelect
export type PaymentEventRow = typeof sqlite.paymentEvents.$inferSelect
export type EntitlementRow = typeof sqlite.entitlements.$inferSelect
export type AccessTokenRow = typeof sqlite.accessTokens.$inferSelect
export type DocumentRow = typeof sqlite.documents.$inferSelect
type ErasedIdentityRow = typeof sqlite.erasedIdentities.$inferSelect

/** True only when A and B are the same type (both directions, no `any` leaking through). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
type Rows<Schema> = {
  [K in keyof Schema]: Schema[K] extends { $inferSelect: infer R } ? R : never
}
/** The tables whose rows differ between the dialects; the check below names them in the type error. */
type Disagreeing = {
  [K in keyof Rows<typeof sqlite> | keyof Rows<typeof pg>]: K extends keyof Rows<typeof sqlite> & keyof Rows<typeof pg>
    ? Same<Rows<typeof sqlite>[K], Rows<typeof pg>[K]> extends true
      ? never
      : K
    : K
}[keyof Rows<typeof sqlite> | keyof Rows<typeof pg>]
'rows agree' satisfies [Disagreeing] extends [never] ? 'rows agree' : Disagreeing
