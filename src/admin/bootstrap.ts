import { readFileSync } from 'node:fs';
import { yaml, type Config } from '../config/config.ts';
import type { AuditEvent, Stores } from '../ports/index.ts';
import type { OutboundHttp } from '../ports/outbound.ts';
import { AdminError, saveClient, type ClientInput } from './clients.ts';
import { saveUser, type UserInput } from './users.ts';
import { setAdminRole, type AdminRole } from './roles.ts';
import { saveResourceServer, type ResourceInput } from './resources.ts';
import { checkUpstreams, saveUpstream, UPSTREAM_KEYS, type UpstreamInput } from './upstreams.ts';
import {
  APP_ROLE_KEYS,
  GROUP_KEYS,
  MAPPING_KEYS,
  applyDirectoryBootstrap,
  type AppRoleEntry,
  type GroupEntry,
  type MappingInput,
} from './directory.ts';

export interface BootstrapFile {
  clients?: ClientInput[];
  users?: BootstrapUser[];
  /** The registry of resource servers (admin/resources.ts). */
  resources?: ResourceInput[];
  /** Upstream identity providers (admin/upstreams.ts). */
  upstreams?: UpstreamInput[];
  /** The directory (admin/directory.ts): groups with members, application roles, claim mappings. */
  groups?: GroupEntry[];
  app_roles?: AppRoleEntry[];
  claim_mappings?: MappingInput[];
}

// ---- the schema of the file ------------------------------------------------------------------------
// Every key an entry accepts. Each list is checked by TypeScript against the input type it feeds
// (`satisfies Record<keyof ...>`): a key added to ClientInput or UserInput fails the typecheck until
// it has its line here, and a key listed here that the code does not read cannot exist. A new key
// is one line; a new section (e.g. `resources:`) is one line in SECTIONS plus its key list.

/** The keys of a client entry: ClientInput (src/admin/clients.ts). */
const CLIENT_KEYS = {
  client_id: 1,
  client_secret: 1,
  client_name: 1,
  token_endpoint_auth_method: 1,
  application_type: 1,
  redirect_uris: 1,
  post_logout_redirect_uris: 1,
  grant_types: 1,
  scope: 1,
  allowed_resources: 1,
  skip_consent: 1,
  disabled: 1,
  fapi_profile: 1,
  authorization_details_types: 1,
  dpop_bound_access_tokens: 1,
  require_pushed_authorization_requests: 1,
  jwks: 1,
  jwks_uri: 1,
  token_endpoint_auth_signing_alg: 1,
  request_object_signing_alg: 1,
  require_signed_request_object: 1,
  authorization_signed_response_alg: 1,
  token_exchange: 1,
  fapi_message_signing: 1,
  tls_client_auth_subject_dn: 1,
  tls_client_auth_san_dns: 1,
  tls_client_auth_san_uri: 1,
  tls_client_auth_san_ip: 1,
  tls_client_auth_san_email: 1,
  tls_client_certificate_bound_access_tokens: 1,
  subject_type: 1,
  sector_identifier_uri: 1,
  resource_scopes: 1,
  backchannel_logout_uri: 1,
  backchannel_logout_session_required: 1,
  frontchannel_logout_uri: 1,
  frontchannel_logout_session_required: 1,
  pkce_required: 1,
  id_token_signed_response_alg: 1,
  userinfo_signed_response_alg: 1,
  introspection_signed_response_alg: 1,
  id_token_scope_claims: 1,
  mfa: 1,
  admin_client: 1,
  logo_uri: 1,
  client_uri: 1,
  policy_uri: 1,
  tos_uri: 1,
} satisfies Record<keyof ClientInput, 1>;

/**
 * A user entry: UserInput, and the user's admin role (admin/roles.ts): how a new deployment gets its
 * FIRST owner (`admin_role: owner`) without the break-glass token. Absent: the role is left as it is.
 */
export type BootstrapUser = UserInput & { admin_role?: AdminRole };

/** The keys of a user entry: BootstrapUser. */
const USER_KEYS = {
  username: 1,
  password: 1,
  email: 1,
  email_verified: 1,
  name: 1,
  given_name: 1,
  family_name: 1,
  disabled: 1,
  mfa_required: 1,
  adopt: 1,
  admin_role: 1,
} satisfies Record<keyof BootstrapUser, 1>;

/** The keys of a resource server entry: ResourceInput (src/admin/resources.ts). */
const RESOURCE_KEYS = {
  identifier: 1,
  display_name: 1,
  scopes: 1,
  access_token_ttl: 1,
  signing_alg: 1,
  dpop: 1,
} satisfies Record<keyof ResourceInput, 1>;

/** The sections of the file, each a list of entries with these keys, named by this key in messages. */
const SECTIONS: Record<string, { keys: Record<string, 1>; id: string }> = {
  clients: { keys: CLIENT_KEYS, id: 'client_id' },
  users: { keys: USER_KEYS, id: 'username' },
  resources: { keys: RESOURCE_KEYS, id: 'identifier' },
  // UPSTREAM_KEYS is checked against UpstreamInput where it is declared (admin/upstreams.ts).
  upstreams: { keys: UPSTREAM_KEYS, id: 'id' },
  // The directory's sections: each list is checked against its input type in admin/directory.ts.
  groups: { keys: GROUP_KEYS, id: 'name' },
  app_roles: { keys: APP_ROLE_KEYS, id: 'role' },
  claim_mappings: { keys: MAPPING_KEYS, id: 'claim' },
};

