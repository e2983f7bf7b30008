/**
 * Removing rows together with everything that belongs to them, across every
 * table the plan knows (./plan.ts) and the storage objects they name. Erasure
 * starts from a user, retention from old sessions, jobs or documents; both
 * call `closure` then `removeAll`. Deletes go in batches of `batchSize` by
 * primary key, a table before the tables it belongs to, objects before the
 * rows naming them — so a crash midway leaves nothing unreachable, and running
 * the same removal again finishes it.
 */
import { STORAGE_PREFIXES, parseStorageKey, type ObjectStorage } from '../../../plugins/storage'
import { deletionOrder, type TablePlan } from './plan'
import type { DataStore } from './store'

/** Rows removed per table (tables with none are left out) and objects removed from storage. */
export interface Removal {
  tables: Record<string, number>
  objects: number
}

export interface CascadeDeps {
  data: DataStore
  storage: ObjectStorage
  batchSize: number
  /** Called between batches: renews a lease, or throws to stop (the next run resumes). */
  between?: () => Promise<void>
}

/** Prefixes whose objects belong to a row; `health` holds only the readiness probe's. */
const OWNED_PREFIXES = STORAGE_PREFIXES.filter((prefix) => prefix !== 'health')

/**
 * The ids of every row that belongs to the roots, per table, following owner
 * references (a session's jobs, a job's log lines, a user's tickets and the
 * comments on them). Only tables other tables belong to get a set; the rest
 * are matched by reference when removed.
 * @example
 * const sets = await closure(stores.data, { users: [userId] })
 */
export async function closure(data: DataStore, roots: Record<string, readonly string[]>): Promise<Map<string, Set<string>>> {
  const sets = new Map<string, Set<string>>(Object.entries(roots).map(([table, ids]) => [table, new Set(ids)]))
  const owners = new Set(data.plans.flatMap((plan) => plan.refs.filter((ref) => ref.role === 'owner').map((ref) => ref.target)))
  const collected = new Set<string>()
  for (let changed = true; changed; ) {
    changed = false
    for (const plan of data.plans) {
      if (!owners.has(plan.name) || !plan.primaryKey) continue
      for (const ref of plan.refs) {
        const parents = sets.get(ref.target)
        if (ref.role !== 'owner' || !parents?.size) continue
        // Each (table, column) is asked once per id: ids added later are asked on the next round.
        const fresh = [...parents].filter((id) => !collected.has(`${plan.name}.${ref.column.name}:${id}`))
        if (fresh.length === 0) continue
        for (const id of fresh) collected.add(`${plan.name}.${ref.column.name}:${id}`)
        const own = sets.get(plan.name) ?? new Set<string>()
        for (const id of await data.ids(plan.name, ref.column.name, fresh))
          if (!own.has(id)) {
            own.add(id)
            changed = true
          }
        sets.set(plan.name, own)
      }
    }
  }
  return sets
}

/** Which rows of `plan` go: its own set by primary key, else every row owned by a row that goes. */
function matchersOf(plan: TablePlan, sets: Map<string, Set<string>>): Array<{ column: string; values: string[] }> {
  const own = sets.get(plan.name)
  if (own?.size && plan.primaryKey) return [{ column: plan.primaryKey.name, values: [...own] }]
  return plan.refs
    .filter((ref) => ref.role === 'owner' && sets.get(ref.target)?.size)
    .map((ref) => ({ column: ref.column.name, values: [...sets.get(ref.target)!] }))
}

/**
 * Deletes every row in `sets` and every row owned by them, and the storage
 * objects they name; tables in `skip` are left (erasure removes the user row
 * itself in its last transaction).
 */
export async function removeAll(deps: CascadeDeps, sets: Map<string, Set<string>>, skip: ReadonlySet<string> = new Set()): Promise<Removal> {
  const removal: Removal = { tables: {}, objects: 0 }
  const seen = new Set<string>()
  const count = (table: string, n: number) => {
    if (n > 0) removal.tables[table] = (removal.tables[table] ?? 0) + n
  }
  for (const plan of deletionOrder(deps.data.plans)) {
    if (skip.has(plan.name)) continue
    for (const { column, values } of matchersOf(plan, sets)) {
      if (!plan.primaryKey) {
        count(plan.name, await deps.data.removeWhere(plan.name, column, values))
        continue
      }
      for (;;) {
        const picked = await deps.data.pick(plan.name, column, values, deps.batchSize)
        if (picked.ids.length === 0) break
        removal.objects += await removeObjects(deps.storage, picked.objectKeys, seen)
        const removed = await deps.data.remove(plan.name, picked.ids)
        count(plan.name, removed)
        await deps.between?.()
        // Someone else removed them meanwhile (or they cannot be): never spin.
        if (removed === 0 || picked.ids.length < deps.batchSize) break
      }
    }
  }
  return removal
}

/**
 * Removes the objects named and everything stored beside them: their children
 * (`extracted/<id>/page-0001`) and the same id under the other prefixes (a
 * document's `documents/<id>` and its `extracted/<id>`). Returns how many existed.
 */
async function removeObjects(storage: ObjectStorage, keys: readonly string[], seen = new Set<string>()): Promise<number> {
  let removed = 0
  for (const key of keys) {
    const id = key.split('/')[1]!
    if (seen.has(id)) continue
    seen.add(id)
    for (const prefix of OWNED_PREFIXES) {
      const base = parseStorageKey(`${prefix}/${id}`)
      const children: string[] = []
      for await (const child of storage.list(base)) children.push(child.key)
      for (const child of children) {
        await storage.delete(parseStorageKey(child))
        removed += 1
      }
      if (await storage.stat(base)) {
        await storage.delete(base)
        removed += 1
      }
    }
  }
  return removed
}

/**
 * Replaces a person by their pseudonym in every column that only mentions them
 * (who last edited a ticket, who paid). `names` are the values such a column
 * may hold for them: their user id, and their email (some columns record the
 * actor's email). Returns rows changed per table.
 */
export async function pseudonymiseMentions(deps: CascadeDeps, names: readonly string[], pseudonym: string): Promise<Record<string, number>> {
  const changed: Record<string, number> = {}
  for (const plan of deps.data.plans)
    for (const ref of plan.refs) {
      if (ref.role !== 'mention' || ref.target !== 'users' || !plan.primaryKey) continue
      for (const name of names)
        for (;;) {
          const n = await deps.data.rewrite(plan.name, ref.column.name, name, pseudonym, deps.batchSize)
          if (n > 0) changed[plan.name] = (changed[plan.name] ?? 0) + n
          if (n < deps.batchSize) break
          await deps.between?.()
        }
    }
  return changed
}
