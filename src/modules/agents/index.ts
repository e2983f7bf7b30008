/**
 * The agent proxy: list agents, and run one directly. Running needs
 * `agents:invoke`, which only roles in AGENT_ROLE_ALLOWLIST hold; the caller's
 * role is stored on the job and in the audit event.
 */
import { Elysia, t } from 'elysia'
import type { QuotaPlugin } from '../../../plugins/quota'
import type { rbac } from '../../../plugins/rbac'
import { AppError } from '../../errors'
import { pageOf, pageParams, PageQuery, toPage } from '../../pagination'
import { AgentRunBody, AgentView, RunAccepted } from '../jobs/model'
import type { CatalogStore } from '../catalog/store'
import type { JobsService } from '../jobs/service'
import { AgentRunForm, AgentsPage } from './views'

const isHtmx = (request: Request) => request.headers.get('hx-request') === 'true'
/** The page form sends strings; the service checks them, so a refusal is shown beside the form. */
const AgentRunFormBody = t.Object({ agent: t.String({ maxLength: 64 }), input: t.String({ maxLength: 100_000 }), _csrf: t.Optional(t.String()) })

/** Agent names are the cursor here (they are the key); the helper's id check does not apply. */
const NameCursor = t.Object({ limit: PageQuery.properties.limit, cursor: t.Optional(t.String({ maxLength: 64 })) })

export const agentsModule = ({
  catalog,
  jobs,
  guard,
  quota,
}: {
  catalog: CatalogStore
  jobs: JobsService
  guard: ReturnType<typeof rbac>
  quota: QuotaPlugin
}) =>
  new Elysia({ name: 'module/agents' })
    .use(guard)
    .use(quota)
    .group('/api/v1/agents', { detail: { tags: ['agents'] } }, (api) =>
      api
        .get(
          '',
          async ({ query }) => {
            const { limit } = pageParams({ limit: query.limit })
            const after = query.cursor ? Buffer.from(query.cursor, 'base64url').toString() : null
            const rows = await catalog.agentsPage(after, limit + 1)
            return toPage(
              rows.map((row) => ({ ...row, id: row.name })),
              { limit, after },
              (row) => ({ name: row.name, description: row.description, model: row.model }),
            )
          },
          { permission: 'agents:list', query: NameCursor, response: pageOf(AgentView), detail: { summary: 'Agents' } },
        )
        .post(
          '/:name/run',
          async ({ actor, params, body, headers, meta, set }) => {
            const { job } = await jobs.runAgent(actor, params.name, body.input, headers['idempotency-key'], meta)
            set.status = 202
            set.headers.location = `/api/v1/jobs/${job.id}`
            return { job_id: job.id, status: job.status as 'queued' }
          },
          {
            permission: 'agents:invoke',
            quota: 'agent-call',
            params: t.Object({ name: t.String({ maxLength: 64 }) }),
            headers: t.Object({ 'idempotency-key': t.Optional(t.String()) }),
            body: AgentRunBody,
            response: { 202: RunAccepted },
            detail: { summary: 'Run one agent directly (roles in AGENT_ROLE_ALLOWLIST only)' },
          },
        ),
    )
    .get('/agents', async ({ actor }) => AgentsPage({ actor, agents: (await catalog.everything()).agents.sort((a, b) => a.name.localeCompare(b.name)) }), {
      permission: 'agents:list',
      detail: { hide: true },
    })
    .post(
      '/agents/run',
      async ({ actor, body, meta, request, set }) => {
        const agents = (await catalog.everything()).agents.sort((a, b) => a.name.localeCompare(b.name))
        const render = (outcome: Parameters<typeof AgentRunForm>[0]['outcome']) =>
          isHtmx(request) ? AgentRunForm({ actor, agents, outcome }) : AgentsPage({ actor, agents, outcome })
        try {
          if (!body.input.trim()) throw new AppError(422, 'input_required', 'Write the input for the agent.')
          const { job } = await jobs.runAgent(actor, body.agent, body.input, undefined, meta)
          set.status = 202
          return render({ jobId: job.id, agent: body.agent })
        } catch (error) {
          if (!(error instanceof AppError) || ![404, 422, 429].includes(error.status)) throw error
          set.status = error.status
          return render({ error: error.message, agent: body.agent, input: body.input })
        }
      },
      { permission: 'agents:invoke', quota: 'agent-call', body: AgentRunFormBody, detail: { hide: true } },
    )
