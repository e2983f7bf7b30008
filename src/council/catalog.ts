/**
 * The agents and palettes every install starts with. `ensureCatalog` inserts
 * what is missing (it never overwrites an admin's edits), so it is safe to run
 * at every start.
 */
import { inArray } from 'drizzle-orm'
import type { Database } from '../../db/client'

export interface AgentSeed {
  name: string
  description: string
  persona: string
  model: string
  temperature: number
}

export interface PaletteSeed {
  id: string
  name: string
  description: string
  agentNames: string[]
  chair: string
  priceCents: number
}

export const AGENTS: AgentSeed[] = [
  {
    name: 'analyst',
    description: 'Structured, evidence-first reasoning; breaks the question into parts.',
    persona: 'You are the Analyst. You break problems into parts, reason from evidence, and state your assumptions.',
    model: 'offline-small',
    temperature: 0.3,
  },
  {
    name: 'skeptic',
    description: 'Looks for risks, failure modes and weak assumptions.',
    persona: 'You are the Skeptic. You look for what could go wrong, challenge assumptions, and ask for evidence.',
    model: 'offline-small',
    temperature: 0.5,
  },
  {
    name: 'pragmatist',
    description: 'Turns ideas into concrete, reversible next steps.',
    persona: 'You are the Pragmatist. You favour concrete, reversible next steps and plain language.',
    model: 'offline-small',
    temperature: 0.4,
  },
  {
    name: 'chair',
    description: 'Synthesises drafts and reviews into the council’s final answer.',
    persona: 'You are the Chair. You weigh the drafts and reviews fairly and write one clear final answer.',
    model: 'offline-large',
    temperature: 0.2,
  },
  {
    name: 'historian',
    description: 'Brings precedent and analogous cases.',
    persona: 'You are the Historian. You reason from precedent and analogous cases.',
    model: 'offline-large',
    temperature: 0.5,
  },
  {
    name: 'economist',
    description: 'Weighs incentives, costs and trade-offs.',
    persona: 'You are the Economist. You weigh incentives, costs, and second-order effects.',
    model: 'offline-large',
    temperature: 0.4,
  },
]

export const PALETTES: PaletteSeed[] = [
  {
    id: 'default',
    name: 'Core council',
    description: 'Analyst, Skeptic and Pragmatist, chaired by the Chair. Free.',
    agentNames: ['analyst', 'skeptic', 'pragmatist'],
    chair: 'chair',
    priceCents: 0,
  },
  {
    id: 'strategy',
    name: 'Strategy council',
    description: 'Adds the Historian and the Economist to the core council.',
    agentNames: ['analyst', 'skeptic', 'pragmatist', 'historian', 'economist'],
    chair: 'chair',
    priceCents: 900,
  },
]

export async function ensureCatalog(db: Database): Promise<void> {
  const now = new Date()
  const { agents, palettes } = db.t
  const haveAgents = new Set(
    (await db.orm.select({ name: agents.name }).from(agents).where(inArray(agents.name, AGENTS.map((a) => a.name)))).map((r) => r.name),
  )
  const missingAgents = AGENTS.filter((agent) => !haveAgents.has(agent.name))
  if (missingAgents.length > 0)
    await db.orm
      .insert(agents)
      .values(missingAgents.map((agent) => ({ ...agent, createdAt: now, updatedAt: now })))
      .onConflictDoNothing()
  const havePalettes = new Set(
    (await db.orm.select({ id: palettes.id }).from(palettes).where(inArray(palettes.id, PALETTES.map((p) => p.id)))).map((r) => r.id),
  )
  const missingPalettes = PALETTES.filter((palette) => !havePalettes.has(palette.id))
  if (missingPalettes.length > 0)
    await db.orm
      .insert(palettes)
      .values(missingPalettes.map((palette) => ({ ...palette, createdAt: now, updatedAt: now })))
      .onConflictDoNothing()
}
