// The operator's side of upstream identity providers (issue 17: bootstrap file, CLI, the admin API
// when it lands): validating and saving a provider, taking it out of service, deleting it, and the
// description shown to operators (never its secret). The input mirrors UpstreamProvider in
// snake_case; a preset (upstream-presets.ts) fills in what the operator did not give.
import { createPrivateKey } from 'node:crypto';
import { unwrapAccountSecret, wrapAccountSecret } from '../accounts/secret-wrap.ts';
import type { Config } from '../config/config.ts';
import type { Stores } from '../ports/index.ts';
import type {
  UpstreamClaimMapping,
  UpstreamClientAuth,
  UpstreamIdentity,
  UpstreamKind,
  UpstreamPreset,
  UpstreamProvider,
} from '../ports/upstreams.ts';
import type { UserRecord } from '../ports/users.ts';
import { isLoopbackHostName, outboundHostProblem } from '../protocol/client-auth/public-address.ts';
import { ACR_VALUES_SUPPORTED } from '../protocol/claims-request.ts';
import { displayTextProblem } from '../protocol/clients/metadata.ts';
import type { EventSink } from '../protocol/events.ts';
import { safeEqual } from '../protocol/hash.ts';
import { PROVIDER_ID } from '../protocol/upstream/state.ts';
import { AdminError, NotFoundError } from './errors.ts';
import { MICROSOFT_TENANT_NAMES, OIDC_CLAIMS, PRESET_NAMES, PRESETS } from './upstream-presets.ts';

/** A provider as the bootstrap file and `tessera upstream add` give it: UpstreamProvider in snake_case. */
export interface UpstreamInput {
  id: string;
  preset?: UpstreamPreset;
  kind?: UpstreamKind;
  label?: string;
  order?: number;
  /** Left out: a new provider is enabled, an existing one keeps its state (`tessera upstream disable` holds). */
  enabled?: boolean;
  /** Presets: the upstream's origin, for on-premise installations and tests. */
  base_url?: string;
  /** GitHub: the REST API's base URL (GitHub Enterprise: <base>/api/v3). */
  api_base_url?: string;
  /** Microsoft: common (default), organizations, consumers or a tenant id. */
  tenant?: string;
  issuer?: string;
  discovery_url?: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  userinfo_endpoint?: string;
  jwks_uri?: string;
  emails_endpoint?: string;
  client_id: string;
  client_auth?: UpstreamClientAuth;
  /** The client secret; or the name of the environment variable holding it (client_secret_env). */
  client_secret?: string;
  client_secret_env?: string;
  /** private_key_jwt and Apple: the private key, a JWK (JSON) or PEM; or the variable holding it. */
  private_key?: string;
  private_key_env?: string;
  apple_key_id?: string;
  apple_team_id?: string;
  /** A list, or one space-separated string. */
  scopes?: string[] | string;
  response_mode?: 'query' | 'form_post';
  claims?: Partial<Record<'subject' | 'username' | 'name' | 'email' | 'email_verified' | 'groups', string>>;
  allowed_domains?: string[];
  allowed_tenants?: string[];
  create_users?: boolean;
  auto_link_domains?: string[];
  trust_amr?: boolean;
  acr_map?: Record<string, string>;
  home_realm_domains?: string[];
  private_network?: boolean;
}

/** Every key of UpstreamInput (the bootstrap file's schema and `upstream add` check unknown keys against it). */
export const UPSTREAM_KEYS = {
  id: 1,
  preset: 1,
  kind: 1,
  label: 1,
  order: 1,
  enabled: 1,
  base_url: 1,
  api_base_url: 1,
  tenant: 1,
  issuer: 1,
  discovery_url: 1,
  authorization_endpoint: 1,
  token_endpoint: 1,
  userinfo_endpoint: 1,
  jwks_uri: 1,
  emails_endpoint: 1,
  client_id: 1,
  client_auth: 1,
  client_secret: 1,
  client_secret_env: 1,
  private_key: 1,
  private_key_env: 1,
  apple_key_id: 1,
  apple_team_id: 1,
  scopes: 1,
  response_mode: 1,
  claims: 1,
  allowed_domains: 1,
  allowed_tenants: 1,
  create_users: 1,
  auto_link_domains: 1,
  trust_amr: 1,
  acr_map: 1,
  home_realm_domains: 1,
  private_network: 1,
} satisfies Record<keyof UpstreamInput, 1>;

const CLAIM_KEYS = { subject: 1, username: 1, name: 1, email: 1, email_verified: 1, groups: 1 } satisfies Record<
  keyof NonNullable<UpstreamInput['claims']>,
  1
>;

export interface UpstreamDeps {
  stores: Stores;
  config: Pick<Config, 'keyEncryptionKey' | 'keyEncryptionKeyPrevious' | 'clientJwksAllowLoopback'>;
  now: () => number;
  /** upstream_saved / upstream_deleted go here (the CLI writes them to the audit trail). */
  events?: EventSink;
  /** Where client_secret_env and private_key_env are read (process.env unless given). */
  env?: Record<string, string | undefined>;
}

