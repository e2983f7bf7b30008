/**
 * The status page (/status, every signed-in person) and the incidents admin
 * (/admin/incidents). Each component has a 90-day bar drawn as server-side SVG
 * (one rect per UTC day, each with its own <title>, the whole with a role="img"
 * label) and the same figures as a table behind a disclosure, so a screen
 * reader or a text browser gets them too. Times are UTC, and say so.
 */
import type { Actor } from '../../../plugins/auth'
import { Time } from '../../../views/components/time'
import { Layout } from '../../../views/layout'
import { overallHeadline } from './headline'
import { COMPONENT_LABELS, COMPONENTS, IMPACTS, KINDS, STATES, type IncidentViewType, type StatusViewType } from './model'

type ComponentView = StatusViewType['components'][number]

const HEALTH_LABELS: Record<string, string> = { ok: 'Operational', degraded: 'Degraded', fail: 'Outage', unknown: 'No recent data' }
const STATE_LABELS: Record<string, string> = {
  investigating: 'Investigating',
  identified: 'Identified',
  monitoring: 'Monitoring',
  resolved: 'Resolved',
  scheduled: 'Scheduled',
  in_progress: 'In progress',
  completed: 'Completed',
}
const IMPACT_LABELS: Record<string, string> = { none: 'No impact', minor: 'Minor', major: 'Major', critical: 'Critical' }
const KIND_LABELS: Record<string, string> = { incident: 'Incident', maintenance: 'Maintenance' }

const formatPercent = (value: number | null) => (value === null ? '—' : `${value.toFixed(value === 100 ? 0 : 2)}\u00a0%`)

/** The bar colour of a day: no data, full, small loss, large loss. */
const dayClass = (uptime: number | null) => (uptime === null ? 'day-none' : uptime >= 99.9 ? 'day-up' : uptime >= 95 ? 'day-partial' : 'day-down')

function UptimeBar({ component }: { component: ComponentView }) {
  const id = `bar-${component.name}`
  const label = `${component.label}: uptime per day over the last 90 days, ${formatPercent(component.uptime_90d)} overall`
  return (
    <svg class="uptime-bar" viewBox="0 0 450 32" preserveAspectRatio="none" role="img" aria-labelledby={`${id}-title`} focusable="false">
      <title id={`${id}-title`} safe>
        {label}
      </title>
      {component.days.map((day, i) => (
        <rect x={String(i * 5)} y="0" width="4" height="32" rx="1" class={dayClass(day.uptime)}>
          <title safe>{`${day.date}: ${day.uptime === null ? 'no data' : `${formatPercent(day.uptime)} up`}`}</title>
        </rect>
      ))}
    </svg>
  )
}

function ComponentRow({ component }: { component: ComponentView }) {
  const measured = component.days.filter((day) => day.uptime !== null)
  return (
    <li class="component" data-component={component.name} data-status={component.status}>
      <div class="component-head">
        <h3 safe>{component.label}</h3>
        <span class={`badge health-${component.status}`} safe>
          {HEALTH_LABELS[component.status] ?? component.status}
        </span>
      </div>
      <UptimeBar component={component} />
      <div class="bar-legend small muted">
        <span>90 days ago</span>
        <span safe>{`24 h: ${formatPercent(component.uptime_24h)} · 90 days: ${formatPercent(component.uptime_90d)}`}</span>
        <span>Today</span>
      </div>
      <details class="small">
        <summary>Daily figures</summary>
        {measured.length === 0 ? (
          <p class="muted">No samples yet.</p>
        ) : (
          <table class="uptime-table">
            <caption class="visually-hidden" safe>{`${component.label}: uptime per UTC day`}</caption>
            <thead>
              <tr>
                <th scope="col">Day (UTC)</th>
                <th scope="col" class="num">
                  Uptime
                </th>
              </tr>
            </thead>
            <tbody>
              {measured
                .slice()
                .reverse()
                .map((day) => (
                  <tr>
                    <td safe>{day.date}</td>
                    <td class="num" safe>
                      {formatPercent(day.uptime)}
                    </td>
                  </tr>
                ))}
            </tbody>
          </table>
        )}
      </details>
    </li>
  )
}

