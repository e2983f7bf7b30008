/** The status page's banner: one line that says how things are. */
import type { IncidentViewType } from './model'

const OVERALL_LABELS: Record<string, string> = {
  ok: 'All systems operational',
  degraded: 'Some systems are degraded',
  fail: 'Some systems are down',
  unknown: 'No recent probe data',
}

const IMPACT_RANK: Record<string, number> = { none: 0, minor: 1, major: 2, critical: 3 }
const HEALTH_RANK: Record<string, number> = { ok: 0, unknown: 0, degraded: 1, fail: 2 }

/**
 * The banner: the probes' verdict, unless a person has said worse. An open major or
 * critical incident outranks green probes (the probes cannot see, say, councils
 * starting late), a minor one reads as degraded, and maintenance under way is named.
 */
export function overallHeadline(probed: string, open: IncidentViewType[], maintenance: boolean): { health: string; text: string } {
  const worst = open.reduce((rank, incident) => Math.max(rank, IMPACT_RANK[incident.impact] ?? 0), 0)
  const declared = worst >= 2 ? 'fail' : worst === 1 ? 'degraded' : null
  if (declared && HEALTH_RANK[declared]! >= (HEALTH_RANK[probed] ?? 0))
    return { health: declared, text: worst >= 2 ? `${worst === 3 ? 'Critical' : 'Major'} incident in progress` : 'Minor incident in progress' }
  if (probed === 'ok' && maintenance) return { health: 'degraded', text: 'Maintenance in progress' }
  return { health: probed, text: OVERALL_LABELS[probed] ?? probed }
}