const CLIENT_AUTHS: readonly UpstreamClientAuth[] = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'none',
];
/** A host name in lowercase ASCII (an internationalized one in its xn-- form), at least two labels. */
const HOST_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** A Microsoft tenant id (a GUID), in lowercase as tokens carry it in `tid`. */
const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;
/** Client ids, claim names, acr values, Apple's ids: visible ASCII. */
const VISIBLE_ASCII = /^[\x21-\x7E]+$/;
const APPLE_ID = /^[A-Z0-9]{10}$/;
const MAX_LIST = 50;

/** The secret of a provider, as it is wrapped (accounts/secret-wrap.ts) under the key-encryption key. */
const secretLabel = (id: string) => `upstream:${id}`;

/**
 * Validates the input and turns it into the stored record (input over preset over defaults; a
 * secret left out is kept from `existing`). Throws an AdminError listing every problem.
 */
export async function buildUpstream(
  deps: Omit<UpstreamDeps, 'events' | 'stores'>,
  input: UpstreamInput,
  existing: UpstreamProvider | undefined,
  now: number,
): Promise<UpstreamProvider> {
  const problems: string[] = [];
  const bad = (m: string) => void problems.push(m);
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new AdminError('an upstream must be an object');
  for (const k of Object.keys(input)) if (!Object.hasOwn(UPSTREAM_KEYS, k)) bad(`unknown key "${k}"`);
  const { id } = input;
  if (typeof id !== 'string' || !PROVIDER_ID.test(id))
    throw new AdminError(
      `upstream id must be 1 to 32 lowercase letters, digits and hyphens, starting with a letter or digit (got ${JSON.stringify(id)})`,
    );
  const where = `upstream ${id}`;

  const str = (name: keyof UpstreamInput, max = 2048): string | undefined => {
    const v = input[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length === 0 || v.length > max)
      return bad(`${name} must be a non-empty string of at most ${max} characters`);
    return v;
  };
  const bool = (name: keyof UpstreamInput): boolean | undefined => {
    const v = input[name];
    if (v === undefined || typeof v === 'boolean') return v as boolean | undefined;
    return bad(`${name} must be true or false`);
  };
  const list = (name: keyof UpstreamInput, check: (v: string) => boolean, what: string): string[] => {
    const v = input[name];
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.length > MAX_LIST) return bad(`${name} must be a list of at most ${MAX_LIST}`) ?? [];
    const wrong = v.filter((x) => typeof x !== 'string' || !check(x));
    if (wrong.length)
      bad(`${name}: ${wrong.map((x) => JSON.stringify(x)).join(', ')} ${wrong.length > 1 ? 'are' : 'is'} not ${what}`);
    return [...new Set(v as string[])];
  };

  // The preset and its base URLs.
  const presetName = input.preset;
  if (presetName !== undefined && !(PRESET_NAMES as unknown[]).includes(presetName))
    bad(`preset must be one of ${PRESET_NAMES.join(', ')}`);
  const preset = presetName !== undefined ? PRESETS[presetName] : undefined;
  const privateNetwork = bool('private_network') ?? false;
  const url = (name: string, value: string | undefined, opts: { issuer?: boolean } = {}): string | undefined => {
    if (value === undefined) return undefined;
    const p = urlProblem(name, value, privateNetwork, deps.config.clientJwksAllowLoopback, opts.issuer ?? false);
    if (p) return bad(p);
    return value;
  };
  const base = (name: 'base_url' | 'api_base_url', fallback: string | undefined): string | undefined => {
    const given = str(name);
    if (given === undefined) return fallback;
    if (!preset) return bad(`${name} applies only to a preset`);
    if (name === 'api_base_url' && presetName !== 'github')
      return bad('api_base_url applies only to the github preset');
    return url(name, given.replace(/\/+$/, ''), { issuer: true });
  };
  const baseUrl = base('base_url', preset?.baseUrl);
  const apiBaseUrl = base('api_base_url', preset?.apiBaseUrl);
  const tenant = str('tenant', 64);
  if (tenant !== undefined && presetName !== 'microsoft') bad('tenant applies only to the microsoft preset');
  if (
    tenant !== undefined &&
    !(MICROSOFT_TENANT_NAMES as readonly string[]).includes(tenant) &&
    !TENANT_ID.test(tenant)
  )
    bad(`tenant must be ${MICROSOFT_TENANT_NAMES.join(', ')} or a tenant id (a GUID in lowercase)`);
  const defaults =
    preset && baseUrl !== undefined
      ? preset.defaults({ baseUrl, apiBaseUrl: apiBaseUrl ?? '', tenant: tenant ?? preset.tenant ?? '' })
      : undefined;

  // What kind of upstream, and where it is.
  const kind = input.kind ?? defaults?.kind;
  if (kind !== 'oidc' && kind !== 'oauth2') bad('kind must be oidc or oauth2 (or give a preset)');
  else if (defaults && input.kind !== undefined && input.kind !== defaults.kind)
    bad(`the ${presetName} preset is kind ${defaults.kind}`);
  const endpoint = (name: keyof UpstreamInput, fallback?: string) => url(name, str(name)) ?? fallback;
  const authorizationEndpoint = endpoint('authorization_endpoint', defaults?.authorizationEndpoint);
  const tokenEndpoint = endpoint('token_endpoint', defaults?.tokenEndpoint);
  const userinfoEndpoint = endpoint('userinfo_endpoint', defaults?.userinfoEndpoint);
  const jwksUri = endpoint('jwks_uri', defaults?.jwksUri);
  const emailsEndpoint = endpoint('emails_endpoint', defaults?.emailsEndpoint);
  const discoveryUrl = endpoint('discovery_url', defaults?.discoveryUrl);
  let issuer = str('issuer') ?? defaults?.issuer;
  if (kind === 'oidc') {
    if (issuer === undefined) bad('issuer is required for an OpenID Connect upstream');
    else if (issuer.includes('{tenantid}') && presetName !== 'microsoft')
      bad('issuer: the {tenantid} template applies only to the microsoft preset');
    // Microsoft's multi-tenant issuer is a template: its `{tenantid}` is checked against each token's tid.
    else url('issuer', issuer.replace('{tenantid}', '00000000-0000-0000-0000-000000000000'), { issuer: true });
  } else if (kind === 'oauth2') {
    for (const [name, v] of [
      ['authorization_endpoint', authorizationEndpoint],
      ['token_endpoint', tokenEndpoint],
      ['userinfo_endpoint', userinfoEndpoint],
    ] as const)
      if (v === undefined)
        bad(`${name} is required for an OAuth 2.0 upstream (its profile endpoint: userinfo_endpoint)`);
    if (discoveryUrl !== undefined) bad('discovery_url applies only to an OpenID Connect upstream');
    if (issuer !== undefined) url('issuer', issuer, { issuer: true });
    else if (authorizationEndpoint !== undefined) issuer = new URL(authorizationEndpoint).origin;
  }
  if (emailsEndpoint !== undefined && kind !== 'oauth2') bad('emails_endpoint applies only to an OAuth 2.0 upstream');

  // The button.
  const label = input.label ?? defaults?.label;
  const labelProblem = displayTextProblem('label', label, 64);
  if (labelProblem) bad(labelProblem);
  const order = input.order ?? 0;
  if (!Number.isInteger(order) || order < -1_000_000 || order > 1_000_000)
    bad('order must be a whole number (buttons show by ascending order)');

  // Client authentication and the secret.
  const clientId = str('client_id', 255);
  if (input.client_id === undefined) bad('client_id is required');
  else if (clientId !== undefined && !VISIBLE_ASCII.test(clientId)) bad('client_id must be visible ASCII characters');
  const clientAuth = input.client_auth ?? defaults?.clientAuth ?? 'client_secret_basic';
  if (!CLIENT_AUTHS.includes(clientAuth)) bad(`client_auth must be one of ${CLIENT_AUTHS.join(', ')}`);
  const secretGiven = fromEnv(deps, input, 'client_secret', bad);
  const keyGiven = fromEnv(deps, input, 'private_key', bad);
  const apple = presetName === 'apple';
  const appleKeyId = str('apple_key_id', 10);
  const appleTeamId = str('apple_team_id', 10);
  let plain: string | undefined;
  if (apple) {
    if (clientAuth !== 'client_secret_post') bad('the apple preset authenticates with client_secret_post');
    if (secretGiven !== undefined)
      bad('the apple preset signs its client secret with private_key: give that, not client_secret');
    for (const [name, v] of [
      ['apple_key_id', appleKeyId],
      ['apple_team_id', appleTeamId],
    ] as const)
      if (v === undefined || !APPLE_ID.test(v)) bad(`${name} is required for the apple preset (10 letters and digits)`);
    if (keyGiven !== undefined) plain = privateJwk('private_key', keyGiven, bad, true);
  } else {
    if (appleKeyId !== undefined || appleTeamId !== undefined)
      bad('apple_key_id and apple_team_id apply only to the apple preset');
    if (clientAuth === 'private_key_jwt') {
      if (secretGiven !== undefined)
        bad('a private_key_jwt upstream authenticates with private_key, not client_secret');
      if (keyGiven !== undefined) plain = privateJwk('private_key', keyGiven, bad, false);
    } else if (clientAuth === 'none') {
      if (secretGiven !== undefined || keyGiven !== undefined)
        bad('client_auth none (a public client) has no client_secret or private_key');
    } else {
      if (keyGiven !== undefined) bad(`a ${clientAuth} upstream authenticates with client_secret, not private_key`);
      if (secretGiven !== undefined) {
        if (secretGiven.length > 4096 || /[\r\n]/.test(secretGiven))
          bad('client_secret must be one line of at most 4096 characters');
        plain = secretGiven;
      }
    }
  }
  const needsSecret = clientAuth !== 'none';
  // A secret left out keeps the stored one, as long as it is still the same kind (a secret, or a key)
  // and goes to the same place: a change of where the provider is (its issuer, endpoints, discovery
  // document, client id) needs the secret given again, or the stored one would be sent (or a key would
  // sign assertions) to wherever the change points.
  const sameKind =
    existing?.secretWrapped !== undefined &&
    secretKind(existing.clientAuth, existing.preset === 'apple') === secretKind(clientAuth, apple);
  const moved =
    existing !== undefined &&
    (
      [
        [existing.issuer, issuer],
        [existing.discoveryUrl, discoveryUrl],
        [existing.authorizationEndpoint, authorizationEndpoint],
        [existing.tokenEndpoint, tokenEndpoint],
        [existing.userinfoEndpoint, userinfoEndpoint],
        [existing.jwksUri, jwksUri],
        [existing.emailsEndpoint, emailsEndpoint],
        [existing.clientId, clientId],
        [existing.clientAuth, clientAuth],
      ] as const
    ).some(([was, now]) => was !== now);
  const keep = sameKind && !moved;
  if (needsSecret && plain === undefined && !keep && !problems.some((p) => /client_secret|private_key/.test(p)))
    bad(
      `${apple || clientAuth === 'private_key_jwt' ? 'private_key (or private_key_env)' : 'client_secret (or client_secret_env)'} is required${
        sameKind && moved
          ? ': the stored one is not kept when the issuer, an endpoint, the client id or client_auth changes'
          : ''
      }`,
    );

  // What is asked of the upstream and read from its answer.
  const rawScopes = input.scopes ?? defaults?.scopes ?? (kind === 'oidc' ? ['openid', 'profile', 'email'] : []);
  const scopes = typeof rawScopes === 'string' ? rawScopes.split(' ').filter(Boolean) : rawScopes;
  if (
    !Array.isArray(scopes) ||
    scopes.length > MAX_LIST ||
    scopes.some((s) => typeof s !== 'string' || !SCOPE_TOKEN.test(s))
  )
    bad('scopes must be a list of scope names (RFC 6749 3.3)');
  else if (kind === 'oidc' && !scopes.includes('openid'))
    bad('scopes of an OpenID Connect upstream must include openid');
  const responseMode = input.response_mode ?? defaults?.responseMode ?? 'query';
  if (responseMode !== 'query' && responseMode !== 'form_post') bad('response_mode must be query or form_post');
  const claims = claimMapping(input.claims, defaults?.claims ?? OIDC_CLAIMS, kind, bad);

  // Who may sign in, and how accounts are found.
  const isHost = (d: string) => HOST_NAME.test(d);
  const hostWhat = 'a host name in lowercase (an internationalized domain in its xn-- form)';
  const allowedDomains = list('allowed_domains', isHost, hostWhat);
  const autoLinkDomains = list('auto_link_domains', isHost, hostWhat);
  const homeRealmDomains = list('home_realm_domains', isHost, hostWhat);
  const allowedTenants = list('allowed_tenants', (t) => TENANT_ID.test(t), 'a tenant id (a GUID in lowercase)');
  if (allowedTenants.length && presetName !== 'microsoft') bad('allowed_tenants applies only to the microsoft preset');
  if (autoLinkDomains.length && preset && !preset.autoLink)
    bad(
      `auto_link_domains is refused for the ${presetName} preset: its email claim is not verified (any tenant can set any address: nOAuth), so it can never decide which account a sign-in is`,
    );
  const acrMap = acrMapping(input.acr_map, bad);
  const createUsers = bool('create_users') ?? false;
  const trustAmr = bool('trust_amr') ?? false;
  const enabled = bool('enabled') ?? existing?.enabled ?? true;

  if (problems.length) throw new AdminError(`${where}: ${problems.join('; ')}`);

  let secretWrapped: string | undefined;
  if (plain !== undefined) {
    // The same secret as stored keeps its wrapped value: applying a file twice changes nothing.
    const stored = keep ? await storedSecret(deps, existing!) : undefined;
    const same = stored !== undefined && safeEqual(stored, plain);
    secretWrapped = same
      ? existing!.secretWrapped
      : await wrapAccountSecret(deps.config.keyEncryptionKey, secretLabel(id), plain);
  } else if (needsSecret) secretWrapped = existing!.secretWrapped;

  const record: UpstreamProvider = {
    id,
    kind: kind as UpstreamKind,
    ...(presetName ? { preset: presetName } : {}),
    label: label as string,
    order,
    enabled,
    issuer: issuer!,
    ...(discoveryUrl !== undefined ? { discoveryUrl } : {}),
    ...(authorizationEndpoint !== undefined ? { authorizationEndpoint } : {}),
    ...(tokenEndpoint !== undefined ? { tokenEndpoint } : {}),
    ...(userinfoEndpoint !== undefined ? { userinfoEndpoint } : {}),
    ...(jwksUri !== undefined ? { jwksUri } : {}),
    ...(emailsEndpoint !== undefined ? { emailsEndpoint } : {}),
    clientId: clientId!,
    clientAuth,
    ...(secretWrapped !== undefined ? { secretWrapped } : {}),
    ...(apple ? { appleKeyId: appleKeyId!, appleTeamId: appleTeamId! } : {}),
    scopes: scopes as string[],
    responseMode,
    claims,
    allowedDomains,
    allowedTenants,
    createUsers,
    autoLinkDomains,
    trustAmr,
    acrMap,
    homeRealmDomains,
    privateNetwork,
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
  return record;
}

