/**
 * What the browser receives on the interactive pages: CSP with a per-response nonce, framing
 * refused, session cookie flags, and a fresh session id at every login (no session fixation).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { startServer, type RunningServer } from '../fixtures/server.ts';
import { authRequest, launchBrowser, rpConfig, screen, signIn, startCallbackServer, type CallbackServer } from './support.ts';
import { browserSkip } from './support.ts';

const SECRET = 'headers-test-client-secret-0123456789';
const PASSWORD = 'correct horse battery staple';
const FIXED = 'attacker-chosen-session-id-0123456789';

describe('browser-facing security', { skip: browserSkip }, () => {
  let server: RunningServer;
  let cb: CallbackServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let config: client.Configuration;

  before(async () => {
    cb = await startCallbackServer();
    [browser, server] = await Promise.all([
      launchBrowser(),
      startServer({
        bootstrap: {
          clients: [{ client_id: 'web', client_secret: SECRET, redirect_uris: [cb.url('/callback')], scope: 'openid profile' }],
          users: ['alice', 'bob'].map((username) => ({ username, password: PASSWORD })),
        },
      }),
    ]);
    config = await rpConfig(server.issuer, 'web', client.ClientSecretBasic(SECRET));
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await cb?.close();
  });

  const fresh = async () => {
    await context?.close();
    context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
  };

  /** The page's CSP: present, nonce'd, no framing, and its nonce is the one on the inline style. */
  async function checkPageHeaders(res: Response, what: string): Promise<string> {
    const h = await res.allHeaders();
    const csp = h['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'none'/, `${what}: CSP default-src`);
    assert.match(csp, /frame-ancestors 'none'/, `${what}: CSP frame-ancestors`);
    assert.match(csp, /base-uri 'none'/, `${what}: CSP base-uri`);
    const nonce = /'nonce-([A-Za-z0-9_-]+)'/.exec(csp)?.[1];
    assert.ok(nonce && nonce.length >= 16, `${what}: CSP carries a nonce`);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, `${what}: no unsafe-*`);
    assert.equal(h['x-frame-options'], 'DENY', `${what}: X-Frame-Options`);
    assert.equal(h['x-content-type-options'], 'nosniff', `${what}: nosniff`);
    assert.equal(h['referrer-policy'], 'no-referrer', `${what}: Referrer-Policy`);
    assert.match(h['cache-control'] ?? '', /no-store/, `${what}: not cached`);
    // Chromium hides nonce attributes from the DOM; the IDL property keeps the value.
    const styleNonce = await page.locator('style').first().evaluate((e) => (e as HTMLElement).nonce);
    assert.equal(styleNonce, nonce, `${what}: the inline style uses the CSP nonce`);
    // ...and the browser applied it (a blocked stylesheet would leave display: block).
    assert.equal(await page.evaluate(() => getComputedStyle(document.body).display), 'flex', `${what}: stylesheet applied under the CSP`);
    return nonce;
  }

  it('login and consent pages send a nonce-based CSP that refuses framing, and a new nonce each time', async () => {
    await fresh();
    const req = await authRequest(config, { redirect_uri: cb.url('/callback'), scope: 'openid profile' });
    const loginRes = await page.goto(req.url.href);
    assert.equal(await screen(page, cb.origin), 'login');
    const nonce1 = await checkPageHeaders(loginRes!, 'login page');
    const csp = await loginRes!.headerValue('content-security-policy');
    assert.match(csp ?? '', /form-action 'self' http:\/\/127\.0\.0\.1:\d+/, 'form-action allows only here and the redirect_uri origin');

    const reload = await page.reload();
    const nonce2 = await checkPageHeaders(reload!, 'reloaded login page');
    assert.notEqual(nonce2, nonce1);

    const consentRes = page.waitForResponse((r) => r.request().method() === 'GET' && new URL(r.url()).pathname.startsWith('/interaction/'));
    await signIn(page, 'alice', PASSWORD);
    assert.equal(await screen(page, cb.origin), 'consent');
    await checkPageHeaders(await consentRes, 'consent page');

    // The pages cannot be framed: Chromium blocks the frame and reports frame-ancestors.
    const messages: string[] = [];
    page.on('console', (m) => messages.push(m.text()));
    await page.goto(cb.url('/framer'));
    const framed = page.waitForEvent('framenavigated', { predicate: (f) => f !== page.mainFrame() });
    await page.setContent(`<iframe src="${server.issuer}/logout"></iframe>`);
    const frame = await framed;
    await page.waitForLoadState('load');
    assert.ok(!frame.url().startsWith(server.issuer), `the frame shows ${frame.url()}, not Tessera`);
    for (let i = 0; i < 20 && !messages.some((m) => m.includes('frame-ancestors')); i++) await page.waitForTimeout(50);
    assert.ok(messages.some((m) => m.includes("frame-ancestors 'none'")), `Chromium reported the CSP block: ${messages.join(' | ')}`);
  });

  it('session cookie is HttpOnly and SameSite=Lax, and a cookie planted before login is replaced', async () => {
    await fresh();
    await context.addCookies([{ name: 'tessera_session', value: FIXED, url: server.issuer }]);
    const req = await authRequest(config, { redirect_uri: cb.url('/callback'), scope: 'openid profile' });
    await page.goto(req.url.href);
    assert.equal(await screen(page, cb.origin), 'login', 'the planted cookie is not a session');

    const loginPost = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/login'));
    await signIn(page, 'alice', PASSWORD);
    const setCookies = await (await loginPost).headerValues('set-cookie');
    const raw = setCookies.flatMap((v) => v.split('\n')).find((c) => c.startsWith('tessera_session='));
    assert.ok(raw, 'the login response sets the session cookie');
    assert.match(raw, /;\s*HttpOnly/i);
    assert.match(raw, /;\s*SameSite=Lax/i);
    assert.match(raw, /;\s*Path=\//);

    const cookie = (await context.cookies(server.issuer)).find((c) => c.name === 'tessera_session');
    assert.ok(cookie);
    assert.notEqual(cookie.value, FIXED, 'session id chosen by the server, not the planted one');
    assert.ok(cookie.value.length >= 32);
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    const interaction = (await context.cookies(server.issuer)).find((c) => c.name === 'tessera_interaction');
    assert.ok(!interaction || interaction.httpOnly, 'interaction cookie, if still there, is HttpOnly');
  });

  it('signing in again issues a new session id and the old one stops working', async () => {
    await fresh();
    const first = await authRequest(config, { redirect_uri: cb.url('/callback'), scope: 'openid profile' });
    await page.goto(first.url.href);
    await signIn(page, 'bob', PASSWORD);
    if ((await screen(page, cb.origin)) === 'consent') await page.getByRole('button', { name: 'Allow', exact: true }).click();
    await page.waitForURL((u) => u.href.startsWith(cb.origin));
    const before = (await context.cookies(server.issuer)).find((c) => c.name === 'tessera_session')!;

    const again = await authRequest(config, { redirect_uri: cb.url('/callback'), scope: 'openid profile', prompt: 'login' });
    await page.goto(again.url.href);
    assert.equal(await screen(page, cb.origin), 'login');
    await signIn(page, 'bob', PASSWORD);
    assert.equal(await screen(page, cb.origin), 'callback');
    const after = (await context.cookies(server.issuer)).find((c) => c.name === 'tessera_session')!;
    assert.notEqual(after.value, before.value);

    // A browser holding only the old session id is not signed in.
    const other = await browser.newContext();
    try {
      await other.addCookies([{ name: 'tessera_session', value: before.value, url: server.issuer }]);
      const p2 = await other.newPage();
      const silent = await authRequest(config, { redirect_uri: cb.url('/callback'), scope: 'openid profile', prompt: 'none' });
      await p2.goto(silent.url.href);
      assert.equal(new URL(p2.url()).searchParams.get('error'), 'login_required');
    } finally {
      await other.close();
    }
  });

  it('JSON endpoints send a restrictive CSP and no-store', async () => {
    const res = await fetch(`${server.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=authorization_code' });
    await res.arrayBuffer();
    assert.equal(res.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'");
    assert.match(res.headers.get('cache-control') ?? '', /no-store/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
  });
});
