/** The council engine's port (src/council/store.ts), built from the stores that hold its rows. */
import type { CouncilStore } from '../../council/store'
import type { CatalogStore } from '../catalog/store'
import type { SessionStore } from '../sessions/store'
import type { StageOutputStore } from './store'

/**
 * @example
 * const council = createCouncil({ store: councilStore(stores), llm, config })
 */
export function councilStore(stores: { sessions: SessionStore; stageOutputs: StageOutputStore; catalog: CatalogStore }): CouncilStore {
  return {
    liveSession: (id) => stores.sessions.liveById(id),
    outputs: (runId) => stores.stageOutputs.forRun(runId),
    saveOutput: (row) => stores.stageOutputs.save(row),
    catalog: () => stores.catalog.everything(),
  }
}
