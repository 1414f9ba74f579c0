import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ACR_PASSWORD,
  acrFor,
  acrAsked,
  acrLevel,
  essentialAcr,
  checkAcrRequest,
  claimsBeyondScopes,
  MAX_CLAIMS_LENGTH,
  parseClaimsRequest,
  requestedClaims,
} from './claims-request.ts';
import { OAuthError } from './errors.ts';

const invalid = (code: string) => (e: unknown) => e instanceof OAuthError && e.code === code;

describe('claims request parameter (OIDC Core 5.5)', () => {
  it('parses userinfo and id_token members, null and {essential, value, values}', () => {
    const c = parseClaimsRequest(
      JSON.stringify({
        userinfo: { email: { essential: true }, name: null },
        id_token: {
          acr: { essential: true, values: [ACR_PASSWORD, 'urn:other'] },
          auth_time: { essential: true },
          email: { value: 'a@b.c' },
        },
        other: 'ignored',
      }),
    );
    assert.deepEqual({ ...c.userinfo }, { email: { essential: true }, name: null });
    assert.deepEqual(
      { ...c.id_token },
      {
        acr: { essential: true, values: [ACR_PASSWORD, 'urn:other'] },
        auth_time: { essential: true },
        email: { value: 'a@b.c' },
      },
    );
    assert.deepEqual(parseClaimsRequest('{}'), { userinfo: {}, id_token: {} });
  });
  it('ignores unknown members inside a claim request and keeps __proto__ as a plain claim name', () => {
    const c = parseClaimsRequest('{"id_token":{"__proto__":null,"name":{"locale":"fr","essential":false}}}');
    assert.deepEqual(Object.keys(c.id_token).sort(), ['__proto__', 'name']);
    assert.deepEqual(c.id_token.name, { essential: false });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
  it('refuses malformed, mistyped and oversized requests with invalid_request', () => {
    const bad = [
      '',
      'not json',
      '{"userinfo":',
      '[]',
      '"x"',
      'null',
      '42',
      '{"userinfo":[]}',
      '{"userinfo":"email"}',
      '{"id_token":{"email":true}}',
      '{"id_token":{"email":[1]}}',
      '{"id_token":{"acr":{"essential":"yes"}}}',
      '{"id_token":{"acr":{"values":"a"}}}',
      '{"id_token":{"acr":{"values":[]}}}',
      '{"id_token":{"acr":{"values":[{"x":1}]}}}',
      '{"id_token":{"acr":{"value":{"x":1}}}}',
      '{"id_token":{"acr":{"value":"a","values":["a"]}}}',
      JSON.stringify({ id_token: { acr: { value: 'x'.repeat(257) } } }),
      JSON.stringify({ id_token: { acr: { values: Array.from({ length: 17 }, (_, i) => `v${i}`) } } }),
      JSON.stringify({ userinfo: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`c${i}`, null])) }),
      JSON.stringify({ userinfo: { ['x'.repeat(65)]: null } }),
      JSON.stringify({ userinfo: { '': null } }),
      JSON.stringify({ userinfo: { name: null }, pad: 'x'.repeat(MAX_CLAIMS_LENGTH) }),
    ];
    for (const raw of bad) assert.throws(() => parseClaimsRequest(raw), invalid('invalid_request'), raw.slice(0, 80));
  });
  it('keeps only the user claims Tessera can release, per member', () => {
    const c = parseClaimsRequest(
      '{"id_token":{"email":null,"acr":null,"sub":null,"x-unknown":null},"userinfo":{"family_name":null}}',
    );
    assert.deepEqual(requestedClaims(c), { id_token: ['email'], userinfo: ['family_name'] });
    assert.equal(requestedClaims(parseClaimsRequest('{"id_token":{"acr":null}}')), undefined);
    assert.equal(requestedClaims(undefined), undefined);
  });
  it('names the requested claims the scopes do not cover (they need consent)', () => {
    const r = { id_token: ['email', 'name'], userinfo: ['email_verified'] };
    assert.deepEqual(claimsBeyondScopes(r, ['openid']), ['email', 'email_verified', 'name']);
    assert.deepEqual(claimsBeyondScopes(r, ['openid', 'email']), ['name']);
    assert.deepEqual(claimsBeyondScopes(r, ['openid', 'email', 'profile']), []);
  });
});

describe('acr', () => {
  it('acrFor gives the highest level an amr reaches', () => {
    assert.equal(acrFor(['pwd']), ACR_PASSWORD);
    assert.equal(acrFor(['pwd', 'otp', 'mfa']), 'urn:tessera:acr:mfa');
    assert.equal(acrFor(['swk', 'user', 'mfa']), 'phr');
    assert.equal(acrFor(['pwd', 'hwk', 'user', 'mfa']), 'phrh');
    assert.equal(acrFor([]), undefined);
  });
  it('acrFor answers a request that named acr values with the highest of them reached (OIDC Core 5.5.1.1)', () => {
    const hardware = ['pwd', 'hwk', 'user', 'mfa'];
    assert.equal(acrFor(hardware, ['urn:tessera:acr:mfa']), 'urn:tessera:acr:mfa');
    assert.equal(acrFor(hardware, [ACR_PASSWORD, 'phr']), 'phr');
    assert.equal(acrFor(['pwd', 'otp', 'mfa'], [ACR_PASSWORD]), ACR_PASSWORD);
    // None reached (a voluntary request), or none known: the level reached.
    assert.equal(acrFor(['pwd'], ['phrh']), ACR_PASSWORD);
    assert.equal(acrFor(['pwd', 'otp', 'mfa'], ['urn:other']), 'urn:tessera:acr:mfa');
    assert.equal(acrFor([], ['phr']), undefined);
  });
  it('acrAsked is the lowest known level of a list (any one satisfies), undefined when none is known', () => {
    assert.equal(acrAsked(['phrh', 'urn:tessera:acr:mfa']), 1);
    assert.equal(acrAsked(['urn:other', 'phr']), 2);
    assert.equal(acrAsked(['urn:other']), undefined);
    assert.equal(acrAsked(undefined), undefined);
    assert.equal(acrLevel(ACR_PASSWORD), 0);
  });
  it('an essential acr request Tessera never asserts fails with unmet_authentication_requirements; known or voluntary ones do not', () => {
    const check = (raw: string) => checkAcrRequest(parseClaimsRequest(raw));
    assert.throws(
      () => check('{"id_token":{"acr":{"essential":true,"values":["urn:mfa"]}}}'),
      invalid('unmet_authentication_requirements'),
    );
    assert.throws(
      () => check('{"id_token":{"acr":{"essential":true,"value":"urn:mfa"}}}'),
      invalid('unmet_authentication_requirements'),
    );
    check(`{"id_token":{"acr":{"essential":true,"values":["urn:mfa","${ACR_PASSWORD}"]}}}`);
    check(`{"id_token":{"acr":{"essential":true,"value":"${ACR_PASSWORD}"}}}`);
    check('{"id_token":{"acr":{"essential":true,"value":"phrh"}}}');
    check('{"id_token":{"acr":{"essential":true}}}');
    check('{"id_token":{"acr":{"values":["urn:mfa"]}}}');
    check('{"userinfo":{"acr":{"essential":true,"value":"urn:mfa"}}}');
    checkAcrRequest(undefined);
    assert.deepEqual(essentialAcr(parseClaimsRequest('{"id_token":{"acr":{"essential":true,"value":"phr"}}}')), [
      'phr',
    ]);
    assert.equal(essentialAcr(parseClaimsRequest('{"id_token":{"acr":{"value":"phr"}}}')), undefined);
  });
});
