// The Model Context Protocol authorization profile (TESSERA_MCP_PROFILE): per dated revision of the
// MCP authorization specification, a frozen bundle of setting defaults, each with the requirement and
// the section of the specification it comes from. The loader (config.ts) applies the bundle after the
// explicit values (environment, config file, overrides) and before the ordinary defaults, so every
// setting it changes can still be set one by one. A revision's bundle never changes once published:
// a new MCP revision gets a new entry, and `latest` moves to it.
//
// docs/mcp.md "The profile" is this table in words; src/config/mcp-profile.test.ts checks both.
import type { Config } from './config.ts';

/** The MCP revisions Tessera has a profile for, oldest first. */
export const MCP_REVISIONS = ['2025-06-18', '2025-11-25', '2026-07-28'] as const;
export type McpRevision = (typeof MCP_REVISIONS)[number];
/** What `latest` means in this version of Tessera. */
export const MCP_LATEST: McpRevision = '2026-07-28';

/** The first MCP revision with an authorization specification, which Tessera cannot serve (see below). */
export const MCP_UNSUPPORTED_REVISION = '2025-03-26';
export const MCP_UNSUPPORTED_REASON =
  'TESSERA_MCP_PROFILE: 2025-03-26 is not supported: in that revision the MCP server is its own authorization ' +
  "server (its endpoints are found from the MCP server's URL, with /authorize, /token and /register as fallbacks) " +
  'and there is no protected resource metadata (RFC 9728) nor resource binding (RFC 8707), so a separate ' +
  'authorization server such as Tessera cannot be discovered by its clients nor keep tokens to one MCP server. ' +
  'Use 2025-06-18 or later (clients of 2025-03-26 that read RFC 8414 metadata still work with any profile)';

/** The settings a profile may set; each must be a key of Config. */
type ProfileKey = keyof Config;

export interface ProfileRow {
  /** The setting the row changes. */
  readonly key: ProfileKey;
  /** The requirement of the MCP specification, in short. */
  readonly requirement: string;
  /** Where it is, per revision (section titles of that revision's authorization page, or the changelog). */
  readonly section: Readonly<Partial<Record<McpRevision, string>>>;
  /** The value under each revision; a revision without one leaves the setting at its ordinary default. */
  readonly values: Readonly<Partial<Record<McpRevision, unknown>>>;
  /** What it means for operators. */
  readonly operators: string;
}

const all = <T>(v: T): Record<McpRevision, T> => ({ '2025-06-18': v, '2025-11-25': v, '2026-07-28': v });

