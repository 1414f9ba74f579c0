// The admin console (/admin) through inject(): who may open it (the account area's session, an admin
// role, a second factor), every page of it under the nonce CSP, the CSRF tokens of its forms, the
// role-by-route refusals, re-authentication for sensitive actions, and the audit records of its actions.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { ADMIN_ACTIONS } from '../../src/admin/actions/index.ts';
import { saveUser } from '../../src/admin/users.ts';
import type { App } from '../../src/app.ts';
import { createStatsWriter } from '../../src/observability/stats.ts';
import type { AdminRole } from '../../src/ports/admin.ts';
import { tokenHash } from '../../src/protocol/hash.ts';
import { csrfToken } from '../../src/protocol/interaction/session.ts';
import { backends, basic, csrfOf, form, ISSUER, Jar, testApp } from '../fixtures/app.ts';

const PASSWORD = 'console test password 7391';
const MFA = ['pwd', 'otp', 'mfa'];

for (const backend of await backends()) {
  describe(`admin console (${backend.name})`, { skip: backend.url ? false : 'PostgreSQL not reachable' }, () => {
    let app: App;
    const people: Record<string, { id: string; username: string }> = {};

    before(async () => {
      app = await testApp(backend.url!, { TESSERA_ADMIN_CONSOLE: 'true' });
      const now = app.provider.now();
      for (const [username, role] of [
        ['olivia', 'owner'],
        ['sam', 'support'],
        ['audrey', 'auditor'],
        ['nora', undefined],
        ['otto', 'owner'],
      ] as [string, AdminRole | undefined][]) {
        const { user } = await saveUser(app.stores, { username, password: PASSWORD }, now);
        people[username] = { id: user.id, username };
        if (role) await app.stores.adminRoles.set({ userId: user.id, role, grantedAt: now, grantedBy: 'cli' });
      }
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    /** A session of `username` in the stores (as a sign-in makes), with `amr`; its cookie. */
    async function sessionOf(username: string, amr = MFA, authAgo = 0): Promise<string> {
      const value = randomBytes(32).toString('base64url');
      const now = app.provider.now();
      await app.stores.sessions.create({
        idHash: tokenHash(value),
        sid: randomBytes(16).toString('base64url'),
        userId: people[username]!.id,
        authTime: now - authAgo,
        amr,
        createdAt: now - authAgo,
        lastSeenAt: now,
        expiresAt: now + 3600,
      });
      return `tessera_session=${value}`;
    }
    const get = (url: string, cookie?: string, headers: Record<string, string> = {}) =>
      app.server.inject({ url, headers: { ...(cookie ? { cookie } : {}), ...headers } });
    const csrfFor = (cookie: string, action: string) =>
      csrfToken(app.provider, `console:${action}`, cookie.slice(cookie.indexOf('=') + 1));

    /** The page is HTML under a nonce CSP, every style and script element has that nonce, nothing inline. */
    function assertStrictPage(res: LightMyRequestResponse): void {
      assert.match(String(res.headers['content-type']), /^text\/html/);
      const csp = String(res.headers['content-security-policy']);
      const nonce = /style-src 'nonce-([^']+)'/.exec(csp)?.[1];
      assert.ok(nonce, csp);
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'nonce-/);
      assert.match(csp, /form-action 'self'/);
      assert.equal(res.headers['cache-control'], 'no-store');
      for (const m of res.body.matchAll(/<(script|style)\b[^>]*>/g)) assert.ok(m[0].includes(`nonce="${nonce}"`), m[0]);
      assert.doesNotMatch(res.body, /\son[a-z]+\s*=/i);
      assert.doesNotMatch(res.body, /\sstyle\s*=/i);
      assert.doesNotMatch(res.body, /javascript:/i);
    }
    const navOf = (body: string) =>
      [
        ...(/<nav class="console-nav"[\s\S]*?<\/nav>/.exec(body)?.[0] ?? '').matchAll(
          /href="[^"]*\/admin\/?([a-z-]*)"/g,
        ),
      ].map((m) => m[1] || 'dashboard');

    it('signed out: sent to the account login, and back to the console once signed in', async () => {
      const jar = new Jar();
      const first = await get('/admin/keys');
      assert.equal(first.statusCode, 303);
      assert.equal(first.headers.location, `${ISSUER}/account`);
      jar.take(first);
      assert.equal(Buffer.from(jar.cookies.get('tessera_return')!, 'base64url').toString(), '/admin/keys');
      const login = await get('/account', jar.header());
      jar.take(login);
      const signIn = await form(
        app,
        '/account/login',
        { username: 'otto', password: PASSWORD, csrf: csrfOf(login.body) },
        { cookie: jar.header() },
      );
      assert.equal(signIn.statusCode, 303, signIn.body.replace(/[\s\S]*<main>/, '').slice(0, 600));
      jar.take(signIn);
      const account = await get('/account', jar.header());
      assert.equal(account.statusCode, 303);
      assert.equal(account.headers.location, `${ISSUER}/admin/keys`);
      jar.take(account);
      assert.equal(jar.cookies.has('tessera_return'), false);
      // A password alone is not enough: the page that sends the owner to add a second factor.
      const console_ = await get('/admin/keys', jar.header());
      assert.equal(console_.statusCode, 403);
      assertStrictPage(console_);
      assert.match(console_.body, /A second factor is needed/);
      assert.match(console_.body, /href="http:\/\/localhost:4999\/account\/security">Add a second factor/);
      assert.match(console_.body, /href="http:\/\/localhost:4999\/account\/reauth\?return=%2Fadmin%2Fkeys"/);
      // A return address that is not a console or account page is never followed.
      const odd = await get(
        '/account',
        `${jar.header()}; tessera_return=${Buffer.from('https://evil.example/').toString('base64url')}`,
      );
      assert.equal(odd.statusCode, 200);
    });

    it('a person without an admin role: 403, whatever the session', async () => {
      const res = await get('/admin', await sessionOf('nora'));
      assert.equal(res.statusCode, 403);
      assertStrictPage(res);
      assert.match(res.body, /Not an administrator/);
    });

    it('a person without a role opening a console form again and again adds a bounded number of audit rows', async () => {
      const nora = (await app.stores.users.findByUsername('nora'))!;
      const cookie = await sessionOf('nora');
      await app.audit.flush();
      const rows = async () =>
        (await app.stores.audit.query({ actor: nora.id, outcome: 'failure', limit: 1000 })).length;
      const before = await rows();
      for (let i = 0; i < 30; i++) assert.equal((await get('/admin/do/clients.create', cookie)).statusCode, 403);
      await app.audit.flush();
      const records = (await app.stores.audit.query({ actor: nora.id, outcome: 'failure', limit: 1000 })).slice(before);
      // The first refusal as it came, the 29 others as one record with their count.
      assert.equal(await rows(), before + 2);
      assert.ok(records.every((r) => r.details.action === 'clients.create' && r.details.reason === 'forbidden'));
      assert.equal(
        records.reduce((n, r) => n + Number(r.details.repeated ?? 1), 0),
        30,
      );
    });

    it('a bearer token is never a sign-in, not even the break-glass token', async () => {
      const res = await get('/admin', undefined, { authorization: 'Bearer whatever-token-value-0123456789abcdef' });
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, `${ISSUER}/account`);
    });

    it('an owner with a second factor: every section, every form page, under the nonce CSP', async () => {
      const cookie = await sessionOf('olivia');
      const dash = await get('/admin', cookie);
      assert.equal(dash.statusCode, 200, dash.body);
      assertStrictPage(dash);
      assert.match(dash.body, /<svg class="chart"/);
      const nav = navOf(dash.body);
      assert.ok(nav.includes('keys'), nav.join());
      for (const section of nav) {
        const res = await get(section === 'dashboard' ? '/admin' : `/admin/${section}`, cookie);
        assert.equal(res.statusCode, 200, `${section}: ${res.body.slice(0, 400)}`);
        assertStrictPage(res);
      }
      for (const action of ADMIN_ACTIONS) {
        if (action.http?.method === 'GET' && !/\{/.test(action.http.path)) {
          const res = await get(`/admin/do/${action.name}`, cookie);
          assert.ok(
            [200].includes(res.statusCode) || /^text\/csv|json/.test(String(res.headers['content-type'])),
            action.name,
          );
        } else if (action.http?.method !== 'GET') {
          const res = await get(`/admin/do/${action.name}`, cookie);
          assert.equal(res.statusCode, 200, action.name);
          assertStrictPage(res);
          assert.match(res.body, /<button type="submit"/);
        }
      }
      const keys = await get('/admin/keys', cookie);
      assert.match(keys.body, /<button type="submit"[^>]*>Rotate key<\/button>/);
      const jwks = await get('/admin/do/keys.list?go=1', cookie);
      assert.equal(jwks.statusCode, 200);
      assert.equal((await get('/admin/nothing-here', cookie)).statusCode, 404);
      assert.equal((await get('/admin/do/nothing.here', cookie)).statusCode, 404);
    });

    it("a link to a change's form fills in only the record's key, and the form names that record", async () => {
      const cookie = await sessionOf('olivia');
      const nora = people.nora!;
      const res = await get(`/admin/do/roles.set?user_id=${encodeURIComponent(nora.id)}&role=owner`, cookie);
      assert.equal(res.statusCode, 200, res.body.slice(0, 400));
      assertStrictPage(res);
      const formHtml = /<form method="post"[^>]*action="[^"]*\/admin\/do\/roles\.set"[\s\S]*?<\/form>/.exec(
        res.body,
      )?.[0];
      assert.ok(formHtml, res.body);
      // The role the link asked for is not chosen: the person picks one (a required choice starts empty).
      assert.doesNotMatch(formHtml, /<option value="owner" selected/);
      assert.doesNotMatch(formHtml, /\sselected/);
      assert.match(formHtml, /<select[^>]*name="role"[^>]*><option value="">Choose…<\/option>/);
      // The target is on the page, not only in a hidden member: its username and its id.
      assert.match(formHtml, new RegExp(`<input type="hidden" name="user_id" value="${nora.id}">`));
      const target = /<dl class="facts target">([\s\S]*?)<\/dl>/.exec(res.body)?.[1];
      assert.ok(target, res.body);
      assert.match(target, /<dt>User<\/dt>/);
      assert.match(target, new RegExp(`nora \\(user_id ${nora.id}\\)`));
      // Any other member in a link is left out too (a user's update: the email the link names is not filled in).
      const update = await get(`/admin/do/users.update?user_id=${nora.id}&email=evil%40example.com`, cookie);
      assert.equal(update.statusCode, 200);
      assert.doesNotMatch(update.body, /evil@example\.com/);
    });

    it("CSRF: missing, wrong or another form's token is refused and changes nothing", async () => {
      const cookie = await sessionOf('olivia');
      const before_ = await app.stores.keys.list();
      for (const csrf of [undefined, 'wrong', csrfFor(cookie, 'keys.retire')]) {
        const res = await form(app, '/admin/do/keys.rotate', csrf ? { csrf } : {}, { cookie });
        assert.equal(res.statusCode, 403);
        assert.match(res.body, /nothing was changed/);
      }
      // Another person's token is not this session's.
      const other = await sessionOf('olivia');
      const res = await form(app, '/admin/do/keys.rotate', { csrf: csrfFor(other, 'keys.rotate') }, { cookie });
      assert.equal(res.statusCode, 403);
      assert.deepEqual(await app.stores.keys.list(), before_);
    });

    it('an action from a form: done, audited with the person, the console and the address', async () => {
      const cookie = await sessionOf('olivia');
      const page = await get('/admin/keys', cookie);
      const csrf = /action="[^"]*\/admin\/do\/keys\.rotate"[\s\S]*?name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
      assert.ok(csrf);
      const before_ = (await app.stores.keys.list()).filter((k) => k.state === 'active').map((k) => k.kid);
      const res = await form(app, '/admin/do/keys.rotate', { csrf, _fields: 'alg' }, { cookie });
      assert.equal(res.statusCode, 200, res.body.slice(0, 500));
      assertStrictPage(res);
      const after_ = (await app.stores.keys.list()).filter((k) => k.state === 'active').map((k) => k.kid);
      assert.notDeepEqual(after_, before_);
      await app.audit.flush(); // refusals are written by the batching audit writer
      const records = await app.stores.audit.query({ type: 'key_rotated', actor: people.olivia!.id });
      const mine = records.find((r) => r.actor === people.olivia!.id);
      assert.ok(mine, JSON.stringify(records));
      assert.equal(mine.outcome, 'success');
      assert.equal(mine.details?.via, 'console');
      assert.equal(mine.details?.action, 'keys.rotate');
      assert.equal(mine.details?.principal, 'user');
      assert.equal(mine.ip, '127.0.0.1');
    });

    it('a sensitive action after an old sign-in: sent to re-authenticate, and back', async () => {
      const cookie = await sessionOf('olivia', MFA, app.provider.config.recentAuth + 60);
      const before_ = await app.stores.keys.list();
      const res = await form(app, '/admin/do/keys.rotate', { csrf: csrfFor(cookie, 'keys.rotate') }, { cookie });
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, `${ISSUER}/account/reauth?return=%2Fadmin%2Fkeys`);
      assert.deepEqual(await app.stores.keys.list(), before_);
      const reauth = await get('/account/reauth?return=%2Fadmin%2Fkeys', cookie);
      assert.match(reauth.body, /name="return" value="\/admin\/keys"/);
    });

    it('support: no keys or settings links, and 403 there (pages, forms and posts)', async () => {
      const cookie = await sessionOf('sam');
      // A security event with an address: support's dashboard lists it without the address or details.
      const refused = await form(
        app,
        '/token',
        { grant_type: 'client_credentials' },
        { authorization: basic('svc', 'x') },
      );
      assert.equal(refused.statusCode, 401);
      await app.audit.flush();
      const dash = await get('/admin', cookie);
      assert.equal(dash.statusCode, 200);
      assertStrictPage(dash);
      assert.match(dash.body, /client_auth_failed/);
      assert.doesNotMatch(dash.body, /127\.0\.0\.1/);
      const owners = await get('/admin', await sessionOf('olivia'));
      assert.match(owners.body, /<td[^>]*>127\.0\.0\.1<\/td>/);
      const nav = navOf(dash.body);
      assert.ok(!nav.includes('keys') && !nav.includes('settings'), nav.join());
      assert.doesNotMatch(dash.body, /href="[^"]*\/admin\/(keys|settings)"/);
      assert.equal((await get('/admin/keys', cookie)).statusCode, 403);
      assert.equal((await get('/admin/do/keys.rotate', cookie)).statusCode, 403);
      if (ADMIN_ACTIONS.some((a) => a.http?.path === '/settings'))
        assert.equal((await get('/admin/settings', cookie)).statusCode, 403);
      const before_ = await app.stores.keys.list();
      const post = await form(app, '/admin/do/keys.rotate', { csrf: csrfFor(cookie, 'keys.rotate') }, { cookie });
      assert.equal(post.statusCode, 403);
      assert.deepEqual(await app.stores.keys.list(), before_);
    });

    it('an auditor cannot change anything: every change is refused, and recorded as refused', async () => {
      const cookie = await sessionOf('audrey');
      const keys = await app.stores.keys.list();
      const dash = await get('/admin', cookie);
      assert.equal(dash.statusCode, 200);
      assert.doesNotMatch(dash.body, /method="post" action="[^"]*\/admin\/do\//);
      for (const action of ADMIN_ACTIONS.filter((a) => a.http?.method !== 'GET')) {
        const res = await form(app, `/admin/do/${action.name}`, { csrf: csrfFor(cookie, action.name) }, { cookie });
        assert.equal(res.statusCode, 403, action.name);
      }
      assert.deepEqual(await app.stores.keys.list(), keys);
      await app.audit.flush(); // refusals are written by the batching audit writer
      const refused = await app.stores.audit.query({ type: 'key_rotated', actor: people.audrey!.id });
      assert.equal(refused[0]?.outcome, 'failure');
      assert.equal(refused[0]?.details?.reason, 'forbidden');
    });

    it('the dashboard shows one total of what two instances counted', async () => {
      const second = createStatsWriter(app.stores.stats, app.log, { intervalMs: 0 });
      for (let i = 0; i < 3; i++)
        app.provider.events({ type: 'token_issued', grantType: 'client_credentials', clientId: 'svc' });
      second.event({ type: 'token_issued', grantType: 'client_credentials', clientId: 'svc' });
      second.event({ type: 'login_failed' });
      await Promise.all([app.stats.flush(), second.close()]);
      const dash = await get('/admin?hours=1', await sessionOf('olivia'));
      assert.equal(dash.statusCode, 200);
      assert.match(dash.body, /<span class="n">4<\/span>Tokens issued/);
      assert.match(dash.body, /<span class="n">1<\/span>Sign-ins failed/);
    });
  });
}
