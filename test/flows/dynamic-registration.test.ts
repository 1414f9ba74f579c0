/**
 * Dynamic client registration, black-box: a real Tessera process with
 * TESSERA_REGISTRATION=initial_access_token, an initial access token minted with the real CLI,
 * clients registered by openid-client's dynamicClientRegistration(), then the code flow through
 * Chromium with each; pairwise clients of two sectors see two different subjects for one user.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import * as client from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { sqliteTempUrl } from '../fixtures/db.ts';
import { startServer, type RunningServer } from '../fixtures/server.ts';
import {
  authRequest,
  browserSkip,
  decide,
  launchBrowser,
  screen,
  signIn,
  startCallbackServer,
  type CallbackServer,
} from './support.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const PASSWORD = 'correct horse battery staple';

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'src/cli/main.ts'), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', TESSERA_ENV: 'development', ...env },
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    child.on('error', reject).on('close', (code) => resolve({ code, out, err }));
  });
}

describe('dynamic client registration (openid-client, Chromium)', { skip: browserSkip }, () => {
  let server: RunningServer;
  let cb: CallbackServer;
  let browser: Browser;
  let initialAccessToken: string;
  const databaseUrl = sqliteTempUrl();

  before(async () => {
    cb = await startCallbackServer();
    [browser, server] = await Promise.all([
      launchBrowser(),
      startServer({
        databaseUrl,
        env: { TESSERA_REGISTRATION: 'initial_access_token' },
        bootstrap: {
          users: [
            {
              username: 'alice',
              password: PASSWORD,
              email: 'alice@example.com',
              email_verified: true,
              name: 'Alice Example',
            },
          ],
        },
      }),
    ]);
    const minted = await cli(['registration', 'token', 'create', '--uses', '4', '--expires-in', '600'], {
      DATABASE_URL: databaseUrl,
    });
    assert.equal(minted.code, 0, minted.err);
    initialAccessToken = /^Initial access token.*: (\S+)$/m.exec(minted.out)![1]!;
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await cb?.close();
  });

  const register = (metadata: Partial<client.ClientMetadata>, token = initialAccessToken) =>
    client.dynamicClientRegistration(
      new URL(server.issuer),
      {
        grant_types: ['authorization_code', 'refresh_token'],
        scope: 'openid profile email offline_access',
        token_endpoint_auth_method: 'client_secret_post',
        ...metadata,
      },
      undefined,
      { initialAccessToken: token, execute: [client.allowInsecureRequests] },
    );

  /** The code flow in a fresh browser context: sign in, consent, redeem with openid-client. */
  async function codeFlow(
    config: client.Configuration,
    redirectUri: string,
  ): Promise<{ tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>; consentShown: boolean; page: Page }> {
    const context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    const req = await authRequest(config, { redirect_uri: redirectUri });
    await page.goto(req.url.href);
    let s = await screen(page, new URL(redirectUri).origin);
    assert.equal(s, 'login');
    await signIn(page, 'alice', PASSWORD);
    s = await screen(page, new URL(redirectUri).origin);
    const consentShown = s === 'consent';
    if (consentShown) {
      await decide(page, 'Allow');
      s = await screen(page, new URL(redirectUri).origin);
    }
    assert.equal(s, 'callback', `expected the callback, the browser shows ${page.url()}`);
    const tokens = await client.authorizationCodeGrant(config, new URL(page.url()), {
      pkceCodeVerifier: req.verifier,
      expectedState: req.state,
      expectedNonce: req.nonce,
    });
    await context.close();
    return { tokens, consentShown, page };
  }

  it('registers with an initial access token, then runs the code flow (consent always asked), userinfo and refresh', async () => {
    const doc = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(doc.registration_endpoint, `${server.issuer}/register`);
    assert.ok((doc.subject_types_supported as string[]).includes('pairwise'));

    const config = await register({ client_name: 'Registered RP', redirect_uris: [cb.url('/callback')] });
    const meta = config.clientMetadata();
    assert.match(meta.client_id, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(typeof meta.client_secret, 'string');
    assert.equal(meta.client_secret_expires_at, 0);
    assert.equal(typeof meta.registration_access_token, 'string');

    // OpenID Connect Registration 2: a client that names no ID-token algorithm gets RS256, which
    // openid-client then requires of its ID tokens (it checks the alg against the registration).
    assert.equal(meta.id_token_signed_response_alg, 'RS256');
    const { tokens, consentShown } = await codeFlow(config, cb.url('/callback'));
    assert.ok(consentShown, 'a dynamically registered client gets a consent page');
    assert.equal(decodeProtectedHeader(tokens.id_token!).alg, 'RS256');
    await jwtVerify(tokens.id_token!, createRemoteJWKSet(new URL(`${server.issuer}/jwks`)), {
      issuer: server.issuer,
      audience: meta.client_id,
      algorithms: ['RS256'],
    });
    assert.equal(decodeProtectedHeader(tokens.access_token).alg, 'ES256'); // access tokens keep the server's algorithm
    const sub = tokens.claims()!.sub;
    const info = await client.fetchUserInfo(config, tokens.access_token, sub);
    assert.equal(info.name, 'Alice Example');
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    assert.equal(refreshed.claims()!.sub, sub);

    // RFC 7592: the client reads its registration with the registration access token.
    const read = await fetch(meta.registration_client_uri as string, {
      headers: { authorization: `Bearer ${meta.registration_access_token}` },
    });
    assert.equal(read.status, 200);
    assert.equal(((await read.json()) as { client_name: string }).client_name, 'Registered RP');
  });

  it('refuses a registration without a valid initial access token', async () => {
    await assert.rejects(
      register({ redirect_uris: [cb.url('/callback')] }, 'not-a-token'),
      (err: Error & { status?: number; cause?: unknown }) => {
        const text = `${err.message} ${JSON.stringify(err.cause ?? {})}`;
        return /401|invalid_token/.test(text) || (err as { response?: Response }).response?.status === 401;
      },
    );
  });

  it('pairwise clients of two sectors see two different subjects for one user, each stable and consistent', async () => {
    const port = cb.port;
    const a = await register({ subject_type: 'pairwise', redirect_uris: [`http://127.0.0.1:${port}/pairwise`] });
    const b = await register({ subject_type: 'pairwise', redirect_uris: [`http://localhost:${port}/pairwise`] });
    const flowA = await codeFlow(a, `http://127.0.0.1:${port}/pairwise`);
    const flowB = await codeFlow(b, `http://localhost:${port}/pairwise`);
    const subA = flowA.tokens.claims()!.sub;
    const subB = flowB.tokens.claims()!.sub;
    assert.notEqual(subA, subB);
    for (const [config, flow, sub] of [
      [a, flowA, subA],
      [b, flowB, subB],
    ] as const) {
      assert.match(sub, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(decodeJwt(flow.tokens.access_token).sub, sub);
      // openid-client checks that the userinfo sub is the ID token's.
      await client.fetchUserInfo(config, flow.tokens.access_token, sub);
    }
  });
});
