// From what an upstream said (ID token claims, userinfo, a profile document) to an UpstreamProfile,
// through the provider's claim mapping, with each preset's own shapes: GitHub's numeric id, Apple's
// string "true" and its `user` form field, Microsoft's oid and tid with an email never taken as
// verified, Google's hosted domain. Pure functions: the exchanges are in client.ts.
import type { UpstreamProfile } from '../../ports/upstream-client.ts';
import type { UpstreamProvider } from '../../ports/upstreams.ts';

type Claims = Record<string, unknown>;

/** Longest claim value kept (a name, an email): longer ones are dropped rather than cut. */
const MAX_VALUE = 512;

/**
 * Characters no claim Tessera keeps may hold: control characters (a NUL cannot even be stored by
 * PostgreSQL, so the sign-in would fail in the store rather than on a clear page), line and paragraph
 * separators, and bidi embeddings, overrides and isolates (which make a name read as another).
 */
const UNFIT = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

/** A string without unfit characters and without lone surrogates (which no UTF-8 store can hold). */
export const fit = (v: string) => v.isWellFormed() && !UNFIT.test(v);

/** A non-empty string claim of reasonable length, or undefined. */
export function text(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' && v.length <= MAX_VALUE && fit(v) ? v.trim() : undefined;
}

/**
 * A subject: a string (OIDC `sub`, at most 255 characters as OIDC Core says), or a non-negative
 * safe integer (GitHub's `id`) as its decimal string; anything else is no subject.
 */
export function subjectOf(v: unknown): string | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? String(v) : undefined;
  return typeof v === 'string' && v !== '' && v.length <= 255 && fit(v) ? v : undefined;
}

function stringList(v: unknown): string[] | undefined {
  if (typeof v === 'string') return text(v) ? [v] : undefined;
  if (!Array.isArray(v)) return undefined;
  const out = v.filter((x): x is string => typeof x === 'string' && x !== '' && x.length <= MAX_VALUE && fit(x));
  return out.length ? out.slice(0, 256) : undefined;
}

/** Microsoft tenant ids are GUIDs; nothing else may be put into the issuer template. */
export const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Apple's first sign-in: the `user` form field, `{"name":{"firstName","lastName"},"email"}` (unsigned: the name only).
 */
export function appleUserName(field: string | null): { givenName?: string; familyName?: string } {
  if (!field || field.length > 4096) return {};
  try {
    const parsed = JSON.parse(field) as { name?: { firstName?: unknown; lastName?: unknown } };
    const givenName = text(parsed?.name?.firstName);
    const familyName = text(parsed?.name?.lastName);
    return { ...(givenName ? { givenName } : {}), ...(familyName ? { familyName } : {}) };
  } catch {
    return {};
  }
}

/**
 * The profile from the claims (for OIDC the ID token's over userinfo's, for OAuth 2.0 the profile
 * document). `issuer` and `subject` are decided by the caller (the ID token's, Microsoft's tenant and
 * oid, the OAuth 2.0 mapping's). `emailVerified` is true only for a boolean true (Apple also its
 * string "true"); Microsoft's never (a tenant's administrator sets any email: nOAuth).
 */
export function profileFrom(
  provider: UpstreamProvider,
  claims: Claims,
  identity: { issuer: string; subject: string; tenant?: string },
  extra: { appleUser?: string | null } = {},
): UpstreamProfile {
  const map = provider.claims;
  const email = text(claims[map.email]);
  const verifiedClaim = claims[map.emailVerified];
  const verified =
    provider.preset === 'microsoft'
      ? false
      : verifiedClaim === true || (provider.preset === 'apple' && verifiedClaim === 'true');
  const apple = provider.preset === 'apple' ? appleUserName(extra.appleUser ?? null) : {};
  const givenName = apple.givenName ?? text(claims.given_name);
  const familyName = apple.familyName ?? text(claims.family_name);
  const name =
    text(claims[map.name]) ??
    (apple.givenName || apple.familyName ? [givenName, familyName].filter(Boolean).join(' ') : undefined);
  const username = text(claims[map.username]);
  const groups = map.groups ? stringList(claims[map.groups]) : undefined;
  const amr = stringList(claims.amr);
  const acr = text(claims.acr);
  const sid = text(claims.sid);
  const hd = provider.preset === 'google' ? text(claims.hd)?.toLowerCase() : undefined;
  return {
    issuer: identity.issuer,
    subject: identity.subject,
    emailVerified: email !== undefined && verified,
    ...(email ? { email } : {}),
    ...(username ? { username } : {}),
    ...(name ? { name } : {}),
    ...(givenName ? { givenName } : {}),
    ...(familyName ? { familyName } : {}),
    ...(groups ? { groups } : {}),
    ...(amr ? { amr } : {}),
    ...(acr ? { acr } : {}),
    ...(identity.tenant ? { tenant: identity.tenant } : {}),
    ...(hd ? { hostedDomain: hd } : {}),
    ...(sid ? { sid } : {}),
  };
}
