/** Response schemas of the docs API. */
import { t } from 'elysia'

export const DocSummaryView = t.Object({
  slug: t.String(),
  title: t.String(),
  summary: t.String({ description: 'The first paragraph, as plain text' }),
})

const TocEntryView = t.Object({
  level: t.Integer({ minimum: 1, maximum: 6 }),
  id: t.String({ description: 'The heading’s element id, for #anchors' }),
  text: t.String(),
})

export const DocView = t.Composite([
  DocSummaryView,
  t.Object({
    html: t.String({ description: 'The document rendered from markdown and sanitised' }),
    toc: t.Array(TocEntryView, { description: 'Every heading, in order' }),
  }),
])

export const SlugParams = t.Object({ slug: t.String({ maxLength: 100 }) })
