/**
 * Helpers for the black-box flow tests: a relying party's callback server, the shared headless
 * Chromium, and page steps that act as a user would (by labels and button names).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before } from 'node:test';
import * as client from 'openid-client';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type CDPSession,
  type Page,
  type PageScreenshotOptions,
} from 'playwright-core';
import { hasOpenssl, makePki } from '../fixtures/certs.ts';
import { startServer, type RunningServer, type StartOptions } from '../fixtures/server.ts';
import { startSmtp, type SmtpFixture } from '../fixtures/smtp.ts';

// ---- relying party callback server --------------------------------------------------------------

export interface Hit {
  method: string;
  /** Absolute URL as received (http://127.0.0.1:PORT/path?query). */
  url: string;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface CallbackServer {
  origin: string;
  port: number;
  /** Absolute URL of a path on this server. */
  url(path: string): string;
  hits: Hit[];
  /** The next request to a path (already recorded or still to come). */
  next(path: string, timeoutMs?: number): Promise<Hit>;
  close(): Promise<void>;
}

/** A tiny RP: answers 200 to everything and records every request (favicons excepted). */
export async function startCallbackServer(): Promise<CallbackServer> {
  const hits: Hit[] = [];
  const consumed = new Set<Hit>();
  const waiters: { path: string; resolve: (h: Hit) => void }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      body += d;
    });
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (path !== '/favicon.ico') {
        const hit: Hit = { method: req.method ?? 'GET', url: `${origin}${req.url}`, body, headers: req.headers };
        hits.push(hit);
        const w = waiters.findIndex((x) => x.path === path);
        if (w >= 0) {
          consumed.add(hit);
          waiters.splice(w, 1)[0]!.resolve(hit);
        }
      }
      res.writeHead(path === '/favicon.ico' ? 404 : 200, {
        'content-type': 'text/plain; charset=utf-8',
        connection: 'close',
      });
      res.end('relying party callback');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    port,
    hits,
    url: (path) => `${origin}${path}`,
    next(path, timeoutMs = 10_000) {
      const ready = hits.find((h) => !consumed.has(h) && new URL(h.url).pathname === path);
      if (ready) {
        consumed.add(ready);
        return Promise.resolve(ready);
      }
      return new Promise((resolve, reject) => {
        const waiter = {
          path,
          resolve: (h: Hit) => {
            clearTimeout(timer);
            resolve(h);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no request to ${path} on the callback server within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

// ---- browser ------------------------------------------------------------------------------------

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/**
 * Browser suites are skipped, with the reason, when Chromium is not installed on a developer's
 * machine; in CI they run and fail instead.
 */
export const browserSkip: string | false =
  !existsSync(CHROMIUM) && !process.env.CI
    ? `Chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`
    : false;

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export type Screen = 'login' | 'consent' | 'logout-confirm' | 'logged-out' | 'error' | 'callback' | 'other';

/** What the browser is showing now, by its URL and main heading. */
export async function screen(page: Page, callbackOrigin: string): Promise<Screen> {
  if (page.url().startsWith(callbackOrigin)) return 'callback';
  const h1 = (
    await page
      .locator('h1')
      .first()
      .textContent({ timeout: 2000 })
      .catch(() => null)
  )?.trim();
  switch (h1) {
    case 'Sign in':
      return 'login';
    case 'Allow access?':
      return 'consent';
    case 'Sign out of Tessera?':
      return 'logout-confirm';
    case 'You are signed out.':
      return 'logged-out';
    default:
      return page.url().includes('/interaction/') || page.url().includes('/authorize') ? 'error' : 'other';
  }
}

/** Clicks something that submits a form and waits for the page the browser ends up on. */
export async function submit(page: Page, click: () => Promise<void>): Promise<void> {
  const loaded = page.waitForEvent('load');
  await click();
  await loaded;
}

/** Fills the sign-in form by its labels and submits it. */
export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await submit(page, () => page.getByRole('button', { name: 'Sign in', exact: true }).click());
}

/** Fills the sign-up form (prompt=create) by its labels, without submitting it. */
export async function fillSignUp(page: Page, f: { username: string; email: string; password: string }): Promise<void> {
  await page.getByLabel('Username').fill(f.username);
  await page.getByLabel('Email').fill(f.email);
  await page.getByLabel('Password', { exact: true }).fill(f.password);
  await page.getByLabel('Confirm password').fill(f.password);
}

export async function decide(page: Page, decision: 'Allow' | 'Deny'): Promise<void> {
  await submit(page, () => page.getByRole('button', { name: decision, exact: true }).click());
}

// ---- what a browser test keeps and checks ------------------------------------------------------

/**
 * Collects every Content-Security-Policy violation the page reports from now on (Chromium logs each
 * one to the console; the securitypolicyviolation event is logged too, in case one is not) and every
 * uncaught script error, into `into` (a new list by default). The test asserts the list is empty.
 */
export async function collectCspViolations(page: Page, into: string[] = []): Promise<string[]> {
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) into.push(`${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => into.push(`${page.url()}: page error: ${e.message}`));
  return into;
}

/**
 * test-artifacts/<suite> in the repository (gitignored), made when first asked for; `clean` empties
 * it first (a suite whose file names are numbered in order keeps no file of an earlier run).
 */
export function artifactsDir(suite: string, opts: { clean?: boolean } = {}): string {
  const dir = join(import.meta.dirname, '..', '..', 'test-artifacts', suite);
  if (opts.clean) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * A full-page screenshot. Chromium sometimes answers a capture with "Unable to capture screenshot"
 * when the machine is busy (two test files at once on two cores): that capture is tried again once,
 * a moment later. A screenshot is a record for people; the tests' assertions are elsewhere.
 */
export async function captureFullPage(page: Page, options: Omit<PageScreenshotOptions, 'fullPage'>): Promise<void> {
  try {
    await page.screenshot({ ...options, fullPage: true });
  } catch (err) {
    if (!/Unable to capture screenshot/.test(String(err))) throw err;
    await page.waitForTimeout(250);
    await page.screenshot({ ...options, fullPage: true });
  }
}

/** A full-page screenshot kept as artifactsDir(suite)/<name>.png. */
export async function screenshot(page: Page, suite: string, name: string): Promise<void> {
  await captureFullPage(page, { path: join(artifactsDir(suite), `${name}.png`) });
}

export interface VirtualAuthenticator {
  cdp: CDPSession;
  authenticatorId: string;
}

/**
 * A virtual platform authenticator (CTAP2, resident keys, user verification that succeeds, presence
 * simulated) in the page's browser context, through the DevTools WebAuthn domain.
 */
export async function addVirtualAuthenticator(page: Page): Promise<VirtualAuthenticator> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

// ---- a server that sends real mail -------------------------------------------------------------

/** Why a suite that needs startMailingServer() cannot run here, or false. */
export const mailSkip: string | false = hasOpenssl() ? false : 'openssl not installed';

export interface MailingServer {
  server: RunningServer;
  /** What the server sent, as the SMTP server received it. */
  smtp: SmtpFixture;
  /** Stops the Tessera server and the SMTP server and removes the test PKI. */
  stop(): Promise<void>;
}

/**
 * A Tessera server (startServer with `opts`) whose mail goes over STARTTLS to a real SMTP server
 * started here, with a certificate of a test CA that the Tessera server trusts.
 */
export async function startMailingServer(opts: StartOptions = {}): Promise<MailingServer> {
  const pki = makePki();
  const smtp = await startSmtp({ cert: pki.server }).catch((e: unknown) => {
    pki.cleanup();
    throw e;
  });
  const stop = async (server?: RunningServer) => {
    await server?.stop();
    await smtp.stop();
    pki.cleanup();
  };
  try {
    const server = await startServer({
      ...opts,
      env: { TESSERA_SMTP_URL: smtp.url, NODE_EXTRA_CA_CERTS: pki.caFile, ...opts.env },
    });
    return { server, smtp, stop: () => stop(server) };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** A confidential web client (client_secret_basic, authorization code only) for the RP at cb /callback. */
export function secretWebClient(
  cb: CallbackServer,
  client: { client_id: string; client_name: string; client_secret: string; scope: string },
): object {
  return {
    ...client,
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: [cb.url('/callback')],
    grant_types: ['authorization_code'],
  };
}

// ---- a browser suite ----------------------------------------------------------------------------

export interface BrowserSuiteOptions {
  /** The client_secret of the clients that webClient() builds and webConfig() authenticates with. */
  secret?: string;
  /** Extra environment variables of the Tessera server. */
  env?: Record<string, string>;
}

/** What browserSuite() sets up; the values exist once the suite's before() hook has run. */
export interface BrowserSuite {
  readonly server: RunningServer;
  readonly cb: CallbackServer;
  readonly browser: Browser;
  /** The browser context and page of the current test, made by fresh(). */
  readonly context: BrowserContext;
  readonly page: Page;
  /** One browser for the file; a fresh context (cookie jar) and page per test. */
  fresh(): Promise<void>;
  /** A confidential web client (client_secret_basic) registered for cb /callback. */
  webClient(clientId: string, extra?: object): object;
  /** The relying party's configuration for a client that authenticates with the secret (Basic). */
  webConfig(clientId: string): Promise<client.Configuration>;
}

/**
 * Registers before/after hooks in the current describe(): a callback server, Chromium and a
 * Tessera server started with `bootstrap(cb)`, all three closed afterwards.
 */
export function browserSuite(bootstrap: (cb: CallbackServer) => object, opts: BrowserSuiteOptions = {}): BrowserSuite {
  let server: RunningServer | undefined;
  let cb: CallbackServer | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined)
      throw new Error(
        `browserSuite: ${what} is not there yet (before() has not run${what === 'page' || what === 'context' ? ', or fresh() was not called' : ''})`,
      );
    return value;
  };
  const secret = (): string => {
    if (opts.secret === undefined) throw new Error('browserSuite: no secret given in the options');
    return opts.secret;
  };

  before(async () => {
    cb = await startCallbackServer();
    [browser, server] = await Promise.all([launchBrowser(), startServer({ bootstrap: bootstrap(cb), env: opts.env })]);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await cb?.close();
  });

  return {
    get server() {
      return ready(server, 'server');
    },
    get cb() {
      return ready(cb, 'cb');
    },
    get browser() {
      return ready(browser, 'browser');
    },
    get context() {
      return ready(context, 'context');
    },
    get page() {
      return ready(page, 'page');
    },
    async fresh() {
      await context?.close();
      context = await ready(browser, 'browser').newContext();
      context.setDefaultTimeout(10_000);
      page = await context.newPage();
    },
    webClient(clientId, extra = {}) {
      const rp = ready(cb, 'cb');
      return {
        client_id: clientId,
        client_name: `App ${clientId}`,
        client_secret: secret(),
        token_endpoint_auth_method: 'client_secret_basic',
        redirect_uris: [rp.url('/callback')],
        post_logout_redirect_uris: [rp.url('/bye')],
        grant_types: ['authorization_code', 'refresh_token'],
        scope: 'openid profile email offline_access',
        ...extra,
      };
    },
    webConfig: (clientId) => rpConfig(ready(server, 'server').issuer, clientId, client.ClientSecretBasic(secret())),
  };
}

// ---- relying party (openid-client) --------------------------------------------------------------

export async function rpConfig(
  issuer: string,
  clientId: string,
  auth: client.ClientAuth,
  metadata: Partial<client.ClientMetadata> = {},
): Promise<client.Configuration> {
  return client.discovery(new URL(issuer), clientId, metadata, auth, { execute: [client.allowInsecureRequests] });
}

export interface AuthRequest {
  url: URL;
  state: string;
  nonce: string;
  verifier: string;
}

/** An authorization request as an RP builds it: state, nonce and an S256 PKCE challenge. */
export async function authRequest(config: client.Configuration, params: Record<string, string>): Promise<AuthRequest> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    scope: 'openid profile email offline_access',
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...params,
  });
  return { url, state, nonce, verifier };
}

/**
 * Awaits an openid-client call that must be refused with the OAuth error `code`. A 401 with a
 * WWW-Authenticate challenge (invalid_client over Basic auth) surfaces as a challenge error whose
 * response body still carries the error code.
 */
export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  let err: unknown;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected the OAuth error ${code}, but the call succeeded`);
  const e = err as { error?: string; cause?: { error?: string }; response?: Response; message?: string };
  let got = e.error ?? e.cause?.error;
  if (got === undefined && e.response && !e.response.bodyUsed) {
    got = ((await e.response.json().catch(() => ({}))) as { error?: string }).error;
  }
  assert.equal(got, code, `expected the OAuth error ${code}, got ${got ?? e.message}`);
}
