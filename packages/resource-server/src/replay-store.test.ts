import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryReplayStore } from './replay-store.ts';

describe('MemoryReplayStore', () => {
  it('accepts an id once within its lifetime, again after it', async () => {
    let now = 1_000_000;
    const store = new MemoryReplayStore({ now: () => now });
    assert.equal(await store.add('a', 10), true);
    assert.equal(await store.add('a', 10), false);
    now += 9_999;
    assert.equal(await store.add('a', 10), false);
    now += 2;
    assert.equal(await store.add('a', 10), true);
  });

  it('when full, forgets expired ids, and refuses new ones rather than forgetting live ones', async () => {
    let now = 0;
    const store = new MemoryReplayStore({ maxEntries: 2, now: () => now });
    assert.equal(await store.add('a', 1), true);
    assert.equal(await store.add('b', 10), true);
    await assert.rejects(store.add('c', 10), /full/);
    now = 2000;
    assert.equal(await store.add('c', 10), true);
    assert.equal(store.size, 2);
    assert.equal(await store.add('b', 10), false);
  });
});
