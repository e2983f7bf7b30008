/**
 * Palettes: curated sets of agents with a chair, free or priced. A caller may
 * run a free palette, or a priced one an entitlement unlocked for them
 * (modules/payments grants it). Sessions ask `requireRunnable` when one is
 * created and when it runs, so a locked palette is refused before anything is
 * queued. Admins create, edit and price palettes; each change is audited with
 * what changed.
 */
import type { PaletteRow } from '../../../db/schema'
import type { AuditLog } from '../../../plugins/audit'
import type { RequestMeta } from '../../../plugins/rbac'
import { conflict, forbidden, notFound, unprocessable } from '../../errors'
import type { Actor } from '../../identity'
import type { Stores } from '../../stores'
import type { CatalogStore } from '../catalog/store'
import {
  MAX_PALETTE_AGENTS,
  MAX_PRICE_CENTS,
  PALETTE_ID_PATTERN,
  type CreatePaletteInput,
  type PaletteViewType,
  type UpdatePaletteInput,
} from './model'

export interface PalettesDeps {
  stores: Stores
  audit: AuditLog
}

/** What sessions need: is this palette one the caller may run? */
export interface PaletteAccess {
  /** The palette; 422 unknown_palette when there is none, 403 palette_locked when it is priced and not unlocked for the caller. */
  requireRunnable(actor: Actor, paletteId: string): Promise<PaletteRow>
}

const invalid = (field: string, message: string) =>
  unprocessable('validation_failed', `Invalid field "${field}": ${message}.`, [{ field, message }])

export const toPaletteView = (row: PaletteRow, unlocked: boolean): PaletteViewType => ({
  id: row.id,
  name: row.name,
  description: row.description,
  agents: row.agentNames,
  chair: row.chair,
  price_cents: row.priceCents,
  unlocked,
})

/** Free first, then by price and name: the order of the page and the session form. */
const byPrice = (a: PaletteRow, b: PaletteRow) => a.priceCents - b.priceCents || a.name.localeCompare(b.name) || a.id.localeCompare(b.id)

/**
 * @example
 * const palettes = createPalettesService({ stores, audit })
 * const { items } = await palettes.list(actor)
 */
