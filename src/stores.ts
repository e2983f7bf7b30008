/**
 * Where every table is reached (STYLE.md "Stores"). Each aggregate has an
 * interface in its module (`store.ts`) and one implementation per dialect
 * (`store.pg.ts`, `store.sqlite.ts`) that owns all of its SQL, prepared
 * statements, batching and coalescing; queries that are the same text on both
 * dialects are written once (`store.portable.ts`, given the dialect's database
 * and tables by db/portable.ts). This file is the only place that looks
 * at the dialect: it picks the implementations and offers `transaction`, which
 * hands the callback the same stores bound to one transaction, so a change and
 * its audit event (or a job and its budget reservation) commit together.
 */
import type { Database, PgExec, SqliteExec } from '../db/client'
import { pgPortable, sqlitePortable } from '../db/portable'
import { createPgAuditStore } from '../plugins/audit/store.pg'
import { createSqliteAuditStore } from '../plugins/audit/store.sqlite'
import type { AuditStore } from '../plugins/audit/types'
import type { SignInStore } from './modules/auth/store'
import { createPgSignInStore } from './modules/auth/store.pg'
import { createSqliteSignInStore } from './modules/auth/store.sqlite'
import type { BudgetLedger } from './modules/budgets/store'
import { createPgBudgetLedger } from './modules/budgets/store.pg'
import { createSqliteBudgetLedger } from './modules/budgets/store.sqlite'
import type { CatalogStore } from './modules/catalog/store'
import { createCatalogStore } from './modules/catalog/store.portable'
import type { DataStore } from './modules/data/store'
import { createPgDataStore } from './modules/data/store.pg'
import { createSqliteDataStore } from './modules/data/store.sqlite'
import type { DocumentStore } from './modules/documents/store'
import { createPgDocumentStore } from './modules/documents/store.pg'
import { createSqliteDocumentStore } from './modules/documents/store.sqlite'
import type { IdentityStore } from './modules/identity/store'
import { createPgIdentityStore } from './modules/identity/store.pg'
import { createSqliteIdentityStore } from './modules/identity/store.sqlite'
import type { StageOutputStore } from './modules/councils/store'
import { createPgStageOutputStore } from './modules/councils/store.pg'
import { createSqliteStageOutputStore } from './modules/councils/store.sqlite'
import type { JobStore } from './modules/jobs/store'
import { createPgJobStore } from './modules/jobs/store.pg'
import { createSqliteJobStore } from './modules/jobs/store.sqlite'
import type { RoadmapStore } from './modules/roadmap/store'
import { createPgRoadmapStore } from './modules/roadmap/store.pg'
import { createSqliteRoadmapStore } from './modules/roadmap/store.sqlite'
import type { SessionStore } from './modules/sessions/store'
import { createPgSessionStore } from './modules/sessions/store.pg'
import { createSqliteSessionStore } from './modules/sessions/store.sqlite'
import type { TicketStore } from './modules/tickets/store'
import { createTicketStore } from './modules/tickets/store.portable'
import type { PaymentStore } from './modules/payments/store'
import { createPgPaymentStore } from './modules/payments/store.pg'
import { createSqlitePaymentStore } from './modules/payments/store.sqlite'
import type { StatusStore } from './modules/status/store'
import { createStatusStore } from './modules/status/store.portable'
import type { TokenStore } from './modules/tokens/store'
import type { UsageStore } from './modules/usage/store'
import { createPgUsageStore } from './modules/usage/store.pg'
import { createSqliteUsageStore } from './modules/usage/store.sqlite'
import { createPgTokenStore } from './modules/tokens/store.pg'
import { createSqliteTokenStore } from './modules/tokens/store.sqlite'

/** The stores of one transaction: every write through them commits or rolls back together. */
export interface TxStores {
  audit: AuditStore
  budgets: BudgetLedger
  catalog: CatalogStore
  documents: DocumentStore
  /** Every table at once (erasure, retention, export, backups): src/modules/data. */
  data: DataStore
  identity: IdentityStore
  jobs: JobStore
  roadmap: RoadmapStore
  sessions: SessionStore
  /** Revoked sign-in cookies (logout, role change, erasure). */
  signIns: SignInStore
  stageOutputs: StageOutputStore
  /** The status page: probe samples, daily uptime, incidents and maintenance windows. */
  status: StatusStore
  tickets: TicketStore
  payments: PaymentStore
  tokens: TokenStore
  /** Usage rollups (the admin dashboard's figures): src/modules/usage. */
  usage: UsageStore
}

export interface Stores extends TxStores {
  transaction<T>(work: (tx: TxStores) => Promise<T>): Promise<T>
}

/**
 * How a dialect builds each store: `root` is the database itself (coalescers allowed), otherwise a transaction;
 * `handle` is the dialect's database (for what a store needs beyond statements, such as a LISTEN connection).
 */
