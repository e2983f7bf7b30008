/**
 * LIKE patterns built from what a person typed: their `%`, `_` and `\` match
 * themselves. Pair the pattern with `escape '\'` in the statement.
 */

/** LIKE's own wildcards (and its escape character) taken literally. */
const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`)

/**
 * A pattern matching `text` anywhere, case-insensitively against a lower()ed column.
 * @example
 * sql`lower(${users.email}) like ${containsPattern('Ann_')} escape '\\'`
 */
export const containsPattern = (text: string) => `%${escapeLike(text.toLowerCase())}%`
