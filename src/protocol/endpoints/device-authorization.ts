import type { ClientRecord } from '../../ports/clients.ts';
import type { DeviceCodeRecord } from '../../ports/device-codes.ts';
import type { Stores } from '../../ports/index.ts';
import { CLIENT_AUTH_PARAMS, authenticateClient, type ClientAuthDeps } from '../client-auth/authenticate-client.ts';
import { formatUserCode, newUserCode, userCodeHash } from '../device/user-code.ts';
import { OAuthError } from '../errors.ts';
import { DEVICE_CODE_GRANT } from '../grants/device-code.ts';
import { randomToken, tokenHash } from '../hash.ts';
import { isScopeToken, readParams, splitScope } from '../params.ts';
import type { OAuthResponse, Provider, ProtocolRequest } from '../provider.ts';
import { supportedScopes } from '../scopes.ts';
import { checkResource } from './authorize.ts';
import { checkSelfRegisteredRequest, registryScopesApply } from '../resources.ts';
import { isAdminClient, knownAdminScope } from '../admin-scopes.ts';
import { adminTokenRequest } from '../admin-tokens.ts';
import { scopeWithinClient } from './authorize.ts';
import { NO_STORE } from './token.ts';
import { featureEnabled } from '../../config/features.ts';
import { checkFapiClientAuth, type FapiDeps } from '../fapi.ts';
import type { DepsOf } from '../provider.ts';

/** What /device_authorization uses of the Provider: the device-codes store, client authentication, the registry. */
export type DeviceAuthorizationDeps = Pick<Provider, 'config' | 'now' | 'events'> &
  DeviceCodeStoreDeps &
  ClientAuthDeps &
  FapiDeps &
  DepsOf<typeof checkSelfRegisteredRequest>;

type DeviceCodeStoreDeps = { readonly stores: Pick<Stores, 'deviceCodes'> };

const PARAMS = new Set(['scope', 'resource', ...CLIENT_AUTH_PARAMS]);
const LIMITS = { scope: 1024, resource: 2048, client_id: 255, client_secret: 1024 };

/** RFC 6749 section 3.3: Tessera has no default scope, so a request without one fails. */
function checkScope(p: Pick<Provider, 'config'>, client: ClientRecord, scope: string | undefined): string {
  const scopes = splitScope(scope);
  if (scopes.length === 0) throw new OAuthError('invalid_scope', 'scope is required.');
  const supported = supportedScopes(p.config.extraScopes);
  // A registry scope of a self-registered client: checkSelfRegisteredRequest decides, per resource.
  const perResource = registryScopesApply(p.config, client);
  // An admin client's admin scopes (never in scopes_supported): adminTokenRequest decides the rest.
  const admin = isAdminClient(client);
  for (const s of scopes) {
    const offered = perResource || supported.includes(s) || (admin && knownAdminScope(s));
    if (!isScopeToken(s) || !offered || !scopeWithinClient(client, s))
      throw new OAuthError('invalid_scope', `Scope ${s} is not allowed for this client.`);
  }
  return scopes.join(' ');
}

/** Stores a new device code under a fresh user code (drawn again on the rare clash with a live one). */
async function storeCodes(
  p: Pick<Provider, 'config'> & DeviceCodeStoreDeps,
  base: Omit<DeviceCodeRecord, 'deviceCodeHash' | 'userCodeHash'>,
): Promise<{ deviceCode: string; userCode: string }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const deviceCode = randomToken(32);
    const userCode = newUserCode();
    const record: DeviceCodeRecord = {
      ...base,
      deviceCodeHash: tokenHash(deviceCode),
      userCodeHash: userCodeHash(p.config.secret, userCode),
    };
    if (await p.stores.deviceCodes.create(record, base.createdAt)) return { deviceCode, userCode };
  }
  throw new OAuthError('temporarily_unavailable', 'No user code could be allocated; retry later.');
}

/** POST /device_authorization (RFC 8628 section 3.1-3.2). */
export async function deviceAuthorization(p: DeviceAuthorizationDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  if (!featureEnabled(p.config, 'device_flow'))
    throw new OAuthError('invalid_request', 'The device authorization grant is disabled on this server.', {
      status: 404,
    });
  const params = readParams(req.params, PARAMS, LIMITS);
  const { client, method } = await authenticateClient(p, req, params, { allowPublic: true });
  checkFapiClientAuth(p, client, method, params.client_assertion);
  if (!client.grantTypes.includes(DEVICE_CODE_GRANT))
    throw new OAuthError('unauthorized_client', 'This client may not use the device authorization grant.');
  const scope = checkScope(p, client, params.scope);
  if (params.resource !== undefined) checkResource(client, params.resource);
  // The device token request cannot name a resource: one resource at most here (RFC 8707 section 2.2).
  if (params.resource?.includes(' ')) throw new OAuthError('invalid_target', 'The device flow takes one resource.');
  // Self-registered clients: the ceiling of TESSERA_REGISTRATION_* and registry resources only.
  await checkSelfRegisteredRequest(p, client, { grantType: DEVICE_CODE_GRANT, scope, resource: params.resource });
  // Admin scopes (the CLI's remote mode): for the admin API, named or not (protocol/admin-tokens.ts).
  const admin = adminTokenRequest(p.config, client, { grantType: DEVICE_CODE_GRANT, scope, resource: params.resource });
  const now = p.now();
  const { deviceCode, userCode } = await storeCodes(p, {
    clientId: client.clientId,
    scope,
    resource: admin?.audience ?? params.resource ?? null,
    status: 'pending',
    interval: p.config.devicePollInterval,
    lastPolledAt: null,
    approval: null,
    createdAt: now,
    expiresAt: now + p.config.deviceCodeTtl,
  });
  p.events({ type: 'device_authorization_started', clientId: client.clientId, scope, ip: req.ip });
  const shown = formatUserCode(userCode);
  const verificationUri = `${p.config.issuer}/device`;
  return {
    kind: 'json',
    status: 200,
    headers: NO_STORE,
    body: {
      device_code: deviceCode,
      user_code: shown,
      verification_uri: verificationUri,
      verification_uri_complete: `${verificationUri}?user_code=${encodeURIComponent(shown)}`,
      expires_in: p.config.deviceCodeTtl,
      interval: p.config.devicePollInterval,
    },
  };
}
