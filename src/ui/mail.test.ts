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

describe('mails in the language chosen when they were queued (issue 18)', () => {
  const vars = {
    username: 'ada',
    link: 'https://id.example/reset-password?token=abc',
    ttl: '900',
    time: 'Sat, 05 Dec 2026 10:30:00 GMT',
  };

  it('writes every template in German and French, the HTML root saying which', () => {
    for (const [locale, hello] of [
      ['de', /^Hallo ada,/],
      ['fr', /^Bonjour ada,/],
    ] as const) {
      for (const t of TEMPLATES) {
        const m = renderMail(t, vars, locale);
        assert.match(m.text, hello, `${locale} ${t}`);
        assert.ok(m.html.includes(`<html lang="${locale}">`), `${locale} ${t}`);
        assert.doesNotMatch(m.text, /Hello|If this was not you|If you did not ask|Or copy/, `${locale} ${t}`);
      }
    }
  });

  it('a German reset mail: subject, duration, button and the line to copy the link', () => {
    const m = renderMail('password-reset', vars, 'de');
    assert.equal(m.subject, 'Setzen Sie Ihr Passwort für Tessera zurück');
    assert.match(m.text, /15 Minuten lang gültig/);
    assert.match(m.text, /Neues Passwort wählen: https:\/\/id\.example\/reset-password\?token=abc/);
    assert.match(m.html, /Oder kopieren Sie diese Adresse in Ihren Browser:/);
  });

  it('a French factor mail names the method in French; the time is written in the mail’s language', () => {
    const m = renderMail('factor-added', { ...vars, kind: 'passkey' }, 'fr');
    assert.equal(m.subject, 'Une méthode de connexion a été ajoutée à votre compte Tessera');
    assert.match(m.text, /Une clé d’accès a été ajoutée à votre compte\./);
    assert.match(m.text, /Date : samedi 5 décembre 2026/);
    const de = renderMail('password-changed', vars, 'de');
    assert.match(de.text, /Zeitpunkt: Samstag, 5\. Dezember 2026/);
  });

  it('one unit: "1 hour", not "1 hours"', () => {
    assert.match(renderMail('verify-email', { ttl: '3600' }).text, /for 1 hour\./);
    assert.match(renderMail('verify-email', { ttl: '7200' }, 'de').text, /2 Stunden lang/);
  });

  it('without a language, English (a mail queued before mails had one)', () => {
    const m = renderMail('password-reset', vars);
    assert.equal(m.subject, 'Reset your Tessera password');
    assert.ok(m.html.includes('<html lang="en">'));
  });
});
