// The registry of resource servers, as operators write it (the bootstrap file's `resources:`, the
// `tessera resource` commands): validated here and stored through the resourceServers port. What a
// registry entry means for tokens is protocol/resources.ts.
import type { Config } from '../config/config.ts';
import type { ResourceServerRecord, ScopeDescription } from '../ports/resource-servers.ts';
import type { Stores } from '../ports/index.ts';
import { isScopeToken } from '../protocol/params.ts';
import { supportedScopes } from '../protocol/scopes.ts';
import { SIGNING_ALGS } from '../protocol/tokens/keys.ts';
import { displayTextProblem } from '../protocol/clients/metadata.ts';
import { AdminError, NotFoundError } from './errors.ts';
import { canonicalResource, MAX_SCOPE_DEPTH, OIDC_SCOPES } from '../protocol/resources.ts';

/**
 * Problems of a resource's scope hierarchy: parents among its scopes, not OpenID Connect ones, no cycles, bounded
 * depth.
 */
function scopeHierarchyProblems(scopes: readonly { name: string; parent?: string }[]): string[] {
  const problems: string[] = [];
  const parents = new Map(scopes.map((s) => [s.name, s.parent]));
  for (const s of scopes) {
    if (s.parent === undefined) continue;
    if (OIDC_SCOPES.has(s.name) || OIDC_SCOPES.has(s.parent))
      problems.push(`scope ${s.name}: OpenID Connect scopes take no part in a scope hierarchy`);
    else if (!parents.has(s.parent))
      problems.push(`scope ${s.name}: parent ${s.parent.slice(0, 100)} is not a scope of this resource`);
    else {
      const seen = [s.name];
      for (let p: string | undefined = s.parent; p !== undefined; p = parents.get(p)) {
        if (seen.includes(p)) {
          problems.push(`scope ${s.name}: its parents form a cycle (${[...seen, p].join(' -> ')})`);
          break;
        }
        seen.push(p);
      }
      if (seen.length > MAX_SCOPE_DEPTH && !problems.some((x) => x.startsWith(`scope ${s.name}:`)))
        problems.push(`scope ${s.name}: a scope hierarchy has at most ${MAX_SCOPE_DEPTH} levels`);
    }
  }
  return problems;
}

/** A resource server as an operator writes it. */
export interface ResourceInput {
  /** Absolute URI without a fragment: the `resource` clients name and the `aud` of its tokens. */
  identifier: string;
  /** Shown to users on the consent page. */
  display_name: string;
  /**
   * Scope name -> description shown to users, or -> { description, parent }: `parent` names another
   * scope of this resource that includes this one (a token with the parent satisfies it). Each scope
   * must be offered by the server (TESSERA_EXTRA_SCOPES), unless TESSERA_REGISTRATION_RESOURCE_SCOPES is on.
   * A description is English text or the text per language, { en, de?, fr? } (issue 18).
   */
  scopes?: Record<string, ScopeDescription | ScopeInput>;
  /**
   * Access-token lifetime in seconds (30 up to the longer of TESSERA_ACCESS_TOKEN_TTL and TESSERA_ID_TOKEN_TTL);
   * omitted or null: TESSERA_ACCESS_TOKEN_TTL.
   */
  access_token_ttl?: number | null;
  /** JWS algorithm of its access tokens (one of the signing algorithms); omitted or null: the server's. */
  signing_alg?: string | null;
  /** `required` (tokens only DPoP-bound) or `optional` (default). */
  dpop?: 'required' | 'optional';
}

/** A scope with its place in the hierarchy (protocol/resources.ts). */
export interface ScopeInput {
  description: ScopeDescription;
  /** The scope of the same resource that includes this one. */
  parent?: string;
}

/** Whether a scope's value is { description, parent } rather than a description (text, or { en, de?, fr? }). */
export const isScopeInput = (v: ScopeDescription | ScopeInput): v is ScopeInput =>
  typeof v === 'object' && !('en' in v);

const KEYS = ['identifier', 'display_name', 'scopes', 'access_token_ttl', 'signing_alg', 'dpop'];
/** The languages a scope's description may be written in, English first (and required). */
const DESCRIPTION_LANGUAGES = ['en', 'de', 'fr'] as const;

/**
 * A scope's description as given (text, or { en, de?, fr? }) with its problems: each text is a
 * display text of at most 300 characters, as a plain description always was.
 */
