/**
 * A long id as its last 8 characters (ids are UUIDv7: the first characters are
 * the time, alike for ids made together; the tail is random), the whole id in the tooltip, and a
 * button that copies it (views/assets/app.js); short ids are shown whole.
 * Keeps admin tables to one line per id at any width.
 * @example
 * <ShortId id={job.id} label="job id" />
 */
export function ShortId({ id, label = 'id', href }: { id: string; label?: string; href?: string }) {
  if (id.length <= 12) return href ? <a href={href}><code safe>{id}</code></a> : <code safe>{id}</code>
  const short = <code title={id} safe>{`…${id.slice(-8)}`}</code>
  return (
    <span class="short-id">
      {href ? (
        <a href={href} title={id}>
          {short}
        </a>
      ) : (
        short
      )}
      <button type="button" class="link copy" data-copy={id} title={`Copy the full ${label}`} aria-label={`Copy the full ${label} ${id}`}>
        copy
      </button>
    </span>
  )
}
