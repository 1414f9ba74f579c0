/**
 * Row types of the SQL schema (see migrations/). Same shape on SQLite and PostgreSQL:
 * times are epoch seconds (bigint, parsed to number), booleans are integers 0/1,
 * lists and objects are JSON text.
 */
export interface ClientsTable {
  client_id: string;
  client_name: string;
  secret_hash: string | null;
  token_endpoint_auth_method: string;
  application_type: string;
  redirect_uris: string;
  post_logout_redirect_uris: string;
  grant_types: string;
  scopes: string;
  allowed_resources: string;
  skip_consent: number;
  disabled: number;
  metadata: string;
  created_at: number;
  updated_at: number;
  /** When the first token was issued to the client (migration 0019); NULL: never. */
  first_used_at: number | null;
}

export interface UsersTable {
  id: string;
  username: string;
  password_hash: string | null;
  email: string | null;
  email_verified: number;
  name: string | null;
  given_name: string | null;
  family_name: string | null;
  disabled: number;
  created_at: number;
  updated_at: number;
  /**
   * The PRECIS canonical form (unique); NULL for an existing username that collides or is not valid (migration 0014).
   */
  username_canonical: string | null;
  /** The UTS #39 confusable skeleton of the username (indexed, not unique). */
  username_skeleton: string | null;
  /** Who created the account: operator (provisioning), signup (self-registration), upstream. */
  origin: string;
  /** An operator requires a second factor of this user (migration 0021). */
  mfa_required: number;
  /** The end of this user's enrolment grace under a required policy (migration 0021). */
  mfa_enrol_by: number | null;
  /** The language the user chose on their account page, or NULL (migration 0030). */
  locale: string | null;
}

/** Second factors: TOTP apps and passkeys (migration 0021). */
export interface UserFactorsTable {
  id: string;
  user_id: string;
  kind: string;
  name: string;
  created_at: number;
  last_used_at: number | null;
  confirmed: number;
  secret: string | null;
  credential_id: string | null;
  public_key: string | null;
  counter: number;
  /** JSON array. */
  transports: string;
  backup_eligible: number;
  backed_up: number;
  aaguid: string | null;
}

/** Recovery codes, by hash, single use (migration 0021). */
export interface RecoveryCodesTable {
  user_id: string;
  code_hash: string;
  created_at: number;
  used_at: number | null;
}

/** Sign-ins waiting for their second factor (migration 0022). */
export interface PendingSignInsTable {
  /** The upstream identity of an upstream sign-in, JSON (migration 0025). */
  upstream: string | null;
  id_hash: string;
  user_id: string;
  /** JSON array. */
  amr: string;
  continue_to: string;
  step_up: number;
  created_at: number;
  expires_at: number;
}

/** Browsers remembered after a second factor (migration 0022). */
export interface RememberedDevicesTable {
  id_hash: string;
  user_id: string;
  created_at: number;
  expires_at: number;
}

export interface SessionsTable {
  id_hash: string;
  sid: string;
  user_id: string;
  auth_time: number;
  amr: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  /** The browser's User-Agent, truncated (migration 0023). */
  user_agent: string | null;
  /** The address the session started from (migration 0023). */
  ip: string | null;
  /** The hash of the browser's device cookie (migration 0023). */
  device_hash: string | null;
  /** The upstream identity and upstream session it was signed in with (migration 0025). */
  upstream_provider: string | null;
  upstream_issuer: string | null;
  upstream_subject: string | null;
  upstream_sid: string | null;
}

/** The browsers (device cookie hashes) each account has signed in from (migration 0023). */
export interface KnownDevicesTable {
  user_id: string;
  device_hash: string;
  first_seen_at: number;
  last_seen_at: number;
}

/** Deleted accounts: the id is never reused, the username reserved until reserved_until (migration 0023). */
export interface UserTombstonesTable {
  user_id: string;
  username_canonical: string | null;
  deleted_at: number;
  reserved_until: number;
}

export interface InteractionsTable {
  uid: string;
  client_id: string;
  params: string;
  browser_hash: string;
  session_id_hash: string | null;
  login_at: number | null;
  created_at: number;
  expires_at: number;
}

export interface ConsentsTable {
  user_id: string;
  client_id: string;
  scopes: string;
  /** JSON object: RFC 8707 resource ('' for the default audience) -> scopes consented to there (migration 0015). */
  resources: string;
  granted_at: number;
}

export interface AuthCodesTable {
  code_hash: string;
  grant_id: string;
  client_id: string;
  user_id: string;
  redirect_uri: string;
  scope: string;
  nonce: string | null;
  code_challenge: string;
  resource: string | null;
  sid: string;
  auth_time: number;
  amr: string;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
  dpop_jkt: string | null;
  authorization_details: string | null;
  claims: string | null;
  /** When the code was presented again after its redemption (migration 0031), or null. */
  replayed_at: number | null;
}