function IncidentCard({ incident }: { incident: IncidentViewType }) {
  return (
    <article class={`card incident kind-${incident.kind}`} data-incident={incident.id} data-status={incident.status}>
      <div class="incident-head">
        <h3 safe>{incident.title}</h3>
        <span class={`badge state-${incident.status}`} safe>
          {STATE_LABELS[incident.status] ?? incident.status}
        </span>
        <span class={`badge impact-${incident.impact}`} safe>
          {IMPACT_LABELS[incident.impact] ?? incident.impact}
        </span>
      </div>
      <p class="small muted">
        {incident.kind === 'maintenance' ? 'Window: ' : 'Started '}
        <Time iso={incident.starts_at} />
        {incident.ends_at ? (
          <>
            {' until '}
            <Time iso={incident.ends_at} />
          </>
        ) : (
          ''
        )}
        {incident.components.length > 0 ? (
          <span safe>{` · Affects ${incident.components.map((name) => COMPONENT_LABELS[name as keyof typeof COMPONENT_LABELS] ?? name).join(', ')}`}</span>
        ) : (
          ''
        )}
      </p>
      <ol class="updates">
        {incident.updates
          .slice()
          .reverse()
          .map((update) => (
            <li>
              <strong safe>{STATE_LABELS[update.status] ?? update.status}</strong> <span class="small muted">—</span> <Time iso={update.at} />
              <p safe>{update.message}</p>
            </li>
          ))}
      </ol>
    </article>
  )
}

export function StatusPage({ actor, report, now }: { actor: Actor; report: StatusViewType; now: Date }) {
  const upcoming = report.maintenance.filter((window) => new Date(window.starts_at) > now)
  const ongoing = report.maintenance.filter((window) => new Date(window.starts_at) <= now)
  const open = report.incidents.filter((incident) => incident.resolved_at === null)
  const recent = report.incidents.filter((incident) => incident.resolved_at !== null)
  const headline = overallHeadline(report.status, open, ongoing.length > 0)
  return (
    <Layout title="Status" actor={actor} path="/status">
      <link rel="stylesheet" href="/assets/status.css" />
      <h1>Status</h1>
      <div class={`card overall health-${headline.health}`} role="status" id="status-overall">
        <p class="overall-line">
          <span class={`dot health-${headline.health}`} aria-hidden="true"></span>
          <strong safe>{headline.text}</strong>
        </p>
        {open.length + ongoing.length > 0 ? (
          <p>
            <a href="#now-heading" safe>
              {`${open.length + ongoing.length} ${open.length + ongoing.length === 1 ? 'incident or maintenance window' : 'incidents or maintenance windows'} in progress`}
            </a>
          </p>
        ) : (
          ''
        )}
        <p class="small muted">
          {report.checked_at ? (
            <>
              Last checked <Time iso={report.checked_at} />. Components are probed every minute; times are shown in UTC (or your own time zone, named,
              when scripts run).
            </>
          ) : (
            'No probe has run yet. Components are probed every minute.'
          )}
        </p>
      </div>
      {open.length > 0 || ongoing.length > 0 ? (
        <section aria-labelledby="now-heading">
          <h2 id="now-heading">Happening now</h2>
          {[...open, ...ongoing].map((incident) => (
            <IncidentCard incident={incident} />
          ))}
        </section>
      ) : (
        ''
      )}
      {upcoming.length > 0 ? (
        <section aria-labelledby="upcoming-heading">
          <h2 id="upcoming-heading">Scheduled maintenance</h2>
          {upcoming.map((incident) => (
            <IncidentCard incident={incident} />
          ))}
        </section>
      ) : (
        ''
      )}
      <section class="card" aria-labelledby="components-heading">
        <h2 id="components-heading">Components</h2>
        <div class="bar-key small muted" aria-hidden="true">
          <span>
            <i class="key day-up"></i> 99.9 % or more
          </span>
          <span>
            <i class="key day-partial"></i> 95–99.9 %
          </span>
          <span>
            <i class="key day-down"></i> below 95 %
          </span>
          <span>
            <i class="key day-none"></i> no data
          </span>
        </div>
        <ul class="components">
          {report.components.map((component) => (
            <ComponentRow component={component} />
          ))}
        </ul>
      </section>
      <section aria-labelledby="recent-heading">
        <h2 id="recent-heading">Past 7 days</h2>
        {recent.length === 0 ? (
          <p class="muted">No incidents resolved in the past 7 days.</p>
        ) : (
          recent.map((incident) => <IncidentCard incident={incident} />)
        )}
      </section>
    </Layout>
  )
}

