/**
 * The admin API's users, sessions, consents/grants and admin roles (issue 20) through inject(), on
 * SQLite and PostgreSQL, with the break-glass token as the principal: each action, bad input (400,
 * nothing changed), 404/409/412, a disabled user's access token refused at /introspect and /userinfo
 * at once, deleting a user, the last-owner rules, ending a session with back-channel logout delivered
 * to a relying party (a real HTTP server on 127.0.0.1), and every change audited with its actor.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { App } from '../../src/app.ts';
import { saveClient } from '../../src/admin/clients.ts';
import { BACKCHANNEL_LOGOUT_EVENT, logoutDelivery } from '../../src/protocol/logout/back-channel.ts';
import { authorizeWithLogin, backends, basic, form, ISSUER, Jar, pkce, testApp } from '../fixtures/app.ts';
import { upstreamRecord } from '../fixtures/upstream-records.ts';

const TOKEN = 'break-glass-0123456789-abcdefghijklmnopqrstuvwxyz';
const PASSWORD = 'correct horse battery';
const BC_SECRET = 'bc-secret-0123456789-abcdefghijklmnopqr';

/** A relying party's back-channel logout endpoint: records the body of each POST. */
async function relyingParty(): Promise<{ server: Server; base: string; received: URLSearchParams[] }> {
  const received: URLSearchParams[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push(new URLSearchParams(body));
      res.writeHead(200, { 'cache-control': 'no-store' }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

let n = 0;
const unique = (p: string) => `${p}${process.pid}x${++n}`;

for (const backend of await backends()) {
  describe(`admin API: users, sessions, consents, roles (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    let rp: Awaited<ReturnType<typeof relyingParty>>;
    before(async () => {
      rp = await relyingParty();
      app = await testApp(backend.url!, { TESSERA_ADMIN_TOKEN: TOKEN, TESSERA_RATE_LIMITING: 'false' });
      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'bc',
          client_secret: BC_SECRET,
          redirect_uris: ['https://bc.example/cb'],
          grant_types: ['authorization_code', 'refresh_token'],
          scope: 'openid profile offline_access',
          backchannel_logout_uri: `${rp.base}/bc`,
          backchannel_logout_session_required: true,
        },
        app.provider.now(),
      );
    });
    after(async () => {
      await logoutDelivery(app.provider).idle();
      await app?.close();
      rp?.server.close();
      await backend.drop?.();
    });

    const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
      app.server.inject({
        method: method as 'GET',
        url: `/admin/api/v1${path}`,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      });
    const problem = (res: LightMyRequestResponse, status: number, code?: string) => {
      assert.equal(res.statusCode, status, res.body);
      assert.match(res.headers['content-type'] as string, /^application\/problem\+json/);
      const body = res.json();
      assert.equal(body.status, status);
      if (code) assert.equal(body.code, code);
      assert.equal(typeof body.detail, 'string');
      return body as { detail: string; errors?: { field: string }[] };
    };
    const ok = (res: LightMyRequestResponse, status = 200) => {
      assert.equal(res.statusCode, status, res.body);
      return res.json();
    };
    const createUser = async (extra: Record<string, unknown> = {}) => {
      const username = unique('u');
      return ok(
        await api('POST', '/users', {
          username,
          password: PASSWORD,
          email: `${username}@example.net`,
          email_verified: true,
          ...extra,
        }),
        201,
      ) as { id: string; username: string; email: string };
    };
    /** The last success of an event (refusals reach the trail later, through the batching audit writer). */
    const lastAudit = async (type: string) => {
      const records = await app.stores.audit.query({ types: [type], outcome: 'success', limit: 1000 });
      return records.at(-1);
    };
    const introspect = async (token: string) =>
      (await form(app, '/introspect', { token }, { authorization: basic('rs') })).json().active as boolean;
    const userinfo = async (token: string) =>
      (await app.server.inject({ url: '/userinfo', headers: { authorization: `Bearer ${token}` } })).statusCode;

    /** Signs `username` in to the `bc` client in a new browser: its tokens and the session's sid. */
    async function signIn(username: string) {
      const { verifier, challenge } = pkce();
      const redirect = await authorizeWithLogin(
        app,
        new Jar(),
        {
          client_id: 'bc',
          redirect_uri: 'https://bc.example/cb',
          response_type: 'code',
          scope: 'openid profile offline_access',
          prompt: 'consent',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        },
        { username, password: PASSWORD },
      );
      const res = await form(
        app,
        '/token',
        {
          grant_type: 'authorization_code',
          code: redirect.searchParams.get('code')!,
          code_verifier: verifier,
          redirect_uri: 'https://bc.example/cb',
        },
        { authorization: basic('bc', BC_SECRET) },
      );
      assert.equal(res.statusCode, 200, res.body);
      const t = res.json() as { access_token: string; refresh_token: string; id_token: string };
      const sid = JSON.parse(Buffer.from(t.id_token.split('.')[1]!, 'base64url').toString()).sid as string;
      return { ...t, sid };
    }
    const refresh = (rt: string) =>
      form(
        app,
        '/token',
        { grant_type: 'refresh_token', refresh_token: rt },
        { authorization: basic('bc', BC_SECRET) },
      );

    it('creates a user (201, no secret shown), refuses a duplicate (409) and bad input (400) creating nothing', async () => {
      const u = await createUser({ name: 'Ursula', given_name: 'Ursula' });
      assert.equal(u.email, `${u.username}@example.net`);
      const created = await app.stores.users.get(u.id);
      assert.ok(created?.passwordHash, 'the password is set');
      assert.ok(!JSON.stringify(u).includes(PASSWORD) && !JSON.stringify(u).includes(created.passwordHash!));
      assert.equal((u as unknown as Record<string, unknown>).has_password, true);
      const record = await lastAudit('user_created');
      assert.equal(record?.actor, 'admin');
      assert.equal(record?.details.user_id, u.id);
      assert.ok(!JSON.stringify(record).includes(PASSWORD));
      problem(await api('POST', '/users', { username: u.username }), 409, 'conflict');
      for (const bad of [
        { username: 'x y z' },
        { username: unique('b'), password: 'short' },
        { username: unique('b'), email: 'not an address' },
        { username: unique('b'), colour: 'blue' },
        { username: unique('b'), email_verified: 'yes' },
        {},
      ]) {
        const res = await api('POST', '/users', bad);
        problem(res, 400);
        if (typeof bad.username === 'string')
          assert.equal(await app.stores.users.findByUsername(bad.username), undefined, JSON.stringify(bad));
      }
      const nopw = ok(await api('POST', '/users', { username: unique('n') }), 201);
      assert.equal(nopw.has_password, false);
    });

    it('reads a user with an ETag (origin, MFA state, identities, role); 404 for none', async () => {
      const u = await createUser();
      const res = await api('GET', `/users/${u.id}`);
      const body = ok(res);
      assert.match(res.headers.etag as string, /^"[A-Za-z0-9_-]+"$/);
      assert.equal(body.origin, 'operator');
      assert.deepEqual(body.mfa, {
        required: false,
        enrolled: false,
        enrol_by: null,
        totp: 0,
        passkeys: 0,
        recovery_codes: 0,
      });
      assert.equal(body.linked_identities, 0);
      assert.equal(body.admin_role, null);
      problem(await api('GET', '/users/no-such-user'), 404, 'not_found');
    });

    it('updates with If-Match (412 when stale, nothing changed), 409 for a taken name, 400 for bad fields', async () => {
      const u = await createUser();
      const other = await createUser();
      const read = await api('GET', `/users/${u.id}`);
      const etag = read.headers.etag as string;
      const res = await api(
        'PATCH',
        `/users/${u.id}`,
        { name: 'New Name', email: 'moved@example.net' },
        { 'if-match': etag },
      );
      const body = ok(res);
      assert.equal(body.name, 'New Name');
      assert.equal(body.email, 'moved@example.net');
      assert.equal(body.email_verified, false, 'a new address is not verified');
      assert.notEqual(res.headers.etag, etag);
      const record = await lastAudit('user_updated');
      assert.match(String(record?.details.before), /"name":null/);
      assert.match(String(record?.details.after), /"name":"New Name"/);
      // The old ETag no longer matches: refused, nothing written.
      problem(
        await api('PATCH', `/users/${u.id}`, { name: 'Stale' }, { 'if-match': etag }),
        412,
        'precondition_failed',
      );
      problem(await api('PATCH', `/users/${u.id}`, { username: other.username }), 409, 'conflict');
      problem(await api('PATCH', `/users/${u.id}`, { username: other.username.toUpperCase() }), 409, 'conflict');
      for (const bad of [{ email: 'nope' }, { disabled: true }, { username: '' }, { mfa_required: 'true' }])
        problem(await api('PATCH', `/users/${u.id}`, bad), 400);
      const now = await app.stores.users.get(u.id);
      assert.equal(now?.name, 'New Name');
      assert.equal(now?.username, u.username);
      problem(await api('PATCH', '/users/missing', { name: 'x' }), 404);
      // A rename to a free name, and removing the address.
      const renamed = ok(await api('PATCH', `/users/${u.id}`, { username: `${u.username}r`, email: null }));
      assert.equal(renamed.username, `${u.username}r`);
      assert.equal(renamed.email, null);
    });

    it('lists users a page at a time with a cursor, and searches', async () => {
      const tag = unique('page');
      for (let i = 0; i < 3; i++) await api('POST', '/users', { username: `${tag}${i}` });
      const first = ok(await api('GET', `/users?limit=2&search=${tag}`));
      assert.equal(first.items.length, 2);
      assert.ok(first.next_cursor);
      const second = ok(await api('GET', `/users?limit=2&search=${tag}&cursor=${first.next_cursor}`));
      assert.equal(second.items.length, 1);
      assert.equal(second.next_cursor, undefined);
      const names = [...first.items, ...second.items].map((x: { username: string }) => x.username).sort();
      assert.deepEqual(names, [`${tag}0`, `${tag}1`, `${tag}2`]);
      problem(await api('GET', '/users?limit=0'), 400);
      problem(await api('GET', '/users?limit=2&limit=3'), 400);
    });

    it('disabling a user refuses their access token at /introspect and /userinfo at once, ends sessions and grants; enabling brings none back', async () => {
      const u = await createUser();
      const t = await signIn(u.username);
      assert.equal(await introspect(t.access_token), true);
      assert.equal(await userinfo(t.access_token), 200);
      const body = ok(await api('POST', `/users/${u.id}/disable`));
      assert.equal(body.disabled, true);
      assert.equal(await introspect(t.access_token), false, 'inactive at once');
      assert.equal(await userinfo(t.access_token), 401, 'userinfo refuses it at once');
      assert.equal((await refresh(t.refresh_token)).statusCode, 400, 'the refresh token is revoked');
      assert.equal(ok(await api('GET', `/users/${u.id}/sessions`)).items.length, 0);
      await logoutDelivery(app.provider).idle();
      assert.ok(
        rp.received.some((b) => b.has('logout_token')),
        'the client of the ended session was told',
      );
      const record = await lastAudit('user_disabled');
      assert.equal(record?.details.user_id, u.id);
      ok(await api('POST', `/users/${u.id}/enable`));
      assert.equal(await introspect(t.access_token), false, 'not back after the enable');
      assert.equal(await userinfo(t.access_token), 401);
    });

    it('ends one session by sid: the relying party receives a logout token for it', async () => {
      const u = await createUser();
      const t = await signIn(u.username);
      const sessions = ok(await api('GET', `/users/${u.id}/sessions`)).items as { sid: string; user_id: string }[];
      assert.deepEqual(
        sessions.map((s) => s.sid),
        [t.sid],
      );
      const before = rp.received.length;
      const res = ok(await api('DELETE', `/sessions/${encodeURIComponent(t.sid)}?user_id=${u.id}`));
      assert.equal(res.ended, true);
      await logoutDelivery(app.provider).idle();
      const tokens = rp.received.slice(before).map((b) => b.get('logout_token')!);
      assert.equal(tokens.length, 1);
      const jwks = createLocalJWKSet((await app.server.inject('/jwks')).json());
      const { payload } = await jwtVerify(tokens[0]!, jwks, { issuer: ISSUER, audience: 'bc' });
      assert.equal(payload.sid, t.sid);
      assert.equal(payload.sub, u.id);
      assert.ok((payload.events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT]);
      assert.equal(ok(await api('GET', `/users/${u.id}/sessions`)).items.length, 0);
      assert.equal((await lastAudit('sessions_ended'))?.details.sid, t.sid);
      problem(await api('DELETE', `/sessions/${encodeURIComponent(t.sid)}?user_id=${u.id}`), 404);
      problem(await api('DELETE', '/sessions/nope'), 404);
    });

    it('ends a session found by its sid alone, and lists every live session', async () => {
      const u = await createUser();
      const t = await signIn(u.username);
      const all = ok(await api('GET', `/sessions?search=${u.id}`));
      assert.ok(all.items.some((s: { sid: string; username: string }) => s.sid === t.sid && s.username === u.username));
      ok(await api('DELETE', `/sessions/${encodeURIComponent(t.sid)}`));
      assert.equal(ok(await api('GET', `/users/${u.id}/sessions`)).items.length, 0);
    });

    it("ends all of a user's sessions; offline grants stay", async () => {
      const u = await createUser();
      const a = await signIn(u.username);
      await signIn(u.username);
      const res = ok(await api('DELETE', `/users/${u.id}/sessions`));
      assert.equal(res.ended, 2);
      assert.equal(ok(await api('GET', `/users/${u.id}/sessions`)).items.length, 0);
      assert.equal((await refresh(a.refresh_token)).statusCode, 200, 'offline_access outlives the session');
      problem(await api('DELETE', '/users/missing/sessions'), 404);
    });

    it('lists consents and grants by user and by client; revokes a consent with its grants, and one grant', async () => {
      const u = await createUser();
      const t = await signIn(u.username);
      const byUser = ok(await api('GET', `/consents?user_id=${u.id}`));
      assert.deepEqual(
        byUser.items.map((c: { client_id: string }) => c.client_id),
        ['bc'],
      );
      assert.equal(byUser.grants.length, 1);
      const byClient = ok(await api('GET', '/consents?client_id=bc'));
      assert.ok(byClient.items.some((c: { user_id: string }) => c.user_id === u.id));
      assert.ok(byClient.grants.some((g: { user_id: string }) => g.user_id === u.id));
      assert.ok(!JSON.stringify(byClient).includes(t.refresh_token));
      problem(await api('GET', `/consents?user_id=${u.id}&client_id=bc`), 400);
      problem(await api('GET', '/consents'), 400);
      problem(await api('GET', '/consents?client_id=nope'), 404);
      const revoked = ok(await api('DELETE', `/users/${u.id}/consents/bc`));
      assert.equal(revoked.consent, true);
      assert.equal(revoked.grants, 1);
      assert.equal((await refresh(t.refresh_token)).statusCode, 400);
      assert.equal(await introspect(t.access_token), false);
      assert.equal(ok(await api('GET', `/consents?user_id=${u.id}`)).items.length, 0);
      problem(await api('DELETE', `/users/${u.id}/consents/bc`), 404);
      // One grant.
      const t2 = await signIn(u.username);
      const grant = ok(await api('GET', `/consents?user_id=${u.id}`)).grants[0] as { id: string };
      assert.equal(ok(await api('DELETE', `/grants/${grant.id}`)).changed, true);
      assert.equal((await refresh(t2.refresh_token)).statusCode, 400);
      assert.equal(ok(await api('DELETE', `/grants/${grant.id}`)).changed, false);
      problem(await api('DELETE', '/grants/nope'), 404);
    });

    it('factors, unlock, verify-email, require-mfa', async () => {
      const u = await createUser({ email_verified: false });
      assert.deepEqual(ok(await api('GET', `/users/${u.id}/factors`)), { items: [], recovery_codes: 0 });
      assert.equal(ok(await api('DELETE', `/users/${u.id}/factors`)).factors, 0);
      // Lock the account with wrong passwords, then unlock it.
      await app.stores.counters.hit(`factor:${u.id}`, app.provider.now(), 600);
      assert.ok(ok(await api('POST', `/users/${u.id}/unlock`)).counters >= 1);
      assert.equal(await app.stores.counters.get(`factor:${u.id}`, app.provider.now()), undefined);
      assert.equal(ok(await api('POST', `/users/${u.id}/verify-email`)).changed, true);
      assert.equal((await app.stores.users.get(u.id))?.emailVerified, true);
      assert.equal(ok(await api('POST', `/users/${u.id}/verify-email`)).changed, false);
      const noMail = ok(await api('POST', '/users', { username: unique('nm') }), 201);
      problem(await api('POST', `/users/${noMail.id}/verify-email`), 409);
      assert.equal(ok(await api('POST', `/users/${u.id}/require-mfa`)).changed, true);
      assert.equal((await app.stores.users.get(u.id))?.mfaRequired, true);
      assert.equal(ok(await api('GET', `/users/${u.id}`)).mfa.required, true);
      assert.equal(ok(await api('POST', `/users/${u.id}/require-mfa`, { required: false })).changed, true);
      problem(await api('POST', `/users/${u.id}/require-mfa`, { required: 'maybe' }), 400);
      problem(await api('POST', '/users/missing/unlock'), 404);
    });

    it('linked identities: listed; unlinked, never the last way in (409)', async () => {
      const provider = upstreamRecord(unique('up'));
      await app.stores.upstreams.put(provider);
      const noPw = ok(await api('POST', '/users', { username: unique('np') }), 201);
      const withPw = await createUser();
      const now = app.provider.now();
      for (const [user, subject] of [
        [noPw, 's1'],
        [withPw, 's2'],
      ] as const)
        await app.stores.upstreamIdentities.link({
          providerId: provider.id,
          issuer: 'https://up.example',
          subject,
          userId: user.id,
          email: null,
          createdAt: now,
          lastUsedAt: now,
        });
      const list = ok(await api('GET', `/users/${noPw.id}/identities`));
      assert.equal(list.items.length, 1);
      assert.equal(list.items[0].subject, 's1');
      assert.equal(ok(await api('GET', `/users/${noPw.id}`)).linked_identities, 1);
      problem(await api('DELETE', `/users/${noPw.id}/identities/${provider.id}`), 409, 'conflict');
      assert.equal((await app.stores.upstreamIdentities.listByUser(noPw.id)).length, 1, 'still linked');
      assert.equal(ok(await api('DELETE', `/users/${withPw.id}/identities/${provider.id}`)).unlinked, true);
      assert.equal((await app.stores.upstreamIdentities.listByUser(withPw.id)).length, 0);
      problem(await api('DELETE', `/users/${withPw.id}/identities/${provider.id}`), 404);
    });

    it('deletes a user: tokens refused, sessions ended, the id gone for good, the name reserved', async () => {
      const u = await createUser();
      const t = await signIn(u.username);
      const before = rp.received.length;
      const res = ok(await api('DELETE', `/users/${u.id}`));
      assert.equal(res.deleted, true);
      problem(await api('GET', `/users/${u.id}`), 404);
      assert.equal(await introspect(t.access_token), false);
      assert.equal((await refresh(t.refresh_token)).statusCode, 400);
      assert.ok(await app.stores.users.tombstone(u.id));
      await logoutDelivery(app.provider).idle();
      assert.ok(
        rp.received.slice(before).some((b) => b.has('logout_token')),
        'the session ended with its client told',
      );
      const record = await lastAudit('account_deleted');
      assert.equal(record?.actor, 'admin');
      assert.equal(record?.details.user_id, u.id);
      assert.match(String(record?.details.before), new RegExp(u.username));
      problem(await api('DELETE', `/users/${u.id}`), 404);
      // The name stays reserved.
      problem(await api('POST', '/users', { username: u.username }), 400);
    });

    it('admin roles: given and listed; the last owner is never removed, demoted, disabled or deleted', async () => {
      const a = await createUser();
      const b = await createUser();
      problem(await api('PUT', `/users/${a.id}/role`, { role: 'emperor' }), 400);
      problem(await api('PUT', '/users/missing/role', { role: 'owner' }), 404);
      problem(await api('DELETE', `/users/${a.id}/role`), 404);
      const set = ok(await api('PUT', `/users/${a.id}/role`, { role: 'owner' }));
      assert.equal(set.role, 'owner');
      assert.equal(set.granted_by, 'admin');
      assert.equal(ok(await api('GET', `/users/${a.id}`)).admin_role, 'owner');
      const roles = ok(await api('GET', '/roles')).items as { user_id: string; role: string }[];
      assert.ok(roles.some((r) => r.user_id === a.id && r.role === 'owner'));
      // Owners other than a (other tests' owners, if any) are taken away first: a is the last one.
      for (const r of roles)
        if (r.role === 'owner' && r.user_id !== a.id) await app.stores.adminRoles.remove(r.user_id);
      problem(await api('DELETE', `/users/${a.id}/role`), 409, 'conflict');
      problem(await api('PUT', `/users/${a.id}/role`, { role: 'admin' }), 409, 'conflict');
      problem(await api('POST', `/users/${a.id}/disable`), 409, 'conflict');
      problem(await api('DELETE', `/users/${a.id}`), 409, 'conflict');
      assert.equal((await app.stores.adminRoles.get(a.id))?.role, 'owner');
      assert.equal((await app.stores.users.get(a.id))?.disabled, false);
      // A second owner who is disabled does not count.
      ok(await api('PUT', `/users/${b.id}/role`, { role: 'owner' }));
      ok(await api('POST', `/users/${b.id}/disable`));
      problem(await api('PUT', `/users/${a.id}/role`, { role: 'support' }), 409);
      ok(await api('POST', `/users/${b.id}/enable`));
      // With another owner, a may be demoted, and b then not.
      assert.equal(ok(await api('PUT', `/users/${a.id}/role`, { role: 'support' })).role, 'support');
      problem(await api('DELETE', `/users/${b.id}/role`), 409);
      assert.equal(ok(await api('DELETE', `/users/${a.id}/role`)).removed, 'support');
      const record = await lastAudit('admin_role_removed');
      assert.equal(record?.details.user_id, a.id);
      assert.equal(record?.details.previous, 'support');
    });
  });
}
