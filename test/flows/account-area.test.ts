/**
 * The account area in Chromium, as a person uses it on a phone-sized screen: sign in at /account,
 * enrol an authenticator app (the code computed from the key the page shows), see the session of a
 * second browser and end it, visit every page, download the data, delete the account. No page may
 * cause a Content-Security-Policy violation; a screenshot of each page is kept in test-artifacts/.
 * Then a person chooses their language on the profile: the area speaks it at once, and in a browser
 * they sign in with later.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../fixtures/server.ts';
import { browserSkip, collectCspViolations, launchBrowser, screenshot, signIn, submit } from './support.ts';

const PASSWORD = 'correct horse battery staple';

describe('account area in a browser', { skip: browserSkip }, () => {
  let server: RunningServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  /** Every CSP violation any page reported (Chromium logs each one to the console). */
  const violations: string[] = [];

  before(async () => {
    [browser, server] = await Promise.all([
      launchBrowser(),
      startServer({
        bootstrap: {
          users: [
            { username: 'alice', password: PASSWORD, email: 'alice@example.com', email_verified: true, name: 'Alice' },
            { username: 'bruno', password: PASSWORD, email: 'bruno@example.com', email_verified: true, name: 'Bruno' },
          ],
        },
      }),
    ]);
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await server?.stop();
  });

  async function phone(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, acceptDownloads: true });
    context.setDefaultTimeout(10_000);
    contexts.push(context);
    const page = await context.newPage();
    await collectCspViolations(page, violations);
    return page;
  }
  const shot = (page: Page, name: string) => screenshot(page, 'account-area', name);
  const heading = async (page: Page) => (await page.locator('h1').first().textContent())?.trim();
  const go = async (page: Page, path: string) => {
    await page.goto(`${server.issuer}${path}`);
  };

  it('signs in, enrols TOTP, ends another session, downloads the data and deletes the account, without a CSP violation', async () => {
    const a = await phone();
    await go(a, '/account');
    assert.equal(await heading(a), 'Sign in');
    await shot(a, 'login');
    await signIn(a, 'alice', PASSWORD);
    assert.equal(await heading(a), 'Your account');
    assert.match((await a.locator('main').textContent()) ?? '', /alice@example\.com/);
    await shot(a, 'overview');

    // Security: enrol an authenticator app from the key shown on the page.
    await a.getByRole('link', { name: 'Security' }).click();
    assert.equal(await heading(a), 'Security');
    await shot(a, 'security-empty');
    await submit(a, () => a.getByRole('link', { name: 'Add an authenticator app' }).click());
    assert.equal(await heading(a), 'Add an authenticator app');
    assert.equal(await a.locator('.qr svg').count(), 1, 'the QR code is inline');
    await shot(a, 'totp');
    const key = ((await a.locator('code.secret').textContent()) ?? '').replace(/\s/g, '');
    const code = new TOTP({ secret: Secret.fromBase32(key), digits: 6, period: 30 }).generate();
    await a.getByLabel('Code from the app').fill(code);
    await a.getByLabel('Name for this app (optional)').fill('Test phone');
    await submit(a, () => a.getByRole('button', { name: 'Add' }).click());
    assert.equal(await heading(a), 'Recovery codes');
    assert.equal(await a.locator('.codes li').count(), 10);
    await shot(a, 'recovery-codes-shown');
    await go(a, '/account/security');
    assert.match((await a.locator('main').textContent()) ?? '', /Test phone/);
    await shot(a, 'security');
    await go(a, '/account/security/recovery-codes');
    assert.match((await a.locator('main').textContent()) ?? '', /10\s+unused recovery codes/);
    await shot(a, 'recovery-codes');

    // A second browser signs in; the first sees it and ends it.
    const b = await phone();
    await go(b, '/account');
    await signIn(b, 'alice', PASSWORD);
    // Alice has an app now: her password alone no longer signs her in. The next step's code (the
    // enrolment's is spent: a code is accepted once).
    assert.equal(await heading(b), 'Second factor');
    const next = new TOTP({ secret: Secret.fromBase32(key), digits: 6, period: 30 }).generate({
      timestamp: Date.now() + 30_000,
    });
    await b.getByLabel('Code from your authenticator app').fill(next);
    await submit(b, () => b.getByRole('button', { name: 'Verify' }).click());
    assert.equal(await heading(b), 'Your account');
    await go(a, '/account/sessions');
    const items = a.locator('main ul.apps > li');
    assert.equal(await items.count(), 2);
    assert.equal(await a.getByText('This device').count(), 1);
    await shot(a, 'sessions');
    await submit(a, () => a.getByRole('button', { name: /^End the session of/ }).click());
    assert.match((await a.locator('.notice').textContent()) ?? '', /ended/);
    assert.equal(await items.count(), 1);
    await go(b, '/account/security');
    assert.equal(await heading(b), 'Sign in', 'the other browser was signed out');

    // The other pages.
    for (const [path, name, h1] of [
      ['/account/profile', 'profile', 'Profile'],
      ['/account/password', 'password', 'Change your password'],
      ['/account/activity', 'activity', 'Recent security activity'],
      ['/account/data', 'data', 'Download your data'],
      ['/account/delete', 'delete', 'Delete your account'],
    ] as const) {
      await go(a, path);
      assert.equal(await heading(a), h1, path);
      await shot(a, name);
    }
    await go(a, '/account/activity');
    const activity = (await a.locator('main').textContent()) ?? '';
    assert.match(activity, /Second factor added/);
    assert.match(activity, /Sessions ended/);

    // Download my data.
    await go(a, '/account/data');
    const [download] = await Promise.all([
      a.waitForEvent('download'),
      a.getByRole('button', { name: 'Download my data' }).click(),
    ]);
    const data = JSON.parse(readFileSync((await download.path())!, 'utf8'));
    assert.equal(data.profile.username, 'alice');
    assert.deepEqual(
      data.factors.map((f: { name: string }) => f.name),
      ['Test phone'],
    );
    assert.equal(JSON.stringify(data).includes(key), false, 'no TOTP secret in the export');

    // Delete the account.
    await go(a, '/account/delete');
    await a.getByLabel('Your password').fill(PASSWORD);
    await a.getByLabel('I want to delete my account').check();
    await submit(a, () => a.getByRole('button', { name: 'Delete my account' }).click());
    assert.equal(await heading(a), 'Account deleted');
    await shot(a, 'deleted');
    await go(a, '/account');
    await signIn(a, 'alice', PASSWORD);
    assert.equal(await heading(a), 'Sign in', 'the account is gone');

    assert.deepEqual(violations, []);
  });

  it('the language chosen on the profile is that of the next page, and of a browser signed in later', async () => {
    const a = await phone();
    await go(a, '/account');
    await signIn(a, 'bruno', PASSWORD);
    assert.equal(await heading(a), 'Your account');
    assert.equal(await a.locator('html').getAttribute('lang'), 'en');
    await a.getByRole('link', { name: 'Profile' }).click();
    await a.getByLabel('Language', { exact: true }).selectOption('de');
    await submit(a, () => a.getByRole('button', { name: 'Save' }).click());
    assert.equal(await a.locator('html').getAttribute('lang'), 'de');
    assert.equal(await heading(a), 'Profil');
    assert.equal((await a.locator('.notice').textContent())?.trim(), 'Gespeichert.');
    assert.equal(await a.getByLabel('Sprache', { exact: true }).inputValue(), 'de');
    await shot(a, 'profile-de');
    await go(a, '/account/security');
    assert.equal(await heading(a), 'Sicherheit');

    // A value that is not a language Tessera speaks: the form again (400), in the same language, nothing changed.
    await go(a, '/account/profile');
    await a.locator('#locale option[value="fr"]').evaluate((o) => {
      (o as HTMLOptionElement).value = 'xx';
    });
    await a.getByLabel('Sprache', { exact: true }).selectOption('xx');
    const [refused] = await Promise.all([
      a.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/account/profile')),
      submit(a, () => a.getByRole('button', { name: 'Speichern' }).click()),
    ]);
    assert.equal(refused.status(), 400);
    assert.match((await a.locator('#locale-error').textContent()) ?? '', /Wählen Sie eine der Sprachen/);

    // Another browser (no language cookie, an English Accept-Language): German once Bruno is signed in.
    const b = await phone();
    await go(b, '/account');
    await signIn(b, 'bruno', PASSWORD);
    assert.equal(await b.locator('html').getAttribute('lang'), 'de');
    assert.equal(await heading(b), 'Ihr Konto');
    await shot(b, 'overview-de');
    // French, then the browser's own language again.
    await go(b, '/account/profile');
    await b.getByLabel('Sprache', { exact: true }).selectOption('fr');
    await submit(b, () => b.getByRole('button', { name: 'Speichern' }).click());
    assert.equal(await b.locator('html').getAttribute('lang'), 'fr');
    assert.equal(await heading(b), 'Profil');
    await b.getByLabel('Langue', { exact: true }).selectOption('');
    await submit(b, () => b.getByRole('button', { name: 'Enregistrer' }).click());
    assert.equal(await b.locator('html').getAttribute('lang'), 'en');
    assert.equal((await b.locator('.notice').textContent())?.trim(), 'Saved.');
    assert.deepEqual(violations, []);
  });
});
