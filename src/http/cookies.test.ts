import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCookies, serializeCookie } from './cookies.ts';

describe('cookies', () => {
  it('uses __Host- (Path=/, Secure, no Domain) for every cookie when Secure', () => {
    const c = serializeCookie({ name: 'tessera_session', value: 'abc', maxAge: 60, path: '/' }, { secure: true, sessionSameSite: 'lax' });
    assert.equal(c, '__Host-tessera_session=abc; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure');
    for (const name of ['tessera_interaction', 'tessera_device', 'tessera_account_login']) {
      assert.equal(serializeCookie({ name, value: 'v', maxAge: 1, path: '/' }, { secure: true, sessionSameSite: 'lax' }), `__Host-${name}=v; Path=/; Max-Age=1; HttpOnly; SameSite=Lax; Secure`);
    }
    assert.equal(serializeCookie({ name: 'tessera_session', value: 'abc', maxAge: 60, path: '/' }, { secure: false, sessionSameSite: 'lax' }), 'tessera_session=abc; Path=/; Max-Age=60; HttpOnly; SameSite=Lax');
    // A narrower path would need __Secure-, which a sibling host can set: refused outright.
    assert.throws(() => serializeCookie({ name: 'x', value: 'v', maxAge: 1, path: '/interaction/u' as '/' }, { secure: true, sessionSameSite: 'lax' }), /Path=\//);
  });

  it('SameSite: the configured value for the session cookie only; Lax for the interaction and CSRF cookies; None only with Secure', () => {
    const session = { name: 'tessera_session', value: 'abc', maxAge: 60, path: '/' as const };
    assert.match(serializeCookie(session, { secure: true, sessionSameSite: 'none' }), /; SameSite=None; Secure$/);
    assert.match(serializeCookie(session, { secure: true, sessionSameSite: 'strict' }), /; SameSite=Strict; Secure$/);
    assert.match(serializeCookie(session, { secure: false, sessionSameSite: 'none' }), /; SameSite=Lax$/);
    for (const name of ['tessera_interaction', 'tessera_device', 'tessera_account_login']) {
      for (const sessionSameSite of ['none', 'strict'] as const) {
        assert.match(serializeCookie({ name, value: 'v', maxAge: 1, path: '/' }, { secure: true, sessionSameSite }), /; SameSite=Lax; Secure$/, `${name} with ${sessionSameSite}`);
      }
    }
  });

  it('reads only __Host- names when Secure, so a sibling domain cannot plant a session, interaction or CSRF cookie', () => {
    assert.deepEqual(parseCookies('tessera_session=evil; __Host-tessera_session=good', true), { tessera_session: 'good' });
    // __Secure- cookies may carry Domain=: a sibling host can set them for the parent domain.
    assert.deepEqual(parseCookies('__Secure-tessera_interaction=planted; __Secure-tessera_device=planted', true), {});
    assert.deepEqual(parseCookies('__Secure-tessera_device=planted; __Host-tessera_device=mine', true), { tessera_device: 'mine' });
    assert.deepEqual(parseCookies('tessera_session=a; __Host-tessera_session=b', false), { tessera_session: 'a' });
    assert.deepEqual(parseCookies('tessera_session=<script>', false), {});
  });
});
