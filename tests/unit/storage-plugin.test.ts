// The storage plugin's own test sits beside it (plugins/storage/index.test.ts); `bun run test`
// runs suites by directory and has no plugins step yet, so the unit step runs it from here.
import '../../plugins/storage/index.test'
