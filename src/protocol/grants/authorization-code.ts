import { hash } from 'node:crypto';
import { accessTokenPolicy, currentRegistry, pickResource } from '../resources.ts';
import type { GrantRecord } from '../../ports/grants.ts';
import type { Stores } from '../../ports/index.ts';
import type { Config } from '../../config/config.ts';
import type { Provider } from '../provider.ts';
import { invalidGrant, invalidRequest } from '../errors.ts';
import { safeEqual, timeOrderedKey } from '../hash.ts';
import { boundCertificate, type DepsOf, type GrantHandler, type PolicyDeps, type RegistryDeps } from './grant.ts';
import { narrowAuthorizationDetails } from '../authorization-details.ts';
import { isFapiClient } from '../fapi.ts';
import { pkceOptional } from '../pkce.ts';
import { prepareDirectoryClaims } from '../directory-claims.ts';
import {
  issuesRefreshTokens,
  newRefreshToken,
  userAccessToken,
  userTokenResponse,
  type UserTokenDeps,
} from './user-tokens.ts';

/** What the authorization-code grant uses of the provider. */
export type AuthorizationCodeDeps = Pick<Provider, 'now' | 'events' | 'log'> & {
  readonly config: Pick<Config, 'refreshAbsoluteTtl' | 'sessionAbsoluteTtl'> &
    DepsOf<typeof pkceOptional> &
    DepsOf<typeof narrowAuthorizationDetails>;
  readonly stores: Pick<Stores, 'codes' | 'grants'>;
} & RegistryDeps &
  PolicyDeps &
  UserTokenDeps &
  DepsOf<typeof prepareDirectoryClaims>;

