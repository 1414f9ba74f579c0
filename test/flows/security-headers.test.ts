/**
 * What the browser receives on the interactive pages: CSP with a per-response nonce, framing
 * refused, session cookie flags, and a fresh session id at every login (no session fixation).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type * as client from 'openid-client';
import type { Response } from 'playwright-core';
import { authRequest, browserSkip, browserSuite, screen, signIn } from './support.ts';

const SECRET = 'headers-test-client-secret-0123456789';
const PASSWORD = 'correct horse battery staple';
const FIXED = 'attacker-chosen-session-id-0123456789';

describe('browser-facing security', { skip: browserSkip }, () => {
  const env = browserSuite(
    (cb) => ({
      clients: [
        { client_id: 'web', client_secret: SECRET, redirect_uris: [cb.url('/callback')], scope: 'openid profile' },
      ],
      users: ['alice', 'bob'].map((username) => ({ username, password: PASSWORD })),
    }),
    { secret: SECRET },
  );
  let config: client.Configuration;
  before(async () => {
    config = await env.webConfig('web');
  });

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
    const styleNonce = await env.page
      .locator('style')
      .first()
      .evaluate((e) => (e as HTMLElement).nonce);
    assert.equal(styleNonce, nonce, `${what}: the inline style uses the CSP nonce`);
    // ...and the browser applied it (a blocked stylesheet would leave display: block).
    assert.equal(
      await env.page.evaluate(() => getComputedStyle(document.body).display),
      'flex',
      `${what}: stylesheet applied under the CSP`,
    );
    return nonce;
  }

  it('login and consent pages send a nonce-based CSP that refuses framing, and a new nonce each time', async () => {
    await env.fresh();
    const req = await authRequest(config, { redirect_uri: env.cb.url('/callback'), scope: 'openid profile' });
    const loginRes = await env.page.goto(req.url.href);
    assert.equal(await screen(env.page, env.cb.origin), 'login');
    const nonce1 = await checkPageHeaders(loginRes!, 'login page');
    const csp = await loginRes!.headerValue('content-security-policy');
    assert.match(
      csp ?? '',
      /form-action 'self' http:\/\/127\.0\.0\.1:\d+/,
      'form-action allows only here and the redirect_uri origin',
    );

    const reload = await env.page.reload();
    const nonce2 = await checkPageHeaders(reload!, 'reloaded login page');
    assert.notEqual(nonce2, nonce1);

    const consentRes = env.page.waitForResponse(
      (r) => r.request().method() === 'GET' && new URL(r.url()).pathname.startsWith('/interaction/'),
    );
    await signIn(env.page, 'alice', PASSWORD);
    assert.equal(await screen(env.page, env.cb.origin), 'consent');
    await checkPageHeaders(await consentRes, 'consent page');

    // The pages cannot be framed: Chromium blocks the frame and reports frame-ancestors.
    const messages: string[] = [];
    env.page.on('console', (m) => messages.push(m.text()));
    await env.page.goto(env.cb.url('/framer'));
    const framed = env.page.waitForEvent('framenavigated', { predicate: (f) => f !== env.page.mainFrame() });
    await env.page.setContent(`<iframe src="${env.server.issuer}/logout"></iframe>`);
    const frame = await framed;
    await env.page.waitForLoadState('load');
    assert.ok(!frame.url().startsWith(env.server.issuer), `the frame shows ${frame.url()}, not Tessera`);
    for (let i = 0; i < 20 && !messages.some((m) => m.includes('frame-ancestors')); i++)
      await env.page.waitForTimeout(50);
    assert.ok(
      messages.some((m) => m.includes("frame-ancestors 'none'")),
      `Chromium reported the CSP block: ${messages.join(' | ')}`,
    );
  });

  it('session cookie is HttpOnly and SameSite=Lax, and a cookie planted before login is replaced', async () => {
    await env.fresh();
    await env.context.addCookies([{ name: 'tessera_session', value: FIXED, url: env.server.issuer }]);
    const req = await authRequest(config, { redirect_uri: env.cb.url('/callback'), scope: 'openid profile' });
    await env.page.goto(req.url.href);
    assert.equal(await screen(env.page, env.cb.origin), 'login', 'the planted cookie is not a session');

    const loginPost = env.page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/login'));
    await signIn(env.page, 'alice', PASSWORD);
    const setCookies = await (await loginPost).headerValues('set-cookie');
    const raw = setCookies.flatMap((v) => v.split('\n')).find((c) => c.startsWith('tessera_session='));
    assert.ok(raw, 'the login response sets the session cookie');
    assert.match(raw, /;\s*HttpOnly/i);
    assert.match(raw, /;\s*SameSite=Lax/i);
    assert.match(raw, /;\s*Path=\//);

    const cookie = (await env.context.cookies(env.server.issuer)).find((c) => c.name === 'tessera_session');
    assert.ok(cookie);
    assert.notEqual(cookie.value, FIXED, 'session id chosen by the server, not the planted one');
    assert.ok(cookie.value.length >= 32);
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    const interaction = (await env.context.cookies(env.server.issuer)).find((c) => c.name === 'tessera_interaction');
    assert.ok(!interaction || interaction.httpOnly, 'interaction cookie, if still there, is HttpOnly');
  });

  it('signing in again issues a new session id and the old one stops working', async () => {
    await env.fresh();
    const first = await authRequest(config, { redirect_uri: env.cb.url('/callback'), scope: 'openid profile' });
    await env.page.goto(first.url.href);
    await signIn(env.page, 'bob', PASSWORD);
    if ((await screen(env.page, env.cb.origin)) === 'consent')
      await env.page.getByRole('button', { name: 'Allow', exact: true }).click();
    await env.page.waitForURL((u) => u.href.startsWith(env.cb.origin));
    const before = (await env.context.cookies(env.server.issuer)).find((c) => c.name === 'tessera_session')!;

    const again = await authRequest(config, {
      redirect_uri: env.cb.url('/callback'),
      scope: 'openid profile',
      prompt: 'login',
    });
    await env.page.goto(again.url.href);
    assert.equal(await screen(env.page, env.cb.origin), 'login');
    await signIn(env.page, 'bob', PASSWORD);
    assert.equal(await screen(env.page, env.cb.origin), 'callback');
    const after = (await env.context.cookies(env.server.issuer)).find((c) => c.name === 'tessera_session')!;
    assert.notEqual(after.value, before.value);

    // A browser holding only the old session id is not signed in.
    const other = await env.browser.newContext();
    try {
      await other.addCookies([{ name: 'tessera_session', value: before.value, url: env.server.issuer }]);
      const p2 = await other.newPage();
      const silent = await authRequest(config, {
        redirect_uri: env.cb.url('/callback'),
        scope: 'openid profile',
        prompt: 'none',
      });
      await p2.goto(silent.url.href);
      assert.equal(new URL(p2.url()).searchParams.get('error'), 'login_required');
    } finally {
      await other.close();
    }
  });

  it('JSON endpoints send a restrictive CSP and no-store', async () => {
    const res = await fetch(`${env.server.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=authorization_code',
    });
    await res.arrayBuffer();
    assert.equal(res.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'");
    assert.match(res.headers.get('cache-control') ?? '', /no-store/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
  });
});
