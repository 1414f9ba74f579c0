import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCookies, serializeCookie } from './cookies.ts';

describe('cookies', () => {
  it('uses __Host- for path=/ and __Secure- elsewhere when Secure', () => {
    const c = serializeCookie({ name: 'tessera_session', value: 'abc', maxAge: 60, path: '/' }, { secure: true, sameSite: 'lax' });
    assert.equal(c, '__Host-tessera_session=abc; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure');
    assert.match(serializeCookie({ name: 'x', value: 'v', maxAge: 1, path: '/interaction/u' }, { secure: true, sameSite: 'strict' }), /^__Secure-x=v; .*SameSite=Strict; Secure$/);
  });
  it('reads only prefixed names when Secure, so a sibling domain cannot plant a session cookie', () => {
    assert.deepEqual(parseCookies('tessera_session=evil; __Host-tessera_session=good', true), { tessera_session: 'good' });
    assert.deepEqual(parseCookies('tessera_session=a; __Host-tessera_session=b', false), { tessera_session: 'a' });
    assert.deepEqual(parseCookies('tessera_session=<script>', false), {});
  });
});
