import type { ClientRecord } from '../../ports/clients.ts';
import type { GrantRecord, GrantStore, RefreshTokenRecord } from '../../ports/grants.ts';
import { timeOrderedKey, timeOrderedToken } from '../hash.ts';
import type { Provider } from '../provider.ts';
import type { Config } from '../../config/config.ts';
import { mintAccessToken, type MintedAccessToken } from '../tokens/access-token.ts';
import { mintIdToken } from '../tokens/id-token.ts';
import type { SigningKey } from '../tokens/signer.ts';
import type { UserRecord } from '../../ports/users.ts';
import { acrFor } from '../claims-request.ts';
import { namedUserClaims, userClaims } from '../endpoints/userinfo.ts';
import { responseSigner } from '../tokens/response-algs.ts';
import { subjectFor } from '../tokens/subject.ts';
import { pickResource } from '../resources.ts';
import { tokenResponse, type DepsOf, type TokenResponse } from './grant.ts';
import type { AuthorizationDetail } from '../authorization-details.ts';
import { directoryClaims, type PreparedClaims } from '../directory-claims.ts';

/**
 * What the user grants' shared steps use: the clock, the key ring, these settings, and what the
 * ID token's signer needs.
 */
export type UserTokenDeps = Pick<Provider, 'now' | 'keys' | 'pairwiseKeys'> & {
  readonly config: Pick<
    Config,
    'issuer' | 'pairwiseSecret' | 'defaultAudience' | 'accessTokenTtl' | 'idTokenTtl' | 'refreshIdleTtl'
  >;
} & DepsOf<typeof responseSigner>;

/** Whether this client gets refresh tokens: only when it is registered for the refresh_token grant. */
export function issuesRefreshTokens(client: ClientRecord): boolean {
  return client.grantTypes.includes('refresh_token');
}

export function newRefreshToken(
  p: UserTokenDeps,
  grant: GrantRecord,
  scope: string,
): { value: string; record: RefreshTokenRecord } {
  const value = timeOrderedToken();
  const now = p.now();
  return {
    value,
    record: {
      tokenHash: timeOrderedKey(value),
      grantId: grant.id,
      clientId: grant.clientId,
      scope,
      createdAt: now,
      expiresAt: Math.min(now + p.config.refreshIdleTtl, grant.expiresAt),
      usedAt: null,
    },
  };
}

/** Longest value looked up as a refresh token where any token may come (Tessera's are 55 characters). */
const REFRESH_LOOKUP_MAX = 256;

/**
 * A refresh token presented where any token may be (introspection, revocation, token exchange):
 * its row and grant, found under the key newRefreshToken stored it by (timeOrderedKey, which also
 * finds a token issued before refresh tokens were time-ordered); undefined for an unknown value,
 * and without a lookup for a value longer than any refresh token.
 */
export async function findRefreshToken(grants: Pick<GrantStore, 'getRefresh'>, value: string) {
  if (value.length > REFRESH_LOOKUP_MAX) return undefined;
  return grants.getRefresh(timeOrderedKey(value));
}

/**
 * The access token of a user grant; bound to the DPoP key `jkt` (cnf.jkt) or the certificate `x5t`
 * (cnf x5t#S256) when one is given. Its `sub` is the one the client sees (pairwise for pairwise
 * clients, OpenID Connect Core 8); its audience is `resource` (RFC 8707: one of the grant's, chosen
 * by the token request), else the grant's only resource, else the default audience; its lifetime
 * `ttl` (the resource's policy, protocol/resources.ts accessTokenPolicy). It carries the
 * RFC 9396 `authorizationDetails` the token was granted with, when there are any.
 */
