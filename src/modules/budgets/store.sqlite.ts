/** The budget ledger on libsql. */
import { and, eq, sql } from 'drizzle-orm'
import { newId, type SqliteExec } from '../../../db/client'
import { budgetReservations, budgetUsage } from '../../../db/schema/sqlite'
import type { BudgetLedger } from './store'

export function createSqliteBudgetLedger(db: SqliteExec): BudgetLedger {
  return {
    async reserve(r) {
      await db
        .insert(budgetUsage)
        .values({ id: newId(), userId: r.userId, day: r.day, tokensUsed: 0, tokensHeld: 0, costUsedMicroUsd: 0, costHeldMicroUsd: 0, alertsSent: 0, roles: r.roles, updatedAt: r.at })
        .onConflictDoNothing()
      const granted = await db
        .update(budgetUsage)
        .set({
          tokensHeld: sql`${budgetUsage.tokensHeld} + ${r.tokens}`,
          costHeldMicroUsd: sql`${budgetUsage.costHeldMicroUsd} + ${r.costMicroUsd}`,
          roles: r.roles,
          updatedAt: r.at,
        })
        .where(
          and(
            eq(budgetUsage.userId, r.userId),
            eq(budgetUsage.day, r.day),
            sql`${budgetUsage.tokensUsed} + ${budgetUsage.tokensHeld} + ${r.tokens} <= ${r.limits.tokens}`,
            sql`${budgetUsage.costUsedMicroUsd} + ${budgetUsage.costHeldMicroUsd} + ${r.costMicroUsd} <= ${r.limits.costMicroUsd}`,
          ),
        )
        .returning({ id: budgetUsage.id })
      if (granted.length === 0) {
        const [day] = await db.select().from(budgetUsage).where(and(eq(budgetUsage.userId, r.userId), eq(budgetUsage.day, r.day))).limit(1)
        return { granted: false, day }
      }
      await db.insert(budgetReservations).values({
        jobId: r.jobId,
        userId: r.userId,
        day: r.day,
        kind: r.kind,
        roles: r.roles,
        tokensReserved: r.tokens,
        costReservedMicroUsd: r.costMicroUsd,
        tokensUsed: 0,
        costUsedMicroUsd: 0,
        calls: 0,
        createdAt: r.at,
        settledAt: null,
      })
      return { granted: true }
    },
  }
}
