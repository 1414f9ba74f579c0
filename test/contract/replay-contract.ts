/**
 * The ReplayStore contract, shared by every backend that provides it (SQL here; Redis in its own
 * suite): call replayContract() inside a describe() with a getter for the store under test.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import type { ReplayStore } from '../../src/ports/replay.ts';

export function replayContract(store: () => ReplayStore, now = Math.floor(Date.now() / 1000)): void {
  const key = () => `test:${randomUUID()}`;

  it('accepts a key once; a second claim before expiry is a replay', async () => {
    const k = key();
    assert.equal(await store().claim(k, now + 60, now), true);
    assert.equal(await store().claim(k, now + 60, now), false);
    assert.equal(await store().claim(k, now + 120, now + 59), false);
  });

  it('50 parallel claims of one key give exactly one success', async () => {
    const k = key();
    const results = await Promise.all(Array.from({ length: 50 }, () => store().claim(k, now + 60, now)));
    assert.equal(results.filter(Boolean).length, 1);
  });

  it('an expired key can be claimed again, once', async () => {
    const k = key();
    assert.equal(await store().claim(k, now + 10, now), true);
    const later = now + 10;
    const results = await Promise.all(Array.from({ length: 10 }, () => store().claim(k, later + 60, later)));
    assert.equal(results.filter(Boolean).length, 1);
    assert.equal(await store().claim(k, later + 60, later + 30), false);
  });

  it('keys are independent', async () => {
    const a = key();
    const b = key();
    assert.equal(await store().claim(a, now + 60, now), true);
    assert.equal(await store().claim(b, now + 60, now), true);
  });
}
