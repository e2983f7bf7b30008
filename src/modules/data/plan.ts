/**
 * The data walk's map of the schema: for every table, which columns point at a
 * person or at a row of another table, and what erasing that person or row does
 * to it. It is read off the drizzle table definitions by column name, so a table
 * another package adds later (documents, usage rollups, …) is walked without an
 * edit here: `user_id` / `created_by` / `author_id` / `owner_id` belong to a
 * person, `<thing>_id` belongs to a row of `<thing>s` when that table exists.
 * The few columns where that default is wrong are decided below, each with its
 * reason. Erasure (src/modules/privacy), retention (src/modules/retention) and
 * the backup row counts all follow this one map.
 */

interface ColumnInfo {
  /** The database column name (`user_id`). */
  name: string
  /** The property drizzle reads it into (`userId`). */
  key: string
  /** `json` columns are searched for storage keys too. */
  dataType: string
  primary: boolean
}

export interface TableInfo {
  name: string
  columns: ColumnInfo[]
}

/**
 * `owner`: the row belongs to what the column names; erasing that erases the row.
 * `mention`: the row only says who did something to it (who last edited a
 * ticket); the row stays and the value is replaced by the person's pseudonym.
 */
type RefRole = 'owner' | 'mention'

interface Ref {
  column: ColumnInfo
  /** The table whose primary key the column holds; `users` for a person. */
  target: string
  role: RefRole
}

export interface TablePlan {
  name: string
  columns: ColumnInfo[]
  /** The single-column primary key, or null (then deletes go by reference, unbatched). */
  primaryKey: ColumnInfo | null
  refs: Ref[]
  /** Columns whose values may name storage objects: `*_key` text, and JSON. */
  objectColumns: ColumnInfo[]
}

/** Columns that name a person by their user id. */
const PERSON = /^(user_id|author_id|owner_id|actor_id|[a-z0-9_]+_by)$/
/** Of those, the ones whose row is the person's own: it goes when they are erased. */
const OWNED_BY_PERSON = new Set(['user_id', 'author_id', 'owner_id', 'created_by', 'uploaded_by'])
const ENTITY = /^([a-z0-9_]+)_id$/
const OBJECT_KEY = /(^|_)key$/

/**
 * The columns where the naming rule is not what erasure should do, and why.
 * `keep`: not a reference the walk follows.
 */
const DECISIONS: Record<string, RefRole | 'keep'> = {
  // Money records are kept for bookkeeping: the payer is replaced by the pseudonym, the amounts stay.
  'payments.user_id': 'mention',
  // Admin-written product content and grants to other people: kept, the author pseudonymised.
  'roadmap_items.created_by': 'mention',
  'role_bindings.created_by': 'mention',
  // A ticket links to a roadmap item; the item does not own it.
  'tickets.roadmap_item_id': 'keep',
  // The audit trail is never walked: plugins/audit pseudonymises the erased person's events
  // (actor, actor id, target, metadata, ip) and keeps the opaque ids of erased sessions and jobs.
  'audit_events.actor_id': 'keep',
  'audit_events.session_id': 'keep',
  'audit_events.job_id': 'keep',
  // Status-page incidents are public notices: the admin who posted or updated one is pseudonymised, the notice stays.
  'incidents.created_by': 'mention',
  'incident_updates.created_by': 'mention',
  // A per-user budget override names its user in `subject` (role overrides name a role there).
  'limits.subject': 'owner',
}

/** The erasure decision of `limits.subject`: it holds a user id without the usual name. */
const PERSON_BY_DECISION = new Set(['limits.subject'])

/** `session` → `sessions`, `roadmap_item` → `roadmap_items`, `entry` → `entries`. */
const plurals = (stem: string) => [`${stem}s`, stem.endsWith('y') ? `${stem.slice(0, -1)}ies` : `${stem}es`]

/**
 * @example
 * const plans = planTables([{ name: 'sessions', columns: [...] }, …])
 * plans.find((p) => p.name === 'jobs')!.refs // [{ column: session_id, target: 'sessions', role: 'owner' }, …]
 */
export function planTables(tables: readonly TableInfo[]): TablePlan[] {
  const names = new Set(tables.map((table) => table.name))
  return tables.map((table) => {
    const refs: Ref[] = []
    for (const column of table.columns) {
      // A key can be a reference too: budget_reservations is keyed by its job's id.
      const id = `${table.name}.${column.name}`
      const decided = DECISIONS[id]
      if (decided === 'keep') continue
      let target: string | undefined
      let role: RefRole = 'owner'
      if (PERSON.test(column.name) || PERSON_BY_DECISION.has(id)) {
        target = 'users'
        role = OWNED_BY_PERSON.has(column.name) || PERSON_BY_DECISION.has(id) ? 'owner' : 'mention'
      } else {
        const stem = ENTITY.exec(column.name)?.[1]
        target = stem ? plurals(stem).find((name) => names.has(name)) : undefined
      }
      if (!target) continue
      refs.push({ column, target, role: decided ?? role })
    }
    const keys = table.columns.filter((column) => column.primary)
    return {
      name: table.name,
      columns: table.columns,
      primaryKey: keys.length === 1 ? keys[0]! : null,
      refs,
      objectColumns: table.columns.filter((column) => !column.primary && (column.dataType === 'json' || OBJECT_KEY.test(column.name))),
    }
  })
}

/**
 * The order deletes go in: a table before every table it belongs to, so a
 * crash midway never leaves a row whose owner is gone while it stays. `users` last.
 */
export function deletionOrder(plans: readonly TablePlan[]): TablePlan[] {
  const byName = new Map(plans.map((plan) => [plan.name, plan]))
  const ordered: TablePlan[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (plan: TablePlan) => {
    if (state.get(plan.name)) return
    state.set(plan.name, 'visiting')
    // Everything that belongs to this table goes first.
    for (const other of plans)
      if (other !== plan && other.refs.some((ref) => ref.role === 'owner' && ref.target === plan.name)) visit(other)
    state.set(plan.name, 'done')
    ordered.push(plan)
  }
  for (const plan of plans) if (plan.name !== 'users') visit(plan)
  const users = byName.get('users')
  if (users) ordered.push(users)
  return ordered
}
