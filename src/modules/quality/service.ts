/**
 * The council quality panel's figures for a window: reads the stored drafts
 * and reviews of the newest councils in it (stores.stageOutputs.qualitySample)
 * and hands them to the pure report (src/council/quality.ts).
 */
import { qualityReport } from '../../council/quality'
import { unprocessable } from '../../errors'
import type { Stores } from '../../stores'
import type { QualityView } from './model'

const DAY_MS = 86_400_000
/** Councils read per report: enough for steady figures, bounded so the page stays fast on a busy install. */
const MAX_COUNCILS = 2000

export const QUALITY_WINDOWS = ['7d', '30d', '90d'] as const

/** "30d" → 30; anything but 1–365 days is refused in the error shape, naming the field. */
function windowDays(window: string): number {
  const match = /^(\d{1,3})d$/.exec(window.trim())
  const days = match ? Number(match[1]) : Number.NaN
  if (!(days >= 1 && days <= 365))
    throw unprocessable('validation_failed', `Invalid field "window": "${window}" is not a number of days from 1d to 365d (e.g. 7d, 30d, 90d).`, [
      { field: 'window', message: 'must be Nd with N from 1 to 365' },
    ])
  return days
}

/**
 * @example
 * const quality = createQualityService({ stores })
 * const report = await quality.report('30d')
 */
export function createQualityService({ stores, now = () => new Date(), maxCouncils = MAX_COUNCILS }: { stores: Pick<Stores, 'stageOutputs'>; now?: () => Date; maxCouncils?: number }) {
  return {
    async report(window = '30d'): Promise<QualityView> {
      const days = windowDays(window)
      const until = now()
      const since = new Date(until.getTime() - days * DAY_MS)
      const report = qualityReport(await stores.stageOutputs.qualitySample(since, until, maxCouncils))
      return {
        window: `${days}d`,
        since: since.toISOString(),
        until: until.toISOString(),
        max_councils: maxCouncils,
        capped: report.councils >= maxCouncils,
        ...report,
      }
    },
  }
}
