// The registry of resource servers, as operators write it (the bootstrap file's `resources:`, the
// `tessera resource` commands): validated here and stored through the resourceServers port. What a
// registry entry means for tokens is protocol/resources.ts.
import type { Config } from '../config/config.ts';
import type { ResourceServerRecord } from '../ports/resource-servers.ts';
import type { Stores } from '../ports/index.ts';
import { isScopeToken } from '../protocol/params.ts';
import { supportedScopes } from '../protocol/scopes.ts';
import { SIGNING_ALGS } from '../protocol/tokens/keys.ts';
import { displayTextProblem } from '../protocol/clients/metadata.ts';
import { AdminError } from './clients.ts';

/** A resource server as an operator writes it. */
export interface ResourceInput {
  /** Absolute URI without a fragment: the `resource` clients name and the `aud` of its tokens. */
  identifier: string;
  /** Shown to users on the consent page. */
  display_name: string;
  /** Scope name -> description shown to users. Each scope must be offered by the server (TESSERA_EXTRA_SCOPES). */
  scopes?: Record<string, string>;
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

const KEYS = ['identifier', 'display_name', 'scopes', 'access_token_ttl', 'signing_alg', 'dpop'];
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
  if (
    typeof id !== 'string' ||
    id.length > 2048 ||
    !/^[\x21-\x7E]+$/.test(id) ||
    id.includes('#') ||
    !URL.canParse(id)
  ) {
    problems.push('identifier must be an absolute URI without a fragment or spaces (at most 2048 characters)');
  }
  const nameProblem = displayTextProblem('display_name', input.display_name);
  if (nameProblem) problems.push(nameProblem);
  const scopes: { name: string; description: string }[] = [];
  const offered = supportedScopes(config.extraScopes);
  if (input.scopes !== undefined) {
    if (input.scopes === null || typeof input.scopes !== 'object' || Array.isArray(input.scopes))
      problems.push('scopes must map scope names to descriptions');
    else {
      const entries = Object.entries(input.scopes);
      if (entries.length > MAX_SCOPES) problems.push(`scopes: at most ${MAX_SCOPES}`);
      for (const [name, description] of entries.slice(0, MAX_SCOPES)) {
        if (!isScopeToken(name)) problems.push(`scope ${name.slice(0, 100)} is not a valid scope token`);
        else if (!offered.includes(name))
          problems.push(`scope ${name} is not offered by this server (add it to TESSERA_EXTRA_SCOPES)`);
        const p = displayTextProblem(`the description of scope ${name.slice(0, 100)}`, description, 300);
        if (p) problems.push(p);
        scopes.push({ name, description: String(description) });
      }
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
    identifier: id as string,
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
  const existing =
    typeof input?.identifier === 'string' ? await stores.resourceServers.get(input.identifier) : undefined;
  const resource = buildResourceServer(config, input, existing, now);
  const changed =
    !existing || JSON.stringify({ ...existing, updatedAt: 0 }) !== JSON.stringify({ ...resource, updatedAt: 0 });
  if (changed) await stores.resourceServers.put(resource);
  return { resource, changed };
}

export async function deleteResourceServer(stores: Stores, identifier: string): Promise<void> {
  if (!(await stores.resourceServers.delete(identifier))) throw new AdminError(`no resource ${identifier}`);
}

/** A resource server as shown to operators (the names of the bootstrap file). */
export function describeResourceServer(r: ResourceServerRecord): Record<string, unknown> {
  return {
    identifier: r.identifier,
    display_name: r.displayName,
    scopes: Object.fromEntries(r.scopes.map((s) => [s.name, s.description])),
    access_token_ttl: r.accessTokenTtl,
    signing_alg: r.signingAlg,
    dpop: r.dpop,
    created_at: new Date(r.createdAt * 1000).toISOString(),
    updated_at: new Date(r.updatedAt * 1000).toISOString(),
  };
}
