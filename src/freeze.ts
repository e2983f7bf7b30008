/** Read-only values shared between requests (kept list pages and their answers). */

/**
 * `value` made read-only all the way down, so a caller that would change a
 * value other requests share throws instead of corrupting it.
 * @example
 * cache.set(key, deepFreeze(page))
 */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const inner of Object.values(value)) deepFreeze(inner)
  }
  return value
}
