import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OAuthError } from './errors.ts';
import { readParams, splitScope } from './params.ts';

const defined = new Set(['a', 'b']);
const read = (q: string, limits = {}) => readParams(new URLSearchParams(q), defined, limits);

describe('parameters (RFC 6749 section 3.1)', () => {
  it('drops unknown parameters and treats empty values as omitted', () => {
    assert.deepEqual({ ...read('a=1&c=2&c=3&b=') }, { a: '1' });
  });
  it('refuses a defined parameter sent twice, even with one empty', () => {
    assert.throws(
      () => read('a=1&a=2'),
      (e: OAuthError) => e.code === 'invalid_request',
    );
    assert.deepEqual({ ...read('a=&a=2') }, { a: '2' });
  });
  it('refuses over-long values and invalid UTF-8', () => {
    assert.throws(() => read('a=xxxx', { a: 3 }), /too long/);
    assert.throws(() => read('a=%C3%28'), /UTF-8/);
    assert.equal(read('a=%C3%A9').a, 'é');
  });
  it('refuses a NUL character, wherever it is in the value', () => {
    for (const q of ['a=%00', 'a=x%00', 'a=%00x', 'b=1&a=n%00nce'])
      assert.throws(
        () => read(q),
        (e: OAuthError) => e.code === 'invalid_request' && /NUL/.test(e.description ?? ''),
      );
    // Other control characters are the endpoint's to judge (JSON parameters may hold newlines).
    assert.equal(read('a=x%0Ay').a, 'x\ny');
  });
  it('splits scopes into unique tokens', () => {
    assert.deepEqual(splitScope('openid  profile openid'), ['openid', 'profile']);
    assert.deepEqual(splitScope(undefined), []);
  });
});
