# syntax=docker/dockerfile:1
# Agent Council: one image for the app, the worker and the one-shot migration
# (compose.yaml picks the command). Checked in CI without a Docker engine by
# `bun run lint:containers` (scripts/lib/containers.ts says which rules and why).

# Stage 1: production dependencies only, exactly as bun.lock pins them. Lifecycle
# scripts stay off: the native packages (libsql, msgpackr) ship prebuilt binaries.
FROM oven/bun:1.4.5 AS deps
# patches/: bun checks every patchedDependencies entry at install, dev-only ones included.
WORKDIR /app
COPY package.json bun.lock ./
COPY patches ./patches
RUN bun install --frozen-lockfile --production --ignore-scripts

# Stage 2: the runtime. Bun runs the TypeScript sources directly, so there is no
# build output: the sources, the migrations and the production node_modules.
# Everything is owned by root and read-only to the app; only DATA_DIR is writable.
FROM oven/bun:1.4.5-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data \
    MIGRATE_ON_START=false
COPY --from=deps /app/node_modules ./node_modules
COPY package.json bun.lock tsconfig.json ./
COPY db ./db
COPY plugins ./plugins
COPY src ./src
COPY views ./views
COPY workers ./workers
# The user guides served at /docs.
COPY docs/user ./docs/user
COPY scripts/migrate.ts scripts/healthcheck.ts scripts/backup.ts scripts/verify-backups.ts scripts/restore.ts scripts/retention.ts ./scripts/
# bun run backup / verify-backups / restore. PostgreSQL archives also need pg_dump and pg_restore
# of the server's major version, which this image does not ship (docs/RUNBOOK.md, Backups).
COPY scripts/lib/backup ./scripts/lib/backup
RUN mkdir -p /data && chown bun:bun /data
VOLUME ["/data"]
USER bun
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["bun", "run", "scripts/healthcheck.ts"]
CMD ["bun", "run", "src/server.ts"]
