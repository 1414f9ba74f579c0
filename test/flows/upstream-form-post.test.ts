/**
 * Upstream sign-in in Chromium (issue 17), where only a browser can show it: a provider that answers
 * with a cross-site form_post (as Apple does). Tessera runs at http://localhost:PORT, the upstream
 * (node-oidc-provider, response_mode=form_post) at http://127.0.0.1:PORT: two sites, so the
 * provider's POST back arrives without Tessera's SameSite=Lax cookies, and Tessera bounces it once,
 * same-site (tessera_bounce=1), which brings them. A person clicks "Continue with <label>", signs in
 * at the provider, allows the application and lands at its callback with a code; the first sign-in
 * creates the user just in time, the second signs in as the same one. Every Tessera page runs under
 * the strict CSP and none may report a violation.
 *
 * The providers are stored in the server's database directly, as the admin functions store them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { wrapAccountSecret } from '../../src/accounts/secret-wrap.ts';
import { usernameKeys } from '../../src/accounts/usernames.ts';
import { openDatabase } from '../../src/adapters/sql/database.ts';
import { createSqlStores } from '../../src/adapters/sql/stores.ts';
import { freePort, startServer, type RunningServer } from '../fixtures/server.ts';
import { type OidcUpstream, startOidcUpstream } from '../fixtures/upstream-servers.ts';
import {
  browserSkip,
  collectCspViolations,
  decide,
  launchBrowser,
  screenshot,
  startCallbackServer,
  type CallbackServer,
} from './support.ts';
import { upstreamRecord } from '../fixtures/upstream-records.ts';

const KEK = 'flow-upstream-kek-0123456789abcdef0123456789abcdef';
const UPSTREAM_SECRET = 'flow-upstream-client-secret-0123456789';

describe('upstream sign-in with a cross-site form_post (Chromium)', { skip: browserSkip }, () => {
  let server: RunningServer;
  let cb: CallbackServer;
  let browser: Browser;
  let upstream: OidcUpstream;
  let dbUrl: string;

  before(async () => {
    cb = await startCallbackServer();
    dbUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'tessera-upstream-flow-')), 'tessera.db')}`;
    [browser, server] = await Promise.all([
      launchBrowser(),
      startServer({
        databaseUrl: dbUrl,
        env: { TESSERA_KEY_ENCRYPTION_KEY: KEK, TESSERA_MFA: 'off' },
        bootstrap: {
          clients: [
            {
              client_id: 'web',
              client_name: 'Upstream App',
              client_secret: 'flow-upstream-app-secret-0123456789',
              redirect_uris: [cb.url('/callback')],
              grant_types: ['authorization_code'],
              scope: 'openid profile',
            },
          ],
        },
      }),
    ]);
    upstream = await startOidcUpstream({
      clientId: 'tessera',
      clientSecret: UPSTREAM_SECRET,
      redirectUris: [`${server.issuer}/upstream/corp/callback`],
      users: [{ sub: 'u-fox', preferred_username: 'fox', email: 'fox@fbi.example', name: 'Fox Mulder' }],
      label: 'Corp ID',
    });
    // The provider, stored as the admin functions would (its secret wrapped under the server's KEK).
    const handle = await openDatabase(dbUrl);
    try {
      const stores = createSqlStores(handle, usernameKeys);
      const now = Math.floor(Date.now() / 1000);
      const corp = upstreamRecord('corp', {
        label: 'Corp ID',
        issuer: upstream.issuer,
        secretWrapped: await wrapAccountSecret(KEK, 'upstream:corp', UPSTREAM_SECRET),
        responseMode: 'form_post',
        privateNetwork: true,
        createdAt: now,
        updatedAt: now,
      });
      await stores.upstreams.put(corp);
      // Nothing listens there: a provider that is down.
      const dead = `http://127.0.0.1:${await freePort()}`;
      await stores.upstreams.put({
        ...corp,
        id: 'down',
        label: 'Down ID',
        order: 1,
        issuer: dead,
        secretWrapped: await wrapAccountSecret(KEK, 'upstream:down', UPSTREAM_SECRET),
      });
    } finally {
      await handle.close();
    }
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await upstream?.close();
    await cb?.close();
  });

  const authorizeUrl = () =>
    `${server.issuer}/authorize?${new URLSearchParams({
      client_id: 'web',
      redirect_uri: cb.url('/callback'),
      response_type: 'code',
      scope: 'openid profile',
      state: 'flow-state',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGUSMJ-cM0',
      code_challenge_method: 'S256',
    })}`;

  /** Clicks the provider's button, signs in at the provider, and follows the way back. */
  async function viaProvider(page: Page, bounces: string[]): Promise<void> {
    page.on('request', (r) => {
      if (r.url().startsWith(`${server.issuer}/upstream/corp/callback`) && r.method() === 'POST')
        bounces.push(r.postData()?.includes('tessera_bounce=1') ? 'bounced' : 'cross-site');
    });
    await page.goto(authorizeUrl());
    await page.getByRole('button', { name: 'Continue with Corp ID' }).click();
    await page.waitForURL((u) => u.href.startsWith(upstream.url));
    await page.getByLabel('Username').fill('fox');
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  it('first sign-in: the provider posts back cross-site, Tessera bounces it once, the user is created and signed in', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const violations = await collectCspViolations(page);
    const posts: string[] = [];
    await viaProvider(page, posts);
    await page.waitForURL((u) => u.href.startsWith(`${server.issuer}/interaction/`));
    await screenshot(page, 'upstream', 'consent-after-provider');
    await decide(page, 'Allow');
    const hit = new URL((await cb.next('/callback')).url);
    assert.equal(hit.searchParams.get('state'), 'flow-state');
    assert.ok(hit.searchParams.get('code'));
    // The provider's POST came without the binding cookie and was bounced exactly once.
    assert.deepEqual(posts, ['cross-site', 'bounced']);
    assert.deepEqual(violations, []);
    await context.close();
  });

  it('the second sign-in in another browser is the same user; the provider down is a clear page', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const posts: string[] = [];
    await viaProvider(page, posts);
    // Consent is remembered for this user: straight to the application.
    const hit = new URL((await cb.next('/callback')).url);
    assert.ok(hit.searchParams.get('code'));
    assert.deepEqual(posts, ['cross-site', 'bounced']);
    await context.close();
    // A provider that is down, in a browser with no session: the login page again, saying so.
    const fresh = await browser.newContext();
    const again = await fresh.newPage();
    await again.goto(authorizeUrl());
    await again.getByRole('button', { name: 'Continue with Down ID' }).click();
    await again.getByRole('alert').filter({ hasText: 'Down ID cannot be reached' }).waitFor();
    await screenshot(again, 'upstream', 'provider-down');
    await fresh.close();
  });
});
