/** A bare BullMQ worker that does nothing: the floor the jobs benchmark compares against. */
import { Worker } from 'bullmq'
import IORedis from 'ioredis'

const [queueName, concurrency] = [process.argv[2]!, Number(process.argv[3] ?? 50)]
const connection = new IORedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null })
const worker = new Worker(queueName, async () => undefined, { connection, concurrency })
await worker.waitUntilReady()
console.log('noop worker ready')
process.on('SIGTERM', async () => {
  await worker.close()
  connection.disconnect()
  process.exit(0)
})
