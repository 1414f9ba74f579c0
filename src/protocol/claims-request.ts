// OpenID Connect Core section 5.5: the `claims` request parameter, and the authentication context
// class (acr) values Tessera can assert (section 2, 5.5.1.1).
import { invalidRequest, OAuthError } from './errors.ts';
import { STANDARD_SCOPES } from './scopes.ts';

/** Longest `claims` parameter accepted (characters). */
export const MAX_CLAIMS_LENGTH = 4096;
const MAX_CLAIMS_PER_MEMBER = 32;
const MAX_CLAIM_NAME = 64;
const MAX_VALUES = 16;
const MAX_VALUE_LENGTH = 256;

/**
 * The authentication context classes Tessera asserts (OIDC Core section 2), ordered low to high: a
 * session at a level satisfies every lower one. The password alone; two factors (amr has `mfa`); a
 * passkey was used (phishing-resistant, OpenID EAP `phr`: amr has hwk or swk); a passkey bound to its
 * hardware (`phrh`: amr has hwk, a passkey that is not backup eligible).
 */
export const ACR_PASSWORD = 'urn:tessera:acr:password';
export const ACR_MFA = 'urn:tessera:acr:mfa';
export const ACR_PHR = 'phr';
export const ACR_PHRH = 'phrh';
export const ACR_VALUES_SUPPORTED = [ACR_PASSWORD, ACR_MFA, ACR_PHR, ACR_PHRH] as const;
export type Acr = (typeof ACR_VALUES_SUPPORTED)[number];

/** The rank of an acr value (0 for the password, 3 for phrh), or -1 for a value Tessera does not know. */
export const acrLevel = (acr: unknown): number => (ACR_VALUES_SUPPORTED as readonly unknown[]).indexOf(acr);

/**
 * The acr of an authentication, from how it was made (its amr): the highest level it reaches, or,
 * when the request named acr values (`requested`: the essential acr claim's values, else
 * acr_values), the highest of those it reaches: OIDC Core 5.5.1.1 and 3.1.2.1 have the client get
 * one of the values it asked for (a session at phrh answers a request for mfa with mfa). A request
 * none of whose values is reached (voluntary) gets the level reached.
 */
export function acrFor(amr: readonly string[], requested?: readonly string[]): Acr | undefined {
  const reached: Acr | undefined = amr.includes('hwk')
    ? ACR_PHRH
    : amr.includes('swk')
      ? ACR_PHR
      : amr.includes('mfa')
        ? ACR_MFA
        : amr.includes('pwd') || amr.includes('fed')
          ? ACR_PASSWORD
          : undefined;
  if (!reached || !requested?.length) return reached;
  const met = requested.filter((v) => acrLevel(v) >= 0 && acrLevel(v) <= acrLevel(reached)) as Acr[];
  return met.length ? met.reduce((a, b) => (acrLevel(b) > acrLevel(a) ? b : a)) : reached;
}

/**
 * The level a list of acr values asks for: any one of them satisfies the client (OIDC Core 3.1.2.1
 * and 5.5.1.1), and a higher level satisfies a lower one, so the lowest known value is what must be
 * reached. undefined when none is known.
 */
export function acrAsked(values: readonly unknown[] | undefined): number | undefined {
  const known = (values ?? []).map(acrLevel).filter((l) => l >= 0);
  return known.length ? Math.min(...known) : undefined;
}

type Scalar = string | number | boolean;
export interface ClaimRequest {
  essential?: boolean;
  value?: Scalar;
  values?: Scalar[];
}

/** A parsed `claims` parameter: per member, the claims asked for (null: no further requirement). */
export interface ClaimsRequest {
  userinfo: Record<string, ClaimRequest | null>;
  id_token: Record<string, ClaimRequest | null>;
}

const isScalar = (v: unknown): v is Scalar =>
  (typeof v === 'string' && v.length <= MAX_VALUE_LENGTH) || typeof v === 'number' || typeof v === 'boolean';
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function claimRequest(member: string, name: string, v: unknown): ClaimRequest | null {
  if (v === null) return null;
  if (!isObject(v)) throw invalidRequest(`claims.${member}.${name} must be null or an object.`);
  const out: ClaimRequest = {};
  if (v.essential !== undefined) {
    if (typeof v.essential !== 'boolean') throw invalidRequest(`claims.${member}.${name}.essential must be a boolean.`);
    out.essential = v.essential;
  }
  if (v.value !== undefined) {
    if (!isScalar(v.value))
      throw invalidRequest(`claims.${member}.${name}.value must be a short string, a number or a boolean.`);
    out.value = v.value;
  }
  if (v.values !== undefined) {
    if (
      !Array.isArray(v.values) ||
      v.values.length === 0 ||
      v.values.length > MAX_VALUES ||
      !v.values.every(isScalar)
    ) {
      throw invalidRequest(
        `claims.${member}.${name}.values must be a non-empty array of at most ${MAX_VALUES} short strings, numbers or booleans.`,
      );
    }
    out.values = v.values;
  }
  if (out.value !== undefined && out.values !== undefined)
    throw invalidRequest(`claims.${member}.${name} cannot have both value and values.`);
  return out;
}

