import { sql } from 'kysely';
import type { Stores, UsernameKeys } from '../../ports/index.ts';
import { createSqlAccountTokenStore } from './account-tokens-store.ts';
import { createSqlAuditStore } from './audit-store.ts';
import { createSqlClientBlockStore } from './client-blocks-store.ts';
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
import { createSqlPushedRequestStore } from './pushed-requests-store.ts';
import { createSqlInitialAccessTokenStore } from './registration-tokens-store.ts';
import { createSqlReplayStore } from './replay-store.ts';
import { createSqlResourceServerStore } from './resource-servers-store.ts';
import { createSqlRevocationStore } from './revocations-store.ts';
import { createSqlSessionStore } from './sessions-store.ts';
import { count, sqlContext } from './statements.ts';
import { createSqlUserStore } from './users-store.ts';

/**
 * Every storage port over one SQL database (SQLite or PostgreSQL, already migrated): one store per
 * port (<port>-store.ts) over one shared context (statements.ts). `usernames` defines the keys that
 * the user store compares usernames by (accounts/usernames.ts: `usernameKeys`).
 */
export function createSqlStores(handle: DatabaseHandle, usernames: UsernameKeys): Stores {
  const ctx = sqlContext(handle);
  const { db } = ctx;
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
    // TODO(issue 20 storage): the real stores and transaction.
    adminRoles: {
      get: () => Promise.resolve(undefined),
      set: () => Promise.reject(new Error('not built yet')),
      remove: () => Promise.resolve(false),
      list: () => Promise.resolve([]),
      count: () => Promise.resolve(0),
    },
    stats: {
      add: () => Promise.resolve(),
      range: () => Promise.resolve([]),
      deleteBefore: () => Promise.resolve(0),
    },
    transaction(fn) {
      return fn(this);
    },

    /** Each delete is its own statement (no transaction), so cleanup never holds locks across tables. */
    async cleanup(now) {
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
      ];
      return results.reduce((sum, r) => sum + count(r), 0);
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
