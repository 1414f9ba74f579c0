/**
 * Contract tests for taking a client or a user out of service (issue 13, point 3): revoking every
 * grant of a client or a user, and the holder entries of revoked_tokens that refuse their access
 * tokens. On in-memory SQLite, a SQLite file (WAL) and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase, type DatabaseHandle } from '../../src/adapters/sql/database.ts';
import { migrate } from '../../src/adapters/sql/migrations/index.ts';
import { createSqlStores } from '../../src/adapters/sql/stores.ts';
import { usernameKeys } from '../../src/accounts/usernames.ts';
import { HOLDER_CUTOFF_SPAN } from '../../src/ports/grants.ts';
import type { GrantRecord, Stores } from '../../src/ports/index.ts';
import { createPgDatabase, sqliteTempUrl } from '../fixtures/db.ts';

const NOW = Math.floor(Date.now() / 1000);
const uid = (prefix: string) => `${prefix}-${randomUUID()}`;

const sqliteFile = sqliteTempUrl();
const pgDb = await createPgDatabase();
const backends = [
  { name: 'sqlite (memory)', url: 'sqlite::memory:', drop: async () => {} },
  {
    name: 'sqlite (file, WAL)',
    url: sqliteFile,
    drop: async () => rmSync(dirname(sqliteFile.slice('sqlite:'.length)), { recursive: true, force: true }),
  },
  { name: 'postgresql', url: pgDb?.url, drop: async () => pgDb?.drop() },
];

for (const backend of backends) {
  describe(`disabling holders: ${backend.name}`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let handle: DatabaseHandle;
    let stores: Stores;
    before(async () => {
      handle = await openDatabase(backend.url!);
      await migrate(handle.db, usernameKeys);
      stores = createSqlStores(handle, usernameKeys);
    });
    after(async () => {
      await stores?.close();
      await backend.drop();
    });

    const seed = async (clientId: string, userId: string) => {
      const g: GrantRecord = {
        id: uid('grant'),
        clientId,
        userId,
        scope: 'openid offline_access',
        resource: null,
        sid: null,
        authTime: NOW,
        amr: ['pwd'],
        createdAt: NOW,
        expiresAt: NOW + 86400,
        revokedAt: null,
      };
      const rt = {
        tokenHash: uid('rt'),
        grantId: g.id,
        clientId,
        scope: g.scope,
        createdAt: NOW,
        expiresAt: NOW + 3600,
        usedAt: null,
      };
      const at = { jti: uid('jti'), expiresAt: NOW + 300 };
      await stores.grants.create(g, rt, at);
      return { g, rt, at };
    };

    it('revokeByClient and revokeByUser revoke every active grant of theirs, with its refresh and access tokens, and nothing else', async () => {
      const [a, b, other] = [uid('client'), uid('client'), uid('user')];
      const [u1, u2] = [uid('user'), uid('user')];
      const mine = [await seed(a, u1), await seed(a, u2)];
      const theirs = await seed(b, u1);
      const elsewhere = await seed(b, other);
      assert.equal(await stores.grants.revokeByClient(a, NOW), 2);
      assert.equal(await stores.grants.revokeByClient(a, NOW), 0, 'already revoked');
      for (const { g, rt, at } of mine) {
        assert.notEqual((await stores.grants.get(g.id))!.revokedAt, null);
        assert.notEqual((await stores.grants.getRefresh(rt.tokenHash))!.refresh.usedAt, null);
        assert.equal(await stores.revocations.isAccessTokenRevoked(at.jti), true);
      }
      assert.equal((await stores.grants.get(theirs.g.id))!.revokedAt, null);
      assert.equal(await stores.grants.revokeByUser(u1, NOW), 1);
      assert.notEqual((await stores.grants.get(theirs.g.id))!.revokedAt, null);
      assert.equal((await stores.grants.get(elsewhere.g.id))!.revokedAt, null);
      assert.equal(await stores.revocations.isAccessTokenRevoked(elsewhere.at.jti), false);
    });

    it("a revocation racing 20 rotations of the client's tokens leaves no access token or refresh token alive", async () => {
      const clientId = uid('client');
      const families = await Promise.all(Array.from({ length: 20 }, () => seed(clientId, uid('user'))));
      const issued: string[] = [];
      const accepted = () => ({ ok: true, value: undefined }) as const;
      const rotations = families.map(({ rt }) =>
        stores.grants.rotate(rt.tokenHash, NOW, accepted, (prev) => {
          const jti = uid('jti');
          issued.push(jti);
          return { refresh: { ...prev, tokenHash: uid('rt'), usedAt: null }, access: { jti, expiresAt: NOW + 300 } };
        }),
      );
      const [revoked, ...results] = await Promise.all([stores.grants.revokeByClient(clientId, NOW), ...rotations]);
      assert.equal(revoked, 20);
      for (const r of results)
        if (r.status === 'rotated') assert.notEqual((await stores.grants.get(r.grant.id))!.revokedAt, null);
      for (const jti of issued)
        assert.equal(
          await stores.revocations.isAccessTokenRevoked(jti),
          true,
          'every access token a rotation stored is revoked',
        );
    });

    it('a disabled holder refuses every token of its client or user; enabled again, only tokens issued up to that second', async () => {
      const clientId = uid('client');
      const userId = uid('user');
      const token = (iat: number, over: Partial<{ client_id: string; sub: string }> = {}) => ({
        jti: uid('jti'),
        iat,
        client_id: clientId,
        sub: userId,
        ...over,
      });
      assert.equal(await stores.revocations.isTokenRevoked(token(NOW)), false);
      await stores.revocations.setHolderDisabled(`client:${clientId}`, false, NOW);
      assert.equal(
        await stores.revocations.isTokenRevoked(token(NOW - 10)),
        false,
        'enabling a holder never disabled refuses nothing',
      );

      await stores.revocations.setHolderDisabled(`client:${clientId}`, true, NOW);
      await stores.revocations.setHolderDisabled(`client:${clientId}`, true, NOW); // idempotent
      assert.equal(await stores.revocations.isTokenRevoked(token(NOW - 100)), true);
      assert.equal(
        await stores.revocations.isTokenRevoked(token(NOW + 100_000)),
        true,
        'while disabled, whenever issued',
      );
      assert.equal(
        await stores.revocations.isTokenRevoked(token(NOW, { client_id: uid('client'), sub: uid('user') })),
        false,
        'other holders unaffected',
      );
      await stores.revocations.setHolderDisabled(`client:${clientId}`, false, NOW + 50);
      assert.equal(
        await stores.revocations.isTokenRevoked(token(NOW + 50)),
        true,
        'issued in the second of the enable',
      );
      assert.equal(await stores.revocations.isTokenRevoked(token(NOW + 51)), false);

      await stores.revocations.setHolderDisabled(`user:${userId}`, true, NOW);
      assert.equal(await stores.revocations.isTokenRevoked(token(NOW + 51)), true, 'the user, by sub');
      await stores.revocations.setHolderDisabled(`user:${userId}`, false, NOW + 60);
      assert.equal(await stores.revocations.isTokenRevoked(token(NOW + 61)), false);

      // The cleanup keeps a cut-off as long as a token it refuses can live, and forgets it after.
      await stores.cleanup(NOW + 50 + HOLDER_CUTOFF_SPAN - 1);
      assert.equal(await stores.revocations.isTokenRevoked(token(NOW)), true);
      await stores.cleanup(NOW + 50 + HOLDER_CUTOFF_SPAN);
      assert.equal(await stores.revocations.isTokenRevoked(token(NOW, { sub: uid('user') })), false);
    });

    it("a holder's revoked-token lookup joins the jti's: a revoked jti is refused whatever its holders", async () => {
      const jti = uid('jti');
      await stores.revocations.revokeAccessToken(jti, NOW + 300);
      assert.equal(
        await stores.revocations.isTokenRevoked({ jti, iat: NOW, client_id: uid('client'), sub: uid('user') }),
        true,
      );
      // 50 concurrent lookups (batched on SQLite) each get their own answer.
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          stores.revocations.isTokenRevoked({
            jti: i % 2 ? jti : uid('jti'),
            iat: NOW,
            client_id: uid('client'),
            sub: uid('user'),
          }),
        ),
      );
      assert.deepEqual(
        answers,
        Array.from({ length: 50 }, (_, i) => i % 2 === 1),
      );
    });
  });
}
