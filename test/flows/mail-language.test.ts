/**
 * A mail in the language of the request that caused it (issue 18), against the real server (a child
 * process) and a real SMTP server: a password reset asked for from a browser that prefers German
 * arrives in German (subject, text, HTML with lang="de"); one asked for in English arrives in English.
 * No browser is needed: the forgot-password form is fetched and posted as a browser would.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LANGUAGE_COOKIE } from '../../src/i18n/negotiate.ts';
import type { ReceivedMail } from '../fixtures/smtp.ts';
import { mailSkip, startMailingServer, type MailingServer } from './support.ts';

/** A header's RFC 2047 encoded-words decoded (a subject with umlauts travels as =?UTF-8?Q?...?= or ?B?). */
function decodeHeader(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_, enc: string, text: string) =>
      enc.toLowerCase() === 'b'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(
            text
              .replace(/_/g, ' ')
              .replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
            'latin1',
          ).toString('utf8'),
    );
}

describe('mail language: a password reset in the language of the request', { skip: mailSkip }, () => {
  let mailing: MailingServer;

  before(async () => {
    mailing = await startMailingServer({
      bootstrap: {
        users: ['greta', 'ellen', 'pierre'].map((username) => ({
          username,
          password: 'a long and memorable passphrase',
          email: `${username}@example.org`,
          email_verified: true,
        })),
      },
    });
  });
  after(async () => {
    await mailing?.stop();
  });

  /**
   * Asks for a reset link for `username` as a browser sending `acceptLanguage` would, with the language
   * picked from the pages' links (`picked`, the cookie) when given.
   */
  async function forgot(username: string, acceptLanguage: string, picked?: string): Promise<void> {
    const { issuer } = mailing.server;
    const form = await fetch(`${issuer}/forgot-password`, { headers: { 'accept-language': acceptLanguage } });
    assert.equal(form.status, 200);
    const page = await form.text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1];
    assert.ok(csrf, 'the form has its CSRF token');
    const set = form.headers.getSetCookie().map((c) => c.split(';')[0]!);
    const prefix = set.some((c) => c.startsWith('__Host-')) ? '__Host-' : '';
    const cookie = [...set, ...(picked ? [`${prefix}${LANGUAGE_COOKIE}=${picked}`] : [])].join('; ');
    const sent = await fetch(`${issuer}/forgot-password`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': acceptLanguage, cookie },
      body: new URLSearchParams({ csrf, username }).toString(),
      redirect: 'manual',
    });
    assert.equal(sent.status, 200);
  }

  const resetTo = (address: string) => (m: ReceivedMail) =>
    m.to.includes(address) && m.links.some((l) => l.includes('/reset-password?token='));

  it('Accept-Language: de gets the mail in German', async () => {
    await forgot('greta', 'de-DE,de;q=0.9,en;q=0.5');
    const m = await mailing.smtp.waitFor(resetTo('greta@example.org'));
    assert.equal(decodeHeader(m.subject), 'Setzen Sie Ihr Passwort für Tessera zurück');
    assert.match(m.text, /^Hallo greta,/);
    assert.match(m.text, /Neues Passwort wählen: http/);
    assert.match(m.html, /<html lang="de">/);
    assert.doesNotMatch(m.text, /Choose a new password|If you did not ask/);
  });

  it("the language picked from the pages' links (its cookie) comes before Accept-Language", async () => {
    await forgot('pierre', 'de', 'fr');
    const m = await mailing.smtp.waitFor(resetTo('pierre@example.org'));
    assert.equal(decodeHeader(m.subject), 'Réinitialisez votre mot de passe Tessera');
    assert.match(m.text, /^Bonjour pierre,/);
    assert.match(m.html, /<html lang="fr">/);
  });

  it('Accept-Language: en gets it in English', async () => {
    await forgot('ellen', 'en-GB,en;q=0.9');
    const m = await mailing.smtp.waitFor(resetTo('ellen@example.org'));
    assert.equal(decodeHeader(m.subject), 'Reset your Tessera password');
    assert.match(m.text, /^Hello ellen,/);
    assert.match(m.html, /<html lang="en">/);
  });
});