/** Levenshtein distance, for naming the valid key nearest a misspelled one. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

export function nearestKey(key: string, valid: readonly string[]): string {
  return valid.reduce((best, k) => (distance(key, k) < distance(key, best) ? k : best), valid[0]!);
}

const unknownKey = (where: string, key: string, valid: readonly string[]) =>
  `${where}: unknown key "${key}" (did you mean "${nearestKey(key, valid)}"?)`;

/** Every problem of the file's shape: sections, entries, unknown keys (each naming the nearest valid key). */
export function bootstrapSchemaProblems(doc: unknown): string[] {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    return [`must hold an object with ${Object.keys(SECTIONS).join(' and ')}`];
  const problems: string[] = [];
  for (const [section, value] of Object.entries(doc)) {
    const schema = SECTIONS[section];
    if (!schema) {
      problems.push(unknownKey('top level', section, Object.keys(SECTIONS)));
      continue;
    }
    if (value === null || value === undefined) continue;
    if (!Array.isArray(value)) {
      problems.push(`${section} must be a list`);
      continue;
    }
    const valid = Object.keys(schema.keys);
    value.forEach((entry: unknown, i) => {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
        problems.push(`${section}[${i}] must be an object`);
        return;
      }
      const id = (entry as Record<string, unknown>)[schema.id];
      const where = `${section}[${i}]${typeof id === 'string' ? ` (${id})` : ''}`;
      for (const key of Object.keys(entry))
        if (!Object.hasOwn(schema.keys, key)) problems.push(unknownKey(where, key, valid));
    });
  }
  return problems;
}

/**
 * Why a file does not parse, without its text: the parsers quote the lines around the error (YAML) or
 * the characters (JSON), which may be a client secret or a private key, and this message is printed
 * by the CLI and logged at start. YAML's first line names the problem and where; JSON's, where only.
 */
function parseProblem(err: unknown, isYaml: boolean): string {
  if (isYaml && err instanceof yaml().YAMLError) {
    const at = err.linePos?.[0];
    const what = err.message.split('\n', 1)[0]!.replace(/ at line \d+, column \d+:?$/, '');
    return at ? `${what} at line ${at.line}, column ${at.col}` : what;
  }
  const position = /\(line (\d+) column (\d+)\)/.exec((err as Error).message);
  return position ? `not valid JSON at line ${position[1]}, column ${position[2]}` : 'not valid JSON';
}