/** What a provider's wrapped value holds: a client secret, or a private key (private_key_jwt, Apple). */
const secretKind = (auth: UpstreamClientAuth, apple: boolean) =>
  apple || auth === 'private_key_jwt' ? 'key' : auth === 'none' ? 'none' : 'secret';

/**
 * The plain secret of a stored provider, opened with the current key-encryption key only: one wrapped
 * under the previous key (during a rotation) is wrapped again, so saving a provider moves it over.
 */
async function storedSecret(deps: Pick<UpstreamDeps, 'config'>, p: UpstreamProvider): Promise<string | undefined> {
  try {
    return await unwrapAccountSecret(
      { keyEncryptionKey: deps.config.keyEncryptionKey },
      secretLabel(p.id),
      p.secretWrapped!,
    );
  } catch {
    return undefined;
  }
}

/** `name` given in the input, or read from the environment variable `name_env` names. Never echoes a value. */
function fromEnv(
  deps: Pick<UpstreamDeps, 'env'>,
  input: UpstreamInput,
  name: 'client_secret' | 'private_key',
  bad: (m: string) => void,
): string | undefined {
  const direct = input[name];
  const variable = input[`${name}_env`];
  if (direct !== undefined && variable !== undefined) {
    bad(`give ${name} or ${name}_env, not both`);
    return undefined;
  }
  if (variable !== undefined) {
    if (typeof variable !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(variable)) {
      bad(`${name}_env must name an environment variable`);
      return undefined;
    }
    const value = (deps.env ?? process.env)[variable];
    if (value === undefined || value === '') {
      bad(`${name}_env: the environment variable ${variable} is not set`);
      return undefined;
    }
    return value;
  }
  if (direct === undefined) return undefined;
  if (typeof direct !== 'string' || direct.length === 0) {
    bad(`${name} must be a non-empty string`);
    return undefined;
  }
  return direct;
}

