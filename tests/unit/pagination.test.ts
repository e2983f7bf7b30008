/**
 * The one pagination helper: limit defaults to 25 and is clamped to 200; the
 * cursor is opaque, round-trips the last id of a page, and a forged one is a 400.
 */
import { describe, expect, test } from 'bun:test'
import { AppError } from '../../src/errors'
import { DEFAULT_LIMIT, MAX_LIMIT, pageParams, toPage } from '../../src/pagination'

const ids = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `0190a0b0-0000-7000-8000-${String(1000 - i).padStart(12, '0')}` }))

function invalidCursorError(cursor: string): AppError {
  try {
    pageParams({ cursor })
  } catch (error) {
    expect(error).toBeInstanceOf(AppError)
    return error as AppError
  }
  throw new Error(`pageParams accepted the cursor ${JSON.stringify(cursor)}`)
}

describe('pageParams', () => {
  test('limit defaults to 25 and there is no cursor on the first page', () => {
    expect(DEFAULT_LIMIT).toBe(25)
    expect(pageParams({})).toEqual({ limit: 25, after: null })
  })

  test('limits above 200 are clamped to 200; at and below are kept', () => {
    expect(MAX_LIMIT).toBe(200)
    expect(pageParams({ limit: 500 }).limit).toBe(200)
    expect(pageParams({ limit: 201 }).limit).toBe(200)
    expect(pageParams({ limit: 200 }).limit).toBe(200)
    expect(pageParams({ limit: 1 }).limit).toBe(1)
  })

  test('fractional limits are floored to whole rows', () => {
    expect(pageParams({ limit: 7.9 }).limit).toBe(7)
  })

  test('an empty cursor means the first page', () => {
    expect(pageParams({ cursor: '' }).after).toBeNull()
  })

  test('a cursor that is not one the API issued is a 400 invalid_cursor', () => {
    for (const cursor of ['zzz', 'not-base64!', Buffer.from('1 or 1=1').toString('base64url'), Buffer.from("x' --").toString('base64url')]) {
      const error = invalidCursorError(cursor)
      expect(error.status).toBe(400)
      expect(error.code).toBe('invalid_cursor')
      expect(error.message.length).toBeGreaterThan(10)
    }
  })
})

describe('toPage', () => {
  const params = { limit: 3, after: null }

  test('rows beyond the limit say a next page exists; the cursor names the last kept row', () => {
    const rows = ids(4) // fetched with limit + 1
    const page = toPage(rows, params, (row) => row.id)
    expect(page.items).toEqual(rows.slice(0, 3).map((row) => row.id))
    expect(page.limit).toBe(3)
    expect(page.next_cursor).not.toBeNull()
    // The cursor is opaque on the wire but decodes, through pageParams, to the last id shown.
    expect(pageParams({ cursor: page.next_cursor!, limit: 3 })).toEqual({ limit: 3, after: rows[2]!.id })
  })

  test('exactly `limit` rows is the last page', () => {
    const page = toPage(ids(3), params, (row) => row)
    expect(page.items).toHaveLength(3)
    expect(page.next_cursor).toBeNull()
  })

  test('an empty result is an empty last page', () => {
    expect(toPage([], params, (row: { id: string }) => row)).toEqual({ items: [], next_cursor: null, limit: 3 })
  })

  test('items are mapped with the given function', () => {
    const page = toPage(ids(2), params, (row) => ({ shown: row.id.slice(-4) }))
    expect(page.items).toEqual([{ shown: '1000' }, { shown: '0999' }])
  })
})
