/**
 * The data walk's map (src/modules/data/plan.ts) on tables that do not exist
 * yet: a documents table and its chunks are walked by the naming rule alone.
 */
import { describe, expect, test } from 'bun:test'
import { deletionOrder, planTables, type TableInfo } from '../../src/modules/data/plan'
import { objectKeysIn } from '../../src/modules/data/walk'

const table = (name: string, columns: Array<[string, string?]>): TableInfo => ({
  name,
  columns: [{ name: 'id', key: 'id', dataType: 'string', primary: true }, ...columns.map(([column, dataType = 'string']) => ({ name: column, key: column, dataType, primary: false }))],
})

const TABLES = [
  table('users', [['email']]),
  table('sessions', [['user_id']]),
  table('documents', [['session_id'], ['user_id'], ['storage_key'], ['uploaded_by']]),
  table('document_chunks', [['document_id'], ['text']]),
  table('categories', [['reviewed_by'], ['created_by']]),
  table('entries', [['category_id'], ['request_id'], ['meta', 'json']]),
]

describe('planTables', () => {
  const plans = planTables(TABLES)
  const refs = (name: string) => plans.find((plan) => plan.name === name)!.refs.map((ref) => `${ref.column.name}->${ref.target}:${ref.role}`)

  test('a person column belongs to users: owned by who made it, mentioned by who touched it', () => {
    expect(refs('documents')).toEqual(['session_id->sessions:owner', 'user_id->users:owner', 'uploaded_by->users:owner'])
    expect(refs('categories')).toEqual(['reviewed_by->users:mention', 'created_by->users:owner'])
  })

  test('`<thing>_id` belongs to the table of that thing when it exists (plural -s or -ies); other ids are not references', () => {
    expect(refs('document_chunks')).toEqual(['document_id->documents:owner'])
    expect(refs('entries')).toEqual(['category_id->categories:owner'])
  })

  test('object columns: `*_key` text and JSON', () => {
    expect(plans.find((plan) => plan.name === 'documents')!.objectColumns.map((c) => c.name)).toEqual(['storage_key'])
    expect(plans.find((plan) => plan.name === 'entries')!.objectColumns.map((c) => c.name)).toEqual(['meta'])
  })

  test('deletion order: what belongs to a table goes before it, users last', () => {
    const order = deletionOrder(plans).map((plan) => plan.name)
    const before = (a: string, b: string) => expect(order.indexOf(a)).toBeLessThan(order.indexOf(b))
    before('document_chunks', 'documents')
    before('documents', 'sessions')
    before('entries', 'categories')
    expect(order.at(-1)).toBe('users')
    expect(order).toHaveLength(TABLES.length)
  })
})

describe('objectKeysIn', () => {
  const plans = planTables(TABLES)
  const documents = plans.find((plan) => plan.name === 'documents')
  const entries = plans.find((plan) => plan.name === 'entries')
  test('finds keys in key columns and anywhere in JSON, and nothing that is not a key', () => {
    const id = '0190a0b0-0000-7000-8000-000000000001'
    expect(objectKeysIn(documents!, { storage_key: `documents/${id}` })).toEqual([`documents/${id}`])
    expect(objectKeysIn(documents!, { storage_key: '../etc/passwd' })).toEqual([])
    expect(objectKeysIn(entries!, { meta: { list: [`extracted/${id}/page-0001`, 'documents/x', { deep: `exports/${id}` }] } })).toEqual([
      `extracted/${id}/page-0001`,
      `exports/${id}`,
    ])
    expect(objectKeysIn(entries!, { meta: null })).toEqual([])
  })
})
