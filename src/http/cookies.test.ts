import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCookies, serializeCookie } from './cookies.ts';

describe('cookies', () => {
  it('uses __Host- (Path=/, Secure, no Domain) for every cookie when Secure', () => {
    const c = serializeCookie(
      { name: 'tessera_session', value: 'abc', maxAge: 60, path: '/' },
      { secure: true, sessionSameSite: 'lax' },
    );
    assert.equal(c, '__Host-tessera_session=abc; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure');
    for (const name of ['tessera_interaction', 'tessera_device', 'tessera_account_login']) {
      assert.equal(
        serializeCookie({ name, value: 'v', maxAge: 1, path: '/' }, { secure: true, sessionSameSite: 'lax' }),
        `__Host-${name}=v; Path=/; Max-Age=1; HttpOnly; SameSite=Lax; Secure`,
      );
    }
    assert.equal(
      serializeCookie(
        { name: 'tessera_session', value: 'abc', maxAge: 60, path: '/' },
        { secure: false, sessionSameSite: 'lax' },
      ),
      'tessera_session=abc; Path=/; Max-Age=60; HttpOnly; SameSite=Lax',
    );
    // A narrower path would need __Secure-, which a sibling host can set: refused outright.
    assert.throws(
      () =>
        serializeCookie(
          { name: 'x', value: 'v', maxAge: 1, path: '/interaction/u' as '/' },
          { secure: true, sessionSameSite: 'lax' },
        ),
      /Path=\//,
    );
  });

  it('SameSite: the configured value for the session cookie only; Lax for the interaction and CSRF cookies; None only with Secure', () => {
    const session = { name: 'tessera_session', value: 'abc', maxAge: 60, path: '/' as const };
    assert.match(serializeCookie(session, { secure: true, sessionSameSite: 'none' }), /; SameSite=None; Secure$/);
    assert.match(serializeCookie(session, { secure: true, sessionSameSite: 'strict' }), /; SameSite=Strict; Secure$/);
    assert.match(serializeCookie(session, { secure: false, sessionSameSite: 'none' }), /; SameSite=Lax$/);
    for (const name of ['tessera_interaction', 'tessera_device', 'tessera_account_login']) {
      for (const sessionSameSite of ['none', 'strict'] as const) {
        assert.match(
          serializeCookie({ name, value: 'v', maxAge: 1, path: '/' }, { secure: true, sessionSameSite }),
          /; SameSite=Lax; Secure$/,
          `${name} with ${sessionSameSite}`,
        );
      }
    }
  });

  it('reads only __Host- names when Secure, so a sibling domain cannot plant a session, interaction or CSRF cookie', () => {
    assert.deepEqual(parseCookies('tessera_session=evil; __Host-tessera_session=good', true), {
      tessera_session: 'good',
    });
    // __Secure- cookies may carry Domain=: a sibling host can set them for the parent domain.
    assert.deepEqual(parseCookies('__Secure-tessera_interaction=planted; __Secure-tessera_device=planted', true), {});
    assert.deepEqual(parseCookies('__Secure-tessera_device=planted; __Host-tessera_device=mine', true), {
      tessera_device: 'mine',
    });
    assert.deepEqual(parseCookies('tessera_session=a; __Host-tessera_session=b', false), { tessera_session: 'a' });
    assert.deepEqual(parseCookies('tessera_session=<script>', false), {});
  });

  it('a name with a character outside RFC 6265 tokens (U+00A0 read as latin1 among them) is not the __Host- cookie it looks like', () => {
    // JS trim() would strip the NBSP and make the first (plantable, unprefixed) cookie win.
    assert.deepEqual(parseCookies('\xa0__Host-tessera_interaction=A; __Host-tessera_interaction=B', true), {
      tessera_interaction: 'B',
    });
    for (const odd of ['\u2003', '\u3000', '\ufeff', '\v', '\f', '\r', '\n', '\x85']) {
      assert.deepEqual(
        parseCookies(`${odd}__Host-tessera_session=A; __Host-tessera_session=B`, true),
        { tessera_session: 'B' },
        JSON.stringify(odd),
      );
      assert.deepEqual(parseCookies(`__Host-tessera_session${odd}=A`, true), {}, JSON.stringify(odd));
    }
    assert.deepEqual(parseCookies('\xa0tessera_session=A; tessera_session=B', false), { tessera_session: 'B' });
    assert.deepEqual(parseCookies('tessera(session)=A; tes sera=B; "q"=C', false), {});
    // Only SP and HTAB are trimmed, around names and values.
    assert.deepEqual(parseCookies(' \t__Host-tessera_session=abc\t ;\t__Host-tessera_device= d-1 ', true), {
      tessera_session: 'abc',
      tessera_device: 'd-1',
    });
    assert.deepEqual(parseCookies('__Host-tessera_session=abc\xa0', true), {});
  });

  it('a name sent twice counts as absent: a planted duplicate neither wins nor shadows the real cookie', () => {
    assert.deepEqual(parseCookies('__Host-tessera_interaction=A; __Host-tessera_interaction=B', true), {});
    assert.deepEqual(
      parseCookies('__Host-tessera_interaction=A; __Host-tessera_device=D; __Host-tessera_interaction=A', true),
      { tessera_device: 'D' },
    );
    assert.deepEqual(parseCookies('tessera_session=a; tessera_session=b; tessera_device=d', false), {
      tessera_device: 'd',
    });
    // Even when one of them has a value that would be refused on its own.
    assert.deepEqual(parseCookies('__Host-tessera_session=good; __Host-tessera_session=<bad>', true), {});
    assert.deepEqual(parseCookies('__Host-tessera_session=<bad>; __Host-tessera_session=good', true), {});
    // Names not read at all (unprefixed when Secure, __-prefixed otherwise) do not count.
    assert.deepEqual(
      parseCookies('tessera_session=evil; __Host-tessera_session=good; __Secure-tessera_session=x', true),
      { tessera_session: 'good' },
    );
    assert.deepEqual(parseCookies('tessera_session=a; __Host-tessera_session=b', false), { tessera_session: 'a' });
  });
});
