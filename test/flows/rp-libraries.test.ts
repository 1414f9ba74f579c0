/**
 * "Any standard OAuth/OIDC client library works through discovery alone": relying-party libraries
 * that nobody on this team wrote, each on its own defaults (only what its documentation says a
 * code-flow client must set: issuer, client id and secret, its own session secret and base URL),
 * against Tessera on its default configuration, through the real login and consent pages in
 * Chromium:
 *
 * - Auth.js (`@auth/express`, the generic `type: "oidc"` provider): PKCE, profile from the ID token;
 * - express-openid-connect: `response_type: code` (its default is the implicit `id_token`, which
 *   OAuth 2.1 removed and Tessera does not offer), ID token checked as RS256, its default;
 * - oidc-client-ts in the browser (a public SPA client): code + PKCE, tokens fetched across
 *   origins (CORS), then renewed with the refresh token (`signinSilent`);
 * - passport-openidconnect, which cannot send PKCE: works for a confidential client registered
 *   with the per-client PKCE opt-out (`pkce_required: false`), sending a nonce as the opt-out asks.
 *
 * Each relying party runs in this process on its own loopback port; Tessera is the real server
 * process (test/fixtures/server.ts).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ExpressAuth, getSession } from '@auth/express';
import express from 'express';
import session from 'express-session';
import { auth as eocAuth } from 'express-openid-connect';
import passport from 'passport';
import { Strategy as OidcStrategy } from 'passport-openidconnect';
import type { Browser, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../fixtures/server.ts';
import { browserSkip, decide, launchBrowser, signIn } from './support.ts';

const SECRET = 'rp-library-client-secret-0123456789abcdef';
const PASSWORD = 'correct horse battery staple';
const SESSION_SECRET = 'rp-library-session-secret-0123456789abcdef0123456789';
const USER = {
  username: 'rita',
  password: PASSWORD,
  email: 'rita@example.com',
  email_verified: true,
  name: 'Rita Example',
};

/** A loopback HTTP server listening now; its handler (an Express app) is attached later. */
async function rpServer(): Promise<{
  server: Server;
  origin: string;
  use(app: express.Express): void;
  close(): Promise<void>;
}> {
  let handler: ((req: any, res: any) => void) | undefined;
  const server = createServer((req, res) => {
    if (handler) handler(req, res);
    else res.writeHead(503).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    server,
    origin,
    use(app) {
      handler = app;
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const web = (clientId: string, redirect: string, extra: object = {}) => ({
  client_id: clientId,
  client_name: `RP ${clientId}`,
  client_secret: SECRET,
  token_endpoint_auth_method: 'client_secret_basic',
  redirect_uris: [redirect],
  grant_types: ['authorization_code', 'refresh_token'],
  scope: 'openid profile email offline_access',
  ...extra,
});

/** The chain of causes of a library's error, for the assertion message. */
function describeCause(err: unknown): string {
  const parts: string[] = [];
  for (let e = (err as { cause?: unknown }).cause; e && parts.length < 4; e = (e as { cause?: unknown }).cause) {
    parts.push(
      e instanceof Error
        ? `${e.message}${(e as { code?: string }).code ? ` [${(e as { code?: string }).code}]` : ''}`
        : JSON.stringify(e),
    );
  }
  return parts.join(' <- ');
}

/** Signs in and allows when Tessera asks; returns when the browser is back at `origin`. */
async function throughTessera(page: Page, issuer: string, origin: string): Promise<void> {
  for (let i = 0; i < 4 && page.url().startsWith(issuer); i++) {
    const h1 = (await page.locator('h1').first().textContent())?.trim();
    if (h1 === 'Sign in') await signIn(page, USER.username, USER.password);
    else if (h1 === 'Allow access?') await decide(page, 'Allow');
    else
      assert.fail(
        `Tessera shows "${h1}" at ${page.url()}: ${(await page.locator('main, body').first().textContent())?.slice(0, 300)}`,
      );
  }
  await page.waitForURL((u) => u.href.startsWith(origin), { timeout: 10_000 });
}

describe('relying-party libraries on their defaults', { skip: browserSkip }, () => {
  let tessera: RunningServer;
  let browser: Browser;
  const rps: Record<'authjs' | 'eoc' | 'spa' | 'passport', Awaited<ReturnType<typeof rpServer>>> = {} as never;

  before(async () => {
    for (const k of ['authjs', 'eoc', 'spa', 'passport'] as const) rps[k] = await rpServer();
    [browser, tessera] = await Promise.all([
      launchBrowser(),
      startServer({
        bootstrap: {
          clients: [
            web('authjs', `${rps.authjs.origin}/auth/callback/tessera`),
            web('eoc', `${rps.eoc.origin}/callback`),
            // passport-openidconnect sends its secret in the form body (client_secret_post) and cannot send PKCE.
            web('passport', `${rps.passport.origin}/callback`, {
              pkce_required: false,
              token_endpoint_auth_method: 'client_secret_post',
            }),
            {
              client_id: 'spa',
              client_name: 'RP SPA',
              token_endpoint_auth_method: 'none',
              redirect_uris: [`${rps.spa.origin}/callback.html`],
              grant_types: ['authorization_code', 'refresh_token'],
              scope: 'openid profile email offline_access',
            },
          ],
          users: [USER],
        },
      }),
    ]);
  });
  after(async () => {
    await browser?.close();
    await tessera?.stop();
    for (const rp of Object.values(rps)) await rp?.close();
  });

  it('Auth.js (@auth/express, generic OIDC provider): signs in, and the session has the name and email from the ID token', async () => {
    const config = {
      providers: [
        {
          id: 'tessera',
          name: 'Tessera',
          type: 'oidc' as const,
          issuer: tessera.issuer,
          clientId: 'authjs',
          clientSecret: SECRET,
        },
      ],
      secret: SESSION_SECRET,
      trustHost: true,
    };
    const app = express();
    app.set('trust proxy', true);
    // @auth/express reads its base path from the first unnamed route parameter (req.params[0]).
    app.use(/^\/auth\/(.*)$/, ExpressAuth(config));
    app.get('/me', async (req, res) => {
      res.json((await getSession(req, config)) ?? null);
    });
    app.get('/', (_req, res) => {
      res.type('html').send('<h1>home</h1>');
    });
    rps.authjs.use(app);

    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${rps.authjs.origin}/auth/signin`);
      await page.getByRole('button', { name: /Tessera/ }).click();
      await page.waitForURL((u) => u.href.startsWith(tessera.issuer));
      await throughTessera(page, tessera.issuer, rps.authjs.origin);
      assert.doesNotMatch(page.url(), /error/, `Auth.js reports an error: ${page.url()}`);
      const me = await (await page.request.get(`${rps.authjs.origin}/me`)).json();
      assert.equal(me?.user?.name, USER.name);
      assert.equal(me?.user?.email, USER.email);
    } finally {
      await context.close();
    }
  });

  it('express-openid-connect (code flow): signs in, verifies the RS256 ID token, and req.oidc.user has the profile', async () => {
    const app = express();
    app.use(
      eocAuth({
        issuerBaseURL: tessera.issuer,
        baseURL: rps.eoc.origin,
        clientID: 'eoc',
        clientSecret: SECRET,
        secret: SESSION_SECRET,
        authRequired: false,
        authorizationParams: { response_type: 'code' },
      }),
    );
    app.get('/me', (req, res) => {
      res.json({
        user: req.oidc.user ?? null,
        alg: req.oidc.idToken
          ? JSON.parse(Buffer.from(req.oidc.idToken.split('.')[0]!, 'base64url').toString()).alg
          : null,
      });
    });
    app.get('/', (_req, res) => {
      res.type('html').send('<h1>home</h1>');
    });
    app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res
        .status(500)
        .type('text')
        .send(`rp error: ${err.message} (${describeCause(err)})`);
    });
    rps.eoc.use(app);

    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${rps.eoc.origin}/login`);
      await throughTessera(page, tessera.issuer, rps.eoc.origin);
      const body = (await page.locator('body').textContent()) ?? '';
      assert.doesNotMatch(body, /rp error/, body);
      const me = await (await page.request.get(`${rps.eoc.origin}/me`)).json();
      assert.equal(me.alg, 'RS256');
      assert.equal(me.user?.name, USER.name);
      assert.equal(me.user?.email, USER.email);
      assert.equal(me.user?.email_verified, true);
    } finally {
      await context.close();
    }
  });

  it('oidc-client-ts in Chromium (public SPA): code + PKCE across origins, then renews with the refresh token', async () => {
    const app = express();
    app.get('/oidc-client-ts.js', (_req, res) => {
      res.sendFile(
        fileURLToPath(new URL('../../node_modules/oidc-client-ts/dist/browser/oidc-client-ts.min.js', import.meta.url)),
      );
    });
    const settings = {
      authority: tessera.issuer,
      client_id: 'spa',
      redirect_uri: `${rps.spa.origin}/callback.html`,
      scope: 'openid profile email offline_access',
    };
    app.get('/app.js', (_req, res) => {
      res.type('js').send(`
        const mgr = new oidc.UserManager(${JSON.stringify(settings)});
        const out = (o) => { document.getElementById('out').textContent = JSON.stringify(o); };
        (async () => {
          try {
            if (location.pathname === '/callback.html') {
              const user = await mgr.signinRedirectCallback();
              const renewed = await mgr.signinSilent();
              out({ name: user.profile.name, email: user.profile.email, first: user.access_token, renewed: renewed.access_token, hadRefresh: Boolean(user.refresh_token), scope: renewed.scope });
            } else {
              await mgr.signinRedirect();
            }
          } catch (e) { out({ error: String(e && e.message || e) }); }
        })();`);
    });
    const pageHtml =
      '<!doctype html><title>spa</title><pre id="out"></pre><script src="/oidc-client-ts.js"></script><script src="/app.js"></script>';
    app.get(['/', '/callback.html'], (_req, res) => {
      res.type('html').send(pageHtml);
    });
    rps.spa.use(app);

    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${rps.spa.origin}/`);
      await page.waitForURL((u) => u.href.startsWith(tessera.issuer));
      await throughTessera(page, tessera.issuer, rps.spa.origin);
      await page.waitForFunction(() => (document.getElementById('out')?.textContent ?? '') !== '', undefined, {
        timeout: 10_000,
      });
      const result = JSON.parse((await page.locator('#out').textContent())!);
      assert.equal(result.error, undefined, result.error);
      assert.equal(result.name, USER.name, JSON.stringify(result));
      assert.equal(result.email, USER.email);
      assert.ok(result.hadRefresh, 'a refresh token came with the first tokens');
      assert.ok(
        result.renewed && result.renewed !== result.first,
        'signinSilent renewed the access token with the refresh token',
      );
    } finally {
      await context.close();
    }
  });

  it('passport-openidconnect (no PKCE) works for a client with the per-client PKCE opt-out, with a nonce', async () => {
    const app = express();
    app.use(session({ secret: SESSION_SECRET, resave: false, saveUninitialized: false }));
    app.use(passport.initialize());
    app.use(passport.session());
    passport.serializeUser((u: any, done) => done(null, u));
    passport.deserializeUser((u: any, done) => done(null, u));
    const meta = (await (await fetch(`${tessera.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      string
    >;
    passport.use(
      'tessera',
      new OidcStrategy(
        {
          issuer: meta.issuer!,
          authorizationURL: meta.authorization_endpoint!,
          tokenURL: meta.token_endpoint!,
          userInfoURL: meta.userinfo_endpoint!,
          clientID: 'passport',
          clientSecret: SECRET,
          callbackURL: `${rps.passport.origin}/callback`,
          scope: ['profile', 'email'],
          nonce: 'true',
        } as any,
        (_issuer: string, profile: any, done: (e: Error | null, u?: object) => void) =>
          done(null, { id: profile.id, name: profile.displayName, email: profile.emails?.[0]?.value }),
      ),
    );
    app.get('/login', passport.authenticate('tessera'));
    app.get(
      '/callback',
      passport.authenticate('tessera', { failureRedirect: '/failed', failureMessage: true }),
      (_req, res) => {
        res.redirect('/');
      },
    );
    app.get('/failed', (req, res) => {
      res
        .status(401)
        .type('text')
        .send(`rp failed: ${JSON.stringify((req.session as any).messages)}`);
    });
    app.get('/me', (req, res) => {
      res.json(req.user ?? null);
    });
    app.get('/', (_req, res) => {
      res.type('html').send('<h1>home</h1>');
    });
    app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).type('text').send(`rp error: ${err.message}`);
    });
    rps.passport.use(app);

    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${rps.passport.origin}/login`);
      await throughTessera(page, tessera.issuer, rps.passport.origin);
      const body = (await page.locator('body').textContent()) ?? '';
      assert.doesNotMatch(body, /rp (error|failed)/, body);
      const me = await (await page.request.get(`${rps.passport.origin}/me`)).json();
      assert.ok(me?.id, 'signed in');
      assert.equal(me.name, USER.name);
      assert.equal(me.email, USER.email);
    } finally {
      await context.close();
    }
  });
});
