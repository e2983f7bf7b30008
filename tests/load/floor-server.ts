/** The floor of the HTTP benchmark: Bun.serve and one raw primary-key SELECT through pg, nothing else. */
import pg from 'pg'

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_SIZE ?? 10) })
const server = Bun.serve({
  port: Number(process.env.PORT ?? 0),
  hostname: '127.0.0.1',
  async fetch(request) {
    const id = new URL(request.url).pathname.split('/').pop()
    const { rows } = await pool.query('select * from sessions where id = $1', [id])
    return rows[0] ? Response.json(rows[0]) : new Response('not found', { status: 404 })
  },
})
console.log(`floor listening on ${server.port}`)
