// JWT Secured Authorization Response Mode (JARM, OpenID Foundation): the authorization response
// parameters, signed by Tessera as one JWT sent in the single `response` parameter.
import type { ClientRecord } from '../../ports/clients.ts';
import { OAuthError, invalidRequest } from '../errors.ts';
import type { KeyRing } from '../tokens/keys.ts';
import { responseAlg, unavailableAlg } from '../tokens/response-algs.ts';
import { signJwt, type SigningKey } from '../tokens/signer.ts';
import type { DepsOf } from '../provider.ts';

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
export function responseModeFor(
  client: Pick<ClientRecord, 'metadata'>,
  requested: string | undefined,
  jarm = true,
): ResponseMode {
  // TESSERA_FEATURES_DISABLED=jarm: the JWT modes are unknown values, and responses are never signed.
  if (!jarm) {
    if (requested === undefined || requested === 'query' || requested === 'form_post') return requested ?? 'query';
    throw invalidRequest(`response_mode must be one of ${PLAIN_MODES.join(', ')}.`);
  }
  switch (requested) {
    case undefined:
      return client.metadata.authorization_signed_response_alg !== undefined ? 'query.jwt' : 'query';
    case 'query':
    case 'form_post':
    case 'query.jwt':
    case 'form_post.jwt':
      return requested;
    case 'jwt':
      return 'query.jwt';
    default:
      throw invalidRequest(`response_mode must be one of ${RESPONSE_MODES.join(', ')}.`);
  }
}

/** The response mode for an error answer when the request's own response_mode may be invalid. */
export function errorResponseModeFor(
  client: Pick<ClientRecord, 'metadata'>,
  requested: string | undefined,
  jarm = true,
): ResponseMode {
  try {
    return responseModeFor(client, requested, jarm);
  } catch {
    return responseModeFor(client, undefined, jarm);
  }
}

type AlgProvider = { config: DepsOf<typeof responseAlg>; keys(): KeyRing };

/**
 * The algorithm of this client's signed authorization responses: the registered one, else RS256
 * (JARM section 3; FAPI clients ES256). '' when none fits (a FAPI client on a server that signs
 * with no FAPI algorithm): no key has it, so jarmSigner refuses rather than falling back to RS256.
 */
export function jarmAlgFor(p: AlgProvider, client: Pick<ClientRecord, 'metadata'>): string {
  return responseAlg(p.config, client, 'authorization') ?? '';
}

/**
 * The key that signs a JARM response in `alg` (decided with the request; a request stored before
 * that was recorded gets the default). Nothing is sent to the client when no key has that algorithm:
 * it could not verify the response (an error page instead).
 */
export function jarmSigner(p: AlgProvider, alg: string | undefined): SigningKey {
  const chosen = alg ?? jarmAlgFor(p, { metadata: {} });
  const key = p.keys().signer(chosen);
  if (!key) {
    const err = unavailableAlg('authorization', chosen);
    throw new OAuthError(
      'invalid_request',
      'This server cannot sign authorization responses with the algorithm this application is registered for.',
      { redirectable: false, detail: err.detail },
    );
  }
  return key;
}

/**
 * The signed response (JARM section 2.1): iss, aud (the client), exp (TESSERA_JARM_TTL) and the
 * response parameters (code and state, or error, error_description and state), under `key` (jarmSigner).
 */
export function jarmResponseJwt(
  key: SigningKey,
  c: { issuer: string; clientId: string; now: number; ttl: number; fields: Record<string, string> },
): string {
  const payload: Record<string, unknown> = {
    ...c.fields,
    iss: c.issuer,
    aud: c.clientId,
    exp: c.now + c.ttl,
    iat: c.now,
  };
  return signJwt(key, 'JWT', payload);
}
