// Tessera's own admin resource (issue 20): the scopes of its admin API, which admin roles hold
// which, and the resource (RFC 8707 audience) its tokens are for. The scopes are reserved: only
// clients an owner made admin clients may ask for them, only for this audience (protocol rules in
// admin-tokens.ts), and a person's token gets no more of them than the person's role holds.
import type { AdminRole } from '../ports/admin.ts';
import type { ClientRecord } from '../ports/clients.ts';
import type { Stores } from '../ports/index.ts';

/** Every admin scope; there is no wildcard. */
export const ADMIN_SCOPES = [
  'admin:dashboard:read',
  'admin:clients:read',
  'admin:clients:write',
  'admin:users:read',
  'admin:users:write',
  /** Passwords, second factors, unlocking, password-reset mail: what lets someone into an account. */
  'admin:users:credentials',
  'admin:sessions:read',
  /** Ending sessions, revoking grants and consents. */
  'admin:sessions:write',
  'admin:directory:read',
  /** Groups, application roles, user attributes and claim mappings. */
  'admin:directory:write',
  'admin:resources:read',
  'admin:resources:write',
  'admin:keys:read',
  'admin:keys:write',
  'admin:audit:read',
  /** Exporting the audit trail whole (CSV, JSON Lines). */
  'admin:audit:export',
  'admin:settings:read',
  /** The branding and other settings changed at run time (issue 18). */
  'admin:settings:write',
  'admin:upstreams:read',
  /**
   * Owner only: an upstream provider decides who signs in as whom (linking by address, a trusted second
   * factor, its endpoints), so changing one is as strong as giving roles.
   */
  'admin:upstreams:write',
  /** Webhook endpoints and their delivery log (issue 18). */
  'admin:webhooks:read',
  /** Adding, changing, testing and removing webhook endpoints: where audit events are sent. */
  'admin:webhooks:write',
  /** Giving and taking admin roles. */
  'admin:roles:write',
] as const;
export type AdminScope = (typeof ADMIN_SCOPES)[number];

const ALL = new Set<string>(ADMIN_SCOPES);
/**
 * Whether `scope` is one of Tessera's reserved admin scopes (also any other `admin:` scope, which none may ask for).
 */
export const isAdminScope = (scope: string): boolean => scope.startsWith('admin:');
/** Whether `scope` is a known admin scope. */
export const knownAdminScope = (scope: string): scope is AdminScope => ALL.has(scope);

const READS = ADMIN_SCOPES.filter((s) => s.endsWith(':read'));

/**
 * The scopes only owners hold: giving roles, and changing upstream providers (one that vouches for an
 * owner's address or second factor signs its runner in as that owner).
 */
export const OWNER_ONLY_SCOPES: ReadonlySet<AdminScope> = new Set(['admin:roles:write', 'admin:upstreams:write']);

/** The admin scopes each admin role holds. */
export const ROLE_SCOPES: Readonly<Record<AdminRole, readonly AdminScope[]>> = {
  owner: ADMIN_SCOPES,
  admin: ADMIN_SCOPES.filter((s) => !OWNER_ONLY_SCOPES.has(s)),
  support: [
    'admin:dashboard:read',
    'admin:clients:read',
    'admin:users:read',
    'admin:users:write',
    'admin:users:credentials',
    'admin:sessions:read',
    'admin:sessions:write',
    'admin:directory:read',
    'admin:resources:read',
    'admin:upstreams:read',
  ],
  auditor: [...READS, 'admin:audit:export'],
};

/** The audience (RFC 8707 resource) of admin API tokens: `<issuer>/admin/api`. */
export const adminAudience = (issuer: string): string => `${issuer}/admin/api`;

/**
 * Whether a client may be issued admin scopes: an operator made it an admin client
 * (`metadata.admin_client: true`, through the admin actions, the CLI or the bootstrap file), and it
 * was not registered dynamically nor made from a Client ID Metadata Document (`metadata.registration`).
 */
export const isAdminClient = (client: Pick<ClientRecord, 'metadata'>): boolean =>
  client.metadata.admin_client === true && client.metadata.registration === undefined;

/** What each admin scope lets its holder do, in plain words: the consent page of the CLI's device flow shows them. */
export const ADMIN_SCOPE_DESCRIPTIONS: Readonly<Record<AdminScope, string>> = {
  'admin:dashboard:read': 'Administer Tessera: see the dashboard (counts, sign-in rates, key states, health)',
  'admin:clients:read': 'Administer Tessera: see every application (client) and its settings',
  'admin:clients:write':
    'Administer Tessera: create, change, disable and delete applications, rotate their secrets, approve registrations',
  'admin:users:read': 'Administer Tessera: see every user account',
  'admin:users:write': 'Administer Tessera: create, change, disable and delete user accounts',
  'admin:users:credentials':
    "Administer Tessera: reset users' passwords and second factors, unlock accounts, send password-reset mail",
  'admin:sessions:read': 'Administer Tessera: see sign-in sessions, grants and consents',
  'admin:sessions:write': 'Administer Tessera: end sessions, revoke grants and consents',
  'admin:directory:read': 'Administer Tessera: see groups, application roles, user attributes and claim mappings',
  'admin:directory:write': 'Administer Tessera: change groups, application roles, user attributes and claim mappings',
  'admin:resources:read': 'Administer Tessera: see resource servers and their scopes',
  'admin:resources:write': 'Administer Tessera: change resource servers and their scopes',
  'admin:keys:read': 'Administer Tessera: see the signing keys (never their private parts)',
  'admin:keys:write': 'Administer Tessera: rotate and retire the signing keys',
  'admin:audit:read': 'Administer Tessera: read the audit trail',
  'admin:audit:export': 'Administer Tessera: export the whole audit trail',
  'admin:settings:read': "Administer Tessera: see the server's settings (secrets left out)",
  'admin:settings:write': 'Administer Tessera: change the branding and other settings',
  'admin:upstreams:read': 'Administer Tessera: see the upstream identity providers',
  'admin:upstreams:write': 'Administer Tessera: change the upstream identity providers (who may sign in as whom)',
  'admin:webhooks:read': 'Administer Tessera: see the webhook endpoints and their delivery log',
  'admin:webhooks:write':
    'Administer Tessera: add, change, test and remove webhook endpoints (where audit events are sent)',
  'admin:roles:write': 'Administer Tessera: give and take admin roles (make owners and admins)',
};

/** The counter whose row every change to who holds an admin role takes first (lockAdminRoles). */
const ADMIN_ROLES_LOCK = 'admin:owners-lock';

/**
 * Serialises changes to admin roles and to the accounts holding them, inside the caller's transaction:
 * an upsert of one counter row, which PostgreSQL keeps locked until the transaction ends (SQLite runs
 * one writing transaction at a time anyway). Two owners demoting each other at once: the second waits,
 * then counts the first one's change; a role given while its holder deletes their account: one of the
 * two sees the other's result.
 */
export async function lockAdminRoles(stores: Pick<Stores, 'counters'>, now: number): Promise<void> {
  await stores.counters.hit(ADMIN_ROLES_LOCK, now, 3600);
}
