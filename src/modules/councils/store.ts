/**
 * How council stage outputs are kept: one row per (run, stage, agent), written
 * as each LLM call returns. The contract suite is
 * tests/unit/stores/stage-output-store.test.ts.
 */
import type { StageOutputRow } from '../../../db/schema'
import type { QualityOutput } from '../../council/quality'
import type { NewStageOutput } from '../../council/store'

export interface StageOutputStore {
  /** Every output of a run, ordered by agent. */
  forRun(runId: string): Promise<StageOutputRow[]>
  /**
   * Stores an output and returns the row as stored: a finished row is never
   * replaced, a failed one is replaced by a later success (also when both
   * arrive at once).
   */
  save(row: NewStageOutput): Promise<StageOutputRow>
  /** Removes every output of a run (a hard delete of its session); says how many went. */
  removeForRun(runId: string): Promise<number>
  /**
   * The successful drafts (with their length in characters) and reviews (with
   * their data) of the newest `maxCouncils` councils whose aggregate stage was
   * stored in [since, until): what the quality panel reads (src/council/quality.ts).
   */
  qualitySample(since: Date, until: Date, maxCouncils: number): Promise<QualityOutput[]>
}
