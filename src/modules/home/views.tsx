/** The home and login pages. */
import type { Actor } from '../../../plugins/auth'
import { ErrorNotice, Layout } from '../../../views/layout'

export function HomePage({ actor }: { actor: Actor }) {
  return (
    <Layout title="Home" actor={actor} path="/">
      <h1>Agent Council</h1>
      <p>
        Put a question, and your documents, to a council of AI agents. Each drafts an answer, reviews the others
        anonymously, and a chair writes the final synthesis.
      </p>
      {actor.via === 'anonymous' ? (
        <p>
          <a class="button" href="/login">
            Log in
          </a>
        </p>
      ) : (
        <p>
          <a class="button" href="/sessions/new">
            Ask the council
          </a>{' '}
          <a href="/sessions">Your sessions</a>
        </p>
      )}
    </Layout>
  )
}

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

export function ErrorPage({ actor, status, message, requestId }: { actor: Actor; status: number; message: string; requestId: string }) {
  return (
    <Layout title={`Error ${status}`} actor={actor}>
      <h1 safe>{status === 404 ? 'Not found' : status === 403 ? 'Not allowed' : 'Something went wrong'}</h1>
      <ErrorNotice message={message} requestId={requestId} />
      <p>
        <a href="/">Home</a>
      </p>
    </Layout>
  )
}
