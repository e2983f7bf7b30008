/**
 * Who is calling, as the rest of the app sees it: the Actor a request runs as,
 * the role it acts under (one rule, `primaryRole`), the audit actor derived from
 * it, and the seams between the layers — the Authenticator (plugins/auth
 * implements it, plugins/rbac asks it) and the IdentityResolver (the identity
 * module implements it, the authenticator asks it). Ground floor: nothing here
 * imports a plugin or a module.
 */
import type { Permission } from './permissions'

export interface Actor {
  userId: string
  externalId: string
  email: string
  roles: string[]
  /** The role this person acts under, recorded on jobs and audit events: see primaryRole. */
  role: string
  permissions: Set<Permission>
  /** `token`: a personal access token; `signature`: a payment provider's signed webhook (no user). */
  via: 'header' | 'cookie' | 'jwt' | 'proxy' | 'token' | 'signature' | 'anonymous'
  /** The CSRF token for cookie sessions, rendered into pages. */
  csrfToken?: string
}

export const ANONYMOUS: Actor = Object.freeze({
  userId: '',
  externalId: '',
  email: 'anonymous',
  roles: [],
  role: 'anonymous',
  permissions: new Set<Permission>(),
  via: 'anonymous' as const,
})

/**
 * The role recorded on jobs and audit events, one rule for all of them: an
 * allowlisted agent role first (it is what an agent call acts under), then the
 * most privileged built-in role held.
 * @example
 * primaryRole(['user', 'auditor']) // 'auditor'
 */
export const primaryRole = (roles: readonly string[], prefer: readonly string[] = []): string =>
  roles.find((role) => prefer.includes(role)) ??
  (roles.includes('admin') ? 'admin' : roles.includes('auditor') ? 'auditor' : (roles[0] ?? 'user'))

/** Who acted, under which role, from which request: spread into every audit event of the request. */
export interface AuditActor {
  actorId: string | null
  actor: string
  role: string
  requestId: string
  ip: string | null
  /** The client's own X-Request-Id, recorded beside the server's `requestId` (never as it). */
  clientRequestId?: string
}

/**
 * The audit actor of someone acting in a request. The rbac guard derives it once
 * per request from the caller; the identity module uses it for a user's first
 * sight, before the request has an Actor, so both follow the same rule.
 * @example
 * const audit = auditActorOf(actor, requestId, ip)
 */
export const auditActorOf = (
  who: Pick<Actor, 'userId' | 'email' | 'role'>,
  requestId: string,
  ip: string | null,
  clientRequestId?: string,
): AuditActor => ({ actorId: who.userId || null, actor: who.email, role: who.role, requestId, ip, ...(clientRequestId ? { clientRequestId } : {}) })

/** The address shape every sign-in path accepts; an address that could never sign in is refused. */
const EMAIL = /^[^\s@<>"'\u0000]{1,64}@[^\s@<>"'\u0000]{1,190}$/

export const normaliseEmail = (value: string) => value.trim().toLowerCase()
export const isEmail = (value: string) => EMAIL.test(value)

interface CookieJar {
  [name: string]: { value?: unknown }
}

export interface AuthContext {
  request: Request
  cookie: CookieJar
  body?: unknown
  server?: { requestIP(request: Request): { address: string } | null } | null
}

export interface Authenticator {
  /** The caller, or null when the request carries no identity. Throws 401 on a bad credential. */
  authenticate(ctx: AuthContext): Promise<Actor | null>
  clientIp(ctx: Pick<AuthContext, 'request' | 'server'>): string | null
}

/** A person as the identity service knows them. */
export interface Identity {
  userId: string
  externalId: string
  email: string
  /** Roles from role bindings, always including `user`. */
  roles: string[]
}

/** The request a person is seen in, for the audit event of their first sight. */
export interface SignIn {
  requestId: string
  /** The client's own X-Request-Id, if it sent a valid one. */
  clientRequestId?: string
  ip: string | null
  /** The role they act under in this request, given their bound roles (the rule the Actor's `role` follows). */
  roleOf(boundRoles: readonly string[]): string
}

/** What the authenticator needs of the identity service. */
export interface IdentityResolver {
  /**
   * The user with this external id and their bound roles; created on first
   * sight (ADMIN_EMAILS bound to admin then), with a `user.created` event.
   */
  resolve(externalId: string, email: string, signIn: SignIn): Promise<Identity>
}

/** The owner of a personal access token that is valid now (not revoked, not expired). */
interface TokenOwner {
  tokenId: string
  userId: string
  externalId: string
  email: string
}

/** Prefix of personal access tokens: the authenticator tells them from JWTs by it, and secret scanners can find leaked ones. */
export const ACCESS_TOKEN_PREFIX = 'acpat_'

/** What the authenticator needs of the tokens module. */
export interface AccessTokenResolver {
  /**
   * The owner of `token`, or a reason it is refused. Looked up on every use (no
   * cache), so a revocation applies to the next request on every instance.
   */
  resolveToken(token: string): Promise<TokenOwner | { refused: 'unknown' | 'expired' }>
}

/**
 * What the authenticator asks before honouring a sign-in cookie: when (if ever)
 * the person with this email was erased. A cookie issued before that is refused,
 * so an erased person's browser does not sign them into a fresh, empty account.
 */
export interface ErasureCheck {
  erasedAt(email: string): Promise<Date | null>
}

/**
 * What the authenticator asks before honouring a sign-in cookie: up to when (if
 * ever) this email's sign-ins were revoked — by logout, a role change or erasure.
 * A cookie issued at or before that instant is refused.
 */
export interface SignInRevocationCheck {
  revokedAt(email: string): Promise<Date | null>
}
