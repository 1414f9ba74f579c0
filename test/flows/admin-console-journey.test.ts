/**
 * Operators at the admin console (issue 20, "tested as a person would"), in Chromium against the real
 * server (a child process on a SQLite file): the first owner (the bootstrap file's `admin_role: owner`)
 * adds an authenticator app in the account area and signs in to /admin with the password and a code;
 * creates a user and an admin service client with the console's forms; the new user signs in to an
 * application (openid-client, the browser on the login pages); the owner sees that session, ends it,
 * disables the user (the user's token is refused at once by /introspect and /userinfo), downloads the
 * audit trail and sees its chain verify. A support operator finds no keys or settings, an auditor no
 * form that changes anything (a forged post is refused and changes nothing). Every console page is
 * screenshotted on a desktop and a phone into test-artifacts/console, and none may report a CSP
 * violation.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { Secret, TOTP } from 'otpauth';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { RunningServer } from '../fixtures/server.ts';
import { startServer } from '../fixtures/server.ts';
import {
  artifactsDir,
  authRequest,
  browserSkip,
  captureFullPage,
  collectCspViolations,
  decide,
  launchBrowser,
  rpConfig,
  screen,
  secretWebClient,
  signIn,
  startCallbackServer,
  submit,
  type CallbackServer,
} from './support.ts';

const SUITE = 'console';
const APP_SECRET = 'console-journey-app-secret-0123456789';
const SCOPE = 'openid profile email';
const PASSWORD = 'operators keep long passphrases 4821';
const NEW_USER = { username: 'casey', email: 'casey@example.org', password: 'casey has a long passphrase too 7730' };
const STEP_MS = 30_000;
const PHONE = { width: 390, height: 844 };

interface AuditLine {
  type: string;
  actor?: string;
  details?: Record<string, unknown>;
}

interface Operator {
  username: string;
  role: 'owner' | 'support' | 'auditor';
  context: BrowserContext;
  page: Page;
}

// The timeout only bounds a hang: the journey takes about 50 s alone, and more than twice that with two test files at
// a time while this kind of machine runs slow (a CI run took 114 s and was cut, its browser closed mid-navigation).
describe('the admin console, as operators use it', { skip: browserSkip, timeout: 300_000 }, () => {
  let server: RunningServer;
  let cb: CallbackServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  /** Every CSP violation (or script error) of every page of every browser context. */
  const violations: string[] = [];
  const operators: Record<string, Operator> = {};
  /** What the journey learnt on the way. */
  const state: { userId?: string; accessToken?: string; adminClientSecret?: string } = {};

  before(async () => {
    artifactsDir(SUITE, { clean: true });
    cb = await startCallbackServer();
    const person = (username: string, role: Operator['role']) => ({
      username,
      email: `${username}@example.org`,
      email_verified: true,
      password: PASSWORD,
      admin_role: role,
    });
    [browser, server] = await Promise.all([
      launchBrowser(),
      startServer({
        bootstrap: {
          clients: [
            secretWebClient(cb, { client_id: 'shop', client_name: 'Shop', client_secret: APP_SECRET, scope: SCOPE }),
          ],
          users: [person('olga', 'owner'), person('sam', 'support'), person('audrey', 'auditor')],
        },
      }),
    ]);
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await server?.stop();
    await cb?.close();
  });

  const url = (path: string) => `${server.issuer}${path}`;
  const heading = async (page: Page) => (await page.locator('h1').first().textContent())?.trim();
  // JPEG: a PNG of a long page takes several times longer to encode, and the suite keeps to its time.
  const shoot = (page: Page, name: string) =>
    captureFullPage(page, {
      path: join(artifactsDir(SUITE), `${name}.jpg`),
      type: 'jpeg',
      quality: 70,
      scale: 'css',
    });
  /** A console form's field by its label (optional fields' labels end with "(optional)"). */
  const field = (page: Page, label: string) =>
    page.getByLabel(new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( \\(optional\\))?$`));
  const noViolations = () => assert.deepEqual(violations, [], violations.join('\n'));

  async function pageOf(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    await collectCspViolations(page, violations);
    return page;
  }

  async function window(opts: { phone?: boolean; from?: BrowserContext } = {}) {
    const context = await browser.newContext({
      ...(opts.phone ? { viewport: PHONE, isMobile: true, hasTouch: true } : {}),
      ...(opts.from ? { storageState: await opts.from.storageState() } : {}),
    });
    context.setDefaultTimeout(10_000);
    contexts.push(context);
    return { context, page: await pageOf(context) };
  }

  // A code is accepted once per account: each sign-in takes a later time step than the last one used
  // (the current or the next, which the server allows as drift); when both are spent, wait for the next.
  const lastStep = new Map<string, number>();
  async function totpCode(secret: string): Promise<string> {
    for (;;) {
      const current = Math.floor(Date.now() / STEP_MS);
      const step = Math.max((lastStep.get(secret) ?? 0) + 1, current);
      if (step <= current + 1) {
        lastStep.set(secret, step);
        return new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate({
          timestamp: step * STEP_MS,
        });
      }
      await new Promise((r) => setTimeout(r, (current + 1) * STEP_MS - Date.now() + 50));
    }
  }

  /**
   * An operator of the bootstrap file opens /admin: signs in with the password, is told a second
   * factor is needed, adds an authenticator app in the account area, signs out, and signs in to the
   * console again with the password and a code.
   */
  async function operator(username: string, role: Operator['role']): Promise<Operator> {
    const { context, page } = await window();
    await page.goto(url('/admin'));
    assert.equal(await heading(page), 'Sign in', 'the console sends a stranger to the account sign-in');
    await signIn(page, username, PASSWORD);
    assert.equal(await heading(page), 'A second factor is needed');
    if (role === 'owner') await shoot(page, `${role}-desktop-00-second-factor-needed`);
    await submit(page, () => page.getByRole('link', { name: 'Add a second factor' }).click());
    assert.equal(await heading(page), 'Security');
    await submit(page, () => page.getByRole('link', { name: 'Add an authenticator app' }).click());
    const secret = ((await page.locator('code.secret').textContent()) ?? '').replace(/\s/g, '');
    await page.getByLabel('Code from the app').fill(await totpCode(secret));
    await submit(page, () => page.getByRole('button', { name: 'Add' }).click());
    assert.equal(await heading(page), 'Recovery codes');
    // Sign out, and in again from the console with the password and a code.
    await page.goto(url('/account'));
    await submit(page, () => page.getByRole('button', { name: 'Sign out' }).click());
    await page.goto(url('/admin'));
    await signIn(page, username, PASSWORD);
    assert.equal(await heading(page), 'Second factor');
    await page.getByLabel('Code from your authenticator app').fill(await totpCode(secret));
    await submit(page, () => page.getByRole('button', { name: 'Verify' }).click());
    assert.equal(new URL(page.url()).pathname, '/admin', page.url());
    assert.equal(await heading(page), 'Dashboard');
    await page.getByText(`Signed in as ${username}`).waitFor();
    const op = { username, role, context, page };
    operators[username] = op;
    return op;
  }

  /** Where a page leads without changing anything: its links, and its GET forms with their hidden members. */
  const reachable = (page: Page): Promise<string[]> =>
    page.evaluate(() => [
      ...[...document.querySelectorAll('a[href]')].map((a) => (a as HTMLAnchorElement).href),
      ...[...document.querySelectorAll('form[method="get"]')]
        .filter((f) => !f.querySelector('select, textarea, input:not([type="hidden"])'))
        .map((f) => {
          const u = new URL((f as HTMLFormElement).action);
          for (const i of f.querySelectorAll('input[type="hidden"]'))
            u.searchParams.set((i as HTMLInputElement).name, (i as HTMLInputElement).value);
          return u.href;
        }),
    ]);

  /** The console's navigation as the person sees it: the sections' titles. */
  const navOf = (page: Page) => page.locator('nav.console-nav a').allTextContents();

  it('the first owner signs in to the console with the password and an authenticator app', async () => {
    const { page } = await operator('olga', 'owner');
    const nav = await navOf(page);
    for (const title of ['Dashboard', 'Clients', 'Users', 'Sessions', 'Signing keys', 'Audit trail', 'Settings'])
      assert.ok(nav.includes(title), `${title} in ${nav.join(', ')}`);
    noViolations();
  });

  it('the owner creates a user with the console form', async () => {
    const { page } = operators.olga!;
    await page.goto(url('/admin/do/users.create'));
    assert.equal(await heading(page), 'Create user');
    await field(page, 'Username').fill(NEW_USER.username);
    await field(page, 'Email').fill(NEW_USER.email);
    await field(page, 'Password').fill(NEW_USER.password);
    await shoot(page, 'owner-desktop-01-create-user-filled');
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('status').filter({ hasText: 'done' }).waitFor();
    const main = (await page.locator('main').textContent()) ?? '';
    assert.match(main, new RegExp(NEW_USER.username));
    await shoot(page, 'owner-desktop-02-user-created');
    // The answer shows the new user's id; the record page is under it.
    state.userId = (
      await page.locator('dl.facts dt', { hasText: /^Id$/ }).locator('xpath=following-sibling::dd[1]').textContent()
    )?.trim();
    assert.ok(state.userId);
    await page.goto(url(`/admin/users/${encodeURIComponent(state.userId)}`));
    assert.equal(await heading(page), `Users: ${NEW_USER.username}`);
    noViolations();
  });

  it('the owner creates an admin service client with the clients form', async () => {
    const { page } = operators.olga!;
    await page.goto(url('/admin/clients'));
    await submit(page, () => page.locator('main a[href$="/admin/do/clients.create"]').click());
    assert.equal(await heading(page), 'Create client');
    await field(page, 'Client id').fill('automation');
    await field(page, 'Client name').fill('Automation');
    await field(page, 'Token endpoint auth method').selectOption('client_secret_basic');
    await field(page, 'Grant types').fill('client_credentials');
    await field(page, 'Scope').fill('admin:clients:read admin:users:read');
    await field(page, 'Admin client').selectOption('true');
    await shoot(page, 'owner-desktop-03-create-client-filled');
    await submit(page, () => page.getByRole('button', { name: 'Create client' }).click());
    const main = (await page.locator('main').textContent()) ?? '';
    assert.match(main, /shown only this once/, main.slice(0, 600));
    await shoot(page, 'owner-desktop-04-client-created');
    // The secret shown once, as the facts list shows it.
    const secret = await page
      .locator('dl.facts dt', { hasText: /^Client secret$/ })
      .locator('xpath=following-sibling::dd[1]')
      .textContent();
    state.adminClientSecret = secret?.trim();
    assert.ok(state.adminClientSecret, 'the new secret is on the answer page');
    await page.goto(url('/admin/clients/automation'));
    assert.equal(await heading(page), 'Clients: Automation');
    noViolations();
  });

  it('the users list links each user to their record page', async () => {
    const { page } = operators.olga!;
    await page.goto(url(`/admin/users?search=${NEW_USER.username}`));
    const row = page.locator('tbody tr', { hasText: NEW_USER.username });
    assert.equal(await row.count(), 1);
    assert.equal(await row.locator('a').count(), 1, 'the row links its record');
  });

  it("the sessions list names each session's user", async () => {
    const { page } = operators.olga!;
    await page.goto(url('/admin/sessions'));
    const text = (await page.locator('main table').textContent()) ?? '';
    assert.match(text, /olga/, "the owner's own session is listed under her name");
  });

  it('the admin client gets an admin token with client_credentials and uses the admin API', async () => {
    // The record says it is an admin client.
    const { page } = operators.olga!;
    await page.goto(url('/admin/clients/automation'));
    const record = (await page.locator('main').textContent()) ?? '';
    assert.match(record, /Admin client\s*yes/, 'the record shows admin_client');
    const basic = `Basic ${Buffer.from(`automation:${state.adminClientSecret}`).toString('base64')}`;
    const token = await fetch(url('/token'), {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        scope: 'admin:clients:read',
        resource: url('/admin/api'),
      }),
    });
    const body = (await token.json()) as { access_token?: string; error?: string };
    assert.equal(token.status, 200, JSON.stringify(body));
    const list = await fetch(url('/admin/api/v1/clients'), {
      headers: { authorization: `Bearer ${body.access_token}` },
    });
    assert.equal(list.status, 200);
    const clients = (await list.json()) as { items: { client_id: string }[] };
    assert.ok(clients.items.some((c) => c.client_id === 'shop'));
    // Only what the token holds: no users without admin:users:read, and a cookie is no sign-in here.
    const users = await fetch(url('/admin/api/v1/users'), {
      headers: { authorization: `Bearer ${body.access_token}` },
    });
    assert.equal(users.status, 403);
    const cookies = await page.context().cookies(server.issuer);
    const byCookie = await fetch(url('/admin/api/v1/clients'), {
      headers: { cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; ') },
    });
    assert.equal(byCookie.status, 401, 'the admin API never takes the console session');
  });

  it('the new user signs in to an application; the owner sees the session, ends it, and disables the user', async () => {
    // ---- The user, in a browser of their own, signs in to the shop (authorization code, PKCE).
    const cfg = await rpConfig(server.issuer, 'shop', client.ClientSecretBasic(APP_SECRET));
    const req = await authRequest(cfg, { redirect_uri: cb.url('/callback'), scope: SCOPE });
    const { page: userPage } = await window();
    await userPage.goto(req.url.href);
    assert.equal(await screen(userPage, cb.origin), 'login');
    await signIn(userPage, NEW_USER.username, NEW_USER.password);
    if ((await screen(userPage, cb.origin)) === 'consent') await decide(userPage, 'Allow');
    const hit = await cb.next('/callback');
    const tokens = await client.authorizationCodeGrant(cfg, new URL(hit.url), {
      pkceCodeVerifier: req.verifier,
      expectedState: req.state,
      expectedNonce: req.nonce,
    });
    assert.equal(tokens.claims()!.sub, state.userId);
    const at = tokens.access_token;
    state.accessToken = at;
    assert.equal((await client.tokenIntrospection(cfg, at)).active, true);
    const userinfo = () => fetch(url('/userinfo'), { headers: { authorization: `Bearer ${at}` } });
    assert.equal((await userinfo()).status, 200);

    // ---- The owner finds the session in the console and ends it.
    const { page } = operators.olga!;
    await page.goto(url(`/admin/sessions?search=${state.userId}`));
    // Searched by the user's id; the row names the user.
    const row = page.locator('tbody tr');
    await row.first().waitFor();
    assert.equal(await row.count(), 1, 'one session of the new user');
    assert.match((await row.textContent()) ?? '', new RegExp(NEW_USER.username));
    await shoot(page, 'owner-desktop-05-sessions-of-user');
    await submit(page, () => row.getByRole('button', { name: /^End session / }).click());
    assert.match((await page.locator('main').textContent()) ?? '', /done/);
    await page.goto(url(`/admin/sessions?search=${state.userId}`));
    assert.equal(await page.locator('tbody tr').count(), 0, 'the session is gone');
    // The user's browser is signed out of Tessera: the next sign-in asks the password again.
    const again = await authRequest(cfg, { redirect_uri: cb.url('/callback'), scope: SCOPE });
    await userPage.goto(again.url.href);
    assert.equal(await screen(userPage, cb.origin), 'login');

    // ---- The owner disables the user: the token is refused at once.
    await page.goto(url(`/admin/users/${encodeURIComponent(state.userId!)}`));
    await submit(page, () => page.getByRole('button', { name: 'Disable user' }).click());
    await page.getByRole('status').filter({ hasText: 'Disable user: done.' }).waitFor();
    assert.match((await page.locator('main').textContent()) ?? '', /Disabled\s*yes/);
    await shoot(page, 'owner-desktop-06-user-disabled');
    assert.equal((await client.tokenIntrospection(cfg, at)).active, false, 'introspection refuses at once');
    assert.equal((await userinfo()).status, 401, 'userinfo refuses at once');
    noViolations();
  });

  it('the owner exports the audit trail and sees its chain verify', async () => {
    const { page } = operators.olga!;
    await page.goto(url('/admin/audit'));
    assert.equal(await heading(page), 'Audit trail');
    await submit(page, () => page.locator('main a[href*="/admin/do/audit.export"]').click());
    assert.equal(await heading(page), 'Audit: export');
    const format = field(page, 'Format');
    if (await format.count()) await format.selectOption('jsonl');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Show' }).click(),
    ]);
    const file = join(artifactsDir(SUITE), 'audit-export.jsonl');
    await download.saveAs(file);
    const records = readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AuditLine);
    const olgaId = records.find((x) => x.type === 'admin_role_set' && x.details?.source === 'bootstrap')?.details
      ?.user_id;
    assert.ok(olgaId, 'the bootstrap file gave the owner role, and said so');
    for (const type of ['user_created', 'client_created', 'sessions_ended', 'user_disabled']) {
      const r: AuditLine | undefined = records.find((x) => x.type === type && x.actor === olgaId);
      assert.ok(r, `${type} by the owner in the export`);
      assert.equal(r.details?.via, 'console');
    }
    // Verify the chain from the console.
    await page.goto(url('/admin/audit'));
    await submit(page, () => page.locator('main a[href*="/admin/do/audit.verify"]').click());
    await shoot(page, 'owner-desktop-07-audit-verified');
    const main = (await page.locator('main').textContent()) ?? '';
    assert.match(main, /Ok\s*yes/, main.slice(0, 600));
    assert.match(main, /Checked\s*\d+/);
    noViolations();
  });

  it('a support operator cannot reach the signing keys or the settings', async () => {
    const { page } = await operator('sam', 'support');
    const nav = await navOf(page);
    assert.ok(nav.includes('Users') && nav.includes('Sessions'), nav.join(', '));
    assert.ok(!nav.includes('Signing keys') && !nav.includes('Settings'), nav.join(', '));
    assert.equal(await page.locator('a[href*="/admin/keys"], a[href*="/admin/settings"]').count(), 0);
    for (const path of ['/admin/keys', '/admin/settings', '/admin/do/keys.rotate', '/admin/do/settings.read']) {
      const res = await page.goto(url(path));
      assert.equal(res?.status(), 403, path);
      assert.equal(await heading(page), 'Not allowed', path);
    }
    await shoot(page, 'support-desktop-keys-refused');
    noViolations();
  });

  it('an auditor sees everything, has no form that changes anything, and a forged post changes nothing', async () => {
    const { page } = await operator('audrey', 'auditor');
    const userPath = `/admin/users/${encodeURIComponent(state.userId!)}`;
    for (const path of ['/admin', '/admin/users', userPath, '/admin/clients', '/admin/keys', '/admin/audit']) {
      const res = await page.goto(url(path));
      assert.equal(res?.status(), 200, path);
      assert.equal(
        await page.locator('form[method="post"][action*="/admin/do/"]').count(),
        0,
        `${path}: no change form`,
      );
    }
    // A post forged from the auditor's browser (its cookie): enable the disabled user again.
    const forged = await page.request.post(url('/admin/do/users.enable'), {
      form: { user_id: state.userId!, csrf: 'forged' },
      maxRedirects: 0,
    });
    assert.equal(forged.status(), 403);
    const kids = () => page.locator('main table tbody th').allTextContents();
    await page.goto(url('/admin/keys'));
    const keysBefore = await kids();
    assert.ok(keysBefore.length > 0);
    const rotate = await page.request.post(url('/admin/do/keys.rotate'), { form: {}, maxRedirects: 0 });
    assert.equal(rotate.status(), 403);
    await page.goto(url(userPath));
    assert.match((await page.locator('main').textContent()) ?? '', /Disabled\s*yes/, 'still disabled');
    await page.goto(url('/admin/keys'));
    assert.deepEqual(await kids(), keysBefore, 'the keys as they were');
    noViolations();
  });

  it('the owner picks German from the language links: the console speaks German, then English again', async () => {
    const { page } = operators.olga!;
    await page.goto(url('/admin/users?lang=de'));
    const nav = await navOf(page);
    for (const title of ['Übersicht', 'Clients', 'Benutzer', 'Sitzungen', 'Signaturschlüssel', 'Einstellungen'])
      assert.ok(nav.includes(title), `${title} in ${nav.join(', ')}`);
    assert.equal(await heading(page), 'Benutzer');
    await page.getByRole('button', { name: 'Abmelden' }).waitFor();
    await page.goto(url('/admin/do/users.create'));
    assert.equal(await heading(page), 'Benutzer anlegen');
    await field(page, 'Benutzername').waitFor();
    await page.getByRole('button', { name: 'Benutzer anlegen' }).waitFor();
    await shoot(page, 'owner-desktop-de-create-user');
    await page.goto(url('/admin?lang=en'));
    assert.equal(await heading(page), 'Dashboard');
    noViolations();
  });

  it('every console page, on a desktop and a phone, without a CSP violation', async () => {
    const owner = operators.olga!;
    const phone = await window({ phone: true, from: owner.context });
    /**
     * Every page a person reaches from the console: links, and forms that only open a page (a
     * deletion's confirmation); one record page per section and one page per action.
     */
    const seen = new Set<string>();
    // The user's record page too (the users list links it as well).
    const queue: string[] = [url('/admin'), url(`/admin/users/${encodeURIComponent(state.userId!)}`)];
    const keyOf = (href: string): string | undefined => {
      const u = new URL(href);
      if (u.origin !== server.issuer || !u.pathname.startsWith('/admin') || u.pathname.startsWith('/admin/api'))
        return undefined;
      const parts = u.pathname.split('/').filter(Boolean);
      if (parts[1] === 'do') return `do:${parts[2]}${u.searchParams.has('go') ? ':go' : ''}`;
      if (parts.length === 3) return `record:${parts[1]}`;
      return u.pathname;
    };
    // Breadth first, two desktop and phone pairs at a time: each page is opened (its status and CSP
    // checked) and shot on both screens; the desktop page's links feed the next round.
    const pairs = await Promise.all(
      [0, 1].map(async (i) => ({
        desktop: i === 0 ? owner.page : await pageOf(owner.context),
        phone: i === 0 ? phone.page : await pageOf(phone.context),
      })),
    );
    let n = 0;
    while (queue.length) {
      const round = queue.splice(0).filter((href) => {
        const key = keyOf(href);
        if (!key || seen.has(key)) return false;
        seen.add(key);
        return true;
      });
      const work = round.map((href) => ({
        href,
        slug: `${String(++n).padStart(3, '0')}-${keyOf(href)!.replace(/[^a-z0-9.-]+/gi, '-')}`,
      }));
      await Promise.all(
        pairs.map(async (pair) => {
          for (let job = work.shift(); job; job = work.shift()) {
            for (const [name, page] of Object.entries(pair)) {
              const res = await page.goto(job.href);
              assert.ok(res && res.status() < 500, `${job.href}: ${res?.status()}`);
              await shoot(page, `owner-${name}-${job.slug}`);
            }
            queue.push(...(await reachable(pair.desktop)));
          }
        }),
      );
    }
    for (const section of [
      'dashboard',
      '/admin/clients',
      '/admin/users',
      '/admin/sessions',
      '/admin/keys',
      '/admin/audit',
    ])
      assert.ok(section === 'dashboard' || seen.has(section), `${section} was visited`);
    assert.ok(seen.has('record:users') && seen.has('record:clients'), [...seen].join(' '));
    // The other roles' consoles too (their navigation differs).
    for (const who of ['sam', 'audrey']) {
      const op = operators[who]!;
      const phoneOf = await window({ phone: true, from: op.context });
      for (const page of [op.page, phoneOf.page]) {
        await page.goto(url('/admin'));
        await shoot(page, `${op.role}-${page === op.page ? 'desktop' : 'phone'}-dashboard`);
      }
    }
    noViolations();
  });
});
