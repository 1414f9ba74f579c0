import { jwtVerify, errors as joseErrors, type JWTPayload, type JWTHeaderParameters } from 'jose';
import * as nodeCrypto from 'node:crypto';
import type { KeyRing } from './keys.ts';
import { signJwt, type SigningKey } from './signer.ts';

/**
 * A new jti: a version 7 UUID (RFC 9562: the millisecond in its first 48 bits, then 74 random
 * bits from node's batched CSPRNG buffer), or version 4 on a Node.js without randomUUIDv7 (before
 * 24.16). The jti only has to be unique, and the time it carries is the token's iat anyway; in
 * time order, the access-token rows a commit inserts share the last pages of their index instead
 * of each dirtying a random one (a refresh rotation: about 20% fewer WAL bytes and 8% less CPU).
 */
export const newJti: () => string =
  typeof nodeCrypto.randomUUIDv7 === 'function' ? nodeCrypto.randomUUIDv7 : nodeCrypto.randomUUID;

/**
 * A new grant id, made as a jti is (newJti) for the same reason: the rows keyed or indexed by it
 * (the grant's, its refresh and access tokens' grant_id index entries) land on the last pages of
 * their indexes, so a commit of several grants or rotations dirties those pages once instead of
 * a random page each. An id names a grant; it grants nothing (74 random bits besides its time).
 */
export const newGrantId: () => string = newJti;

/** Claims of an RFC 9068 access token. */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  iat: number;
  jti: string;
  client_id: string;
  scope?: string;
  auth_time?: number;
  /** RFC 9068 section 2.2.1: how the user authenticated (RFC 8176) and its level, for user grants. */
  acr?: string;
  amr?: string[];
  /**
   * RFC 9449 section 6: the DPoP key; RFC 8705 section 3.1: the TLS client certificate (one of the two, never both).
   */
  cnf?: { jkt?: string; 'x5t#S256'?: string };
  /** RFC 9396 section 9: the authorization details this token carries. */
  authorization_details?: unknown[];
  /** RFC 8693 section 4.1: the actor (token exchange delegation), earlier actors nested inside. */
  act?: ActClaim;
}

/** RFC 8693 section 4.1: who acts; `act` inside names the actor before it. */
export interface ActClaim {
  sub: string;
  client_id?: string;
  /** Set when the actor was named by an external issuer. */
  iss?: string;
  act?: ActClaim;
}

export interface MintedAccessToken {
  token: string;
  jti: string;
  expiresAt: number;
  /** The DPoP key thumbprint it is bound to, if any. */
  jkt?: string;
  /** The certificate thumbprint (x5t#S256) it is bound to, if any. */
  x5t?: string;
}

export function mintAccessToken(
  ring: KeyRing,
  c: {
    issuer: string;
    sub: string;
    clientId: string;
    audience: string;
    scope: string;
    now: number;
    ttl: number;
    authTime?: number | null;
    /** The user's authentication (a user grant's amr, and its acr): RFC 9068 section 2.2.1. */
    acr?: string;
    amr?: readonly string[];
    jkt?: string;
    x5t?: string;
    act?: ActClaim;
    authorizationDetails?: unknown[];
    signer?: SigningKey;
    /** Claims from the directory (protocol/directory-claims.ts: never a reserved name); set before the others. */
    extra?: Record<string, unknown>;
  },
): MintedAccessToken {
  const jti = newJti();
  const exp = c.now + c.ttl;
  const claims: AccessTokenClaims = {
    ...c.extra,
    iss: c.issuer,
    sub: c.sub,
    aud: c.audience,
    exp,
    iat: c.now,
    jti,
    client_id: c.clientId,
  };
  if (c.scope) claims.scope = c.scope;
  if (c.authTime != null) claims.auth_time = c.authTime;
  if (c.acr) claims.acr = c.acr;
  if (c.amr?.length) claims.amr = [...c.amr];
  if (c.jkt && c.x5t) throw new Error('an access token is bound to a DPoP key or a certificate, not both');
  if (c.jkt) claims.cnf = { jkt: c.jkt };
  if (c.x5t) claims.cnf = { 'x5t#S256': c.x5t };
  if (c.act) claims.act = c.act;
  if (c.authorizationDetails) claims.authorization_details = c.authorizationDetails;
  return {
    token: signJwt(c.signer ?? ring.active, 'at+jwt', claims),
    jti,
    expiresAt: exp,
    jkt: c.jkt,
    ...(c.x5t ? { x5t: c.x5t } : {}),
  };
}

