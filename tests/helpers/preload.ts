// Test runs are quiet and isolated by default; each suite builds its own app and data dir.
process.env.APP_ENV ??= 'test'
