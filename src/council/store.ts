/**
 * What the council engine reads and writes, declared here because src/council
 * imports no module: src/modules/councils/service.ts builds it from the
 * session, stage-output and catalog stores (contract suites:
 * tests/unit/stores/{session,stage-output,catalog}-store.test.ts).
 */
import type { AgentRow, PaletteRow, SessionRow, StageOutputRow } from '../../db/schema'
import type { ExtractedPage } from '../documents'

/** A stage output before it is stored: the store gives it its id and time. */
export type NewStageOutput = Omit<StageOutputRow, 'id' | 'createdAt'>

/** A session's document as the council sees it while it waits for documents to be read. */
export interface CouncilDocument {
  id: string
  filename: string
  status: 'pending' | 'extracting' | 'extracted' | 'failed'
  error: string | null
  /** Its extraction job ended without reading it (cancelled, given up on): waiting longer cannot help. */
  stalled: boolean
}

export interface CouncilStore {
  /** The session, unless it is missing or soft-deleted. */
  liveSession(id: string): Promise<SessionRow | undefined>
  /** Every stored output of a run (a session's council, or an agent job), ordered by agent. */
  outputs(runId: string): Promise<StageOutputRow[]>
  /**
   * Stores one call's output under (run, stage, agent) and returns the row as
   * stored: a finished row is never replaced, a failed one is replaced by a later
   * success, so a retried job never duplicates or loses a finished call.
   */
  saveOutput(row: NewStageOutput): Promise<StageOutputRow>
  /** The session's live documents, in upload order (src/modules/documents). */
  documents(sessionId: string): Promise<CouncilDocument[]>
  /** Every page of an extracted document's stored text. */
  documentPages(documentId: string): Promise<ExtractedPage[]>
  /** Every agent and palette (the engine caches them for a few seconds). */
  catalog(): Promise<{ agents: AgentRow[]; palettes: PaletteRow[] }>
}