/** Resolves the verification key for a JWS header from the key ring; refuses alg/kid mismatches. */
export function keyResolver(ring: KeyRing) {
  return (header: JWTHeaderParameters) => {
    const k = header.kid ? ring.verification.get(header.kid) : undefined;
    if (!k || k.alg !== header.alg) throw new joseErrors.JWKSNoMatchingKey();
    return k.key;
  };
}

const ACCESS_REQUIRED = ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id'];

/** The claims of an access token that passed verification. */
export type VerifiedAccessToken = JWTPayload & AccessTokenClaims;

/**
 * Tokens already verified against a key ring, so that a resource server introspecting the same
 * token on every call pays for the signature check once (the seam of the verification memo, one per
 * Provider: `verifiedTokens`). Expiry is judged by the provider's clock.
 */
export interface AccessTokenMemo {
  /**
   * The claims remembered for `token` under `ring`: if unexpired, or any with `allowExpired`; expired ones are
   * forgotten.
   */
  recall(ring: KeyRing, token: string, allowExpired: boolean): VerifiedAccessToken | undefined;
  /** Remembers the claims of a token just verified under `ring`, unless it has expired. */
  remember(ring: KeyRing, token: string, claims: VerifiedAccessToken): void;
}

const MEMO_SIZE = 10_000;

/**
 * The verification memo: bounded (the oldest entry goes first), entries dropped once their token
 * has expired by `now` (epoch seconds), and a new key ring starts a new memo.
 */
export function accessTokenMemo(now: () => number, size = MEMO_SIZE): AccessTokenMemo {
  let memoRing: KeyRing | undefined;
  let memo = new Map<string, VerifiedAccessToken>();
  const memoFor = (ring: KeyRing) => {
    if (ring !== memoRing) {
      memoRing = ring;
      memo = new Map();
    }
    return memo;
  };
  return {
    recall(ring, token, allowExpired) {
      const m = memoFor(ring);
      const known = m.get(token);
      if (known === undefined || allowExpired || known.exp > now()) return known;
      m.delete(token);
      return undefined;
    },
    remember(ring, token, claims) {
      if (claims.exp <= now()) return;
      const m = memoFor(ring);
      if (m.size >= size) m.delete(m.keys().next().value!);
      m.set(token, Object.freeze(claims));
    },
  };
}

/** What verifyAccessToken uses of the Provider. */
export interface AccessTokenVerifierDeps {
  keys(): KeyRing;
  readonly config: { readonly issuer: string };
  readonly verifiedTokens: AccessTokenMemo;
}

/**
 * Verifies an access token Tessera issued: signature by a published key, the at+jwt type, issuer
 * and lifetime. Returns undefined for anything that is not a valid, unexpired access token.
 */
export async function verifyAccessToken(
  p: AccessTokenVerifierDeps,
  token: string,
  opts: { allowExpired?: boolean } = {},
): Promise<VerifiedAccessToken | undefined> {
  const ring = p.keys();
  const issuer = p.config.issuer;
  const allowExpired = opts.allowExpired === true;
  const known = p.verifiedTokens.recall(ring, token, allowExpired);
  if (known && known.iss === issuer) return known;
  const verified = await verifyWithJose(ring, issuer, token, allowExpired);
  if (verified) p.verifiedTokens.remember(ring, token, verified);
  return verified;
}

async function verifyWithJose(
  ring: KeyRing,
  issuer: string,
  token: string,
  allowExpired: boolean,
): Promise<VerifiedAccessToken | undefined> {
  const opts = { allowExpired };
  try {
    const { payload } = await jwtVerify(token, keyResolver(ring), {
      issuer,
      typ: 'at+jwt',
      algorithms: ring.algorithms,
      requiredClaims: ACCESS_REQUIRED,
      currentDate: opts.allowExpired ? new Date(0) : undefined,
    });
    if (typeof payload.client_id !== 'string' || typeof payload.jti !== 'string') return undefined;
    if (typeof payload.exp !== 'number' || typeof payload.sub !== 'string') return undefined;
    return payload as VerifiedAccessToken;
  } catch {
    return undefined;
  }
}
