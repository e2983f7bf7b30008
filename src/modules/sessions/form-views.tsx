/**
 * The new-session form: the question with its character counter, the palette
 * (locked ones shown, not selectable), "run right away", and the upload and
 * web-search fields when this server offers them. It keeps what was sent
 * through every refusal, with the message beside the field it is about.
 */
import type { Actor } from '../../identity'
import { Layout } from '../../../views/layout'
import type { SourceFieldsOptions } from '../documents/form'
import { sourceFieldOf } from '../documents/form'
import { UploadAssets, UploadFields, type SourceValues } from '../documents/views'

/** A palette as the form offers it: locked ones are shown, not selectable, with the way to unlock them. */
interface PaletteChoice {
  id: string
  name: string
  agents: string[]
  price_cents: number
  unlocked: boolean
}

type ErrorField = 'question' | 'palette_id' | 'uploads' | 'web_search'

/** Which field a refusal belongs beside; anything else is said at the top of the form. */
export function fieldOf(code: string): ErrorField | null {
  if (code.startsWith('question') || code === 'invalid_characters' || code === 'validation_failed') return 'question'
  if (code.startsWith('palette') || code === 'unknown_palette') return 'palette_id'
  return sourceFieldOf(code)
}

function PaletteSelect({ palettes, selected: asked, error }: { palettes: PaletteChoice[]; selected: string; error?: string }) {
  const locked = palettes.filter((palette) => !palette.unlocked)
  // A locked or unknown choice (from a link) cannot be selected: a disabled option would not be sent.
  const selected = palettes.some((palette) => palette.id === asked && palette.unlocked) ? asked : 'default'
  return (
    <div class={error ? 'field invalid' : 'field'}>
      <label for="palette">Palette</label>
      <select id="palette" name="palette_id" aria-describedby={error ? 'palette-error' : undefined} aria-invalid={error ? 'true' : undefined}>
        {palettes.map((palette) => (
          <option value={palette.id} selected={palette.id === selected} disabled={!palette.unlocked} safe>
            {`${palette.name} — ${palette.agents.length} agents${palette.unlocked ? '' : ` · locked ($${(palette.price_cents / 100).toFixed(2)})`}`}
          </option>
        ))}
      </select>
      {locked.length > 0 ? (
        <p class="muted small" id="locked-palettes">
          <span safe>{`${locked.length} locked: `}</span>
          <a href="/palettes">unlock palettes</a>
        </p>
      ) : (
        ''
      )}
      {error ? (
        <p class="field-error" id="palette-error" role="alert" safe>
          {error}
        </p>
      ) : (
        ''
      )}
    </div>
  )
}

export interface NewSessionFormProps {
  actor: Actor
  /** What to say: beside `errorField` when the form shows that field, else at the top of the form. */
  error?: string
  errorField?: ErrorField | null
  question?: string
  /** Whether "run right away" is ticked (it is by default). */
  run?: boolean
  /** A session already created from this form whose run was refused: sending the form again runs it instead of creating another. */
  reuse?: string
  maxChars: number
  /** The palettes to choose from (none: the select is left out and the default palette is used). */
  palettes?: PaletteChoice[]
  paletteId?: string
  /** The upload and web-search fields this server offers; left out when absent. */
  sources?: SourceFieldsOptions
  /** The source checkboxes as they were sent. */
  sent?: SourceValues
}

export function NewSessionForm({
  actor,
  error,
  errorField,
  question = '',
  run = true,
  reuse,
  maxChars,
  palettes = [],
  paletteId = 'default',
  sources,
  sent,
}: NewSessionFormProps) {
  // In reuse mode the documents and web search are already saved with the session; only the run is left to do.
  const sourceFields = sources && !reuse && (sources.uploads || sources.webSearch) ? sources : undefined
  const shown = (field: ErrorField | null | undefined) =>
    field === 'question' ||
    (field === 'palette_id' && palettes.length > 0) ||
    (field === 'uploads' && !!sourceFields?.uploads) ||
    (field === 'web_search' && !!sourceFields?.webSearch)
  const beside = error && shown(errorField) ? errorField : null
  const questionError = beside === 'question' ? error : undefined
  const formError = error && !beside ? error : undefined
  const length = question.length
  return (
    <form
      id="new-session"
      method="post"
      action="/sessions"
      hx-post="/sessions"
      hx-target="this"
      hx-swap="outerHTML"
      class="card"
      enctype={sourceFields?.uploads ? 'multipart/form-data' : undefined}
    >
      {actor.csrfToken ? <input type="hidden" name="_csrf" value={actor.csrfToken} /> : ''}
      {reuse ? <input type="hidden" name="reuse" value={reuse} /> : ''}
      {formError ? (
        <div class="notice error" role="alert" id="form-error" safe>
          {formError}
        </div>
      ) : (
        ''
      )}
      <div class={questionError ? 'field invalid' : 'field'}>
        <label for="question">Question</label>
        <textarea
          id="question"
          name="question"
          required
          data-max-chars={String(maxChars)}
          aria-describedby={questionError ? 'question-count question-error' : 'question-count'}
          aria-invalid={questionError ? 'true' : undefined}
          placeholder="What should the council deliberate on?"
          safe
        >
          {question}
        </textarea>
        <p class={`field-help small ${length > maxChars ? 'over' : length > maxChars * 0.9 ? 'near' : 'muted'}`} id="question-count" data-counter-for="question" aria-live="polite" safe>
          {`${length.toLocaleString('en-US')} / ${maxChars.toLocaleString('en-US')} characters`}
        </p>
        {questionError ? (
          <p class="field-error" id="question-error" role="alert" safe>
            {questionError}
          </p>
        ) : (
          ''
        )}
      </div>
      {palettes.length > 0 ? <PaletteSelect palettes={palettes} selected={paletteId} error={beside === 'palette_id' ? error : undefined} /> : ''}
      {/* Before the files: a multipart form sends its fields in this order, and the server reads those before the files first. */}
      <label class="inline small">
        <input type="checkbox" name="run" value="true" checked={run} /> Run the council right away
      </label>
      {sourceFields ? (
        <UploadFields {...sourceFields} sent={sent} error={error && (beside === 'uploads' || beside === 'web_search') ? { field: beside, message: error } : undefined} />
      ) : (
        ''
      )}
      {reuse && sources && (sources.uploads || sources.webSearch) ? (
        <p class="muted small" id="sources-kept">
          Any documents and web search you sent stay with the saved question.
        </p>
      ) : (
        ''
      )}
      <p>
        <button type="submit">{reuse ? 'Run it' : 'Create session'}</button>
      </p>
    </form>
  )
}

export function NewSessionPage(props: NewSessionFormProps) {
  return (
    <Layout title="Ask the council" actor={props.actor} path="/sessions/new">
      <h1>Ask the council</h1>
      {props.sources ? <UploadAssets /> : ''}
      <NewSessionForm {...props} />
    </Layout>
  )
}
