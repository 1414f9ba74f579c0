// Claims from the directory of users (issue 20): the claim mappings of a client or a resource
// server (ports/directory.ts) put a user's groups, roles for that application and attributes in ID
// tokens, access tokens (RFC 9068) and userinfo answers, each under the scope that releases it.
//
// The token path pays for it only when a mapping applies: the mappings are a per-process copy of
// their (small) table, read at most every MAPPINGS_CACHE_MS (and dropped at once by changes made in
// this process), so a token request of a client and an audience without mappings does no read at
// all; one that has mappings reads the user's directory facts once (`prepareDirectoryClaims`), and
// every token of that issuance takes its claims from them (`directoryClaims`, no I/O).
import type { ClientRecord } from '../ports/clients.ts';
import {
  applicationKey,
  type AttributeValue,
  type ClaimMappingRecord,
  type ClaimTarget,
  type DirectoryFacts,
  type ValueType,
} from '../ports/directory.ts';
import type { Config } from '../config/config.ts';
import { adminAudience } from './admin-scopes.ts';
import { pickResource } from './resources.ts';
import type { Provider, StoreDeps } from './provider.ts';
import type { MappingIndex } from './claim-mappings-cache.ts';

/**
 * Claims no mapping may ever set: those of JWTs and of the protocol (RFC 7519, RFC 9068, OIDC Core,
 * RFC 8693, RFC 9396, RFC 9449, RFC 8705), and the standard user claims whose meaning Tessera keeps
 * (the profile and email scopes').
 */
export const RESERVED_CLAIMS: ReadonlySet<string> = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'typ',
  'scope',
  'scp',
  'client_id',
  'cnf',
  'acr',
  'amr',
  'auth_time',
  'nonce',
  'sid',
  'azp',
  'at_hash',
  'c_hash',
  's_hash',
  'act',
  'may_act',
  'authorization_details',
  'events',
  'htm',
  'htu',
  'ath',
  'jkt',
  'token_use',
  'token_type',
  '_claim_names',
  '_claim_sources',
  'name',
  'given_name',
  'family_name',
  'middle_name',
  'nickname',
  'preferred_username',
  'profile',
  'picture',
  'website',
  'email',
  'email_verified',
  'gender',
  'birthdate',
  'zoneinfo',
  'locale',
  'phone_number',
  'phone_number_verified',
  'address',
  'updated_at',
]);

/** The most groups or roles one claim carries. */
export const MAX_CLAIM_ITEMS = 200;

/** Whether `claim` is reserved (compared without regard to case, so `SUB` or `Scope` cannot pass either). */
export const reservedClaim = (claim: string): boolean => RESERVED_CLAIMS.has(claim.toLowerCase());

/** What reading the mappings and a user's facts needs. */
export type DirectoryClaimsDeps = Pick<Provider, 'claimMappings'> &
  StoreDeps<'directory'> & { readonly config: Pick<Config, 'issuer'> };

/** The mappings of this process's copy, read if there is no fresh one. */
export function currentMappings(p: Pick<Provider, 'claimMappings'> & StoreDeps<'directory'>): Promise<MappingIndex> {
  const ready = p.claimMappings.ready();
  return ready ? Promise.resolve(ready) : p.claimMappings.read(p.stores.directory);
}

/** The mappings of one issuance and the user's facts they need (read once). */
export interface PreparedClaims {
  userId: string;
  /** The access token's audience (null: not an access token's issuance, e.g. userinfo). */
  audience: string | null;
  /** The client's mappings, then the audience's (which win a claim both map in an access token). */
  mappings: readonly ClaimMappingRecord[];
  facts: DirectoryFacts;
}

const NONE: readonly ClaimMappingRecord[] = [];

/**
 * The mappings of `client` and of the resource server `audience` (absent for Tessera's own admin
 * audience: admin tokens never carry directory claims), and, when there are any, the user's
 * directory facts they read; undefined when none applies (no read of the user).
 */
export async function prepareDirectoryClaims(
  p: DirectoryClaimsDeps,
  client: Pick<ClientRecord, 'clientId'>,
  userId: string,
  audience: string | null,
): Promise<PreparedClaims | undefined> {
  const index = p.claimMappings.ready() ?? (await p.claimMappings.read(p.stores.directory));
  if (index.size === 0) return undefined;
  if (audience !== null && audience === adminAudience(p.config.issuer)) return undefined;
  const own = index.get(applicationKey({ type: 'client', id: client.clientId })) ?? NONE;
  const api = audience === null ? NONE : (index.get(applicationKey({ type: 'resource', id: audience })) ?? NONE);
  if (own.length === 0 && api.length === 0) return undefined;
  const mappings = [...own, ...api];
  const roleApps = new Map<string, ClaimMappingRecord['application']>();
  const attributes = new Set<string>();
  let groups = false;
  for (const m of mappings) {
    if (m.source === 'groups') groups = true;
    else if (m.source === 'roles') roleApps.set(applicationKey(m.application), m.application);
    else if (m.attribute !== null) attributes.add(m.attribute);
  }
  const facts = await p.stores.directory.facts(userId, {
    groups,
    roles: [...roleApps.values()],
    attributes: [...attributes],
  });
  return { userId, audience, mappings, facts };
}

