import { OAuthError, invalidGrant, invalidRequest } from '../errors.ts';
import { tokenHash } from '../hash.ts';
import { splitScope } from '../params.ts';
import { boundCertificate, type DepsOf, type GrantHandler, type PolicyDeps, type RegistryDeps } from './grant.ts';
import { newRefreshToken, userAccessToken, userTokenResponse, type UserTokenDeps } from './user-tokens.ts';
import type { Stores } from '../../ports/index.ts';
import type { Config } from '../../config/config.ts';
import type { Provider } from '../provider.ts';
import type { MintedAccessToken } from '../tokens/access-token.ts';
import type { GrantRecord, RefreshTokenRecord } from '../../ports/grants.ts';
import type { UserRecord } from '../../ports/users.ts';
import { narrowAuthorizationDetails, type AuthorizationDetail } from '../authorization-details.ts';
import { isFapiClient } from '../fapi.ts';
import { accessTokenPolicy, pickResource, currentRegistry, type AccessTokenPolicy } from '../resources.ts';

/** What the refresh-token grant uses of the provider. */
export type RefreshTokenDeps = Pick<Provider, 'now' | 'events' | 'log'>
  & {
    readonly config: Pick<Config, 'refreshIdleTtl'>
      & DepsOf<typeof isFapiClient> & DepsOf<typeof narrowAuthorizationDetails>;
    readonly stores: Pick<Stores, 'grants'>;
  }
  & RegistryDeps & PolicyDeps & UserTokenDeps;

export const refreshToken: GrantHandler<RefreshTokenDeps> = {
  grantType: 'refresh_token',
  parameters: new Set(['refresh_token', 'scope', 'resource', 'authorization_details']),
  allowPublic: true,
  async handle(p, req, params, client, ctx) {
    if (!params.refresh_token) throw invalidRequest('refresh_token is required.');
    const now = p.now();
    const requested = params.scope !== undefined ? splitScope(params.scope) : undefined;
    let scope = '';
    let access: (MintedAccessToken & { ttl?: number }) | undefined;
    let details: AuthorizationDetail[] | undefined;
    let refreshValue: string | undefined;
    let problem: OAuthError | undefined;
    const hash = tokenHash(params.refresh_token);
    // Every read happens before the rotation commits (the grant's user is read in its
    // transaction): once it has, the answer is built in memory, so a database failing at that
    // moment cannot swallow the new token (the client's retry would then be a replay and revoke
    // the family).
    let user: UserRecord | undefined;
    /** The grant whose user is missing or disabled, when that is why the token was refused. */
    let orphaned: string | undefined;
    let resource: string | null = null;
    let policy: AccessTokenPolicy | undefined;
    // Read before the rotation's transaction (a cached copy: protocol/resources.ts).
    const registry = await currentRegistry(p);
    const accept = (refresh: RefreshTokenRecord, grant: GrantRecord, owner: UserRecord | undefined): boolean => {
      if (refresh.clientId !== client.clientId) return false;
      if (refresh.expiresAt <= now || grant.expiresAt <= now || grant.revokedAt !== null) return false;
      if (!owner || owner.disabled) {
        orphaned = grant.id;
        return false;
      }
      user = owner;
      // RFC 9449 section 5: a refresh token bound to a DPoP key needs a proof by that key; refusing
      // leaves the token unused.
      if (grant.dpopJkt && ctx.dpop?.jkt !== grant.dpopJkt) {
        problem = invalidGrant('The refresh token is bound to another DPoP key.', ctx.dpop ? 'DPoP key mismatch' : 'DPoP proof missing for a bound refresh token');
        return false;
      }
      // RFC 8705 section 4: a public client's refresh token bound to its certificate needs that certificate.
      if (grant.certThumbprint && ctx.certThumbprint !== grant.certThumbprint) {
        problem = invalidGrant('The refresh token is bound to another client certificate.', ctx.certThumbprint ? 'certificate mismatch' : 'certificate missing for a bound refresh token');
        return false;
      }
      const granted = splitScope(refresh.scope);
      if (requested && requested.some((s) => !granted.includes(s))) {
        problem = new OAuthError('invalid_scope', 'The requested scope exceeds what was granted.');
        return false;
      }
      try {
        // RFC 8707: a refresh may name one of the granted resources (never another); never more scope.
        resource = pickResource(grant.resource, params.resource);
        // RFC 9396: the grant keeps its authorization details; one access token may carry a subset.
        details = narrowAuthorizationDetails(p.config, params.authorization_details, grant.authorizationDetails);
        // Downscoping narrows this access token only; the family keeps what was granted.
        policy = accessTokenPolicy(p, registry, client, resource, requested ? requested.join(' ') : refresh.scope, ctx.dpop?.jkt);
      } catch (err) {
        problem = err as OAuthError;
        return false;
      }
      return true;
    };
    const mint = (refresh: RefreshTokenRecord, grant: GrantRecord) => {
      scope = policy!.scope;
      access = userAccessToken(p, grant, scope, client, { jkt: ctx.dpop?.jkt, x5t: boundCertificate(ctx), resource, authorizationDetails: details, ttl: policy!.ttl, signer: policy!.signer });
      return { jti: access.jti, expiresAt: access.expiresAt };
    };
    // FAPI 2.0 section 5.3.2.1: no rotation for these (confidential, sender-constrained) clients; the
    // token stays bound to the client and, through the grant, to its DPoP key.
    const result = isFapiClient(p.config, client)
      ? await p.stores.grants.useRefresh(hash, now, now + p.config.refreshIdleTtl, accept, mint)
      : await p.stores.grants.rotate(hash, now, accept, (refresh, grant) => {
        const issued = mint(refresh, grant);
        const next = newRefreshToken(p, grant, refresh.scope);
        refreshValue = next.value;
        return { refresh: next.record, access: issued };
      });
    if (result.status === 'reused') {
      p.events({ type: 'refresh_reuse', clientId: result.clientId, ip: req.ip });
      p.log.warn({ event: 'refresh_reuse', client_id: result.clientId, grant: result.grantId }, 'rotated refresh token replayed; family revoked');
      throw invalidGrant('The refresh token is invalid.', 'refresh token reuse');
    }
    if (result.status === 'invalid' && orphaned) {
      // A user deleted or disabled outside Tessera's own paths (which revoke the grants): end the family.
      await p.stores.grants.revoke(orphaned, now);
      throw invalidGrant('The refresh token is invalid.', 'user missing or disabled');
    }
    if (result.status === 'invalid') throw problem ?? invalidGrant('The refresh token is invalid or expired.');
    return userTokenResponse(p, result.grant, scope, access!, refreshValue, null, client, user, details);
  },
};
