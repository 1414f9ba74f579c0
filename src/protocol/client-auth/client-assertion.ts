import {
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWSHeaderParameters,
} from 'jose';
import type { ClientAuthMethod, ClientRecord } from '../../ports/clients.ts';
import { OAuthError } from '../errors.ts';
import { MAX_TOKEN_LENGTH } from '../params.ts';
import type { Stores } from '../../ports/index.ts';
import type { Provider } from '../provider.ts';
import { clientKeys, ClientKeysError, verifyWithClientKeys } from './client-keys.ts';
import { unwrapClientSecret } from './secret-hash.ts';
import type { DepsOf } from '../provider.ts';

// RFC 7523 client authentication: private_key_jwt (signed with a key of the client's jwks or
// jwks_uri) and client_secret_jwt (HMAC with the client secret).

/** What assertion verification uses of the Provider: its clock, the clients and replay stores, the client key sets. */
export type ClientAssertionDeps = Pick<Provider, 'config' | 'now'> & {
  readonly stores: Pick<Stores, 'clients' | 'replay'>;
} & DepsOf<typeof clientKeys>;

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/**
 * Asymmetric algorithms accepted for private_key_jwt and request objects (Ed25519 is RFC 9864's fully specified name
 * for EdDSA with Ed25519).
 */
export const ASYMMETRIC_ALGS = ['ES256', 'PS256', 'RS256', 'EdDSA', 'Ed25519'] as const;
/** HMAC algorithms accepted for client_secret_jwt. */
export const HMAC_ALGS = ['HS256', 'HS384', 'HS512'] as const;
/**
 * typ values accepted on an assertion: none, plain JWT, or the one draft-ietf-oauth-rfc7523bis defines. Other explicit
 * types (at+jwt, dpop+jwt, ...) are other kinds of JWT.
 */
const ASSERTION_TYPES = new Set([
  undefined,
  'JWT',
  'jwt',
  'client-authentication+jwt',
  'application/client-authentication+jwt',
]);
const MAX_JTI_LENGTH = 200;

/** invalid_client with a short non-secret reason for the audit trail and the client id it concerned. */
export class ClientAuthError extends OAuthError {
  readonly reason: string;
  readonly clientId: string | undefined;
  /** The JWT method of the client, once the client is known (private_key_jwt or client_secret_jwt). */
  method: ClientAuthMethod | undefined;
  constructor(reason: string, detail: string, clientId?: string, description = 'Client authentication failed.') {
    super('invalid_client', description, { detail: `${reason}: ${detail}` });
    this.reason = reason;
    this.clientId = clientId;
  }
}

/** The algorithms a client's assertions may use: its registered one, else the family of its method. */
export function assertionAlgorithms(client: ClientRecord): string[] {
  const registered = client.metadata.token_endpoint_auth_signing_alg;
  if (typeof registered === 'string') return [registered];
  return client.tokenEndpointAuthMethod === 'client_secret_jwt' ? [...HMAC_ALGS] : [...ASYMMETRIC_ALGS];
}

/**
 * Verifies a client assertion and returns the client it authenticates. Checks, in order: size and
 * shape (a JWS, not a JWE), iss = sub = client_id (and the client_id parameter, when sent, names
 * the same client), the client is registered for this JWT method, the alg is on the client's
 * allow-list (never none; never HMAC for private_key_jwt, never asymmetric for client_secret_jwt),
 * the signature, aud is the issuer identifier as a single string (or the token endpoint URL with
 * TESSERA_ASSERTION_TOKEN_ENDPOINT_AUDIENCE), exp present and at most
 * TESSERA_CLIENT_JWT_MAX_LIFETIME ahead, nbf and iat within TESSERA_CLOCK_SKEW, jti present and
 * not seen before (stores.replay, until the assertion expires).
 */
