// RFC 8707 resource indicators. An authorization request (or PAR, or a request object) may name
// several resources; they are kept on the code and the grant as one space-separated string (a URI
// has no spaces, so the single-resource form is unchanged). Each access token is for ONE resource:
// the token request names it with `resource` (one of those granted), or the grant has just one.
// Per-resource scopes: a client's `resource_scopes` metadata maps a resource to the scopes an
// access token for it may carry; OpenID Connect scopes are not affected by the mapping.
import type { ClientRecord } from '../ports/clients.ts';
import type { ResourceServerRecord, ScopeDescription } from '../ports/resource-servers.ts';
import { ADMIN_SCOPE_DESCRIPTIONS, adminAudience, ADMIN_SCOPES, isAdminScope } from './admin-scopes.ts';
import { adminTokenRequest } from './admin-tokens.ts';
import { isLoopbackHostName } from './client-auth/public-address.ts';
import { OAuthError } from './errors.ts';
import { splitScope } from './params.ts';
import type { Provider } from './provider.ts';
import type { ResourceRegistry } from './services.ts';
import type { SigningKey } from './tokens/signer.ts';

/** Most resources one authorization request may name. */
export const MAX_RESOURCES = 10;
/** Scopes about the user's identity at this server, which a resource mapping does not restrict. */
export const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access']);

const invalidTarget = (description: string, detail?: string) =>
  new OAuthError('invalid_target', description, detail ? { detail } : {});

/** Splits a resource value as readParams joined it (repeated `resource` parameters). */
export function splitResources(value: string | null | undefined): string[] {
  return value ? value.split(' ').filter(Boolean) : [];
}

/**
 * Validates the requested resources: absolute URIs without a fragment, at most MAX_RESOURCES,
 * each allowed for the client. Returns them, without duplicates, joined again.
 */
export function checkResources(client: ClientRecord, value: string): string {
  const list = [...new Set(splitResources(value))];
  if (list.length === 0) throw invalidTarget('resource must be an absolute URI without a fragment.');
  if (list.length > MAX_RESOURCES) throw invalidTarget(`At most ${MAX_RESOURCES} resources may be requested.`);
  for (const r of list) {
    let u: URL | undefined;
    try {
      u = new URL(r);
    } catch {
      /* reported below */
    }
    if (!u || r.includes('#')) throw invalidTarget('resource must be an absolute URI without a fragment.');
    if (client.allowedResources.length && !client.allowedResources.includes(r))
      throw invalidTarget('This client may not ask for that resource.');
  }
  return list.join(' ');
}

/**
 * The one resource an access token from a grant is for: `requested` (a token request's resource,
 * which must be one of the granted ones), or the grant's only resource; null when the grant has
 * none (the default audience applies). A grant with several resources needs `resource` named.
 */
export function pickResource(granted: string | null, requested: string | undefined): string | null {
  const list = splitResources(granted);
  if (requested !== undefined) {
    if (splitResources(requested).length !== 1) throw invalidTarget('Name one resource per token request.');
    if (!list.includes(requested)) throw invalidTarget('resource was not part of the authorization.');
    return requested;
  }
  if (list.length > 1)
    throw invalidTarget('Several resources were authorized: name the one this token is for with resource.');
  return list[0] ?? null;
}

/**
 * The scope of an access token for `resource`: `scope` narrowed by the client's resource_scopes for it, if it has an
 * entry.
 */
export function resourceScope(client: ClientRecord, resource: string | null, scope: string): string {
  const map = client.metadata.resource_scopes;
  const allowed = resource !== null && map ? map[resource] : undefined;
  if (!allowed) return scope;
  return splitScope(scope)
    .filter((s) => OIDC_SCOPES.has(s) || allowed.includes(s))
    .join(' ');
}

