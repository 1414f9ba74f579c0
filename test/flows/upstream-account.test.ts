/**
 * Linked sign-ins in Chromium, as a person uses them on a phone-sized screen, against the real
 * server (a child process) and a real upstream (oidc-provider on 127.0.0.1): sign in with a password,
 * link the provider from "Linked sign-ins" (its own login form filled in), sign in with it in a second
 * browser, sign out at the provider (whose back-channel logout ends that session, not the first),
 * then unlink it. No page may cause a Content-Security-Policy violation; screenshots are kept in
 * test-artifacts/upstream-account/.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { usernameKeys } from '../../src/accounts/usernames.ts';
import { openDatabase } from '../../src/adapters/sql/database.ts';
import { createSqlStores } from '../../src/adapters/sql/stores.ts';
import { saveUpstream } from '../../src/admin/upstreams.ts';
import { startServer, type RunningServer } from '../fixtures/server.ts';
import { startOidcUpstream, type OidcUpstream } from '../fixtures/upstream-servers.ts';
import { browserSkip, collectCspViolations, launchBrowser, screenshot, signIn, submit } from './support.ts';

const PASSWORD = 'correct horse battery staple';
const SECRET = randomBytes(24).toString('base64url');
const KEK = randomBytes(32).toString('base64url');

describe('linked sign-ins in a browser', { skip: browserSkip }, () => {
  let server: RunningServer;
  let corp: OidcUpstream;
  let browser: Browser;
  let closeDb: (() => Promise<void>) | undefined;
  const contexts: BrowserContext[] = [];
  const violations: string[] = [];

  before(async () => {
    // The upstream must know Tessera's callback and logout URLs before it starts; Tessera learns of
    // the upstream afterwards, when the provider is stored (as an operator's CLI would).
    const databaseFile = join(mkdtempSync(join(tmpdir(), 'tessera-upstream-flow-')), 'tessera.db');
    [browser, server] = await Promise.all([
      launchBrowser(),
      startServer({
        databaseUrl: `sqlite:${databaseFile}`,
        env: { TESSERA_KEY_ENCRYPTION_KEY: KEK },
        bootstrap: {
          users: [{ username: 'alice', password: PASSWORD, email: 'alice@example.com', email_verified: true }],
        },
      }),
    ]);
    corp = await startOidcUpstream({
      users: [{ sub: 'alice-at-corp', preferred_username: 'alice.corp', email: 'alice@corp.example', name: 'Alice' }],
      clientId: 'tessera',
      clientSecret: SECRET,
      redirectUris: [`${server.issuer}/upstream/corp/callback`],
      backchannelLogoutUri: `http://127.0.0.1:${server.port}/upstream/corp/backchannel-logout`,
      label: 'Corp',
    });
    const handle = await openDatabase(`sqlite:${databaseFile}`);
    closeDb = () => handle.close();
    const stores = createSqlStores(handle, usernameKeys);
    // As an operator adds it (tessera upstreams add): validated, its secret wrapped under the KEK.
    await saveUpstream(
      {
        stores,
        config: { keyEncryptionKey: KEK, keyEncryptionKeyPrevious: undefined, clientJwksAllowLoopback: true },
        now: () => Math.floor(Date.now() / 1000),
      },
      {
        id: 'corp',
        kind: 'oidc',
        label: 'Corp',
        issuer: corp.issuer,
        client_id: 'tessera',
        client_secret: SECRET,
        scopes: 'openid email profile',
        create_users: false,
        private_network: true,
      },
      'admin',
    );
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await closeDb?.();
    await server?.stop();
    await corp?.close();
  });

  async function phone(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    context.setDefaultTimeout(10_000);
    contexts.push(context);
    const page = await context.newPage();
    await collectCspViolations(page, violations);
    return page;
  }
  const shot = (page: Page, name: string) => screenshot(page, 'upstream-account', name);
  const heading = async (page: Page) => (await page.locator('h1').first().textContent())?.trim();
  /** The upstream's own login form: its one field, then "Sign in". */
  async function upstreamLogin(page: Page, user: string) {
    await page.waitForURL(`${corp.url}/**`);
    await page.getByLabel('Username').fill(user);
    await submit(page, () => page.getByRole('button', { name: 'Sign in', exact: true }).click());
  }

  it('links the provider, signs in with it, is signed out by its back-channel logout, and unlinks it', async () => {
    const a = await phone();
    await a.goto(`${server.issuer}/account`);
    await signIn(a, 'alice', PASSWORD);
    assert.equal(await heading(a), 'Your account');

    await submit(a, () => a.getByRole('link', { name: 'Linked sign-ins' }).click());
    assert.equal(await heading(a), 'Linked sign-ins');
    assert.match((await a.locator('.empty').textContent()) ?? '', /No other sign-in is linked/);
    await shot(a, '1-none-linked');
    await a.getByRole('button', { name: 'Link Corp' }).click();
    await upstreamLogin(a, 'alice.corp');
    await a.waitForURL(`${server.issuer}/account/linked?done=upstream-linked`);
    assert.match((await a.getByRole('status').textContent()) ?? '', /The sign-in was linked/);
    assert.match((await a.locator('.apps').first().textContent()) ?? '', /Corp[\s\S]*alice@corp\.example/);
    await shot(a, '2-linked');

    // A second browser signs in to the account with Corp alone.
    const b = await phone();
    await b.goto(`${server.issuer}/account`);
    await b.getByRole('button', { name: 'Continue with Corp' }).click();
    await upstreamLogin(b, 'alice.corp');
    await b.waitForURL(`${server.issuer}/account`);
    assert.equal(await heading(b), 'Your account');
    await shot(b, '3-signed-in-with-corp');

    // The person signs out at Corp: Corp tells Tessera, whose session in b ends; a's (a password
    // sign-in) does not.
    const told = await corp.endSessions('alice-at-corp');
    assert.ok(told.length >= 1 && told.every((r) => r.ok), JSON.stringify(told));
    await b.reload();
    assert.equal(await heading(b), 'Sign in');
    await a.goto(`${server.issuer}/account`);
    assert.equal(await heading(a), 'Your account');

    // Unlinked from the account page (a's sign-in is recent).
    await a.goto(`${server.issuer}/account/linked`);
    await submit(a, () => a.getByRole('button', { name: 'Unlink Corp (alice@corp.example)' }).click());
    assert.match((await a.getByRole('status').textContent()) ?? '', /The sign-in was unlinked/);
    assert.ok(await a.getByRole('button', { name: 'Link Corp' }).isVisible());
    await shot(a, '4-unlinked');

    assert.deepEqual(violations, []);
  });
});
