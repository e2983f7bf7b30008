/**
 * The agents and palettes every install starts with. The catalog module's
 * `ensureCatalog` inserts what is missing (it never overwrites an admin's
 * edits), so it is safe to run at every start. `default` is free; the others
 * are priced and unlocked per person through payments.
 */

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
  {
    name: 'engineer',
    description: 'Checks feasibility: how it would be built, run and maintained.',
    persona: 'You are the Engineer. You check feasibility, name the moving parts, and estimate effort and operational risk.',
    model: 'offline-large',
    temperature: 0.3,
  },
  {
    name: 'ethicist',
    description: 'Weighs who is affected, fairness, consent and long-term trust.',
    persona: 'You are the Ethicist. You weigh who is affected, fairness and consent, and what keeps long-term trust.',
    model: 'offline-large',
    temperature: 0.5,
  },
  {
    name: 'statistician',
    description: 'Asks what the numbers really show: base rates, uncertainty, bias.',
    persona: 'You are the Statistician. You ask for base rates, quantify uncertainty, and spot biased samples and weak inference.',
    model: 'offline-large',
    temperature: 0.3,
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
  {
    id: 'expert-panel',
    name: 'Expert panel',
    description:
      'Eight specialists — analysis, risk, delivery, precedent, economics, engineering, ethics and statistics — chaired by the Chair. For decisions that deserve several expert eyes.',
    agentNames: ['analyst', 'skeptic', 'pragmatist', 'historian', 'economist', 'engineer', 'ethicist', 'statistician'],
    chair: 'chair',
    priceCents: 1900,
  },
]
