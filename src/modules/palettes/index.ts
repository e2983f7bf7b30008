/**
 * Palettes: GET /api/v1/palettes (each with `unlocked` for the caller), the
 * /palettes page whose cards unlock in place (checkout, then confirm with the
 * dev proof outside production), and their administration (/api/admin/palettes,
 * /admin/palettes), every change audited.
 */
import { Elysia, t } from 'elysia'
import type { QuotaPlugin } from '../../../plugins/quota'
import type { AuditLog } from '../../../plugins/audit'
import type { rbac } from '../../../plugins/rbac'
import { AppError, unprocessable } from '../../errors'
import type { Actor } from '../../identity'
import type { Stores } from '../../stores'
import type { PaymentsService } from '../payments/service'
import { AdminPalettesPage, AdminPalettesPanel, type AdminPalettesProps, type PaletteFormValues } from './admin-views'
import { CreatePaletteBody, PaletteList, PaletteView, UpdatePaletteBody } from './model'
import { toPaletteView, type PalettesService } from './service'
import { PaletteCard, PalettesPage, type CardState } from './views'

export interface PalettesModuleOptions {
  palettes: PalettesService
  payments: PaymentsService
  stores: Stores
  audit: AuditLog
  guard: ReturnType<typeof rbac>
  quota: QuotaPlugin
}

const IdParams = t.Object({ id: t.String({ maxLength: 64 }) })
const CsrfBody = t.Optional(t.Object({ _csrf: t.Optional(t.String()) }))
const ConfirmForm = t.Object({ payment_id: t.String({ maxLength: 64 }), proof: t.String({ maxLength: 256 }), _csrf: t.Optional(t.String()) })
/** The admin form sends strings; the service checks them, so a refusal is shown beside the form. */
const PaletteForm = t.Object({
  id: t.Optional(t.String({ maxLength: 200 })),
  name: t.Optional(t.String({ maxLength: 2000 })),
  description: t.Optional(t.String({ maxLength: 20_000 })),
  agents: t.Optional(t.Union([t.String({ maxLength: 200 }), t.Array(t.String({ maxLength: 200 }), { maxItems: 200 })])),
  chair: t.Optional(t.String({ maxLength: 200 })),
  price: t.Optional(t.String({ maxLength: 20 })),
  _csrf: t.Optional(t.String()),
})

const isHtmx = (request: Request) => request.headers.get('hx-request') === 'true'
const refusal = (error: unknown): error is AppError => error instanceof AppError && [403, 404, 409, 422, 503].includes(error.status)

/** "19" or "19.5" or "19.00" dollars → 1900 cents. */
function centsOf(raw: string | undefined): number {
  const value = (raw ?? '').trim()
  if (!/^\d{1,5}(\.\d{1,2})?$/.test(value))
    throw unprocessable('validation_failed', 'Invalid field "price": write an amount in USD such as 19 or 19.00.', [{ field: 'price', message: 'not an amount' }])
  const [whole, fraction = ''] = value.split('.')
  return Number(whole) * 100 + Number(fraction.padEnd(2, '0'))
}

const formFields = (body: PaletteFormValues) => ({
  name: body.name ?? '',
  description: body.description ?? '',
  agents: body.agents === undefined ? [] : Array.isArray(body.agents) ? body.agents : [body.agents],
  chair: body.chair ?? '',
  price_cents: centsOf(body.price),
})

/**
 * @example
 * app.use(palettesModule({ palettes, payments, stores, audit, guard, quota }))
 */
