import { AsyncLocalStorage } from 'node:async_hooks';
import { sql, type Kysely } from 'kysely';
import type { Stores, UsernameKeys } from '../../ports/index.ts';
import { createSqlAccountTokenStore } from './account-tokens-store.ts';
import { createSqlAdminRoleStore, createSqlStatsStore } from './admin-store.ts';
import { createSqlAuditStore } from './audit-store.ts';
import { createSqlClientBlockStore } from './client-blocks-store.ts';
import { createSqlBrandingStore } from './branding-store.ts';
import { createSqlClientStore } from './clients-store.ts';
import { createSqlCodeStore } from './codes-store.ts';
import { createSqlConsentStore } from './consents-store.ts';
import { createSqlCounterStore } from './counters-store.ts';
import type { DatabaseHandle } from './database.ts';
import { createSqlDirectoryStore } from './directory-store.ts';
import { createSqlDeviceCodeStore } from './device-codes-store.ts';
import { createSqlFactorStore } from './factors-store.ts';
import { createSqlSignInStore } from './sign-ins-store.ts';
import {
  createSqlUpstreamIdentityStore,
  createSqlUpstreamStateStore,
  createSqlUpstreamStore,
} from './upstreams-store.ts';
import { createSqlExclusive } from './exclusive-lock.ts';
import { createSqlGrantStore } from './grants-store.ts';
import { createSqlInteractionStore } from './interactions-store.ts';
import { createSqlKeyStore } from './keys-store.ts';
import { createSqlMailOutboxStore } from './mail-outbox-store.ts';
import { createSqlWebhookStore } from './webhooks-store.ts';
import { createSqlPushedRequestStore } from './pushed-requests-store.ts';
import { createSqlInitialAccessTokenStore } from './registration-tokens-store.ts';
import { createSqlReplayStore } from './replay-store.ts';
import { createSqlResourceServerStore } from './resource-servers-store.ts';
import { createSqlRevocationStore } from './revocations-store.ts';
import { createSqlSessionStore } from './sessions-store.ts';
import type { Schema } from './schema.ts';
import { count, sqlContext, transactionContext, type SqlContext } from './statements.ts';
import { createSqlUserStore } from './users-store.ts';

/** How long the per-minute figures (stats_minutes) are kept: 8 days, in seconds. */
export const STATS_RETENTION = 8 * 86400;

/** The stores of every port over one context (the root one, or a transaction's). */
type PortStores = Omit<Stores, 'transaction' | 'cleanup' | 'ping' | 'exclusive' | 'close'>;

function portStores(ctx: SqlContext, usernames: UsernameKeys): PortStores {
  return {
    clients: createSqlClientStore(ctx),
    clientBlocks: createSqlClientBlockStore(ctx),
    users: createSqlUserStore(ctx, usernames),
    factors: createSqlFactorStore(ctx),
    signIns: createSqlSignInStore(ctx),
    sessions: createSqlSessionStore(ctx),
    interactions: createSqlInteractionStore(ctx),
    consents: createSqlConsentStore(ctx),
    codes: createSqlCodeStore(ctx),
    deviceCodes: createSqlDeviceCodeStore(ctx),
    grants: createSqlGrantStore(ctx),
    revocations: createSqlRevocationStore(ctx),
    keys: createSqlKeyStore(ctx),
    counters: createSqlCounterStore(ctx),
    audit: createSqlAuditStore(ctx),
    replay: createSqlReplayStore(ctx),
    initialAccessTokens: createSqlInitialAccessTokenStore(ctx),
    resourceServers: createSqlResourceServerStore(ctx),
    pushedRequests: createSqlPushedRequestStore(ctx),
    mailOutbox: createSqlMailOutboxStore(ctx),
    accountTokens: createSqlAccountTokenStore(ctx),
    upstreams: createSqlUpstreamStore(ctx),
    upstreamIdentities: createSqlUpstreamIdentityStore(ctx),
    upstreamStates: createSqlUpstreamStateStore(ctx),
    directory: createSqlDirectoryStore(ctx),
    adminRoles: createSqlAdminRoleStore(ctx),
    stats: createSqlStatsStore(ctx),
    webhooks: createSqlWebhookStore(ctx),
    branding: createSqlBrandingStore(ctx),
  };
}

/** How long the webhook delivery log keeps a delivery once it is done, seconds (docs/webhooks.md). */
const WEBHOOK_LOG_RETENTION = 30 * 86_400;

/** The transaction of Stores.transaction that the code running now is in, if any (found with AsyncLocalStorage). */
const running = new AsyncLocalStorage<{ db: Kysely<Schema>; open: boolean }>();

/**
 * Every storage port over one SQL database (SQLite or PostgreSQL, already migrated): one store per
 * port (<port>-store.ts) over one shared context (statements.ts). `usernames` defines the keys that
 * the user store compares usernames by (accounts/usernames.ts: `usernameKeys`).
 */
