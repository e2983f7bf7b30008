/**
 * Looking a request-supplied name up in a table. A plain object literal
 * inherits `constructor`, `toString`, `__proto__` and friends from
 * Object.prototype, so `TABLE[name]` with `name` from a URL, a header or a
 * token's claims can hand back a function or the prototype itself (issue 14,
 * findings 3 and 4). Every such lookup goes through `own`: a table's own
 * entries only, whatever the table is.
 */

/**
 * The table's own entry for `key`, or undefined.
 * @example
 * own({ 'app.css': 'text/css' }, 'constructor') // undefined, not Object
 */
export const own = <T>(table: Readonly<Record<string, T>>, key: string): T | undefined =>
  Object.hasOwn(table, key) ? table[key] : undefined
