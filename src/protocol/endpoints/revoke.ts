import { authenticateClient, CLIENT_AUTH_PARAMS, type ClientAuthDeps } from '../client-auth/authenticate-client.ts';
import { OAuthError, invalidRequest } from '../errors.ts';
import { findRefreshToken } from '../grants/user-tokens.ts';
import { MAX_TOKEN_LENGTH, readParams } from '../params.ts';
import type { Stores } from '../../ports/index.ts';
import type { OAuthResponse, Provider, ProtocolRequest } from '../provider.ts';
import { verifyAccessToken, type AccessTokenVerifierDeps } from '../tokens/access-token.ts';
import { NO_STORE } from './token.ts';
import { checkFapiClientAuth, type FapiDeps } from '../fapi.ts';

/** What revocation uses of the Provider: grants and revocations, the verifier, client authentication. */
export type RevokeDeps = Pick<Provider, 'now' | 'events' | 'log'> & {
  readonly stores: Pick<Stores, 'grants' | 'revocations'>;
} & AccessTokenVerifierDeps &
  ClientAuthDeps &
  FapiDeps;

const PARAMS = new Set(['token', 'token_type_hint', ...CLIENT_AUTH_PARAMS]);
const notYours = () => new OAuthError('unauthorized_client', 'The token was not issued to this client.');

/** Returns true when the value was a refresh token (and has been dealt with). */
async function revokeRefreshToken(p: RevokeDeps, token: string, clientId: string, ip: string): Promise<boolean> {
  const found = await findRefreshToken(p.stores.grants, token);
  if (!found) return false;
  if (found.refresh.clientId !== clientId) throw notYours();
  // Revoking a refresh token revokes its whole family and the access tokens issued from it.
  await p.stores.grants.revoke(found.grant.id, p.now());
  p.events({ type: 'token_revoked', tokenType: 'refresh_token', clientId, ip });
  p.log.info({ event: 'grant_revoked', client_id: clientId, grant: found.grant.id }, 'refresh token revoked');
  return true;
}

async function revokeAccessToken(p: RevokeDeps, token: string, clientId: string, ip: string): Promise<boolean> {
  const claims = await verifyAccessToken(p, token, { allowExpired: true });
  if (!claims) return false;
  if (claims.client_id !== clientId) throw notYours();
  if (claims.exp > p.now()) {
    await p.stores.revocations.revokeAccessToken(claims.jti, claims.exp);
    p.events({ type: 'token_revoked', tokenType: 'access_token', clientId, ip });
  }
  return true;
}

/** POST /revoke (RFC 7009). Unknown or invalid tokens are answered with 200 as well. */
export async function revoke(p: RevokeDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const params = readParams(req.params, PARAMS, { token: MAX_TOKEN_LENGTH });
  const { client, method } = await authenticateClient(p, req, params, { allowPublic: true });
  checkFapiClientAuth(p, client, method, params.client_assertion);
  if (!params.token) throw invalidRequest('token is required.');
  const order =
    params.token_type_hint === 'access_token'
      ? [revokeAccessToken, revokeRefreshToken]
      : [revokeRefreshToken, revokeAccessToken];
  for (const f of order) if (await f(p, params.token, client.clientId, req.ip)) break;
  return { kind: 'json', status: 200, body: {}, headers: NO_STORE };
}
