/** Chooses the LLM provider from configuration. */
import type { Config } from '../config'
import { createOfflineProvider } from './offline'
import { createOpenAiProvider } from './openai'
import type { LlmProvider } from './types'

export type { LlmProvider } from './types'

export function createLlmProvider(config: Config): LlmProvider {
  if (config.llm.provider === 'openai')
    return createOpenAiProvider({ apiKey: config.llm.openaiApiKey!, baseUrl: config.llm.openaiBaseUrl, maxInFlight: config.llm.maxInFlight })
  return createOfflineProvider({ latencyMs: config.llm.offlineLatencyMs, failures: config.llm.offlineFailures })
}

/** Offline agents name offline models; with a real provider they run on OPENAI_MODEL instead. */
export const modelFor = (config: Config, agentModel: string): string =>
  config.llm.provider === 'openai' && agentModel.startsWith('offline-') ? config.llm.openaiModel : agentModel
