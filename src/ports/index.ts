import type { AccountTokenStore } from './account-tokens.ts';
import type { AdminRoleStore, StatsStore } from './admin.ts';
import type { AuditStore } from './audit.ts';
import type { BrandingStore } from './branding.ts';
import type { ClientBlockStore } from './client-blocks.ts';
import type { ClientStore } from './clients.ts';
import type { CodeStore } from './codes.ts';
import type { CounterStore } from './counters.ts';
import type { DeviceCodeStore } from './device-codes.ts';
import type { DirectoryStore } from './directory.ts';
import type { FactorStore } from './factors.ts';
import type { ConsentStore } from './consents.ts';
import type { GrantStore, RevocationStore } from './grants.ts';
import type { InteractionStore } from './interactions.ts';
import type { KeyStore } from './keys.ts';
import type { MailOutboxStore } from './mail.ts';
import type { PushedRequestStore } from './pushed-requests.ts';
import type { InitialAccessTokenStore } from './registration-tokens.ts';
import type { ReplayStore } from './replay.ts';
import type { ResourceServerStore } from './resource-servers.ts';
import type { SessionStore } from './sessions.ts';
import type { SignInStore } from './sign-ins.ts';
import type { UpstreamIdentityStore, UpstreamStateStore, UpstreamStore } from './upstreams.ts';
import type { UserStore } from './users.ts';
import type { WebhookStore } from './webhooks.ts';

/** Every storage port the server needs; one backend provides them all. */
export interface Stores {
  clients: ClientStore;
  /** Operators' blocks of Client ID Metadata Document URLs (never stored as clients). */
  clientBlocks: ClientBlockStore;
  users: UserStore;
  /** Second factors (TOTP, passkeys) and recovery codes. */
  factors: FactorStore;
  sessions: SessionStore;
  /** Sign-ins waiting for a second factor, and remembered devices. */
  signIns: SignInStore;
  interactions: InteractionStore;
  consents: ConsentStore;
  codes: CodeStore;
  deviceCodes: DeviceCodeStore;
  grants: GrantStore;
  revocations: RevocationStore;
  keys: KeyStore;
  counters: CounterStore;
  replay: ReplayStore;
  pushedRequests: PushedRequestStore;
  initialAccessTokens: InitialAccessTokenStore;
  /** The registry of resource servers (RFC 8707 resources with their token policy). */
  resourceServers: ResourceServerStore;
  audit: AuditStore;
  /** Mail waiting to be delivered (ports/mail.ts). */
  mailOutbox: MailOutboxStore;
  /** Email verification and password reset tokens. */
  accountTokens: AccountTokenStore;
  /** Upstream identity providers (issue 17), the identities linked through them, and redirects in flight. */
  upstreams: UpstreamStore;
  upstreamIdentities: UpstreamIdentityStore;
  upstreamStates: UpstreamStateStore;
  /** Tessera's operators: the admin role of each user who has one (issue 20). */
  adminRoles: AdminRoleStore;
  /** Per-minute figures every instance adds to, for the console's dashboard. */
  stats: StatsStore;
  /** Groups, application roles, user attributes and claim mappings (issue 20). */
  directory: DirectoryStore;
  /** Webhook endpoints, their cursors over the audit trail, and the delivery log (issue 18). */
  webhooks: WebhookStore;
  /** The deployment's branding (issue 18): name, colours, footer links, logo. */
  branding: BrandingStore;
  /**
   * Runs `fn` in one database transaction, over stores bound to it: everything `fn` writes through
   * them (and the audit record an admin action appends) commits together or not at all. `fn` must
   * not use any other stores meanwhile (SQLite: the transaction holds the one writer, so awaiting
   * the outer stores inside would wait for ever; calling the outer `transaction` inside throws), nor
   * wait on the network. Inside, `transaction` runs `fn` inline within a savepoint (its throw undoes
   * its own writes only), as does each store's own transaction (a store that refuses by throwing
   * leaves the rest as it was); `cleanup`, `exclusive` and `close` throw. Nothing is retried: `fn`
   * runs once.
   */
  transaction<T>(fn: (tx: Stores) => Promise<T>): Promise<T>;
  /**
   * Deletes expired rows; returns how many. `auditRetention` (seconds, TESSERA_AUDIT_RETENTION_DAYS)
   * bounds what the webhook queue keeps of the audit trail: a done delivery goes after the shorter
   * of it and 30 days, a pending one once it is older than it.
   */
  cleanup(now: number, options?: { auditRetention?: number }): Promise<number>;
  /** Cheap liveness probe of the database. */
  ping(): Promise<void>;
  /**
   * Runs `fn` while holding a lock that every process using this database shares (PostgreSQL: an
   * advisory lock; SQLite: a lease row in exclusive_locks, renewed while `fn` runs and taken over
   * 30 s after a holder dies), so that instances starting together prepare the
   * database (bootstrap file, demo seed) one after the other.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export type * from './account-tokens.ts';
export type * from './admin.ts';
export type * from './audit.ts';
export type * from './client-blocks.ts';
export type * from './clients.ts';
export type * from './codes.ts';
export type * from './counters.ts';
export type * from './device-codes.ts';
export type * from './directory.ts';
export type * from './factors.ts';
export type * from './consents.ts';
export type * from './grants.ts';
export type * from './interactions.ts';
export type * from './keys.ts';
export type * from './mail.ts';
export type * from './pushed-requests.ts';
export type * from './registration-tokens.ts';
export type * from './replay.ts';
export type * from './resource-servers.ts';
export type * from './sessions.ts';
export type * from './sign-ins.ts';
export type * from './upstreams.ts';
export type * from './users.ts';
export type * from './webhooks.ts';
export { ADMIN_ROLES } from './admin.ts';
export { applicationKey, roleKey } from './directory.ts';
export { BackendUnavailableError, StorageUnavailableError } from './unavailable.ts';
