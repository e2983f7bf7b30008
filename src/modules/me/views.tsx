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
    </Layout>
  )
}