export function createPalettesService({ stores, audit }: PalettesDeps) {
  const unlockedFor = async (actor: Actor, palettes: PaletteRow[]) => {
    const granted = palettes.some((palette) => palette.priceCents > 0) ? new Set(await stores.payments.unlockedPalettes(actor.userId)) : new Set<string>()
    return (palette: PaletteRow) => palette.priceCents === 0 || granted.has(palette.id)
  }

  /** Checks a palette's fields against the catalog: agents and chair exist, 1–12 agents, a sane price. */
  const validate = async (catalog: CatalogStore, fields: { name: string; description: string; agentNames: string[]; chair: string; priceCents: number }) => {
    const name = fields.name.trim()
    if (!name) throw invalid('name', 'give the palette a name')
    if (name.length > 80) throw invalid('name', 'must be at most 80 characters')
    const description = fields.description.trim()
    if (description.length > 500) throw invalid('description', 'must be at most 500 characters')
    const agentNames = [...new Set(fields.agentNames.map((agent) => agent.trim()).filter(Boolean))]
    if (agentNames.length < 1 || agentNames.length > MAX_PALETTE_AGENTS)
      throw invalid('agents', `choose from 1 to ${MAX_PALETTE_AGENTS} agents (got ${agentNames.length})`)
    const known = new Set((await catalog.everything()).agents.map((agent) => agent.name))
    const missing = agentNames.filter((agent) => !known.has(agent))
    if (missing.length > 0) throw invalid('agents', `no agent is called ${missing.map((agent) => `"${agent}"`).join(', ')}`)
    const chair = fields.chair.trim()
    if (!known.has(chair)) throw invalid('chair', `no agent is called "${chair}"`)
    if (!Number.isInteger(fields.priceCents) || fields.priceCents < 0 || fields.priceCents > MAX_PRICE_CENTS)
      throw invalid('price_cents', `must be a whole number of cents from 0 to ${MAX_PRICE_CENTS}`)
    return { name, description, agentNames, chair, priceCents: fields.priceCents }
  }

  return {
    /** Every palette, with whether the caller may run it. */
    async list(actor: Actor): Promise<{ items: PaletteViewType[] }> {
      return { items: (await this.overview(actor)).palettes }
    },

    /** What /palettes shows: every palette for the caller, and each agent's description. */
    async overview(actor: Actor): Promise<{ palettes: PaletteViewType[]; agents: Record<string, string> }> {
      const { palettes, agents } = await stores.catalog.everything()
      const unlocked = await unlockedFor(actor, palettes)
      return {
        palettes: [...palettes].sort(byPrice).map((palette) => toPaletteView(palette, unlocked(palette))),
        agents: Object.fromEntries(agents.map((agent) => [agent.name, agent.description])),
      }
    },

    /** One palette as the caller sees it, with its agents' descriptions; 404 when there is none. */
    async card(actor: Actor, id: string): Promise<{ palette: PaletteViewType; agents: Record<string, string> }> {
      const { palettes, agents } = await this.overview(actor)
      const palette = palettes.find((candidate) => candidate.id === id)
      if (!palette) throw notFound('Palette')
      return { palette, agents }
    },

    async requireRunnable(actor: Actor, paletteId: string): Promise<PaletteRow> {
      const palette = await stores.catalog.palette(paletteId)
      if (!palette) throw unprocessable('unknown_palette', `There is no palette "${paletteId}"; see GET /api/v1/palettes for the ones you may run.`)
      if (palette.priceCents > 0 && !(await stores.payments.entitlement(actor.userId, palette.id)))
        throw forbidden(`The palette "${palette.name}" is locked; unlock it on /palettes (POST /api/v1/payments/checkout).`, 'palette_locked')
      return palette
    },

    async create(actor: Actor, input: CreatePaletteInput, meta: RequestMeta): Promise<PaletteRow> {
      if (!new RegExp(PALETTE_ID_PATTERN).test(input.id)) throw invalid('id', 'use lower-case letters, digits and -, starting with a letter or digit')
      const fields = await validate(stores.catalog, { ...input, description: input.description ?? '', agentNames: input.agents, priceCents: input.price_cents })
      const now = new Date()
      const row: PaletteRow = { id: input.id, ...fields, createdAt: now, updatedAt: now }
      const created = await stores.transaction(async (tx) => {
        if (!(await tx.catalog.insertPalette(row))) return false
        await audit.record(
          {
            ...meta.audit,
            action: 'palette.create',
            target: `palette:${row.id}`,
            metadata: { name: row.name, agents: row.agentNames, chair: row.chair, price_cents: row.priceCents },
          },
          tx,
        )
        return true
      })
      if (!created) throw conflict('palette_exists', `A palette with the id "${row.id}" exists already; edit it instead.`)
      return row
    },

    /** Changes the given fields; the audit event lists each changed field's old and new value. */
    async update(actor: Actor, id: string, input: UpdatePaletteInput, meta: RequestMeta): Promise<PaletteRow> {
      return stores.transaction(async (tx) => {
        const current = await tx.catalog.palette(id)
        if (!current) throw notFound('Palette')
        // Within the transaction, reads go through it (libsql runs one statement at a time).
        const fields = await validate(tx.catalog, {
          name: input.name ?? current.name,
          description: input.description ?? current.description,
          agentNames: input.agents ?? current.agentNames,
          chair: input.chair ?? current.chair,
          priceCents: input.price_cents ?? current.priceCents,
        })
        const changes = Object.fromEntries(
          (Object.keys(fields) as Array<keyof typeof fields>)
            .filter((key) => JSON.stringify(fields[key]) !== JSON.stringify(current[key]))
            .map((key) => [key, { from: current[key], to: fields[key] }]),
        )
        if (Object.keys(changes).length === 0) return current
        const updated = (await tx.catalog.updatePalette(id, { ...fields, updatedAt: new Date() }))!
        await audit.record({ ...meta.audit, action: 'palette.update', target: `palette:${id}`, metadata: { changes } }, tx)
        return updated
      })
    },
  }
}

export type PalettesService = ReturnType<typeof createPalettesService>