/**
 * A private key given as a JWK (JSON) or PEM, as the JWK JSON string that is wrapped. Apple's keys are
 * P-256 (ES256); private_key_jwt takes RSA (2048 bits and more), EC P-256/P-384/P-521 or Ed25519.
 */
function privateJwk(name: string, value: string, bad: (m: string) => void, apple: boolean): string | undefined {
  let jwk: Record<string, unknown>;
  try {
    const text = value.trim();
    if (text.startsWith('{')) {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      // Parsing it as a key object checks that it is a whole private key.
      const key = createPrivateKey({ key: parsed as never, format: 'jwk' });
      jwk = { ...(key.export({ format: 'jwk' }) as Record<string, unknown>) };
      // The key id and algorithm the provider registered it under travel with it (the JWT's header).
      for (const member of ['kid', 'alg'] as const)
        if (typeof parsed[member] === 'string' && VISIBLE_ASCII.test(parsed[member] as string))
          jwk[member] = parsed[member];
    } else jwk = createPrivateKey(text).export({ format: 'jwk' }) as Record<string, unknown>;
  } catch {
    bad(`${name} must be a private key: a JWK (JSON) or a PEM (PKCS #8)`);
    return undefined;
  }
  const ok = apple
    ? jwk.kty === 'EC' && jwk.crv === 'P-256'
    : (jwk.kty === 'RSA' && Buffer.from(String(jwk.n), 'base64url').length >= 256) ||
      (jwk.kty === 'EC' && ['P-256', 'P-384', 'P-521'].includes(String(jwk.crv))) ||
      (jwk.kty === 'OKP' && jwk.crv === 'Ed25519');
  if (!ok) {
    bad(
      apple
        ? `${name} must be the P-256 key Apple issued (ES256)`
        : `${name} must be an RSA key of at least 2048 bits, an EC key (P-256, P-384, P-521) or an Ed25519 key`,
    );
    return undefined;
  }
  return JSON.stringify(jwk);
}

