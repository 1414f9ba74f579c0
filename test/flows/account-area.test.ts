/**
 * The account area in Chromium, as a person uses it on a phone-sized screen: sign in at /account,
 * enrol an authenticator app (the code computed from the key the page shows), see the session of a
 * second browser and end it, visit every page, download the data, delete the account. No page may
 * cause a Content-Security-Policy violation; a screenshot of each page is kept in test-artifacts/.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../fixtures/server.ts';
import { browserSkip, launchBrowser, signIn, submit } from './support.ts';

const PASSWORD = 'correct horse battery staple';
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');

describe('account area in a browser', { skip: browserSkip }, () => {
  let server: RunningServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  /** Every CSP violation any page reported (Chromium logs each one to the console). */
  const violations: string[] = [];

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    [browser, server] = await Promise.all([
      launchBrowser(),
      startServer({
        bootstrap: {
          users: [
            { username: 'alice', password: PASSWORD, email: 'alice@example.com', email_verified: true, name: 'Alice' },
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
    // Reported also as an event, in case a violation is not logged (init scripts are not subject to the CSP).
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) =>
        console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI}`),
      );
    });
    const page = await context.newPage();
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(`${page.url()}: ${m.text()}`);
    });
    return page;
  }
  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(ARTIFACTS, `account-${name}.png`), fullPage: true });
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
});
