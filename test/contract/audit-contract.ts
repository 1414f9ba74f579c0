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
  });
}
