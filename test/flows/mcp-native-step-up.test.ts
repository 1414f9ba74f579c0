/**
 * An MCP client as it behaves on a user's machine, black-box: a real Tessera process with the
 * settings the MCP profile bundles for registration (TESSERA_REGISTRATION=open,
 * TESSERA_REGISTRATION_APPLICATION_TYPE=infer, TESSERA_CORS_ANY_ORIGIN), a client registered over
 * HTTP without application_type, its loopback redirect on a port of the moment (not the registered
 * one), the code flow through Tessera's pages in Chromium, then step-up: the union of scopes asked
 * for, a consent page listing only the new scope, a token with both.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../fixtures/server.ts';
import {
  browserSkip,
  decide,
  launchBrowser,
  screen,
  signIn,
  startCallbackServer,
  type CallbackServer,
} from './support.ts';

const PASSWORD = 'correct horse battery staple';
const MCP = 'https://mcp.example/mcp';

describe('an MCP client: native loopback redirect and step-up (Chromium)', { skip: browserSkip }, () => {
  let server: RunningServer;
  let cb: CallbackServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let clientId: string;

  before(async () => {
    cb = await startCallbackServer();
    [browser, server] = await Promise.all([
      launchBrowser(),
      startServer({
        env: {
          TESSERA_REGISTRATION: 'open',
          TESSERA_REGISTRATION_APPLICATION_TYPE: 'infer',
          TESSERA_CORS_ANY_ORIGIN: 'true',
          TESSERA_EXTRA_SCOPES: 'mcp:read mcp:write',
          TESSERA_REGISTRATION_SCOPES: 'openid profile email offline_access mcp:read mcp:write',
        },
        bootstrap: {
          users: [{ username: 'alice', password: PASSWORD, email: 'alice@example.com', email_verified: true }],
          resources: [
            {
              identifier: MCP,
              display_name: 'Notes MCP server',
              scopes: { 'mcp:read': 'Read your notes', 'mcp:write': 'Change your notes' },
            },
          ],
        },
      }),
    ]);
    context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await server?.stop();
    await cb?.close();
  });

  /** One authorization through the browser; returns the token response and the scopes the consent page listed. */
  async function authorize(scope: string): Promise<{ token: Record<string, unknown>; asked: string[] | undefined }> {
    const verifier = randomBytes(32).toString('base64url');
    const redirectUri = cb.url('/callback');
    const url = new URL(`${server.issuer}/authorize`);
    url.search = new URLSearchParams({
      client_id: clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope,
      resource: MCP,
      state: 'st',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    await page.goto(url.href);
    let s = await screen(page, cb.origin);
    if (s === 'login') {
      await signIn(page, 'alice', PASSWORD);
      s = await screen(page, cb.origin);
    }
    let asked: string[] | undefined;
    if (s === 'consent') {
      asked = await page.locator('.scope-name').allTextContents();
      await decide(page, 'Allow');
      s = await screen(page, cb.origin);
    }
    assert.equal(s, 'callback', `expected the callback, the browser shows ${page.url()}`);
    const back = new URL(page.url());
    assert.equal(back.port, String(cb.port));
    assert.equal(back.searchParams.get('iss'), server.issuer);
    const res = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://some-browser-app.example' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: back.searchParams.get('code')!,
        code_verifier: verifier,
        redirect_uri: redirectUri,
        client_id: clientId,
        resource: MCP,
      }),
    });
    assert.equal(res.status, 200);
    return { token: (await res.json()) as Record<string, unknown>, asked };
  }

  it('registers without application_type and is native: its loopback redirect works on another port', async () => {
    // Registered on one port; the callback server listens on another, chosen by the system.
    const registeredPort = cb.port === 33418 ? 33419 : 33418;
    const res = await fetch(`${server.issuer}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'Notes assistant',
        redirect_uris: [`http://127.0.0.1:${registeredPort}/callback`],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        scope: 'mcp:read',
      }),
    });
    assert.equal(res.status, 201);
    const reg = (await res.json()) as { client_id: string; application_type: string };
    assert.equal(reg.application_type, 'native');
    clientId = reg.client_id;
    const { token, asked } = await authorize('mcp:read');
    assert.deepEqual(asked, ['mcp:read']);
    assert.equal(token.scope, 'mcp:read');
  });

  it('step-up: the union is asked for; the consent page lists the new scope only', async () => {
    assert.ok(clientId, 'registered by the test before');
    const { token, asked } = await authorize('mcp:read mcp:write');
    assert.deepEqual(asked, ['mcp:write']);
    assert.deepEqual(String(token.scope).split(' ').sort(), ['mcp:read', 'mcp:write']);
    // Covered now: no consent page at all.
    const again = await authorize('mcp:read mcp:write');
    assert.equal(again.asked, undefined);
  });
});