export function userAccessToken(
  p: UserTokenDeps,
  grant: GrantRecord,
  scope: string,
  client: ClientRecord,
  bind: {
    jkt?: string;
    x5t?: string;
    resource?: string | null;
    authorizationDetails?: AuthorizationDetail[];
    ttl?: number;
    signer?: SigningKey;
    /** The directory's claims of this issuance (directory-claims.ts), released by `scope`. */
    directory?: PreparedClaims;
  } = {},
): MintedAccessToken & { ttl: number } {
  const audience = bind.resource !== undefined ? bind.resource : pickResource(grant.resource, undefined);
  const ttl = bind.ttl ?? p.config.accessTokenTtl;
  return {
    ...mintAccessToken(p.keys(), {
      issuer: p.config.issuer,
      sub: subjectFor(p.config.pairwiseSecret, client, grant.userId, p.pairwiseKeys),
      clientId: grant.clientId,
      audience: audience ?? p.config.defaultAudience,
      scope,
      now: p.now(),
      ttl,
      authTime: grant.authTime,
      // RFC 9068 section 2.2.1: what the grant already holds (no read), so a resource server can ask for more.
      acr: acrFor(grant.amr, grant.claims?.acr),
      amr: grant.amr,
      jkt: bind.jkt,
      x5t: bind.x5t,
      authorizationDetails: bind.authorizationDetails,
      signer: bind.signer,
      extra: directoryClaims(bind.directory, scope, 'access_token'),
    }),
    ttl,
  };
}

/**
 * The claims of the user an ID token carries: by default those the granted `profile` and `email`
 * scopes cover (as Keycloak does: relying parties that read the profile from the ID token find it
 * there), unless the client is registered with `id_token_scope_claims: false` (OIDC Core 5.4: such
 * claims only at userinfo); then those the `claims` parameter asked for in the ID token by name
 * (OIDC Core 5.5; the only way to get any other claim there).
 */
export function idTokenUserClaims(
  client: ClientRecord,
  grant: Pick<GrantRecord, 'claims'>,
  scope: string,
  user: UserRecord | undefined,
): Record<string, unknown> {
  if (!user) return {};
  const { sub: _sub, ...byScope } =
    client.metadata.id_token_scope_claims === false ? { sub: undefined } : userClaims(user, scope.split(' '));
  return { ...byScope, ...(grant.claims ? namedUserClaims(user, grant.claims.id_token) : {}) };
}

/**
 * The token response for a user grant: access token, ID token when openid was granted, refresh token.
 * The ID token carries the client's sub for the user, the acr of the authentication and, given the
 * user, the claims of idTokenUserClaims. It is signed with the algorithm the client gets for ID
 * tokens (tokens/response-algs.ts), the access token with the server's own.
 */
export function userTokenResponse(
  p: UserTokenDeps,
  grant: GrantRecord,
  scope: string,
  access: MintedAccessToken & { ttl?: number },
  refresh: string | undefined,
  nonce: string | null,
  client: ClientRecord,
  user?: UserRecord,
  authorizationDetails?: AuthorizationDetail[],
  directory?: PreparedClaims,
): TokenResponse {
  let idToken: string | undefined;
  if (scope.split(' ').includes('openid')) {
    const acr = acrFor(grant.amr, grant.claims?.acr);
    idToken = mintIdToken(responseSigner(p, client, 'id_token'), {
      issuer: p.config.issuer,
      sub: subjectFor(p.config.pairwiseSecret, client, grant.userId, p.pairwiseKeys),
      clientId: grant.clientId,
      now: p.now(),
      ttl: p.config.idTokenTtl,
      authTime: grant.authTime,
      nonce,
      accessToken: access.token,
      sid: grant.sid,
      amr: grant.amr,
      claims: {
        ...directoryClaims(directory, scope, 'id_token'),
        ...idTokenUserClaims(client, grant, scope, user),
        ...(acr ? { acr } : {}),
      },
    });
  }
  // expires_in is the token's own lifetime (a registry resource may set it: protocol/resources.ts).
  // RFC 9396 section 7: the token response names the authorization details the token carries.
  const expiresIn = access.ttl ?? p.config.accessTokenTtl;
  return tokenResponse(access, expiresIn, { scope, authorizationDetails, refreshToken: refresh, idToken });
}