function claimMapping(
  given: UpstreamInput['claims'],
  defaults: UpstreamClaimMapping,
  kind: unknown,
  bad: (m: string) => void,
): UpstreamClaimMapping {
  const out: UpstreamClaimMapping = { ...defaults };
  if (given === undefined) return out;
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    bad('claims must be an object (subject, username, name, email, email_verified, groups)');
    return out;
  }
  for (const [k, v] of Object.entries(given)) {
    if (!Object.hasOwn(CLAIM_KEYS, k)) {
      bad(`claims: unknown key "${k}" (one of ${Object.keys(CLAIM_KEYS).join(', ')})`);
      continue;
    }
    if (typeof v !== 'string' || v.length > 256 || !VISIBLE_ASCII.test(v)) {
      bad(`claims.${k} must be a claim name (visible ASCII)`);
      continue;
    }
    // OpenID Connect identifies by `sub` and nothing else: another member could be reassigned.
    if (k === 'subject' && kind === 'oidc' && v !== 'sub') {
      bad('claims.subject of an OpenID Connect upstream is always sub');
      continue;
    }
    out[k === 'email_verified' ? 'emailVerified' : (k as keyof UpstreamClaimMapping)] = v;
  }
  return out;
}

function acrMapping(given: unknown, bad: (m: string) => void): Record<string, string> {
  if (given === undefined) return {};
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    bad('acr_map must map upstream acr values to Tessera acr values');
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(given)) {
    if (k.length > 256 || !VISIBLE_ASCII.test(k)) bad(`acr_map: ${JSON.stringify(k)} is not an acr value`);
    else if (!(ACR_VALUES_SUPPORTED as readonly unknown[]).includes(v))
      bad(`acr_map.${k} must be one of ${ACR_VALUES_SUPPORTED.join(', ')}`);
    else out[k] = v as string;
  }
  return out;
}

