/**
 * The last row of a paginated table: a button that fetches the next page's rows
 * (whose own last row is the next button) and puts them in its place.
 * @example
 * <LoadMoreRow id="sessions-more" columns={3} href={`/sessions?cursor=${cursor}`} />
 */
export function LoadMoreRow({ id, columns, href }: { id: string; columns: number; href: string | null }) {
  if (!href) return ''
  return (
    <tr id={id}>
      <td colspan={String(columns)}>
        <button class="link" hx-get={href} hx-target={`#${id}`} hx-swap="outerHTML">
          Load more
        </button>
      </td>
    </tr>
  )
}
