/**
 * The contract of the audit trail (ports/audit.ts). stores.test.ts declares it for every SQL
 * backend (backends.ts), with `stores` the open backend's stores.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import type { Stores } from '../../src/ports/index.ts';
import type { OpenBackend } from './backends.ts';
import { NOW, times, auditEvent } from './factories.ts';

export function auditContract(stores: Stores, backend: OpenBackend): void {
  // Runs after every other suite on its database: it tampers with the chain and restores it.
  describe('audit trail', () => {
    const T = NOW * 1000 + 5_000_000; // later than anything else stored
    const tamper = (statement: string) => sql.raw(statement).execute(backend.handle.db);

    it('appends batches in order, chained from the genesis hash; details round-trip', async () => {
      const first = [
        auditEvent({ at: T, details: { z: 1, a: 'x', m: null } }),
        auditEvent({ at: T + 1, type: 'login_failed', actor: null, outcome: 'failure', details: {} }),
      ];
      await stores.audit.append(first);
      await stores.audit.append([auditEvent({ at: T + 2, type: 'consent_granted' })]);
      await stores.audit.append([]);
      const all = await stores.audit.query({});
      assert.deepEqual(
        all.map((r) => r.seq),
        [1, 2, 3],
      );
      assert.equal(all[0]!.prevHash, '0'.repeat(64));
      assert.equal(all[1]!.prevHash, all[0]!.hash);
      assert.equal(all[2]!.prevHash, all[1]!.hash);
      assert.match(all[0]!.hash, /^[0-9a-f]{64}$/);
      const { seq: _s, prevHash: _p, hash: _h, ...back } = all[0]!;
      assert.deepEqual(back, first[0]);
      assert.deepEqual(await stores.audit.verify(), { ok: true, checked: 3 });
    });

    it('queries by time range, type and limit (the latest N, oldest first)', async () => {
      await stores.audit.append(
        [0, 1, 2, 3, 4].map((i) => auditEvent({ at: T + 100 + i, type: i % 2 ? 'token_revoked' : 'token_issued' })),
      );
      const range = await stores.audit.query({ from: T + 101, to: T + 104 });
      assert.deepEqual(
        range.map((r) => r.at),
        [T + 101, T + 102, T + 103],
      );
      assert.deepEqual(
        (await stores.audit.query({ type: 'token_revoked' })).map((r) => r.at),
        [T + 101, T + 103],
      );
      assert.deepEqual(
        (await stores.audit.query({ from: T + 100, limit: 2 })).map((r) => r.at),
        [T + 103, T + 104],
      );
      assert.deepEqual(
        (await stores.audit.query({ from: T + 100, type: 'token_issued', limit: 1 })).map((r) => r.at),
        [T + 104],
      );
    });

    it("queries one actor's records of some types (the account area's activity)", async () => {
      const actor = `user-activity-${T}`;
      await stores.audit.append([
        auditEvent({ at: T + 200, actor, type: 'factor_added' }),
        auditEvent({ at: T + 201, actor, type: 'token_issued' }),
        auditEvent({ at: T + 202, actor: 'someone-else', type: 'factor_added' }),
        auditEvent({ at: T + 203, actor, type: 'password_changed' }),
        auditEvent({ at: T + 204, actor, type: 'factor_removed' }),
      ]);
      const types = ['factor_added', 'password_changed', 'factor_removed'];
      assert.deepEqual(
        (await stores.audit.query({ actor, types })).map((r) => r.at),
        [T + 200, T + 203, T + 204],
      );
      assert.deepEqual(
        (await stores.audit.query({ actor, types, limit: 2 })).map((r) => r.type),
        ['password_changed', 'factor_removed'],
      );
      assert.deepEqual(await stores.audit.query({ actor, types: [] }), []);
    });
    it('queries by client, by user (actor or user / user_id detail, exactly), by outcome', async () => {
      const u = `user-${T}-q`;
      const c = `client-${T}-q`;
      const at = T + 300;
      await stores.audit.append([
        auditEvent({ at, actor: u, clientId: c, type: 'q_actor' }),
        auditEvent({ at: at + 1, actor: 'admin', clientId: null, type: 'q_user', details: { user: u } }),
        auditEvent({
          at: at + 2,
          actor: 'cli',
          clientId: c,
          type: 'q_user_id',
          outcome: 'failure',
          details: { user_id: u },
        }),
        // Not about the user: a longer id, the id as another detail, the text inside a value.
        auditEvent({ at: at + 3, actor: `${u}0`, clientId: `${c}0`, type: 'q_not', details: { user: `${u}0` } }),
        auditEvent({ at: at + 4, actor: 'admin', type: 'q_not', details: { target: u } }),
        auditEvent({ at: at + 5, actor: 'admin', type: 'q_not', details: { before: JSON.stringify({ user: u }) } }),
        auditEvent({ at: at + 6, actor: 'admin', type: 'q_not', details: { note: `","user":"${u}` } }),
      ]);
      const types = async (q: Parameters<Stores['audit']['query']>[0]) =>
        (await stores.audit.query({ from: at, ...q })).map((r) => r.type);
      assert.deepEqual(await types({ userId: u }), ['q_actor', 'q_user', 'q_user_id']);
      assert.deepEqual(await types({ clientId: c }), ['q_actor', 'q_user_id']);
      assert.deepEqual(await types({ userId: u, outcome: 'failure' }), ['q_user_id']);
      assert.deepEqual(await types({ clientId: c, outcome: 'success' }), ['q_actor']);
      assert.deepEqual(await types({ userId: u, clientId: c, descending: true }), ['q_user_id', 'q_actor']);
      assert.deepEqual(await types({ userId: `${u}'; --` }), []);
    });

    it('pages newest first with beforeSeq and descending; from/to and limit still apply', async () => {
      const at = T + 400;
      await stores.audit.append(Array.from({ length: 7 }, (_, i) => auditEvent({ at: at + i, type: 'q_page' })));
      const all = await stores.audit.query({ type: 'q_page' });
      const seqs = all.map((r) => r.seq);
      const pages: number[][] = [];
      let before: number | undefined;
      for (;;) {
        const page = await stores.audit.query({
          type: 'q_page',
          descending: true,
          limit: 3,
          ...(before !== undefined ? { beforeSeq: before } : {}),
        });
        if (!page.length) break;
        pages.push(page.map((r) => r.seq));
        before = page.at(-1)!.seq;
      }
      assert.deepEqual(pages, [seqs.slice(4).reverse(), seqs.slice(1, 4).reverse(), seqs.slice(0, 1)]);
      // Without descending, the latest of the selection before the cursor, oldest first.
      assert.deepEqual(
        (await stores.audit.query({ type: 'q_page', beforeSeq: seqs[5]!, limit: 2 })).map((r) => r.seq),
        [seqs[3], seqs[4]],
      );
      assert.deepEqual(
        (
          await stores.audit.query({ type: 'q_page', beforeSeq: seqs[5]!, from: at + 2, to: at + 4, descending: true })
        ).map((r) => r.seq),
        [seqs[3], seqs[2]],
      );
    });

    it('verify names a changed record, a removed middle record and a removed tail', async () => {
      const seqs = (await stores.audit.query({})).map((r) => r.seq);
      const [mid, last] = [seqs[3]!, seqs.at(-1)!];
      const original = (await stores.audit.query({})).find((r) => r.seq === mid)!;

      await tamper(`update audit_events set details = '{"grant_type":"client_credentials"}' where seq = ${mid}`);
      assert.deepEqual(await stores.audit.verify(), {
        ok: false,
        checked: mid - 1,
        firstBroken: mid,
        reason: "hash does not match the record's contents",
      });
      await tamper(`update audit_events set details = '${JSON.stringify(original.details)}' where seq = ${mid}`);
      assert.equal((await stores.audit.verify()).ok, true);

      await tamper(`delete from audit_events where seq = ${mid}`);
      const gap = await stores.audit.verify();
      assert.equal(gap.ok, false);
      assert.equal(!gap.ok && gap.firstBroken, mid);
      assert.match(!gap.ok ? gap.reason : '', new RegExp(`record ${mid} is missing`));
      await backend.handle.db
        .insertInto('audit_events')
        .values({
          seq: mid,
          at: original.at,
          type: original.type,
          actor: original.actor,
          client_id: original.clientId,
          ip: original.ip,
          outcome: original.outcome,
          details: JSON.stringify(original.details),
          prev_hash: original.prevHash,
          hash: original.hash,
        })
        .execute();
      assert.equal((await stores.audit.verify()).ok, true);

      await tamper(`delete from audit_events where seq = ${last}`);
      const tail = await stores.audit.verify();
      assert.equal(!tail.ok && tail.firstBroken, last);
    });

    it('8 parallel appenders extend one chain: seqs contiguous, verify ok', async () => {
      // Restart from an empty chain (the previous test removed the tail on purpose).
      await tamper('delete from audit_events');
      await tamper(`update audit_head set seq = 0, hash = '${'0'.repeat(64)}' where id = 1`);
      await times(8, (i) =>
        stores.audit.append(
          Array.from({ length: 5 }, (_, j) => auditEvent({ at: T + 1000 + i * 10 + j, details: { caller: i } })),
        ),
      );
      const all = await stores.audit.query({});
      assert.deepEqual(
        all.map((r) => r.seq),
        Array.from({ length: 40 }, (_, i) => i + 1),
      );
      // each caller's batch is contiguous
      for (let b = 0; b < 8; b++)
        assert.equal(new Set(all.slice(b * 5, b * 5 + 5).map((r) => r.details.caller)).size, 1);
      assert.deepEqual(await stores.audit.verify(), { ok: true, checked: 40 });
    });

    it('deleteBefore removes a prefix (retention); the rest still verifies', async () => {
      await stores.audit.append([0, 1, 2].map((i) => auditEvent({ at: T + 3000 + i }))); // seqs 41-43
      // An older event appended after newer ones (another process's batch) stays with them: no holes.
      await stores.audit.append([auditEvent({ at: T + 2999 }), auditEvent({ at: T + 3005 })]); // 44, 45
      assert.equal(await stores.audit.deleteBefore(T + 3002), 42);
      assert.deepEqual(
        (await stores.audit.query({})).map((r) => r.seq),
        [43, 44, 45],
      );
      assert.deepEqual(await stores.audit.verify(), { ok: true, checked: 3 });
      assert.equal(await stores.audit.deleteBefore(T + 999_999), 3);
      assert.deepEqual(await stores.audit.verify(), { ok: true, checked: 0 });
      await stores.audit.append([auditEvent({ at: T + 4000 })]);
      assert.deepEqual(
        (await stores.audit.query({})).map((r) => r.seq),
        [46],
      );
      assert.deepEqual(await stores.audit.verify(), { ok: true, checked: 1 });
    });

    it('stores any text as given, in a batch over one SQLite insert (PostgreSQL: arrays)', async () => {
      const odd = ['NULL', '', 'a,b', '{x}', '"q"', 'back\\slash', 'ü 🙂', ' lead', 'trail ', 'nul-free\ttab'];
      const batch = Array.from({ length: 120 }, (_, i) =>
        auditEvent({
          at: T + 5000 + i,
          type: `odd_${odd[i % odd.length]}`,
          actor: i % 3 ? odd[(i + 1) % odd.length]! : null,
          clientId: i % 4 ? odd[(i + 2) % odd.length]! : null,
          ip: i % 2 ? null : '2001:db8::1',
          details: { text: odd[i % odd.length]!, n: i, none: null },
        }),
      );
      await stores.audit.append(batch);
      const back = await stores.audit.query({ from: T + 5000 });
      assert.deepEqual(
        back.map((r) => r.seq),
        Array.from({ length: 120 }, (_, i) => 47 + i),
      );
      assert.deepEqual(
        back.map(({ seq: _s, prevHash: _p, hash: _h, ...r }) => r),
        batch,
      );
      assert.deepEqual(await stores.audit.verify(), { ok: true, checked: 121 });
    });
  });
}
