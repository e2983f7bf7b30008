/** What the auth suites share: the session cookie's name and form posts. */
export const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
export const COOKIE_NAME = 'council_session'

export const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()
