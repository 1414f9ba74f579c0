import type { ClientRecord } from '../../ports/clients.ts';
import type { GrantRecord, RefreshTokenRecord } from '../../ports/grants.ts';
import { randomToken, tokenHash } from '../hash.ts';
import type { Provider } from '../provider.ts';
import { mintAccessToken, type MintedAccessToken } from '../tokens/access-token.ts';
import { mintIdToken } from '../tokens/id-token.ts';
import type { UserRecord } from '../../ports/users.ts';
import { acrFor } from '../claims-request.ts';
import { namedUserClaims } from '../endpoints/userinfo.ts';
import { subjectFor } from '../tokens/subject.ts';
import { pickResource } from '../resources.ts';
import type { TokenResponse } from './grant.ts';
import type { AuthorizationDetail } from '../authorization-details.ts';

/** Whether this client gets refresh tokens: only when it is registered for the refresh_token grant. */
export function issuesRefreshTokens(client: ClientRecord): boolean {
  return client.grantTypes.includes('refresh_token');
}

export function newRefreshToken(p: Provider, grant: GrantRecord, scope: string): { value: string; record: RefreshTokenRecord } {
  const value = randomToken(32);
  const now = p.now();
  return {
    value,
    record: {
      tokenHash: tokenHash(value), grantId: grant.id, clientId: grant.clientId, scope,
      createdAt: now, expiresAt: Math.min(now + p.config.refreshIdleTtl, grant.expiresAt), usedAt: null,
    },
  };
}

/**
 * The access token of a user grant; bound to the DPoP key `jkt` (cnf.jkt) or the certificate `x5t`
 * (cnf x5t#S256) when one is given. Its `sub` is the one the client sees (pairwise for pairwise
 * clients, OpenID Connect Core 8); its audience is `resource` (RFC 8707: one of the grant's, chosen
 * by the token request), else the grant's only resource, else the default audience. It carries the
 * RFC 9396 `authorizationDetails` the token was granted with, when there are any.
 */
export function userAccessToken(p: Provider, grant: GrantRecord, scope: string, client: ClientRecord, bind: { jkt?: string; x5t?: string; resource?: string | null; authorizationDetails?: AuthorizationDetail[] } = {}): MintedAccessToken {
  const audience = bind.resource !== undefined ? bind.resource : pickResource(grant.resource, undefined);
  return mintAccessToken(p.keys(), {
    issuer: p.config.issuer, sub: subjectFor(p.config.pairwiseSecret, client, grant.userId), clientId: grant.clientId, audience: audience ?? p.config.defaultAudience,
    scope, now: p.now(), ttl: p.config.accessTokenTtl, authTime: grant.authTime, jkt: bind.jkt, x5t: bind.x5t, authorizationDetails: bind.authorizationDetails,
  });
}

/**
 * The token response for a user grant: access token, ID token when openid was granted, refresh token.
 * The ID token carries the client's sub for the user, the acr of the authentication and, given the
 * user, the claims the authorization request's `claims` parameter asked for (OIDC Core 5.5).
 */
export function userTokenResponse(p: Provider, grant: GrantRecord, scope: string, access: MintedAccessToken, refresh: string | undefined, nonce: string | null, client: ClientRecord, user?: UserRecord, authorizationDetails?: AuthorizationDetail[]): TokenResponse {
  const res: TokenResponse = { access_token: access.token, token_type: access.jkt ? 'DPoP' : 'Bearer', expires_in: p.config.accessTokenTtl, scope };
  // RFC 9396 section 7: the token response names the authorization details the token carries.
  if (authorizationDetails) res.authorization_details = authorizationDetails;
  if (refresh) res.refresh_token = refresh;
  if (scope.split(' ').includes('openid')) {
    res.id_token = mintIdToken(p.keys(), {
      issuer: p.config.issuer, sub: subjectFor(p.config.pairwiseSecret, client, grant.userId), clientId: grant.clientId, now: p.now(), ttl: p.config.idTokenTtl,
      authTime: grant.authTime, nonce, accessToken: access.token, sid: grant.sid, amr: grant.amr,
      claims: { ...(user && grant.claims ? namedUserClaims(user, grant.claims.id_token) : {}), ...(acrFor(grant.amr) ? { acr: acrFor(grant.amr) } : {}) },
    });
  }
  return res;
}

