import type { DeviceCodeRecord, DevicePoll } from '../../ports/device-codes.ts';
import type { GrantRecord } from '../../ports/grants.ts';
import type { Stores } from '../../ports/index.ts';
import type { Config } from '../../config/config.ts';
import type { Provider } from '../provider.ts';
import { OAuthError, invalidGrant, invalidRequest } from '../errors.ts';
import { tokenHash } from '../hash.ts';
import {
  boundCertificate,
  type DepsOf,
  type GrantContext,
  type GrantHandler,
  type PolicyDeps,
  type RegistryDeps,
  type TokenResponse,
} from './grant.ts';
import type { ClientRecord } from '../../ports/clients.ts';
import type { UserRecord } from '../../ports/users.ts';
import { adminTokenRequest, personAdminScopes, type AdminTokenRequest } from '../admin-tokens.ts';
import { accessTokenPolicy, currentRegistry, pickResource } from '../resources.ts';
import { prepareDirectoryClaims } from '../directory-claims.ts';
import { newGrantId } from '../tokens/access-token.ts';
import {
  issuesRefreshTokens,
  newRefreshToken,
  userAccessToken,
  userTokenResponse,
  type UserTokenDeps,
} from './user-tokens.ts';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/**
 * The polling state machine (RFC 8628 section 3.5) for a poll the store has counted: what the
 * device is told, or 'issue' when it may have its tokens.
 */
export function pollAnswer(poll: DevicePoll): 'issue' | OAuthError {
  switch (poll.record.status) {
    case 'approved':
      return 'issue';
    case 'denied':
      return new OAuthError('access_denied', 'The user denied the authorization request.');
    case 'consumed':
      return invalidGrant('The device code has already been used.', 'device code reused');
    case 'pending':
      return poll.slowDown
        ? new OAuthError(
            'slow_down',
            `Polling too fast: wait at least ${poll.record.interval} seconds between requests.`,
          )
        : new OAuthError('authorization_pending', 'The user has not yet completed the authorization.');
  }
}

/** What a poll the store did not count is told: expired_token for this client's expired code, else invalid_grant. */
export function missingAnswer(record: DeviceCodeRecord | undefined, clientId: string, now: number): OAuthError {
  if (record && record.clientId === clientId && record.expiresAt <= now)
    return new OAuthError('expired_token', 'The device code has expired.');
  return invalidGrant('The device code is invalid.', record ? 'device code of another client' : 'unknown device code');
}

/** What the device-code grant uses of the provider. */
export type DeviceCodeDeps = Pick<Provider, 'now'> & {
  readonly config: Pick<Config, 'refreshAbsoluteTtl' | 'issuer' | 'adminTokenTtl'>;
  readonly stores: Pick<Stores, 'deviceCodes' | 'users' | 'grants'>;
} & DepsOf<typeof personAdminScopes> &
  RegistryDeps &
  PolicyDeps &
  UserTokenDeps &
  DepsOf<typeof prepareDirectoryClaims>;

export const deviceCode: GrantHandler<DeviceCodeDeps> = {
  grantType: DEVICE_CODE_GRANT,
  parameters: new Set(['device_code']),
  allowPublic: true,
  async handle(p, _req, params, client, ctx) {
    if (!params.device_code) throw invalidRequest('device_code is required.');
    const hash = tokenHash(params.device_code);
    const now = p.now();
    const poll = await p.stores.deviceCodes.poll(hash, client.clientId, now);
    if (!poll) throw missingAnswer(await p.stores.deviceCodes.get(hash), client.clientId, now);
    const answer = pollAnswer(poll);
    if (answer !== 'issue') throw answer;
    // Exactly one of any number of concurrent polls of an approved code gets the tokens.
    // Read before the device code is used up: a failure here leaves it for the device's next poll.
    const registry = await currentRegistry(p);
    const record = await p.stores.deviceCodes.consume(hash, client.clientId, now);
    if (!record?.approval)
      throw invalidGrant('The device code has already been used.', 'device code consumed concurrently');
    const { approval } = record;
    const user = await p.stores.users.get(approval.userId);
    if (!user || user.disabled) throw invalidGrant('The device code is invalid.', 'user missing or disabled');
    // A person's admin token (the CLI's remote mode): the rules again, then the person's role now.
    const admin = adminTokenRequest(p.config, client, {
      grantType: DEVICE_CODE_GRANT,
      scope: record.scope,
      resource: record.resource,
    });
    if (admin) return adminPersonToken(p, record, client, ctx, admin, user);

    const grant: GrantRecord = {
      id: newGrantId(),
      clientId: client.clientId,
      userId: approval.userId,
      scope: record.scope,
      resource: record.resource,
      sid: approval.sid,
      authTime: approval.authTime,
      amr: approval.amr,
      createdAt: now,
      expiresAt: now + p.config.refreshAbsoluteTtl,
      revokedAt: null,
      // RFC 8705 section 4: a public client's refresh tokens are bound to its certificate.
      certThumbprint: client.tokenEndpointAuthMethod === 'none' ? (boundCertificate(ctx) ?? null) : null,
    };
    // The registry resource's scopes, lifetime and DPoP policy; the ceiling of self-registered clients.
    const policy = accessTokenPolicy(p, registry, client, record.resource, record.scope, ctx.dpop?.jkt);
    const directory = await prepareDirectoryClaims(
      p,
      client,
      grant.userId,
      pickResource(record.resource, undefined) ?? p.config.defaultAudience,
    );
    const access = userAccessToken(p, grant, policy.scope, client, {
      jkt: ctx.dpop?.jkt,
      x5t: boundCertificate(ctx),
      ttl: policy.ttl,
      signer: policy.signer,
      directory,
    });
    const refresh = issuesRefreshTokens(client) ? newRefreshToken(p, grant, record.scope) : undefined;
    await p.stores.grants.create(grant, refresh?.record ?? null, { jti: access.jti, expiresAt: access.expiresAt });
    return userTokenResponse(p, grant, policy.scope, access, refresh?.value, null, client, user, undefined, directory);
  },
};

/**
 * A person's admin token from an approved device code: the scopes asked that the person's admin
 * role holds now, after a second factor (admin-tokens.ts personAdminScopes: access_denied otherwise),
 * for the admin audience, for TESSERA_ADMIN_TOKEN_TTL, without a refresh or ID token. Its grant is
 * recorded with the token's jti (the admin API tells a person's token by it) and ends with the token.
 */
async function adminPersonToken(
  p: DeviceCodeDeps,
  record: DeviceCodeRecord,
  client: ClientRecord,
  ctx: GrantContext,
  admin: AdminTokenRequest,
  user: UserRecord,
): Promise<TokenResponse> {
  const approval = record.approval!;
  const scope = (await personAdminScopes(p, approval.userId, approval.amr, admin.scopes)).join(' ');
  const now = p.now();
  const ttl = p.config.adminTokenTtl;
  const grant: GrantRecord = {
    id: newGrantId(),
    clientId: client.clientId,
    userId: approval.userId,
    scope,
    resource: admin.audience,
    sid: approval.sid,
    authTime: approval.authTime,
    amr: approval.amr,
    createdAt: now,
    expiresAt: now + ttl,
    revokedAt: null,
    certThumbprint: null,
  };
  const access = userAccessToken(p, grant, scope, client, {
    jkt: ctx.dpop?.jkt,
    x5t: boundCertificate(ctx),
    resource: admin.audience,
    ttl,
  });
  await p.stores.grants.create(grant, null, { jti: access.jti, expiresAt: access.expiresAt });
  return userTokenResponse(p, grant, scope, access, undefined, null, client, user);
}
