/**
 * Upstream sign-in as people use it (issue 17, "tested as a person would"): the real server (a child
 * process), Chromium at a phone's width, an openid-client relying party (authorization code + PKCE,
 * the ID token checked), and real upstreams on 127.0.0.1 configured as an operator does (`tessera
 * upstream add -`): a second Tessera (dogfooding), node-oidc-provider (email_verified true and false),
 * and the GitHub- and Microsoft-shaped servers.
 *
 * In the browser: a first sign-in through the second Tessera creates the user just in time (the
 * application's ID token has `fed` in amr) and the second is the same user, who cannot unlink the
 * only way into the account; a verified upstream email of a local account is not linked (the page
 * says to sign in first), the person signs in with the password, links the provider from "Linked
 * sign-ins" and then signs in with it; an unverified upstream email matching a local account makes
 * a separate account; an identity linked to one account cannot be linked to another; unlinking; an
 * upstream stopped mid-sign-in gives a clear 503 page with the way back, and the password still
 * works there. Over HTTP: a replayed callback, a wrong state, a code of another authorization
 * request (not redeemable with this request's PKCE verifier), mix-up (another issuer's `iss`, and a
 * state brought to another provider's callback), a Microsoft-shaped token from another tenant with
 * a local account's email, GitHub's unverified primary email, and tessera_idp_hint. No page may
 * report a CSP violation or answer a 5xx other than the 503 of a provider that is down; Tessera's
 * pages must fit a phone's width. Screenshots go to test-artifacts/upstream-journey/.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { runCli } from '../fixtures/cli.ts';
import { startServer, type RunningServer } from '../fixtures/server.ts';
import {
  CookieJar,
  type GithubShaped,
  type MicrosoftShaped,
  type OidcUpstream,
  startGithubShaped,
  startMicrosoftShaped,
  startOidcUpstream,
  startTesseraUpstream,
  type TesseraUpstream,
} from '../fixtures/upstream-servers.ts';
import {
  artifactsDir,
  authRequest,
  browserSkip,
  collectCspViolations,
  decide,
  launchBrowser,
  rpConfig,
  screen,
  screenshot,
  signIn,
  startCallbackServer,
  submit,
  type AuthRequest,
  type CallbackServer,
} from './support.ts';

const PASSWORD = 'correct horse battery staple';
const APP_SECRET = randomBytes(24).toString('base64url');
const UPSTREAM_SECRET = randomBytes(24).toString('base64url');
const KEK = randomBytes(32).toString('base64url');
const SCOPE = 'openid profile email';
const SUITE = 'upstream-journey';
const TENANT_A = 'aaaaaaaa-1111-4111-8111-aaaaaaaaaaaa';
const TENANT_B = 'bbbbbbbb-2222-4222-8222-bbbbbbbbbbbb';

describe('upstream sign-in, as people use it', { skip: browserSkip }, () => {
  let server: RunningServer;
  let cb: CallbackServer;
  let browser: Browser;
  let hq: TesseraUpstream;
  let corp: OidcUpstream;
  let flaky: OidcUpstream;
  let entra: MicrosoftShaped;
  let github: GithubShaped;
  const contexts: BrowserContext[] = [];
  /** Every CSP violation or script error of every page. */
  const violations: string[] = [];
  /** Every answer of 500 or above from Tessera (a provider that is down answers 503, kept apart). */
  const failures: string[] = [];
  let shots = 0;
  /** The local account alice's subject, as the application sees it after a password sign-in. */
  let aliceSub = '';
  /** The subject of the account HQ's walter made just in time. */
  let walterSub = '';

  before(async () => {
    artifactsDir(SUITE, { clean: true });
    cb = await startCallbackServer();
    const databaseUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'tessera-upstream-journey-')), 'tessera.db')}`;
    [browser, server] = await Promise.all([
      launchBrowser(),
      startServer({
        databaseUrl,
        env: { TESSERA_KEY_ENCRYPTION_KEY: KEK, TESSERA_RATE_LIMITING: 'false' },
        bootstrap: {
          clients: [
            {
              client_id: 'web',
              client_name: 'Journey App',
              client_secret: APP_SECRET,
              token_endpoint_auth_method: 'client_secret_basic',
              redirect_uris: [cb.url('/callback')],
              grant_types: ['authorization_code'],
              scope: SCOPE,
            },
            // The attacks over HTTP use a first-party client (no consent page) that redirects to a
            // path of the relying party nobody navigates to: its codes are redeemed from the Location.
            {
              client_id: 'probe',
              client_name: 'Probe App',
              client_secret: APP_SECRET,
              token_endpoint_auth_method: 'client_secret_basic',
              redirect_uris: [cb.url('/probe')],
              grant_types: ['authorization_code'],
              scope: SCOPE,
              skip_consent: true,
            },
          ],
          users: [
            { username: 'alice', password: PASSWORD, email: 'alice@example.com', email_verified: true },
            { username: 'bob', password: PASSWORD, email: 'bob@example.com', email_verified: true },
          ],
        },
      }),
    ]);
    const callback = (id: string) => `${server.issuer}/upstream/${id}/callback`;
    const oidcClient = { clientId: 'tessera', clientSecret: UPSTREAM_SECRET };
    [hq, corp, flaky, entra, github] = await Promise.all([
      startTesseraUpstream({
        clientSecret: UPSTREAM_SECRET,
        redirectUris: [callback('hq')],
        users: [
          {
            username: 'walter',
            password: PASSWORD,
            email: 'walter@hq.example',
            email_verified: true,
            name: 'Walter Skinner',
          },
        ],
      }),
      startOidcUpstream({
        ...oidcClient,
        redirectUris: [callback('corp')],
        label: 'Corp',
        users: [
          // alice's own address, verified at Corp: the same person, or someone who took it over there.
          { sub: 'corp-alice', preferred_username: 'alice.corp', email: 'alice@example.com', name: 'Alice' },
          // alice's address, not verified at Corp: anyone could have typed it.
          {
            sub: 'corp-mallory',
            preferred_username: 'mallory',
            email: 'alice@example.com',
            email_verified: false,
            name: 'Mallory',
          },
          { sub: 'corp-carol', preferred_username: 'carol', email: 'carol@corp.example', name: 'Carol' },
        ],
      }),
      startOidcUpstream({
        ...oidcClient,
        redirectUris: [callback('flaky')],
        label: 'Flaky',
        users: [{ sub: 'flaky-fiona', preferred_username: 'fiona', email: 'fiona@flaky.example' }],
      }),
      startMicrosoftShaped({
        ...oidcClient,
        redirectUris: [callback('entra')],
        users: [
          { tid: TENANT_A, preferred_username: 'boss@a.example', email: 'alice@example.com', name: 'Boss' },
          { tid: TENANT_B, preferred_username: 'evil@b.example', email: 'alice@example.com', name: 'Not the boss' },
        ],
      }),
      startGithubShaped({
        ...oidcClient,
        redirectUri: callback('github'),
        users: [
          {
            id: 2001,
            login: 'alice',
            email: 'alice@example.com',
            emails: [{ email: 'alice@example.com', primary: true, verified: false }],
          },
        ],
      }),
    ]);
    // As an operator adds them: `tessera upstream add -`, the secret through an environment variable.
    const common = { client_id: 'tessera', client_secret_env: 'UPSTREAM_SECRET', private_network: true };
    const providers = [
      {
        id: 'hq',
        kind: 'oidc',
        label: 'HQ Tessera',
        order: 1,
        issuer: hq.issuer,
        client_id: hq.clientId,
        client_secret_env: 'UPSTREAM_SECRET',
        private_network: true,
        create_users: true,
      },
      { ...common, id: 'corp', kind: 'oidc', label: 'Corp', order: 2, issuer: corp.issuer, create_users: true },
      { ...common, id: 'flaky', kind: 'oidc', label: 'Flaky', order: 3, issuer: flaky.issuer, create_users: true },
      {
        ...common,
        id: 'entra',
        preset: 'microsoft',
        label: 'Microsoft',
        order: 4,
        base_url: entra.url,
        tenant: 'common',
        client_auth: 'client_secret_post',
        create_users: true,
      },
      {
        ...common,
        id: 'github',
        preset: 'github',
        label: 'GitHub',
        order: 5,
        base_url: github.url,
        api_base_url: github.apiUrl,
        client_auth: 'client_secret_post',
        create_users: true,
      },
    ];
    const added = await runCli(
      ['upstream', 'add', '-'],
      {
        DATABASE_URL: databaseUrl,
        TESSERA_KEY_ENCRYPTION_KEY: KEK,
        TESSERA_ISSUER: server.issuer,
        UPSTREAM_SECRET,
      },
      JSON.stringify({ upstreams: providers }),
    );
    assert.equal(added.code, 0, `${added.out}\n${added.err}`);
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await server?.stop();
    await Promise.all([hq?.close(), corp?.close(), flaky?.close(), entra?.close(), github?.close(), cb?.close()]);
  });

  // ---- the browser ------------------------------------------------------------------------------

  /** A new browser profile at a phone's size, its pages watched for CSP violations and 5xx answers. */
  async function phone(into: string[] = violations): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    context.setDefaultTimeout(10_000);
    contexts.push(context);
    const page = await context.newPage();
    await collectCspViolations(page, into);
    page.on('response', (r) => {
      if (r.url().startsWith(server.issuer) && r.status() >= 500 && r.status() !== 503)
        failures.push(`${r.status()} ${r.request().method()} ${r.url()}`);
    });
    return page;
  }
  const heading = async (page: Page) => (await page.locator('h1').first().textContent())?.trim();
  /** A screenshot, after checking the page fits the phone's width (nothing to scroll sideways). */
  async function shot(page: Page, name: string) {
    const { scroll, width } = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      width: window.innerWidth,
    }));
    assert.ok(scroll <= width, `${name}: ${scroll}px wide on a ${width}px screen (${page.url()})`);
    await screenshot(page, SUITE, `${String(++shots).padStart(2, '0')}-${name}`);
  }
  const app = () => rpConfig(server.issuer, 'web', client.ClientSecretBasic(APP_SECRET));
  const probe = () => rpConfig(server.issuer, 'probe', client.ClientSecretBasic(APP_SECRET));

  /** The application sends the browser to Tessera: the login page. */
  async function startAtApp(
    page: Page,
    extra: Record<string, string> = {},
  ): Promise<{ cfg: client.Configuration; req: AuthRequest }> {
    const cfg = await app();
    const req = await authRequest(cfg, { redirect_uri: cb.url('/callback'), scope: SCOPE, ...extra });
    await page.goto(req.url.href);
    assert.equal(await heading(page), 'Sign in');
    return { cfg, req };
  }
  /** Consents when asked, then redeems the code at the application: the ID token's claims. */
  async function finish(page: Page, cfg: client.Configuration, req: AuthRequest) {
    await page.waitForURL((u) => u.href.startsWith(cb.origin) || u.pathname.includes('/interaction/'));
    if ((await screen(page, cb.origin)) === 'consent') {
      await shot(page, 'consent');
      await decide(page, 'Allow');
    }
    const hit = await cb.next('/callback');
    const tokens = await client.authorizationCodeGrant(cfg, new URL(hit.url), {
      pkceCodeVerifier: req.verifier,
      expectedState: req.state,
      expectedNonce: req.nonce,
    });
    return tokens.claims()!;
  }
  /** Presses "Continue with <label>" on a Tessera login page. */
  const continueWith = (page: Page, label: string) =>
    page.getByRole('button', { name: `Continue with ${label}`, exact: true }).click();
  /** The one-field login form of the oidc-provider upstream at `url`. */
  async function upstreamLogin(page: Page, url: string, user: string) {
    await page.waitForURL((u) => u.href.startsWith(url));
    await page.getByLabel('Username').fill(user);
    await submit(page, () => page.getByRole('button', { name: 'Sign in', exact: true }).click());
  }

  it('a second Tessera as upstream: the first sign-in creates the user (amr fed), the second is the same; its only way in is not unlinked', async () => {
    const first = await phone();
    const { cfg, req } = await startAtApp(first);
    await shot(first, 'login-with-providers');
    await continueWith(first, 'HQ Tessera');
    await first.waitForURL((u) => u.href.startsWith(hq.issuer));
    assert.equal(await heading(first), 'Sign in');
    await signIn(first, 'walter', PASSWORD);
    const claims = await finish(first, cfg, req);
    assert.ok((claims.amr as string[]).includes('fed'), `amr ${JSON.stringify(claims.amr)}`);
    assert.equal(claims.preferred_username, 'walter');
    assert.equal(claims.email, 'walter@hq.example');
    // HQ said the address is verified: the account made just in time keeps it so.
    assert.equal(claims.email_verified, true);
    walterSub = claims.sub;

    // The second sign-in, in another browser: the same user (not a second just-in-time account).
    const second = await phone();
    const again = await startAtApp(second, { prompt: 'consent' });
    await continueWith(second, 'HQ Tessera');
    await second.waitForURL((u) => u.href.startsWith(hq.issuer));
    await signIn(second, 'walter', PASSWORD);
    const claims2 = await finish(second, again.cfg, again.req);
    assert.equal(claims2.sub, claims.sub);
    assert.ok((claims2.amr as string[]).includes('fed'));

    // The account has no password and no passkey: its only identity is not unlinked.
    await second.goto(`${server.issuer}/account/linked`);
    assert.equal(await heading(second), 'Linked sign-ins');
    await submit(second, () => second.getByRole('button', { name: /^Unlink HQ Tessera/ }).click());
    assert.match((await second.getByRole('alert').textContent()) ?? '', /only way you can sign in/);
    assert.ok(await second.getByRole('button', { name: /^Unlink HQ Tessera/ }).isVisible());
    await shot(second, 'unlink-last-refused');
  });

  // When a sign-in through a provider ends at the application (consent given before), the callback's
  // answer leaves Tessera. That request is part of the redirect chain of the form the person sent at
  // the provider, which Chromium holds to that page's CSP form-action (HQ's login page names only
  // itself and its client, this Tessera): so the callback goes on through its "Continuing" page.
  it('a sign-in through HQ that goes straight on to the application (consent given before) reaches it', async () => {
    const own: string[] = [];
    const page = await phone(own);
    const { cfg, req } = await startAtApp(page);
    await continueWith(page, 'HQ Tessera');
    await page.waitForURL((u) => u.href.startsWith(hq.issuer));
    await page.getByLabel('Username').fill('walter');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    const hit = await cb.next('/callback', 3000).catch((e: Error) => {
      throw new Error(`${e.message}; the browser is at ${page.url()}; it reported: ${own.join(' | ')}`);
    });
    const tokens = await client.authorizationCodeGrant(cfg, new URL(hit.url), {
      pkceCodeVerifier: req.verifier,
      expectedState: req.state,
      expectedNonce: req.nonce,
    });
    assert.equal(tokens.claims()!.sub, walterSub);
    assert.deepEqual(own, []);
  });

  it('Corp (oidc-provider): no automatic link on a verified email; the password, then the link, then a sign-in with Corp', async () => {
    const a = await phone();
    let { cfg, req } = await startAtApp(a);
    await continueWith(a, 'Corp');
    await upstreamLogin(a, corp.url, 'alice.corp');
    assert.equal(await heading(a), 'Sign in to your account first');
    assert.match((await a.getByRole('alert').textContent()) ?? '', /An account with this email exists/);
    await shot(a, 'email-in-use');
    // The way back: the login page, where alice signs in with her password.
    await submit(a, () => a.getByRole('link', { name: 'Back to the sign-in page' }).click());
    assert.equal(await heading(a), 'Sign in');
    await signIn(a, 'alice', PASSWORD);
    const claims = await finish(a, cfg, req);
    assert.ok(!(claims.amr as string[]).includes('fed'));
    aliceSub = claims.sub;

    // Linked from the account page (the sign-in is recent). The browser is still signed in at Corp,
    // which may answer without its form.
    await a.goto(`${server.issuer}/account/linked`);
    await shot(a, 'linked-none');
    await a.getByRole('button', { name: 'Link Corp', exact: true }).click();
    await a.waitForURL(
      (u) =>
        u.href.startsWith(`${server.issuer}/account/linked?done=`) || u.href.startsWith(`${corp.url}/interaction/`),
    );
    if (a.url().startsWith(corp.url)) await upstreamLogin(a, corp.url, 'alice.corp');
    await a.waitForURL(`${server.issuer}/account/linked?done=upstream-linked`);
    assert.match((await a.getByRole('status').textContent()) ?? '', /The sign-in was linked/);
    await shot(a, 'linked-corp');

    // Another browser: Corp alone signs alice in.
    const b = await phone();
    ({ cfg, req } = await startAtApp(b));
    await continueWith(b, 'Corp');
    await upstreamLogin(b, corp.url, 'alice.corp');
    const viaCorp = await finish(b, cfg, req);
    assert.equal(viaCorp.sub, aliceSub);
    assert.ok((viaCorp.amr as string[]).includes('fed'));
  });

  it('an unverified email of a local account at Corp: a separate account, never alice', async () => {
    const page = await phone();
    const { cfg, req } = await startAtApp(page);
    await continueWith(page, 'Corp');
    await upstreamLogin(page, corp.url, 'mallory');
    const claims = await finish(page, cfg, req);
    assert.ok(aliceSub);
    assert.notEqual(claims.sub, aliceSub);
    assert.notEqual(claims.preferred_username, 'alice');
    assert.notEqual(claims.email_verified, true);
  });

  it('an identity linked to alice cannot be linked to bob; alice unlinks it, and Corp then signs nobody in to her account', async () => {
    const page = await phone();
    await page.goto(`${server.issuer}/account`);
    await signIn(page, 'bob', PASSWORD);
    assert.equal(await heading(page), 'Your account');
    await page.goto(`${server.issuer}/account/linked`);
    await page.getByRole('button', { name: 'Link Corp', exact: true }).click();
    await upstreamLogin(page, corp.url, 'alice.corp');
    await page.waitForURL(`${server.issuer}/account/linked?done=upstream-taken`);
    assert.match((await page.getByRole('alert').textContent()) ?? '', /linked to another account/);
    await shot(page, 'link-taken');

    // alice, signed in with her password, unlinks Corp.
    const a = await phone();
    await a.goto(`${server.issuer}/account`);
    await signIn(a, 'alice', PASSWORD);
    await a.goto(`${server.issuer}/account/linked`);
    await submit(a, () => a.getByRole('button', { name: /^Unlink Corp/ }).click());
    assert.match((await a.getByRole('status').textContent()) ?? '', /The sign-in was unlinked/);
    assert.ok(await a.getByRole('button', { name: 'Link Corp', exact: true }).isVisible());
    await shot(a, 'unlinked');

    // Corp's alice is no way into alice's account any more: she is asked to sign in first again.
    const c = await phone();
    await startAtApp(c);
    await continueWith(c, 'Corp');
    await upstreamLogin(c, corp.url, 'alice.corp');
    assert.equal(await heading(c), 'Sign in to your account first');
  });

  it('an upstream stopped in the middle of a sign-in: a clear 503 page with the way back, where the password works', async () => {
    const page = await phone();
    const { cfg, req } = await startAtApp(page);
    await continueWith(page, 'Flaky');
    await page.waitForURL((u) => u.href.startsWith(flaky.url));
    await page.getByLabel('Username').fill('fiona');
    // Flaky goes down while the browser is on its way back to Tessera with the code: its login form's
    // answer is fetched (with the browser's cookies) up to the redirect to Tessera, then Flaky stops
    // and the browser is handed that redirect. (A route sees only the first request of a redirect
    // chain, so the callback itself cannot be held.)
    await page.route(`${flaky.url}/interaction/**`, async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      let res = await route.fetch({ maxRedirects: 0 });
      let next = new URL(res.headers().location ?? '', flaky.url);
      while (next.origin === flaky.url) {
        res = await page.context().request.get(next.href, { maxRedirects: 0 });
        next = new URL(res.headers().location ?? '', flaky.url);
      }
      assert.ok(next.href.startsWith(`${server.issuer}/upstream/flaky/callback?`), next.href);
      await flaky.close();
      await route.fulfill({ status: 303, headers: { location: next.href } });
    });
    const answer = page.waitForResponse((r) => r.url().startsWith(`${server.issuer}/upstream/flaky/callback`));
    await submit(page, () => page.getByRole('button', { name: 'Sign in', exact: true }).click());
    assert.equal((await answer).status(), 503);
    assert.equal(await heading(page), 'Cannot reach Flaky');
    assert.match((await page.getByRole('alert').textContent()) ?? '', /Flaky cannot be reached right now/);
    await shot(page, 'upstream-down');
    await submit(page, () => page.getByRole('link', { name: 'Back to the sign-in page' }).click());
    assert.equal(await heading(page), 'Sign in');
    await signIn(page, 'alice', PASSWORD);
    const claims = await finish(page, cfg, req);
    assert.equal(claims.sub, aliceSub);
  });

  // After Flaky failed as unavailable on the way back, its cached configuration is forgotten, so the
  // next "Continue with Flaky" asks Flaky again and shows the login page saying it cannot be reached
  // (docs/upstream.md, "When a provider is down"), not a browser error page at a dead address.
  it('after the provider failed as unavailable, starting with it again gives the login page saying so', async () => {
    const own: string[] = [];
    const page = await phone(own);
    await startAtApp(page);
    await continueWith(page, 'Flaky');
    await page
      .getByRole('alert')
      .filter({ hasText: 'Flaky cannot be reached right now' })
      .waitFor({ timeout: 3000 })
      .catch((e: Error) => {
        throw new Error(`${e.message.split('\n')[0]}; the browser is at ${page.url()}`);
      });
    assert.equal(await heading(page), 'Sign in');
  });

  // ---- over HTTP --------------------------------------------------------------------------------

  /** A browser without a screen: cookies per origin, redirects followed within Tessera. */
  class Visitor {
    readonly jar = new CookieJar();
    /** GETs `url` (then POSTs `form` if given) and follows Tessera's redirects; stops when one leaves it. */
    async go(url: string | URL, form?: Record<string, string>): Promise<{ status: number; body: string; url: URL }> {
      let at = new URL(url);
      let init: RequestInit = form
        ? {
            method: 'POST',
            body: new URLSearchParams(form),
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          }
        : { method: 'GET' };
      for (let hop = 0; hop < 10; hop++) {
        const headers = new Headers(init.headers);
        const cookie = this.jar.header(at);
        if (cookie) headers.set('cookie', cookie);
        headers.set('accept', 'text/html');
        const res = await fetch(at, { ...init, headers, redirect: 'manual' });
        this.jar.store(at, res);
        const location = res.headers.get('location');
        if (res.status < 300 || res.status >= 400 || !location) {
          const body = await res.text();
          if (res.status >= 500) failures.push(`${res.status} ${init.method} ${at.href}`);
          // Tessera's "Continuing" page goes on to the application by a refresh.
          const refresh = /<meta http-equiv="refresh" content="0;url=([^"]+)">/.exec(body)?.[1];
          const onward = refresh ? new URL(refresh.replaceAll('&amp;', '&'), at) : undefined;
          if (res.status === 200 && onward && onward.origin !== server.issuer)
            return { status: res.status, body: '', url: onward };
          return { status: res.status, body, url: at };
        }
        await res.body?.cancel();
        at = new URL(location, at);
        init = { method: 'GET' };
        if (at.origin !== server.issuer) return { status: res.status, body: '', url: at };
      }
      throw new Error('too many redirects at Tessera');
    }
  }

  /**
   * The probe application's sign-in through provider `id`: by its button on the login page, or with
   * tessera_idp_hint; answers where Tessera sent the browser (the provider) and the request.
   */
  async function begin(id: string, o: { hint?: boolean } = {}) {
    const cfg = await probe();
    const req = await authRequest(cfg, {
      redirect_uri: cb.url('/probe'),
      scope: SCOPE,
      ...(o.hint ? { tessera_idp_hint: id } : {}),
    });
    const v = new Visitor();
    let at = await v.go(req.url);
    if (!o.hint) {
      assert.equal(at.status, 200, at.body);
      const csrf = /name="csrf" value="([^"]+)"/.exec(at.body)![1]!;
      const uid = /\/interaction\/([^/?]+)/.exec(at.url.pathname)![1]!;
      at = await v.go(`${server.issuer}/interaction/${uid}/upstream/${id}`, { csrf });
    }
    assert.notEqual(at.url.origin, server.issuer, `still at Tessera: ${at.status} ${at.body.slice(0, 300)}`);
    return { cfg, req, v, upstreamUrl: at.url };
  }
  /** The provider's answer (a redirect to Tessera's callback) for `user`. */
  async function answer(upstream: { authorize: OidcUpstream['authorize'] }, url: URL, user: string): Promise<URL> {
    const out = await upstream.authorize(url, { user });
    assert.equal(out.kind, 'redirect');
    return (out as { url: URL }).url;
  }
  /** Where the callback ends: the application's code redeemed, or Tessera's page. */
  async function land(s: Awaited<ReturnType<typeof begin>>, callbackUrl: URL | string) {
    const at = await s.v.go(callbackUrl);
    if (at.url.href.startsWith(cb.url('/probe'))) {
      const tokens = await client.authorizationCodeGrant(s.cfg, at.url, {
        pkceCodeVerifier: s.req.verifier,
        expectedState: s.req.state,
        expectedNonce: s.req.nonce,
      });
      return { signedIn: tokens.claims()!, status: at.status, body: '' };
    }
    return { signedIn: undefined, status: at.status, body: at.body };
  }

  it('a replayed callback and a wrong state are refused; a refused state is not used up', async () => {
    const s = await begin('corp');
    const back = await answer(corp, s.upstreamUrl, 'carol');
    const wrong = new URL(back);
    wrong.searchParams.set('state', randomBytes(32).toString('base64url'));
    const refused = await land(s, wrong);
    assert.equal(refused.status, 400);
    assert.match(refused.body, /Sign-in expired/);
    const first = await land(s, back);
    assert.equal(first.signedIn?.preferred_username, 'carol');
    const replay = await land(s, back);
    assert.equal(replay.status, 400);
    assert.match(replay.body, /Sign-in expired/);
    assert.equal(replay.signedIn, undefined);
  });

  it('a code of another authorization request (not redeemable with this PKCE verifier) is refused, nobody signed in', async () => {
    const attacker = await begin('corp');
    const theirs = await answer(corp, attacker.upstreamUrl, 'carol');
    const victim = await begin('corp');
    const mine = await answer(corp, victim.upstreamUrl, 'carol');
    const injected = new URL(mine);
    injected.searchParams.set('code', theirs.searchParams.get('code')!);
    const res = await land(victim, injected);
    assert.equal(res.status, 400);
    assert.match(res.body, /could not be verified/);
    assert.equal(res.signedIn, undefined);
    const account = await victim.v.go(`${server.issuer}/account`);
    assert.match(account.body, /<h1>Sign in<\/h1>/);
  });

  it("mix-up: Corp answering with another issuer's iss, and Corp's answer at another provider's callback, are refused", async () => {
    corp.setAuthorizationResponseIss(hq.issuer);
    try {
      const s = await begin('corp');
      const back = await answer(corp, s.upstreamUrl, 'carol');
      assert.equal(back.searchParams.get('iss'), hq.issuer);
      const res = await land(s, back);
      assert.equal(res.status, 400);
      assert.match(res.body, /could not be verified/);
      assert.equal(res.signedIn, undefined);
    } finally {
      corp.setAuthorizationResponseIss(undefined);
    }
    const s = await begin('corp');
    const back = await answer(corp, s.upstreamUrl, 'carol');
    const elsewhere = await land(s, `${server.issuer}/upstream/hq/callback${back.search}`);
    assert.equal(elsewhere.status, 400);
    assert.match(elsewhere.body, /Sign-in expired/);
    assert.equal((await land(s, back)).signedIn?.preferred_username, 'carol');
  });

  it("Microsoft-shaped, through tessera_idp_hint: another tenant's token with alice's email is its own account, never alice's", async () => {
    const signInAs = async (user: string) => {
      const s = await begin('entra', { hint: true });
      assert.equal(s.upstreamUrl.origin, new URL(entra.url).origin, 'the hint goes straight to the provider');
      const res = await land(s, await answer(entra, s.upstreamUrl, user));
      assert.ok(res.signedIn, `${res.status} ${res.body.slice(0, 300)}`);
      return res.signedIn;
    };
    const boss = await signInAs('boss@a.example');
    const evil = await signInAs('evil@b.example');
    assert.ok(aliceSub);
    assert.notEqual(boss.sub, aliceSub);
    assert.notEqual(evil.sub, aliceSub);
    assert.notEqual(evil.sub, boss.sub);
    assert.notEqual(evil.email_verified, true);
    assert.equal((await signInAs('boss@a.example')).sub, boss.sub);
  });

  it("GitHub-shaped: an unverified primary email equal to alice's makes another account", async () => {
    const s = await begin('github', { hint: true });
    const res = await land(s, await answer(github, s.upstreamUrl, 'alice'));
    assert.ok(res.signedIn, `${res.status} ${res.body.slice(0, 300)}`);
    assert.notEqual(res.signedIn.sub, aliceSub);
    assert.match(String(res.signedIn.preferred_username), /^alice-[a-z0-9]{6}$/);
    assert.notEqual(res.signedIn.email_verified, true);
  });

  it('no page reported a CSP violation and Tessera answered no 5xx but the 503 of a provider that is down', () => {
    assert.deepEqual(violations, []);
    assert.deepEqual(failures, []);
  });
});
