/** The home page, and the full-page error that HTML requests get. */
import type { Actor } from '../../identity'
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
