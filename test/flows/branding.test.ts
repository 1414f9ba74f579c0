/**
 * The deployment's branding and a client's logo in Chromium (issue 18): a Tessera server with a
 * brand from the environment (name, primary colour, footer links) and a logo uploaded through the
 * admin API, and a client whose logo_uri is on a server of this test. The login and consent pages
 * show the brand logo and name, the colours, the footer links, and on consent the client's logo
 * (served from Tessera's origin: the browser never asks the client's server), its name linking to
 * its home page and its policies; screenshots kept in test-artifacts/branding; no CSP violation.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../fixtures/server.ts';
import { startServer } from '../fixtures/server.ts';
import { pngTile } from '../fixtures/images.ts';
import {
  artifactsDir,
  authRequest,
  browserSkip,
  collectCspViolations,
  decide,
  launchBrowser,
  rpConfig,
  screenshot,
  secretWebClient,
  signIn,
  startCallbackServer,
  type CallbackServer,
} from './support.ts';
import * as client from 'openid-client';

const SUITE = 'branding';
const TOKEN = 'branding-flow-admin-token-0123456789-abcdefgh';
const SECRET = 'branding-flow-client-secret-0123456789';
const PASSWORD = 'correct horse battery staple';
/** The brand's logo: a wide-ish tile in the brand's blue; the client's: a green one. */
const BRAND_LOGO = pngTile(64, [11, 83, 148], [255, 255, 255]);
const CLIENT_LOGO = pngTile(96, [21, 128, 61], [240, 253, 244]);

describe('branding and client logos in the browser', { skip: browserSkip, timeout: 90_000 }, () => {
  let server: RunningServer;
  let cb: CallbackServer;
  let browser: Browser;
  let logos: Server;
  const logoHits: string[] = [];
  const violations: string[] = [];

  before(async () => {
    artifactsDir(SUITE, { clean: true });
    logos = createServer((req, res) => {
      logoHits.push(req.url ?? '');
      if (req.url === '/shop-logo.png') res.writeHead(200, { 'content-type': 'image/png' }).end(CLIENT_LOGO);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => logos.listen(0, '127.0.0.1', r));
    const logoOrigin = `http://127.0.0.1:${(logos.address() as AddressInfo).port}`;
    cb = await startCallbackServer();
    [browser, server] = await Promise.all([
      launchBrowser(),
      startServer({
        env: {
          TESSERA_ADMIN_TOKEN: TOKEN,
          TESSERA_CLIENT_JWKS_ALLOW_LOOPBACK: 'true',
          TESSERA_BRAND_NAME: 'Northwind ID',
          TESSERA_BRAND_PRIMARY_COLOR: '#0b5394',
          TESSERA_BRAND_PRIVACY_URL: 'https://northwind.example/privacy',
          TESSERA_BRAND_TERMS_URL: 'https://northwind.example/terms',
          TESSERA_BRAND_SUPPORT_URL: 'https://northwind.example/help',
        },
        bootstrap: {
          clients: [
            {
              ...secretWebClient(cb, {
                client_id: 'shop',
                client_name: 'Fabrikam Shop',
                client_secret: SECRET,
                scope: 'openid profile',
              }),
              logo_uri: `${logoOrigin}/shop-logo.png`,
              client_uri: 'https://shop.fabrikam.example/',
              policy_uri: 'https://shop.fabrikam.example/privacy',
              tos_uri: 'https://shop.fabrikam.example/terms',
            },
          ],
          users: [{ username: 'alice', password: PASSWORD, email: 'alice@example.com', email_verified: true }],
        },
      }),
    ]);
    // The brand's logo, uploaded as operators do (the admin API; the console's form takes the same input).
    const res = await fetch(`${server.issuer}/admin/api/v1/settings/branding`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ logo: BRAND_LOGO.toString('base64') }),
    });
    assert.equal(res.status, 200, await res.text());
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await cb?.close();
    logos?.closeAllConnections();
    await new Promise<void>((r) => (logos ? logos.close(() => r()) : r()));
  });

  const shoot = (page: Page, name: string) => screenshot(page, SUITE, name);
  /** Whether the image loaded (a broken image has no natural width). */
  const loaded = (page: Page, selector: string) =>
    page
      .locator(selector)
      .evaluate((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0);

  it('login and consent carry the brand and the client logo, with no CSP violation', async () => {
    const context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    await collectCspViolations(page, violations);
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));

    const config = await rpConfig(server.issuer, 'shop', client.ClientSecretBasic(SECRET));
    const req = await authRequest(config, { redirect_uri: cb.url('/callback'), scope: 'openid profile' });
    await page.goto(req.url.href);

    // The login page: the brand's logo and name, its title, colours and footer links.
    assert.match(await page.title(), / · Northwind ID$/);
    assert.equal(await page.locator('header.brand span').last().textContent(), 'Northwind ID');
    assert.ok(await loaded(page, 'header img.brand-logo'), 'the brand logo loaded');
    assert.equal(await page.locator('header img.brand-logo').getAttribute('alt'), 'Northwind ID');
    const button = await page
      .getByRole('button', { name: 'Sign in', exact: true })
      .evaluate((b) => getComputedStyle(b).backgroundColor);
    assert.equal(button, 'rgb(11, 83, 148)');
    for (const [name, href] of [
      ['Privacy', 'https://northwind.example/privacy'],
      ['Terms', 'https://northwind.example/terms'],
      ['Help', 'https://northwind.example/help'],
    ])
      assert.equal(await page.locator('footer').getByRole('link', { name }).getAttribute('href'), href);
    await shoot(page, 'login');

    await signIn(page, 'alice', PASSWORD);
    // The consent page: the client's logo from Tessera's origin, its name linking home, its policies.
    assert.equal((await page.locator('h1').textContent())?.trim(), 'Allow access?');
    assert.ok(await loaded(page, 'img.client-logo'), 'the client logo loaded');
    const src = await page.locator('img.client-logo').getAttribute('src');
    assert.equal(src, `${server.issuer}/clients/shop/logo`);
    assert.equal(
      await page.getByRole('link', { name: 'Fabrikam Shop' }).getAttribute('href'),
      'https://shop.fabrikam.example/',
    );
    assert.equal(
      await page.getByRole('link', { name: 'privacy policy' }).getAttribute('href'),
      'https://shop.fabrikam.example/privacy',
    );
    assert.equal(
      await page.getByRole('link', { name: 'terms of service' }).getAttribute('href'),
      'https://shop.fabrikam.example/terms',
    );
    assert.ok(await loaded(page, 'header img.brand-logo'));
    await shoot(page, 'consent');

    await decide(page, 'Allow');
    const hit = await cb.next('/callback');
    assert.ok(new URL(hit.url).searchParams.get('code'), 'the client got a code');

    // The browser asked only Tessera for images; Tessera fetched the client's logo once.
    const logoOrigin = `http://127.0.0.1:${(logos.address() as AddressInfo).port}`;
    assert.ok(!requests.some((u) => u.startsWith(logoOrigin)), requests.join('\n'));
    assert.deepEqual(logoHits, ['/shop-logo.png']);
    assert.deepEqual(violations, [], violations.join('\n'));
    await context.close();
  });
});
