import { OAuthError, invalidGrant, invalidRequest } from '../errors.ts';
import { timeOrderedKey } from '../hash.ts';
import { splitScope } from '../params.ts';
import { boundCertificate, type DepsOf, type GrantHandler, type PolicyDeps, type RegistryDeps } from './grant.ts';
import { newRefreshToken, userAccessToken, userTokenResponse, type UserTokenDeps } from './user-tokens.ts';
import type { Stores } from '../../ports/index.ts';
import type { Config } from '../../config/config.ts';
import type { Provider } from '../provider.ts';
import type { GrantRecord, RefreshTokenRecord, Verdict } from '../../ports/grants.ts';
import type { UserRecord } from '../../ports/users.ts';
import { narrowAuthorizationDetails, type AuthorizationDetail } from '../authorization-details.ts';
import { isFapiClient } from '../fapi.ts';
import {
  accessTokenPolicy,
  pickResource,
  currentRegistry,
  scopeSatisfies,
  type AccessTokenPolicy,
} from '../resources.ts';
import { configKeks } from '../tokens/keys.ts';
import { forIssuance, prepareForRefresh } from '../directory-claims.ts';
import { graceBinding, openSuccessor, replayedResponse, sealSuccessor } from './refresh-grace.ts';

/** What the refresh-token grant uses of the provider. */
export type RefreshTokenDeps = Pick<Provider, 'now' | 'events' | 'log'> & {
  readonly config: Pick<
    Config,
    'refreshIdleTtl' | 'refreshReuseGrace' | 'keyEncryptionKey' | 'keyEncryptionKeyPrevious'
  > &
    DepsOf<typeof isFapiClient> &
    DepsOf<typeof narrowAuthorizationDetails>;
  readonly stores: Pick<Stores, 'grants'>;
} & RegistryDeps &
  PolicyDeps &
  UserTokenDeps &
  DepsOf<typeof prepareForRefresh>;

/** What accept() found a presented refresh token good for: the token response is built from it. */
interface Accepted {
  /** The grant's user, as read in the rotation's transaction. */
  user: UserRecord;
  /** RFC 8707: the one resource of the new access token. */
  resource: string | null;
  /** RFC 9396: the authorization details the new access token carries. */
  details: AuthorizationDetail[] | undefined;
  /** The new access token's scope, lifetime and signer. */
  policy: AccessTokenPolicy;
}

/** Why accept() refused a presented refresh token, when it is more than "invalid or expired". */
interface Refusal {
  problem?: OAuthError;
  /** The grant whose user is missing or disabled, when that is why the token was refused. */
  orphaned?: string;
}

