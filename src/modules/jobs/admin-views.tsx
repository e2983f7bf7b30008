/**
 * /admin/jobs: everyone's queued, running and failed jobs — metadata only,
 * never a prompt, input or output — filtered by status through htmx, with a
 * cancel button for admins (auditors read only). Ids are shortened with the
 * full id in the tooltip and a copy button; times say their zone.
 */
import type { Actor } from '../../identity'
import { LoadMoreRow } from '../../../views/components/load-more'
import { ShortId } from '../../../views/components/short-id'
import { Time } from '../../../views/components/time'
import { Layout } from '../../../views/layout'
import type { Page } from '../../pagination'
import { ADMIN_JOB_FILTERS, type AdminJobViewType } from './model'

export interface AdminJobsProps {
  actor: Actor
  page: Page<AdminJobViewType>
  /** The statuses shown (every filter when all three). */
  statuses: string[]
  /** How many jobs are in each status, across users. */
  counts: Record<string, number>
  error?: string
  done?: string
}

const query = (statuses: string[], cursor?: string) => {
  const params = new URLSearchParams()
  if (statuses.length > 0 && statuses.length < ADMIN_JOB_FILTERS.length) params.set('status', statuses.join(','))
  if (cursor) params.set('cursor', cursor)
  const text = params.toString()
  return text ? `?${text}` : ''
}

export function AdminJobRows({ actor, page, statuses }: Pick<AdminJobsProps, 'actor' | 'page' | 'statuses'>) {
  const canCancel = actor.permissions.has('jobs:manage')
  return (
    <>
      {page.items.map((job) => (
        <tr data-job-id={job.id} data-status={job.status}>
          <td>
            <ShortId id={job.id} label="job id" />
            <div class="muted small">{job.kind}</div>
          </td>
          <td>
            <span class={`badge ${job.status}`}>
              {job.cancel_requested && job.status === 'running' ? 'cancelling' : job.status}
            </span>
            <div class="muted small" safe>
              {`${job.stage ?? '—'} · ${job.progress} %${job.attempts > 1 ? ` · attempt ${job.attempts}` : ''}`}
            </div>
          </td>
          <td class="owner-cell">
            <span safe>{job.email ?? job.user_id}</span>
            {job.role ? <div class="muted small" safe>{job.role}</div> : ''}
          </td>
          <td class="small nowrap">
            <Time iso={job.created_at} />
            {job.finished_at ? (
              <div class="muted">
                ended <Time iso={job.finished_at} />
              </div>
            ) : job.started_at ? (
              <div class="muted">
                started <Time iso={job.started_at} />
              </div>
            ) : (
              ''
            )}
          </td>
          <td class="small">
            {job.session_id ? (
              <div class="nowrap">
                session <ShortId id={job.session_id} label="session id" />
              </div>
            ) : (
              ''
            )}
            {job.request_id ? (
              <div class="nowrap">
                request <ShortId id={job.request_id} label="request id" href={`/admin/audit?request_id=${encodeURIComponent(job.request_id)}`} />
              </div>
            ) : (
              ''
            )}
            {job.error ? (
              <div class="job-error" safe>
                {job.error}
              </div>
            ) : (
              ''
            )}
          </td>
          {canCancel ? (
            <td>
              {(job.status === 'queued' || job.status === 'running') && !job.cancel_requested ? (
                <form
                  method="post"
                  action={`/admin/jobs/${job.id}/cancel${query(statuses)}`}
                  hx-post={`/admin/jobs/${job.id}/cancel${query(statuses)}`}
                  hx-target="#admin-jobs-panel"
                  hx-swap="outerHTML"
                  hx-confirm={`Cancel ${job.kind} job …${job.id.slice(-8)} of ${job.email ?? job.user_id}?`}
                  class="inline"
                >
                  {actor.csrfToken ? <input type="hidden" name="_csrf" value={actor.csrfToken} /> : ''}
                  <button type="submit" class="link danger-link" aria-label={`Cancel job ${job.id}`}>
                    Cancel
                  </button>
                </form>
              ) : (
                ''
              )}
            </td>
          ) : (
            ''
          )}
        </tr>
      ))}
      <LoadMoreRow id="admin-jobs-more" columns={canCancel ? 6 : 5} href={page.next_cursor ? `/admin/jobs${query(statuses, page.next_cursor)}` : null} />
    </>
  )
}

export function AdminJobsPanel({ actor, page, statuses, counts, error, done }: AdminJobsProps) {
  const all = statuses.length === ADMIN_JOB_FILTERS.length
  const tabs: Array<{ label: string; statuses: string[] }> = [
    { label: `All (${ADMIN_JOB_FILTERS.reduce((sum, status) => sum + (counts[status] ?? 0), 0)})`, statuses: [...ADMIN_JOB_FILTERS] },
    ...ADMIN_JOB_FILTERS.map((status) => ({ label: `${status[0]!.toUpperCase()}${status.slice(1)} (${counts[status] ?? 0})`, statuses: [status] })),
  ]
  return (
    <section id="admin-jobs-panel">
      {error ? (
        <div class="notice error" role="alert" id="admin-jobs-error" safe>
          {error}
        </div>
      ) : (
        ''
      )}
      {done ? (
        <div class="notice ok" role="status" id="admin-jobs-ok" safe>
          {done}
        </div>
      ) : (
        ''
      )}
      <nav class="window-switch" aria-label="Status">
        {tabs.map((tab) => {
          const current = tab.statuses.length === statuses.length && tab.statuses.every((status) => statuses.includes(status))
          return (
            <a
              href={`/admin/jobs${query(tab.statuses)}`}
              hx-get={`/admin/jobs${query(tab.statuses)}`}
              hx-target="#admin-jobs-panel"
              hx-swap="outerHTML"
              hx-push-url="true"
              class={current ? 'button' : 'button secondary'}
              aria-current={current ? 'true' : undefined}
              safe
            >
              {tab.label}
            </a>
          )
        })}
      </nav>
      {page.items.length === 0 ? (
        <p class="muted" id="no-jobs" safe>
          {all ? 'No job is queued, running or failed.' : `No ${statuses.join(' or ')} job.`}
        </p>
      ) : (
        <div class="table-scroll">
          <table id="admin-jobs-table">
            <thead>
              <tr>
                <th>Job</th>
                <th>Status</th>
                <th>Owner</th>
                <th>Created</th>
                <th>Session, request, error</th>
                {actor.permissions.has('jobs:manage') ? <th /> : ''}
              </tr>
            </thead>
            <tbody id="admin-jobs-rows">
              <AdminJobRows actor={actor} page={page} statuses={statuses} />
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}

export function AdminJobsPage(props: AdminJobsProps) {
  return (
    <Layout title="Jobs" actor={props.actor} path="/admin">
      <p>
        <a href="/admin">← Admin</a>
      </p>
      <h1>Jobs</h1>
      <p class="muted small">
        Everyone’s queued, running and failed jobs, newest first: what runs, for whom and where it stands — never its question, input or
        output. {props.actor.permissions.has('jobs:manage') ? 'Cancelling a running job stops it after the call in flight.' : 'Read only.'}
      </p>
      <AdminJobsPanel {...props} />
    </Layout>
  )
}
