/** Cost of a call from the price table in config (USD per 1,000 tokens), in micro-dollars. */
import type { PriceTable } from '../config'

export function costMicroUsd(prices: PriceTable, model: string, tokensIn: number, tokensOut: number): number {
  const price = prices[model] ?? prices.default ?? { input: 0, output: 0 }
  return Math.round(((tokensIn * price.input + tokensOut * price.output) / 1000) * 1_000_000)
}
