import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { refusal, wwwAuthenticate } from './challenge.ts';
import {
  InsufficientScopeError,
  InvalidDpopProofError,
  InvalidRequestError,
  InvalidTokenError,
  MissingTokenError,
  ServiceUnavailableError,
} from './errors.ts';

const base = {
  schemes: ['Bearer', 'DPoP'] as const,
  resourceMetadata: 'https://api.example/.well-known/oauth-protected-resource/v1',
  dpopAlgs: ['ES256', 'EdDSA'],
};

describe('challenges', () => {
  it('offers every scheme without an error when no credentials came (RFC 6750 section 3.1)', () => {
    assert.equal(
      wwwAuthenticate({ ...base, scope: ['a', 'b'] }, new MissingTokenError()),
      'Bearer scope="a b", resource_metadata="https://api.example/.well-known/oauth-protected-resource/v1", ' +
        'DPoP scope="a b", resource_metadata="https://api.example/.well-known/oauth-protected-resource/v1", algs="ES256 EdDSA"',
    );
  });

  it('puts the error in the challenge of the scheme used, first', () => {
    const header = wwwAuthenticate({ ...base, used: 'DPoP' }, new InvalidDpopProofError('The proof was used before.'));
    assert.match(header, /^DPoP error="invalid_dpop_proof", error_description="The proof was used before\."/);
    assert.match(header, /, Bearer resource_metadata=/);
    assert.equal(header.match(/error=/g)?.length, 1);
  });

  it('names the scopes of an insufficient_scope error in place of the route scopes', () => {
    const header = wwwAuthenticate(
      { ...base, used: 'Bearer', scope: ['b'] },
      new InsufficientScopeError('missing b', ['a', 'b']),
    );
    assert.match(
      header,
      /^Bearer error="insufficient_scope", error_description="missing b", scope="a b", resource_metadata=/,
    );
  });

  it('quotes and cleans values so a description cannot break the header', () => {
    const header = wwwAuthenticate(
      { schemes: ['Bearer'], used: 'Bearer', realm: 'a"b' },
      new InvalidTokenError('x"y\\z\r\nq'),
    );
    assert.equal(header, 'Bearer realm="a\\"b", error="invalid_token", error_description="x y z  q"');
  });

  it('maps each error to its status, with Retry-After on 503 and no challenge on 400', () => {
    const opts = { schemes: ['Bearer'] as const };
    assert.equal(refusal(new InvalidTokenError('x'), { ...opts }).status, 401);
    assert.equal(refusal(new InsufficientScopeError('x', ['s']), { ...opts }).status, 403);
    const bad = refusal(new InvalidRequestError('x'), { ...opts });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers['www-authenticate'], undefined);
    const down = refusal(new ServiceUnavailableError('x', { retryAfter: 7 }), { ...opts });
    assert.equal(down.status, 503);
    assert.equal(down.headers['retry-after'], '7');
    assert.equal(down.body.error, 'temporarily_unavailable');
    assert.equal(refusal(new MissingTokenError(), { ...opts }).headers['www-authenticate'], 'Bearer');
  });
});