/** Problems of a resource_scopes value (client metadata). */
export function resourceScopesProblems(value: unknown, allowedResources: string[], scopes: string[]): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return ['resource_scopes must be an object mapping resource URIs to lists of scopes'];
  const problems: string[] = [];
  for (const [resource, list] of Object.entries(value as Record<string, unknown>)) {
    let ok = !resource.includes('#') && !resource.includes(' ');
    try {
      new URL(resource);
    } catch {
      ok = false;
    }
    if (!ok) problems.push(`resource_scopes: ${resource} is not an absolute URI without a fragment`);
    else if (allowedResources.length && !allowedResources.includes(resource))
      problems.push(`resource_scopes: ${resource} is not one of allowed_resources`);
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string'))
      problems.push(`resource_scopes: the scopes of ${resource} must be a list of strings`);
    else
      for (const s of list)
        if (!scopes.includes(s))
          problems.push(`resource_scopes: scope ${s} of ${resource} is not one of the client's scopes`);
  }
  return problems;
}

// ---- The registry of resource servers --------------------------------------------------------
// Operators list their resource servers (bootstrap `resources:`, `tessera resource ...`): identifier,
// display name, scopes with descriptions, access-token lifetime, algorithm and DPoP policy. A token
// for a registry resource (or for the default audience, when it is registered) follows its policy,
// whoever the client. Self-registered clients (metadata.registration) may obtain tokens only for the
// default audience and registry resources, within TESSERA_REGISTRATION_GRANT_TYPES and
// TESSERA_REGISTRATION_SCOPES (plus, with TESSERA_REGISTRATION_RESOURCE_SCOPES, the scopes of the
// resource asked for), which are checked again at every authorization and token request.

export type { ResourceRegistry } from './services.ts';
export { REGISTRY_CACHE_MS } from './services.ts';

/**
 * The registry, read at most every REGISTRY_CACHE_MS per Provider (one small table; kept off the
 * hot paths): the provider's `resourceRegistry` copy.
 */
export function resourceRegistry(p: Pick<Provider, 'resourceRegistry'>): Promise<ResourceRegistry> {
  return p.resourceRegistry.read();
}

/** The registry when a fresh copy is at hand, without waiting (the token endpoint's hot paths); else undefined. */
export function readyResourceRegistry(p: Pick<Provider, 'resourceRegistry'>): ResourceRegistry | undefined {
  return p.resourceRegistry.ready();
}

/** The registry: this process's copy when it is fresh (no await on the token path), else read now. */
export function currentRegistry(p: Pick<Provider, 'resourceRegistry'>): ResourceRegistry | Promise<ResourceRegistry> {
  return readyResourceRegistry(p) ?? resourceRegistry(p);
}

/** A client created through dynamic registration (RFC 7591), whatever the mode. */
export function isSelfRegistered(client: Pick<ClientRecord, 'metadata'>): boolean {
  return client.metadata.registration !== undefined;
}

/**
 * TESSERA_REGISTRATION_GRANT_TYPES is the ceiling of a self-registered client's grants, whatever it registered with
 * earlier.
 */
export function checkGrantCeiling(p: Pick<Provider, 'config'>, client: ClientRecord, grantType: string): void {
  if (isSelfRegistered(client) && !p.config.registrationGrantTypes.includes(grantType)) {
    throw new OAuthError('unauthorized_client', `This client may not use the ${grantType} grant.`, {
      detail: 'not in TESSERA_REGISTRATION_GRANT_TYPES',
    });
  }
}

// ---- Registry scopes in the ceiling (TESSERA_REGISTRATION_RESOURCE_SCOPES) ----------------------
// With the setting on, the ceiling of a self-registered client (dynamic registration, Client ID
// Metadata Documents) holds, besides TESSERA_REGISTRATION_SCOPES, the scopes each registry resource
// declares (its whole scope tree, parents and children), each only where that resource is the
// audience: at registration (no resource is known yet) any registry scope may be registered; at an
// authorization one of the request's resources (or the default audience, when it is a registry
// resource) must declare it; in a token only the token's own resource's scopes stay. A scope of
// resource A never reaches a token for resource B or for an unregistered default audience. Such
// scopes need not be in TESSERA_EXTRA_SCOPES: discovery lists them in scopes_supported.

