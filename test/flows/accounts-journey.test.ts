/**
 * One person's whole story with a Tessera account (issue 16, "tested as a person would"), in
 * Chromium against the real server, a real SMTP server and an openid-client relying party: sign up,
 * confirm the address from the mail, add an authenticator app in the account area, sign out, sign
 * in to the application with the password and a code, sign in with a recovery code, add a passkey
 * (a virtual authenticator), step up to a passkey when the application asks for acr_values=phr, sign
 * in with the passkey alone through autofill, forget the password and reset it from the mail (the
 * second factor asked on the reset page), end a session of another browser, delete the account and
 * find the username reserved. No page may report a CSP violation; each page is screenshotted into
 * test-artifacts/journey.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { Secret, TOTP } from 'otpauth';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { RunningServer } from '../fixtures/server.ts';
import type { SmtpFixture } from '../fixtures/smtp.ts';
import {
  addVirtualAuthenticator,
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
  type AuthRequest,
  type CallbackServer,
  type MailingServer,
  type VirtualAuthenticator,
} from './support.ts';

const SECRET = 'journey-client-secret-0123456789abcdef';
const USERNAME = 'journey';
const EMAIL = 'journey@example.org';
const PASSWORD = 'a long and memorable passphrase';
const NEW_PASSWORD = 'another equally long passphrase';
const SCOPE = 'openid profile email';
const STEP_MS = 30_000;

describe('an account, from sign-up to deletion, as a person uses it', {
  skip: browserSkip || mailSkip,
}, () => {
  let mailing: MailingServer;
  let smtp: SmtpFixture;
  let server: RunningServer;
  let cb: CallbackServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  /** Every CSP violation (or script error) of every page of every browser context. */
  const violations: string[] = [];
  let shots = 0;

  before(async () => {
    artifactsDir('journey', { clean: true });
    cb = await startCallbackServer();
    [browser, mailing] = await Promise.all([
      launchBrowser(),
      startMailingServer({
        env: { TESSERA_SELF_REGISTRATION: 'true' },
        bootstrap: {
          clients: [
            secretWebClient(cb, { client_id: 'web', client_name: 'Journey App', client_secret: SECRET, scope: SCOPE }),
          ],
        },
      }),
    ]);
    ({ server, smtp } = mailing);
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await mailing?.stop();
    await cb?.close();
  });

  /**
   * A browser profile of its own (cookies), its pages watched for CSP violations, optionally with a
   * virtual authenticator. Without `autofill` the browser says it has no passkey autofill, so that
   * a passkey is used only when the person presses a passkey button.
   */
  async function browserWindow(
    opts: { authenticator?: boolean; autofill?: boolean; passkeysOf?: VirtualAuthenticator } = {},
  ) {
    const context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    contexts.push(context);
    if (!opts.autofill)
      await context.addInitScript(() => {
        PublicKeyCredential.isConditionalMediationAvailable = async () => false;
      });
    const page = await context.newPage();
    await collectCspViolations(page, violations);
    const authenticator = opts.authenticator ? await addVirtualAuthenticator(page) : undefined;
    // The passkeys of another virtual authenticator, held by this one too.
    const { credentials } = opts.passkeysOf
      ? await opts.passkeysOf.cdp.send('WebAuthn.getCredentials', { authenticatorId: opts.passkeysOf.authenticatorId })
      : { credentials: [] };
    for (const credential of credentials)
      await authenticator!.cdp.send('WebAuthn.addCredential', {
        authenticatorId: authenticator!.authenticatorId,
        credential,
      });
    return { page, authenticator };
  }

  const heading = async (page: Page) => (await page.locator('h1').first().textContent())?.trim();
  const shot = (page: Page, name: string) => screenshot(page, 'journey', `${String(++shots).padStart(2, '0')}-${name}`);
  const go = (page: Page, path: string) => page.goto(`${server.issuer}${path}`);
  const config = () => rpConfig(server.issuer, 'web', client.ClientSecretBasic(SECRET));
  const request = async (cfg: client.Configuration, extra: Record<string, string> = {}) =>
    authRequest(cfg, { redirect_uri: cb.url('/callback'), scope: SCOPE, ...extra });

  /** Consents when asked (once per application), then redeems the code the callback received. */
  async function finish(page: Page, cfg: client.Configuration, req: AuthRequest) {
    if ((await screen(page, cb.origin)) === 'consent') await decide(page, 'Allow');
    const hit = await cb.next('/callback');
    // The browser's own navigation there ends too (a redirect without a click: the passkey autofill).
    await page.waitForURL((u) => u.href.startsWith(cb.origin));
    const tokens = await client.authorizationCodeGrant(cfg, new URL(hit.url), {
      pkceCodeVerifier: req.verifier,
      expectedState: req.state,
      expectedNonce: req.nonce,
    });
    return tokens;
  }

  // The authenticator app: a code is accepted once, so each sign-in takes a later time step than
  // the last one used (the current one or the next, which the server accepts as clock drift); when
  // both are spent, the test waits for the next step.
  let lastStep = 0;
  async function totpCode(secret: string): Promise<string> {
    for (;;) {
      const current = Math.floor(Date.now() / STEP_MS);
      const step = Math.max(lastStep + 1, current);
      if (step <= current + 1) {
        lastStep = step;
        return new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate({
          timestamp: step * STEP_MS,
        });
      }
      await new Promise((r) => setTimeout(r, (current + 1) * STEP_MS - Date.now() + 50));
    }
  }

  async function secondFactorCode(page: Page, secret: string): Promise<void> {
    assert.equal(await heading(page), 'Second factor');
    await page.getByLabel('Code from your authenticator app').fill(await totpCode(secret));
    await submit(page, () => page.getByRole('button', { name: 'Verify' }).click());
  }

  async function signOut(page: Page): Promise<void> {
    await go(page, '/account');
    await submit(page, () => page.getByRole('button', { name: 'Sign out' }).click());
  }

  it('signs up, secures, uses, recovers and deletes an account', async () => {
    const cfg = await config();
    const { page, authenticator } = await browserWindow({ authenticator: true });

    // ---- Sign up from the application (prompt=create).
    const signup = await request(cfg, { prompt: 'create' });
    await page.goto(signup.url.href);
    assert.equal(await heading(page), 'Create an account');
    await fillSignUp(page, { username: USERNAME, email: EMAIL, password: PASSWORD });
    await shot(page, 'sign-up');
    await submit(page, () => page.getByRole('button', { name: 'Create account' }).click());
    assert.equal(await screen(page, cb.origin), 'consent');
    await shot(page, 'consent');
    let claims = (await finish(page, cfg, signup)).claims()!;
    assert.equal(claims.email_verified, false);
    assert.deepEqual(claims.amr, ['pwd']);
    assert.equal(claims.acr, 'urn:tessera:acr:password');
    const sub = claims.sub;

    // ---- Confirm the address from the mail the SMTP server received.
    const verify = await smtp.waitFor((m) => m.to.includes(EMAIL) && /Confirm/.test(m.subject));
    await page.goto(verify.links[0]!);
    assert.equal(await heading(page), 'Confirm your email address');
    await shot(page, 'verify-email');
    await submit(page, () => page.getByRole('button', { name: 'Confirm my email address' }).click());
    assert.equal(await heading(page), 'Email address confirmed');
    await shot(page, 'verify-email-done');
    await page.goto(verify.links[0]!);
    assert.equal(await heading(page), 'Link not valid', 'a verification link works once');

    // ---- An authenticator app, added in the account area (the sign-up's session).
    await go(page, '/account');
    assert.equal(await heading(page), 'Your account');
    await shot(page, 'account');
    await go(page, '/account/security');
    assert.equal(await heading(page), 'Security');
    await shot(page, 'security');
    await submit(page, () => page.getByRole('link', { name: 'Add an authenticator app' }).click());
    assert.equal(await heading(page), 'Add an authenticator app');
    await shot(page, 'add-totp');
    const secret = ((await page.locator('code.secret').textContent()) ?? '').replace(/\s/g, '');
    await page.getByLabel('Code from the app').fill(await totpCode(secret));
    await page.getByLabel('Name for this app (optional)').fill('Phone');
    await submit(page, () => page.getByRole('button', { name: 'Add' }).click());
    assert.equal(await heading(page), 'Recovery codes');
    const codes = (await page.locator('.codes li').allTextContents()).map((c) => c.trim());
    assert.equal(codes.length, 10);
    await shot(page, 'recovery-codes');
    await smtp.waitFor((m) => m.to.includes(EMAIL) && /sign-in method was added/.test(m.subject));

    // ---- Sign out; sign in to the application with the password and a code.
    await signOut(page);
    await shot(page, 'signed-out');
    const withCode = await request(cfg);
    await page.goto(withCode.url.href);
    assert.equal(await screen(page, cb.origin), 'login');
    await shot(page, 'sign-in');
    await signIn(page, USERNAME, PASSWORD);
    assert.equal(await heading(page), 'Second factor');
    assert.equal(await page.getByText('Remember this browser').count(), 0, 'remembered browsers are off by default');
    await shot(page, 'second-factor');
    await secondFactorCode(page, secret);
    claims = (await finish(page, cfg, withCode)).claims()!;
    assert.equal(claims.sub, sub);
    assert.equal(claims.email_verified, true);
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
    assert.equal(claims.acr, 'urn:tessera:acr:mfa');

    // ---- A later sign-in, to the account area, with a recovery code.
    await signOut(page);
    await go(page, '/account');
    await signIn(page, USERNAME, PASSWORD);
    assert.equal(await heading(page), 'Second factor');
    await submit(page, () => page.getByRole('link', { name: 'Use a recovery code' }).click());
    await shot(page, 'second-factor-recovery-code');
    await page.getByLabel('Recovery code').fill(codes[0]!);
    await submit(page, () => page.getByRole('button', { name: 'Verify' }).click());
    assert.equal(await heading(page), 'Your account');

    // ---- A passkey, added with the virtual authenticator.
    await go(page, '/account/security/passkeys');
    assert.equal(await heading(page), 'Passkeys');
    await shot(page, 'passkeys');
    await page.getByLabel('Name').fill('Laptop');
    await submit(page, () => page.getByRole('button', { name: 'Add a passkey' }).click());
    await page.getByText('Passkey “Laptop” added.').waitFor();
    await shot(page, 'passkey-added');
    const { credentials } = await authenticator!.cdp.send('WebAuthn.getCredentials', {
      authenticatorId: authenticator!.authenticatorId,
    });
    assert.equal(credentials.length, 1);
    const added = await smtp.waitFor((m) => m.to.includes(EMAIL) && /sign-in method was added/.test(m.subject));
    const passkeyMail = await smtp.waitFor(
      (m) => m !== added && m.to.includes(EMAIL) && /sign-in method was added/.test(m.subject),
    );
    assert.match(passkeyMail.text, /A passkey was added/);

    // ---- Step-up: the application asks for a phishing-resistant sign-in (the session has the
    // password and a recovery code): the passkey is asked, the ID token says so.
    const stepUpAt = Math.floor(Date.now() / 1000);
    const stepUp = await request(cfg, { acr_values: 'phr' });
    await page.goto(stepUp.url.href);
    assert.equal(await heading(page), 'Second factor');
    await page.getByRole('button', { name: 'Use a passkey' }).waitFor();
    await shot(page, 'step-up');
    await submit(page, () => page.getByRole('button', { name: 'Use a passkey' }).click());
    const stepUpTokens = await finish(page, cfg, stepUp);
    claims = stepUpTokens.claims()!;
    assert.equal(claims.sub, sub);
    const stepAmr = claims.amr as string[];
    assert.ok(['phr', 'phrh'].includes(claims.acr as string), `acr ${String(claims.acr)}`);
    assert.ok(stepAmr.includes('hwk') || stepAmr.includes('swk'), `amr ${JSON.stringify(stepAmr)}`);
    assert.ok(stepAmr.includes('mfa'), `amr ${JSON.stringify(stepAmr)}`);
    // The passkey was used just now: the time of the authentication is the step-up's.
    assert.ok((claims.auth_time as number) >= stepUpAt, `auth_time ${claims.auth_time} before ${stepUpAt}`);
    // The access token tells resource servers the same (RFC 9068 §2.2.1).
    const access = decodeJwt(stepUpTokens.access_token);
    assert.equal(access.acr, claims.acr);
    assert.equal(access.auth_time, claims.auth_time);

    // max_age=0: the application wants a fresh sign-in: the password again, then a second factor.
    const freshAt = Math.floor(Date.now() / 1000);
    const reauth = await request(cfg, { max_age: '0' });
    await page.goto(reauth.url.href);
    assert.equal(await screen(page, cb.origin), 'login');
    await signIn(page, USERNAME, PASSWORD);
    assert.equal(await heading(page), 'Second factor');
    await submit(page, () => page.getByRole('link', { name: 'Use a recovery code' }).click());
    await page.getByLabel('Recovery code').fill(codes[3]!);
    await submit(page, () => page.getByRole('button', { name: 'Verify' }).click());
    claims = (await finish(page, cfg, reauth)).claims()!;
    assert.equal(claims.sub, sub);
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
    assert.ok((claims.auth_time as number) >= freshAt, `auth_time ${claims.auth_time} before ${freshAt}`);
    await signOut(page);

    // ---- The passkey alone, through the browser's autofill (conditional mediation), in a browser
    // whose authenticator holds the same passkey.
    const other = await browserWindow({ authenticator: true, autofill: true, passkeysOf: authenticator });
    const autofill = await request(cfg);
    await other.page.goto(autofill.url.href);
    const passkeyTokens = await finish(other.page, cfg, autofill);
    claims = passkeyTokens.claims()!;
    assert.equal(claims.sub, sub);
    const passkeyAmr = claims.amr as string[];
    assert.ok(!passkeyAmr.includes('pwd'), `amr ${JSON.stringify(passkeyAmr)}: no password`);
    assert.ok(passkeyAmr.includes('hwk') || passkeyAmr.includes('swk'), `amr ${JSON.stringify(passkeyAmr)}`);
    assert.ok(passkeyAmr.includes('user') && passkeyAmr.includes('mfa'), `amr ${JSON.stringify(passkeyAmr)}`);
    assert.ok(['phr', 'phrh'].includes(claims.acr as string), `acr ${String(claims.acr)}`);
    await go(other.page, '/account');
    assert.equal(await heading(other.page), 'Your account', 'the passkey signed the account area in too');
    const userinfo = () => client.fetchUserInfo(cfg, passkeyTokens.access_token, sub);
    assert.equal((await userinfo()).email, EMAIL);

    // ---- Forgot password: the link from the mail, the second factor on the reset page.
    const forgot = await request(cfg);
    await page.goto(forgot.url.href);
    assert.equal(await screen(page, cb.origin), 'login');
    await submit(page, () => page.getByRole('link', { name: 'Forgot password?' }).click());
    assert.equal(await heading(page), 'Forgot password?');
    await shot(page, 'forgot-password');
    await page.getByLabel('Username or email address').fill(EMAIL);
    await submit(page, () => page.getByRole('button', { name: 'Send the link' }).click());
    assert.equal(await heading(page), 'Check your mail');
    await shot(page, 'forgot-password-sent');
    const reset = await smtp.waitFor((m) => m.to.includes(EMAIL) && /Reset/.test(m.subject));
    await page.goto(reset.links[0]!);
    assert.equal(await heading(page), 'Choose a new password');
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('New password again').fill(NEW_PASSWORD);
    await page.getByLabel('Code from your authenticator app, or a recovery code').fill(codes[1]!);
    await shot(page, 'reset-password');
    await submit(page, () => page.getByRole('button', { name: 'Change password', exact: true }).click());
    assert.equal(await heading(page), 'Password changed');
    await shot(page, 'reset-password-done');
    await smtp.waitFor((m) => m.to.includes(EMAIL) && /password was changed/.test(m.subject));
    await page.goto(reset.links[0]!);
    assert.equal(await heading(page), 'Link not valid', 'a reset link works once');
    // Every grant was revoked: the application's access token is refused.
    await assert.rejects(userinfo(), 'the access token issued before the reset is refused');
    // The reset ended every session, the passkey browser's too (asked with its cookies but without
    // the page, whose autofill would sign it in again at once).
    const afterReset = await (await other.page.request.get(`${server.issuer}/account`)).text();
    assert.match(afterReset, /<h1>Sign in<\/h1>/, 'the reset ended the other sessions');
    await other.page.context().close();

    // ---- The new password (and a code) signs in; the old one does not.
    await go(page, '/account');
    await signIn(page, USERNAME, PASSWORD);
    assert.equal(await heading(page), 'Sign in', 'the old password is refused');
    await signIn(page, USERNAME, NEW_PASSWORD);
    await secondFactorCode(page, secret);
    assert.equal(await heading(page), 'Your account');
    // The application signs in again with the new session (its earlier tokens were revoked; the
    // consent, which is not a token, is kept).
    const again = await request(cfg);
    await page.goto(again.url.href);
    const lastTokens = await finish(page, cfg, again);
    claims = lastTokens.claims()!;
    assert.equal(claims.sub, sub);
    assert.equal(claims.acr, 'urn:tessera:acr:mfa');

    // ---- A second browser signs in; the first sees its session and ends it.
    const second = await browserWindow();
    await go(second.page, '/account');
    await signIn(second.page, USERNAME, NEW_PASSWORD);
    assert.equal(await heading(second.page), 'Second factor');
    await submit(second.page, () => second.page.getByRole('link', { name: 'Use a recovery code' }).click());
    // A recovery code works once.
    await second.page.getByLabel('Recovery code').fill(codes[0]!);
    await submit(second.page, () => second.page.getByRole('button', { name: 'Verify' }).click());
    assert.equal(await heading(second.page), 'Second factor');
    assert.equal(await second.page.getByRole('alert').textContent(), 'That recovery code is not valid.');
    await second.page.getByLabel('Recovery code').fill(codes[2]!);
    await submit(second.page, () => second.page.getByRole('button', { name: 'Verify' }).click());
    assert.equal(await heading(second.page), 'Your account');
    await smtp.waitFor((m) => m.to.includes(EMAIL) && /New sign-in/.test(m.subject));
    await go(page, '/account/sessions');
    assert.equal(await heading(page), 'Sessions and devices');
    const sessions = page.locator('main ul.apps > li');
    assert.equal(await sessions.count(), 2);
    await shot(page, 'sessions');
    await submit(page, () => page.getByRole('button', { name: /^End the session of/ }).click());
    assert.equal(await sessions.count(), 1);
    await go(second.page, '/account/security');
    assert.equal(await heading(second.page), 'Sign in', 'the other browser was signed out');

    // Four recovery codes used (two sign-ins, the reset, the second browser), six left; the
    // activity page tells the story.
    await go(page, '/account/security/recovery-codes');
    assert.match((await page.locator('main').textContent()) ?? '', /6\s+unused recovery codes/);
    await go(page, '/account/activity');
    assert.equal(await heading(page), 'Recent security activity');
    await shot(page, 'activity');
    const activity = (await page.locator('main').textContent()) ?? '';
    for (const what of [/Second factor added/, /Sessions ended/]) assert.match(activity, what);

    // ---- Delete the account; its username stays reserved.
    await go(page, '/account/delete');
    assert.equal(await heading(page), 'Delete your account');
    await shot(page, 'delete');
    await page.getByLabel('Your password').fill(NEW_PASSWORD);
    await page.getByLabel('I want to delete my account').check();
    await submit(page, () => page.getByRole('button', { name: 'Delete my account' }).click());
    assert.equal(await heading(page), 'Account deleted');
    await shot(page, 'deleted');
    await smtp.waitFor((m) => m.to.includes(EMAIL) && /deleted/i.test(m.subject));
    const signupAgain = await request(cfg, { prompt: 'create' });
    await page.goto(signupAgain.url.href);
    assert.equal(await heading(page), 'Create an account');
    await fillSignUp(page, { username: USERNAME, email: 'someone.else@example.org', password: PASSWORD });
    await submit(page, () => page.getByRole('button', { name: 'Create account' }).click());
    assert.equal(await heading(page), 'Create an account', 'no account was made');
    assert.match((await page.locator('main').textContent()) ?? '', /This username is reserved/);
    await shot(page, 'sign-up-reserved');
    // The deletion revoked the application's tokens.
    await assert.rejects(client.fetchUserInfo(cfg, lastTokens.access_token, sub), 'the tokens died with the account');
    // Another username with the same address makes a new account, with a subject never issued before.
    await fillSignUp(page, { username: 'journey2', email: EMAIL, password: PASSWORD });
    await submit(page, () => page.getByRole('button', { name: 'Create account' }).click());
    const fresh = (await finish(page, cfg, signupAgain)).claims()!;
    assert.notEqual(fresh.sub, sub);
    assert.equal(fresh.email_verified, false);

    // The deleted account's passkey signs nobody in.
    const last = await browserWindow({ authenticator: true, passkeysOf: authenticator });
    const gone = await request(cfg);
    await last.page.goto(gone.url.href);
    await submit(last.page, () => last.page.getByRole('button', { name: 'Sign in with a passkey' }).click());
    assert.equal(await screen(last.page, cb.origin), 'login');
    assert.equal(
      await last.page.getByRole('alert').textContent(),
      'The passkey could not be used to sign you in. Try again, or sign in with your password.',
    );
    // The password form was not used: its fields are not marked invalid.
    assert.equal(await last.page.getByLabel('Password').getAttribute('aria-invalid'), null);
    await shot(last.page, 'passkey-of-deleted-account');

    assert.deepEqual(violations, [], 'no CSP violation on any page');
  });
});