export async function verifyClientAssertion(
  p: ClientAssertionDeps,
  assertion: string,
  clientIdParam: string | undefined,
): Promise<{ client: ClientRecord; method: ClientAuthMethod }> {
  if (assertion.length > MAX_TOKEN_LENGTH)
    throw new ClientAuthError('assertion_malformed', 'oversized client assertion', clientIdParam);
  let header: JWSHeaderParameters;
  let unverified: JWTPayload;
  try {
    if (assertion.split('.').length !== 3) throw new Error('not a compact JWS');
    header = decodeProtectedHeader(assertion) as JWSHeaderParameters;
    unverified = decodeJwt(assertion);
  } catch (err) {
    throw new ClientAuthError(
      'assertion_malformed',
      `client assertion does not parse: ${(err as Error).message}`,
      clientIdParam,
    );
  }
  const id = unverified.sub;
  if (typeof id !== 'string' || id === '' || id.length > 255)
    throw new ClientAuthError('assertion_invalid', 'client assertion without a usable sub', clientIdParam);
  if (unverified.iss !== id)
    throw new ClientAuthError('assertion_invalid', 'client assertion iss differs from sub', id);
  if (clientIdParam !== undefined && clientIdParam !== id)
    throw new ClientAuthError('client_id_mismatch', 'client_id differs from the assertion subject', clientIdParam);

  const client = await p.stores.clients.get(id);
  if (!client) throw new ClientAuthError('unknown_client', `unknown client ${id}`, id);
  const method = client.tokenEndpointAuthMethod;
  if (method !== 'private_key_jwt' && method !== 'client_secret_jwt')
    throw new ClientAuthError(
      'method_not_registered',
      `client ${id} is registered for ${method}, used a JWT assertion`,
      id,
    );
  try {
    await verifyFor(p, assertion, client, header);
  } catch (err) {
    if (err instanceof ClientAuthError) err.method = method;
    throw err;
  }
  return { client, method };
}

/** The checks once the client is known: algorithm, typ, signature, claims, single use. */
async function verifyFor(
  p: ClientAssertionDeps,
  assertion: string,
  client: ClientRecord,
  header: JWSHeaderParameters,
): Promise<void> {
  const id = client.clientId;
  const method = client.tokenEndpointAuthMethod;
  const algorithms = assertionAlgorithms(client);
  if (typeof header.alg !== 'string' || header.alg === 'none' || !algorithms.includes(header.alg)) {
    throw new ClientAuthError(
      'assertion_alg',
      `alg ${String(header.alg)} is not allowed for ${id} (allowed: ${algorithms.join(', ')})`,
      id,
    );
  }
  if (!ASSERTION_TYPES.has(header.typ))
    throw new ClientAuthError('assertion_invalid', `typ ${header.typ} is not a client assertion`, id);

  const now = p.now();
  const skew = p.config.clockSkew;
  let payload: JWTPayload;
  try {
    const audience = p.config.assertionTokenEndpointAudience
      ? [p.config.issuer, `${p.config.issuer}/token`]
      : p.config.issuer;
    const opts = {
      algorithms,
      issuer: id,
      subject: id,
      audience,
      clockTolerance: skew,
      requiredClaims: ['exp', 'jti'],
      currentDate: new Date(now * 1000),
    };
    if (method === 'client_secret_jwt') {
      const wrapped = client.metadata.client_secret_jwe;
      if (typeof wrapped !== 'string')
        throw new ClientAuthError('no_secret', `client ${id} has no stored secret for client_secret_jwt`, id);
      ({ payload } = await jwtVerify(assertion, await unwrapClientSecret(p.config.keyEncryptionKey, wrapped), opts));
    } else {
      ({ payload } = await verifyWithClientKeys(clientKeys(p), client, assertion, opts));
    }
  } catch (err) {
    if (err instanceof ClientAuthError) throw err;
    if (err instanceof ClientKeysError) {
      throw new ClientAuthError(
        err.reason,
        err.message,
        id,
        err.reason === 'ambiguous_key'
          ? "Client authentication failed: several of the client's keys match the assertion; name the signing key with kid in its header."
          : undefined,
      );
    }
    if (err instanceof joseErrors.JWTExpired)
      throw new ClientAuthError('assertion_expired', 'client assertion has expired', id);
    if (err instanceof joseErrors.JOSEError)
      throw new ClientAuthError('assertion_invalid', `client assertion rejected: ${err.code}: ${err.message}`, id);
    throw err;
  }
  if (typeof payload.aud !== 'string')
    throw new ClientAuthError('assertion_invalid', 'aud must be the issuer identifier as a single string', id);
  const exp = payload.exp!;
  if (exp > now + p.config.clientJwtMaxLifetime + skew)
    throw new ClientAuthError('assertion_lifetime', 'client assertion expires too far in the future', id);
  if (payload.iat !== undefined && (payload.iat > now + skew || exp - payload.iat > p.config.clientJwtMaxLifetime)) {
    throw new ClientAuthError(
      'assertion_lifetime',
      'client assertion iat is in the future or its lifetime is too long',
      id,
    );
  }
  const jti = payload.jti;
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH)
    throw new ClientAuthError('assertion_invalid', 'jti must be a string of 1-200 characters', id);
  // Made at the earliest: its iat, or its exp less the longest lifetime accepted, less the skew
  // (for a replay cache that lost its markers).
  const issuedAt = Math.floor(payload.iat ?? exp - p.config.clientJwtMaxLifetime) - skew;
  if (!(await p.stores.replay.claim(`assertion:${id}:${jti}`, exp + skew, now, issuedAt)))
    throw new ClientAuthError('assertion_replayed', 'client assertion jti was used before', id);
}