/**
 * Whether registry scopes join this client's ceiling: a self-registered client with
 * TESSERA_REGISTRATION_RESOURCE_SCOPES.
 */
export function registryScopesApply(
  config: Pick<Provider['config'], 'registrationResourceScopes'>,
  client: Pick<ClientRecord, 'metadata'>,
): boolean {
  return config.registrationResourceScopes && isSelfRegistered(client);
}

/**
 * Whether `scope` is within a self-registered client's ceiling in a token whose audience has the
 * registry entry `entry` (undefined: not a registry resource): TESSERA_REGISTRATION_SCOPES, or with
 * TESSERA_REGISTRATION_RESOURCE_SCOPES a scope the entry declares.
 */
export function withinRegistrationCeiling(
  config: Pick<Provider['config'], 'registrationScopes' | 'registrationResourceScopes'>,
  entry: ScopeTree | undefined,
  scope: string,
): boolean {
  // Admin scopes are never within it, whatever the settings or the registry say (admin-tokens.ts).
  if (isAdminScope(scope)) return false;
  if (config.registrationScopes.includes(scope)) return true;
  return config.registrationResourceScopes && entry !== undefined && entry.scopes.some((s) => s.name === scope);
}

/** Every scope some registry resource declares, in the registry's order (scopes_supported, registration). */
export function registryScopeNames(registry: ResourceRegistry): string[] {
  const out = new Set<string>();
  for (const entry of registry.values()) for (const s of entry.scopes) if (!isAdminScope(s.name)) out.add(s.name);
  return [...out];
}

/**
 * Whether a client may name only registry resources: every self-registered client, and every client with
 * TESSERA_RESOURCE_REGISTRY_ONLY.
 */
export function registryOnly(p: Pick<Provider, 'config'>, client: ClientRecord): boolean {
  return p.config.resourceRegistryOnly || isSelfRegistered(client);
}

/**
 * The checks of a request's resources and, for a self-registered client, its ceiling (every way to
 * a token that names resources: authorization, PAR, device authorization, client credentials):
 * - every client: the rules of admin scopes and the admin audience (admin-tokens.ts adminTokenRequest:
 *   admin clients only, through client credentials or the device flow, alone, for the admin API);
 * - a self-registered client: its grant and its scopes within TESSERA_REGISTRATION_GRANT_TYPES and
 *   TESSERA_REGISTRATION_SCOPES;
 * - every client: a resource that is another spelling of a registry resource (canonicalResourceKey:
 *   case of scheme or host, default port, trailing slash) is refused, naming the registered form, so
 *   that no token escapes the resource's policy under another spelling of its identifier;
 * - a self-registered client, and every client with TESSERA_RESOURCE_REGISTRY_ONLY: registry resources
 *   only (never an arbitrary URI).
 */
