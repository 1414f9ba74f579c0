import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { StatsStore } from '../ports/admin.ts';
import { createStatsWriter, statOf } from './stats.ts';

/** A stats store in memory that adds as the SQL one does, and can be made to fail. */
function memoryStats() {
  const rows = new Map<number, Record<string, number>>();
  let failing = false;
  const store: StatsStore = {
    async add(minute, values) {
      if (failing) throw new Error('database down');
      const row = rows.get(minute) ?? {};
      for (const [k, v] of Object.entries(values)) row[k] = (row[k] ?? 0) + v;
      rows.set(minute, row);
    },
    async range(from, to) {
      return [...rows]
        .filter(([m]) => m >= from && m < to)
        .sort(([a], [b]) => a - b)
        .map(([minute, values]) => ({ minute, values }));
    },
    async deleteBefore() {
      return 0;
    },
  };
  return { store, rows, fail: (on: boolean) => void (failing = on) };
}
const silent = pino({ level: 'silent' });

describe('per-minute figures', () => {
  it('counts tokens issued, sign-ins ok and failed; nothing else', () => {
    assert.equal(statOf({ type: 'token_issued', grantType: 'authorization_code', clientId: 'c' }), 'tokens_issued');
    assert.equal(statOf({ type: 'login_succeeded', userId: 'u' }), 'sign_ins_ok');
    assert.equal(
      statOf({ type: 'upstream_login_succeeded', userId: 'u', provider: 'p', created: false }),
      'sign_ins_ok',
    );
    assert.equal(statOf({ type: 'login_failed' }), 'sign_ins_failed');
    assert.equal(statOf({ type: 'second_factor_failed', userId: 'u' } as never), 'sign_ins_failed');
    assert.equal(statOf({ type: 'login_throttled' }), undefined);
    assert.equal(statOf({ type: 'logout', userId: 'u' }), undefined);
  });

  it('adds each minute once per flush; two writers on one store add up to one total', async () => {
    const m = memoryStats();
    let t = 1_700_000_000_000; // 22:13:20 UTC: the minute starts at ...980
    const a = createStatsWriter(m.store, silent, { clock: () => t, intervalMs: 0 });
    const b = createStatsWriter(m.store, silent, { clock: () => t, intervalMs: 0 });
    a.event({ type: 'token_issued', grantType: 'client_credentials', clientId: 'c' });
    a.event({ type: 'login_failed' });
    b.event({ type: 'token_issued', grantType: 'client_credentials', clientId: 'c' });
    t += 60_000;
    a.event({ type: 'login_succeeded', userId: 'u' });
    a.event({ type: 'logout', userId: 'u' });
    await Promise.all([a.flush(), b.flush()]);
    await a.flush(); // nothing left: adds nothing
    assert.deepEqual(
      [...m.rows],
      [
        [1_699_999_980, { tokens_issued: 2, sign_ins_failed: 1 }],
        [1_700_000_040, { sign_ins_ok: 1 }],
      ],
    );
  });

  it('keeps the counts while the store cannot be written, and adds them once it can', async () => {
    const m = memoryStats();
    const w = createStatsWriter(m.store, silent, { clock: () => 1_700_000_000_000, intervalMs: 0 });
    w.event({ type: 'login_failed' });
    m.fail(true);
    await w.flush();
    w.event({ type: 'login_failed' });
    assert.equal(m.rows.size, 0);
    m.fail(false);
    await w.close();
    assert.deepEqual([...m.rows.values()], [{ sign_ins_failed: 2 }]);
  });

  it('holds at most maxMinutes minutes while the store is down', async () => {
    const m = memoryStats();
    let t = 0;
    const w = createStatsWriter(m.store, silent, { clock: () => t, intervalMs: 0, maxMinutes: 2 });
    m.fail(true);
    for (let i = 0; i < 5; i++) {
      t = i * 60_000;
      w.event({ type: 'login_failed' });
      await w.flush();
    }
    m.fail(false);
    await w.flush();
    assert.deepEqual([...m.rows.keys()], [180, 240]);
  });
});
