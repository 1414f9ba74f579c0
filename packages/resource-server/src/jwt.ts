// RFC 9068: a JWT access token verified locally with jose: the at+jwt type, an algorithm from the
// allow-list, a key of the issuer's JWKS, iss, aud containing this resource, exp and nbf within the
// clock skew, and the claims RFC 9068 section 2.2 requires.
import { errors as joseErrors, jwtVerify } from 'jose';
import type { AuthorizationServer } from './authorization-server.ts';
import { InvalidTokenError, ResourceServerError } from './errors.ts';
import { audiencesOf, authenticationOf, confirmationOf, scopesOf, type VerifiedToken } from './token-info.ts';

/** Asymmetric JWS algorithms; `none` and the HMAC ones are never accepted for access tokens. */
export const DEFAULT_ALGORITHMS = [
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'RS256',
  'RS384',
  'RS512',
  'EdDSA',
  'Ed25519',
];

const REQUIRED = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'];

export interface JwtVerifyOptions {
  as: AuthorizationServer;
  audiences: readonly string[];
  algorithms: readonly string[];
  clockSkew: number;
  /** Seconds since the epoch. */
  now: () => number;
}

/** Whether a token has the shape of a JWS in compact serialization (three base64url parts, a JSON header). */
export function looksLikeJwt(token: string): boolean {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]+$/.test(p))) return false;
  try {
    const header: unknown = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
    return header !== null && typeof header === 'object' && typeof (header as { alg?: unknown }).alg === 'string';
  } catch {
    return false;
  }
}

/** Verifies an RFC 9068 access token; throws InvalidTokenError, or ServiceUnavailableError when the keys are out of reach. */
export async function verifyJwtAccessToken(token: string, o: JwtVerifyOptions): Promise<VerifiedToken> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, o.as.key, {
      issuer: o.as.issuer,
      audience: [...o.audiences],
      typ: 'at+jwt',
      algorithms: [...o.algorithms],
      clockTolerance: o.clockSkew,
      requiredClaims: REQUIRED,
      currentDate: new Date(o.now() * 1000),
    }));
  } catch (err) {
    if (err instanceof ResourceServerError) throw err;
    throw new InvalidTokenError(describe(err), { cause: err });
  }
  if (typeof payload.client_id !== 'string' || typeof payload.sub !== 'string' || typeof payload.jti !== 'string')
    throw new InvalidTokenError('The access token lacks client_id, sub or jti.');
  if (payload.scope !== undefined && typeof payload.scope !== 'string')
    throw new InvalidTokenError('The scope claim is malformed.');
  const cnf = confirmationOf(payload.cnf);
  if (cnf === 'malformed') throw new InvalidTokenError('The cnf claim is malformed.');
  return {
    token,
    source: 'jwt',
    scheme: 'Bearer',
    issuer: payload.iss as string,
    subject: payload.sub,
    clientId: payload.client_id,
    scopes: scopesOf(payload.scope),
    audience: audiencesOf(payload.aud),
    expiresAt: payload.exp as number,
    issuedAt: payload.iat as number,
    jti: payload.jti,
    cnf,
    ...authenticationOf(payload),
    claims: Object.freeze({ ...payload }),
  };
}

/** A description of why jose refused a token, without any of its content. */
function describe(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'The access token has expired.';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'The access token is not for this resource.';
    if (err.claim === 'iss') return 'The access token is from another issuer.';
    if (err.claim === 'nbf' || err.claim === 'iat') return 'The access token is not valid yet.';
    if (err.claim === 'typ') return 'The token is not an access token (typ at+jwt).';
    return `The access token has a missing or invalid ${err.claim} claim.`;
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed)
    return 'The access token is signed with an algorithm not accepted here.';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'The access token is signed with an unknown key.';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'The access token signature is invalid.';
  return 'The access token is malformed.';
}