export async function checkSelfRegisteredRequest(
  p: Pick<Provider, 'config' | 'resourceRegistry'>,
  client: ClientRecord,
  req: { grantType: string; scope?: string | null; resource?: string | null },
): Promise<void> {
  // A request for admin scopes is for the admin API alone: none of the registry's rules apply to it.
  if (adminTokenRequest(p.config, client, req)) return;
  const self = isSelfRegistered(client);
  const scopes = splitScope(req.scope ?? undefined);
  // With TESSERA_REGISTRATION_RESOURCE_SCOPES, a scope outside TESSERA_REGISTRATION_SCOPES is checked
  // against the registry below: one of the request's audiences must declare it.
  const perResource = self && p.config.registrationResourceScopes;
  const outside: string[] = [];
  if (self) {
    checkGrantCeiling(p, client, req.grantType);
    for (const s of scopes) {
      if (p.config.registrationScopes.includes(s)) continue;
      if (!perResource)
        throw new OAuthError('invalid_scope', `Scope ${s} is not allowed for this client.`, {
          detail: 'not in TESSERA_REGISTRATION_SCOPES',
        });
      outside.push(s);
    }
  }
  const resources = splitResources(req.resource);
  // Step-up: a self-registered client's registered scope is a hint; a scope beyond it must be one the
  // resource offers (a registry resource, or the default audience when it is registered), so it is
  // refused here rather than dropped from the token.
  const beyond = self ? scopes.filter((s) => !client.scopes.includes(s) && !OIDC_SCOPES.has(s)) : [];
  if (resources.length === 0 && beyond.length === 0 && outside.length === 0) return;
  const registry = await currentRegistry(p);
  const only = registryOnly(p, client);
  for (const r of resources) {
    if (registry.has(r)) continue;
    const registered = registeredSpelling(registry, r);
    if (registered !== undefined)
      throw invalidTarget(
        `Name this resource as it is registered: ${registered}.`,
        'another spelling of a registry resource',
      );
    if (only)
      throw invalidTarget(
        'This client may obtain tokens only for the resource servers registered with this server.',
        p.config.resourceRegistryOnly ? 'TESSERA_RESOURCE_REGISTRY_ONLY' : 'self-registered client',
      );
  }
  const targets = resources.length ? resources : [p.config.defaultAudience];
  for (const s of outside)
    if (!targets.some((r) => withinRegistrationCeiling(p.config, registry.get(r), s)))
      throw new OAuthError('invalid_scope', `Scope ${s} is not allowed for this client.`, {
        detail: 'neither in TESSERA_REGISTRATION_SCOPES nor a scope of a resource requested',
      });
  for (const s of beyond)
    for (const r of targets) {
      const entry = registry.get(r);
      if (entry && !entry.scopes.some((x) => x.name === s))
        throw new OAuthError('invalid_scope', `Scope ${s} is not offered by the resource ${r.slice(0, 200)}.`, {
          detail: 'not a scope of the resource',
        });
    }
}

export interface AccessTokenPolicy {
  /** The scope the access token carries. */
  scope: string;
  /** Its lifetime in seconds. */
  ttl: number;
  /** The key of the resource's own algorithm (registry `signing_alg`); absent: the server's (TESSERA_SIGNING_ALG). */
  signer?: SigningKey;
}

/**
 * The scope and lifetime of an access token for `resource` (null: the default audience): the
 * scope narrowed by the client's resource_scopes, by the ceiling of self-registered clients and by
 * the registry resource's scopes (OpenID Connect scopes are not resource scopes and stay); the
 * registry resource's lifetime; its DPoP policy (`required`: no token without a proof, `jkt`).
 */
export function accessTokenPolicy(
  p: Pick<Provider, 'config' | 'keys'>,
  registry: ResourceRegistry,
  client: ClientRecord,
  resource: string | null,
  scope: string,
  jkt: string | undefined,
): AccessTokenPolicy {
  let tokenScope = splitScope(resourceScope(client, resource, scope));
  const self = isSelfRegistered(client);
  const entry = registry.get(resource ?? p.config.defaultAudience);
  // A resource taken out of the registry after the authorization: no more tokens for it.
  if ((self || p.config.resourceRegistryOnly) && resource !== null && !entry)
    throw invalidTarget('This client may obtain tokens only for the resource servers registered with this server.');
  // The ceiling of self-registered clients, per audience: a registry scope only in a token for the
  // resource that declares it (TESSERA_REGISTRATION_RESOURCE_SCOPES).
  if (self) tokenScope = tokenScope.filter((s) => withinRegistrationCeiling(p.config, entry, s));
  if (!entry) return { scope: tokenScope.join(' '), ttl: p.config.accessTokenTtl };
  const names = new Set(entry.scopes.map((s) => s.name));
  tokenScope = tokenScope.filter((s) => OIDC_SCOPES.has(s) || names.has(s));
  if (entry.dpop === 'required' && !jkt)
    throw new OAuthError('invalid_dpop_proof', 'Access tokens for this resource are DPoP-bound: send a DPoP proof.');
  // A per-resource algorithm needs an active key of that algorithm (TESSERA_SIGNING_ALGS); without one, no token (fail
  // closed).
  let signer: SigningKey | undefined;
  const ring = p.keys();
  if (entry.signingAlg !== null && entry.signingAlg !== ring.active.alg) {
    signer = ring.signer(entry.signingAlg);
    if (!signer)
      throw invalidTarget(
        'Access tokens for this resource cannot be issued now.',
        `resource signing_alg ${entry.signingAlg} has no active key`,
      );
  }
  // Never longer than the signing-key schedule keeps a rotated key published (a resource saved before
  // the lifetimes were lowered keeps working, with shorter tokens).
  const ttl = Math.min(
    entry.accessTokenTtl ?? p.config.accessTokenTtl,
    Math.max(p.config.accessTokenTtl, p.config.idTokenTtl),
  );
  return { scope: tokenScope.join(' '), ttl, ...(signer ? { signer } : {}) };
}

