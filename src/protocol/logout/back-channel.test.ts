import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retryDelayMs } from './back-channel.ts';

describe('back-channel logout delivery', () => {
  it('retries back off 1 s, 4 s, 16 s', () => {
    assert.deepEqual([1, 2, 3].map(retryDelayMs), [1000, 4000, 16000]);
  });
});