export const refreshToken: GrantHandler<RefreshTokenDeps> = {
  grantType: 'refresh_token',
  parameters: new Set(['refresh_token', 'scope', 'resource', 'authorization_details']),
  allowPublic: true,
  async handle(p, req, params, client, ctx) {
    if (!params.refresh_token) throw invalidRequest('refresh_token is required.');
    const now = p.now();
    const requested = params.scope !== undefined ? splitScope(params.scope) : undefined;
    const hash = timeOrderedKey(params.refresh_token);
    // Every read happens before the rotation commits (the grant's user is read in its
    // transaction): once it has, the answer is built in memory, so a database failing at that
    // moment cannot swallow the new token (the client's retry would then be a replay and revoke
    // the family).
    // Read before the rotation's transaction (a cached copy: protocol/resources.ts).
    const registry = await currentRegistry(p);
    // The directory's claims (directory-claims.ts): read before the rotation, only when something maps claims.
    const prepared = await prepareForRefresh(p, client, hash, params.resource);
    const mapped = (grant: GrantRecord, resource: string | null) =>
      forIssuance(prepared, grant.userId, resource ?? p.config.defaultAudience);
    // The store may run accept and next more than once (ports/grants.ts): both only compute from
    // their arguments and what this request brought, and what they decide comes back in its result.
    const accept = (
      refresh: RefreshTokenRecord,
      grant: GrantRecord,
      owner: UserRecord | undefined,
    ): Verdict<Accepted, Refusal> => {
      if (refresh.clientId !== client.clientId) return { ok: false };
      if (refresh.expiresAt <= now || grant.expiresAt <= now || grant.revokedAt !== null) return { ok: false };
      if (!owner || owner.disabled) return { ok: false, orphaned: grant.id };
      // RFC 9449 section 5: a refresh token bound to a DPoP key needs a proof by that key; refusing
      // leaves the token unused.
      if (grant.dpopJkt && ctx.dpop?.jkt !== grant.dpopJkt) {
        const detail = ctx.dpop ? 'DPoP key mismatch' : 'DPoP proof missing for a bound refresh token';
        return { ok: false, problem: invalidGrant('The refresh token is bound to another DPoP key.', detail) };
      }
      // RFC 8705 section 4: a public client's refresh token bound to its certificate needs that certificate.
      if (grant.certThumbprint && ctx.certThumbprint !== grant.certThumbprint) {
        const detail = ctx.certThumbprint ? 'certificate mismatch' : 'certificate missing for a bound refresh token';
        const problem = invalidGrant('The refresh token is bound to another client certificate.', detail);
        return { ok: false, problem };
      }
      const granted = splitScope(refresh.scope);
      try {
        // RFC 8707: a refresh may name one of the granted resources (never another); never more scope.
        const resource = pickResource(grant.resource, params.resource);
        // Never more scope: each requested scope was granted, or is under a granted one in the scope
        // hierarchy of the token's registry resource (a narrower scope of what was granted).
        const entry = registry.get(resource ?? p.config.defaultAudience);
        if (requested && requested.some((s) => !scopeSatisfies(entry, granted, s))) {
          return {
            ok: false,
            problem: new OAuthError('invalid_scope', 'The requested scope exceeds what was granted.'),
          };
        }
        // RFC 9396: the grant keeps its authorization details; one access token may carry a subset.
        const details = narrowAuthorizationDetails(p.config, params.authorization_details, grant.authorizationDetails);
        // Downscoping narrows this access token only; the family keeps what was granted.
        const scope = requested ? requested.join(' ') : refresh.scope;
        const policy = accessTokenPolicy(p, registry, client, resource, scope, ctx.dpop?.jkt);
        return { ok: true, value: { user: owner, resource, details, policy } };
      } catch (err) {
        return { ok: false, problem: err as OAuthError };
      }
    };
    // The new access token (next's part in both ways), as accept decided it.
    const accessToken = ({ resource, details, policy }: Accepted, grant: GrantRecord) => {
      const bind = { jkt: ctx.dpop?.jkt, x5t: boundCertificate(ctx), resource, authorizationDetails: details };
      const directory = mapped(grant, resource);
      return userAccessToken(p, grant, policy.scope, client, {
        ...bind,
        ttl: policy.ttl,
        signer: policy.signer,
        directory,
      });
    };
    // The reuse grace (TESSERA_REFRESH_REUSE_GRACE, refresh-grace.ts): the rotation keeps its
    // response, sealed, for the same presenter with the same request until the window ends.
    const refreshToken = params.refresh_token;
    const grace =
      p.config.refreshReuseGrace > 0
        ? {
            until: now + p.config.refreshReuseGrace,
            binding: graceBinding({
              clientId: client.clientId,
              dpopJkt: ctx.dpop?.jkt,
              certThumbprint: ctx.certThumbprint,
              scope: params.scope,
              resource: params.resource,
              authorizationDetails: params.authorization_details,
            }),
          }
        : undefined;
    // FAPI 2.0 section 5.3.2.1: no rotation for these (confidential, sender-constrained) clients; the
    // token stays bound to the client and, through the grant, to its DPoP key.
    const result = isFapiClient(p.config, client)
      ? await p.stores.grants.useRefresh(
          hash,
          now,
          now + p.config.refreshIdleTtl,
          accept,
          (_refresh, grant, accepted) => accessToken(accepted, grant),
        )
      : await p.stores.grants.rotate(
          hash,
          now,
          accept,
          (refresh, grant, accepted) => {
            const successor = newRefreshToken(p, grant, refresh.scope);
            const access = accessToken(accepted, grant);
            const rotation = { refresh: successor.record, access, refreshToken: successor.value };
            if (!grace) return rotation;
            // The whole response is made here, once, so that a replay is the very same answer.
            const { user, details, policy } = accepted;
            const response = userTokenResponse(
              p,
              grant,
              policy.scope,
              access,
              successor.value,
              null,
              client,
              user,
              details,
              mapped(grant, accepted.resource),
            );
            const replay = sealSuccessor(p.config.keyEncryptionKey, refreshToken, response);
            return { ...rotation, response, replay };
          },
          grace,
        );
    if (result.status === 'replayed') {
      const stored = await openSuccessor(configKeks(p.config), refreshToken, result.replay);
      if (!stored) {
        // Kept by this server yet not opening with its keys (a KEK replaced within the window, or an
        // altered row): fail closed, as reuse would.
        await p.stores.grants.revoke(result.grant.id, now);
        p.log.error(
          { event: 'refresh_grace_unreadable', client_id: client.clientId, grant: result.grant.id },
          'the successor kept for the refresh reuse grace could not be opened; family revoked',
        );
        throw invalidGrant('The refresh token is invalid.', 'refresh token reuse');
      }
      p.events({ type: 'refresh_grace', clientId: client.clientId, ip: req.ip });
      p.log.info(
        { event: 'refresh_grace', client_id: client.clientId, grant: result.grant.id },
        'rotated refresh token presented again within the reuse grace; the same successor returned',
      );
      return replayedResponse(stored, result.rotatedAt, now);
    }
    if (result.status === 'reused') {
      p.events({ type: 'refresh_reuse', clientId: result.clientId, ip: req.ip });
      p.log.warn(
        { event: 'refresh_reuse', client_id: result.clientId, grant: result.grantId },
        'rotated refresh token replayed; family revoked',
      );
      throw invalidGrant('The refresh token is invalid.', 'refresh token reuse');
    }
    if (result.status === 'invalid' && result.orphaned) {
      // A user deleted or disabled outside Tessera's own paths (which revoke the grants): end the family.
      await p.stores.grants.revoke(result.orphaned, now);
      throw invalidGrant('The refresh token is invalid.', 'user missing or disabled');
    }
    if (result.status === 'invalid') throw result.problem ?? invalidGrant('The refresh token is invalid or expired.');
    if (result.status === 'rotated' && 'response' in result.issued) return result.issued.response;
    const { user, details, policy, resource } = result.accepted;
    const access = result.status === 'rotated' ? result.issued.access : result.issued;
    const successor = result.status === 'rotated' ? result.issued.refreshToken : undefined;
    const mappedClaims = mapped(result.grant, resource);
    return userTokenResponse(
      p,
      result.grant,
      policy.scope,
      access,
      successor,
      null,
      client,
      user,
      details,
      mappedClaims,
    );
  },
};
