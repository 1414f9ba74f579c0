import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loginPage } from './pages.ts';
import { passkeysPage } from './passkey-pages.ts';

const NONCE = 'n0nce-n0nce-n0nce';
const OPTIONS = JSON.stringify({ challenge: 'abc', rpId: 'id.example', note: '"><script>alert(1)</script>' });

describe('passkey pages', () => {
  it('the login page offers a passkey: autofill on the username, a button, the scripts by nonce, no inline script', () => {
    const doc = loginPage({
      nonce: NONCE,
      action: 'https://id.example/interaction/u/login',
      csrf: 'tok',
      clientName: 'App',
      passkey: {
        action: 'https://id.example/interaction/u/passkey',
        options: OPTIONS,
        assets: 'https://id.example/assets',
      },
      assetVersion: 'v1',
    });
    assert.match(doc, /autocomplete="username webauthn"/);
    assert.match(
      doc,
      /<form class="passkey-signin" method="post" action="https:\/\/id\.example\/interaction\/u\/passkey" data-passkey="login"/,
    );
    assert.match(doc, /data-options="\{&quot;challenge&quot;:&quot;abc&quot;/);
    assert.ok(!doc.includes('<script>alert(1)'), 'the options are escaped');
    assert.match(
      doc,
      /<button type="button" class="secondary" data-passkey-start hidden>Sign in with a passkey<\/button>/,
    );
    const scripts = [...doc.matchAll(/<script[^>]*>/g)].map((m) => m[0]);
    assert.deepEqual(scripts, [
      `<script nonce="${NONCE}" src="https://id.example/assets/webauthn.js?v=v1">`,
      `<script nonce="${NONCE}" src="https://id.example/assets/passkeys.js?v=v1">`,
    ]);
    assert.equal((doc.match(/name="csrf" value="tok"/g) ?? []).length, 2, 'both forms carry the CSRF token');
  });

  it('without a passkey block the login page is unchanged: no script, plain username autocomplete', () => {
    const doc = loginPage({ nonce: NONCE, action: '/login', csrf: 'tok', clientName: 'App' });
    assert.ok(!doc.includes('<script'));
    assert.match(doc, /autocomplete="username"/);
  });

  it('the passkeys page lists passkeys and has the registration form, working only with the script', () => {
    const doc = passkeysPage({
      nonce: NONCE,
      action: 'https://id.example/account/security/passkeys',
      csrf: 'tok',
      username: 'alice',
      options: OPTIONS,
      assets: 'https://id.example/assets',
      passkeys: [
        { name: 'Laptop <b>', createdAt: 1_700_000_000, lastUsedAt: null, synced: false },
        { name: 'Phone', createdAt: 1_700_000_000, lastUsedAt: 1_700_100_000, synced: true },
      ],
      continueTo: { path: '/interaction/abc', url: 'https://id.example/interaction/abc' },
      accountUrl: 'https://id.example/account',
    });
    assert.match(doc, /Laptop &lt;b&gt;/);
    assert.match(doc, /Passkey on one device/);
    assert.match(doc, /Synced passkey/);
    assert.match(doc, /Not used yet/);
    assert.match(doc, /Last used <time datetime="2023-11-16">/);
    assert.match(doc, /data-passkey="register"/);
    assert.match(doc, /<input type="hidden" name="continue" value="\/interaction\/abc">/);
    assert.match(doc, /<a href="https:\/\/id\.example\/interaction\/abc">Continue signing in<\/a>/);
    assert.match(doc, /<button type="submit" data-passkey-enabled disabled>Add a passkey<\/button>/);
    assert.match(doc, /<label for="passkey-name">Name/);
  });
});
