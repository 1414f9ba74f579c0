/**
 * Contract tests for the storage ports, run against every SQL backend (backends.ts): in-memory
 * SQLite, a SQLite file (WAL) and PostgreSQL (skipped with a reason when unreachable, unless CI
 * requires it). Each port's tests are in <port>-contract.ts; this file runs them all on one
 * database per backend, with the tests of the Stores bundle as a whole: the database and its
 * migrations, ping, exclusive, cleanup across every table, and persistence.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { usernameKeys } from '../../src/accounts/usernames.ts';
import { openDatabase } from '../../src/adapters/sql/database.ts';
import { migrate } from '../../src/adapters/sql/migrations/index.ts';
import { createSqlStores } from '../../src/adapters/sql/stores.ts';
import type { Stores } from '../../src/ports/index.ts';
import { StorageUnavailableError } from '../../src/ports/unavailable.ts';
import { freePort } from '../fixtures/server.ts';
import { forEachBackend } from './backends.ts';
import { auditContract } from './audit-contract.ts';
import { clientBlocksContract } from './client-blocks-contract.ts';
import { clientsContract } from './clients-contract.ts';
import { codesContract } from './codes-contract.ts';
import { consentsContract } from './consents-contract.ts';
import { countersContract } from './counters-contract.ts';
import { grantsContract } from './grants-contract.ts';
import { interactionsContract } from './interactions-contract.ts';
import { keysContract } from './keys-contract.ts';
import { pushedRequestsContract } from './pushed-requests-contract.ts';
import { sessionsContract } from './sessions-contract.ts';
import { signInsContract } from './sign-ins-contract.ts';
import { accountAreaContract } from './account-area-contract.ts';
import { usersContract } from './users-contract.ts';
import { replayContract } from './replay-contract.ts';
import { deviceCodesContract } from './device-codes-contract.ts';
import { initialAccessTokensContract } from './initial-access-tokens-contract.ts';
import { resourceServersContract } from './resource-servers-contract.ts';
import { factorsContract } from './factors-contract.ts';
import { mailOutboxContract } from './mail-outbox-contract.ts';
import { accountTokensContract } from './account-tokens-contract.ts';
import { upstreamsContract } from './upstreams-contract.ts';
import { adminContract } from './admin-contract.ts';
import { adminListsContract } from './admin-lists-contract.ts';
import { directoryContract } from './directory-contract.ts';
import { webhooksContract } from './webhooks-contract.ts';
import { brandingContract } from './branding-contract.ts';
import {
  NOW,
  uid,
  client,
  session,
  interaction,
  code,
  grant,
  refreshFor,
  access,
  key,
  seedGrant,
  accepted,
} from './factories.ts';

forEachBackend('SQL stores', (stores, backend) => {
  describe('database and migrations', () => {
    it('applies every migration once, then nothing', async () => {
      assert.deepEqual(backend.applied, [
        '0001_initial',
        '0002_counters',
        '0003_audit',
        '0004_client_metadata_replay',
        '0005_key_schedule',
        '0006_par_dpop',
        '0007_device_codes',
        '0008_registration_tokens',
        '0009_session_clients',
        '0010_authorization_details',
        '0011_claims_request',
        '0012_grant_certificate',
        '0013_replay_epoch',
        '0014_username_canonical',
        '0015_consent_resources',
        '0016_signing_algs',
        '0017_resource_servers',
        '0018_refresh_grace',
        '0019_client_first_use',
        '0020_client_blocks',
        '0021_factors',
        '0022_sign_ins',
        '0023_account_area',
        '0024_mail',
        '0025_upstreams',
        '0026_admin',
        '0027_directory',
        '0028_webhooks',
        '0029_branding',
        '0030_user_locale',
        '0031_code_replayed',
      ]);
      assert.deepEqual(await migrate(backend.handle.db, usernameKeys), []);
    });
    it('ping() answers', async () => {
      await stores.ping();
    });
    if (backend.url.startsWith('sqlite:') && backend.persistent) {
      it('opens SQLite files in WAL mode with foreign keys, a busy timeout, temporary tables in memory and a 32 MiB page cache', async () => {
        const pragma = async (name: string) =>
          Object.values(
            (await sql.raw<Record<string, unknown>>(`pragma ${name}`).execute(backend.handle.db)).rows[0]!,
          )[0];
        assert.equal(await pragma('journal_mode'), 'wal');
        assert.equal(await pragma('foreign_keys'), 1);
        assert.equal(await pragma('busy_timeout'), 5000);
        assert.equal(await pragma('temp_store'), 2);
        assert.equal(await pragma('cache_size'), -32768);
      });
    }
    it('rejects unknown URL schemes', async () => {
      await assert.rejects(openDatabase('mysql://localhost/x'), /sqlite: or postgres/);
    });
    it('exclusive() runs callers one at a time (on PostgreSQL and a SQLite file across separate connections, as separate processes have), and after a failure', async () => {
      const other = backend.persistent ? createSqlStores(await openDatabase(backend.url), usernameKeys) : stores;
      try {
        let inside = 0;
        let most = 0;
        const order: number[] = [];
        const work = (s: Stores, i: number) =>
          s.exclusive(async () => {
            inside++;
            most = Math.max(most, inside);
            await new Promise((r) => setTimeout(r, 20));
            inside--;
            order.push(i);
            if (i === 0) throw new Error('first caller fails');
            return i;
          });
        const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => work(i % 2 ? other : stores, i)));
        assert.equal(most, 1, 'never two callers inside at once');
        assert.equal(order.length, 6);
        assert.equal(results[0]!.status, 'rejected');
        assert.deepEqual(
          results.slice(1).map((r) => (r as PromiseFulfilledResult<number>).value),
          [1, 2, 3, 4, 5],
        );
      } finally {
        if (other !== stores) await other.close();
      }
    });
    if (backend.url.startsWith('postgres')) {
      it('maps a refused connection to StorageUnavailableError, and other errors not', async () => {
        const url = new URL(backend.url);
        url.port = String(await freePort());
        const closed = await openDatabase(url.href);
        try {
          await assert.rejects(
            createSqlStores(closed, usernameKeys).ping(),
            (err: Error) => err instanceof StorageUnavailableError,
          );
        } finally {
          await closed.close();
        }
        await assert.rejects(
          sql`select * from no_such_table`.execute(backend.handle.db),
          (err: Error) => !(err instanceof StorageUnavailableError),
        );
      });
    }
  });

  clientsContract(stores);
  usersContract(stores);
  sessionsContract(stores);
  accountAreaContract(stores);
  interactionsContract(stores);
  signInsContract(stores);
  consentsContract(stores);
  codesContract(stores);
  pushedRequestsContract(stores);

  describe('device codes', () => {
    deviceCodesContract(() => stores.deviceCodes, NOW);
  });

  describe('initial access tokens', () => {
    initialAccessTokensContract(() => stores.initialAccessTokens, NOW);
  });

  describe('resource servers', () => {
    resourceServersContract(() => stores.resourceServers, NOW);
  });

  describe('client blocks', () => {
    clientBlocksContract(() => stores.clientBlocks, NOW);
  });

  grantsContract(stores);
  keysContract(stores);
  factorsContract(stores);
  upstreamsContract(stores);
  adminContract(stores);
  adminListsContract(stores);
  directoryContract(stores);
  describe('branding', () => {
    brandingContract(() => stores, NOW);
  });

  describe('cleanup', () => {
    it('deletes expired rows of every kind and keeps live ones', async () => {
      const T = NOW + 1_000_000; // after everything the other tests stored
      await stores.cleanup(T - 500); // clear what the other tests left, so the count below is exact
      const [dead, live] = [T - 1, T + 1000];
      const codes = [code({ expiresAt: dead }), code({ expiresAt: live })];
      const interactions = [interaction({ expiresAt: dead }), interaction({ expiresAt: live })];
      const sessions = [session({ expiresAt: dead }), session({ expiresAt: live })];
      for (const c of codes) await stores.codes.create(c);
      for (const i of interactions) await stores.interactions.create(i);
      for (const s of sessions) await stores.sessions.create(s);
      // expired grant: it goes with its (still unexpired) refresh and access tokens: 3 rows
      const deadGrant = grant({ expiresAt: dead });
      await stores.grants.create(deadGrant, refreshFor(deadGrant, { expiresAt: live }), access({ expiresAt: live }));
      // live grant whose first refresh and access tokens have expired (rotated to live ones): 2 rows
      const liveGrant = grant({ expiresAt: live });
      const [oldRt, oldAt] = [refreshFor(liveGrant, { expiresAt: dead }), access({ expiresAt: dead })];
      const [newRt, newAt] = [refreshFor(liveGrant, { expiresAt: live }), access({ expiresAt: live })];
      await stores.grants.create(liveGrant, oldRt, oldAt);
      const rotated = await stores.grants.rotate(oldRt.tokenHash, T - 2, accepted, () => ({
        refresh: newRt,
        access: newAt,
      }));
      assert.equal(rotated.status, 'rotated');
      // revocation list: one expired entry, one live
      const [deadJti, liveJti] = [uid('jti'), uid('jti')];
      await stores.revocations.revokeAccessToken(deadJti, dead);
      await stores.revocations.revokeAccessToken(liveJti, live);
      // device codes: one expired, one live
      const device = (expiresAt: number) => ({
        deviceCodeHash: uid('dc'),
        userCodeHash: uid('uc'),
        clientId: 'tv',
        scope: 'openid',
        resource: null,
        status: 'pending' as const,
        interval: 5,
        lastPolledAt: null,
        approval: null,
        createdAt: T - 600,
        expiresAt,
      });
      const [deadDevice, liveDevice] = [device(dead), device(live)];
      await stores.deviceCodes.create(deadDevice, T - 600);
      await stores.deviceCodes.create(liveDevice, T - 600);
      // session clients: one expired, one live
      const scUser = uid('user');
      await stores.sessions.addClient({
        sid: uid('sid'),
        clientId: 'rp',
        userId: scUser,
        createdAt: T - 600,
        expiresAt: dead,
      });
      await stores.sessions.addClient({
        sid: uid('sid'),
        clientId: 'rp',
        userId: scUser,
        createdAt: T - 600,
        expiresAt: live,
      });

      // The webhook delivery log keeps a done delivery (with its attempts) 30 days.
      for (const [n, doneAt] of [
        ['dead', T - 30 * 86_400 - 1],
        ['live', T - 30 * 86_400 + 1],
      ] as const) {
        const id = `msg_cleanup_${n}_${uid('d')}`;
        await stores.webhooks.addAttempted(
          {
            id,
            endpointId: 'wh_cleanup',
            seq: null,
            type: 'tessera.ping',
            payload: '{}',
            status: 'delivered',
            attempts: 1,
            nextAt: doneAt,
            createdAt: doneAt,
            doneAt,
            lastStatus: 204,
            lastError: null,
          },
          { deliveryId: id, attempt: 1, at: doneAt, status: 204, error: null, durationMs: 1, response: null },
        );
      }

      assert.equal(await stores.cleanup(T), 1 + 1 + 1 + 3 + 2 + 1 + 1 + 1 + 1);
      assert.deepEqual(
        (await stores.webhooks.deliveries({ endpointId: 'wh_cleanup', limit: 10 })).items.map(
          (d) => d.id.split('_')[2],
        ),
        ['live'],
      );
      assert.equal((await stores.sessions.takeClientsByUser(scUser)).length, 1);
      assert.equal(await stores.deviceCodes.get(deadDevice.deviceCodeHash), undefined);
      assert.deepEqual(await stores.deviceCodes.get(liveDevice.deviceCodeHash), liveDevice);
      assert.deepEqual(await stores.codes.consume(codes[0]!.codeHash, T), { status: 'missing' });
      assert.equal((await stores.codes.consume(codes[1]!.codeHash, T)).status, 'ok');
      assert.equal(await stores.interactions.get(interactions[0]!.uid), undefined);
      assert.deepEqual(await stores.interactions.get(interactions[1]!.uid), interactions[1]);
      assert.equal(await stores.sessions.get(sessions[0]!.idHash), undefined);
      assert.deepEqual(await stores.sessions.get(sessions[1]!.idHash), sessions[1]);
      assert.equal(await stores.grants.get(deadGrant.id), undefined);
      assert.deepEqual(await stores.grants.get(liveGrant.id), liveGrant);
      assert.equal(await stores.grants.getRefresh(oldRt.tokenHash), undefined);
      assert.deepEqual(await stores.grants.getRefresh(newRt.tokenHash), { refresh: newRt, grant: liveGrant });
      assert.equal(await stores.revocations.isAccessTokenRevoked(deadJti), false);
      assert.equal(await stores.revocations.isAccessTokenRevoked(liveJti), true);
      // the live access token is still remembered, so revoking the grant reaches it
      await stores.grants.revoke(liveGrant.id, T);
      assert.equal(await stores.revocations.isAccessTokenRevoked(newAt.jti), true);
      assert.equal(await stores.revocations.isAccessTokenRevoked(oldAt.jti), false); // expired, forgotten
      assert.equal(await stores.cleanup(T), 0);

      // With a shorter audit retention (10 days), the webhook queue keeps no more of the trail than
      // that: done deliveries go after 10 days (the 'live' one above too), pending ones queued
      // before then as well (a disabled endpoint's queue).
      const R = 10 * 86_400;
      for (const [n, status, at] of [
        ['doneold', 'delivered', T - R - 1],
        ['donenew', 'failed', T - R + 1],
        ['pendold', 'pending', T - R - 1],
        ['pendnew', 'pending', T - R + 1],
      ] as const) {
        const id = `msg_retain_${n}_${uid('d')}`;
        await stores.webhooks.addAttempted(
          {
            id,
            endpointId: 'wh_cleanup',
            seq: null,
            type: 'tessera.ping',
            payload: '{}',
            status,
            attempts: 1,
            nextAt: at,
            createdAt: at,
            doneAt: status === 'pending' ? null : at,
            lastStatus: 503,
            lastError: 'status',
          },
          { deliveryId: id, attempt: 1, at, status: 503, error: 'status', durationMs: 1, response: null },
        );
      }
      assert.equal(await stores.cleanup(T, { auditRetention: R }), 3);
      assert.deepEqual(
        (await stores.webhooks.deliveries({ endpointId: 'wh_cleanup', limit: 10 })).items
          .map((d) => d.id.split('_')[2])
          .sort(),
        ['donenew', 'pendnew'],
      );
      const kept = (await stores.webhooks.deliveries({ endpointId: 'wh_cleanup', limit: 10 })).items;
      for (const d of kept) assert.equal((await stores.webhooks.attempts(d.id)).length, 1);
    });
  });

  countersContract(stores);

  describe('replay cache', () => {
    replayContract(() => stores.replay, NOW);
    it('cleanup forgets expired keys', async () => {
      await stores.replay.claim('test:cleanup', NOW + 5, NOW);
      assert.ok((await stores.cleanup(NOW + 5)) >= 1);
      assert.equal(await stores.replay.claim('test:cleanup', NOW + 60, NOW), true);
    });
  });

  auditContract(stores, backend);
  // After the audit trail's tests, which start from an empty trail: these append to it.
  webhooksContract(stores);

  // After the cleanup tests, which count the rows of every table exactly.
  describe('mail outbox', () => {
    mailOutboxContract(() => stores.mailOutbox, NOW);
  });

  describe('account tokens', () => {
    accountTokensContract(() => stores);
  });

  if (backend.persistent) {
    describe('persistence', () => {
      it('data survives closing and reopening the database', async () => {
        const c = client();
        await stores.clients.put(c);
        const { g, rt } = await seedGrant(stores);
        const k = key({ state: 'retired' });
        await stores.keys.insert(k, false);
        assert.deepEqual(await backend.reopen(), []);
        assert.deepEqual(await stores.clients.get(c.clientId), c);
        assert.deepEqual(await stores.grants.getRefresh(rt.tokenHash), { refresh: rt, grant: g });
        assert.deepEqual(
          (await stores.keys.list()).find((x) => x.kid === k.kid),
          k,
        );
      });
    });
  }
});
