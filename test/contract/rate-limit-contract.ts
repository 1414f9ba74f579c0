/**
 * The RateLimitStore contract, shared by every backend (in-process and Redis): call
 * rateLimitContract() inside a describe() with a getter for the store under test.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import type { RateLimitStore } from '../../src/ports/rate-limits.ts';

export function rateLimitContract(store: () => RateLimitStore, offers: { hitMany: boolean } = { hitMany: true }): void {
  const key = () => `test:${randomUUID()}`;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('counts hits in a window that starts at the first hit', async () => {
    const k = key();
    const first = await store().hit(k, 60_000);
    assert.equal(first.count, 1);
    assert.ok(first.resetMs > 59_000 && first.resetMs <= 60_000, String(first.resetMs));
    const second = await store().hit(k, 60_000);
    assert.equal(second.count, 2);
    assert.ok(second.resetMs <= first.resetMs);
  });

  it('50 parallel hits of one key get the counts 1..50 once each: exactly 10 fit a limit of 10', async () => {
    const k = key();
    const results = await Promise.all(Array.from({ length: 50 }, () => store().hit(k, 60_000)));
    const counts = results.map((r) => r.count).sort((a, b) => a - b);
    assert.deepEqual(
      counts,
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    assert.equal(results.filter((r) => r.count <= 10).length, 10);
  });

  it('a new window starts once the old one has ended', async () => {
    const k = key();
    await store().hit(k, 300);
    await store().hit(k, 300);
    assert.equal((await store().hit(k, 300)).count, 3);
    await sleep(450);
    const fresh = await store().hit(k, 300);
    assert.equal(fresh.count, 1);
    assert.ok(fresh.resetMs > 0 && fresh.resetMs <= 300);
  });

  it('hits asked together (a key repeated within one request and across requests) each get their own count', async () => {
    const s = store();
    const k = key();
    const j = key();
    const many = (hits: { key: string; windowMs: number }[]) =>
      s.hitMany ? s.hitMany(hits) : Promise.all(hits.map((h) => s.hit(h.key, h.windowMs)));
    const results = await Promise.all([
      s.hit(k, 60_000).then((h) => [h]),
      many([
        { key: k, windowMs: 60_000 },
        { key: j, windowMs: 60_000 },
        { key: k, windowMs: 60_000 },
      ]),
      s.hit(j, 60_000).then((h) => [h]),
      many([{ key: k, windowMs: 60_000 }]),
    ]);
    const [first, rules, second, last] = results;
    assert.deepEqual(
      [first![0]!, rules![0]!, rules![2]!, last![0]!].map((h) => h.count).sort((a, b) => a - b),
      [1, 2, 3, 4],
    );
    assert.deepEqual(
      [rules![1]!, second![0]!].map((h) => h.count).sort((a, b) => a - b),
      [1, 2],
    );
    for (const h of results.flat()) assert.ok(h.resetMs > 59_000 && h.resetMs <= 60_000, String(h.resetMs));
  });

  // `ahead`: a shared store may reserve counts for its process. store() is that process; for the
  // Redis adapter each call of the getter is a new one (another process), for the in-process
  // adapter the same store (which counts exactly and ignores `ahead`).
  it('with ahead, one process still gives its parallel hits the counts 1..N once each', async () => {
    const s = store();
    const k = key();
    const results = await Promise.all(Array.from({ length: 50 }, () => s.hit(k, 60_000, 8)));
    assert.deepEqual(
      results.map((r) => r.count).sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    for (const h of results) assert.ok(h.resetMs > 59_000 && h.resetMs <= 60_000, String(h.resetMs));
    // The hits asked later, one by one and in a request's rules, go on from there.
    const j = key();
    assert.equal((await s.hit(k, 60_000, 8)).count, 51);
    const many = s.hitMany
      ? await s.hitMany([
          { key: k, windowMs: 60_000, ahead: 8 },
          { key: j, windowMs: 60_000, ahead: 8 },
          { key: k, windowMs: 60_000 },
        ])
      : [await s.hit(k, 60_000, 8), await s.hit(j, 60_000, 8), await s.hit(k, 60_000)];
    assert.equal(many[1]!.count, 1);
    assert.ok(many[0]!.count >= 52 && many[2]!.count >= 52 && many[0]!.count !== many[2]!.count);
  });

  it('with ahead, processes sharing the counters never give a count twice and never let more than a limit in', async () => {
    const processes = [store(), store(), store()];
    const k = key();
    const counts: number[] = [];
    // Rounds of parallel hits from every process, 60 in all.
    for (let round = 0; round < 4; round++) {
      const got = await Promise.all(Array.from({ length: 15 }, (_, i) => processes[i % 3]!.hit(k, 60_000, 6)));
      counts.push(...got.map((h) => h.count));
    }
    assert.equal(new Set(counts).size, 60, `a count was given twice: ${counts.join(',')}`);
    assert.ok(Math.min(...counts) >= 1);
    // What one process leaves unspent is at most its last reservation less one.
    assert.ok(Math.max(...counts) <= 60 + 3 * 5, String(Math.max(...counts)));
    // A limit of 20: at most 20 hits are let in, whoever counted them.
    assert.ok(counts.filter((c) => c <= 20).length <= 20);
  });

  it('with ahead, a reservation ends with its window', async () => {
    const s = store();
    const k = key();
    await s.hit(k, 300, 8);
    await s.hit(k, 300, 8);
    assert.equal((await s.hit(k, 300, 8)).count, 3);
    await sleep(450);
    const fresh = await s.hit(k, 300, 8);
    assert.equal(fresh.count, 1);
    assert.ok(fresh.resetMs > 0 && fresh.resetMs <= 300);
  });

  it('keys are independent', async () => {
    const a = key();
    const b = key();
    await store().hit(a, 60_000);
    await store().hit(a, 60_000);
    assert.equal((await store().hit(b, 60_000)).count, 1);
  });

  it(
    offers.hitMany
      ? 'hitMany counts each key as hit does and answers in the order asked'
      : 'offers no hitMany (callers use hit)',
    async () => {
      const s = store();
      assert.equal(typeof s.hitMany, offers.hitMany ? 'function' : 'undefined');
      if (!offers.hitMany) return;
      const a = key();
      const b = key();
      await s.hit(a, 60_000);
      const [ra, rb] = await s.hitMany!([
        { key: a, windowMs: 60_000 },
        { key: b, windowMs: 1_000 },
      ]);
      assert.equal(ra!.count, 2);
      assert.ok(ra!.resetMs > 59_000 && ra!.resetMs <= 60_000, String(ra!.resetMs));
      assert.equal(rb!.count, 1);
      assert.ok(rb!.resetMs > 0 && rb!.resetMs <= 1_000, String(rb!.resetMs));
      // 30 parallel requests of two keys each: each key's counts are 1..30 once each.
      const c = key();
      const d = key();
      const all = await Promise.all(
        Array.from({ length: 30 }, () =>
          s.hitMany!([
            { key: c, windowMs: 60_000 },
            { key: d, windowMs: 60_000 },
          ]),
        ),
      );
      const expected = Array.from({ length: 30 }, (_, i) => i + 1);
      assert.deepEqual(
        all.map((r) => r[0]!.count).sort((x, y) => x - y),
        expected,
      );
      assert.deepEqual(
        all.map((r) => r[1]!.count).sort((x, y) => x - y),
        expected,
      );
    },
  );
}
