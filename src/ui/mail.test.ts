import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderMail } from './mail.ts';

const TEMPLATES = [
  'verify-email',
  'email-changed',
  'password-reset',
  'password-changed',
  'new-device',
  'factor-added',
  'factor-removed',
  'account-deleted',
];

it('renders every template as a subject, a text part and an HTML part', () => {
  for (const t of TEMPLATES) {
    const m = renderMail(t, { username: 'ada', link: 'https://id.example/x?token=abc', ttl: '900', time: 'now' });
    assert.ok(m.subject.length > 10, t);
    assert.match(m.text, /^Hello ada,/, t);
    assert.match(m.html, /^<!doctype html>/, t);
    assert.doesNotMatch(m.html, /<script|<link /, t);
  }
});

it('a link is in both parts; a reset link says how long it lasts', () => {
  const m = renderMail('password-reset', { link: 'https://id.example/reset-password?token=abc', ttl: '900' });
  assert.match(m.text, /https:\/\/id\.example\/reset-password\?token=abc/);
  assert.match(m.text, /15 minutes/);
  assert.match(m.html, /href="https:\/\/id\.example\/reset-password\?token=abc"/);
});

it('escapes every value in the HTML part', () => {
  const m = renderMail('new-device', { username: '<b>x</b>', browser: '"><script>alert(1)</script>' });
  assert.doesNotMatch(m.html, /<script>|<b>x/);
  assert.match(m.html, /&lt;b&gt;x&lt;\/b&gt;/);
});

it('a factor mail names what was added: a passkey, an app, or signing in through a provider', () => {
  assert.match(renderMail('factor-added', { kind: 'passkey' }).text, /A passkey was added/);
  assert.match(renderMail('factor-removed', { kind: 'totp' }).text, /An authenticator app was removed/);
  const up = renderMail('factor-added', { kind: 'upstream', provider: 'github' });
  assert.match(up.text, /Signing in through the provider "github" was added/);
  assert.match(
    up.html,
    /Signing in through the provider &quot;github&quot; was added|Signing in through the provider "github" was added/,
  );
});

describe('mails name the deployment by its brand', () => {
  it('uses the service name in the subject, the brand line and the signature', () => {
    const m = renderMail('verify-email', {
      service: 'Acme <ID>',
      address: 'a@example.com',
      link: 'https://id.example/v',
      ttl: '3600',
    });
    assert.match(m.subject, /for Acme <ID>$/);
    assert.ok(m.html.includes('Acme &lt;ID&gt;</div>'));
    assert.ok(m.text.endsWith('-- \nAcme <ID>\n'));
    assert.ok(renderMail('verify-email', { address: 'a@example.com' }).text.endsWith('-- \nTessera\n'));
  });
});