/**
 * A resource as the consent page shows it: its display name and the descriptions of its scopes; undefined when it is
 * not in the registry.
 */
export async function describeResource(
  p: Pick<Provider, 'resourceRegistry' | 'config'>,
  uri: string,
): Promise<
  | {
      identifier: string;
      displayName: string;
      scopes: { name: string; description: ScopeDescription; parent?: string }[];
    }
  | undefined
> {
  // The admin API (admin-scopes.ts) is described by Tessera itself: the CLI's device flow shows its scopes plainly.
  if (uri === adminAudience(p.config.issuer))
    return {
      identifier: uri,
      displayName: 'Tessera administration (the admin API)',
      scopes: ADMIN_SCOPES.map((name) => ({ name, description: ADMIN_SCOPE_DESCRIPTIONS[name] })),
    };
  const entry = (await resourceRegistry(p)).get(uri);
  return (
    entry && {
      identifier: entry.identifier,
      displayName: entry.displayName,
      scopes: entry.scopes.map((s) => ({ ...s })),
    }
  );
}

// ---- Canonical resource identifiers -----------------------------------------------------------
// RFC 8707 section 2: an absolute URI without a fragment. The MCP authorization specification
// ("Canonical Server URI", 2025-06-18 and later): lowercase scheme and host, no fragment, the most
// specific URI of the server (its path kept), and the form without a trailing slash unless the
// slash is significant. Tessera applies these when a resource is registered (admin/resources.ts):
// the scheme and host are lower-cased, a default port is dropped, dot segments are resolved, a
// fragment, user information or a scheme other than https (http on a loopback host only) are
// refused; the path and the query are kept as written, a trailing slash included (whether it is
// significant is the resource's business: register the `resource` of its protected resource
// metadata). Requests are compared exactly; another spelling of a registered identifier is refused
// with invalid_target naming the registered one (checkSelfRegisteredRequest), never rewritten: the
// token's aud is always the very string the client asked for and the registry holds.

const SCHEME_AUTHORITY = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/;

/** A resource identifier in its canonical form, or why it cannot be one. */
export function canonicalResource(value: unknown): { canonical: string } | { problem: string } {
  const bad = (problem: string) => ({ problem });
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048 || !/^[\x21-\x7E]+$/.test(value))
    return bad('must be an absolute URI without spaces (at most 2048 characters)');
  if (value.includes('#')) return bad('must be an absolute URI without a fragment (RFC 8707 section 2)');
  // A URL parser reads a backslash as a slash in http(s) URIs: refused rather than reinterpreted.
  if (value.includes('\\')) return bad('must not contain a backslash');
  const head = SCHEME_AUTHORITY.exec(value);
  let u: URL | undefined;
  try {
    u = new URL(value);
  } catch {
    /* reported below */
  }
  if (!u || !head) return bad('must be an absolute https URI (scheme://host/path)');
  if (u.username || u.password || head[2]!.includes('@')) return bad('must not have user information');
  if (!u.hostname) return bad('must name a host');
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopbackHostName(u.hostname)))
    return bad('must use https (http only on a loopback host: localhost, 127.0.0.0/8, [::1])');
  // The path as written (dot segments resolved): none stays none, a lone "/" stays "/".
  const rest = value.slice(head[0].length);
  const path = rest === '' || rest.startsWith('?') ? '' : u.pathname;
  const query = u.search;
  return { canonical: `${u.protocol}//${u.host}${path}${query}` };
}