export const authorizationCode: GrantHandler<AuthorizationCodeDeps> = {
  grantType: 'authorization_code',
  parameters: new Set(['code', 'redirect_uri', 'code_verifier', 'resource', 'authorization_details']),
  allowPublic: true,
  async handle(p, req, params, client, ctx) {
    if (!params.code) throw invalidRequest('code is required.');
    // A client with the PKCE opt-out may redeem a code issued without a challenge with no verifier;
    // every other client must send one (checked before the code is used up).
    if (!params.code_verifier && !pkceOptional(p.config, client)) throw invalidRequest('code_verifier is required.');
    if (params.code_verifier !== undefined && !/^[A-Za-z0-9._~-]{43,128}$/.test(params.code_verifier))
      throw invalidRequest('code_verifier is malformed.');
    const now = p.now();
    // Read before the code is used up: a failure here leaves the code for the client's retry.
    const registry = await currentRegistry(p);
    const result = await p.stores.codes.consume(timeOrderedKey(params.code), now);
    if (result.status === 'missing') throw invalidGrant('The authorization code is invalid.', 'unknown code');
    if (result.status === 'reused') {
      // RFC 9700 section 4.2.4: a replayed code revokes what the first redemption issued. The first
      // redemption may not have stored its grant yet: consume has marked the code replayed, which
      // tells it to revoke the grant itself.
      await p.stores.grants.revoke(result.code.grantId, now);
      p.events({ type: 'code_reuse', clientId: result.code.clientId, ip: req.ip });
      p.log.warn(
        { event: 'code_reuse', client_id: result.code.clientId, grant: result.code.grantId },
        'authorization code replayed; grant revoked',
      );
      throw invalidGrant('The authorization code is invalid.', 'code already redeemed');
    }
    const code = result.code;
    if (code.clientId !== client.clientId)
      throw invalidGrant('The authorization code is invalid.', 'code issued to another client');
    if (code.expiresAt <= now) throw invalidGrant('The authorization code has expired.');
    // RFC 9449 section 10: a code bound to a DPoP key (dpop_jkt, or a proof at PAR) is redeemed only with that key.
    if (code.dpopJkt && ctx.dpop?.jkt !== code.dpopJkt) {
      throw invalidGrant(
        'The authorization code is bound to another DPoP key.',
        ctx.dpop ? 'dpop_jkt mismatch' : 'DPoP proof missing for a bound code',
      );
    }
    // RFC 6749 section 4.1.3: redirect_uri must be repeated when the authorization request had it.
    const redirectOk =
      code.redirectUri === ''
        ? params.redirect_uri === undefined ||
          (client.redirectUris.length === 1 && params.redirect_uri === client.redirectUris[0])
        : params.redirect_uri === code.redirectUri;
    if (!redirectOk) throw invalidGrant('redirect_uri does not match the authorization request.');
    if (code.codeChallenge === '') {
      // RFC 9700 section 4.8.2 (PKCE downgrade): a verifier for a code issued without a challenge
      // means the request that made the code was not the client's own; a code without a challenge
      // is redeemed only while the client still has the opt-out.
      if (params.code_verifier !== undefined)
        throw invalidGrant(
          'code_verifier was sent for an authorization code issued without code_challenge.',
          'pkce downgrade',
        );
      if (!pkceOptional(p.config, client))
        throw invalidGrant(
          'The authorization code was issued without PKCE, which this client must use.',
          'pkce opt-out withdrawn',
        );
    } else {
      if (params.code_verifier === undefined)
        throw invalidGrant('PKCE verification failed.', 'code_verifier missing for a code issued with a challenge');
      const challenge = hash('sha256', params.code_verifier, 'base64url');
      if (!safeEqual(challenge, code.codeChallenge)) throw invalidGrant('PKCE verification failed.');
    }
    // RFC 8707: one resource per access token, one of those authorized; its scopes per resource_scopes.
    const resource = pickResource(code.resource, params.resource);
    // The registry resource's scopes, lifetime and DPoP policy; the ceiling of self-registered clients.
    const policy = accessTokenPolicy(p, registry, client, resource, code.scope, ctx.dpop?.jkt);
    const tokenScope = policy.scope;
    // RFC 9396 section 6.1: the token may carry a subset of what the user approved.
    const details = narrowAuthorizationDetails(p.config, params.authorization_details, code.authorizationDetails);
    // The code's user as consume read it with the code (one statement, no second read).
    const user = result.user;
    if (!user || user.disabled) throw invalidGrant('The authorization code is invalid.', 'user missing or disabled');

    const grant: GrantRecord = {
      id: code.grantId,
      clientId: client.clientId,
      userId: code.userId,
      scope: code.scope,
      resource: code.resource,
      sid: code.sid,
      authTime: code.authTime,
      amr: code.amr,
      createdAt: now,
      expiresAt: now + p.config.refreshAbsoluteTtl,
      revokedAt: null,
      // RFC 9449 section 5: refresh tokens of public clients are bound to the DPoP key; confidential
      // clients' refresh tokens are bound to the client by its authentication.
      // FAPI 2.0 clients' refresh tokens are not rotated, so they are bound to the DPoP key as well.
      dpopJkt:
        (client.tokenEndpointAuthMethod === 'none' || isFapiClient(p.config, client)) && ctx.dpop ? ctx.dpop.jkt : null,
      authorizationDetails: code.authorizationDetails ?? null,
      ...(code.claims ? { claims: code.claims } : {}),
      // RFC 8705 section 4: likewise to the TLS client certificate, when the client's tokens are bound to it.
      certThumbprint: client.tokenEndpointAuthMethod === 'none' ? (boundCertificate(ctx) ?? null) : null,
    };
    // The directory's claims of this issuance (none read when the client and resource map none).
    const directory = await prepareDirectoryClaims(p, client, grant.userId, resource ?? p.config.defaultAudience);
    const access = userAccessToken(p, grant, tokenScope, client, {
      jkt: ctx.dpop?.jkt,
      x5t: boundCertificate(ctx),
      resource,
      authorizationDetails: details,
      ttl: policy.ttl,
      signer: policy.signer,
      directory,
    });
    const refresh = issuesRefreshTokens(client) ? newRefreshToken(p, grant, code.scope) : undefined;
    // Back-/front-channel logout: this client now has tokens under the session (kept at most as
    // long as a session lives), recorded with the grant.
    const sessionClient = code.sid
      ? {
          sid: code.sid,
          clientId: client.clientId,
          userId: code.userId,
          createdAt: now,
          expiresAt: now + p.config.sessionAbsoluteTtl,
        }
      : undefined;
    // A replay marks the code, then revokes; this redemption reads the mark as its grant is
    // committed: whichever comes second sees the other's step. A replay that marked the code before
    // the grant existed could not revoke it, so the grant is revoked here, and the tokens answered
    // below are dead, as if the replay had come a moment later.
    const { codeReplayed } = await p.stores.grants.create(
      grant,
      refresh?.record ?? null,
      { jti: access.jti, expiresAt: access.expiresAt },
      sessionClient,
      code.codeHash,
    );
    if (codeReplayed) {
      await p.stores.grants.revoke(grant.id, now);
      p.log.warn(
        { event: 'code_reuse', client_id: client.clientId, grant: grant.id },
        'authorization code replayed during its redemption; grant revoked',
      );
    }
    return userTokenResponse(
      p,
      grant,
      tokenScope,
      access,
      refresh?.value,
      code.nonce,
      client,
      user,
      details,
      directory,
    );
  },
};