/** What an admin typed into a form, kept after a refusal. `id` names the incident of an update form. */
export interface IncidentDraft {
  id?: string
  title?: string
  kind?: string
  impact?: string
  components?: string[]
  starts_at?: string
  ends_at?: string
  status?: string
  message?: string
}

export interface IncidentsPanelProps {
  actor: Actor
  items: IncidentViewType[]
  nextCursor: string | null
  error?: string
  done?: string
  draft?: IncidentDraft
}

const Csrf = ({ actor }: { actor: Actor }) => (actor.csrfToken ? <input type="hidden" name="_csrf" value={actor.csrfToken} /> : '')

/** An ISO instant as a datetime-local value, in UTC (the forms say so). */
const localValue = (iso: string | null | undefined) => (iso ? iso.slice(0, 16) : '')

function Options({ values, labels, selected }: { values: readonly string[]; labels: Record<string, string>; selected?: string }) {
  return (
    <>
      {values.map((value) => (
        <option value={value} selected={value === selected} safe>
          {labels[value] ?? value}
        </option>
      ))}
    </>
  )
}

function NewIncidentForm({ actor, draft }: { actor: Actor; draft: IncidentDraft }) {
  const kind = draft.kind === 'maintenance' ? 'maintenance' : 'incident'
  return (
    <form method="post" action="/admin/incidents" hx-post="/admin/incidents" hx-target="#incidents-panel" hx-swap="outerHTML" id="incident-new-form">
      <Csrf actor={actor} />
      <div class="field">
        <label for="new-title">Title</label>
        <input id="new-title" name="title" type="text" required maxlength="200" value={draft.title ?? ''} />
      </div>
      <div class="field-row">
        <div class="field">
          <label for="new-kind">Kind</label>
          <select id="new-kind" name="kind">
            <Options values={KINDS} labels={KIND_LABELS} selected={kind} />
          </select>
        </div>
        <div class="field">
          <label for="new-impact">Impact</label>
          <select id="new-impact" name="impact">
            <Options values={IMPACTS} labels={IMPACT_LABELS} selected={draft.impact ?? 'minor'} />
          </select>
        </div>
        <div class="field">
          <label for="new-status">State</label>
          <select id="new-status" name="status">
            <option value="">First state of its kind</option>
            <Options values={[...STATES.incident, ...STATES.maintenance]} labels={STATE_LABELS} selected={draft.status} />
          </select>
        </div>
      </div>
      <fieldset class="field components-field">
        <legend>Components affected</legend>
        {COMPONENTS.map((name) => (
          <label class="inline">
            <input type="checkbox" name="components" value={name} checked={draft.components?.includes(name)} /> <span safe>{COMPONENT_LABELS[name]}</span>
          </label>
        ))}
      </fieldset>
      <div class="field-row">
        <div class="field">
          <label for="new-starts">Starts (UTC)</label>
          <input id="new-starts" name="starts_at" type="datetime-local" value={draft.starts_at ?? ''} />
          <p class="field-help small muted">Empty: now. A maintenance window in the future is announced until it starts.</p>
        </div>
        <div class="field">
          <label for="new-ends">Expected end (UTC)</label>
          <input id="new-ends" name="ends_at" type="datetime-local" value={draft.ends_at ?? ''} />
        </div>
      </div>
      <div class="field">
        <label for="new-message">First update</label>
        <textarea id="new-message" name="message" required maxlength="5000" safe>
          {draft.message ?? ''}
        </textarea>
      </div>
      <button type="submit">Post</button>
    </form>
  )
}