function member(raw: Record<string, unknown>, name: 'userinfo' | 'id_token'): Record<string, ClaimRequest | null> {
  const m = raw[name];
  if (m === undefined) return {};
  if (!isObject(m)) throw invalidRequest(`claims.${name} must be an object.`);
  const entries = Object.entries(m);
  if (entries.length > MAX_CLAIMS_PER_MEMBER)
    throw invalidRequest(`claims.${name} asks for more than ${MAX_CLAIMS_PER_MEMBER} claims.`);
  const out: Record<string, ClaimRequest | null> = Object.create(null);
  for (const [claim, v] of entries) {
    if (claim.length === 0 || claim.length > MAX_CLAIM_NAME)
      throw invalidRequest(`claims.${name} has a claim name that is empty or too long.`);
    out[claim] = claimRequest(name, claim, v);
  }
  return out;
}

/**
 * Parses and checks a `claims` parameter: a JSON object whose `userinfo` and `id_token` members are
 * objects of claim names to null or {essential, value, values}; other members are ignored (section
 * 5.5). Anything malformed or over the limits is invalid_request.
 */
export function parseClaimsRequest(raw: string): ClaimsRequest {
  if (raw.length > MAX_CLAIMS_LENGTH) throw invalidRequest(`claims is longer than ${MAX_CLAIMS_LENGTH} characters.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalidRequest('claims is not valid JSON.');
  }
  if (!isObject(parsed)) throw invalidRequest('claims must be a JSON object.');
  return { userinfo: member(parsed, 'userinfo'), id_token: member(parsed, 'id_token') };
}

/**
 * Section 5.5.1.1: an essential request for acr with value(s) Tessera never asserts fails the
 * request at once (`unmet_authentication_requirements`, OpenID Connect Unmet Authentication
 * Requirements 1.0). The values it knows are kept (essentialAcr): whether the user can reach one is
 * known only once they are known (interaction/mfa-policy.ts).
 */
export function checkAcrRequest(claims: ClaimsRequest | undefined): void {
  const wanted = essentialAcr(claims);
  if (wanted && acrAsked(wanted) === undefined) {
    throw new OAuthError(
      'unmet_authentication_requirements',
      'The authentication context class asked for as essential cannot be satisfied by this server.',
    );
  }
}

/** The acr values a claims parameter asks for as essential (id_token member), or undefined. */
export function essentialAcr(claims: ClaimsRequest | undefined): string[] | undefined {
  const acr = claims?.id_token.acr;
  if (!acr?.essential) return undefined;
  const wanted = acr.values ?? (acr.value !== undefined ? [acr.value] : undefined);
  return wanted?.map(String);
}

/** The standard claims Tessera can release (those of its standard scopes, sub excepted). */
const RELEASABLE = new Set(
  Object.values(STANDARD_SCOPES)
    .flatMap((s) => s.claims)
    .filter((c) => c !== 'sub'),
);

/** What a grant keeps of a claims request: the names of the user claims asked for, per member. */
export interface RequestedClaims {
  id_token: string[];
  userinfo: string[];
  /** The acr values the request named (acrFor answers with one of them when it can). */
  acr?: string[];
}

export function requestedClaims(claims: ClaimsRequest | undefined): RequestedClaims | undefined {
  if (!claims) return undefined;
  const names = (m: Record<string, unknown>) =>
    Object.keys(m)
      .filter((c) => RELEASABLE.has(c))
      .sort();
  const out = { id_token: names(claims.id_token), userinfo: names(claims.userinfo) };
  return out.id_token.length || out.userinfo.length ? out : undefined;
}

/** The requested claims that the granted scopes do not cover, which the consent page must show. */
export function claimsBeyondScopes(requested: RequestedClaims | undefined, scopes: readonly string[]): string[] {
  if (!requested) return [];
  const covered = new Set(scopes.flatMap((s) => STANDARD_SCOPES[s]?.claims ?? []));
  return [...new Set([...requested.id_token, ...requested.userinfo])].filter((c) => !covered.has(c)).sort();
}
