// The part of @20minutes/s3rver (a fake S3 server, JavaScript without types) that tests/helpers/s3-server.ts uses.
declare module '@20minutes/s3rver' {
  interface S3rverOptions {
    address?: string
    port?: number
    directory: string
    silent?: boolean
    configureBuckets?: Array<{ name: string }>
  }
  export default class S3rver {
    constructor(options: S3rverOptions)
    run(): Promise<{ address: string; port: number }>
    close(): Promise<void>
  }
}
