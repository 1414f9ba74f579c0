/**
 * Email in a real browser against the real server (a child process) and a real SMTP server that
 * the server reaches over STARTTLS: sign up, open the verification link from the received mail and
 * confirm; forget the password, reset it from the mailed link, sign in with the new one. Every page
 * is screenshotted (test-artifacts/mail) and no page may report a
 * Content Security Policy violation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { RunningServer } from '../fixtures/server.ts';
import type { SmtpFixture } from '../fixtures/smtp.ts';
import {
  artifactsDir,
  authRequest,
  browserSkip,
  collectCspViolations,
  decide,
  fillSignUp,
  launchBrowser,
  mailSkip,
  rpConfig,
  screen,
  screenshot,
  secretWebClient,
  signIn,
  startCallbackServer,
  startMailingServer,
  submit,
  type CallbackServer,
  type MailingServer,
} from './support.ts';

const SECRET = 'mail-flow-client-secret-0123456789';
const PASSWORD = 'a long and memorable passphrase';
const NEW_PASSWORD = 'another equally long passphrase';

describe('email: verification and password reset in a browser', {
  skip: browserSkip || mailSkip,
}, () => {
  let mailing: MailingServer;
  let smtp: SmtpFixture;
  let server: RunningServer;
  let cb: CallbackServer;
  let browser: Browser;
  let context: BrowserContext | undefined;
  let page: Page;
  const violations: string[] = [];
  let shot = 0;

  before(async () => {
    artifactsDir('mail', { clean: true });
    cb = await startCallbackServer();
    [browser, mailing] = await Promise.all([
      launchBrowser(),
      startMailingServer({
        env: { TESSERA_SELF_REGISTRATION: 'true' },
        bootstrap: {
          clients: [
            secretWebClient(cb, {
              client_id: 'web',
              client_name: 'Mail App',
              client_secret: SECRET,
              scope: 'openid profile email',
            }),
          ],
          users: [{ username: 'keyholder', password: PASSWORD, email: 'keyholder@example.org', email_verified: true }],
        },
      }),
    ]);
    ({ server, smtp } = mailing);
  });
  after(async () => {
    await browser?.close();
    await mailing?.stop();
    await cb?.close();
  });

  async function fresh() {
    await context?.close();
    context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    await collectCspViolations(page, violations);
  }
  const heading = async () => (await page.locator('h1').first().textContent())?.trim();
  const capture = (name: string) => screenshot(page, 'mail', `${String(++shot).padStart(2, '0')}-${name}`);
  const config = () => rpConfig(server.issuer, 'web', client.ClientSecretBasic(SECRET));

  it('sign up, confirm the address from the mail, forget the password, reset it from the mail, sign in with the new one', async () => {
    await fresh();
    const c = await config();
    const req = await authRequest(c, { redirect_uri: cb.url('/callback'), scope: 'openid email', prompt: 'create' });
    await page.goto(req.url.href);
    assert.equal(await heading(), 'Create an account');
    await fillSignUp(page, { username: 'mailer', email: 'mailer@example.org', password: PASSWORD });
    await capture('signup');
    await submit(page, () => page.getByRole('button', { name: 'Create account' }).click());
    assert.equal(await screen(page, cb.origin), 'consent');
    await decide(page, 'Allow');
    assert.equal(await screen(page, cb.origin), 'callback');
    const tokens = await client.authorizationCodeGrant(c, new URL(page.url()), {
      pkceCodeVerifier: req.verifier,
      expectedState: req.state,
      expectedNonce: req.nonce,
    });
    assert.equal(tokens.claims()!.email_verified, false);

    // The verification mail, as the SMTP server received it.
    const verify = await smtp.waitFor((m) => m.to.includes('mailer@example.org') && /Confirm/.test(m.subject));
    assert.equal(verify.from, `no-reply@${new URL(server.issuer).hostname}`);
    await page.goto(verify.links[0]!);
    assert.equal(await heading(), 'Confirm your email address');
    await capture('verify-email');
    await submit(page, () => page.getByRole('button', { name: 'Confirm my email address' }).click());
    assert.equal(await heading(), 'Email address confirmed');
    await capture('verify-email-done');

    // Forgot password, from the login page of a new sign-in.
    await fresh();
    const again = await authRequest(c, { redirect_uri: cb.url('/callback'), scope: 'openid email' });
    await page.goto(again.url.href);
    assert.equal(await screen(page, cb.origin), 'login');
    await submit(page, () => page.getByRole('link', { name: 'Forgot password?' }).click());
    assert.equal(await heading(), 'Forgot password?');
    await capture('forgot-password');
    await page.getByLabel('Username or email address').fill('mailer@example.org');
    await submit(page, () => page.getByRole('button', { name: 'Send the link' }).click());
    assert.equal(await heading(), 'Check your mail');
    await capture('forgot-password-sent');
    const reset = await smtp.waitFor((m) => m.to.includes('mailer@example.org') && /Reset/.test(m.subject));
    await page.goto(reset.links[0]!);
    assert.equal(await heading(), 'Choose a new password');
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('New password again').fill(NEW_PASSWORD);
    await capture('reset-password');
    await submit(page, () => page.getByRole('button', { name: 'Change password', exact: true }).click());
    assert.equal(await heading(), 'Password changed');
    await capture('reset-password-done');
    await smtp.waitFor((m) => m.to.includes('mailer@example.org') && /password was changed/.test(m.subject));
    // The link works once.
    await page.goto(reset.links[0]!);
    assert.equal(await heading(), 'Link not valid');

    await page.goto(again.url.href);
    await signIn(page, 'mailer', PASSWORD);
    assert.equal(await screen(page, cb.origin), 'login');
    await signIn(page, 'mailer', NEW_PASSWORD);
    assert.equal(await screen(page, cb.origin), 'callback');
    const second = await client.authorizationCodeGrant(c, new URL(page.url()), {
      pkceCodeVerifier: again.verifier,
      expectedState: again.state,
      expectedNonce: again.nonce,
    });
    assert.equal(second.claims()!.email_verified, true);
    assert.deepEqual(violations, []);
  });

  it('a user whose only second factor is a passkey resets the password with it', async () => {
    await fresh();
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
    await page.goto(`${server.issuer}/account`);
    await signIn(page, 'keyholder', PASSWORD);
    await page.goto(`${server.issuer}/account/security/passkeys`);
    await page.getByLabel('Name').fill('Laptop');
    await submit(page, () => page.getByRole('button', { name: 'Add a passkey' }).click());
    await page.getByText('Passkey “Laptop” added.').waitFor();

    await page.goto(`${server.issuer}/forgot-password`);
    await page.getByLabel('Username or email address').fill('keyholder');
    await submit(page, () => page.getByRole('button', { name: 'Send the link' }).click());
    const reset = await smtp.waitFor((m) => m.to.includes('keyholder@example.org') && /Reset/.test(m.subject));
    await page.goto(reset.links[0]!);
    assert.equal(await heading(), 'Choose a new password');
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('New password again').fill(NEW_PASSWORD);
    await capture('reset-password-passkey');
    await submit(page, () => page.getByRole('button', { name: 'Change password with a passkey' }).click());
    assert.equal(await heading(), 'Password changed');
    assert.deepEqual(violations, []);
  });
});
