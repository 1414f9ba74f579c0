import assert from 'node:assert/strict';
import { msg } from '../i18n/catalog.ts';
import { describe, it } from 'node:test';
import { mfaEnrolPage, secondFactorPage } from './second-factor-page.ts';

const view = {
  nonce: 'n0nce',
  action: 'https://id.example/interaction/abc/mfa',
  csrf: 'tok',
  clientName: '<Evil & Co>',
  username: 'alice',
  method: 'totp' as const,
  totp: true,
  recovery: true,
  remember: false,
};

describe('second-factor pages', () => {
  it('asks for an app code (one-time-code autocomplete), links to a recovery code, escapes the client name', () => {
    const page = secondFactorPage(view);
    assert.match(page, /autocomplete="one-time-code"/);
    assert.match(page, /name="csrf" value="tok"/);
    assert.ok(page.includes('href="https://id.example/interaction/abc/mfa?method=recovery"'));
    assert.ok(page.includes('&lt;Evil &amp; Co&gt;'));
    assert.ok(!page.includes('<Evil'));
    assert.ok(!page.includes('<script'), 'no script without a passkey block');
    assert.ok(!page.includes('name="remember"'));
  });
  it('the recovery form, the remember box, and the passkey slot (scripts by nonce)', () => {
    const page = secondFactorPage({
      ...view,
      method: 'recovery',
      remember: true,
      error: msg('interaction.error.recoveryInvalid'),
      passkey: {
        action: '/a',
        options: '{"challenge":"x"}',
        assets: 'https://id.example/assets',
        label: msg('interaction.login.usePasskey'),
      },
      assetVersion: 'v1',
    });
    assert.match(page, /name="method" value="recovery"/);
    assert.match(page, /name="remember"/);
    assert.match(page, /role="alert"/);
    assert.match(page, /<script nonce="n0nce" src="https:\/\/id.example\/assets\/passkeys.js\?v=v1"><\/script>/);
    assert.match(page, /data-options="\{&quot;challenge&quot;:&quot;x&quot;\}"/);
    assert.match(page, /Use a passkey/);
    assert.ok(page.includes('Use your authenticator app instead'));
  });
  it('the enrolment prompt: the enrolment link, and skip only within the grace period', () => {
    const base = {
      nonce: 'n',
      clientName: 'App',
      username: 'bob',
      factor: 'totp' as const,
      enrol: { action: 'https://id.example/account/security/totp', continueTo: '/interaction/x' },
    };
    assert.ok(!mfaEnrolPage(base).includes('Skip for now'));
    const page = mfaEnrolPage({ ...base, skip: { action: '/s', csrf: 'c', until: 1_800_000_000 } });
    assert.match(page, /Skip for now/);
    assert.match(page, /2027-01-15/);
    assert.ok(page.includes('<form method="get" action="https://id.example/account/security/totp">'));
    assert.ok(page.includes('<input type="hidden" name="continue" value="/interaction/x">'));
  });
});
