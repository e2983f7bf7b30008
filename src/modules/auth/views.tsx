/** The login page: the dev login form in development and test, a pointer to single sign-on otherwise. */
import type { Actor } from '../../identity'
import { Layout } from '../../../views/layout'

export function LoginPage({ actor, next, devLogin }: { actor: Actor; next: string; devLogin: boolean }) {
  return (
    <Layout title="Log in" actor={actor} path="/login">
      <h1>Log in</h1>
      {devLogin ? (
        <form method="post" action="/auth/dev-login" class="card" id="login-form">
          <p class="muted small">Development login: any email address signs you in as that user.</p>
          {actor.csrfToken ? <input type="hidden" name="_csrf" value={actor.csrfToken} /> : ''}
          <input type="hidden" name="next" value={next} />
          <div class="field">
            <label for="email">Email</label>
            <input id="email" name="email" type="email" required autocomplete="username" placeholder="you@example.com" />
          </div>
          <button type="submit">Log in</button>
        </form>
      ) : (
        <p class="card">Sign in through your organisation’s single sign-on, then return to this page.</p>
      )}
    </Layout>
  )
}