/** The rows of the profile: settings whose default changes. */
export const MCP_PROFILE_ROWS: readonly ProfileRow[] = Object.freeze(
  [
    {
      key: 'registration',
      requirement:
        'Dynamic client registration (RFC 7591) so that a client can connect to an MCP server it has never seen: SHOULD in 2025-06-18; the fallback after Client ID Metadata Documents in 2025-11-25; deprecated but still a fallback in 2026-07-28',
      section: {
        '2025-06-18': 'Authorization: Dynamic Client Registration',
        '2025-11-25': 'Authorization: Client Registration Approaches (Dynamic Client Registration)',
        '2026-07-28': 'Authorization: Client Registration Approaches (Dynamic Client Registration, deprecated)',
      },
      values: all('open'),
      operators:
        'anyone who can reach /register may create a client (rate limited, least privilege: TESSERA_REGISTRATION_GRANT_TYPES, TESSERA_REGISTRATION_SCOPES, registry resources only); production prints a warning. Set TESSERA_REGISTRATION=initial_access_token or admin_approval to keep control',
    },
    {
      key: 'clientIdMetadataDocuments',
      requirement:
        'Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): authorization servers SHOULD support them; the recommended way for a client to register',
      section: {
        '2025-11-25': 'Authorization: Client ID Metadata Documents',
        '2026-07-28': 'Authorization: Client ID Metadata Documents',
      },
      values: { '2025-11-25': 'on', '2026-07-28': 'on' },
      operators:
        'a client_id that is an https URL is fetched (SSRF-safe) and trusted per TESSERA_CIMD_TRUST; such clients get the least privilege of self-registered ones',
    },
    {
      key: 'registrationApplicationType',
      requirement:
        'Native clients redirect to a loopback address on any port (OAuth 2.1 section 8.4.2, RFC 8252); 2026-07-28 has clients declare application_type in registration (SEP-837), older ones do not',
      section: {
        '2025-06-18': 'Authorization: Communication Security (redirect URIs localhost or https)',
        '2025-11-25': 'Authorization: Communication Security (redirect URIs localhost or https)',
        '2026-07-28': 'Authorization: Dynamic Client Registration (application_type, SEP-837)',
      },
      values: all('infer'),
      operators:
        'a registration without application_type is native when all its redirect URIs are loopback http or private-use schemes, so a desktop client may pick its port at each start',
    },
    {
      key: 'registrationUnusedTtl',
      requirement:
        'Anonymous registration must not grow the client table without bound (Security Best Practices; one of the reasons 2025-11-25 prefers Client ID Metadata Documents)',
      section: {
        '2025-06-18': 'Security Best Practices',
        '2025-11-25': 'Authorization: Client Registration Approaches',
        '2026-07-28': 'Authorization: Client Registration Approaches',
      },
      values: all(86_400),
      operators:
        'a dynamically registered client that has obtained no token within a day is deleted; a client that is used stays',
    },
    {
      key: 'corsAnyOrigin',
      requirement:
        'Browser-based MCP clients (their origin is not known in advance) read the metadata and call the registration, token and revocation endpoints from script',
      section: {
        '2025-06-18': 'Authorization: Authorization Flow Steps',
        '2025-11-25': 'Authorization: Authorization Flow Steps',
        '2026-07-28': 'Authorization: Authorization Flow Steps',
      },
      values: all(true),
      operators:
        'CORS from any origin without credentials (no cookies) at those endpoints; the pages that use the session cookie are not affected',
    },
    {
      key: 'refreshReuseGrace',
      requirement:
        'Refresh tokens of public clients MUST be rotated (OAuth 2.1 section 4.3.1); MCP hosts run several processes on one token store, which present a rotated token again moments later',
      section: {
        '2025-06-18': 'Authorization: Security Considerations (Token Theft)',
        '2025-11-25': 'Authorization: Security Considerations (Token Theft)',
        '2026-07-28': 'Authorization: Security Considerations (Token Theft); refresh token guidance (SEP-2207)',
      },
      values: all(30),
      operators:
        'for 30 s after a rotation, the same client (same DPoP key, if bound) presenting the old refresh token gets the same successor; later reuse revokes the family as always',
    },
    {
      key: 'resourceRegistryOnly',
      requirement:
        'Clients MUST send resource (RFC 8707); authorization servers issue tokens only for the MCP server named, and MCP servers MUST accept only tokens issued for them (audience binding)',
      section: {
        '2025-06-18': 'Authorization: Resource Parameter Implementation; Token Audience Binding and Validation',
        '2025-11-25': 'Authorization: Resource Parameter Implementation; Token Audience Binding and Validation',
        '2026-07-28': 'Authorization: Resource Parameter Implementation; Token Audience Binding and Validation',
      },
      values: all(true),
      operators:
        'every client may name only resources of the registry (`tessera resource create`, bootstrap `resources:`): register each MCP server by the `resource` of its protected resource metadata, or clients get invalid_target',
    },
    {
      key: 'registrationResourceScopes',
      requirement:
        'MCP servers declare their scopes (scopes_supported of the protected resource metadata, the scope of a WWW-Authenticate challenge) and clients request them, registering and stepping up without an operator',
      section: {
        '2025-06-18': 'Authorization: Dynamic Client Registration; Authorization Server Metadata Discovery',
        '2025-11-25': 'Authorization: Scope Selection Strategy; Scope Challenge Handling',
        '2026-07-28': 'Authorization: Scope Selection Strategy; Scope Challenge Handling',
      },
      values: all(true),
      operators:
        'self-registered clients (dynamic registration, Client ID Metadata Documents) may register and obtain the scopes a registry resource declares, each only in tokens for that resource, without listing them in TESSERA_EXTRA_SCOPES or TESSERA_REGISTRATION_SCOPES; scopes_supported lists them',
    },
  ].map((r) => Object.freeze({ ...r, section: Object.freeze(r.section), values: Object.freeze(r.values) })),
) as readonly ProfileRow[];

