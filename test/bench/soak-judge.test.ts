// The soak's verdicts (bench/lib/soak.ts judge): RSS growth is judged, not RSS that falls.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judge, type SoakWindow } from '../../bench/lib/soak.ts';

const windows = (rss: number[]): SoakWindow[] =>
  rss.map((rssMB, i) => ({
    index: i + 1,
    endS: 10 * (i + 1),
    durationS: 10,
    ok: 1000,
    failed: 0,
    p50Ms: 2,
    p99Ms: 8,
    maxMs: 12,
    warmup: i === 0,
    rps: 100,
    rssMB,
    serverCpuPct: 50,
  }));
const total = { ok: 10_000, failed: 0, durationS: 100, p50Ms: 2, p99Ms: 8 };
const quietLog = { warnings: 0, errors: 0, samples: [] };

describe('soak verdicts', () => {
  it('RSS that falls after the warm-up by more than the limit is stable (no growth)', () => {
    const v = judge(windows([300, 290, 280, 270, 262, 262, 261, 260]), total, quietLog, 100);
    assert.equal(v.rss.driftMB, 30);
    assert.equal(v.rss.growthMB, 0);
    assert.equal(v.rss.stable, true);
  });
  it('RSS that rises by more than the limit drifts, even when it comes back down', () => {
    const v = judge(windows([200, 200, 210, 225, 223, 205, 201, 200]), total, quietLog, 100);
    assert.equal(v.rss.growthMB, 25);
    assert.equal(v.rss.stable, false);
  });
  it('a steady rise gives a positive slope over the limit', () => {
    const v = judge(windows([200, 200, 201, 202, 203, 204, 205, 206]), total, quietLog, 100);
    assert.equal(v.rss.stable, true);
    assert.equal(v.rssSlope.flat, false); // 1 MB per 10 s: 6 MB/min
    assert.equal(v.rssSlope.secondHalfMBPerMin, 6, 'a leak: the second half rises as fast as the whole');
  });
  it('a rise that levels off fails the slope, and its second half alone shows it settling', () => {
    const v = judge(windows([400, 400, 404, 407, 409, 410, 410, 410, 410, 410]), total, quietLog, 100);
    assert.equal(v.rssSlope.flat, false); // the whole: about 7.2 MB/min
    assert.ok(v.rssSlope.mbPerMin > 5, String(v.rssSlope.mbPerMin));
    assert.equal(v.rssSlope.secondHalfMBPerMin, 0);
  });
});