export const palettesModule = ({ palettes, payments, stores, audit, guard, quota }: PalettesModuleOptions) => {
  /** A card after an action: htmx gets the card, a plain form post the page with that card showing the outcome. */
  const answer = async (actor: Actor, id: string, request: Request, state: CardState) => {
    if (isHtmx(request)) return PaletteCard({ actor, ...(await palettes.card(actor, id)), ...state })
    return PalettesPage({ actor, ...(await palettes.overview(actor)), focus: { id, ...state } })
  }

  const adminProps = async (actor: Actor, outcome: Pick<AdminPalettesProps, 'done' | 'refused'> = {}): Promise<AdminPalettesProps> => {
    const { palettes: all, agents } = await stores.catalog.everything()
    return {
      actor,
      palettes: [...all].sort((a, b) => a.name.localeCompare(b.name)).map((row) => toPaletteView(row, true)),
      agents: [...agents].sort((a, b) => a.name.localeCompare(b.name)),
      ...outcome,
    }
  }

  /** Runs an admin form's change and answers with the panel (htmx), or 303 / the page with the refusal. */
  const administer = async (
    actor: Actor,
    request: Request,
    set: { status?: number | string; headers: Record<string, string | number> },
    form: string,
    values: PaletteFormValues,
    change: () => Promise<string>,
  ) => {
    try {
      const done = await change()
      if (!isHtmx(request)) {
        set.status = 303
        set.headers.location = '/admin/palettes'
        return ''
      }
      return AdminPalettesPanel(await adminProps(actor, { done }))
    } catch (error) {
      if (!refusal(error)) throw error
      set.status = error.status
      const props = await adminProps(actor, { refused: { form, message: error.message, values } })
      return isHtmx(request) ? AdminPalettesPanel(props) : AdminPalettesPage(props)
    }
  }

  const cardAction = async (actor: Actor, id: string, request: Request, set: { status?: number | string }, act: () => Promise<CardState>) => {
    try {
      return answer(actor, id, request, await act())
    } catch (error) {
      if (!refusal(error) || error.status === 404) throw error
      set.status = error.status
      return answer(actor, id, request, { error: error.message })
    }
  }

  return new Elysia({ name: 'module/palettes' })
    .use(guard)
    .use(quota)
    .get('/api/v1/palettes', ({ actor }) => palettes.list(actor), {
      permission: 'palettes:read',
      response: PaletteList,
      detail: { tags: ['palettes'], summary: 'Every palette, with `unlocked` for the caller (free ones always are)' },
    })
    .group('/api/admin/palettes', { detail: { tags: ['admin'] } }, (api) =>
      api
        .post(
          '',
          async ({ actor, body, meta, set }) => {
            const row = await palettes.create(actor, body, meta)
            set.status = 201
            return toPaletteView(row, true)
          },
          {
            permission: 'palettes:manage',
            body: CreatePaletteBody,
            response: { 201: PaletteView },
            detail: { summary: 'Create a palette: 1–12 existing agents, an existing chair, a price ≥ 0 (409 palette_exists)' },
          },
        )
        .patch('/:id', async ({ actor, params, body, meta }) => toPaletteView(await palettes.update(actor, params.id, body, meta), true), {
          permission: 'palettes:manage',
          params: IdParams,
          body: UpdatePaletteBody,
          response: PaletteView,
          detail: { summary: 'Edit or price a palette; the audit event lists what changed' },
        }),
    )
    .get('/palettes', async ({ actor }) => PalettesPage({ actor, ...(await palettes.overview(actor)) }), {
      permission: 'palettes:read',
      detail: { hide: true },
    })
    .get('/palettes/:id/card', async ({ actor, params }) => PaletteCard({ actor, ...(await palettes.card(actor, params.id)) }), {
      permission: 'palettes:read',
      params: IdParams,
      detail: { hide: true },
    })
    .post(
      '/palettes/:id/checkout',
      ({ actor, params, meta, request, set }) =>
        cardAction(actor, params.id, request, set, async () => ({ pending: await payments.checkout(actor, params.id, meta) })),
      { permission: 'payments:checkout', quota: 'write', params: IdParams, body: CsrfBody, detail: { hide: true } },
    )
    .post(
      '/palettes/:id/confirm',
      ({ actor, params, body, meta, request, set }) =>
        cardAction(actor, params.id, request, set, async () => {
          await payments.confirm(actor, { payment_id: body.payment_id, proof: body.proof }, meta)
          return { unlockedNow: true }
        }),
      { permission: 'payments:checkout', quota: 'write', params: IdParams, body: ConfirmForm, detail: { hide: true } },
    )
    .get(
      '/admin/palettes',
      async ({ actor, meta }) => {
        audit.recordLater({ ...meta.audit, action: 'admin.view', target: 'page:/admin/palettes' })
        return AdminPalettesPage(await adminProps(actor))
      },
      { permission: 'palettes:manage', detail: { hide: true } },
    )
    .post(
      '/admin/palettes',
      ({ actor, body, meta, request, set }) =>
        administer(actor, request, set, 'new', body, async () => {
          const row = await palettes.create(actor, { id: (body.id ?? '').trim(), ...formFields(body) }, meta)
          return `Created the palette “${row.name}”.`
        }),
      { permission: 'palettes:manage', body: PaletteForm, detail: { hide: true } },
    )
    .post(
      '/admin/palettes/:id',
      ({ actor, params, body, meta, request, set }) =>
        administer(actor, request, set, params.id, body, async () => {
          const row = await palettes.update(actor, params.id, formFields(body), meta)
          return `Saved the palette “${row.name}”.`
        }),
      { permission: 'palettes:manage', params: IdParams, body: PaletteForm, detail: { hide: true } },
    )
}
