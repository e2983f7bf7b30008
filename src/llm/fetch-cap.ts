/**
 * Imported first by the server and the worker entries (before any other of
 * their modules loads): lifts Bun's fetch cap above LLM_MAX_IN_FLIGHT by
 * relaunching the process with BUN_CONFIG_MAX_HTTP_REQUESTS set, see
 * ./in-flight.ts. A bad setting is left for the entry to report.
 */
import { loadConfig } from '../config'
import { relaunchWithFetchCap } from './in-flight'

let maxInFlight: number | null = null
try {
  maxInFlight = loadConfig().llm.maxInFlight
} catch {
  // The entry's own loadConfigOrExit names the variable.
}
if (maxInFlight !== null) relaunchWithFetchCap(maxInFlight)
