/**
 * Passkeys as a person would use them, in Chromium with a virtual authenticator (the DevTools
 * WebAuthn domain): sign in with a password at /account, add a passkey, sign out, then sign in to an
 * application with the passkey button alone and get tokens whose amr says a passkey was used. Every
 * page runs under the strict CSP (scripts only by nonce) and none may report a violation. Attacks:
 * an assertion whose user handle names another user, a replayed challenge, an assertion made for
 * another origin, a disabled user's passkey.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
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
const ARTIFACTS = join(process.env.TESSERA_TEST_ARTIFACTS ?? join(tmpdir(), 'tessera-artifacts'), 'passkeys');
async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

const SECRET = 'flow-test-client-secret-0123456789';
const PASSWORD = 'correct horse battery staple';

describe('passkeys (virtual authenticator)', { skip: browserSkip }, () => {
  let server: RunningServer;
  let cb: CallbackServer;
  let browser: Browser;

  before(async () => {
    cb = await startCallbackServer();
    [browser, server] = await Promise.all([
      launchBrowser(),
      startServer({
        // The people here sign in with the password (to enrol, or to continue a sign-in) while their
        // account has a passkey: no second factor is asked of them (TESSERA_MFA=off). The passkey as
        // a second factor is tested with the second-factor page (test/flows/second-factor.test.ts).
        env: { TESSERA_MFA: 'off' },
        bootstrap: {
          clients: [
            {
              client_id: 'web',
              client_name: 'Passkey App',
              client_secret: SECRET,
              token_endpoint_auth_method: 'client_secret_basic',
              redirect_uris: [cb.url('/callback')],
              grant_types: ['authorization_code'],
              scope: 'openid profile',
            },
          ],
          users: [
            { username: 'alice', password: PASSWORD, email: 'alice@example.com', email_verified: true },
            { username: 'bob', password: PASSWORD, email: 'bob@example.com', email_verified: true },
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

  interface Session {
    context: BrowserContext;
    page: Page;
    cdp: CDPSession;
    authenticatorId: string;
    violations: string[];
  }
  const sessions: Session[] = [];
  after(async () => {
    for (const s of sessions) await s.context.close().catch(() => {});
  });

  /**
   * A browser profile with its own cookies and a virtual platform authenticator (UV, resident keys).
   * The virtual authenticator answers a conditional (autofill) request at once, as if the user had
   * picked the passkey in the username field's suggestions; `autofill: false` makes the browser say
   * it has no autofill for passkeys, so only the button starts a ceremony.
   */
  async function person(opts: { autofill: boolean } = { autofill: false }): Promise<Session> {
    const context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    if (!opts.autofill)
      await context.addInitScript(() => {
        PublicKeyCredential.isConditionalMediationAvailable = async () => false;
      });
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    page.on('pageerror', (e) => violations.push(`page error: ${e.message}`));
    const cdp = await context.newCDPSession(page);
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
    const s = { context, page, cdp, authenticatorId, violations };
    sessions.push(s);
    return s;
  }

  /** Signs in at /account with the password and adds a passkey named `name`. */
  async function enrol(s: Session, username: string, name: string): Promise<void> {
    await s.page.goto(`${server.issuer}/account`);
    await signIn(s.page, username, PASSWORD);
    assert.equal((await s.page.locator('h1').textContent())?.trim(), 'Your account');
    await s.page.goto(`${server.issuer}/account/security/passkeys`);
    assert.equal((await s.page.locator('h1').textContent())?.trim(), 'Passkeys');
    await shot(s.page, `passkeys-page-${username}`);
    await s.page.getByLabel('Name').fill(name);
    await submit(s.page, () => s.page.getByRole('button', { name: 'Add a passkey' }).click());
    await s.page.getByText(`Passkey “${name}” added.`).waitFor();
    await shot(s.page, `passkey-added-${username}`);
    const { credentials } = await s.cdp.send('WebAuthn.getCredentials', { authenticatorId: s.authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0]!.isResidentCredential, true);
  }

  async function signOut(s: Session): Promise<void> {
    await s.page.goto(`${server.issuer}/account`);
    await submit(s.page, () => s.page.getByRole('button', { name: 'Sign out' }).click());
  }

  /**
   * Captures the next passkey answer the page would post (the form is kept from submitting), so a
   * test can post it again or change it.
   */
  async function captureAssertion(page: Page): Promise<{ csrf: string; response: string; action: string }> {
    await page.evaluate(() => {
      const form = document.querySelector<HTMLFormElement>('form[data-passkey="login"]')!;
      form.submit = () => {
        (window as unknown as { captured: unknown }).captured = {
          csrf: (form.querySelector('input[name="csrf"]') as HTMLInputElement).value,
          response: (form.querySelector('input[name="response"]') as HTMLInputElement).value,
          action: form.action,
        };
      };
    });
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.waitForFunction(() => (window as unknown as { captured?: unknown }).captured !== undefined);
    return page.evaluate(() => (window as unknown as { captured: never }).captured);
  }

  /**
   * Posts a form with the browser's cookies (the page's CSP lets no script of it fetch) and returns
   * the status and the page the server answers, or "303 redirect".
   */
  async function post(page: Page, action: string, fields: Record<string, string>): Promise<string> {
    const res = await page.request.post(action, { form: fields, maxRedirects: 0 });
    return `${res.status()} ${res.status() === 303 ? 'redirect' : await res.text()}`;
  }

  it('a user adds a passkey, signs out, and signs in to an application with it alone (amr swk or hwk)', async () => {
    const alice = await person();
    await enrol(alice, 'alice', 'Laptop');
    await signOut(alice);

    const config = await rpConfig(server.issuer, 'web', client.ClientSecretBasic(SECRET));
    const req = await authRequest(config, { redirect_uri: cb.url('/callback'), scope: 'openid profile' });
    await alice.page.goto(req.url.href);
    assert.equal((await alice.page.locator('h1').textContent())?.trim(), 'Sign in');
    // Autofill (conditional mediation) is offered on the username field.
    assert.equal(await alice.page.getByLabel('Username').getAttribute('autocomplete'), 'username webauthn');
    await alice.page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
    await shot(alice.page, 'login-with-passkey');
    const callback = cb.next('/callback');
    await alice.page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    // First sign-in to this application: the consent page, then the code.
    await alice.page.getByRole('button', { name: 'Allow', exact: true }).waitFor();
    await decide(alice.page, 'Allow');
    const hit = await callback;
    const tokens = await client.authorizationCodeGrant(config, new URL(hit.url), {
      pkceCodeVerifier: req.verifier,
      expectedState: req.state,
      expectedNonce: req.nonce,
    });
    const claims = tokens.claims()!;
    const amr = claims.amr as string[];
    assert.ok(amr.includes('hwk') || amr.includes('swk'), `amr ${JSON.stringify(amr)} names a key`);
    assert.ok(amr.includes('user') && amr.includes('mfa'), `amr ${JSON.stringify(amr)}`);
    assert.ok(!amr.includes('pwd'), 'no password was used');
    // The passkey page lists it, used today.
    await alice.page.goto(`${server.issuer}/account/security/passkeys`);
    await alice.page.getByText('Last used').waitFor();
    assert.deepEqual(alice.violations, [], 'no CSP violation on any page');
  });

  it('signs in through the browser autofill (conditional mediation) without a click', async () => {
    const erin = await person({ autofill: true });
    // Enrolling signs in by password first: the login page's autofill finds no passkey yet.
    await enrol(erin, 'alice', 'Tablet');
    await signOut(erin);
    const config = await rpConfig(server.issuer, 'web', client.ClientSecretBasic(SECRET));
    const req = await authRequest(config, { redirect_uri: cb.url('/callback'), scope: 'openid profile' });
    const callback = cb.next('/callback');
    // alice consented already: the autofill's passkey goes straight to the code.
    await erin.page.goto(req.url.href);
    const hit = await callback;
    const tokens = await client.authorizationCodeGrant(config, new URL(hit.url), {
      pkceCodeVerifier: req.verifier,
      expectedState: req.state,
      expectedNonce: req.nonce,
    });
    assert.ok((tokens.claims()!.amr as string[]).includes('mfa'));
    assert.deepEqual(erin.violations, []);
  });

  it('signs in to the account area with a passkey; a replayed answer is refused', async () => {
    const carol = await person();
    await enrol(carol, 'bob', 'Phone');
    await signOut(carol);
    await carol.page.goto(`${server.issuer}/account`);
    const captured = await captureAssertion(carol.page);
    assert.match(captured.action, /\/account\/passkey$/);
    const first = await post(carol.page, captured.action, { csrf: captured.csrf, response: captured.response });
    assert.equal(first, '303 redirect', 'the first use signs in');
    // The same answer (same challenge) again: refused, with the login page and a generic error.
    const again = await post(carol.page, captured.action, { csrf: captured.csrf, response: captured.response });
    assert.match(again, /^400 /);
    assert.match(again, /The passkey could not be used to sign you in/);
    assert.deepEqual(carol.violations, []);
  });

  it('refuses an assertion whose user handle names another user, and one made for another origin', async () => {
    const dave = await person();
    await enrol(dave, 'alice', 'Second laptop');
    await signOut(dave);
    await dave.page.goto(`${server.issuer}/account`);
    const captured = await captureAssertion(dave.page);
    const response = JSON.parse(captured.response) as { response: { userHandle?: string; clientDataJSON: string } };
    // The user handle says bob (a forged or confused assertion for alice's passkey).
    const other = {
      ...response,
      response: { ...response.response, userHandle: Buffer.from('bob').toString('base64url') },
    };
    const mismatched = await post(dave.page, captured.action, { csrf: captured.csrf, response: JSON.stringify(other) });
    assert.match(mismatched, /^400 .*could not be used/s);
    // Client data claiming another origin (a phishing site relaying the ceremony).
    const clientData = JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString());
    clientData.origin = 'https://evil.example';
    const phished = {
      ...response,
      response: { ...response.response, clientDataJSON: Buffer.from(JSON.stringify(clientData)).toString('base64url') },
    };
    const fromElsewhere = await post(dave.page, captured.action, {
      csrf: captured.csrf,
      response: JSON.stringify(phished),
    });
    assert.match(fromElsewhere, /^400 .*could not be used/s);
    // The genuine answer still works (nothing above burnt its challenge).
    assert.equal(
      await post(dave.page, captured.action, { csrf: captured.csrf, response: captured.response }),
      '303 redirect',
    );
    assert.deepEqual(dave.violations, []);
  });

  it('adds a passkey in the middle of a sign-in (?continue=) and goes back to it with pwd and the key in amr', async () => {
    const frank = await person();
    const config = await rpConfig(server.issuer, 'web', client.ClientSecretBasic(SECRET));
    const req = await authRequest(config, { redirect_uri: cb.url('/callback'), scope: 'openid profile' });
    await frank.page.goto(req.url.href);
    const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(frank.page.url())![1]!;
    // The options endpoint of this sign-in: a passkey-first request for this RP ID.
    const options = await (await frank.page.request.get(`${server.issuer}/interaction/${uid}/passkey/options`)).json();
    assert.equal(options.rpId, 'localhost');
    assert.deepEqual(options.allowCredentials, []);
    assert.equal(options.userVerification, 'required');
    await signIn(frank.page, 'bob', PASSWORD);
    assert.equal((await frank.page.locator('h1').textContent())?.trim(), 'Allow access?');
    // Anything but a sign-in's address is refused as a place to continue to.
    await frank.page.goto(`${server.issuer}/account/security/passkeys?continue=https://evil.example/`);
    assert.equal(await frank.page.getByRole('link', { name: 'Continue signing in' }).count(), 0);
    await frank.page.goto(`${server.issuer}/account/security/passkeys?continue=/interaction/${uid}`);
    await frank.page.getByLabel('Name').fill('Desk key');
    const callback = cb.next('/callback');
    await submit(frank.page, () => frank.page.getByRole('button', { name: 'Add a passkey' }).click());
    assert.equal((await frank.page.locator('h1').textContent())?.trim(), 'Allow access?');
    await decide(frank.page, 'Allow');
    const hit = await callback;
    const tokens = await client.authorizationCodeGrant(config, new URL(hit.url), {
      pkceCodeVerifier: req.verifier,
      expectedState: req.state,
      expectedNonce: req.nonce,
    });
    const amr = tokens.claims()!.amr as string[];
    assert.ok(amr.includes('pwd') && (amr.includes('hwk') || amr.includes('swk')), JSON.stringify(amr));
    assert.deepEqual(frank.violations, []);
  });

  it('serves the scripts with a long cache life, the JavaScript type and nosniff', async () => {
    for (const name of ['webauthn.js', 'passkeys.js']) {
      const res = await fetch(`${server.issuer}/assets/${name}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.match(res.headers.get('cache-control') ?? '', /max-age=31536000/);
      assert.ok((await res.text()).length > 500);
    }
  });
});