function scopeDescription(label: string, value: unknown): { description: ScopeDescription; problems: string[] } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const p = displayTextProblem(`the description of scope ${label}`, value, 300);
    return { description: String(value), problems: p ? [p] : [] };
  }
  const problems = Object.keys(value)
    .filter((k) => !(DESCRIPTION_LANGUAGES as readonly string[]).includes(k))
    .slice(0, 1)
    .map((k) => `the description of scope ${label}: unknown language ${k.slice(0, 20)} (en, de, fr)`);
  const texts: Record<string, string> = {};
  for (const lang of DESCRIPTION_LANGUAGES) {
    const text = (value as Record<string, unknown>)[lang];
    if (text === undefined && lang !== 'en') continue;
    const p = displayTextProblem(`the description of scope ${label} (${lang})`, text, 300);
    if (p) problems.push(p);
    else texts[lang] = String(text);
  }
  return { description: texts as { en: string; de?: string; fr?: string }, problems };
}
const MAX_SCOPES = 100;

/** Validates a resource server and turns it into a record (the creation time of `existing` is kept). */
export function buildResourceServer(
  config: Config,
  input: ResourceInput,
  existing: ResourceServerRecord | undefined,
  now: number,
): ResourceServerRecord {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new AdminError('a resource must be an object with identifier and display_name');
  const id = (input as { identifier?: unknown }).identifier;
  const label = typeof id === 'string' ? `resource ${id.slice(0, 200)}` : 'resource';
  const problems: string[] = Object.keys(input)
    .filter((k) => !KEYS.includes(k))
    .map((k) => `unknown key ${k.slice(0, 50)}`);
  // The canonical form of the MCP specification (protocol/resources.ts canonicalResource): stored so.
  const canonical = canonicalResource(id);
  if (!('canonical' in canonical)) problems.push(`identifier ${canonical.problem}`);
  const nameProblem = displayTextProblem('display_name', input.display_name);
  if (nameProblem) problems.push(nameProblem);
  const scopes: ResourceServerRecord['scopes'] = [];
  const offered = supportedScopes(config.extraScopes);
  if (input.scopes !== undefined) {
    if (input.scopes === null || typeof input.scopes !== 'object' || Array.isArray(input.scopes))
      problems.push('scopes must map scope names to descriptions');
    else {
      const entries = Object.entries(input.scopes);
      if (entries.length > MAX_SCOPES) problems.push(`scopes: at most ${MAX_SCOPES}`);
      for (const [name, value] of entries.slice(0, MAX_SCOPES)) {
        if (!isScopeToken(name)) problems.push(`scope ${name.slice(0, 100)} is not a valid scope token`);
        // With TESSERA_REGISTRATION_RESOURCE_SCOPES the registry offers its own scopes (to
        // self-registered clients, per resource: protocol/resources.ts); TESSERA_EXTRA_SCOPES still
        // offers them to operator-made clients.
        else if (!offered.includes(name) && !config.registrationResourceScopes)
          problems.push(
            `scope ${name} is not offered by this server (add it to TESSERA_EXTRA_SCOPES, or set TESSERA_REGISTRATION_RESOURCE_SCOPES)`,
          );
        const label = name.slice(0, 100);
        let given: unknown = value;
        let parent: unknown;
        // { description, parent } places the scope in the hierarchy; any other object is a description
        // per language ({ en, de?, fr? }).
        if (value !== null && typeof value === 'object' && !Array.isArray(value) && !('en' in value)) {
          const extra = Object.keys(value).filter((k) => k !== 'description' && k !== 'parent');
          if (extra.length)
            problems.push(`scope ${label}: unknown key ${extra[0]!.slice(0, 50)} (description, parent)`);
          ({ description: given, parent } = value as ScopeInput);
        }
        const { description, problems: descriptionProblems } = scopeDescription(label, given);
        problems.push(...descriptionProblems);
        if (parent !== undefined && (typeof parent !== 'string' || !isScopeToken(parent)))
          problems.push(`scope ${label}: parent must be a scope name`);
        scopes.push({
          name,
          description,
          ...(typeof parent === 'string' ? { parent } : {}),
        });
      }
      problems.push(...scopeHierarchyProblems(scopes));
    }
  }
  const ttl = input.access_token_ttl ?? null;
  // At most the longest lifetime the signing-key schedule keeps a retired key published for
  // (key-schedule.ts scheduleSettings): a longer-lived token would outlive the key that verifies it.
  const longest = Math.max(config.accessTokenTtl, config.idTokenTtl);
  if (ttl !== null && !(Number.isInteger(ttl) && ttl >= 30 && ttl <= longest))
    problems.push(
      `access_token_ttl must be a whole number of seconds from 30 to ${longest} (TESSERA_ACCESS_TOKEN_TTL or TESSERA_ID_TOKEN_TTL, the longer: old signing keys stay published that long after a rotation)`,
    );
  const alg = input.signing_alg ?? null;
  if (alg !== null) {
    if (!(SIGNING_ALGS as readonly unknown[]).includes(alg))
      problems.push(`signing_alg must be one of ${SIGNING_ALGS.join(', ')}`);
    // Tokens for the resource are signed by the active key of that algorithm: it must be one Tessera signs with.
    else if (!config.signingAlgs.includes(alg as never))
      problems.push(
        `signing_alg ${alg} is not one of the algorithms Tessera signs with (TESSERA_SIGNING_ALGS: ${config.signingAlgs.join(', ')})`,
      );
  }
  const dpop = input.dpop ?? 'optional';
  if (dpop !== 'required' && dpop !== 'optional') problems.push('dpop must be required or optional');
  if (problems.length) throw new AdminError(`${label}: ${problems.join('; ')}`);
  return {
    identifier: (canonical as { canonical: string }).canonical,
    displayName: input.display_name,
    scopes,
    accessTokenTtl: ttl,
    signingAlg: alg,
    dpop,
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
}

/** Stores a resource server (created or replaced); `changed` is false when it was stored already as given. */
export async function saveResourceServer(
  stores: Stores,
  config: Config,
  input: ResourceInput,
  now: number,
): Promise<{ resource: ResourceServerRecord; changed: boolean }> {
  const canonical = canonicalResource(input?.identifier);
  const existing = 'canonical' in canonical ? await stores.resourceServers.get(canonical.canonical) : undefined;
  // An entry stored before identifiers were canonical, named as it was stored: it moves to the canonical form.
  const legacy =
    !existing && 'canonical' in canonical && input.identifier !== canonical.canonical
      ? await stores.resourceServers.get(input.identifier)
      : undefined;
  const resource = buildResourceServer(config, input, existing ?? legacy, now);
  const changed =
    !existing || JSON.stringify({ ...existing, updatedAt: 0 }) !== JSON.stringify({ ...resource, updatedAt: 0 });
  if (changed) await stores.resourceServers.put(resource);
  if (legacy) await stores.resourceServers.delete(legacy.identifier);
  return { resource, changed };
}

/** Deletes a resource server named by its stored identifier or another spelling of it; returns the one deleted. */
export async function deleteResourceServer(stores: Stores, identifier: string): Promise<string> {
  if (await stores.resourceServers.delete(identifier)) return identifier;
  const c = canonicalResource(identifier);
  if ('canonical' in c && (await stores.resourceServers.delete(c.canonical))) return c.canonical;
  throw new NotFoundError(`no resource ${identifier}`);
}

/** The resource server named by its stored identifier or another spelling of it. */
export async function findResourceServer(
  stores: Stores,
  identifier: string,
): Promise<ResourceServerRecord | undefined> {
  const exact = await stores.resourceServers.get(identifier);
  if (exact) return exact;
  const c = canonicalResource(identifier);
  return 'canonical' in c ? stores.resourceServers.get(c.canonical) : undefined;
}

/** A resource server as shown to operators (the names of the bootstrap file). */
export function describeResourceServer(r: ResourceServerRecord): Record<string, unknown> {
  return {
    identifier: r.identifier,
    display_name: r.displayName,
    scopes: Object.fromEntries(
      r.scopes.map((s) => [
        s.name,
        s.parent === undefined ? s.description : { description: s.description, parent: s.parent },
      ]),
    ),
    access_token_ttl: r.accessTokenTtl,
    signing_alg: r.signingAlg,
    dpop: r.dpop,
    created_at: new Date(r.createdAt * 1000).toISOString(),
    updated_at: new Date(r.updatedAt * 1000).toISOString(),
  };
}
