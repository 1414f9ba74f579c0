// The directory of users as operators write it (issue 20): groups, application roles, user
// attributes and claim mappings, validated here and stored through the directory port. The admin
// actions (actions/directory.ts) and the bootstrap file (bootstrap.ts) both go through these. What a
// mapping puts in tokens is protocol/directory-claims.ts.
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/config.ts';
import type {
  AppRoleAssignment,
  ApplicationRef,
  AttributeValue,
  ClaimMappingRecord,
  ClaimTarget,
  GroupRecord,
  Stores,
  UserAttribute,
  ValueType,
} from '../ports/index.ts';
import { displayTextProblem } from '../protocol/clients/metadata.ts';
import { reservedClaim } from '../protocol/directory-claims.ts';
import { isScopeToken } from '../protocol/params.ts';
import { supportedScopes } from '../protocol/scopes.ts';
import { AdminError, ConflictError, NotFoundError } from './errors.ts';
import { findResourceServer } from './resources.ts';

/** Group and role names: what a claim can carry unquoted (no spaces: the `string` type joins them with one). */
export const NAME = /^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,99}$/;
/** Attribute names. */
export const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
/** Claim names: a name, or a collision-resistant URI (RFC 7519 section 4.2). */
export const CLAIM_NAME = /^[A-Za-z_][A-Za-z0-9_.:/#-]{0,127}$/;
export const VALUE_TYPES = ['string', 'number', 'boolean', 'strings'] as const satisfies readonly ValueType[];
export const CLAIM_TARGETS = ['id_token', 'access_token', 'userinfo'] as const satisfies readonly ClaimTarget[];
export const CLAIM_SOURCES = ['groups', 'roles', 'attribute'] as const;
/** Bounds that keep tokens small. */
export const MAX_MAPPINGS_PER_APPLICATION = 50;
export const MAX_ATTRIBUTES_PER_USER = 100;
export const MAX_TEXT_VALUE = 1000;
export const MAX_LIST_VALUE = 100;

const nameProblem = (what: string, v: unknown, re = NAME): string | undefined =>
  typeof v === 'string' && re.test(v)
    ? undefined
    : `${what} must be ${re === NAME ? '1 to 100 characters: letters, digits and . _ : @ / + - (no spaces), starting with a letter or digit' : re === ATTRIBUTE_NAME ? '1 to 64 characters: letters, digits and _ . -, starting with a letter' : 'a name of 1 to 128 characters (letters, digits and _ . : / # -, starting with a letter or _)'}`;

const check = (problem: string | undefined) => {
  if (problem) throw new AdminError(problem);
};

// ---- how the API shows them ---------------------------------------------------------------------

const iso = (t: number) => new Date(t * 1000).toISOString();

export function describeGroup(g: GroupRecord) {
  return {
    id: g.id,
    name: g.name,
    description: g.description,
    created_at: iso(g.createdAt),
    updated_at: iso(g.updatedAt),
  };
}

/** An application as the API names it: `client_id` or `resource`. */
export const describeApplication = (a: ApplicationRef) =>
  a.type === 'client' ? { client_id: a.id } : { resource: a.id };

export function describeRole(r: AppRoleAssignment) {
  return { user_id: r.userId, ...describeApplication(r.application), role: r.role, granted_at: iso(r.grantedAt) };
}

export function describeAttribute(a: UserAttribute) {
  return { name: a.name, type: a.type, value: a.value, updated_at: iso(a.updatedAt) };
}

export function describeMapping(m: ClaimMappingRecord) {
  return {
    id: m.id,
    ...describeApplication(m.application),
    claim: m.claim,
    source: m.source,
    ...(m.attribute !== null ? { attribute: m.attribute } : {}),
    type: m.type,
    scope: m.scope,
    targets: m.targets,
    created_at: iso(m.createdAt),
    updated_at: iso(m.updatedAt),
  };
}

// ---- lookups --------------------------------------------------------------------------------------

/** The application named by exactly one of `client_id` and `resource`; an unknown one is refused (404). */
export async function resolveApplication(
  stores: Stores,
  named: { client_id?: string | undefined; resource?: string | undefined },
): Promise<ApplicationRef> {
  if ((named.client_id === undefined) === (named.resource === undefined))
    throw new AdminError('name the application with exactly one of client_id and resource');
  if (named.client_id !== undefined) {
    // A Client ID Metadata Document client is fetched, never stored: looking it up here would reach
    // the network inside the action's transaction, and anyone may publish such a client_id.
    if (/^https?:\/\//i.test(named.client_id))
      throw new AdminError(
        'a Client ID Metadata Document client (an https client_id) has no application roles or claims',
      );
    if (!(await stores.clients.get(named.client_id)))
      throw new NotFoundError(`no client ${named.client_id.slice(0, 200)}`);
    return { type: 'client', id: named.client_id };
  }
  const r = await findResourceServer(stores, named.resource!);
  if (!r) throw new NotFoundError(`no resource ${named.resource!.slice(0, 200)} in the registry`);
  return { type: 'resource', id: r.identifier };
}

export async function requireUser(stores: Stores, userId: string): Promise<void> {
  if (!(await stores.users.get(userId))) throw new NotFoundError(`no user ${userId.slice(0, 200)}`);
}

export async function requireGroup(stores: Stores, groupId: string): Promise<GroupRecord> {
  const g = await stores.directory.getGroup(groupId);
  if (!g) throw new NotFoundError(`no group ${groupId.slice(0, 200)}`);
  return g;
}

// ---- groups ---------------------------------------------------------------------------------------

export interface GroupInput {
  name: string;
  description?: string | null;
}

function groupProblems(input: Partial<GroupInput>): void {
  if (input.name !== undefined) check(nameProblem('name', input.name));
  if (input.description !== undefined && input.description !== null)
    check(displayTextProblem('description', input.description, 300));
}

/** Creates a group; a name taken (without regard to case) is a conflict. */
export async function createGroup(stores: Stores, input: GroupInput, now: number): Promise<GroupRecord> {
  groupProblems(input);
  const g: GroupRecord = {
    id: randomUUID(),
    name: input.name,
    description: input.description ?? null,
    createdAt: now,
    updatedAt: now,
  };
  if (!(await stores.directory.createGroup(g))) throw new ConflictError(`a group named ${input.name} exists already`);
  return g;
}

/** Changes a group's name or description. */
export async function updateGroup(
  stores: Stores,
  current: GroupRecord,
  change: Partial<GroupInput>,
  now: number,
): Promise<GroupRecord> {
  groupProblems(change);
  const next: GroupRecord = {
    ...current,
    ...(change.name !== undefined ? { name: change.name } : {}),
    ...(change.description !== undefined ? { description: change.description } : {}),
    updatedAt: now,
  };
  const r = await stores.directory.updateGroup(next);
  if (r === 'missing') throw new NotFoundError(`no group ${current.id}`);
  if (r === 'name_taken') throw new ConflictError(`a group named ${next.name} exists already`);
  return next;
}

// ---- application roles ----------------------------------------------------------------------------

export function checkRole(role: unknown): asserts role is string {
  check(nameProblem('role', role));
}

// ---- attributes -----------------------------------------------------------------------------------

/** The type of a JSON value as an attribute, or a problem. */
function typeOf(value: unknown): ValueType | undefined {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'boolean';
  if (Array.isArray(value)) return 'strings';
  return undefined;
}

const CONTROL = /[\p{Cc}\p{Cf}\u2028\u2029]/u;

/** Validates an attribute's value against its type (given, or the JSON value's own). */
export function attributeValue(name: string, type: ValueType | undefined, value: unknown): UserAttribute['value'] {
  check(nameProblem('the attribute name', name, ATTRIBUTE_NAME));
  const t = type ?? typeOf(value);
  if (t === undefined || typeOf(value) !== t)
    throw new AdminError(
      `value must be ${t === 'strings' ? 'a list of strings' : t ? `a ${t}` : 'a string, number, boolean or list of strings'}`,
    );
  if (t === 'string') {
    const s = value as string;
    if (s.length > MAX_TEXT_VALUE || CONTROL.test(s))
      throw new AdminError(`value must be at most ${MAX_TEXT_VALUE} characters, without control characters`);
  }
  if (t === 'number' && !Number.isFinite(value)) throw new AdminError('value must be a finite number');
  if (t === 'strings') {
    const list = value as unknown[];
    if (list.length > MAX_LIST_VALUE) throw new AdminError(`value must have at most ${MAX_LIST_VALUE} items`);
    if (list.some((x) => typeof x !== 'string' || x.length === 0 || x.length > 200 || CONTROL.test(x)))
      throw new AdminError('value must be a list of strings of 1 to 200 characters, without control characters');
  }
  return value as AttributeValue;
}

/** Sets one attribute of a user (at most MAX_ATTRIBUTES_PER_USER each). */
export async function setAttribute(
  stores: Stores,
  userId: string,
  name: string,
  type: ValueType | undefined,
  value: unknown,
  now: number,
): Promise<{ before: UserAttribute | undefined; after: UserAttribute }> {
  const v = attributeValue(name, type, value);
  await requireUser(stores, userId);
  const all = await stores.directory.attributesOf(userId);
  const before = all.find((a) => a.name === name);
  if (!before && all.length >= MAX_ATTRIBUTES_PER_USER)
    throw new AdminError(`a user has at most ${MAX_ATTRIBUTES_PER_USER} attributes`);
  const after: UserAttribute = { userId, name, type: type ?? typeOf(v)!, value: v, updatedAt: now };
  await stores.directory.setAttribute(after);
  return { before, after };
}

// ---- claim mappings -------------------------------------------------------------------------------

export interface MappingInput {
  client_id?: string;
  resource?: string;
  claim: string;
  source: (typeof CLAIM_SOURCES)[number];
  attribute?: string;
  type?: ValueType;
  scope: string;
  targets: ClaimTarget[];
}

/** Validates a mapping for `application` and turns it into a record (`existing` keeps its id and creation time). */
export async function buildMapping(
  stores: Stores,
  config: Pick<Config, 'extraScopes'>,
  application: ApplicationRef,
  input: Omit<MappingInput, 'client_id' | 'resource'>,
  existing: ClaimMappingRecord | undefined,
  now: number,
): Promise<ClaimMappingRecord> {
  check(nameProblem('claim', input.claim, CLAIM_NAME));
  if (reservedClaim(input.claim))
    throw new AdminError(`claim ${input.claim} is reserved: the protocol or the standard user claims set it`);
  if (!(CLAIM_SOURCES as readonly string[]).includes(input.source))
    throw new AdminError(`source must be one of ${CLAIM_SOURCES.join(', ')}`);
  if (input.source === 'attribute') check(nameProblem('attribute', input.attribute, ATTRIBUTE_NAME));
  else if (input.attribute !== undefined) throw new AdminError('attribute is only for source attribute');
  const type = input.type ?? (input.source === 'attribute' ? 'string' : 'strings');
  if (!(VALUE_TYPES as readonly string[]).includes(type))
    throw new AdminError(`type must be one of ${VALUE_TYPES.join(', ')}`);
  if (input.source !== 'attribute' && type !== 'strings' && type !== 'string')
    throw new AdminError(`type of ${input.source} must be strings (a list) or string (space-separated)`);
  const targets = [...new Set(input.targets)];
  if (targets.length === 0 || targets.some((t) => !(CLAIM_TARGETS as readonly string[]).includes(t)))
    throw new AdminError(`targets must be a non-empty list of ${CLAIM_TARGETS.join(', ')}`);
  if (application.type === 'resource' && targets.some((t) => t !== 'access_token'))
    throw new AdminError("a resource server's claims go only in its access tokens (targets: [access_token])");
  if (typeof input.scope !== 'string' || !isScopeToken(input.scope)) throw new AdminError('scope must be a scope name');
  // The releasing scope must be one a token can hold: offered by the server, or by the resource itself.
  const offered = new Set(supportedScopes(config.extraScopes));
  if (application.type === 'resource') {
    const r = await stores.resourceServers.get(application.id);
    for (const s of r?.scopes ?? []) offered.add(s.name);
  }
  if (!offered.has(input.scope))
    throw new AdminError(
      `scope ${input.scope} is not offered by this server${application.type === 'resource' ? ' nor by the resource' : ''}`,
    );
  if (application.type === 'client') {
    const client = await stores.clients.get(application.id);
    if (client && !client.scopes.includes(input.scope))
      throw new AdminError(
        `client ${application.id} may not ask for scope ${input.scope}: the claim would never be released`,
      );
  }
  if (!existing) {
    const mine = (await stores.directory.listMappings()).filter(
      (m) => m.application.type === application.type && m.application.id === application.id,
    );
    if (mine.length >= MAX_MAPPINGS_PER_APPLICATION)
      throw new AdminError(`an application has at most ${MAX_MAPPINGS_PER_APPLICATION} claim mappings`);
  }
  return {
    id: existing?.id ?? randomUUID(),
    application,
    claim: input.claim,
    source: input.source,
    attribute: input.source === 'attribute' ? input.attribute! : null,
    type,
    scope: input.scope,
    targets: CLAIM_TARGETS.filter((t) => targets.includes(t)),
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
}

/** Creates a mapping; a claim the application maps already is a conflict. */
export async function createMapping(
  stores: Stores,
  config: Pick<Config, 'extraScopes'>,
  input: MappingInput,
  now: number,
): Promise<ClaimMappingRecord> {
  const application = await resolveApplication(stores, input);
  const { client_id: _c, resource: _r, ...rest } = input;
  const m = await buildMapping(stores, config, application, rest, undefined, now);
  if (!(await stores.directory.createMapping(m)))
    throw new ConflictError(`${application.type} ${application.id} maps claim ${m.claim} already`);
  return m;
}

// ---- the bootstrap file's sections ----------------------------------------------------------------

/** A group of the bootstrap file: created or updated by name; `members` (usernames) are added, never removed. */
export interface GroupEntry {
  name: string;
  description?: string | null;
  members?: string[];
}

/** Application roles of the bootstrap file: `role` for one application, given to `users` (usernames). */
export interface AppRoleEntry {
  client_id?: string;
  resource?: string;
  role: string;
  users: string[];
}

export const GROUP_KEYS = { name: 1, description: 1, members: 1 } satisfies Record<keyof GroupEntry, 1>;
export const APP_ROLE_KEYS = { client_id: 1, resource: 1, role: 1, users: 1 } satisfies Record<keyof AppRoleEntry, 1>;
export const MAPPING_KEYS = {
  client_id: 1,
  resource: 1,
  claim: 1,
  source: 1,
  attribute: 1,
  type: 1,
  scope: 1,
  targets: 1,
} satisfies Record<keyof MappingInput, 1>;

async function userIdOf(stores: Stores, username: unknown): Promise<string> {
  const u = typeof username === 'string' ? await stores.users.findByUsername(username) : undefined;
  if (!u) throw new AdminError(`no user ${String(username).slice(0, 100)}`);
  return u.id;
}

const listOf = (v: unknown, where: string): unknown[] => {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new AdminError(`${where} must be a list of usernames`);
  return v;
};

/**
 * Applies the directory sections of the bootstrap file idempotently (a second run changes nothing);
 * returns how many groups, role assignments and mappings it created or changed.
 */
export async function applyDirectoryBootstrap(
  stores: Stores,
  config: Pick<Config, 'extraScopes'>,
  file: { groups?: GroupEntry[]; app_roles?: AppRoleEntry[]; claim_mappings?: MappingInput[] },
  now: number,
): Promise<{ groups: number; appRoles: number; claimMappings: number }> {
  let groups = 0;
  let appRoles = 0;
  let claimMappings = 0;
  for (const [i, g] of (file.groups ?? []).entries()) {
    const where = `groups[${i}]${typeof g?.name === 'string' ? ` (${g.name.slice(0, 100)})` : ''}`;
    try {
      const existing = typeof g.name === 'string' ? await stores.directory.findGroupByName(g.name) : undefined;
      let group = existing;
      if (!existing) {
        group = await createGroup(stores, g, now);
        groups++;
      } else if (
        existing.name !== g.name ||
        (g.description !== undefined && (g.description ?? null) !== existing.description)
      ) {
        group = await updateGroup(stores, existing, g, now);
        groups++;
      }
      for (const username of listOf(g.members, 'members'))
        if (await stores.directory.addMember(group!.id, await userIdOf(stores, username), now)) groups++;
    } catch (err) {
      if (err instanceof AdminError) throw new AdminError(`${where}: ${err.message}`);
      throw err;
    }
  }
  for (const [i, r] of (file.app_roles ?? []).entries()) {
    const where = `app_roles[${i}]${typeof r?.role === 'string' ? ` (${r.role.slice(0, 100)})` : ''}`;
    try {
      checkRole(r.role);
      const application = await resolveApplication(stores, r);
      for (const username of listOf(r.users, 'users')) {
        const userId = await userIdOf(stores, username);
        if (await stores.directory.assignRole({ userId, application, role: r.role, grantedAt: now })) appRoles++;
      }
    } catch (err) {
      if (err instanceof AdminError) throw new AdminError(`${where}: ${err.message}`);
      throw err;
    }
  }
  for (const [i, m] of (file.claim_mappings ?? []).entries()) {
    const where = `claim_mappings[${i}]${typeof m?.claim === 'string' ? ` (${m.claim.slice(0, 100)})` : ''}`;
    try {
      const application = await resolveApplication(stores, m);
      const existing = (await stores.directory.listMappings()).find(
        (x) => x.application.type === application.type && x.application.id === application.id && x.claim === m.claim,
      );
      const { client_id: _c, resource: _r, ...rest } = m;
      const next = await buildMapping(stores, config, application, rest, existing, now);
      if (!existing) {
        if (await stores.directory.createMapping(next)) claimMappings++;
      } else if (JSON.stringify({ ...existing, updatedAt: 0 }) !== JSON.stringify({ ...next, updatedAt: 0 })) {
        await stores.directory.updateMapping(next);
        claimMappings++;
      }
    } catch (err) {
      if (err instanceof AdminError) throw new AdminError(`${where}: ${err.message}`);
      throw err;
    }
  }
  return { groups, appRoles, claimMappings };
}
