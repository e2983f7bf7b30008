/** The login page: the dev login form in development and test, a pointer to single sign-on otherwise. */
import type { Actor } from '../../identity'
import { Layout } from '../../../views/layout'

export function LoginPage({ actor, next, devLogin }: { actor: Actor; next: string; devLogin: boolean }) {
  const signedIn = actor.via !== 'anonymous'
  return (
    <Layout title="Log in" actor={actor} path="/login">
      <h1>{signedIn ? 'You are signed in' : 'Log in'}</h1>
      {signedIn ? (
        <section class="card" id="signed-in">
          <p>
            Signed in as <strong safe>{actor.email}</strong>
            <span class="muted" safe>{` (${actor.roles.join(', ')})`}</span>.
          </p>
          <p>
            <a class="button" href={next}>
              Continue
            </a>{' '}
            <a href="/sessions">Your sessions</a>
          </p>
          {actor.via === 'cookie' ? (
            <form method="post" action="/auth/logout" class="inline">
              {actor.csrfToken ? <input type="hidden" name="_csrf" value={actor.csrfToken} /> : ''}
              <span class="small muted">Someone else?</span>
              <button type="submit" class="link">
                Log out
              </button>
            </form>
          ) : (
            <p class="small muted">You are identified by your organisation’s sign-in; to switch user, sign out there.</p>
          )}
        </section>
      ) : (
        ''
      )}
      {devLogin ? (
        <form method="post" action="/auth/dev-login" class="card" id="login-form">
          {signedIn ? <h2>Log in as someone else</h2> : ''}
          <p class="muted small">Development login: any email address signs you in as that user.</p>
          {actor.csrfToken ? <input type="hidden" name="_csrf" value={actor.csrfToken} /> : ''}
          <input type="hidden" name="next" value={next} />
          <div class="field">
            <label for="email">Email</label>
            <input id="email" name="email" type="email" required autocomplete="username" placeholder="you@example.com" />
          </div>
          <button type="submit">Log in</button>
        </form>
      ) : signedIn ? (
        ''
      ) : (
        <p class="card">Sign in through your organisation’s single sign-on, then return to this page.</p>
      )}
    </Layout>
  )
}
