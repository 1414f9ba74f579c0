import { OAuthError } from '../errors.ts';
import { checkResource } from '../endpoints/authorize.ts';
import { isScopeToken, splitScope, type Params } from '../params.ts';
import { mintAccessToken } from '../tokens/access-token.ts';
import {
  boundCertificate,
  tokenResponse,
  type DepsOf,
  type GrantContext,
  type GrantHandler,
  type PolicyDeps,
  type RegistryDeps,
  type TokenResponse,
} from './grant.ts';
import type { ClientRecord } from '../../ports/clients.ts';
import { isAdminClient, isAdminScope } from '../admin-scopes.ts';
import { adminTokenRequest } from '../admin-tokens.ts';
import type { Config } from '../../config/config.ts';
import type { Provider } from '../provider.ts';
import {
  accessTokenPolicy,
  checkSelfRegisteredRequest,
  isSelfRegistered,
  currentRegistry,
  registryScopesApply,
  withinRegistrationCeiling,
} from '../resources.ts';

const USER_SCOPES = new Set(['openid', 'offline_access', 'profile', 'email']);

/** What the client-credentials grant uses of the provider. */
export type ClientCredentialsDeps = Pick<Provider, 'now' | 'keys'> & {
  readonly config: Pick<
    Config,
    'issuer' | 'defaultAudience' | 'registrationScopes' | 'registrationResourceScopes' | 'adminTokenTtl'
  >;
} & DepsOf<typeof checkSelfRegisteredRequest> &
  RegistryDeps &
  PolicyDeps;

export const clientCredentials: GrantHandler<ClientCredentialsDeps> = {
  grantType: 'client_credentials',
  parameters: new Set(['scope', 'resource']),
  allowPublic: false,
  async handle(p, _req, params, client, ctx) {
    // An admin client acting for itself: a token for the admin API only (protocol/admin-tokens.ts).
    if (isAdminClient(client)) return adminClientToken(p, params, client, ctx);
    // A self-registered client's scopes stop at TESSERA_REGISTRATION_SCOPES (with
    // TESSERA_REGISTRATION_RESOURCE_SCOPES, also the scopes of the token's audience in the registry),
    // also when it names none.
    const audienceEntry = registryScopesApply(p.config, client)
      ? (await currentRegistry(p)).get(params.resource ?? p.config.defaultAudience)
      : undefined;
    const allowed = client.scopes.filter(
      (s) =>
        !USER_SCOPES.has(s) && (!isSelfRegistered(client) || withinRegistrationCeiling(p.config, audienceEntry, s)),
    );
    const requested = params.scope !== undefined ? splitScope(params.scope) : allowed;
    for (const s of requested) {
      if (!isScopeToken(s) || !allowed.includes(s))
        throw new OAuthError('invalid_scope', `Scope ${s} is not allowed for this client.`);
    }
    if (params.resource !== undefined) checkResource(client, params.resource);
    // RFC 8707: one resource per access token; its scopes per the client's resource_scopes.
    if (params.resource !== undefined && params.resource.includes(' '))
      throw new OAuthError('invalid_target', 'Name one resource per token request.');
    // Self-registered clients: scopes within TESSERA_REGISTRATION_SCOPES, resources from the registry only.
    await checkSelfRegisteredRequest(p, client, {
      grantType: 'client_credentials',
      scope: requested.join(' '),
      resource: params.resource,
    });
    // The registry resource's scopes, lifetime and DPoP policy (protocol/resources.ts).
    const registry = await currentRegistry(p);
    const { scope, ttl, signer } = accessTokenPolicy(
      p,
      registry,
      client,
      params.resource ?? null,
      requested.join(' '),
      ctx.dpop?.jkt,
    );
    const access = mintAccessToken(p.keys(), {
      issuer: p.config.issuer,
      sub: client.clientId,
      clientId: client.clientId,
      audience: params.resource ?? p.config.defaultAudience,
      scope,
      now: p.now(),
      ttl,
      jkt: ctx.dpop?.jkt,
      x5t: boundCertificate(ctx),
      signer,
    });
    return tokenResponse(access, ttl, { scope: scope || undefined });
  },
};

/**
 * The token of an admin client (client credentials): the admin scopes asked (default: all the
 * client's), for the admin audience, for TESSERA_ADMIN_TOKEN_TTL, never with a refresh token; the
 * resource registry has no say over the admin API.
 */
function adminClientToken(
  p: ClientCredentialsDeps,
  params: Params,
  client: ClientRecord,
  ctx: GrantContext,
): TokenResponse {
  const requested = params.scope !== undefined ? splitScope(params.scope) : client.scopes.filter(isAdminScope);
  for (const s of requested) {
    if (!isScopeToken(s) || !client.scopes.includes(s))
      throw new OAuthError('invalid_scope', `Scope ${s.slice(0, 100)} is not allowed for this client.`);
  }
  if (params.resource !== undefined) checkResource(client, params.resource);
  const admin = adminTokenRequest(p.config, client, {
    grantType: 'client_credentials',
    scope: requested.join(' '),
    resource: params.resource,
  });
  if (!admin) throw new OAuthError('invalid_scope', 'An admin client asks for admin scopes.');
  const scope = admin.scopes.join(' ');
  const ttl = p.config.adminTokenTtl;
  const access = mintAccessToken(p.keys(), {
    issuer: p.config.issuer,
    sub: client.clientId,
    clientId: client.clientId,
    audience: admin.audience,
    scope,
    now: p.now(),
    ttl,
    jkt: ctx.dpop?.jkt,
    x5t: boundCertificate(ctx),
  });
  return tokenResponse(access, ttl, { scope });
}
