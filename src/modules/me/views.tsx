/** The /me page: who you are (roles and what they allow) and your personal access tokens. */
import type { Actor } from '../../identity'
import { Layout } from '../../../views/layout'
import { TokensPanel, type TokensPanelProps } from '../tokens/views'

export function MePage({ actor, tokens }: { actor: Actor; tokens: Omit<TokensPanelProps, 'actor'> | null }) {
  return (
    <Layout title="Your account" actor={actor} path="/me">
      <h1>Your account</h1>
      <section class="card" id="identity" aria-labelledby="identity-heading">
        <h2 id="identity-heading">Who you are</h2>
        <dl class="pairs">
          <dt>Email</dt>
          <dd safe>{actor.email}</dd>
          <dt>Roles</dt>
          <dd>
            {actor.roles.map((role) => (
              <code class="chip" safe>
                {role}
              </code>
            ))}
          </dd>
        </dl>
        <details>
          <summary>What your roles allow</summary>
          <p class="chips">
            {[...actor.permissions].sort().map((permission) => (
              <code class="chip">{permission}</code>
            ))}
          </p>
        </details>
      </section>
      {tokens ? <TokensPanel actor={actor} {...tokens} /> : ''}
      <section class="card" id="your-data" aria-labelledby="your-data-heading">
        <h2 id="your-data-heading">Your data</h2>
        <p>
          Download everything the council keeps about you — your sessions with their drafts, reviews, leaderboard and
          synthesis, your documents’ details, tickets, tokens and payments — as one JSON file.
        </p>
        <p>
          <a class="button" href="/api/v1/me/export" download="">
            Export my data
          </a>
        </p>
      </section>
    </Layout>
  )
}
