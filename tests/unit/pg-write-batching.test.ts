/**
 * PG_WRITE_BATCHING wraps internals of pg's Connection. These tests fail loudly
 * when a pg upgrade changes them: the shape check, and on a real PostgreSQL
 * connection, that a parameterised query leaves in one socket write with the
 * wrapping and in several without it — while returning the same rows.
 */
import { describe, expect, test } from 'bun:test'
import pg from 'pg'
import { assertBatchableConnection, batchConnectionWrites } from '../../db/pg/write-batching'
import { PG_URL } from '../helpers/databases'

/** Connects a client, optionally batched, and counts the socket writes of one parameterised query. */
async function writesOfOneQuery(batched: boolean) {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  const connection = (client as unknown as { connection: { stream: { write: (...args: unknown[]) => boolean } } }).connection
  if (batched) batchConnectionWrites(connection)
  const write = connection.stream.write.bind(connection.stream)
  let writes = 0
  connection.stream.write = (...args: unknown[]) => {
    writes++
    return write(...args)
  }
  try {
    const result = await client.query('select $1::int + 1 as n, $2::text as t', [41, 'x'])
    const named = await client.query({ name: 'batching_named', text: 'select $1::int as n', values: [7] })
    const again = await client.query({ name: 'batching_named', text: 'select $1::int as n', values: [8] })
    return { writes, rows: [result.rows, named.rows, again.rows] }
  } finally {
    await client.end()
  }
}

describe('PG_WRITE_BATCHING (db/pg/write-batching.ts)', () => {
  test("pg's Connection still has the methods and stream the batching wraps", () => {
    const Connection = (pg as unknown as { Connection: new () => unknown }).Connection
    expect(() => assertBatchableConnection(new Connection())).not.toThrow()
  })

  test('a connection of another shape is refused with a message naming what is missing and what to do', () => {
    expect(() => assertBatchableConnection({ _send() {}, stream: {} })).toThrow(/no longer has parse, bind.*stream\.write.*Turn PG_WRITE_BATCHING off/)
  })

  test('with batching, each query goes out in one write and returns the same rows as without', async () => {
    const plain = await writesOfOneQuery(false)
    const batched = await writesOfOneQuery(true)
    expect(batched.rows).toEqual(plain.rows)
    expect(batched.rows[0]).toEqual([{ n: 42, t: 'x' }])
    // Three queries: one write each when batched; pg's own path writes every message apart under Bun.
    expect(batched.writes).toBe(3)
    expect(plain.writes).toBeGreaterThan(batched.writes)
  })

  test('a query whose parameters cannot be sent fails alone and the connection stays usable', async () => {
    const client = new pg.Client({ connectionString: PG_URL })
    await client.connect()
    batchConnectionWrites((client as unknown as { connection: unknown }).connection)
    try {
      const circular: Record<string, unknown> = {}
      circular.self = circular
      await expect(client.query('select $1::jsonb as j', [circular])).rejects.toThrow()
      expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }])
    } finally {
      await client.end()
    }
  })
})
