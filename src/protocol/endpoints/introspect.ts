import type { ClientRecord } from '../../ports/clients.ts';
import type { Stores } from '../../ports/index.ts';
import { authenticateClient, CLIENT_AUTH_PARAMS, type ClientAuthDeps } from '../client-auth/authenticate-client.ts';
import { OAuthError, invalidRequest } from '../errors.ts';
import { featureEnabled } from '../../config/features.ts';
import { findRefreshToken } from '../grants/user-tokens.ts';
import { MAX_TOKEN_LENGTH, readParams } from '../params.ts';
import { header, type OAuthResponse, type Provider, type ProtocolRequest } from '../provider.ts';
import { verifyAccessToken, type AccessTokenVerifierDeps } from '../tokens/access-token.ts';
import { responseSigner } from '../tokens/response-algs.ts';
import { signJwt } from '../tokens/signer.ts';
import { subjectFor } from '../tokens/subject.ts';
import { NO_STORE } from './token.ts';
import { checkFapiClientAuth, type FapiDeps } from '../fapi.ts';

/**
 * What introspection uses of the Provider: grants, revocations, keys and the verifier, subjects, client authentication.
 */
export type IntrospectDeps = Pick<Provider, 'config' | 'keys' | 'now' | 'pairwiseKeys'> & {
  readonly stores: Pick<Stores, 'grants' | 'revocations'>;
} & AccessTokenVerifierDeps &
  ClientAuthDeps &
  FapiDeps;

const PARAMS = new Set(['token', 'token_type_hint', ...CLIENT_AUTH_PARAMS]);
export const INTROSPECTION_JWT = 'application/token-introspection+jwt';

/** Whether the Accept header asks for a JWT response (RFC 9701 section 4): the media type listed with a non-zero q. */
export function wantsJwt(accept: string | undefined): boolean {
  if (!accept || accept.length > 1024) return false;
  return accept.split(',').some((range) => {
    const [type, ...params] = range.split(';').map((s) => s.trim().toLowerCase());
    if (type !== INTROSPECTION_JWT) return false;
    const q = params.find((x) => x.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/** The answer as JSON (RFC 7662), or as a JWT signed by Tessera for the calling client (RFC 9701 section 5). */
function answer(
  p: Pick<Provider, 'config' | 'keys' | 'now'>,
  req: ProtocolRequest,
  client: ClientRecord,
  body: object,
): OAuthResponse {
  const clientId = client.clientId;
  if (!wantsJwt(header(req, 'accept'))) return { kind: 'json', status: 200, body, headers: NO_STORE };
  // RFC 9701 answers are an optional feature (config/features.ts): refused rather than silently replaced.
  if (!featureEnabled(p.config, 'jwt_introspection'))
    throw new OAuthError('invalid_request', 'JWT introspection responses are disabled on this server.', {
      status: 406,
    });
  // Signed with the client's introspection_signed_response_alg, default RS256 (RFC 9701 section 6).
  const jwt = signJwt(responseSigner(p, client, 'introspection'), 'token-introspection+jwt', {
    iss: p.config.issuer,
    aud: clientId,
    iat: p.now(),
    token_introspection: body,
  });
  return { kind: 'raw', status: 200, contentType: INTROSPECTION_JWT, body: jwt, headers: NO_STORE };
}

async function introspectAccessToken(
  p: IntrospectDeps,
  token: string,
  _client: ClientRecord,
): Promise<object | undefined> {
  // The sub in the answer is the token's own: pairwise when the token was issued to a pairwise client.
  // One lookup decides: revoking a consent or a refresh-token family revokes the grant, and revoking
  // a grant lists every access token issued from it as revoked; a disabled client, or user (by a
  // public sub: a pairwise token is refused through its grant, which the disable revoked), refuses
  // every token issued before it was enabled again. Read fresh, never from a cache.
  const claims = await verifyAccessToken(p, token);
  if (!claims || (await p.stores.revocations.isTokenRevoked(claims))) return undefined;
  // RFC 9449 section 6.2: a DPoP-bound token is described with its cnf (in the claims) and token_type DPoP.
  return { active: true, token_type: claims.cnf?.jkt ? 'DPoP' : 'Bearer', ...claims };
}

async function introspectRefreshToken(
  p: IntrospectDeps,
  token: string,
  client: ClientRecord,
): Promise<object | undefined> {
  const clientId = client.clientId;
  const found = await findRefreshToken(p.stores.grants, token);
  const now = p.now();
  if (!found) return undefined;
  const { refresh, grant } = found;
  // A refresh token is described only to the client it was issued to.
  if (
    refresh.clientId !== clientId ||
    refresh.usedAt !== null ||
    refresh.expiresAt <= now ||
    grant.revokedAt !== null ||
    grant.expiresAt <= now
  )
    return undefined;
  return {
    active: true,
    token_type: 'refresh_token',
    client_id: refresh.clientId,
    sub: subjectFor(p.config.pairwiseSecret, client, grant.userId, p.pairwiseKeys),
    scope: refresh.scope,
    iss: p.config.issuer,
    iat: refresh.createdAt,
    exp: refresh.expiresAt,
    ...(grant.authorizationDetails ? { authorization_details: JSON.parse(grant.authorizationDetails) } : {}),
  };
}

/** POST /introspect (RFC 7662): confidential clients only. */
export async function introspect(p: IntrospectDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const params = readParams(req.params, PARAMS, { token: MAX_TOKEN_LENGTH });
  const { client, method } = await authenticateClient(p, req, params, { allowPublic: false });
  checkFapiClientAuth(p, client, method, params.client_assertion);
  if (!params.token) throw invalidRequest('token is required.');
  const order =
    params.token_type_hint === 'refresh_token'
      ? [introspectRefreshToken, introspectAccessToken]
      : [introspectAccessToken, introspectRefreshToken];
  for (const f of order) {
    const body = await f(p, params.token, client);
    if (body) return answer(p, req, client, body);
  }
  return answer(p, req, client, { active: false });
}
