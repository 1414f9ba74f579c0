import { decodeProtectedHeader, errors as joseErrors, type JWSHeaderParameters, type JWTPayload } from 'jose';
import type { ClientRecord } from '../../ports/clients.ts';
import { ASYMMETRIC_ALGS } from '../client-auth/client-assertion.ts';
import { clientKeys, ClientKeys, ClientKeysError, verifyWithClientKeys } from '../client-auth/client-keys.ts';
import { OAuthError } from '../errors.ts';
import { readParams, type Params } from '../params.ts';
import type { Stores } from '../../ports/index.ts';
import type { Provider } from '../provider.ts';
import { AUTHORIZE_LIMITS, AUTHORIZE_PARAMS, MAX_REQUEST_OBJECT_LENGTH } from './authorize-params.ts';
import type { DepsOf } from '../provider.ts';

// RFC 9101 (JAR): authorization request parameters sent as a JWT signed by the client. Called by
// /authorize for the `request` parameter, and by PAR for a request object pushed there.

/** What request objects use of the Provider: its clock, the replay cache, and the client key sets. */
export type RequestObjectDeps = Pick<Provider, 'config' | 'now'> & {
  readonly stores: Pick<Stores, 'replay'>;
} & DepsOf<typeof clientKeys>;

/** typ values accepted: none, plain JWT, or RFC 9101's oauth-authz-req+jwt. */
const REQUEST_TYPES = new Set([undefined, 'JWT', 'jwt', 'oauth-authz-req+jwt', 'application/oauth-authz-req+jwt']);
/** JWT claims that are not authorization parameters. */
const JWT_CLAIMS = new Set(['iss', 'aud', 'exp', 'iat', 'nbf', 'jti', 'sub']);
const MAX_JTI_LENGTH = 200;

const invalidObject = (description: string, detail?: string) =>
  new OAuthError('invalid_request_object', description, { detail });

/** The algorithms accepted for this client's request objects. */
export function requestObjectAlgorithms(client: ClientRecord): string[] {
  const registered = client.metadata.request_object_signing_alg;
  return typeof registered === 'string' ? [registered] : [...ASYMMETRIC_ALGS];
}

/**
 * Verifies a request object of `client` and returns the authorization parameters it carries: only
 * those (RFC 9101 section 5), with client_id set. Refused with invalid_request_object: encrypted or
 * unsigned objects, alg none or not on the client's list, a signature not made by a key of the
 * client, iss other than the client_id, aud other than the issuer, exp missing or further ahead
 * than TESSERA_CLIENT_JWT_MAX_LIFETIME, nbf or iat in the future (beyond TESSERA_CLOCK_SKEW), jti
 * missing or used before (stores.replay), a client_id claim naming another client, and claims
 * that are not single string (or, for max_age, integer) values.
 */
export async function resolveRequestObject(p: RequestObjectDeps, client: ClientRecord, jwt: string): Promise<Params> {
  if (jwt.length > MAX_REQUEST_OBJECT_LENGTH) throw invalidObject('The request object is too large.');
  const parts = jwt.split('.');
  if (parts.length === 5) throw invalidObject('Encrypted request objects are not supported.');
  let header: JWSHeaderParameters;
  try {
    if (parts.length !== 3) throw new Error('not a compact JWS');
    header = decodeProtectedHeader(jwt) as JWSHeaderParameters;
  } catch {
    throw invalidObject('The request object is not a signed JWT.');
  }
  const algorithms = requestObjectAlgorithms(client);
  if (header.alg === 'none' || parts[2] === '') throw invalidObject('Unsigned request objects are not accepted.');
  if (typeof header.alg !== 'string' || !algorithms.includes(header.alg))
    throw invalidObject(
      'The request object is signed with an algorithm not allowed for this client.',
      `alg ${String(header.alg)}`,
    );
  if (!REQUEST_TYPES.has(header.typ)) throw invalidObject('The request object has the wrong typ.', `typ ${header.typ}`);
  if (!ClientKeys.has(client))
    throw invalidObject('This client has no registered keys to verify request objects with.');

  const now = p.now();
  const skew = p.config.clockSkew;
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await verifyWithClientKeys(clientKeys(p), client, jwt, {
      algorithms,
      issuer: client.clientId,
      audience: p.config.issuer,
      clockTolerance: skew,
      requiredClaims: ['exp', 'jti'],
      currentDate: new Date(now * 1000),
    }));
  } catch (err) {
    if (err instanceof ClientKeysError && err.reason === 'ambiguous_key')
      throw invalidObject(
        "Several of the client's keys match the request object; name the signing key with kid in its header.",
        `${err.reason}: ${err.message}`,
      );
    if (err instanceof ClientKeysError)
      throw invalidObject(
        "The request object could not be verified with the client's keys.",
        `${err.reason}: ${err.message}`,
      );
    if (err instanceof joseErrors.JWTExpired) throw invalidObject('The request object has expired.');
    if (err instanceof joseErrors.JOSEError)
      throw invalidObject('The request object is invalid.', `${err.code}: ${err.message}`);
    throw err;
  }
  const exp = claims.exp!;
  if (exp > now + p.config.clientJwtMaxLifetime + skew)
    throw invalidObject('The request object expires too far in the future.');
  if (claims.iat !== undefined && claims.iat > now + skew)
    throw invalidObject('The request object was issued in the future.');
  if (claims.nbf !== undefined && exp - claims.nbf > p.config.clientJwtMaxLifetime)
    throw invalidObject('The request object is valid for too long.');
  if (claims.client_id !== undefined && claims.client_id !== client.clientId)
    throw invalidObject('client_id in the request object differs from the client_id of the request.');
  if (typeof claims.jti !== 'string' || claims.jti === '' || claims.jti.length > MAX_JTI_LENGTH)
    throw invalidObject('jti must be a string of 1-200 characters.');

  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(claims)) {
    if (JWT_CLAIMS.has(name) || name === 'request' || name === 'request_uri' || !AUTHORIZE_PARAMS.has(name)) continue;
    if (typeof value === 'string') params.append(name, value);
    // RFC 9396 section 3: inside a request object authorization_details is the JSON array itself.
    else if (name === 'authorization_details' && Array.isArray(value)) params.append(name, JSON.stringify(value));
    else if (
      name === 'resource' &&
      Array.isArray(value) &&
      value.length > 0 &&
      value.every((v) => typeof v === 'string')
    )
      for (const v of value) params.append(name, v);
    else if (name === 'max_age' && Number.isSafeInteger(value)) params.append(name, String(value));
    // OIDC Core 6.1: inside a request object, claims is a JSON object (checked like the parameter).
    else if (name === 'claims' && typeof value === 'object' && value !== null && !Array.isArray(value))
      params.append(name, JSON.stringify(value));
    else throw invalidObject(`${name} in the request object must be a single string.`);
  }
  params.set('client_id', client.clientId);
  const out = readParams(params, AUTHORIZE_PARAMS, AUTHORIZE_LIMITS);
  // Single use last, so that an object refused for its content can be mended and sent with a new jti.
  const issuedAt = Math.floor(claims.iat ?? exp - p.config.clientJwtMaxLifetime) - skew;
  if (!(await p.stores.replay.claim(`request_object:${client.clientId}:${claims.jti}`, exp + skew, now, issuedAt)))
    throw invalidObject('The request object was used before.');
  return out;
}