/** A value as a claim of `type`; undefined when it cannot be one (a text that is not a number, ...). */
export function claimValue(value: AttributeValue, type: ValueType): unknown {
  switch (type) {
    case 'strings':
      return Array.isArray(value) ? value : [String(value)];
    case 'string':
      return Array.isArray(value) ? value.join(' ') : String(value);
    case 'number':
      if (typeof value === 'number') return value;
      return typeof value === 'string' && /^-?\d{1,15}(\.\d{1,15})?$/.test(value) ? Number(value) : undefined;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      return value === 'true' ? true : value === 'false' ? false : undefined;
  }
}

/** The value a mapping gives for these facts; undefined when the user has none (no group, role or attribute). */
function mappedValue(m: ClaimMappingRecord, facts: DirectoryFacts): unknown {
  const raw =
    m.source === 'groups'
      ? facts.groups
      : m.source === 'roles'
        ? facts.roles.get(applicationKey(m.application))
        : facts.attributes.get(m.attribute ?? '')?.value;
  if (raw === undefined || (Array.isArray(raw) && raw.length === 0)) return undefined;
  // A bounded token: the first MAX_CLAIM_ITEMS (sorted) of a long list; an application sees fewer, never more.
  return claimValue(Array.isArray(raw) && raw.length > MAX_CLAIM_ITEMS ? raw.slice(0, MAX_CLAIM_ITEMS) : raw, m.type);
}

/**
 * The claims `target` gets from the prepared mappings under the granted `scope`: each mapping whose
 * scope was granted, whose target this is, and whose source the user has. ID tokens and userinfo take
 * only the client's mappings; access tokens the client's, then the audience's. Reserved names are
 * never set, whatever was stored.
 */
export function directoryClaims(
  prepared: PreparedClaims | undefined,
  scope: string | readonly string[],
  target: ClaimTarget,
): Record<string, unknown> | undefined {
  if (!prepared) return undefined;
  const granted = typeof scope === 'string' ? scope.split(' ') : scope;
  let out: Record<string, unknown> | undefined;
  for (const m of prepared.mappings) {
    if (!m.targets.includes(target) || !granted.includes(m.scope) || reservedClaim(m.claim)) continue;
    if (target !== 'access_token' && m.application.type !== 'client') continue;
    const value = mappedValue(m, prepared.facts);
    if (value === undefined) continue;
    out ??= {};
    out[m.claim] = value;
  }
  return out;
}

/**
 * What each scope releases of the directory for this client and these resources (the consent page):
 * scope -> claim names, sorted.
 */
export async function releasedByScope(
  p: Pick<Provider, 'claimMappings'> & StoreDeps<'directory'>,
  clientId: string,
  resources: readonly string[],
): Promise<Map<string, string[]>> {
  const index = await currentMappings(p);
  const out = new Map<string, string[]>();
  if (index.size === 0) return out;
  const apps = [
    applicationKey({ type: 'client', id: clientId }),
    ...resources.map((id) => applicationKey({ type: 'resource', id })),
  ];
  for (const key of apps)
    for (const m of index.get(key) ?? NONE) {
      if (reservedClaim(m.claim)) continue;
      const list = out.get(m.scope) ?? [];
      if (!list.includes(m.claim)) list.push(m.claim);
      out.set(m.scope, list);
    }
  for (const list of out.values()) list.sort();
  return out;
}

/**
 * The refresh grant's preparation, before its rotation (whose callbacks do no I/O): when the client
 * or any resource server maps claims, the presented token's grant is read for its user and resource.
 * The rotation then uses it only for that user and audience (`forIssuance`).
 */
export async function prepareForRefresh(
  p: DirectoryClaimsDeps & StoreDeps<'grants'> & { readonly config: Pick<Config, 'defaultAudience'> },
  client: Pick<ClientRecord, 'clientId'>,
  refreshHash: string,
  resource: string | undefined,
): Promise<PreparedClaims | undefined> {
  const index = await currentMappings(p);
  const own = index.has(applicationKey({ type: 'client', id: client.clientId }));
  if (!own && ![...index.keys()].some((k) => k.startsWith('resource '))) return undefined;
  const found = await p.stores.grants.getRefresh(refreshHash);
  if (!found || found.grant.clientId !== client.clientId) return undefined;
  let audience: string;
  try {
    audience = pickResource(found.grant.resource, resource) ?? p.config.defaultAudience;
  } catch {
    return undefined; // the rotation refuses the request
  }
  return prepareDirectoryClaims(p, client, found.grant.userId, audience);
}

/** `prepared` when it was made for this user and audience; else undefined. */
export function forIssuance(
  prepared: PreparedClaims | undefined,
  userId: string,
  audience: string,
): PreparedClaims | undefined {
  return prepared && prepared.userId === userId && prepared.audience === audience ? prepared : undefined;
}
