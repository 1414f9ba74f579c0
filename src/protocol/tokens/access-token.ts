import { jwtVerify, errors as joseErrors, type JWTPayload, type JWTHeaderParameters } from 'jose';
import { randomToken } from '../hash.ts';
import type { KeyRing } from './keys.ts';
import { signJwt } from './signer.ts';

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
}

export interface MintedAccessToken {
  token: string;
  jti: string;
  expiresAt: number;
}

export function mintAccessToken(
  ring: KeyRing,
  c: { issuer: string; sub: string; clientId: string; audience: string; scope: string; now: number; ttl: number; authTime?: number | null },
): MintedAccessToken {
  const jti = randomToken(16);
  const exp = c.now + c.ttl;
  const claims: AccessTokenClaims = { iss: c.issuer, sub: c.sub, aud: c.audience, exp, iat: c.now, jti, client_id: c.clientId };
  if (c.scope) claims.scope = c.scope;
  if (c.authTime != null) claims.auth_time = c.authTime;
  return { token: signJwt(ring.active, 'at+jwt', claims), jti, expiresAt: exp };
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

/**
 * Verifies an access token Tessera issued: signature by a published key, the at+jwt type, issuer
 * and lifetime. Returns undefined for anything that is not a valid, unexpired access token.
 */
export async function verifyAccessToken(ring: KeyRing, issuer: string, token: string, opts: { allowExpired?: boolean } = {}): Promise<(JWTPayload & AccessTokenClaims) | undefined> {
  try {
    const { payload } = await jwtVerify(token, keyResolver(ring), {
      issuer,
      typ: 'at+jwt',
      algorithms: ring.algorithms,
      requiredClaims: ACCESS_REQUIRED,
      currentDate: opts.allowExpired ? new Date(0) : undefined,
    });
    if (typeof payload.client_id !== 'string' || typeof payload.jti !== 'string') return undefined;
    return payload as JWTPayload & AccessTokenClaims;
  } catch {
    return undefined;
  }
}