export function createSqlStores(handle: DatabaseHandle, usernames: UsernameKeys): Stores {
  const ctx = sqlContext(handle);
  const { db } = ctx;
  const ports = portStores(ctx, usernames);
  return {
    ...ports,

    /**
     * One Kysely transaction (SQLite: BEGIN IMMEDIATE, holding the process's one connection;
     * PostgreSQL: one pooled connection) over stores built anew over it (boundStores). Calling it
     * again on these stores from inside `fn` would wait for itself on SQLite: refused instead.
     */
    async transaction(fn) {
      const outer = running.getStore();
      if (outer?.db === db && outer.open)
        throw new Error(
          'Stores.transaction called on the outer stores inside a transaction: use the stores the transaction gave',
        );
      const state = { db, open: true };
      try {
        return await db
          .transaction()
          .execute((t) => running.run(state, () => fn(boundStores(transactionContext(ctx, t), usernames))));
      } finally {
        state.open = false;
      }
    },

    /** Each delete is its own statement (no transaction), so cleanup never holds locks across tables. */
    async cleanup(now, options = {}) {
      const expiredGrants = db.selectFrom('grants').select('id').where('expires_at', '<=', now);
      const results = [
        await db.deleteFrom('auth_codes').where('expires_at', '<=', now).executeTakeFirst(),
        await db.deleteFrom('interactions').where('expires_at', '<=', now).executeTakeFirst(),
        await db.deleteFrom('sessions').where('expires_at', '<=', now).executeTakeFirst(),
        await db
          .deleteFrom('refresh_tokens')
          .where((eb) => eb.or([eb('expires_at', '<=', now), eb('grant_id', 'in', expiredGrants)]))
          .executeTakeFirst(),
        await db
          .deleteFrom('access_tokens')
          .where((eb) => eb.or([eb('expires_at', '<=', now), eb('grant_id', 'in', expiredGrants)]))
          .executeTakeFirst(),
        await db.deleteFrom('grants').where('expires_at', '<=', now).executeTakeFirst(),
        await db.deleteFrom('revoked_tokens').where('expires_at', '<=', now).executeTakeFirst(),
        await db.deleteFrom('counters').where('expires_at', '<=', now).executeTakeFirst(),
        await db.deleteFrom('replay_entries').where('expires_at', '<=', now).executeTakeFirst(),
        await db.deleteFrom('pushed_requests').where('expires_at', '<=', now).executeTakeFirst(),
        await db.deleteFrom('device_codes').where('expires_at', '<=', now).executeTakeFirst(),
        await db.deleteFrom('initial_access_tokens').where('expires_at', '<=', now).executeTakeFirst(),
        await db.deleteFrom('session_clients').where('expires_at', '<=', now).executeTakeFirst(),
        await db.deleteFrom('refresh_grace').where('expires_at', '<=', now).executeTakeFirst(),
        await db.deleteFrom('pending_sign_ins').where('expires_at', '<=', now).executeTakeFirst(),
        await db.deleteFrom('remembered_devices').where('expires_at', '<=', now).executeTakeFirst(),
        // Mail delivered or given up a week ago (only its template and times were left), and spent links.
        await db
          .deleteFrom('mail_outbox')
          .where('status', '!=', 'pending')
          .where('done_at', '<=', now - 7 * 86400)
          .executeTakeFirst(),
        await db.deleteFrom('account_tokens').where('expires_at', '<=', now).executeTakeFirst(),
        await db.deleteFrom('upstream_states').where('expires_at', '<=', now).executeTakeFirst(),
        // The dashboard's per-minute figures, kept 8 days.
        await db
          .deleteFrom('stats_minutes')
          .where('minute', '<', now - STATS_RETENTION)
          .executeTakeFirst(),
      ];
      // The webhook delivery log: deliveries done (delivered or given up) 30 days ago, or earlier
      // when the audit trail keeps less, with their attempts; and deliveries still pending once
      // their audit record is past the trail's retention (a disabled endpoint's queue, say).
      const audit = options.auditRetention;
      let webhookLog = await ports.webhooks.deleteDoneBefore(
        now - Math.min(WEBHOOK_LOG_RETENTION, audit ?? WEBHOOK_LOG_RETENTION),
      );
      if (audit !== undefined) webhookLog += await ports.webhooks.deletePendingBefore(now - audit);
      return results.reduce((sum, r) => sum + count(r), webhookLog);
    },

    /** During a fault episode (the database refused a write) a read proves nothing: a write is tried instead. */
    async ping() {
      if (handle.fault()) await handle.probeWrite();
      else await sql`select 1`.execute(db);
    },

    exclusive: createSqlExclusive(ctx),
    close: () => handle.close(),
  };
}

/**
 * The stores of a transaction under way: every port's store over its context (statements.ts
 * transactionContext); a nested transaction runs inline within a savepoint (a throw undoes its
 * writes only); what is not for a transaction refuses.
 */
function boundStores(ctx: SqlContext, usernames: UsernameKeys): Stores {
  const refuse = (what: string) => async (): Promise<never> => {
    throw new Error(`Stores.${what} cannot run inside a transaction`);
  };
  const stores: Stores = {
    ...portStores(ctx, usernames),
    transaction: (fn) => ctx.tx(() => fn(stores)),
    cleanup: refuse('cleanup'),
    async ping() {
      await sql`select 1`.execute(ctx.db);
    },
    exclusive: refuse('exclusive'),
    close: refuse('close'),
  };
  return stores;
}
