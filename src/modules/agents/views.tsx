/**
 * /agents: the agents and, for an agent operator (a role in
 * AGENT_ROLE_ALLOWLIST), a form that runs one directly through the agent proxy
 * and answers in place with the job id and a link to its logs.
 */
import type { AgentRow } from '../../../db/schema'
import type { Actor } from '../../identity'
import { Layout } from '../../../views/layout'

const Csrf = ({ actor }: { actor: Actor }) => (actor.csrfToken ? <input type="hidden" name="_csrf" value={actor.csrfToken} /> : '')

export interface AgentRunOutcome {
  jobId?: string
  error?: string
  agent?: string
  input?: string
}

export function AgentRunForm({ actor, agents, outcome = {} }: { actor: Actor; agents: Pick<AgentRow, 'name'>[]; outcome?: AgentRunOutcome }) {
  return (
    <form id="agent-run" method="post" action="/agents/run" hx-post="/agents/run" hx-target="this" hx-swap="outerHTML" class="card">
      <h2>Run an agent</h2>
      <Csrf actor={actor} />
      {outcome.jobId ? (
        <div class="notice ok" role="status" id="agent-job">
          Job <code id="agent-job-id" safe>{outcome.jobId}</code> queued.{' '}
          <a id="agent-job-logs" href={`/jobs/${outcome.jobId}/logs`}>
            Open its logs
          </a>
        </div>
      ) : (
        ''
      )}
      {outcome.error ? (
        <div class="notice error" role="alert" safe>
          {outcome.error}
        </div>
      ) : (
        ''
      )}
      <div class="field">
        <label for="agent-name">Agent</label>
        <select id="agent-name" name="agent">
          {agents.map((agent) => (
            <option value={agent.name} selected={agent.name === outcome.agent} safe>
              {agent.name}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="agent-input">Input</label>
        <textarea id="agent-input" name="input" required class="short" safe>
          {outcome.jobId ? '' : (outcome.input ?? '')}
        </textarea>
      </div>
      <button type="submit">Run</button>
    </form>
  )
}

export function AgentsPage({ actor, agents, outcome }: { actor: Actor; agents: AgentRow[]; outcome?: AgentRunOutcome }) {
  return (
    <Layout title="Agents" actor={actor} path="/agents">
      <h1>Agents</h1>
      {actor.permissions.has('agents:invoke') ? <AgentRunForm actor={actor} agents={agents} outcome={outcome} /> : ''}
      <table class="stack" id="agents-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>What it brings</th>
            <th>Model</th>
          </tr>
        </thead>
        <tbody>
          {agents.map((agent) => (
            <tr>
              <td data-label="Name" safe>
                {agent.name}
              </td>
              <td data-label="Brings" safe>
                {agent.description}
              </td>
              <td data-label="Model">
                <code safe>{agent.model}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Layout>
  )
}
