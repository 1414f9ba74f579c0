/**
 * Self-registration black box (TESSERA_SELF_REGISTRATION=true): openid-client sends prompt=create
 * (OpenID Connect Prompt Create 1.0), Chromium fills the real sign-up page, consents, and the
 * relying party redeems the code for tokens of the new user, who can then sign in again with the
 * password. Also the "Create an account" link of the login page.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../fixtures/server.ts';
import {
  authRequest,
  browserSkip,
  decide,
  launchBrowser,
  rpConfig,
  screen,
  signIn,
  startCallbackServer,
  submit,
  type AuthRequest,
  type CallbackServer,
} from './support.ts';

const SECRET = 'flow-test-client-secret-0123456789';
const PASSWORD = 'a long and memorable passphrase';

describe('self-registration (prompt=create)', { skip: browserSkip }, () => {
  let server: RunningServer;
  let cb: CallbackServer;
  let browser: Browser;
  let context: BrowserContext | undefined;
  let page: Page;

  before(async () => {
    cb = await startCallbackServer();
    [browser, server] = await Promise.all([
      launchBrowser(),
      startServer({
        env: { TESSERA_SELF_REGISTRATION: 'true' },
        bootstrap: {
          clients: [
            {
              client_id: 'web',
              client_name: 'Sign-up App',
              client_secret: SECRET,
              token_endpoint_auth_method: 'client_secret_basic',
              redirect_uris: [cb.url('/callback')],
              grant_types: ['authorization_code', 'refresh_token'],
              scope: 'openid profile email',
            },
          ],
          users: [
            {
              username: 'alice',
              password: 'correct horse battery staple',
              email: 'alice@example.com',
              email_verified: true,
              name: 'Alice',
            },
          ],
        },
      }),
    ]);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await cb?.close();
  });

  async function fresh() {
    await context?.close();
    context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
  }
  const heading = async () => (await page.locator('h1').first().textContent())?.trim();
  const config = () => rpConfig(server.issuer, 'web', client.ClientSecretBasic(SECRET));
  const request = (c: client.Configuration, params: Record<string, string> = {}) =>
    authRequest(c, { redirect_uri: cb.url('/callback'), scope: 'openid profile email', ...params });
  const redeem = (c: client.Configuration, req: AuthRequest) =>
    client.authorizationCodeGrant(c, new URL(page.url()), {
      pkceCodeVerifier: req.verifier,
      expectedState: req.state,
      expectedNonce: req.nonce,
    });

  /** Fills the sign-up form by its labels and submits it. */
  async function fillSignup(f: { username: string; email?: string; name?: string; password: string; confirm: string }) {
    await page.getByLabel('Username').fill(f.username);
    if (f.email !== undefined) await page.getByLabel('Email').fill(f.email);
    if (f.name !== undefined) await page.getByLabel('Full name').fill(f.name);
    await page.getByLabel('Password', { exact: true }).fill(f.password);
    await page.getByLabel('Confirm password').fill(f.confirm);
    await submit(page, () => page.getByRole('button', { name: 'Create account' }).click());
  }

  it('discovery advertises create; prompt=create shows the sign-up page; after sign-up: consent, code, tokens of the new user; the user signs in again', async () => {
    await fresh();
    const c = await config();
    assert.ok((c.serverMetadata().prompt_values_supported as string[]).includes('create'));

    const req = await request(c, { prompt: 'create' });
    await page.goto(req.url.href);
    assert.equal(await heading(), 'Create an account');
    assert.equal(await page.getByRole('link', { name: 'Sign in' }).count(), 0);

    // A mistake first: the page comes back with the message, the fields kept, no passwords.
    await fillSignup({
      username: 'newcomer',
      email: 'newcomer@example.com',
      name: 'New Comer',
      password: PASSWORD,
      confirm: `${PASSWORD}!`,
    });
    assert.equal(await heading(), 'Create an account');
    assert.match(await page.locator('main').innerText(), /The two passwords do not match/);
    assert.equal(await page.getByLabel('Username').inputValue(), 'newcomer');
    assert.equal(await page.getByLabel('Password', { exact: true }).inputValue(), '');

    await fillSignup({ username: 'newcomer', password: PASSWORD, confirm: PASSWORD });
    assert.equal(await screen(page, cb.origin), 'consent');
    assert.match(await page.locator('main').innerText(), /newcomer/);
    await decide(page, 'Allow');
    assert.equal(await screen(page, cb.origin), 'callback');

    const tokens = await redeem(c, req);
    const claims = tokens.claims()!;
    assert.deepEqual(claims.amr, ['pwd']);
    const info = await client.fetchUserInfo(c, tokens.access_token, claims.sub);
    assert.equal(info.sub, claims.sub);
    assert.equal(info.preferred_username, 'newcomer');
    assert.equal(info.email, 'newcomer@example.com');
    assert.equal(info.email_verified, false);
    assert.equal(info.name, 'New Comer');

    // Later, in another browser: the ordinary login page, with the password chosen at sign-up.
    await fresh();
    const again = await request(c);
    await page.goto(again.url.href);
    assert.equal(await screen(page, cb.origin), 'login');
    await signIn(page, 'newcomer', 'the wrong password');
    assert.equal(await screen(page, cb.origin), 'login');
    await signIn(page, 'newcomer', PASSWORD);
    // Consent was given at sign-up and is remembered.
    assert.equal(await screen(page, cb.origin), 'callback');
    const second = await redeem(c, again);
    assert.equal(second.claims()!.sub, claims.sub);
  });

  it('the login page links to the sign-up page; a taken username is refused; sign-up then goes on to the application', async () => {
    await fresh();
    const c = await config();
    const req = await request(c);
    await page.goto(req.url.href);
    assert.equal(await screen(page, cb.origin), 'login');
    await submit(page, () => page.getByRole('link', { name: 'Create an account' }).click());
    assert.equal(await heading(), 'Create an account');

    await fillSignup({ username: 'alice', password: PASSWORD, confirm: PASSWORD });
    assert.match(await page.locator('main').innerText(), /This username is taken/);
    await fillSignup({ username: 'second.user', password: 'password123', confirm: 'password123' });
    assert.match(await page.locator('main').innerText(), /too common/);
    await fillSignup({ username: 'second.user', email: 'second@example.com', password: PASSWORD, confirm: PASSWORD });
    assert.equal(await screen(page, cb.origin), 'consent');
    await decide(page, 'Allow');
    assert.equal(await screen(page, cb.origin), 'callback');
    const tokens = await redeem(c, req);
    const info = await client.fetchUserInfo(c, tokens.access_token, tokens.claims()!.sub);
    assert.equal(info.preferred_username, 'second.user');
  });
});
