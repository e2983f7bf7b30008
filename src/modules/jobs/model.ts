/** Schemas of the jobs API. */
import { t, type Static } from 'elysia'
import { PageQuery } from '../../pagination'

const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const
export type JobStatus = (typeof JOB_STATUSES)[number]

export const JobView = t.Object({
  id: t.String(),
  kind: t.UnionEnum(['council', 'agent', 'extract']),
  status: t.UnionEnum(JOB_STATUSES),
  stage: t.Nullable(t.String()),
  progress: t.Integer({ minimum: 0, maximum: 100 }),
  session_id: t.Nullable(t.String()),
  request_id: t.Nullable(t.String()),
  role: t.Nullable(t.String()),
  attempts: t.Integer(),
  created_at: t.String({ format: 'date-time' }),
  started_at: t.Nullable(t.String({ format: 'date-time' })),
  finished_at: t.Nullable(t.String({ format: 'date-time' })),
  error: t.Nullable(t.String()),
  output: t.Nullable(t.Record(t.String(), t.Unknown())),
  links: t.Object({ self: t.String(), logs: t.String(), logs_page: t.String() }),
})

/** A job in the admin list (GET /api/admin/jobs): metadata only, never its input, output or logs. */
export const AdminJobView = t.Object({
  id: t.String(),
  kind: t.UnionEnum(['council', 'agent', 'extract']),
  status: t.UnionEnum(JOB_STATUSES),
  stage: t.Nullable(t.String()),
  progress: t.Integer({ minimum: 0, maximum: 100 }),
  user_id: t.String(),
  email: t.Nullable(t.String({ description: "The owner's email" })),
  session_id: t.Nullable(t.String()),
  request_id: t.Nullable(t.String()),
  role: t.Nullable(t.String()),
  attempts: t.Integer(),
  cancel_requested: t.Boolean(),
  created_at: t.String({ format: 'date-time' }),
  started_at: t.Nullable(t.String({ format: 'date-time' })),
  finished_at: t.Nullable(t.String({ format: 'date-time' })),
  heartbeat_at: t.Nullable(t.String({ format: 'date-time' })),
  error: t.Nullable(t.String({ description: 'The first 200 characters of the error' })),
})

/** Statuses the admin list filters by (SPEC §4); several may be given comma-separated. */
export const ADMIN_JOB_FILTERS = ['queued', 'running', 'failed'] as const

export const AdminJobsQuery = t.Object({
  ...PageQuery.properties,
  status: t.Optional(t.String({ maxLength: 40, description: 'queued, running or failed, or several comma-separated; default all three' })),
})

export const RunAccepted = t.Object({ job_id: t.String(), status: t.UnionEnum(JOB_STATUSES) })

export const JobLogLine = t.Object({
  ts: t.String({ format: 'date-time' }),
  level: t.String(),
  msg: t.String(),
  job_id: t.String(),
  request_id: t.Nullable(t.String()),
  stage: t.Nullable(t.String()),
  data: t.Nullable(t.Record(t.String(), t.Unknown())),
})

export const AgentView = t.Object({ name: t.String(), description: t.String(), model: t.String() })
export const AgentRunBody = t.Object({ input: t.String({ minLength: 1, maxLength: 100_000 }) })

export type JobViewType = Static<typeof JobView>
export type AdminJobViewType = Static<typeof AdminJobView>
