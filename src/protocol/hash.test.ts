import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomId, randomToken, timeOrderedKey, timeOrderedToken, tokenHash } from './hash.ts';

describe('random values', () => {
  it('randomId never starts with "-" (a command line would read it as an option), and is base64url of the asked size', () => {
    // One randomToken in 64 starts with '-': among 5000 ids, one would all but surely.
    const ids = Array.from({ length: 5000 }, () => randomId(6));
    assert.equal(ids.filter((id) => id.startsWith('-')).length, 0);
    for (const id of ids) assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{7}$/);
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(randomId(16).length, randomToken(16).length);
  });
  it('randomToken hands out each drawn byte once: every size, across refills of the pool, and past it', () => {
    const sizes = [32, 16, 1, 33, 256, 300, 7];
    const values: Buffer[] = [];
    // Several refills of the 4 KiB pool, with sizes that do not divide it.
    for (let i = 0; i < 700; i++) {
      const n = sizes[i % sizes.length]!;
      const v = randomToken(n);
      assert.match(v, /^[A-Za-z0-9_-]+$/);
      const bytes = Buffer.from(v, 'base64url');
      assert.equal(bytes.length, n);
      values.push(bytes);
    }
    // No value repeats, and no 16-byte window of one appears in another (a byte handed out twice
    // would make two tokens share their bytes).
    const windows = new Set<string>();
    for (const v of values)
      for (let at = 0; at + 16 <= v.length; at += 16) {
        const w = v.toString('hex', at, at + 16);
        assert.equal(windows.has(w), false);
        windows.add(w);
      }
    assert.ok(windows.size > 2000);
  });
});

describe('time-ordered tokens (codes, refresh tokens)', () => {
  it('are the issue time in milliseconds (12 hex digits) and 32 random bytes, and sort by that time', () => {
    const before = Date.now();
    const a = timeOrderedToken();
    const b = timeOrderedToken();
    assert.match(a, /^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(a.slice(12), 'base64url').length, 32);
    const at = parseInt(a.slice(0, 12), 16);
    assert.ok(at >= before && at <= Date.now());
    assert.notEqual(a.slice(12), b.slice(12));
    // The keys of tokens issued later sort after: the key starts with the time, as the token does.
    const older = `${(at - 1000).toString(16).padStart(12, '0')}${randomToken(32)}`;
    assert.ok(timeOrderedKey(older) < timeOrderedKey(a));
  });
  it('are looked up by their time and SHA-256; anything else (tokens issued before them) by its SHA-256 alone', () => {
    const t = timeOrderedToken();
    assert.equal(timeOrderedKey(t), t.slice(0, 12) + tokenHash(t));
    const legacy = randomToken(32);
    assert.equal(timeOrderedKey(legacy), tokenHash(legacy));
    // Shapes that are not a time-ordered token: the hash alone, so one value has one key.
    for (const v of [t.slice(1), `${t}A`, t.toUpperCase(), `${t.slice(0, 12)}${'!'.repeat(43)}`, ''])
      assert.equal(timeOrderedKey(v), tokenHash(v));
    // Another value's time does not reach a token's key: the hash covers the whole value.
    const sameTime = `${t.slice(0, 12)}${randomToken(32)}`;
    assert.notEqual(timeOrderedKey(sameTime), timeOrderedKey(t));
  });
});
