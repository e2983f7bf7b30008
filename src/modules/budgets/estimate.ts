/**
 * The worst case of a run, reserved before it is queued: every call uses
 * COUNCIL_MAX_TOKENS in and out, priced from the price table at its model.
 */
import type { Config } from '../../config'
import { modelFor } from '../../llm'
import { costMicroUsd } from '../../llm/pricing'
import type { CatalogStore } from '../catalog/store'
import { sumAmounts, ZERO, type Amounts } from './amounts'

export type Estimate = Amounts & { calls: number }

export interface EstimatorDeps {
  catalog: CatalogStore
  config: Config
}

/**
 * @example
 * const estimate = createEstimator({ catalog: stores.catalog, config })
 * const worst = await estimate.council('default') // { tokens, cost, calls }
 */
export function createEstimator({ catalog, config }: EstimatorDeps) {
  /** One call at most: `maxTokens` in and out, at the model's price. */
  const worstCall = (model: string, maxTokens = config.council.maxTokens): Amounts => ({
    tokens: maxTokens * 2,
    cost: costMicroUsd(config.llm.prices, model, maxTokens, maxTokens),
  })

  const ofModels = (models: string[]): Estimate => ({ ...sumAmounts(models, (model) => worstCall(modelFor(config, model))), calls: models.length })

  return {
    worstCall,

    /** Every member drafts and reviews; the chair synthesises. An unknown palette or agent costs nothing (the run fails on its own). */
    async council(paletteId: string): Promise<Estimate> {
      // The catalog is two small tables: reading them whole is the same two queries as reading the palette and its agents.
      const { agents, palettes } = await catalog.everything()
      const palette = palettes.find((row) => row.id === paletteId)
      if (!palette) return { ...ZERO, calls: 0 }
      const modelOf = new Map(agents.map((agent) => [agent.name, agent.model]))
      const models: string[] = []
      for (const name of palette.agentNames) {
        const model = modelOf.get(name)
        if (model !== undefined) models.push(model, model)
      }
      const chair = modelOf.get(palette.chair)
      if (chair !== undefined) models.push(chair)
      return ofModels(models)
    },

    async agent(name: string): Promise<Estimate> {
      const agent = await catalog.agent(name)
      return ofModels(agent ? [agent.model] : [])
    },
  }
}

export type Estimator = ReturnType<typeof createEstimator>