type Factories<Exec, Handle extends Database['handle']> = {
  [K in keyof TxStores]: (exec: Exec, root: boolean, handle: Handle, options: StoreOptions) => TxStores[K]
}

/** Settings of the stores themselves (from src/config). */
export interface StoreOptions {
  /** Megabytes of list pages a server keeps in memory while provably current, PostgreSQL only (SESSION_LIST_CACHE_MB); 0 turns it off. */
  sessionListCacheMb?: number
}

const sqliteFactories: Factories<SqliteExec, Extract<Database['handle'], { dialect: 'sqlite' }>> = {
  audit: (exec) => createSqliteAuditStore(exec),
  budgets: (exec, root) => createSqliteBudgetLedger(exec, { coalesce: root }),
  // libsql runs each statement on this thread: shared reads wait a turn for company (db/coalesce.ts).
  catalog: (exec, root) => createCatalogStore(sqlitePortable(exec), { coalesce: root, coalescer: { wait: 'turn' } }),
  documents: (exec) => createSqliteDocumentStore(exec),
  data: (exec) => createSqliteDataStore(exec),
  identity: (exec, root) => createSqliteIdentityStore(exec, { coalesce: root }),
  jobs: (exec, root) => createSqliteJobStore(exec, { coalesce: root }),
  roadmap: (exec) => createSqliteRoadmapStore(exec),
  sessions: (exec, root) => createSqliteSessionStore(exec, { coalesce: root }),
  signIns: (exec) => createSqliteSignInStore(exec),
  stageOutputs: (exec, root) => createSqliteStageOutputStore(exec, { coalesce: root }),
  status: (exec) => createStatusStore(sqlitePortable(exec)),
  tickets: (exec) => createTicketStore(sqlitePortable(exec)),
  payments: (exec) => createSqlitePaymentStore(exec),
  tokens: (exec, root) => createSqliteTokenStore(exec, root),
  usage: (exec) => createSqliteUsageStore(exec),
}

const pgFactories: Factories<PgExec, Extract<Database['handle'], { dialect: 'pg' }>> = {
  audit: (exec) => createPgAuditStore(exec),
  budgets: (exec, root) => createPgBudgetLedger(exec, { coalesce: root }),
  catalog: (exec, root) => createCatalogStore(pgPortable(exec), { coalesce: root }),
  documents: (exec, root) => createPgDocumentStore(exec, { coalesce: root }),
  data: (exec) => createPgDataStore(exec),
  identity: (exec, root) => createPgIdentityStore(exec, { coalesce: root }),
  jobs: (exec, root) => createPgJobStore(exec, { coalesce: root }),
  roadmap: (exec) => createPgRoadmapStore(exec),
  // Only the root store lists through the cache, and its LISTEN connection opens on the first list read.
  sessions: (exec, root, handle, options) =>
    createPgSessionStore(exec, { coalesce: root, listCache: { listen: () => handle.dedicatedClient(), megabytes: options.sessionListCacheMb ?? 32 } }),
  signIns: (exec) => createPgSignInStore(exec),
  stageOutputs: (exec, root) => createPgStageOutputStore(exec, { coalesce: root }),
  status: (exec) => createStatusStore(pgPortable(exec)),
  tickets: (exec) => createTicketStore(pgPortable(exec)),
  payments: (exec) => createPgPaymentStore(exec),
  tokens: (exec, root) => createPgTokenStore(exec, { coalesce: root }),
  usage: (exec) => createPgUsageStore(exec),
}

/**
 * A transaction touches two or three stores; each is built on first use, so
 * opening one costs nothing for the stores it does not touch.
 */
function lazyStores<Exec, Handle extends Database['handle']>(
  factories: Factories<Exec, Handle>,
  handle: Handle,
  exec: Exec,
  root: boolean,
  options: StoreOptions,
): TxStores {
  const built: Partial<TxStores> = {}
  const stores = {} as TxStores
  for (const key of Object.keys(factories) as Array<keyof TxStores>)
    Object.defineProperty(stores, key, {
      enumerable: true,
      get: () => (built[key] ??= factories[key](exec, root, handle, options) as never),
    })
  return stores
}

/**
 * @example
 * const stores = createStores(db)
 * await stores.transaction(async (tx) => { await tx.sessions.insert(row); await audit.record(event, tx) })
 */
export function createStores(db: Database, options: StoreOptions = {}): Stores {
  const handle = db.handle
  // (Not Object.assign: it would read, and so build, every lazy store.)
  if (handle.dialect === 'pg') {
    const orm = handle.orm
    const stores = lazyStores(pgFactories, handle, orm, true, options) as Stores
    stores.transaction = (work) => orm.transaction((tx) => work(lazyStores(pgFactories, handle, tx, false, options)))
    return stores
  }
  const orm = handle.orm
  const stores = lazyStores(sqliteFactories, handle, orm, true, options) as Stores
  stores.transaction = (work) => orm.transaction((tx) => work(lazyStores(sqliteFactories, handle, tx, false, options)))
  return stores
}
