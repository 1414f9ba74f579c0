// The upstream client (ports/upstream-client.ts): how Tessera talks to another identity provider.
// openid-client does the protocol (discovery, the authorization URL with PKCE S256, state and
// nonce, the callback's error, state and RFC 9207 `iss` checks, the code exchange, the ID token,
// userinfo), and every HTTP exchange it makes goes through the outbound port's fetch (its
// customFetch), so the SSRF rules, the time limit and the size limit hold for upstreams as for
// everything else Tessera fetches. The presets' own shapes are here and in profile.ts: GitHub's
// profile and verified emails, Microsoft's tenant issuer template (checked here, see
// verifyMicrosoftIdToken), Apple's client-secret JWT and form_post `user` field, Google's `hd`.
import {
  createRemoteJWKSet,
  customFetch as joseFetch,
  importJWK,
  jwtVerify,
  SignJWT,
  type JWTVerifyGetKey,
} from 'jose';
import * as oidc from 'openid-client';
import { unwrapAccountSecret } from '../../accounts/secret-wrap.ts';
import { OutboundError, type OutboundHttp } from '../../ports/outbound.ts';
import {
  UpstreamError,
  type UpstreamClient,
  type UpstreamLogout,
  type UpstreamProfile,
} from '../../ports/upstream-client.ts';
import type { UpstreamProvider } from '../../ports/upstreams.ts';
import { upstreamError } from './errors.ts';
import { fit, profileFrom, subjectOf, TENANT_ID, text } from './profile.ts';

export interface UpstreamClientOptions {
  outbound: OutboundHttp;
  /** The key-encryption keys that open a provider's wrapped secret (current, then previous). */
  keks: { keyEncryptionKey: string; keyEncryptionKeyPrevious?: string };
  /** Epoch seconds (the provider's clock). */
  now: () => number;
  /** One exchange with an upstream, milliseconds (TESSERA_UPSTREAM_TIMEOUT). */
  timeoutMs: number;
  /** The development allowance for loopback upstreams (TESSERA_CLIENT_JWKS_ALLOW_LOOPBACK). */
  allowLoopback: boolean;
  /** Largest answer read from an upstream (bytes); tests lower it. */
  maxBytes?: number;
}

/** Largest answer read from an upstream: discovery documents and key sets are a few KiB. */
export const MAX_UPSTREAM_BYTES = 256 * 1024;
/** How long a provider's discovered metadata, secret and keys are kept (seconds). */
export const CONFIGURATION_TTL = 600;
/** Seconds of clock difference tolerated in the upstream's JWT timestamps. */
const CLOCK_TOLERANCE = 30;
/** A logout token may not ask for its jti to be remembered longer than this (seconds). */
const MAX_LOGOUT_LIFETIME = 86_400;
/** Apple's client secret is a JWT for this audience, valid this long (seconds). */
const APPLE_AUDIENCE = 'https://appleid.apple.com';
const APPLE_SECRET_LIFETIME = 300;
const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** Parameters of a callback that are not the authorization response's (Apple's name, the signin's bounce marker). */
const NOT_RESPONSE = ['user', 'tessera_bounce'];

/** What is kept of a provider between sign-ins (per `${id}:${updatedAt}`, CONFIGURATION_TTL). */
interface Prepared {
  metadata: oidc.ServerMetadata;
  secret?: string;
  privateKey?: CryptoKey;
  /** The private key's `kid`, sent in private_key_jwt assertions so the upstream finds its public key. */
  keyId?: string;
  insecure: boolean;
  /** openid-client's key set cache (ID token signatures), carried from one Configuration to the next. */
  jwksCache?: oidc.ExportedJWKSCache;
  /** jose's key set (Microsoft's ID tokens, logout tokens). */
  keys?: JWTVerifyGetKey;
}

/** A Microsoft issuer template (`{tenantid}` in place of the tenant). */
const isTemplate = (p: UpstreamProvider) => p.issuer.includes('{tenantid}');

