import { decodeJwt } from 'jose';
import type { ClientAuthMethod, ClientRecord, DynamicRegistration, GrantType } from '../../ports/clients.ts';
import type { Stores } from '../../ports/index.ts';
import { MAX_REGISTERED_KEYS } from '../client-auth/client-keys.ts';
import { buildClient, ClientMetadataError, storeClient, type ClientInput } from '../clients/metadata.ts';
import { verifyClientSecret } from '../client-auth/secret-hash.ts';
import { OAuthError, invalidRequest } from '../errors.ts';
import { randomId, randomToken, safeEqual, tokenHash } from '../hash.ts';
import { header, type OAuthResponse, type Provider, type ProtocolRequest } from '../provider.ts';
import { responseAlg } from '../tokens/response-algs.ts';
import { nativeRedirectUris, redirectUriProblem } from '../redirect-uri.ts';
import { supportedScopes } from '../scopes.ts';
import { rarEnabled } from '../authorization-details.ts';
import type { DepsOf } from '../provider.ts';
import { unusedRegistrationExpired } from '../clients/usage.ts';
import { registryScopeNames, resourceRegistry } from '../resources.ts';
import { isAdminScope } from '../admin-scopes.ts';

// Dynamic client registration (RFC 7591) at POST /register, and its management (RFC 7592) at
// GET/PUT/DELETE /register/{client_id} with the registration access token issued with the client.
// Validation is clients/metadata.ts buildClient's: this module only maps the RFC 7591 JSON onto it,
// keeps operator-only settings (skip_consent, allowed_resources, token exchange, disabled) out of
// reach, and refuses what dynamic clients may not ask for.

/**
 * What saving a registration uses of the Provider: settings, clock, events and log, and what storing
 * a client needs (the clients store; the outbound port, which checks a sector_identifier_uri).
 */
type SaveDeps = Pick<Provider, 'config' | 'now' | 'events' | 'log' | 'outbound' | 'resourceRegistry'> &
  DepsOf<typeof storeClient>;
/** What POST /register uses: saving, and the initial access tokens. */
export type RegisterDeps = SaveDeps & { readonly stores: Pick<Stores, 'initialAccessTokens'> };
/** What GET, PUT and DELETE /register/{client_id} use: saving, the clients, and revocations (a deleted client). */
export type ManageRegistrationDeps = SaveDeps & { readonly stores: Pick<Stores, 'clients' | 'revocations'> };

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };
const MAX_REDIRECT_URIS = 20;
const MAX_URI_LENGTH = 2048;
/** Members of the client information response that a client must not send back (RFC 7592 section 2.2). */
const SERVER_MEMBERS = [
  'registration_access_token',
  'registration_client_uri',
  'client_secret_expires_at',
  'client_id_issued_at',
];

const metadataError = (description: string) => new OAuthError('invalid_client_metadata', description);

/** A 401 with an RFC 6750 challenge: missing or wrong initial access token or registration access token. */
function tokenRefused(
  p: Pick<Provider, 'events'>,
  req: ProtocolRequest,
  reason: string,
  clientId?: string,
): OAuthError {
  p.events({ type: 'registration_refused', clientId, reason, ip: req.ip });
  const description = reason === 'no token' ? 'A Bearer token is required.' : 'The token is invalid or expired.';
  return new OAuthError('invalid_token', description, {
    status: 401,
    detail: reason,
    headers: {
      'www-authenticate':
        reason === 'no token' ? 'Bearer realm="tessera"' : 'Bearer realm="tessera", error="invalid_token"',
    },
  });
}

