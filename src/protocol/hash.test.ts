import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomId, randomToken } from './hash.ts';

describe('random values', () => {
  it('randomId never starts with "-" (a command line would read it as an option), and is base64url of the asked size', () => {
    // One randomToken in 64 starts with '-': among 5000 ids, one would all but surely.
    const ids = Array.from({ length: 5000 }, () => randomId(6));
    assert.equal(ids.filter((id) => id.startsWith('-')).length, 0);
    for (const id of ids) assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{7}$/);
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(randomId(16).length, randomToken(16).length);
  });
});