/** The tenant issuer `iss` claims to be, when it is the template with a tenant id put in; else undefined. */
function tenantOf(template: string, iss: unknown): string | undefined {
  if (typeof iss !== 'string') return undefined;
  const [head, tail] = template.split('{tenantid}') as [string, string];
  if (!iss.startsWith(head) || !iss.endsWith(tail) || iss.length <= head.length + tail.length) return undefined;
  const tid = iss.slice(head.length, iss.length - tail.length);
  return TENANT_ID.test(tid) ? tid : undefined;
}

/**
 * The tenant ids (lower case) an issuer URL names in its path (`<base>/<tid>/v2.0`, `https://sts.windows.net/<tid>/`).
 */
function issuerTenants(issuer: string): string[] {
  try {
    return new URL(issuer).pathname
      .split('/')
      .filter((s) => TENANT_ID.test(s))
      .map((s) => s.toLowerCase());
  } catch {
    return [];
  }
}

/** A host that always means this machine (for openid-client's http allowance under the development flag). */
const loopbackHost = (host: string) =>
  host === 'localhost' || host.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '[::1]';

function isAbsolute(u: string | undefined): u is string {
  if (!u) return false;
  try {
    new URL(u);
    return true;
  } catch {
    return false;
  }
}

export function createUpstreamClient(o: UpstreamClientOptions): UpstreamClient {
  const maxBytes = o.maxBytes ?? MAX_UPSTREAM_BYTES;
  const cache = new Map<string, { key: string; expiresAt: number; prepared: Promise<Prepared> }>();

  /** openid-client's customFetch over the outbound port, for one provider (names each endpoint in messages). */
  const fetcherFor =
    (provider: UpstreamProvider, metadata?: oidc.ServerMetadata): oidc.CustomFetch =>
    async (url, options) => {
      const endpoint = metadata
        ? (['token_endpoint', 'userinfo_endpoint', 'jwks_uri'] as const).find((k) => metadata[k] === url)
        : undefined;
      const body = options.body;
      if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof URLSearchParams))
        throw new UpstreamError('invalid', `upstream ${provider.id}: unexpected request body`);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(options.headers ?? {})) headers[k] = v;
      return o.outbound.fetch(
        url,
        {
          method: options.method === 'POST' ? 'POST' : 'GET',
          headers,
          ...(body !== undefined && body !== null ? { body: body.toString() } : {}),
        },
        {
          name: `upstream ${provider.id} ${endpoint ?? (metadata ? 'profile' : 'discovery')}`,
          allowLoopback: o.allowLoopback,
          timeoutMs: o.timeoutMs,
          maxBytes,
          privateNetwork: provider.privateNetwork,
        },
      );
    };

  /** Whether openid-client may use http with this provider: only where the outbound rules would let it. */
  const insecureFor = (provider: UpstreamProvider, urls: (string | undefined)[]) =>
    urls.some((u) => {
      if (!isAbsolute(u)) return false;
      const url = new URL(u);
      return url.protocol === 'http:' && (provider.privateNetwork || (o.allowLoopback && loopbackHost(url.hostname)));
    });

  async function load(provider: UpstreamProvider): Promise<Prepared> {
    let secret: string | undefined;
    if (provider.secretWrapped) {
      try {
        secret = await unwrapAccountSecret(o.keks, `upstream:${provider.id}`, provider.secretWrapped);
      } catch {
        throw new UpstreamError(
          'unavailable',
          `upstream ${provider.id}: its secret cannot be opened with the configured key-encryption keys`,
        );
      }
    }
    const overrides = {
      ...(provider.authorizationEndpoint ? { authorization_endpoint: provider.authorizationEndpoint } : {}),
      ...(provider.tokenEndpoint ? { token_endpoint: provider.tokenEndpoint } : {}),
      ...(provider.userinfoEndpoint ? { userinfo_endpoint: provider.userinfoEndpoint } : {}),
      ...(provider.jwksUri ? { jwks_uri: provider.jwksUri } : {}),
    };
    let metadata: oidc.ServerMetadata;
    let insecure: boolean;
    if (provider.kind === 'oauth2') {
      if (!provider.authorizationEndpoint || !provider.tokenEndpoint)
        throw new UpstreamError('unavailable', `upstream ${provider.id}: an OAuth 2.0 provider needs its endpoints`);
      metadata = { issuer: provider.issuer, ...overrides };
      insecure = insecureFor(provider, Object.values(overrides));
    } else {
      if (isTemplate(provider) && !provider.discoveryUrl)
        throw new UpstreamError('unavailable', `upstream ${provider.id}: an issuer template needs a discovery URL`);
      const where = provider.discoveryUrl ?? provider.issuer;
      if (!isAbsolute(where)) throw new UpstreamError('unavailable', `upstream ${provider.id}: no discovery URL`);
      const insecureDiscovery = insecureFor(provider, [where]);
      let discovered: oidc.Configuration;
      try {
        discovered = await oidc.discovery(new URL(where), provider.clientId, undefined, oidc.None(), {
          [oidc.customFetch]: fetcherFor(provider),
          execute: insecureDiscovery ? [oidc.allowInsecureRequests] : [],
          timeout: Math.ceil(o.timeoutMs / 1000) + 1,
        });
      } catch (e) {
        throw upstreamError(e, provider.id, 'discovery', true);
      }
      // Only the document's data (serverMetadata adds helper functions, which cannot be cloned).
      const doc = JSON.parse(JSON.stringify(discovered.serverMetadata())) as oidc.ServerMetadata;
      // openid-client checks the issuer only when discovery starts from it; a discovery URL, or
      // Microsoft's template, is checked here: the document must be the configured issuer's.
      const same = isTemplate(provider)
        ? doc.issuer === provider.issuer || tenantOf(provider.issuer, doc.issuer) !== undefined
        : isAbsolute(doc.issuer) && new URL(doc.issuer).href === new URL(provider.issuer).href;
      if (!same) throw new UpstreamError('unavailable', `upstream ${provider.id}: discovery names another issuer`);
      metadata = { ...doc, ...overrides };
      insecure =
        insecureDiscovery ||
        insecureFor(provider, [
          metadata.authorization_endpoint,
          metadata.token_endpoint,
          metadata.userinfo_endpoint,
          metadata.jwks_uri,
        ]);
    }
    const secretAuth = provider.clientAuth === 'client_secret_basic' || provider.clientAuth === 'client_secret_post';
    if (secretAuth && provider.preset !== 'apple' && !secret)
      throw new UpstreamError('unavailable', `upstream ${provider.id}: no client secret is configured`);
    const prepared: Prepared = { metadata, insecure };
    if (secret !== undefined) prepared.secret = secret;
    if (provider.clientAuth === 'private_key_jwt' || provider.preset === 'apple') {
      if (!secret) throw new UpstreamError('unavailable', `upstream ${provider.id}: no private key`);
      try {
        const jwk = JSON.parse(secret) as { alg?: string; kty?: string; crv?: string; kid?: string; d?: string };
        if (!jwk.d) throw new Error('not a private key');
        const alg = provider.preset === 'apple' ? 'ES256' : (jwk.alg ?? defaultAlg(jwk));
        prepared.privateKey = (await importJWK(jwk, alg)) as CryptoKey;
        if (typeof jwk.kid === 'string') prepared.keyId = jwk.kid;
      } catch {
        throw new UpstreamError('unavailable', `upstream ${provider.id}: its private key cannot be read`);
      }
    }
    return prepared;
  }

  /** The provider's prepared state: cached per `${id}:${updatedAt}` for CONFIGURATION_TTL; failures are not kept. */
  function prepare(provider: UpstreamProvider): Promise<Prepared> {
    const key = `${provider.id}:${provider.updatedAt}`;
    const now = o.now();
    const hit = cache.get(provider.id);
    if (hit && hit.key === key && hit.expiresAt > now) return hit.prepared;
    const prepared = load(provider);
    const entry = { key, expiresAt: now + CONFIGURATION_TTL, prepared };
    cache.set(provider.id, entry);
    prepared.catch(() => {
      if (cache.get(provider.id) === entry) cache.delete(provider.id);
    });
    return prepared;
  }

  /** How Tessera authenticates at the token endpoint. */
  async function clientAuth(provider: UpstreamProvider, p: Prepared): Promise<oidc.ClientAuth> {
    if (provider.preset === 'apple') return oidc.ClientSecretPost(await appleSecret(provider, p));
    switch (provider.clientAuth) {
      case 'client_secret_basic':
        return oidc.ClientSecretBasic(p.secret ?? '');
      case 'client_secret_post':
        return oidc.ClientSecretPost(p.secret ?? '');
      case 'private_key_jwt':
        return oidc.PrivateKeyJwt(p.keyId ? { key: p.privateKey!, kid: p.keyId } : p.privateKey!);
      default:
        return oidc.None();
    }
  }

  /** Apple's client secret: an ES256 JWT by the team (iss), for the service (sub), short-lived. */
  async function appleSecret(provider: UpstreamProvider, p: Prepared): Promise<string> {
    if (!provider.appleKeyId || !provider.appleTeamId || !p.privateKey)
      throw new UpstreamError('unavailable', `upstream ${provider.id}: Apple needs its key id, team id and key`);
    const now = o.now();
    return new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: provider.appleKeyId })
      .setIssuer(provider.appleTeamId)
      .setSubject(provider.clientId)
      .setAudience(APPLE_AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + APPLE_SECRET_LIFETIME)
      .sign(p.privateKey);
  }

  /**
   * An openid-client Configuration for one exchange: built each time (it is cheap) so its clock is
   * the provider's clock now and Apple's secret is fresh; the key set cache carries over.
   */
  async function configuration(
    provider: UpstreamProvider,
    p: Prepared,
    withAuth: boolean,
    fetch: oidc.CustomFetch = fetcherFor(provider, p.metadata),
  ): Promise<oidc.Configuration> {
    const client: Partial<oidc.ClientMetadata> = {
      [oidc.clockSkew]: Math.round(o.now() - Date.now() / 1000),
      [oidc.clockTolerance]: CLOCK_TOLERANCE,
    };
    const auth = withAuth ? await clientAuth(provider, p) : oidc.None();
    const config = new oidc.Configuration(p.metadata, provider.clientId, client, auth);
    config[oidc.customFetch] = fetch;
    config.timeout = Math.ceil(o.timeoutMs / 1000) + 1;
    if (p.insecure) oidc.allowInsecureRequests(config);
    // ID tokens' signatures are checked too (not only TLS to the token endpoint): an on-premise
    // provider may be reached over plain http.
    if (provider.kind === 'oidc' && p.metadata.jwks_uri) oidc.enableNonRepudiationChecks(config);
    if (p.jwksCache) oidc.setJwksCache(config, p.jwksCache);
    return config;
  }

  /** jose's key set for the provider's jwks_uri, through the outbound port. */
  function keysOf(provider: UpstreamProvider, p: Prepared): JWTVerifyGetKey {
    if (p.keys) return p.keys;
    if (!p.metadata.jwks_uri) throw new UpstreamError('unavailable', `upstream ${provider.id}: no jwks_uri`);
    const fetch = fetcherFor(provider, p.metadata);
    p.keys = createRemoteJWKSet(new URL(p.metadata.jwks_uri), {
      timeoutDuration: o.timeoutMs + 1000,
      [joseFetch]: async (url, options) => {
        const res = await fetch(url, {
          method: 'GET',
          headers: Object.fromEntries(options.headers.entries()),
          body: undefined,
          redirect: 'manual',
        });
        // A key set that is not there is the provider being down, not a bad token.
        if (res.status !== 200)
          throw new OutboundError('failed', `upstream ${provider.id} jwks_uri answered ${res.status}`, res.status);
        return res;
      },
    });
    return p.keys;
  }

  /** The signing algorithms the provider says it uses (never none, never a shared-secret one). */
  const algorithmsOf = (p: Prepared) =>
    (p.metadata.id_token_signing_alg_values_supported ?? ['RS256']).filter((a) => a !== 'none' && !a.startsWith('HS'));

  /**
   * Microsoft's ID token, checked here rather than by openid-client: with a multi-tenant issuer
   * template the expected `iss` is the template with the token's own `tid` put in (a tenant id, a
   * GUID), which openid-client can only compare to one fixed issuer. Signature (the provider's keys
   * and algorithms), audience, azp, times, nonce; the tenant issuer, equal to the authorization
   * response's `iss` when it sent one.
   */
  async function verifyMicrosoftIdToken(
    provider: UpstreamProvider,
    p: Prepared,
    idToken: string | undefined,
    nonce: string,
    responseIssuer: string | undefined,
  ): Promise<{ claims: Record<string, unknown>; issuer: string; tenant: string }> {
    if (!idToken) throw new UpstreamError('invalid', `upstream ${provider.id}: no ID token`);
    const { payload } = await jwtVerify(idToken, keysOf(provider, p), {
      algorithms: algorithmsOf(p),
      audience: provider.clientId,
      currentDate: new Date(o.now() * 1000),
      clockTolerance: CLOCK_TOLERANCE,
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
    });
    const tid = typeof payload.tid === 'string' && TENANT_ID.test(payload.tid) ? payload.tid : undefined;
    if (!tid) throw new UpstreamError('invalid', `upstream ${provider.id}: the ID token has no tenant id`);
    const expected = isTemplate(provider) ? provider.issuer.replace('{tenantid}', tid) : p.metadata.issuer;
    if (payload.iss !== expected)
      throw new UpstreamError('invalid', `upstream ${provider.id}: the ID token's issuer is not its tenant's`);
    // One tenant's own issuer (no template): the tid must be that tenant, which the issuer names in
    // its path; else the profile's tenant (allowedTenants) would be a claim nothing tied to the issuer.
    if (!isTemplate(provider) && !issuerTenants(expected).includes(tid.toLowerCase()))
      throw new UpstreamError('invalid', `upstream ${provider.id}: the ID token's tenant is not its issuer's`);
    if (responseIssuer !== undefined && responseIssuer !== payload.iss)
      throw new UpstreamError('invalid', `upstream ${provider.id}: the response's iss differs from the ID token's`);
    if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== provider.clientId)
      throw new UpstreamError('invalid', `upstream ${provider.id}: the ID token's azp is not this client`);
    if (payload.nonce !== nonce)
      throw new UpstreamError('invalid', `upstream ${provider.id}: the ID token's nonce does not match`);
    return { claims: payload as Record<string, unknown>, issuer: payload.iss, tenant: tid };
  }

  /** Reads a JSON document from a profile endpoint with the access token (OAuth 2.0 providers, GitHub's emails). */
  async function profileDocument(
    config: oidc.Configuration,
    provider: UpstreamProvider,
    accessToken: string,
    url: string,
    optional = false,
  ) {
    const headers = new Headers({ accept: 'application/json', 'user-agent': 'Tessera' });
    const res = await oidc.fetchProtectedResource(config, accessToken, new URL(url), 'GET', undefined, headers);
    // An optional document the token may not reach (GitHub's emails without the user:email scope).
    if (optional && (res.status === 403 || res.status === 404)) return undefined;
    if (res.status !== 200)
      throw new UpstreamError(
        res.status >= 500 ? 'unavailable' : 'invalid',
        `upstream ${provider.id} profile: answered with status ${res.status}`,
      );
    try {
      return (await res.json()) as unknown;
    } catch {
      throw new UpstreamError('invalid', `upstream ${provider.id} profile: not JSON`);
    }
  }

  /**
   * GitHub's /user/emails: the primary address and whether GitHub verified it. Refused to the token
   * (the user:email scope not granted): no address is verified.
   */
  async function githubEmail(
    config: oidc.Configuration,
    provider: UpstreamProvider,
    accessToken: string,
  ): Promise<{ email?: string; verified: boolean }> {
    const list = await profileDocument(config, provider, accessToken, provider.emailsEndpoint!, true);
    if (list === undefined) return { verified: false };
    if (!Array.isArray(list)) throw new UpstreamError('invalid', `upstream ${provider.id} emails: not a list`);
    const primary = list.find(
      (e): e is { email: string; primary: true; verified: boolean } =>
        typeof e === 'object' && e !== null && e.primary === true && typeof e.email === 'string',
    );
    const email = primary ? text(primary.email) : undefined;
    return email ? { email, verified: primary!.verified === true } : { verified: false };
  }

  async function callback(
    provider: UpstreamProvider,
    a: {
      redirectUri: string;
      state: string;
      nonce: string;
      codeVerifier: string;
      maxAge?: number;
      params: URLSearchParams;
    },
  ): Promise<UpstreamProfile> {
    const p = await prepare(provider);
    const microsoft = provider.preset === 'microsoft' && provider.kind === 'oidc';
    const params = new URLSearchParams(a.params);
    for (const k of NOT_RESPONSE) params.delete(k);
    // Microsoft's template: an `iss` in the response must be the template with a tenant id (and is
    // compared with the ID token's below); openid-client would compare it with the template itself.
    let responseIssuer: string | undefined;
    if (microsoft && isTemplate(provider) && params.has('iss')) {
      const iss = params.getAll('iss');
      if (iss.length !== 1 || tenantOf(provider.issuer, iss[0]) === undefined)
        throw new UpstreamError(
          'invalid',
          `upstream ${provider.id}: the response's iss is not a tenant of the template`,
        );
      responseIssuer = iss[0];
      params.delete('iss');
    }
    const current = new URL(a.redirectUri);
    current.search = params.toString();
    // Microsoft: the ID token is taken out of the token response before openid-client reads it, and
    // verified by verifyMicrosoftIdToken (the access token's checks stay openid-client's).
    let idToken: string | undefined;
    const base = fetcherFor(provider, p.metadata);
    const fetch: oidc.CustomFetch = microsoft
      ? async (url, options) => {
          const res = await base(url, options);
          if (url !== p.metadata.token_endpoint || options.method !== 'POST' || res.status !== 200) return res;
          let body: Record<string, unknown>;
          try {
            body = (await res.json()) as Record<string, unknown>;
          } catch {
            throw new UpstreamError('invalid', `upstream ${provider.id} token_endpoint: not JSON`);
          }
          if (typeof body !== 'object' || body === null)
            return new Response('null', { status: 200, headers: res.headers });
          if (typeof body.id_token === 'string') idToken = body.id_token;
          delete body.id_token;
          const headers = new Headers(res.headers);
          headers.delete('content-length');
          return new Response(JSON.stringify(body), { status: 200, headers });
        }
      : base;
    const config = await configuration(provider, p, true, fetch);
    try {
      const tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: a.codeVerifier,
        expectedState: a.state,
        ...(provider.kind === 'oidc' && !microsoft ? { expectedNonce: a.nonce } : {}),
        // The ID token's auth_time must meet the max_age sent (openid-client checks it, with its clock
        // tolerance); Microsoft's tokens are checked below.
        ...(provider.kind === 'oidc' && !microsoft && a.maxAge !== undefined ? { maxAge: a.maxAge } : {}),
      });
      const saved = oidc.getJwksCache(config);
      if (saved) p.jwksCache = saved;
      if (provider.kind === 'oauth2') {
        if (!p.metadata.userinfo_endpoint)
          throw new UpstreamError(
            'unavailable',
            `upstream ${provider.id}: an OAuth 2.0 provider needs its profile endpoint`,
          );
        const doc = await profileDocument(config, provider, tokens.access_token, p.metadata.userinfo_endpoint);
        if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
          throw new UpstreamError('invalid', `upstream ${provider.id} profile: not an object`);
        const claims = doc as Record<string, unknown>;
        const subject = subjectOf(claims[provider.claims.subject]);
        if (!subject) throw new UpstreamError('invalid', `upstream ${provider.id} profile: no subject`);
        const profile = profileFrom(provider, claims, { issuer: provider.issuer, subject });
        if (!provider.emailsEndpoint) return profile;
        const { email, verified } = await githubEmail(config, provider, tokens.access_token);
        const { email: _public, emailVerified: _v, ...rest } = profile;
        // The verified primary address; without one, the profile's address is kept as unverified.
        const chosen = email ?? profile.email;
        return { ...rest, emailVerified: email !== undefined && verified, ...(chosen ? { email: chosen } : {}) };
      }
      let claims: Record<string, unknown>;
      let identity: { issuer: string; subject: string; tenant?: string };
      if (microsoft) {
        const checked = await verifyMicrosoftIdToken(provider, p, idToken, a.nonce, responseIssuer);
        claims = checked.claims;
        // max_age sent: the authentication must be that recent, as openid-client checks for the others.
        if (a.maxAge !== undefined) {
          const at = claims.auth_time;
          if (typeof at !== 'number' || at + a.maxAge < o.now() - CLOCK_TOLERANCE)
            throw new UpstreamError('invalid', `upstream ${provider.id}: auth_time missing or older than max_age`);
        }
        const oid = typeof claims.oid === 'string' && TENANT_ID.test(claims.oid) ? claims.oid : undefined;
        if (!oid) throw new UpstreamError('invalid', `upstream ${provider.id}: the ID token has no oid`);
        identity = { issuer: checked.issuer, subject: oid, tenant: checked.tenant };
      } else {
        const idClaims = tokens.claims();
        if (!idClaims) throw new UpstreamError('invalid', `upstream ${provider.id}: no ID token`);
        claims = idClaims as Record<string, unknown>;
        const subject = subjectOf(idClaims.sub);
        if (!subject) throw new UpstreamError('invalid', `upstream ${provider.id}: the ID token has no usable sub`);
        identity = { issuer: idClaims.iss, subject };
      }
      // Userinfo only when a mapped claim is missing from the ID token (its claims win: they are signed).
      const map = provider.claims;
      const wanted = [map.email, map.username, map.name, ...(map.groups ? [map.groups] : [])];
      if (p.metadata.userinfo_endpoint && wanted.some((c) => claims[c] === undefined)) {
        const info = (await oidc.fetchUserInfo(config, tokens.access_token, String(claims.sub))) as Record<
          string,
          unknown
        >;
        // An email and its verified flag are taken from one document: the ID token's when it names
        // an address, else userinfo's. Merged claim by claim, one document's flag would vouch for
        // the other's address (an unverified address in the ID token, a verified one in userinfo).
        const emailFrom = claims[map.email] !== undefined ? claims : info;
        // What the authentication was (amr, acr: they can raise the sign-in's factors) and which
        // upstream session it is (sid, for back-channel logout) only the ID token says.
        const { amr: _amr, acr: _acr, sid: _sid, auth_time: _at, ...profileInfo } = info;
        claims = {
          ...profileInfo,
          ...claims,
          [map.email]: emailFrom[map.email],
          [map.emailVerified]: emailFrom[map.emailVerified],
        };
      }
      return profileFrom(provider, claims, identity, { appleUser: a.params.get('user') });
    } catch (e) {
      throw upstreamError(e, provider.id, 'callback');
    }
  }

  async function verifyLogoutToken(provider: UpstreamProvider, token: string): Promise<UpstreamLogout> {
    const p = await prepare(provider).catch((e: unknown) => {
      throw upstreamError(e, provider.id, 'configuration', true);
    });
    const invalid = (why: string) => new UpstreamError('invalid', `upstream ${provider.id} logout token: ${why}`);
    if (provider.kind !== 'oidc') throw invalid('the provider is not OpenID Connect');
    if (typeof token !== 'string' || token.length > 16_384 || token.split('.').length !== 3) throw invalid('not a JWT');
    const now = o.now();
    let verified: Awaited<ReturnType<typeof jwtVerify>>;
    try {
      verified = await jwtVerify(token, keysOf(provider, p), {
        algorithms: algorithmsOf(p),
        audience: provider.clientId,
        ...(isTemplate(provider) ? {} : { issuer: p.metadata.issuer }),
        currentDate: new Date(now * 1000),
        clockTolerance: CLOCK_TOLERANCE,
        requiredClaims: ['iss', 'aud', 'iat', 'exp', 'jti'],
      });
    } catch (e) {
      // The keys not reachable: the provider is down; anything else is the token's fault.
      const down = upstreamError(e, provider.id, 'logout token keys');
      if (down.reason === 'unavailable') throw down;
      throw invalid(down.message.replace(/^upstream \S+ logout token keys: /, ''));
    }
    const { payload, protectedHeader } = verified;
    const typ = protectedHeader.typ?.toLowerCase().replace(/^application\//, '');
    if (protectedHeader.typ !== undefined && typ !== 'logout+jwt') throw invalid('typ is not logout+jwt');
    let issuer = payload.iss!;
    if (isTemplate(provider)) {
      const tid = typeof payload.tid === 'string' ? payload.tid : undefined;
      if (!tid || tenantOf(provider.issuer, issuer) !== tid) throw invalid("the issuer is not its tenant's");
      issuer = provider.issuer.replace('{tenantid}', tid);
    }
    const events = payload.events as Record<string, unknown> | undefined;
    const event = events && typeof events === 'object' ? events[BACKCHANNEL_EVENT] : undefined;
    if (typeof event !== 'object' || event === null || Array.isArray(event))
      throw invalid('no back-channel logout event');
    if ('nonce' in payload) throw invalid('it carries a nonce');
    // The subject as the sign-in's profile has it: Microsoft's is the oid (its sub is pairwise, per
    // application), so a logout by sub alone would match no session.
    const subject =
      provider.preset === 'microsoft'
        ? typeof payload.oid === 'string' && TENANT_ID.test(payload.oid)
          ? payload.oid
          : undefined
        : subjectOf(payload.sub);
    const sid = text(payload.sid);
    if (!subject && !sid) throw invalid('neither sub nor sid');
    if (payload.iat! > now + CLOCK_TOLERANCE) throw invalid('issued in the future');
    if (payload.exp! > now + MAX_LOGOUT_LIFETIME) throw invalid('it lives too long');
    // The jti becomes a key in the replay store: no control characters (a NUL PostgreSQL cannot store).
    if (typeof payload.jti !== 'string' || payload.jti === '' || payload.jti.length > 255 || !fit(payload.jti))
      throw invalid('bad jti');
    return {
      issuer,
      jti: payload.jti,
      expiresAt: payload.exp!,
      ...(subject ? { subject } : {}),
      ...(sid ? { sid } : {}),
    };
  }

  return {
    async authorizationUrl(provider, a) {
      try {
        const p = await prepare(provider);
        const config = await configuration(provider, p, false);
        const scopes =
          provider.kind === 'oidc' && !provider.scopes.includes('openid')
            ? ['openid', ...provider.scopes]
            : provider.scopes;
        const params = new URLSearchParams({
          redirect_uri: a.redirectUri,
          scope: scopes.join(' '),
          state: a.state,
          code_challenge: await oidc.calculatePKCECodeChallenge(a.codeVerifier),
          code_challenge_method: 'S256',
        });
        if (provider.kind === 'oidc') params.set('nonce', a.nonce);
        if (provider.responseMode === 'form_post') params.set('response_mode', 'form_post');
        if (a.loginHint) params.set('login_hint', a.loginHint);
        // OpenID Connect only: a plain OAuth 2.0 provider has no such parameters (nor an auth_time).
        if (provider.kind === 'oidc' && a.prompt) params.set('prompt', a.prompt);
        if (provider.kind === 'oidc' && a.maxAge !== undefined) params.set('max_age', String(a.maxAge));
        return oidc.buildAuthorizationUrl(config, params).href;
      } catch (e) {
        throw upstreamError(e, provider.id, 'authorization request', true);
      }
    },
    callback: (provider, a) =>
      callback(provider, a).catch((e: unknown) => {
        throw upstreamError(e, provider.id, 'callback');
      }),
    verifyLogoutToken,
    forget(providerId) {
      cache.delete(providerId);
    },
  };
}

/** A private JWK's signing algorithm when it does not name one. */
function defaultAlg(jwk: { kty?: string; crv?: string }): string {
  if (jwk.kty === 'EC') return jwk.crv === 'P-384' ? 'ES384' : jwk.crv === 'P-521' ? 'ES512' : 'ES256';
  if (jwk.kty === 'OKP') return 'EdDSA';
  return 'RS256';
}