/** What MCP requires that Tessera does whatever the profile: not settings, listed for the documentation and doctor. */
export const MCP_ALWAYS_ON: readonly { requirement: string; section: string; how: string }[] = Object.freeze([
  {
    requirement: 'Authorization server metadata (RFC 8414); OpenID Connect Discovery (2025-11-25 and later)',
    section: 'Authorization: Authorization Server Metadata Discovery',
    how: '/.well-known/oauth-authorization-server and /.well-known/openid-configuration (for an issuer with a path, RFC 8414 section 3 placement too)',
  },
  {
    requirement: 'PKCE with S256 (MUST)',
    section: 'Authorization: Authorization Code Protection',
    how: 'S256 only; required of every public and self-registered client (an opt-out exists only for confidential operator-made clients)',
  },
  {
    requirement: 'Resource indicators (RFC 8707) and audience binding',
    section: 'Authorization: Resource Parameter Implementation',
    how: 'each access token is for one resource (aud); a token request may name only a resource that was authorized',
  },
  {
    requirement: 'Issuer identification (RFC 9207; clients MUST check it from 2026-07-28, SEP-2468)',
    section: 'Authorization: Authorization Server Mix-Up Protection',
    how: 'iss in every authorization response; authorization_response_iss_parameter_supported in the metadata',
  },
  {
    requirement: 'Refresh token rotation for public clients (MUST); short-lived access tokens (SHOULD)',
    section: 'Authorization: Security Considerations (Token Theft)',
    how: 'rotation with family revocation on reuse; access tokens live TESSERA_ACCESS_TOKEN_TTL (15 min by default)',
  },
  {
    requirement: 'Authorization code and refresh grants for registered clients',
    section: 'Authorization: Dynamic Client Registration',
    how: 'TESSERA_REGISTRATION_GRANT_TYPES defaults to authorization_code refresh_token',
  },
]);

/**
 * Settings production refuses when set in a given way: a profile never sets them (the test checks
 * this list against the bundles; the loader refuses these in production whatever the source).
 */
export const PRODUCTION_REFUSED_KEYS: readonly ProfileKey[] = Object.freeze([
  'cimdAllowLoopback',
  'clientJwksAllowLoopback',
  'seedDemo',
  'cookieSecure',
  'cookieSameSite',
  'secret',
  'keyEncryptionKey',
]);

/** The revision a TESSERA_MCP_PROFILE value names; undefined for `off`. */
export function mcpRevision(profile: string | undefined): McpRevision | undefined {
  if (profile === undefined || profile === 'off') return undefined;
  if (profile === 'latest') return MCP_LATEST;
  return (MCP_REVISIONS as readonly string[]).includes(profile) ? (profile as McpRevision) : undefined;
}

/** The settings the profile of `profile` changes, and their values (empty for `off`). Frozen. */
export function mcpProfileDefaults(profile: string | undefined): Readonly<Record<string, unknown>> {
  const revision = mcpRevision(profile);
  const out: Record<string, unknown> = {};
  if (revision)
    for (const row of MCP_PROFILE_ROWS) if (Object.hasOwn(row.values, revision)) out[row.key] = row.values[revision];
  return Object.freeze(out);
}
