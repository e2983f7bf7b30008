/**
 * The roadmap an install starts with: the product's real next steps, so
 * /roadmap is not empty on first start. Seeded only into an empty roadmap
 * (under the ordering lock, so two instances starting together seed once);
 * admins edit or delete them like any other item.
 */
import { newId } from '../../../db/client'
import type { RoadmapItemRow } from '../../../db/schema'
import type { Stores } from '../../stores'
import type { RoadmapStatus } from './model'
import type { Phase } from './store'

interface SeedItem {
  phase: Phase
  status: RoadmapStatus
  title: string
  description: string
}

export const ROADMAP_SEED: readonly SeedItem[] = [
  {
    phase: 'now',
    status: 'shipped',
    title: 'Roadmap, tickets and user docs',
    description:
      'File bugs, feature requests and questions as **tickets**, follow them on this roadmap, and read the user guides under [/docs](/docs). ' +
      'Tickets are private to you until an admin makes them public.',
  },
  {
    phase: 'now',
    status: 'shipped',
    title: 'Documents in a council',
    description:
      'Attach PDF, DOCX, TXT, Markdown or CSV files to a question. The worker extracts their text; agents cite them as `[doc:N p.P]` and ' +
      'the results list every citation. Uploads are opt-in and can be switched off by the operator (`DISABLE_UPLOADS`).',
  },
  {
    phase: 'now',
    status: 'shipped',
    title: 'Palettes unlocked through payments',
    description:
      'Curated agent sets with a chair, free or priced. Priced palettes unlock per person through the payments endpoint; ' +
      'running a council with a locked palette is refused with `palette_locked`.',
  },
  {
    phase: 'now',
    status: 'shipped',
    title: 'Personal access tokens',
    description:
      'Create a token on your profile page and call the JSON API with `Authorization: Bearer <token>`. Tokens are shown once, stored hashed, ' +
      'carry your roles at the time of use, and stop working on the next request after you revoke them.',
  },
  {
    phase: 'now',
    status: 'shipped',
    title: 'Live council progress',
    description:
      'A server-sent event stream per job (stages, members starting and finishing, token counts) that resumes without loss after a reconnect, ' +
      'whichever app instance answers.',
  },
  {
    phase: 'now',
    status: 'shipped',
    title: 'Web search as a source',
    description:
      'Opt-in per question: the council searches once (SearXNG) before drafting and cites results as `[web:N]`. Off unless the operator configures ' +
      'a provider; `DISABLE_WEB_SEARCH` guarantees no request leaves the server.',
  },
  {
    phase: 'now',
    status: 'shipped',
    title: 'Export and erasure of your data',
    description: 'Download all your sessions with their results as one JSON document; admins can export or erase a person’s data on request.',
  },
  {
    phase: 'now',
    status: 'shipped',
    title: 'Audit streaming to a SIEM',
    description: 'Every audit event also sent to your SIEM as JSON lines, retried from an outbox so none is lost while it is down.',
  },
  {
    phase: 'next',
    status: 'in_progress',
    title: 'Status page and incidents',
    description: 'Component status with 24-hour and 90-day uptime, incidents and maintenance windows announced by admins.',
  },
  {
    phase: 'next',
    status: 'in_progress',
    title: 'Council quality report',
    description:
      'For admins: position bias, length bias, self-preference, unparsed reviews and reviewer agreement (Kendall’s W) across recent councils, ' +
      'each with the number of councils behind it.',
  },
  {
    phase: 'later',
    status: 'planned',
    title: 'Teams: shared sessions and team budgets',
    description: 'Share a council’s results with your team, and give a team one budget that its members draw from, with the same 80/95 % notices.',
  },
  {
    phase: 'later',
    status: 'planned',
    title: 'User provisioning with SCIM',
    description: 'Create, update and remove people and their roles from your identity provider, so leavers lose access everywhere at once.',
  },
]

/**
 * Seeds ROADMAP_SEED into an empty roadmap; returns how many items it wrote.
 * @example
 * await ensureRoadmap(stores)
 */
export async function ensureRoadmap(stores: Stores): Promise<number> {
  return stores.transaction(async (tx) => {
    await tx.roadmap.lockOrdering()
    if ((await tx.roadmap.count()) > 0) return 0
    const now = new Date()
    const positions = new Map<Phase, number>()
    for (const item of ROADMAP_SEED) {
      const position = positions.get(item.phase) ?? 0
      positions.set(item.phase, position + 1)
      const row: RoadmapItemRow = { id: newId(), ...item, position, createdBy: null, createdAt: now, updatedBy: null, updatedAt: now }
      await tx.roadmap.insert(row)
    }
    return ROADMAP_SEED.length
  })
}
