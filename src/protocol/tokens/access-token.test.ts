import assert from 'node:assert/strict';
import * as nodeCrypto from 'node:crypto';
import { describe, it } from 'node:test';
import { newJti } from './access-token.ts';

describe('newJti', () => {
  it('draws unique ids', () => {
    const ids = new Set(Array.from({ length: 20_000 }, newJti));
    assert.equal(ids.size, 20_000);
  });

  if (typeof nodeCrypto.randomUUIDv7 === 'function') {
    it('is a version 7 UUID carrying the time it was made, so later ids sort after earlier ones', async () => {
      const before = Date.now();
      const first = newJti();
      assert.match(first, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const ms = parseInt(first.replaceAll('-', '').slice(0, 12), 16);
      assert.ok(ms >= before && ms <= Date.now(), `timestamp ${ms} not between ${before} and now`);
      await new Promise((r) => setTimeout(r, 2));
      assert.ok(newJti() > first);
    });
  } else {
    it('is a version 4 UUID where node has no randomUUIDv7', () => {
      assert.match(newJti(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    });
  }
});
