/** The council engine's port (src/council/store.ts), built from the stores that hold its rows and the object storage. */
import type { ObjectStorage } from '../../../plugins/storage'
import type { CouncilDocument, CouncilStore } from '../../council/store'
import type { CatalogStore } from '../catalog/store'
import { readPages } from '../documents/pages'
import type { DocumentStore } from '../documents/store'
import type { JobStore } from '../jobs/store'
import type { SessionStore } from '../sessions/store'
import type { StageOutputStore } from './store'

const FINISHED = new Set(['succeeded', 'failed', 'cancelled'])

/**
 * @example
 * const council = createCouncil({ store: councilStore(stores, storage), llm, config })
 */
export function councilStore(
  stores: { sessions: SessionStore; stageOutputs: StageOutputStore; catalog: CatalogStore; documents: DocumentStore; jobs: JobStore },
  storage: ObjectStorage,
): CouncilStore {
  return {
    liveSession: (id) => stores.sessions.liveById(id),
    outputs: (runId) => stores.stageOutputs.forRun(runId),
    saveOutput: (row) => stores.stageOutputs.save(row),
    async documents(sessionId) {
      const rows = await stores.documents.forSession(sessionId)
      return Promise.all(
        rows.map(async (row): Promise<CouncilDocument> => {
          const reading = row.status === 'pending' || row.status === 'extracting'
          const job = reading && row.jobId ? await stores.jobs.find(row.jobId) : undefined
          return {
            id: row.id,
            filename: row.filename,
            status: row.status as CouncilDocument['status'],
            error: row.error,
            stalled: reading && (!row.jobId || !job || FINISHED.has(job.status)),
          }
        }),
      )
    },
    async documentPages(documentId) {
      const row = await stores.documents.find(documentId)
      return row ? readPages(storage, row) : []
    },
    catalog: () => stores.catalog.everything(),
  }
}
