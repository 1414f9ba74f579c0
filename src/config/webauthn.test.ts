import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, webauthnOriginsFor, webauthnRpIdFor } from './config.ts';
import { configProblems } from '../../test/fixtures/config.ts';

const at = (issuer: string, extra: Record<string, string> = {}) => ({ TESSERA_ISSUER: issuer, ...extra });

describe('passkey settings (RP ID and origins)', () => {
  it("defaults to the issuer's host and origin", () => {
    const c = loadConfig(at('http://localhost:4000'));
    assert.equal(webauthnRpIdFor(c), 'localhost');
    assert.deepEqual(webauthnOriginsFor(c), ['http://localhost:4000']);
  });

  it('takes the issuer host or a registrable parent domain of it', () => {
    const issuer = 'https://login.id.example.com/tenant';
    for (const [rpId, want] of [
      ['login.id.example.com', 'login.id.example.com'],
      ['id.example.com', 'id.example.com'],
      ['Example.COM.', 'example.com'],
    ]) {
      const c = loadConfig(at(issuer, { TESSERA_WEBAUTHN_RP_ID: rpId! }));
      assert.equal(webauthnRpIdFor(c), want);
    }
    const c = loadConfig(
      at(issuer, { TESSERA_WEBAUTHN_RP_ID: 'example.com', TESSERA_WEBAUTHN_ORIGINS: 'https://app.example.com/' }),
    );
    assert.deepEqual(webauthnOriginsFor(c), ['https://login.id.example.com', 'https://app.example.com']);
  });

  it('refuses, at start-up and by name, an RP ID that is not the issuer host or its registrable parent', () => {
    const issuer = 'https://login.example.co.uk';
    for (const [rpId, message] of [
      ['other.example', /must be the issuer's host \(login\.example\.co\.uk\) or a parent domain of it/],
      ['ogin.example.co.uk', /must be the issuer's host/],
      ['co.uk', /public suffix/],
      ['uk', /public suffix/],
      ['127.0.0.1', /not a domain name/],
      ['exa mple.co.uk', /not a domain name/],
    ] as const) {
      const problems = configProblems(at(issuer, { TESSERA_WEBAUTHN_RP_ID: rpId }));
      assert.ok(
        problems.some((p) => p.startsWith('TESSERA_WEBAUTHN_RP_ID:') && message.test(p)),
        `${rpId}: ${problems.join('; ')}`,
      );
    }
  });

  it('refuses origins that are not https origins under the RP ID', () => {
    const issuer = 'https://id.example.com';
    for (const origin of ['http://app.example.com', 'https://evil.example', 'https://app.example.com/path', 'nope']) {
      const problems = configProblems(
        at(issuer, { TESSERA_WEBAUTHN_RP_ID: 'example.com', TESSERA_WEBAUTHN_ORIGINS: origin }),
      );
      assert.ok(
        problems.some((p) => p.startsWith('TESSERA_WEBAUTHN_ORIGINS:')),
        `${origin}: ${problems.join('; ')}`,
      );
    }
  });
});
