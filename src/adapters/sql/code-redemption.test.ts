import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { openDatabase, type DatabaseHandle } from './database.ts';
import { migrate } from './migrations/index.ts';
import { createSqlCodeStore } from './codes-store.ts';
import { createSqlGrantStore } from './grants-store.ts';
import { sqlContext } from './statements.ts';
import { usernameKeys } from '../../accounts/usernames.ts';
import { createPgDatabase } from '../../../test/fixtures/db.ts';
import { NOW, access, code, grant, refreshFor } from '../../../test/contract/factories.ts';
import type { CodeStore } from '../../ports/codes.ts';
import type { GrantStore } from '../../ports/grants.ts';

// A code's redemption stores its grant and reads the code's replay mark in one statement on
// PostgreSQL, under the code row's lock. Without the lock, a replay could mark the code after the
// statement's snapshot and revoke the code's grant before that grant is committed: the mark unseen,
// the revocation finding nothing, the grant alive. Here the redemption's statement is held half-way
// (another transaction holds the row its session-client upsert must lock) while a replay marks the
// code and revokes: the replay must wait for the redemption, or be seen by it.
const pgDb = await createPgDatabase();

describe('a code redemption racing a replay (PostgreSQL)', { skip: pgDb ? false : 'PostgreSQL unreachable' }, () => {
  let handle: DatabaseHandle;
  let codes: CodeStore;
  let grants: GrantStore;
  let holder: pg.Client;
  before(async () => {
    handle = await openDatabase(pgDb!.url);
    await migrate(handle.db, usernameKeys);
    const ctx = sqlContext(handle);
    codes = createSqlCodeStore(ctx);
    grants = createSqlGrantStore(ctx);
    holder = new pg.Client({ connectionString: pgDb!.url });
    await holder.connect();
  });
  after(async () => {
    await holder?.end();
    await handle?.close();
    await pgDb?.drop();
  });

  it('a replay that marks the code while the grant is being stored: the grant ends revoked', async () => {
    const g = grant({ sid: 'sid-redemption' });
    const c = code({ grantId: g.id, clientId: g.clientId, userId: g.userId });
    const entry = {
      sid: 'sid-redemption',
      clientId: g.clientId,
      userId: g.userId,
      createdAt: NOW,
      expiresAt: NOW + 600,
    };
    // The session's client row exists (an earlier grant of the session), so the upsert must lock it.
    const earlier = grant({ clientId: g.clientId, userId: g.userId, sid: g.sid });
    await grants.create(earlier, null, access(), entry);
    await codes.create(c);
    assert.equal((await codes.consume(c.codeHash, NOW)).status, 'ok');

    await holder.query('begin');
    await holder.query('select 1 from session_clients where sid = $1 and client_id = $2 for update', [
      entry.sid,
      g.clientId,
    ]);
    let settled = false;
    const creating = grants.create(g, refreshFor(g), access(), entry, c.codeHash).finally(() => (settled = true));
    await sleep(150);
    assert.equal(settled, false, 'the redemption waits for the session-client row');
    const replaying = (async () => {
      const replay = await codes.consume(c.codeHash, NOW + 1);
      assert.equal(replay.status, 'reused');
      await grants.revoke(g.id, NOW + 1);
    })();
    await sleep(150);
    await holder.query('commit');
    const [created] = await Promise.all([creating, replaying]);
    if (created.codeReplayed) await grants.revoke(g.id, NOW + 2);
    assert.notEqual((await grants.get(g.id))?.revokedAt ?? null, null);
  });
});
