/**
 * A point in time as people read it: "2025-06-01 13:45 UTC" in the page, with
 * the exact instant in `datetime`; /assets/app.js rewrites it into the reader's
 * own time zone, named ("15:45 CEST"), keeping UTC in the tooltip. Without
 * script it still says which zone it is in.
 * @example
 * <Time iso={session.created_at} />
 */
export function Time({ iso, seconds = false }: { iso: string; seconds?: boolean }) {
  const text = `${iso.slice(0, 10)} ${iso.slice(11, seconds ? 19 : 16)} UTC`
  return (
    <time datetime={iso} data-local={seconds ? 'seconds' : 'minutes'} title={text} safe>
      {text}
    </time>
  )
}
