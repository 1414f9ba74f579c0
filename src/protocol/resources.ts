// RFC 8707 resource indicators. An authorization request (or PAR, or a request object) may name
// several resources; they are kept on the code and the grant as one space-separated string (a URI
// has no spaces, so the single-resource form is unchanged). Each access token is for ONE resource:
// the token request names it with `resource` (one of those granted), or the grant has just one.
// Per-resource scopes: a client's `resource_scopes` metadata maps a resource to the scopes an
// access token for it may carry; OpenID Connect scopes are not affected by the mapping.
import type { ClientRecord } from '../ports/clients.ts';
import { OAuthError } from './errors.ts';
import { splitScope } from './params.ts';

/** Most resources one authorization request may name. */
export const MAX_RESOURCES = 10;
/** Scopes about the user's identity at this server, which a resource mapping does not restrict. */
export const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access']);

const invalidTarget = (description: string) => new OAuthError('invalid_target', description);

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
    try { u = new URL(r); } catch { /* reported below */ }
    if (!u || r.includes('#')) throw invalidTarget('resource must be an absolute URI without a fragment.');
    if (client.allowedResources.length && !client.allowedResources.includes(r)) throw invalidTarget('This client may not ask for that resource.');
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
  if (list.length > 1) throw invalidTarget('Several resources were authorized: name the one this token is for with resource.');
  return list[0] ?? null;
}

/** The scope of an access token for `resource`: `scope` narrowed by the client's resource_scopes for it, if it has an entry. */
export function resourceScope(client: ClientRecord, resource: string | null, scope: string): string {
  const map = client.metadata.resource_scopes;
  const allowed = resource !== null && map ? map[resource] : undefined;
  if (!allowed) return scope;
  return splitScope(scope).filter((s) => OIDC_SCOPES.has(s) || allowed.includes(s)).join(' ');
}

/** Problems of a resource_scopes value (client metadata). */
export function resourceScopesProblems(value: unknown, allowedResources: string[], scopes: string[]): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return ['resource_scopes must be an object mapping resource URIs to lists of scopes'];
  const problems: string[] = [];
  for (const [resource, list] of Object.entries(value as Record<string, unknown>)) {
    let ok = !resource.includes('#') && !resource.includes(' ');
    try { new URL(resource); } catch { ok = false; }
    if (!ok) problems.push(`resource_scopes: ${resource} is not an absolute URI without a fragment`);
    else if (allowedResources.length && !allowedResources.includes(resource)) problems.push(`resource_scopes: ${resource} is not one of allowed_resources`);
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) problems.push(`resource_scopes: the scopes of ${resource} must be a list of strings`);
    else for (const s of list) if (!scopes.includes(s)) problems.push(`resource_scopes: scope ${s} of ${resource} is not one of the client's scopes`);
  }
  return problems;
}