/**
 * Why a URL of an upstream is refused: https on a public host, unless the provider is on a private
 * network (private_network: http and private addresses allowed) or the host is loopback under the
 * development allowance. No credentials or fragment; an issuer or base URL has no query either.
 */
function urlProblem(
  name: string,
  value: string,
  privateNetwork: boolean,
  allowLoopback: boolean,
  noQuery: boolean,
): string | undefined {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return `${name} must be an absolute URL`;
  }
  if (u.username || u.password || value.includes('#')) return `${name} must not carry credentials or a fragment`;
  if (noQuery && u.search) return `${name} must not carry a query`;
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return `${name} must be an https URL`;
  if (privateNetwork) return undefined;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const loopback = allowLoopback && isLoopbackHostName(host);
  if (u.protocol === 'http:' && !loopback)
    return `${name} must use https (http only with private_network: true, or on a loopback host in development)`;
  const hostProblem = outboundHostProblem(u.hostname, allowLoopback);
  return hostProblem ? `${name}: ${hostProblem} (set private_network: true for an on-premise provider)` : undefined;
}

/** The same provider, whatever the time of the last update. */
const sameProvider = (a: UpstreamProvider, b: UpstreamProvider) => {
  const norm = (p: UpstreamProvider) =>
    JSON.stringify(Object.entries({ ...p, updatedAt: 0 }).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  return norm(a) === norm(b);
};

export interface SaveUpstreamResult {
  provider: UpstreamProvider;
  created: boolean;
  changed: boolean;
}

/**
 * Validates and stores a provider (created or replaced by id); an unchanged one is left as it is, so
 * applying a bootstrap file twice changes nothing. A change moves updatedAt forward by at least a
 * second (the upstream client caches each provider's configuration by id and updatedAt). A home-realm
 * domain may belong to one provider only. Emits upstream_saved when something changed.
 */
export async function saveUpstream(
  deps: UpstreamDeps,
  input: UpstreamInput,
  actor: 'admin' | 'bootstrap',
): Promise<SaveUpstreamResult> {
  const now = deps.now();
  const existing =
    input && typeof input === 'object' && typeof input.id === 'string' && PROVIDER_ID.test(input.id)
      ? await deps.stores.upstreams.get(input.id)
      : undefined;
  const built = await buildUpstream(deps, input, existing, now);
  if (existing && sameProvider(existing, { ...built, updatedAt: existing.updatedAt }))
    return { provider: existing, created: false, changed: false };
  const others = (await deps.stores.upstreams.list()).filter((u) => u.id !== built.id);
  const clash = built.homeRealmDomains.flatMap((d) => {
    const holder = others.find((u) => u.homeRealmDomains.includes(d));
    return holder ? [`${d} (${holder.id})`] : [];
  });
  if (clash.length)
    throw new AdminError(
      `upstream ${built.id}: home_realm_domains already sends these domains to another provider: ${clash.join(', ')}`,
    );
  const provider = { ...built, updatedAt: existing ? Math.max(now, existing.updatedAt + 1) : now };
  await deps.stores.upstreams.put(provider);
  deps.events?.({ type: 'upstream_saved', provider: provider.id, actor });
  return { provider, created: !existing, changed: true };
}

/**
 * Checks providers as saving them one after the other would (each valid; no home-realm domain sent to
 * two providers, among them or with those stored), saving nothing: the bootstrap file and `tessera
 * upstream add` call it first, so that a file with a problem changes nothing. Throws the AdminError
 * saveUpstream would.
 */
export async function checkUpstreams(deps: UpstreamDeps, inputs: readonly UpstreamInput[]): Promise<void> {
  const realms = new Map((await deps.stores.upstreams.list()).map((u) => [u.id, u.homeRealmDomains]));
  for (const input of inputs) {
    const existing =
      input && typeof input === 'object' && typeof input.id === 'string' && PROVIDER_ID.test(input.id)
        ? await deps.stores.upstreams.get(input.id)
        : undefined;
    const built = await buildUpstream(deps, input, existing, deps.now());
    const clash = built.homeRealmDomains.flatMap((d) => {
      const holder = [...realms].find(([id, domains]) => id !== built.id && domains.includes(d));
      return holder ? [`${d} (${holder[0]})`] : [];
    });
    if (clash.length)
      throw new AdminError(
        `upstream ${built.id}: home_realm_domains already sends these domains to another provider: ${clash.join(', ')}`,
      );
    realms.set(built.id, built.homeRealmDomains);
  }
}

/** Takes a provider out of service (its button goes, its callbacks are refused) or back in; whether it changed. */
/**
 * `tessera keys rewrap` for providers: every stored secret or key opened under either key-encryption
 * key is wrapped again under TESSERA_KEY_ENCRYPTION_KEY (the record is otherwise unchanged), so the
 * previous key can be retired. Refuses, changing nothing, when one opens under neither.
 */
export async function rewrapUpstreamSecrets(
  deps: Pick<UpstreamDeps, 'stores' | 'config'>,
): Promise<{ rewrapped: number; unchanged: number }> {
  const providers = (await deps.stores.upstreams.list()).filter((p) => p.secretWrapped !== undefined);
  const next: UpstreamProvider[] = [];
  for (const p of providers) {
    if ((await storedSecret(deps, p)) !== undefined) continue;
    let plain: string;
    try {
      plain = await unwrapAccountSecret(deps.config, secretLabel(p.id), p.secretWrapped!);
    } catch {
      throw new AdminError(
        `the secret of upstream provider ${p.id} opens under neither TESSERA_KEY_ENCRYPTION_KEY nor TESSERA_KEY_ENCRYPTION_KEY_PREVIOUS: nothing was re-wrapped`,
      );
    }
    next.push({ ...p, secretWrapped: await wrapAccountSecret(deps.config.keyEncryptionKey, secretLabel(p.id), plain) });
  }
  for (const p of next) await deps.stores.upstreams.put(p);
  return { rewrapped: next.length, unchanged: providers.length - next.length };
}

export async function setUpstreamEnabled(deps: UpstreamDeps, id: string, enabled: boolean): Promise<boolean> {
  const p = await deps.stores.upstreams.get(id);
  if (!p) throw new NotFoundError(`no upstream ${id}`);
  if (p.enabled === enabled) return false;
  await deps.stores.upstreams.put({ ...p, enabled, updatedAt: Math.max(deps.now(), p.updatedAt + 1) });
  deps.events?.({ type: 'upstream_saved', provider: id, actor: 'admin' });
  return true;
}

/**
 * Deletes a provider and every identity linked through it (their users stay; those with no password,
 * passkey or other identity can no longer sign in). Sessions signed in through it run until they end.
 */
export async function deleteUpstream(deps: UpstreamDeps, id: string, actor: 'admin' | 'bootstrap'): Promise<void> {
  if (!(await deps.stores.upstreams.delete(id))) throw new NotFoundError(`no upstream ${id}`);
  deps.events?.({ type: 'upstream_deleted', provider: id, actor });
}

/** The provider as shown to operators: never its secret or key, only whether one is stored. */
export function describeUpstream(p: UpstreamProvider): Record<string, unknown> {
  return {
    id: p.id,
    kind: p.kind,
    ...(p.preset ? { preset: p.preset } : {}),
    label: p.label,
    order: p.order,
    enabled: p.enabled,
    issuer: p.issuer,
    ...(p.discoveryUrl ? { discovery_url: p.discoveryUrl } : {}),
    ...(p.authorizationEndpoint ? { authorization_endpoint: p.authorizationEndpoint } : {}),
    ...(p.tokenEndpoint ? { token_endpoint: p.tokenEndpoint } : {}),
    ...(p.userinfoEndpoint ? { userinfo_endpoint: p.userinfoEndpoint } : {}),
    ...(p.jwksUri ? { jwks_uri: p.jwksUri } : {}),
    ...(p.emailsEndpoint ? { emails_endpoint: p.emailsEndpoint } : {}),
    client_id: p.clientId,
    client_auth: p.clientAuth,
    secret: p.secretWrapped
      ? p.clientAuth === 'private_key_jwt' || p.preset === 'apple'
        ? 'private key stored'
        : 'stored'
      : 'none',
    ...(p.appleKeyId ? { apple_key_id: p.appleKeyId, apple_team_id: p.appleTeamId } : {}),
    scopes: p.scopes,
    response_mode: p.responseMode,
    claims: {
      subject: p.claims.subject,
      username: p.claims.username,
      name: p.claims.name,
      email: p.claims.email,
      email_verified: p.claims.emailVerified,
      ...(p.claims.groups ? { groups: p.claims.groups } : {}),
    },
    allowed_domains: p.allowedDomains,
    allowed_tenants: p.allowedTenants,
    create_users: p.createUsers,
    auto_link_domains: p.autoLinkDomains,
    trust_amr: p.trustAmr,
    acr_map: p.acrMap,
    home_realm_domains: p.homeRealmDomains,
    private_network: p.privateNetwork,
    created_at: new Date(p.createdAt * 1000).toISOString(),
    updated_at: new Date(p.updatedAt * 1000).toISOString(),
  };
}

/** Every provider as operators see it, by button order. */
export async function listUpstreams(stores: Stores): Promise<Record<string, unknown>[]> {
  return (await stores.upstreams.list()).map(describeUpstream);
}

const findUser = async (stores: Pick<Stores, 'users'>, username: string): Promise<UserRecord> => {
  const user = await stores.users.findByUsername(username);
  if (!user) throw new NotFoundError(`no user ${username}`);
  return user;
};

/** A linked identity as operators see it, with its provider's label (gone: the provider was deleted). */
export function describeIdentity(i: UpstreamIdentity, provider: UpstreamProvider | undefined): Record<string, unknown> {
  return {
    provider: i.providerId,
    label: provider?.label ?? null,
    issuer: i.issuer,
    subject: i.subject,
    email: i.email,
    linked_at: new Date(i.createdAt * 1000).toISOString(),
    last_used_at: new Date(i.lastUsedAt * 1000).toISOString(),
  };
}

/** The upstream identities linked to a user, oldest first. */
export async function userIdentities(
  stores: Stores,
  username: string,
): Promise<{ user: UserRecord; identities: UpstreamIdentity[]; providers: Map<string, UpstreamProvider> }> {
  const user = await findUser(stores, username);
  const providers = new Map((await stores.upstreams.list()).map((p) => [p.id, p]));
  return { user, identities: await stores.upstreamIdentities.listByUser(user.id), providers };
}

/**
 * An operator unlinks one of a user's identities with a provider (`subject` chooses when the user has
 * several there). As for the user, never the last way to sign in: with no password, no passkey and no
 * other identity it is refused (set a password first, or disable the account). Sessions signed in
 * with it run on (`tessera user end-sessions` ends them). Emits upstream_unlinked by operator.
 */
export async function unlinkUserIdentity(
  deps: Pick<UpstreamDeps, 'stores' | 'events'>,
  username: string,
  providerId: string,
  subject?: string,
): Promise<{ user: UserRecord; identity: UpstreamIdentity }> {
  const { stores } = deps;
  const user = await findUser(stores, username);
  const mine = (await stores.upstreamIdentities.listByUser(user.id)).filter(
    (i) => i.providerId === providerId && (subject === undefined || i.subject === subject),
  );
  if (mine.length === 0)
    throw new AdminError(
      `${user.username} has no identity linked through ${providerId}${subject !== undefined ? ` with subject ${subject}` : ''}`,
    );
  if (mine.length > 1)
    throw new AdminError(
      `${user.username} has ${mine.length} identities linked through ${providerId} (subjects ${mine.map((i) => i.subject).join(', ')}): name one with --subject`,
    );
  const identity = mine[0]!;
  const passkey = (await stores.factors.listByUser(user.id)).some((f) => f.kind === 'passkey');
  const otherWay = user.passwordHash !== null || passkey;
  const r = await stores.upstreamIdentities.unlink(user.id, identity, otherWay);
  if (r === 'missing') throw new AdminError(`the identity was unlinked meanwhile`);
  if (r === 'last')
    throw new AdminError(
      `refused: it is the last way ${user.username} can sign in (no password, passkey or other linked identity); ` +
        'set a password first (tessera user set-password), or disable the account (tessera user disable)',
    );
  deps.events?.({ type: 'upstream_unlinked', userId: user.id, provider: providerId, by: 'operator' });
  return { user, identity };
}
