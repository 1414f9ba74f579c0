// Tessera's own admin resource (issue 20): the scopes of its admin API, which admin roles hold
// which, and the resource (RFC 8707 audience) its tokens are for. The scopes are reserved: only
// clients an owner made admin clients may ask for them, only for this audience (protocol rules in
// admin-tokens.ts), and a person's token gets no more of them than the person's role holds.
import type { AdminRole } from '../ports/admin.ts';

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
  'admin:upstreams:read',
  'admin:upstreams:write',
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

/** The admin scopes each admin role holds. */
export const ROLE_SCOPES: Readonly<Record<AdminRole, readonly AdminScope[]>> = {
  owner: ADMIN_SCOPES,
  admin: ADMIN_SCOPES.filter((s) => s !== 'admin:roles:write'),
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
