// A mail in the language its user chose (issue 18), delivered over SMTP to a real server
// (test/fixtures/smtp.ts): a user whose locale is 'fr' gets a reset link in French whatever the
// request's Accept-Language says, and an operator's reset (no request of the user's) too; a user
// without a choice gets an operator's mail in TESSERA_DEFAULT_LOCALE. The request's language itself
// is covered end to end in test/flows/mail-language.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser } from '../../src/accounts/users.ts';
import type { App } from '../../src/app.ts';
import type { UserRecord, UserStore } from '../../src/ports/users.ts';
import { requestReset, type ForgotDeps } from '../../src/protocol/interaction/recovery.ts';
import { testApp } from '../fixtures/app.ts';
import { hasOpenssl, makePki, type TestPki } from '../fixtures/certs.ts';
import { startSmtp, type SmtpFixture } from '../fixtures/smtp.ts';

const skip = hasOpenssl() ? false : 'openssl not installed';

describe('mails in the language the user chose', { skip }, () => {
  let pki: TestPki;
  let smtp: SmtpFixture;
  let app: App;
  let deps: ForgotDeps;

  before(async () => {
    pki = makePki();
    smtp = await startSmtp({ cert: pki.server });
    app = await testApp(
      'sqlite::memory:',
      { TESSERA_SMTP_URL: smtp.url, TESSERA_DEFAULT_LOCALE: 'de' },
      { mail: { tlsCa: pki.ca.certPem } },
    );
    const now = app.provider.now();
    for (const [username, locale] of [
      ['francine', 'fr'],
      ['dieter', null],
    ] as const) {
      const made = await createUser(
        app.stores,
        {
          username,
          password: 'a long and memorable passphrase',
          email: `${username}@example.org`,
          email_verified: true,
        },
        now,
        { origin: 'operator' },
      );
      assert.ok('user' in made);
      await app.stores.users.put({ ...made.user, locale });
    }
    // The user's choice as the store gives it back: when the users store does not keep `locale` yet
    // (its storage comes with the account page's setting), the record is read with it as put.
    const users = app.stores.users;
    const chosen: Record<string, string | null> = { francine: 'fr', dieter: null };
    const withLocale = (u: UserRecord | undefined) =>
      u && u.locale === undefined ? { ...u, locale: chosen[u.username] ?? null } : u;
    const view: UserStore = Object.create(users, {
      get: { value: async (id: string) => withLocale(await users.get(id)) },
      findByUsername: { value: async (name: string) => withLocale(await users.findByUsername(name)) },
    });
    deps = { ...app.provider, stores: { ...app.provider.stores, users: view } } as ForgotDeps;
  });
  after(async () => {
    await app?.close();
    await smtp?.stop();
    pki?.cleanup();
  });

  const resetMailTo = (address: string) =>
    smtp.waitFor((m) => m.to.includes(address) && m.links.some((l) => l.includes('/reset-password?token=')));

  it("a user whose locale is 'fr' gets the reset mail in French, whatever the browser asks", async () => {
    const asked = { headers: { 'accept-language': 'de, en;q=0.5' }, cookies: {} };
    assert.equal(await requestReset(deps, 'francine', '127.0.0.1', asked), 1);
    const m = await resetMailTo('francine@example.org');
    assert.match(m.text, /^Bonjour francine,/);
    assert.match(m.text, /Choisir un nouveau mot de passe\u00a0?\s?: http/);
    assert.match(m.html, /<html lang="fr">/);
  });

  it("an operator's reset (no request of the user's): the user's choice, else TESSERA_DEFAULT_LOCALE", async () => {
    smtp.messages.length = 0;
    assert.equal(await requestReset(deps, 'dieter'), 1);
    const de = await resetMailTo('dieter@example.org');
    assert.match(de.text, /^Hallo dieter,/);
    assert.match(de.html, /<html lang="de">/);
  });
});