export interface GrantsTable {
  id: string;
  client_id: string;
  user_id: string;
  scope: string;
  resource: string | null;
  sid: string | null;
  auth_time: number | null;
  amr: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  dpop_jkt: string | null;
  authorization_details: string | null;
  claims: string | null;
  cert_thumbprint: string | null;
}

export interface RefreshTokensTable {
  token_hash: string;
  grant_id: string;
  client_id: string;
  scope: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

/** Migration 0018: a rotated-out refresh token's successor response, sealed, for the reuse grace window. */
export interface RefreshGraceTable {
  token_hash: string;
  grant_id: string;
  successor_hash: string;
  binding: string;
  response: string;
  created_at: number;
  expires_at: number;
}

/** Migration 0020: an operator's block of a Client ID Metadata Document URL. */
/** Settings changed at run time (migration 0029): the branding, its logo. */
export interface SettingsTable {
  name: string;
  /** JSON text. */
  value: string;
  updated_at: number;
}

export interface ClientBlocksTable {
  client_id: string;
  blocked_at: number;
}

export interface AccessTokensTable {
  jti: string;
  grant_id: string;
  expires_at: number;
}

export interface RevokedTokensTable {
  jti: string;
  expires_at: number;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  state: string;
  public_jwk: string;
  private_jwe: string;
  created_at: number;
  retired_at: number | null;
  activates_at: number | null;
}

export interface CountersTable {
  key: string;
  count: number;
  last_at: number;
  expires_at: number;
}

export interface AuditEventsTable {
  seq: number;
  /** Epoch milliseconds. */
  at: number;
  type: string;
  actor: string | null;
  client_id: string | null;
  ip: string | null;
  outcome: string;
  details: string;
  prev_hash: string;
  hash: string;
}

export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}

export interface ReplayEntriesTable {
  key: string;
  expires_at: number;
}

export interface PushedRequestsTable {
  uri_hash: string;
  client_id: string;
  params: string;
  created_at: number;
  expires_at: number;
}

export interface DeviceCodesTable {
  device_code_hash: string;
  user_code_hash: string;
  client_id: string;
  scope: string;
  resource: string | null;
  status: string;
  poll_interval: number;
  last_polled_at: number | null;
  slowed: number;
  approval: string | null;
  created_at: number;
  expires_at: number;
}

export interface InitialAccessTokensTable {
  id: string;
  token_hash: string;
  uses_left: number | null;
  created_at: number;
  expires_at: number;
}

export interface Schema {
  clients: ClientsTable;
  client_blocks: ClientBlocksTable;
  settings: SettingsTable;
  users: UsersTable;
  user_factors: UserFactorsTable;
  recovery_codes: RecoveryCodesTable;
  pending_sign_ins: PendingSignInsTable;
  remembered_devices: RememberedDevicesTable;
  sessions: SessionsTable;
  known_devices: KnownDevicesTable;
  user_tombstones: UserTombstonesTable;
  interactions: InteractionsTable;
  consents: ConsentsTable;
  auth_codes: AuthCodesTable;
  grants: GrantsTable;
  refresh_tokens: RefreshTokensTable;
  refresh_grace: RefreshGraceTable;
  access_tokens: AccessTokensTable;
  revoked_tokens: RevokedTokensTable;
  signing_keys: SigningKeysTable;
  counters: CountersTable;
  audit_events: AuditEventsTable;
  audit_head: AuditHeadTable;
  replay_entries: ReplayEntriesTable;
  pushed_requests: PushedRequestsTable;
  device_codes: DeviceCodesTable;
  initial_access_tokens: InitialAccessTokensTable;
  resource_servers: ResourceServersTable;
  session_clients: SessionClientsTable;
  exclusive_locks: ExclusiveLocksTable;
  mail_outbox: MailOutboxTable;
  account_tokens: AccountTokensTable;
  upstreams: UpstreamsTable;
  upstream_identities: UpstreamIdentitiesTable;
  upstream_states: UpstreamStatesTable;
  admin_roles: AdminRolesTable;
  stats_minutes: StatsMinutesTable;
  directory_groups: DirectoryGroupsTable;
  directory_members: DirectoryMembersTable;
  directory_app_roles: DirectoryAppRolesTable;
  directory_attributes: DirectoryAttributesTable;
  claim_mappings: ClaimMappingsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
}

