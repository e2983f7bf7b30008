/** The job logs page. */
import type { Actor } from '../../../plugins/auth'
import { Layout } from '../../../views/layout'
import type { Page } from '../../pagination'
import type { JobViewType } from './model'

interface LogLine {
  ts: string
  level: string
  msg: string
  stage: string | null
  request_id: string | null
  data: Record<string, unknown> | null
}

export function JobLogsPage({ actor, job, page }: { actor: Actor; job: JobViewType; page: Page<LogLine> }) {
  return (
    <Layout title="Job logs" actor={actor}>
      {job.session_id ? (
        <p>
          <a href={`/sessions/${job.session_id}`}>← Session</a>
        </p>
      ) : (
        ''
      )}
      <h1>Job logs</h1>
      <p class="muted small">Times are in UTC.</p>
      <p class="card small" id="job-summary">
        <span safe>{`Job ${job.id} · ${job.kind} · `}</span>
        <span class={`badge ${job.status}`} safe>
          {job.status}
        </span>
        <span safe>{` · request ${job.request_id ?? '—'} · role ${job.role ?? '—'}`}</span>
      </p>
      {job.output && typeof job.output.content === 'string' ? (
        <section class="card" id="agent-output">
          <h2>Answer</h2>
          <pre class="log" safe>
            {job.output.content}
          </pre>
        </section>
      ) : (
        ''
      )}
      <div class="table-card">
      <table id="job-logs" class="stack">
        <thead>
          <tr>
            <th>Time (UTC)</th>
            <th>Level</th>
            <th>Stage</th>
            <th>Message</th>
          </tr>
        </thead>
        <tbody>
          {page.items.map((line) => (
            <tr class={`log-line ${line.level}`}>
              <td class="small" data-label="Time (UTC)">
                <time datetime={line.ts} safe>
                  {line.ts.slice(11, 23)}
                </time>
              </td>
              <td data-label="Level" safe>
                {line.level}
              </td>
              <td data-label="Stage" safe>
                {line.stage ?? ''}
              </td>
              <td data-label="Message">
                <span safe>{line.msg}</span>
                {line.data ? (
                  <code class="muted small" safe>
                    {` ${JSON.stringify(line.data)}`}
                  </code>
                ) : (
                  ''
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
      {page.next_cursor ? (
        <p>
          <a href={`/jobs/${job.id}/logs?cursor=${encodeURIComponent(page.next_cursor)}`}>Next page</a>
        </p>
      ) : (
        ''
      )}
    </Layout>
  )
}