function bearer(req: ProtocolRequest): string | undefined {
  const m = /^Bearer +([A-Za-z0-9\-._~+/]{1,512}=*) *$/i.exec(header(req, 'authorization') ?? '');
  return m?.[1];
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/**
 * The RFC 7591 metadata of a request as a ClientInput with every self-service member present (an
 * omitted member is reset, RFC 7592 section 2.2), type-checked; the rules themselves are buildClient's.
 * Unknown members are ignored (RFC 7591 section 2) and never stored.
 */
export function registrationInput(
  p: Pick<Provider, 'config'>,
  body: unknown,
  clientId: string,
  registryScopes: readonly string[] = [],
): ClientInput {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw metadataError('The request body must be a JSON object of client metadata.');
  const m = body as Record<string, unknown>;
  if (m.software_statement !== undefined) {
    // Tessera trusts no software statement issuer, so none can be approved; a malformed one is invalid.
    let isJwt = false;
    try {
      isJwt = typeof m.software_statement === 'string' && typeof decodeJwt(m.software_statement) === 'object';
    } catch {
      /* not a JWT */
    }
    throw new OAuthError(
      isJwt ? 'unapproved_software_statement' : 'invalid_software_statement',
      isJwt ? 'Software statements are not accepted by this server.' : 'The software statement is not a JWT.',
    );
  }
  // The PKCE opt-out (protocol/pkce.ts) is an operator's decision, never a registrant's.
  if (m.pkce_required !== undefined)
    throw metadataError('pkce_required cannot be registered: clients registered here always use PKCE.');
  // So is an admin client (protocol/admin-tokens.ts): refused by name rather than ignored, so that no
  // registrant believes it holds one.
  if (m.admin_client !== undefined)
    throw metadataError('admin_client cannot be registered: admin clients are made by operators.');
  const str = (k: string, max = 2048): string | undefined => {
    const v = m[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length === 0 || v.length > max)
      throw metadataError(`${k} must be a non-empty string of at most ${max} characters.`);
    return v;
  };
  const bool = (k: string): boolean => {
    const v = m[k];
    if (v === undefined) return false;
    if (typeof v !== 'boolean') throw metadataError(`${k} must be true or false.`);
    return v;
  };
  const list = (k: string): string[] | undefined => {
    const v = m[k];
    if (v === undefined) return undefined;
    if (!isStringArray(v) || v.length > MAX_REDIRECT_URIS || v.some((x) => x.length > MAX_URI_LENGTH))
      throw metadataError(`${k} must be an array of at most ${MAX_REDIRECT_URIS} strings.`);
    return v;
  };

  const named = str('application_type');
  if (named !== undefined && named !== 'web' && named !== 'native')
    throw metadataError('application_type must be web or native.');
  const redirectUris = list('redirect_uris') ?? [];
  // None named: web (OpenID Connect Registration 2), or with TESSERA_REGISTRATION_APPLICATION_TYPE
  // `infer`, native when every redirect URI is a loopback or private-use one (MCP clients run on
  // the user's machine and listen on a port of the moment: RFC 8252 section 7.3).
  const applicationType =
    named ?? (p.config.registrationApplicationType === 'infer' && nativeRedirectUris(redirectUris) ? 'native' : 'web');
  // RFC 7591 section 2: redirect URI problems have an error code of their own.
  for (const u of redirectUris) {
    const problem = redirectUriProblem(u, applicationType);
    if (problem) throw new OAuthError('invalid_redirect_uri', problem);
  }
  // Least privilege: the operator's ceiling (TESSERA_REGISTRATION_GRANT_TYPES, by default the
  // authorization code and refresh tokens), never token exchange (config.ts SELF_SERVICE_GRANTS).
  const allowedGrants = p.config.registrationGrantTypes;
  const grantTypes = list('grant_types') ?? ['authorization_code'];
  for (const g of grantTypes) {
    if (!allowedGrants.includes(g))
      throw metadataError(
        `grant type ${g.slice(0, 100)} cannot be registered dynamically on this server (allowed: ${allowedGrants.join(', ') || 'none'}).`,
      );
  }
  // RFC 7591 section 2.1: response_types and grant_types must agree; only `code` is supported.
  const responseTypes = list('response_types') ?? (grantTypes.includes('authorization_code') ? ['code'] : []);
  for (const r of responseTypes)
    if (r !== 'code') throw metadataError(`response type ${r} is not supported (only code).`);
  if (responseTypes.includes('code') !== grantTypes.includes('authorization_code')) {
    throw metadataError('response_types code and the authorization_code grant go together.');
  }
  const scope = str('scope', 4096);
  // TESSERA_REGISTRATION_SCOPES is the ceiling of self-registered clients' scopes; with
  // TESSERA_REGISTRATION_RESOURCE_SCOPES, so is every scope of the registry (each usable only in
  // tokens for the resource that declares it: protocol/resources.ts).
  // Admin scopes are never offered here, whatever the settings say (protocol/admin-tokens.ts).
  const offered = [
    ...supportedScopes(p.config.extraScopes).filter((s) => p.config.registrationScopes.includes(s)),
    ...(p.config.registrationResourceScopes ? registryScopes : []),
  ].filter((s) => !isAdminScope(s));
  for (const s of (scope ?? '').split(' ').filter(Boolean))
    if (!offered.includes(s))
      throw metadataError(`scope ${s.slice(0, 100)} is not offered to dynamically registered clients by this server.`);
  const jwks = m.jwks;
  if (jwks !== undefined && (jwks === null || typeof jwks !== 'object' || Array.isArray(jwks)))
    throw metadataError('jwks must be a JSON Web Key Set object.');
  // Fewer keys than an operator may register (each key a JWT matches may cost a signature check).
  const keyCount = (jwks as { keys?: unknown } | undefined)?.keys;
  if (Array.isArray(keyCount) && keyCount.length > MAX_REGISTERED_KEYS)
    throw metadataError(`jwks may hold at most ${MAX_REGISTERED_KEYS} keys for a dynamically registered client.`);
  const subjectType = str('subject_type');
  // FAPI 2.0 only restricts the client (PAR, private_key_jwt or mTLS, sender-constrained tokens,
  // no refresh rotation), so a client may ask for it itself; buildClient checks the rest.
  const fapiProfile = m.fapi_profile;
  if (fapiProfile !== undefined && fapiProfile !== '2.0') throw metadataError('fapi_profile must be "2.0".');
  // RFC 9396 section 10.2: the types a client may use, each one this server accepts.
  const detailTypes = m.authorization_details_types;
  if (detailTypes !== undefined) {
    if (!isStringArray(detailTypes) || detailTypes.length > 50)
      throw metadataError('authorization_details_types must be an array of at most 50 strings.');
    const offeredTypes = rarEnabled(p.config) ? p.config.authorizationDetailsTypes.map((t) => t.type) : [];
    for (const t of detailTypes)
      if (!offeredTypes.includes(t))
        throw metadataError(`authorization_details_types: ${t.slice(0, 100)} is not offered by this server.`);
  }

  return {
    client_id: clientId,
    client_name: str('client_name', 200) ?? clientId,
    token_endpoint_auth_method: (str('token_endpoint_auth_method') ?? 'client_secret_basic') as ClientAuthMethod,
    application_type: applicationType,
    redirect_uris: redirectUris,
    post_logout_redirect_uris: list('post_logout_redirect_uris') ?? [],
    grant_types: grantTypes as GrantType[],
    scope:
      scope ??
      ['openid', 'profile', 'email', ...(grantTypes.includes('refresh_token') ? ['offline_access'] : [])]
        .filter((s) => offered.includes(s))
        .join(' '),
    jwks: jwks as ClientInput['jwks'],
    jwks_uri: str('jwks_uri'),
    token_endpoint_auth_signing_alg: str('token_endpoint_auth_signing_alg', 20),
    request_object_signing_alg: str('request_object_signing_alg', 20),
    require_signed_request_object:
      m.require_signed_request_object === undefined ? undefined : bool('require_signed_request_object'),
    dpop_bound_access_tokens: bool('dpop_bound_access_tokens'),
    authorization_signed_response_alg: str('authorization_signed_response_alg', 20),
    // OpenID Connect Registration 2; omitted: RS256 for ID tokens (FAPI clients ES256), userinfo unsigned.
    id_token_signed_response_alg: str('id_token_signed_response_alg', 20),
    userinfo_signed_response_alg: str('userinfo_signed_response_alg', 20),
    introspection_signed_response_alg: str('introspection_signed_response_alg', 20),
    id_token_scope_claims: m.id_token_scope_claims === undefined ? undefined : bool('id_token_scope_claims'),
    // Issue 16: a client may ask for a stricter second-factor policy for its sign-ins (never a weaker one).
    mfa: str('mfa', 32) as ClientInput['mfa'],
    tls_client_auth_subject_dn: str('tls_client_auth_subject_dn', 1024),
    tls_client_auth_san_dns: str('tls_client_auth_san_dns', 255),
    tls_client_auth_san_uri: str('tls_client_auth_san_uri', 2048),
    tls_client_auth_san_ip: str('tls_client_auth_san_ip', 64),
    tls_client_auth_san_email: str('tls_client_auth_san_email', 320),
    tls_client_certificate_bound_access_tokens: bool('tls_client_certificate_bound_access_tokens'),
    backchannel_logout_uri: str('backchannel_logout_uri', 2048),
    backchannel_logout_session_required: bool('backchannel_logout_session_required'),
    frontchannel_logout_uri: str('frontchannel_logout_uri', 2048),
    frontchannel_logout_session_required: bool('frontchannel_logout_session_required'),
    require_pushed_authorization_requests: bool('require_pushed_authorization_requests'),
    subject_type: subjectType as ClientInput['subject_type'],
    sector_identifier_uri: str('sector_identifier_uri'),
    // Omitted members are reset (RFC 7592 section 2.2): no profile, every configured type.
    fapi_profile: fapiProfile === undefined ? null : '2.0',
    fapi_message_signing: bool('fapi_message_signing'),
    authorization_details_types: detailTypes === undefined ? null : detailTypes,
    // RFC 7591 section 2: shown on the consent page (omitted: removed, RFC 7592 section 2.2).
    logo_uri: str('logo_uri') ?? null,
    client_uri: str('client_uri') ?? null,
    policy_uri: str('policy_uri') ?? null,
    tos_uri: str('tos_uri') ?? null,
  };
}

/** buildClient's refusals as RFC 7591 errors. */
function asRegistrationError(err: unknown): never {
  if (err instanceof ClientMetadataError) throw metadataError(err.problems.join('; '));
  throw err;
}

/** The client information response (RFC 7591 section 3.2.1, RFC 7592 section 3). */
function clientInformation(
  p: Pick<Provider, 'config'>,
  c: ClientRecord,
  issued: { secret?: string; registrationAccessToken?: string },
): Record<string, unknown> {
  const m = c.metadata;
  const confidential = c.tokenEndpointAuthMethod !== 'none' && c.tokenEndpointAuthMethod !== 'private_key_jwt';
  return {
    client_id: c.clientId,
    client_id_issued_at: c.createdAt,
    ...(issued.secret !== undefined ? { client_secret: issued.secret } : {}),
    // Secrets never expire by themselves (rotate with a PUT that changes the method, or the CLI).
    ...(confidential ? { client_secret_expires_at: 0 } : {}),
    ...(issued.registrationAccessToken !== undefined
      ? { registration_access_token: issued.registrationAccessToken }
      : {}),
    registration_client_uri: `${p.config.issuer}/register/${c.clientId}`,
    client_name: c.clientName,
    application_type: c.applicationType,
    redirect_uris: c.redirectUris,
    ...(c.postLogoutRedirectUris.length ? { post_logout_redirect_uris: c.postLogoutRedirectUris } : {}),
    grant_types: c.grantTypes,
    response_types: c.grantTypes.includes('authorization_code') ? ['code'] : [],
    token_endpoint_auth_method: c.tokenEndpointAuthMethod,
    scope: c.scopes.join(' '),
    subject_type: m.subject_type ?? 'public',
    ...Object.fromEntries(
      (
        [
          'sector_identifier_uri',
          'jwks',
          'jwks_uri',
          'token_endpoint_auth_signing_alg',
          'request_object_signing_alg',
          'require_signed_request_object',
          'authorization_signed_response_alg',
          'tls_client_auth_subject_dn',
          'tls_client_auth_san_dns',
          'tls_client_auth_san_uri',
          'tls_client_auth_san_ip',
          'tls_client_auth_san_email',
          'tls_client_certificate_bound_access_tokens',
          'backchannel_logout_uri',
          'backchannel_logout_session_required',
          'frontchannel_logout_uri',
          'frontchannel_logout_session_required',
          'authorization_details_types',
          'fapi_profile',
          'logo_uri',
          'client_uri',
          'policy_uri',
          'tos_uri',
        ] as const
      )
        .filter((k) => m[k] !== undefined)
        .map((k) => [k, m[k]]),
    ),
    ...(m.dpop_bound_access_tokens ? { dpop_bound_access_tokens: true } : {}),
    ...(m.require_pushed_authorization_requests ? { require_pushed_authorization_requests: true } : {}),
    ...(m.fapi_message_signing ? { fapi_message_signing: true } : {}),
    // The algorithms in use, defaults included (RFC 7591 section 3.2.1: every registered value).
    id_token_signed_response_alg: responseAlg(p.config, c, 'id_token'),
    ...Object.fromEntries(
      (['userinfo_signed_response_alg', 'introspection_signed_response_alg', 'id_token_scope_claims', 'mfa'] as const)
        .filter((k) => m[k] !== undefined)
        .map((k) => [k, m[k]]),
    ),
    // admin_approval: the client exists but cannot be used until an operator enables it.
    ...(c.disabled ? { tessera_client_status: 'pending_approval' } : {}),
  };
}

/** POST /register (RFC 7591 section 3). */
/** The registry's scopes, when TESSERA_REGISTRATION_RESOURCE_SCOPES lets self-registered clients register them. */
async function registryScopesOffered(p: Pick<Provider, 'config' | 'resourceRegistry'>): Promise<string[]> {
  return p.config.registrationResourceScopes ? registryScopeNames(await resourceRegistry(p)) : [];
}

export async function register(p: RegisterDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const mode = p.config.registration;
  if (mode === 'off') throw new OAuthError('invalid_request', 'Not found.', { status: 404 });
  let initialHash: string | undefined;
  if (mode === 'initial_access_token') {
    const presented = bearer(req);
    if (!presented) throw tokenRefused(p, req, 'no token');
    initialHash = tokenHash(presented);
    if (!(await p.stores.initialAccessTokens.find(initialHash, p.now())))
      throw tokenRefused(p, req, 'unknown initial access token');
  }
  const clientId = randomId(16);
  const input = registrationInput(p, req.json, clientId, await registryScopesOffered(p));
  if (mode === 'admin_approval') input.disabled = true;
  const now = p.now();
  // Validate before a use of the initial access token is taken.
  try {
    buildClient(p.config, input, undefined, now);
  } catch (err) {
    asRegistrationError(err);
  }
  if (initialHash !== undefined && !(await p.stores.initialAccessTokens.consume(initialHash, p.now())))
    throw tokenRefused(p, req, 'initial access token used up');
  const registrationAccessToken = randomToken(32);
  const registration: DynamicRegistration = { access_token_hash: tokenHash(registrationAccessToken), mode };
  let saved;
  try {
    saved = await storeClient(p, input, now, { registration });
  } catch (err) {
    asRegistrationError(err);
  }
  const { client, secret } = saved;
  p.events({
    type: 'client_registered',
    clientId,
    mode,
    authMethod: client.tokenEndpointAuthMethod,
    disabled: client.disabled,
    ip: req.ip,
  });
  p.log.info({ event: 'client_registered', client_id: clientId, mode, ip: req.ip }, 'client registered');
  return {
    kind: 'json',
    status: 201,
    body: clientInformation(p, client, { secret, registrationAccessToken }),
    headers: NO_STORE,
  };
}

/** The dynamically registered client the registration access token belongs to; 401 otherwise (RFC 7592 section 3). */
async function authorizeManagement(
  p: Pick<Provider, 'events'> & { readonly stores: Pick<Stores, 'clients'> } & DepsOf<typeof unusedRegistrationExpired>,
  req: ProtocolRequest,
  clientId: string,
): Promise<ClientRecord> {
  const presented = bearer(req);
  if (!presented) throw tokenRefused(p, req, 'no token', clientId);
  const client = await p.stores.clients.get(clientId);
  const stored = client?.metadata.registration?.access_token_hash;
  // The hash is compared even for an unknown client, so timing tells nothing of which ids exist.
  const ok = safeEqual(tokenHash(presented), stored ?? tokenHash(randomToken(32)));
  if (!client || stored === undefined || !ok) throw tokenRefused(p, req, 'wrong registration access token', clientId);
  // Left unused past TESSERA_REGISTRATION_UNUSED_TTL, it is gone, and an update cannot bring it back.
  if (unusedRegistrationExpired(p, client)) throw tokenRefused(p, req, 'registration expired unused', clientId);
  return client;
}

/** GET, PUT and DELETE /register/{client_id} (RFC 7592). */
export async function manageRegistration(
  p: ManageRegistrationDeps,
  req: ProtocolRequest,
  clientId: string,
): Promise<OAuthResponse> {
  if (p.config.registration === 'off') throw new OAuthError('invalid_request', 'Not found.', { status: 404 });
  const client = await authorizeManagement(p, req, clientId);
  switch (req.method) {
    case 'GET':
      return { kind: 'json', status: 200, body: clientInformation(p, client, {}), headers: NO_STORE };
    case 'DELETE': {
      // Deleting the client revokes its grants (and so every token issued from them) and forgets its consents.
      await p.stores.clients.delete(clientId);
      // Its client_credentials tokens (no grant behind them) stop at introspection too.
      await p.stores.revocations.cutOffHolder(`client:${clientId}`, p.now());
      p.events({ type: 'client_deleted', clientId, ip: req.ip });
      p.log.info({ event: 'client_deleted', client_id: clientId, ip: req.ip }, 'registered client deleted');
      return { kind: 'json', status: 204, body: {}, headers: NO_STORE };
    }
    case 'PUT':
      return updateClient(p, req, client);
    default:
      throw invalidRequest('Method not allowed.');
  }
}

/** PUT /register/{client_id}: replaces the client's metadata; a new registration access token is issued. */
async function updateClient(p: SaveDeps, req: ProtocolRequest, client: ClientRecord): Promise<OAuthResponse> {
  const body = req.json;
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw metadataError('The request body must be a JSON object of client metadata.');
  const m = body as Record<string, unknown>;
  if (m.client_id !== client.clientId)
    throw metadataError('client_id must be given and match the client being updated.');
  const sent = SERVER_MEMBERS.filter((k) => k in m);
  if (sent.length) throw metadataError(`${sent.join(', ')} must not be sent in an update.`);
  if (
    m.client_secret !== undefined &&
    (typeof m.client_secret !== 'string' || !verifyClientSecret(p.config.secret, m.client_secret, client.secretHash))
  ) {
    throw metadataError('client_secret does not match; a client cannot choose its secret.');
  }
  const input = registrationInput(p, body, client.clientId, await registryScopesOffered(p));
  // Following node-oidc-provider, every update rotates the registration access token: a leaked one
  // stops working once the client has used its management endpoint.
  const registrationAccessToken = randomToken(32);
  const registration: DynamicRegistration = {
    ...client.metadata.registration!,
    access_token_hash: tokenHash(registrationAccessToken),
  };
  let saved;
  try {
    saved = await storeClient(p, input, p.now(), { registration });
  } catch (err) {
    asRegistrationError(err);
  }
  p.events({
    type: 'client_updated',
    clientId: client.clientId,
    authMethod: saved.client.tokenEndpointAuthMethod,
    ip: req.ip,
  });
  p.log.info({ event: 'client_updated', client_id: client.clientId, ip: req.ip }, 'registered client updated');
  return {
    kind: 'json',
    status: 200,
    body: clientInformation(p, saved.client, { secret: saved.secret, registrationAccessToken }),
    headers: NO_STORE,
  };
}
