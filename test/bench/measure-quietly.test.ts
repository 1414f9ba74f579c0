// The benchmark's re-measurement of disturbed runs (bench/lib/runner.ts measureQuietly): a run
// during which other processes took more than DISTURBED_PCT of a core is measured again, up to the
// number of retries asked for, and the quietest attempt is the one kept.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DISTURBED_PCT, measureQuietly, otherPct, type RunRecord } from '../../bench/lib/runner.ts';

const run = (rps: number, others: Partial<RunRecord>): RunRecord =>
  ({
    ok: rps,
    failed: 0,
    durationS: 1,
    p50Ms: 1,
    p99Ms: 2,
    rps,
    cpuUsPerUnit: 100,
    serverCpuPct: 100,
    loaderCpuPct: 30,
    ...others,
  }) as RunRecord;

/** A measuring function handing out `records` in order, and the attempts it was asked for. */
function scripted(records: RunRecord[]) {
  const attempts: number[] = [];
  return {
    attempts,
    once: async (attempt: number) => {
      attempts.push(attempt);
      const r = records[attempts.length - 1];
      assert.ok(r, 'measured more often than scripted');
      return r;
    },
  };
}

describe('measureQuietly', () => {
  it('keeps a quiet run without measuring again', async () => {
    const s = scripted([run(100, { otherOnServerCorePct: 2, otherOnLoaderCorePct: DISTURBED_PCT })]);
    const logged: string[] = [];
    const r = await measureQuietly(s.once, 2, (l) => logged.push(l));
    assert.equal(r.rps, 100);
    assert.deepEqual(s.attempts, [0]);
    assert.deepEqual(logged, []);
  });

  it('measures a disturbed run again and keeps the quietest attempt', async () => {
    const s = scripted([
      run(50, { otherOnServerCorePct: 40, otherOnLoaderCorePct: 5 }),
      run(90, { otherOnServerCorePct: 3, otherOnLoaderCorePct: 1 }),
    ]);
    const logged: string[] = [];
    const r = await measureQuietly(s.once, 2, (l) => logged.push(l));
    assert.equal(r.rps, 90);
    assert.deepEqual(s.attempts, [0, 1]);
    assert.equal(logged.length, 1);
    assert.match(logged[0]!, /40% of a core/);
  });

  it('stops after the retries asked for, keeping the least disturbed attempt', async () => {
    const s = scripted([
      run(50, { otherOnServerCorePct: 40 }),
      run(70, { otherOnLoaderCorePct: 20 }),
      run(60, { otherOnServerCorePct: 30 }),
    ]);
    const r = await measureQuietly(s.once, 2, () => {});
    assert.equal(r.rps, 70);
    assert.deepEqual(s.attempts, [0, 1, 2]);
  });

  it('never measures again with no retries (smoke runs)', async () => {
    const s = scripted([run(50, { otherOnServerCorePct: 90 })]);
    assert.equal((await measureQuietly(s.once, 0, () => {})).rps, 50);
    assert.deepEqual(s.attempts, [0]);
  });

  it('on PostgreSQL counts what other processes took beyond the database services', async () => {
    // The services are the server's own work there: 35% of the server core, 5% beyond them.
    const busyDb = { otherOnServerCorePct: 35, otherOnLoaderCorePct: 40, otherThanServicesPct: 5 };
    assert.equal(otherPct(busyDb), 5);
    const s = scripted([run(100, busyDb)]);
    assert.equal((await measureQuietly(s.once, 2, () => {})).rps, 100);
    assert.deepEqual(s.attempts, [0]);
  });
});
