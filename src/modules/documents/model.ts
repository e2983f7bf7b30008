/** Schemas of the documents API (SPEC §4); types are derived from them. */
import { t, type Static } from 'elysia'
import type { DocumentRow } from '../../../db/schema'
import { DOCUMENT_STATUSES, type DocumentStatus } from './store'

const DocumentView = t.Object({
  id: t.String(),
  session_id: t.String(),
  filename: t.String({ description: 'The uploaded name, for display only' }),
  mime: t.String(),
  kind: t.String({ description: 'pdf, docx, txt, md or csv' }),
  bytes: t.Integer(),
  sha256: t.String({ description: 'Hex SHA-256 of the bytes stored' }),
  status: t.UnionEnum(DOCUMENT_STATUSES),
  pages: t.Nullable(t.Integer({ description: 'Pages of text once known (a DOCX, TXT or MD "page" is about 3,000 characters)' })),
  pages_done: t.Integer({ description: 'Pages read so far' }),
  chars: t.Nullable(t.Integer()),
  error: t.Nullable(t.String({ description: 'Why it could not be read, in words for the uploader' })),
  created_at: t.String({ description: 'ISO 8601 date-time' }),
  links: t.Object({ content: t.String() }),
})

export const DocumentList = t.Object({ items: t.Array(DocumentView) })

export type DocumentViewType = Static<typeof DocumentView>

export function toDocumentView(row: DocumentRow): DocumentViewType {
  return {
    id: row.id,
    session_id: row.sessionId,
    filename: row.filename,
    mime: row.mime,
    kind: row.kind,
    bytes: row.bytes,
    sha256: row.sha256,
    status: row.status as DocumentStatus,
    pages: row.pages,
    pages_done: row.pagesDone,
    chars: row.chars,
    error: row.error,
    created_at: row.createdAt.toISOString(),
    links: { content: `/api/v1/documents/${row.id}/content` },
  }
}
