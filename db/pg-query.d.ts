// pg ships no types for its internal Query class; db/pg-batching.ts wraps one method of it.
declare module 'pg/lib/query' {
  const Query: unknown
  export default Query
}