export function readBootstrapFile(path: string): BootstrapFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AdminError(`TESSERA_BOOTSTRAP_FILE: cannot read ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  const isYaml = !path.endsWith('.json');
  // Loaded outside the try: a parser that cannot be loaded is not a file that does not parse.
  const parse: (text: string) => unknown = isYaml ? yaml().parse : JSON.parse;
  try {
    doc = parse(text);
  } catch (err) {
    throw new AdminError(`TESSERA_BOOTSTRAP_FILE: ${path} does not parse: ${parseProblem(err, isYaml)}`);
  }
  // Nothing of a file with a problem is applied: a misspelled key is refused, not ignored.
  const problems = bootstrapSchemaProblems(doc);
  if (problems.length) throw new AdminError(`TESSERA_BOOTSTRAP_FILE: ${path}: ${problems.join('; ')}`);
  const { clients, users, resources, upstreams } = doc as Record<string, unknown>;
  const { groups, app_roles, claim_mappings } = doc as Record<string, unknown>;
  return {
    clients: (clients ?? undefined) as ClientInput[] | undefined,
    users: (users ?? undefined) as BootstrapUser[] | undefined,
    resources: (resources ?? undefined) as ResourceInput[] | undefined,
    upstreams: (upstreams ?? undefined) as UpstreamInput[] | undefined,
    groups: (groups ?? undefined) as GroupEntry[] | undefined,
    app_roles: (app_roles ?? undefined) as AppRoleEntry[] | undefined,
    claim_mappings: (claim_mappings ?? undefined) as MappingInput[] | undefined,
  };
}

/**
 * The providers of `tessera upstream add`: YAML or JSON holding one provider, a list of them, or a
 * bootstrap file's `upstreams:` list; unknown keys refused as the bootstrap file refuses them.
 */
export function parseUpstreamsDocument(text: string, source: string): UpstreamInput[] {
  let doc: unknown;
  const { parse } = yaml();
  try {
    doc = parse(text);
  } catch (err) {
    throw new AdminError(`${source} does not parse: ${parseProblem(err, true)}`);
  }
  const list = Array.isArray(doc)
    ? doc
    : doc !== null && typeof doc === 'object' && 'upstreams' in doc && Object.keys(doc).length === 1
      ? (doc as { upstreams: unknown }).upstreams
      : [doc];
  if (!Array.isArray(list) || list.length === 0) throw new AdminError(`${source}: no upstream provider in it`);
  const problems = bootstrapSchemaProblems({ upstreams: list });
  // Two entries with one id would have the second silently replace the first.
  const ids = list.map((u: { id?: unknown }) => u?.id);
  const twice = [...new Set(ids.filter((id, i) => typeof id === 'string' && ids.indexOf(id) !== i))];
  if (twice.length) problems.push(`the same id more than once: ${twice.join(', ')}`);
  if (problems.length) throw new AdminError(`${source}: ${problems.join('; ')}`);
  return list as UpstreamInput[];
}

/**
 * Applies the file idempotently: a second run with the same file changes nothing. Run it inside
 * Stores.exclusive, so that instances applying it at once on one database take turns. An
 * account taken over with `adopt: true` is audited (user_adopted); the warnings (users without a
 * password) are for the operator. `outbound` fetches sector_identifier_uri documents (admin/clients.ts saveClient).
 */
export async function applyBootstrap(
  stores: Stores,
  config: Config,
  file: BootstrapFile,
  now: number,
  outbound?: OutboundHttp,
): Promise<{
  clients: number;
  users: number;
  resources: number;
  upstreams: number;
  /** Groups and memberships, application role assignments and claim mappings created or changed. */
  directory: { groups: number; appRoles: number; claimMappings: number };
  generatedSecrets: Record<string, string>;
  warnings: string[];
}> {
  const generatedSecrets: Record<string, string> = {};
  const warnings: string[] = [];
  let clients = 0;
  let users = 0;
  let resources = 0;
  // Every provider is checked before anything is saved: a provider with a problem changes nothing.
  if (file.upstreams?.length) await checkUpstreams({ stores, config, now: () => now }, file.upstreams);
  for (const r of file.resources ?? []) {
    if ((await saveResourceServer(stores, config, r, now)).changed) resources++;
  }
  for (const c of file.clients ?? []) {
    const r = await saveClient(stores, config, c, now, {}, outbound);
    if (r.changed) clients++;
    if (r.secret) generatedSecrets[r.client.clientId] = r.secret;
  }
  for (const u of file.users ?? []) {
    const r = await saveUser(stores, u, now);
    if (r.changed) users++;
    if (r.user.passwordHash === null)
      warnings.push(`user ${r.user.username} has no password: it cannot sign in with one`);
    const audit: Pick<AuditEvent, 'type' | 'details'>[] = [];
    if (r.adopted)
      audit.push({
        type: 'user_adopted',
        details: { user_id: r.user.id, username: r.user.username, source: 'bootstrap' },
      });
    if (r.passwordChanged)
      audit.push({
        type: 'user_password_set',
        details: { user_id: r.user.id, username: r.user.username, source: 'bootstrap' },
      });
    // The same record as the mfa_required_set event's (observability/audit-events.ts), and where it came from.
    if (r.mfaRequiredChanged)
      audit.push({
        type: 'mfa_required_set',
        details: { user_id: r.user.id, required: r.user.mfaRequired === true, source: 'bootstrap' },
      });
    if (u.admin_role !== undefined) {
      const role = await setAdminRole(stores, { userId: r.user.id, role: u.admin_role, by: 'bootstrap', now });
      if (role.changed)
        audit.push({
          type: 'admin_role_set',
          details: { user_id: r.user.id, role: u.admin_role, previous: role.before?.role ?? null, source: 'bootstrap' },
        });
    }
    if (audit.length)
      await stores.audit.append(
        audit.map(
          (a): AuditEvent => ({ at: Date.now(), actor: 'admin', clientId: null, ip: null, outcome: 'success', ...a }),
        ),
      );
  }
  // Upstream providers: each one saved or changed is audited (upstream_saved, by bootstrap), as the
  // running server's audit trail records the event (observability/audit-events.ts).
  let upstreams = 0;
  const saved: string[] = [];
  for (const u of file.upstreams ?? []) {
    const r = await saveUpstream(
      { stores, config, now: () => now, events: (e) => void ('provider' in e && saved.push(e.provider)) },
      u,
      'bootstrap',
    );
    if (r.changed) upstreams++;
  }
  if (saved.length)
    await stores.audit.append(
      saved.map(
        (provider): AuditEvent => ({
          at: Date.now(),
          type: 'upstream_saved',
          actor: 'bootstrap',
          clientId: null,
          ip: null,
          outcome: 'success',
          details: { provider },
        }),
      ),
    );
  // The directory, after the users, clients and resources it names.
  const directory = await applyDirectoryBootstrap(stores, config, file, now);
  if (directory.groups || directory.appRoles || directory.claimMappings)
    await stores.audit.append([
      {
        at: Date.now(),
        type: 'directory_bootstrap_applied',
        actor: 'bootstrap',
        clientId: null,
        ip: null,
        outcome: 'success',
        details: {
          groups_changed: directory.groups,
          app_roles_changed: directory.appRoles,
          claim_mappings_changed: directory.claimMappings,
        },
      },
    ]);
  return { clients, users, resources, upstreams, directory, generatedSecrets, warnings };
}