/**
 * The key under which spellings of one resource compare equal for the refusal of near misses: the
 * canonical form, with the trailing slashes of the path dropped; undefined for what is not a URI.
 */
export function canonicalResourceKey(value: string): string | undefined {
  // Spellings Tessera would not register (a fragment, a backslash, a trailing dot on the host) are
  // compared too: they must not reach a registered resource's host and path unnoticed.
  let u: URL;
  try {
    u = new URL(value.split('#')[0]!);
  } catch {
    return undefined;
  }
  const host = u.host.replace(/\.(?=:\d+$|$)/, '');
  return `${u.protocol}//${host}${u.pathname.replace(/\/+$/, '')}${u.search}`;
}

const spellings = new WeakMap<ResourceRegistry, Map<string, string>>();

/** The registered identifier that `uri` is another spelling of (same canonical key, different string), if any. */
export function registeredSpelling(registry: ResourceRegistry, uri: string): string | undefined {
  if (registry.has(uri)) return undefined;
  let keys = spellings.get(registry);
  if (!keys) {
    keys = new Map();
    for (const id of registry.keys()) {
      const k = canonicalResourceKey(id);
      if (k !== undefined && !keys.has(k)) keys.set(k, id);
    }
    spellings.set(registry, keys);
  }
  const k = canonicalResourceKey(uri);
  return k === undefined ? undefined : keys.get(k);
}

// ---- The scope hierarchy of a resource ---------------------------------------------------------
// A registry scope may name a parent among the scopes of the same resource (`files:read` under
// `files`). Granting the parent grants every scope below it at that resource: a token whose scope
// holds `files` satisfies a requirement of `files:read` (scopeSatisfies), which is how a resource
// server checks scopes (the resource-server SDK takes the resource's hierarchy: `tessera resource
// show` prints it). Tokens carry what was granted, never expanded; the consent page lists a parent
// with its description and leaves out the scopes it implies (consentScopes). The hierarchy is a
// tree of at most MAX_SCOPE_DEPTH levels, checked at registration (admin/resources.ts).

/** Most levels of a scope hierarchy (a scope, its parent, ...). */
export const MAX_SCOPE_DEPTH = 4;

type ScopeTree = Pick<ResourceServerRecord, 'scopes'>;

/** The ancestors of `scope` at a resource, nearest first (none for a scope without a parent or not of it). */
export function scopeAncestors(entry: ScopeTree, scope: string): string[] {
  const parents = new Map(entry.scopes.map((s) => [s.name, s.parent]));
  const out: string[] = [];
  for (
    let p = parents.get(scope);
    p !== undefined && !out.includes(p) && out.length < MAX_SCOPE_DEPTH;
    p = parents.get(p)
  )
    out.push(p);
  return out;
}

/** Whether scopes `held` satisfy `required` at a resource: they hold it or one of its ancestors. */
export function scopeSatisfies(entry: ScopeTree | undefined, held: readonly string[], required: string): boolean {
  if (held.includes(required)) return true;
  return entry !== undefined && scopeAncestors(entry, required).some((a) => held.includes(a));
}

/**
 * The scopes of a request as the consent page lists them: those implied by another requested scope
 * (an ancestor at a registry resource of the request) are left out; their parent stands for them.
 */
export function consentScopes(entries: readonly (ScopeTree | undefined)[], scopes: readonly string[]): string[] {
  return scopes.filter(
    (s) => !entries.some((e) => e !== undefined && scopeAncestors(e, s).some((a) => a !== s && scopes.includes(a))),
  );
}
