import { startServer } from './helpers/server'
import { readdirSync } from 'node:fs'
const server = await startServer({ env: { UPLOAD_MAX_FILE_BYTES: String(25 * 1024 * 1024) } })
try {
  const boundary = 'XBOUNDARYx'
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="question"\r\n\r\nWhat is in it?\r\n--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="notes.txt"\r\nContent-Type: text/plain\r\n\r\n`
  const total = 5 * 1024 * 1024
  const socket = await Bun.connect({ hostname: '127.0.0.1', port: server.port, socket: { data() {}, close() {}, error() {} } })
  socket.write(`POST /api/v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-User-Id: abort@example.com\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${head.length + total + 100}\r\n\r\n${head}`)
  const chunk = Buffer.alloc(64 * 1024, 'a')
  for (let i = 0; i < 30; i++) { socket.write(chunk); await Bun.sleep(5) }
  await Bun.sleep(200)
  const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(`${dir}/${e.name}`) : [`${dir}/${e.name}`]))
  console.log('during', walk(`${server.dataDir}/objects`))
  socket.end()
  socket.terminate?.()
  await Bun.sleep(500)
  console.log('after', walk(`${server.dataDir}/objects`))
  console.log(server.output().split('\n').filter((l) => l.includes('sessions')).slice(-5).join('\n'))
} finally {
  await server.stop()
}