function UpdateForm({ actor, incident, draft }: { actor: Actor; incident: IncidentViewType; draft?: IncidentDraft }) {
  const states = STATES[incident.kind]
  const next = states.slice(states.indexOf(incident.status))
  const prefix = `update-${incident.id}`
  return (
    <form
      method="post"
      action={`/admin/incidents/${incident.id}`}
      hx-post={`/admin/incidents/${incident.id}`}
      hx-target="#incidents-panel"
      hx-swap="outerHTML"
      class="update-form"
    >
      <Csrf actor={actor} />
      <div class="field-row">
        <div class="field">
          <label for={`${prefix}-status`}>State</label>
          <select id={`${prefix}-status`} name="status">
            <Options values={next} labels={STATE_LABELS} selected={draft?.status ?? incident.status} />
          </select>
        </div>
        <div class="field">
          <label for={`${prefix}-ends`}>Expected end (UTC)</label>
          <input id={`${prefix}-ends`} name="ends_at" type="datetime-local" value={draft?.ends_at ?? localValue(incident.ends_at)} />
        </div>
      </div>
      <div class="field">
        <label for={`${prefix}-message`}>Update</label>
        <textarea id={`${prefix}-message`} name="message" maxlength="5000" class="short" safe>
          {draft?.message ?? ''}
        </textarea>
      </div>
      <button type="submit">Post update</button>
    </form>
  )
}

export function IncidentsPanel({ actor, items, nextCursor, error, done, draft }: IncidentsPanelProps) {
  const creating = draft && !draft.id
  return (
    <section id="incidents-panel" aria-live="polite">
      {error ? (
        <div class="notice error" role="alert" id="incidents-error" safe>
          {error}
        </div>
      ) : (
        ''
      )}
      {done ? (
        <div class="notice ok" role="status" id="incidents-ok" safe>
          {done}
        </div>
      ) : (
        ''
      )}
      <details class="card" id="incident-new" open={creating || items.length === 0}>
        <summary>Post an incident or a maintenance window</summary>
        <NewIncidentForm actor={actor} draft={creating ? draft : {}} />
      </details>
      {items.length === 0 ? <p class="muted">Nothing posted yet.</p> : ''}
      {items.map((incident) => {
        const final = STATES[incident.kind].at(-1) === incident.status
        return (
          <div class="incident-admin">
            <IncidentCard incident={incident} />
            {final ? (
              ''
            ) : (
              <details class="card update-card" open={draft?.id === incident.id}>
                <summary safe>{`Update “${incident.title}”`}</summary>
                <UpdateForm actor={actor} incident={incident} draft={draft?.id === incident.id ? draft : undefined} />
              </details>
            )}
          </div>
        )
      })}
      {nextCursor ? (
        <p>
          <a href={`/admin/incidents?cursor=${encodeURIComponent(nextCursor)}`}>Older</a>
        </p>
      ) : (
        ''
      )}
    </section>
  )
}

export function IncidentsPage(props: IncidentsPanelProps) {
  return (
    <Layout title="Incidents" actor={props.actor} path="/admin/incidents">
      <link rel="stylesheet" href="/assets/status.css" />
      <p class="small">
        <a href="/admin">Admin</a> › Incidents
      </p>
      <h1>Incidents and maintenance</h1>
      <p class="muted">
        What you post here shows on the <a href="/status">status page</a> for everyone signed in.{' '}
        <span safe>{`Incidents move ${STATES.incident.map((s) => STATE_LABELS[s]).join(' → ')}; maintenance ${STATES.maintenance.map((s) => STATE_LABELS[s]).join(' → ')}.`}</span> Every update is
        timestamped and audited. Times are UTC.
      </p>
      <IncidentsPanel {...props} />
    </Layout>
  )
}
