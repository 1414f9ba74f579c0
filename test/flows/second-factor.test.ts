/**
 * The second factor as a person meets it (issue 16): Chromium on the real pages of a real server,
 * openid-client as the relying party. Password then a TOTP code (computed here from the secret
 * enrolled directly on the server's database through accounts/totp.ts), step-up of a signed-in user
 * with acr_values, and a passkey (virtual authenticator) as the second factor; no Content Security
 * Policy violation on any page.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { Secret, TOTP } from 'otpauth';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { beginTotp, confirmTotp } from '../../src/accounts/totp.ts';
import { usernameKeys } from '../../src/accounts/usernames.ts';
import { openDatabase } from '../../src/adapters/sql/database.ts';
import { createSqlStores } from '../../src/adapters/sql/stores.ts';
import type { Stores } from '../../src/ports/index.ts';
import { startServer, type RunningServer } from '../fixtures/server.ts';
import {
  authRequest,
  browserSkip,
  decide,
  launchBrowser,
  rpConfig,
  signIn,
  startCallbackServer,
  submit,
  type CallbackServer,
} from './support.ts';

// Screenshots of the pages, kept as artifacts: TESSERA_TEST_ARTIFACTS, else the system's temporary directory.
const ARTIFACTS = join(process.env.TESSERA_TEST_ARTIFACTS ?? join(tmpdir(), 'tessera-artifacts'), 'second-factor');
async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

const SECRET = 'flow-test-client-secret-0123456789';
const PASSWORD = 'correct horse battery staple';
const KEK = 'second-factor-flow-test-key-encryption-key-0123456789';
const keks = { keyEncryptionKey: KEK };
const now = () => Math.floor(Date.now() / 1000);
const codeAt = (secret: string, t: number) =>
  new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({
    timestamp: t * 1000,
  });

describe('second factor in the browser', { skip: browserSkip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-mfa-flow-'));
  const databaseUrl = `sqlite:${join(dir, 'tessera.db')}`;
  let server: RunningServer;
  let cb: CallbackServer;
  let browser: Browser;
  let context: BrowserContext | undefined;
  let page: Page;
  let stores: Stores;
  let violations: string[] = [];

  before(async () => {
    cb = await startCallbackServer();
    [browser, server] = await Promise.all([
      launchBrowser(),
      startServer({
        databaseUrl,
        env: { TESSERA_KEY_ENCRYPTION_KEY: KEK },
        bootstrap: {
          clients: [
            {
              client_id: 'web',
              client_name: 'MFA App',
              client_secret: SECRET,
              token_endpoint_auth_method: 'client_secret_basic',
              redirect_uris: [cb.url('/callback')],
              grant_types: ['authorization_code'],
              scope: 'openid profile',
            },
          ],
          users: [
            { username: 'tess', password: PASSWORD },
            { username: 'sam', password: PASSWORD },
            { username: 'pat', password: PASSWORD },
          ],
        },
      }),
    ]);
    stores = createSqlStores(await openDatabase(databaseUrl), usernameKeys);
  });
  after(async () => {
    await browser?.close();
    await stores?.close();
    await server?.stop();
    await cb?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function fresh() {
    await context?.close();
    context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    violations = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    page.on('pageerror', (e) => violations.push(`page error: ${e.message}`));
  }
  const heading = async () => (await page.locator('h1').first().textContent())?.trim();
  const config = () => rpConfig(server.issuer, 'web', client.ClientSecretBasic(SECRET));

  /**
   * Enrols an authenticator app for `username`, confirmed with the previous step's code (so the current one is free).
   */
  const enrol = async (username: string) => {
    const user = (await stores.users.findByUsername(username))!;
    const e = await beginTotp(stores, keks, user, 'Tessera', now());
    assert.equal(await confirmTotp(stores, keks, user.id, e.factor.id, codeAt(e.secret, now() - 30), now()), 'ok');
    return e.secret;
  };

  const typeCode = async (secret: string, screenshot?: string) => {
    assert.equal(await heading(), 'Second factor');
    if (screenshot) await shot(page, screenshot);
    await page.getByLabel('Code from your authenticator app').fill(codeAt(secret, now()));
    await submit(page, () => page.getByRole('button', { name: 'Verify' }).click());
  };

  const redeem = async (cfg: client.Configuration, req: Awaited<ReturnType<typeof authRequest>>) => {
    const hit = await cb.next('/callback');
    return client.authorizationCodeGrant(cfg, new URL(hit.url), {
      pkceCodeVerifier: req.verifier,
      expectedState: req.state,
      expectedNonce: req.nonce,
    });
  };

  it('signs in with password and an authenticator code, no CSP violation', async () => {
    const secret = await enrol('tess');
    await fresh();
    const cfg = await config();
    const req = await authRequest(cfg, { scope: 'openid profile', redirect_uri: cb.url('/callback') });
    await page.goto(req.url.href);
    await signIn(page, 'tess', PASSWORD);
    await typeCode(secret, 'second-factor-code');
    await decide(page, 'Allow');
    const tokens = await redeem(cfg, req);
    const claims = tokens.claims()!;
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
    assert.equal(claims.acr, 'urn:tessera:acr:mfa');
    assert.deepEqual(violations, []);
  });

  it('steps up a signed-in user when the RP asks for acr_values above the session', async () => {
    await fresh();
    const cfg = await config();
    const first = await authRequest(cfg, { scope: 'openid profile', redirect_uri: cb.url('/callback') });
    await page.goto(first.url.href);
    await signIn(page, 'sam', PASSWORD);
    await decide(page, 'Allow');
    assert.equal((await redeem(cfg, first)).claims()!.acr, 'urn:tessera:acr:password');

    const secret = await enrol('sam');
    const up = await authRequest(cfg, {
      scope: 'openid profile',
      redirect_uri: cb.url('/callback'),
      acr_values: 'urn:tessera:acr:mfa',
    });
    await page.goto(up.url.href);
    await typeCode(secret);
    const claims = (await redeem(cfg, up)).claims()!;
    assert.equal(claims.acr, 'urn:tessera:acr:mfa');
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
    assert.deepEqual(violations, []);
  });

  it('a passkey as the second factor after the password (a virtual authenticator)', async () => {
    await fresh();
    // The button only (no autofill on the login page, which would sign in with the passkey alone).
    await context!.addInitScript(() => {
      PublicKeyCredential.isConditionalMediationAvailable = async () => false;
    });
    const cdp = await context!.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    // Enrol: the account area, with the password (no factor yet), then the passkeys page.
    await page.goto(`${server.issuer}/account`);
    await signIn(page, 'pat', PASSWORD);
    await page.goto(`${server.issuer}/account/security/passkeys`);
    await page.getByLabel('Name').fill('Laptop');
    await submit(page, () => page.getByRole('button', { name: 'Add a passkey' }).click());
    await page.getByText('Passkey “Laptop” added.').waitFor();
    await page.goto(`${server.issuer}/account`);
    await submit(page, () => page.getByRole('button', { name: 'Sign out' }).click());

    const cfg = await config();
    const req = await authRequest(cfg, { scope: 'openid profile', redirect_uri: cb.url('/callback') });
    await page.goto(req.url.href);
    await signIn(page, 'pat', PASSWORD);
    assert.equal(await heading(), 'Second factor');
    await page.getByRole('button', { name: 'Use a passkey' }).waitFor();
    await shot(page, 'second-factor-passkey');
    await submit(page, () => page.getByRole('button', { name: 'Use a passkey' }).click());
    await decide(page, 'Allow');
    const claims = (await redeem(cfg, req)).claims()!;
    const amr = claims.amr as string[];
    assert.equal(amr[0], 'pwd');
    assert.ok(amr.includes('hwk') || amr.includes('swk'), JSON.stringify(amr));
    assert.ok(amr.includes('user') && amr.at(-1) === 'mfa', JSON.stringify(amr));
    assert.ok(['phr', 'phrh'].includes(claims.acr as string), String(claims.acr));
    assert.deepEqual(violations, []);
  });
});
