import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { wantsJwt } from './introspect.ts';

describe('introspection Accept negotiation (RFC 9701 section 4)', () => {
  it('asks for a JWT when the media type is listed with a non-zero q, in any case, among others', () => {
    for (const accept of [
      'application/token-introspection+jwt',
      'Application/Token-Introspection+JWT',
      'application/json, application/token-introspection+jwt',
      'application/token-introspection+jwt; q=0.5, application/json; q=0.1',
      'text/html,application/token-introspection+jwt;charset=utf-8',
    ])
      assert.equal(wantsJwt(accept), true, accept);
  });
  it('otherwise answers JSON', () => {
    for (const accept of [
      undefined,
      '',
      'application/json',
      '*/*',
      'application/jwt',
      'application/token-introspection+jwt; q=0',
      'application/token-introspection+jwtx',
      `application/json, ${'x'.repeat(1100)}, application/token-introspection+jwt`,
    ])
      assert.equal(wantsJwt(accept), false, String(accept));
  });
});
