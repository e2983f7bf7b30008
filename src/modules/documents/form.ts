/**
 * The new-session form's rules for its source fields: web search needs its
 * acknowledgement ticked (uploads need theirs; the upload path checks that
 * before storing a byte), and a refusal is shown beside the field it is about.
 */
import type { UploadConfig } from '../../config/uploads'
import { unprocessable } from '../../errors'
import { wantsWebSearch } from '../sessions/service'
import { acknowledged } from './service'
import { WEB_SEARCH_ACKNOWLEDGEMENT } from './views'

export interface SourceFieldsOptions {
  limits: UploadConfig
  /** False under DISABLE_UPLOADS: no upload field is rendered. */
  uploads: boolean
  /** False unless a search provider is configured and DISABLE_WEB_SEARCH is off. */
  webSearch: boolean
}

export function sourceFieldsCheck(input: { web_search?: unknown; acknowledge_web_search?: unknown }): void {
  if (wantsWebSearch(input.web_search as never) && !acknowledged(typeof input.acknowledge_web_search === 'string' ? input.acknowledge_web_search : undefined))
    throw unprocessable('web_search_acknowledgement_required', `Tick “${WEB_SEARCH_ACKNOWLEDGEMENT}” to use web search, or untick web search.`)
}

const UPLOAD_CODES = new Set([
  'uploads_disabled',
  'file_too_large',
  'too_many_files',
  'session_too_large',
  'unsupported_type',
  'type_mismatch',
  'empty_file',
  'upload_acknowledgement_required',
  'upload_incomplete',
  'invalid_multipart',
])
const WEB_SEARCH_CODES = new Set(['web_search_disabled', 'web_search_not_configured', 'web_search_acknowledgement_required'])

/** Which source field a refusal is about, if any. */
export function sourceFieldOf(code: string): 'uploads' | 'web_search' | null {
  if (UPLOAD_CODES.has(code)) return 'uploads'
  if (WEB_SEARCH_CODES.has(code)) return 'web_search'
  return null
}
