// Checks that a server really did the work: tokens are JWTs signed by a key the server publishes,
// with the expected header and claims. Run before any measurement, so a misconfigured server
// cannot produce fast error responses that look like throughput.
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';

export class ValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValidationError';
  }
}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ValidationError(message);
}

export async function getJson(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ValidationError(`${init?.method ?? 'GET'} ${url}: status ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  return { status: res.status, body, headers: res.headers };
}

export async function fetchJwks(url: string): Promise<JSONWebKeySet> {
  const { status, body } = await getJson(url);
  check(status === 200, `JWKS ${url}: status ${status}`);
  checkJwks(body);
  return body as unknown as JSONWebKeySet;
}

/** A JWKS with at least one public EC P-256 signing key with a kid, and no private parts. */
export function checkJwks(body: Record<string, unknown>): void {
  const keys = body.keys as Record<string, unknown>[] | undefined;
  check(Array.isArray(keys) && keys.length > 0, 'JWKS has no keys');
  check(
    keys.some((k) => k.kty === 'EC' && k.crv === 'P-256' && typeof k.kid === 'string'),
    'JWKS has no P-256 key with a kid',
  );
  check(
    keys.every((k) => !('d' in k) && !('p' in k)),
    'JWKS publishes private key material',
  );
}

export interface AccessTokenExpectation {
  issuer: string;
  audience: string;
  clientId: string;
  scope?: string;
  sub?: string;
}

/**
 * Verifies an RFC 9068 access token: ES256 signature by a published key, typ at+jwt, iss, aud, client_id, scope, exp.
 */
export async function verifyAccessToken(
  token: unknown,
  jwks: JSONWebKeySet,
  e: AccessTokenExpectation,
): Promise<JWTPayload> {
  check(typeof token === 'string' && token.split('.').length === 3, 'access token is not a compact JWT');
  const header = decodeProtectedHeader(token);
  check(header.alg === 'ES256', `access token alg is ${header.alg}, expected ES256`);
  check(
    typeof header.typ === 'string' && /^(application\/)?at\+jwt$/i.test(header.typ),
    `access token typ is ${header.typ}, expected at+jwt`,
  );
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: e.issuer,
      audience: e.audience,
      algorithms: ['ES256'],
    }));
  } catch (err) {
    throw new ValidationError(`access token does not verify: ${(err as Error).message}`);
  }
  check(
    payload.client_id === e.clientId,
    `access token client_id is ${String(payload.client_id)}, expected ${e.clientId}`,
  );
  check(typeof payload.exp === 'number' && payload.exp > Date.now() / 1000, 'access token is expired');
  check(typeof payload.jti === 'string', 'access token has no jti');
  if (e.scope)
    check(
      String(payload.scope ?? '')
        .split(' ')
        .includes(e.scope),
      `access token scope "${String(payload.scope)}" lacks ${e.scope}`,
    );
  if (e.sub) check(payload.sub === e.sub, `access token sub is ${payload.sub}, expected ${e.sub}`);
  return payload;
}

/** Verifies an ID token: ES256 signature, iss, aud = the client, nonce when given. */
export async function verifyIdToken(
  token: unknown,
  jwks: JSONWebKeySet,
  e: { issuer: string; clientId: string; nonce?: string },
): Promise<JWTPayload> {
  check(typeof token === 'string', 'no id_token');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: e.issuer,
      audience: e.clientId,
      algorithms: ['ES256'],
    }));
  } catch (err) {
    throw new ValidationError(`id_token does not verify: ${(err as Error).message}`);
  }
  if (e.nonce !== undefined) check(payload.nonce === e.nonce, 'id_token nonce does not match');
  check(typeof payload.sub === 'string', 'id_token has no sub');
  return payload;
}
