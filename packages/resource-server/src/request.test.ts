import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidRequestError, MissingTokenError } from './errors.ts';
import { credentials, requestUrl } from './request.ts';

describe('credentials', () => {
  it('reads Bearer and DPoP, the scheme case-insensitively', () => {
    assert.deepEqual(credentials({ authorization: 'Bearer abc.def-_~+/=' }), {
      scheme: 'Bearer',
      token: 'abc.def-_~+/=',
    });
    assert.deepEqual(credentials({ authorization: 'bearer x' }), { scheme: 'Bearer', token: 'x' });
    assert.deepEqual(credentials(new Headers({ authorization: 'DPoP y' })), { scheme: 'DPoP', token: 'y' });
  });

  it('treats no header or another scheme as missing, a malformed one or several as invalid_request', () => {
    assert.throws(() => credentials({}), MissingTokenError);
    assert.throws(() => credentials({ authorization: 'Basic dTpw' }), MissingTokenError);
    for (const bad of ['Bearer', 'Bearer ', 'Bearer a b', 'Bearer a"b', `Bearer ${'a'.repeat(9000)}`, 'Bearer =a'])
      assert.throws(() => credentials({ authorization: bad }), InvalidRequestError, bad.slice(0, 20));
    assert.throws(() => credentials({ authorization: ['Bearer a', 'Bearer b'] }), InvalidRequestError);
    const h = new Headers();
    h.append('authorization', 'Bearer a');
    h.append('authorization', 'Bearer b');
    assert.throws(() => credentials(h), InvalidRequestError);
  });
});

describe('requestUrl', () => {
  it("puts the request's path on the resource's origin, whatever the Host header or an absolute target says", () => {
    assert.equal(
      requestUrl({ method: 'GET', url: '/mcp?x=1', headers: {} }, 'https://api.example/mcp').href,
      'https://api.example/mcp?x=1',
    );
    assert.equal(
      requestUrl({ method: 'GET', url: 'http://evil.example/mcp', headers: {} }, 'https://api.example/').href,
      'https://api.example/mcp',
    );
    assert.equal(
      requestUrl({ method: 'GET', url: '//evil.example/x', headers: {} }, 'https://api.example/').href,
      'https://api.example/evil.example/x',
    );
  });
});