/** A lease on a named lock shared by the processes of one SQLite database (Stores.exclusive). */
export interface ExclusiveLocksTable {
  name: string;
  holder: string;
  expires_at: number;
}

export interface SessionClientsTable {
  sid: string;
  client_id: string;
  user_id: string;
  created_at: number;
  expires_at: number;
}

export interface ResourceServersTable {
  identifier: string;
  display_name: string;
  /** JSON: [{ name, description }] */
  scopes: string;
  access_token_ttl: number | null;
  signing_alg: string | null;
  dpop: string;
  created_at: number;
  updated_at: number;
}

/** Mail to be delivered, being retried, or done (migration 0024); recipient and vars are NULL once done. */
export interface MailOutboxTable {
  id: string;
  status: string;
  recipient: string | null;
  template: string;
  /** JSON object. */
  vars: string | null;
  user_id: string | null;
  attempts: number;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_until: number | null;
  last_error: string | null;
  created_at: number;
  done_at: number | null;
}

/** Email verification and password reset tokens, by SHA-256, single use (migration 0024). */
export interface AccountTokensTable {
  token_hash: string;
  user_id: string;
  purpose: string;
  address: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

/** Configured upstream identity providers (migration 0025): the whole record as JSON. */
export interface UpstreamsTable {
  id: string;
  sort_order: number;
  record: string;
  created_at: number;
  updated_at: number;
}

/** Upstream identities linked to users (migration 0025). */
export interface UpstreamIdentitiesTable {
  provider_id: string;
  issuer: string;
  subject: string;
  user_id: string;
  email: string | null;
  created_at: number;
  last_used_at: number;
}

/** Redirects to upstreams in flight (migration 0025), by the SHA-256 of their state. */
export interface UpstreamStatesTable {
  state_hash: string;
  provider_id: string;
  binding_hash: string;
  purpose: string;
  interaction_uid: string | null;
  user_id: string | null;
  return_to: string | null;
  code_verifier: string;
  nonce: string;
  max_age: number | null;
  created_at: number;
  expires_at: number;
}

/** The admin role of a user (migration 0026): at most one each, removed with the user. */
export interface AdminRolesTable {
  user_id: string;
  role: string;
  granted_at: number;
  /** A user id, a client id, 'admin' (the break-glass token) or 'cli'. */
  granted_by: string;
}

/** A per-minute figure (migration 0026), summed over every instance that added to it. */
export interface StatsMinutesTable {
  /** Epoch seconds of the minute's start. */
  minute: number;
  name: string;
  value: number;
}

/** Groups of users (migration 0027); `name_key` is the lower-cased name, unique. */
export interface DirectoryGroupsTable {
  id: string;
  name: string;
  name_key: string;
  description: string | null;
  created_at: number;
  updated_at: number;
}

/** Group memberships (migration 0027). */
export interface DirectoryMembersTable {
  group_id: string;
  user_id: string;
  added_at: number;
}

/** Roles users hold per application (migration 0027): app_type `client` or `resource`. */
export interface DirectoryAppRolesTable {
  user_id: string;
  app_type: string;
  application: string;
  role: string;
  granted_at: number;
}

/** Typed user attributes (migration 0027): the value as JSON text. */
export interface DirectoryAttributesTable {
  user_id: string;
  name: string;
  type: string;
  value: string;
  updated_at: number;
}

/** Claim mappings per application (migration 0027): targets as a JSON array. */
export interface ClaimMappingsTable {
  id: string;
  app_type: string;
  application: string;
  claim: string;
  source: string;
  attribute: string | null;
  type: string;
  scope: string;
  targets: string;
  created_at: number;
  updated_at: number;
}

/** Webhook endpoints (migration 0028): `events` a JSON array, `enabled` 0/1, the cursor and its lease. */
export interface WebhookEndpointsTable {
  id: string;
  url: string;
  description: string;
  events: string;
  enabled: number;
  secret_wrapped: string;
  created_at: number;
  updated_at: number;
  last_seq: number;
  lease_owner: string | null;
  lease_until: number | null;
}

/** Webhook deliveries (migration 0028): one per audit record and endpoint, or a test ping (seq NULL). */
export interface WebhookDeliveriesTable {
  id: string;
  endpoint_id: string;
  seq: number | null;
  type: string;
  payload: string;
  status: string;
  attempts: number;
  round_attempts: number;
  next_at: number;
  lease_owner: string | null;
  lease_until: number | null;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  done_at: number | null;
}

/** Every attempt at a webhook delivery (migration 0028). */
export interface WebhookAttemptsTable {
  delivery_id: string;
  attempt: number;
  at: number;
  status: number | null;
  error: string | null;
  duration_ms: number;
  response: string | null;
}
