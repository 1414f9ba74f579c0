// RFC 8707 resource indicators. An authorization request (or PAR, or a request object) may name
// several resources; they are kept on the code and the grant as one space-separated string (a URI
// has no spaces, so the single-resource form is unchanged). Each access token is for ONE resource:
// the token request names it with `resource` (one of those granted), or the grant has just one.
// Per-resource scopes: a client's `resource_scopes` metadata maps a resource to the scopes an
// access token for it may carry; OpenID Connect scopes are not affected by the mapping.
import type { ClientRecord } from '../ports/clients.ts';
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
// TESSERA_REGISTRATION_SCOPES, which are checked again at every authorization and token request.

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

/**
 * The ceiling of a self-registered client's request (authorization, PAR, device authorization,
 * client credentials): its grant, its scopes within TESSERA_REGISTRATION_SCOPES, and resources
 * only from the registry (never an arbitrary URI). Operator-made clients are not affected.
 */
export async function checkSelfRegisteredRequest(
  p: Pick<Provider, 'config' | 'resourceRegistry'>,
  client: ClientRecord,
  req: { grantType: string; scope?: string | null; resource?: string | null },
): Promise<void> {
  if (!isSelfRegistered(client)) return;
  checkGrantCeiling(p, client, req.grantType);
  const scopes = splitScope(req.scope ?? undefined);
  for (const s of scopes) {
    if (!p.config.registrationScopes.includes(s))
      throw new OAuthError('invalid_scope', `Scope ${s} is not allowed for this client.`, {
        detail: 'not in TESSERA_REGISTRATION_SCOPES',
      });
  }
  const resources = splitResources(req.resource);
  // Step-up: the registered scope is a hint; a scope beyond it must be one the resource offers (a
  // registry resource, or the default audience when it is registered), so it is refused here
  // rather than dropped from the token.
  const beyond = scopes.filter((s) => !client.scopes.includes(s) && !OIDC_SCOPES.has(s));
  if (resources.length === 0 && beyond.length === 0) return;
  const registry = await resourceRegistry(p);
  for (const r of resources)
    if (!registry.has(r))
      throw invalidTarget('This client may obtain tokens only for the resource servers registered with this server.');
  const targets = resources.length ? resources : [p.config.defaultAudience];
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
  if (self && resource !== null && !entry)
    throw invalidTarget('This client may obtain tokens only for the resource servers registered with this server.');
  if (self) tokenScope = tokenScope.filter((s) => p.config.registrationScopes.includes(s));
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
  p: Pick<Provider, 'resourceRegistry'>,
  uri: string,
): Promise<{ identifier: string; displayName: string; scopes: { name: string; description: string }[] } | undefined> {
  const entry = (await resourceRegistry(p)).get(uri);
  return (
    entry && {
      identifier: entry.identifier,
      displayName: entry.displayName,
      scopes: entry.scopes.map((s) => ({ ...s })),
    }
  );
}
