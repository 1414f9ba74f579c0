// JWT Secured Authorization Response Mode (JARM, OpenID Foundation): the authorization response
// parameters, signed by Tessera as one JWT sent in the single `response` parameter.
import type { ClientRecord } from '../../ports/clients.ts';
import { invalidRequest } from '../errors.ts';
import { signJwt, type SigningKey } from '../tokens/signer.ts';

/** Every response mode Tessera answers in (code flow only, so JARM's `jwt` is `query.jwt`). */
export type ResponseMode = 'query' | 'form_post' | 'query.jwt' | 'form_post.jwt';

/** The values of response_mode accepted at /authorize and /par, and advertised in discovery. */
export const RESPONSE_MODES = ['query', 'form_post', 'jwt', 'query.jwt', 'form_post.jwt'] as const;

/** The response modes without JARM. */
export const PLAIN_MODES = ['query', 'form_post'] as const;

export const isJwtMode = (mode: ResponseMode): boolean => mode.endsWith('.jwt');

/**
 * The response mode of a request: the one asked for (JARM section 2.3; `jwt` is `query.jwt` for
 * the code flow), else JWT responses for a client registered with authorization_signed_response_alg
 * (JARM section 3), else query. Throws invalid_request for an unknown value.
 */
export function responseModeFor(client: Pick<ClientRecord, 'metadata'>, requested: string | undefined, jarm = true): ResponseMode {
  // TESSERA_FEATURES_DISABLED=jarm: the JWT modes are unknown values, and responses are never signed.
  if (!jarm) {
    if (requested === undefined || requested === 'query' || requested === 'form_post') return requested ?? 'query';
    throw invalidRequest(`response_mode must be one of ${PLAIN_MODES.join(', ')}.`);
  }
  switch (requested) {
    case undefined: return client.metadata.authorization_signed_response_alg !== undefined ? 'query.jwt' : 'query';
    case 'query': case 'form_post': case 'query.jwt': case 'form_post.jwt': return requested;
    case 'jwt': return 'query.jwt';
    default: throw invalidRequest(`response_mode must be one of ${RESPONSE_MODES.join(', ')}.`);
  }
}

/** The response mode for an error answer when the request's own response_mode may be invalid. */
export function errorResponseModeFor(client: Pick<ClientRecord, 'metadata'>, requested: string | undefined, jarm = true): ResponseMode {
  try { return responseModeFor(client, requested, jarm); } catch { return responseModeFor(client, undefined, jarm); }
}

/**
 * The signed response (JARM section 2.1): iss, aud (the client), exp (TESSERA_JARM_TTL) and the
 * response parameters (code and state, or error, error_description and state), under the active key.
 */
export function jarmResponseJwt(key: SigningKey, c: { issuer: string; clientId: string; now: number; ttl: number; fields: Record<string, string> }): string {
  const payload: Record<string, unknown> = { ...c.fields, iss: c.issuer, aud: c.clientId, exp: c.now + c.ttl, iat: c.now };
  return signJwt(key, 'JWT', payload);
}
