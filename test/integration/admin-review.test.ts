// Findings of the adversarial review of the admin actions (issue 20), each kept as a test: what a
// lesser operator must not reach through the actions its role does hold.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { runAction, type ActionRefused, type AdminPrincipal } from '../../src/admin/action.ts';
import { actionNamed } from '../../src/admin/actions/index.ts';
import { saveUser } from '../../src/admin/users.ts';
import type { App } from '../../src/app.ts';
import type { AdminRole } from '../../src/ports/admin.ts';
import { ROLE_SCOPES } from '../../src/protocol/admin-scopes.ts';
import { tokenHash } from '../../src/protocol/hash.ts';
import { csrfToken } from '../../src/protocol/interaction/session.ts';
import { backends, form, testApp } from '../fixtures/app.ts';

const TOKEN = 'review-break-glass-token-0123456789abcdefghij';

for (const backend of await backends()) {
  describe(`admin review (${backend.name})`, { skip: backend.url ? false : 'PostgreSQL not reachable' }, () => {
    let app: App;
    const ids = {} as Record<AdminRole, string>;
    before(async () => {
      app = await testApp(backend.url!, { TESSERA_ADMIN_TOKEN: TOKEN });
      const now = app.provider.now();
      for (const role of ['owner', 'admin'] as const) {
        const { user } = await saveUser(app.stores, { username: `rv-${role}` }, now);
        ids[role] = user.id;
        await app.stores.adminRoles.set({ userId: user.id, role, grantedAt: now, grantedBy: 'cli' });
      }
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });
    const as = (role: AdminRole): AdminPrincipal => ({
      kind: 'user',
      id: ids[role],
      scopes: new Set(ROLE_SCOPES[role]),
      authTime: app.provider.now(),
      via: 'api',
      ip: null,
    });
    const run = (role: AdminRole, name: string, input: Record<string, unknown>) =>
      runAction(app.provider, actionNamed(name)!, as(role), input);
    const refused = async (p: Promise<unknown>) => {
      const err = (await p.then(
        () => undefined,
        (e: unknown) => e,
      )) as ActionRefused | undefined;
      assert.equal(err?.status, 403, String(err));
      assert.equal(err?.code, 'forbidden');
    };
    const automation = (client_id: string, scope: string) => ({
      client_id,
      admin_client: true,
      scope,
      grant_types: ['client_credentials'],
    });

    it('an admin cannot make a client holding an admin scope it lacks (admin:roles:write: an owner by proxy)', async () => {
      await refused(run('admin', 'clients.create', automation('rv-proxy', 'admin:roles:write')));
      assert.equal(await app.stores.clients.get('rv-proxy'), undefined);
      await app.audit.flush(); // refusals are written by the batching audit writer
      const records = await app.stores.audit.query({ type: 'client_created', actor: ids.admin, outcome: 'failure' });
      assert.equal(records[0]?.details?.reason, 'forbidden');
      // Within its own scopes it may; an owner may give any.
      await run('admin', 'clients.create', automation('rv-ok', 'admin:users:read'));
      await run('owner', 'clients.create', automation('rv-owners', 'admin:roles:write admin:users:read'));
    });

    it("an admin cannot take over an owner's automation client: no new secret, no secret set, no scope added", async () => {
      const before_ = await app.stores.clients.get('rv-owners');
      await refused(run('admin', 'clients.rotate-secret', { client_id: 'rv-owners' }));
      await refused(run('admin', 'clients.update', { client_id: 'rv-owners', client_secret: 'x'.repeat(40) }));
      await refused(
        run('admin', 'clients.update', { client_id: 'rv-ok', scope: 'admin:users:read admin:roles:write' }),
      );
      assert.deepEqual(await app.stores.clients.get('rv-owners'), before_);
      assert.equal((await app.stores.clients.get('rv-ok'))?.scopes.join(' '), 'admin:users:read');
      await run('admin', 'clients.rotate-secret', { client_id: 'rv-ok' });
      await run('owner', 'clients.rotate-secret', { client_id: 'rv-owners' });
    });

    it("an admin cannot keep an owner's automation client out either: no disable, delete or revocation of its tokens", async () => {
      const before_ = await app.stores.clients.get('rv-owners');
      await refused(run('admin', 'clients.disable', { client_id: 'rv-owners' }));
      await refused(run('admin', 'clients.revoke-tokens', { client_id: 'rv-owners' }));
      await refused(run('admin', 'clients.delete', { client_id: 'rv-owners' }));
      assert.deepEqual(await app.stores.clients.get('rv-owners'), before_);
      // Its own kind of client it may; the owner may.
      await run('admin', 'clients.revoke-tokens', { client_id: 'rv-ok' });
      await run('owner', 'clients.revoke-tokens', { client_id: 'rv-owners' });
    });

    it('a NUL character anywhere in an input, or a cursor no list gave: 400, never a failed statement (500)', async () => {
      const bad: [string, Record<string, unknown>][] = [
        ['users.list', { search: 'a\u0000b' }],
        ['clients.list', { cursor: 'AA' }], // decodes to a NUL
        ['clients.list', { cursor: '@@not-base64' }],
        ['sessions.list', { cursor: '_w8' }], // decodes to bytes that are not UTF-8
        ['clients.read', { client_id: '\u0000' }],
        ['clients.create', { client_id: 'rv-nul', client_name: 'a\u0000' }],
        ['users.get', { user_id: 'x\u0000' }],
        ['audit.list', { actor: '\u0000' }],
        ['clients.create', { client_id: 'rv-nul', jwks: { keys: [{ 'k\u0000': 1 }] } }],
      ];
      for (const [name, input] of bad) {
        const err = (await run('owner', name, input).then(
          () => undefined,
          (e: unknown) => e,
        )) as ActionRefused | undefined;
        assert.equal(err?.status, 400, `${name} ${JSON.stringify(input)}: ${String(err)}`);
      }
      assert.equal(await app.stores.clients.get('rv-nul'), undefined);
      // Through the admin API too: a problem detail, not the server's error.
      for (const url of [
        '/admin/api/v1/users?search=%00',
        '/admin/api/v1/clients?cursor=AA',
        '/admin/api/v1/clients/a%00b',
      ]) {
        const res = await app.server.inject({ url, headers: { authorization: `Bearer ${TOKEN}` } });
        assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
        assert.match(String(res.headers['content-type']), /problem\+json/);
      }
      // A cursor a list gave still pages.
      for (let i = 0; i < 3; i++) await run('owner', 'users.create', { username: `rv-page-${i}` });
      const first = (await run('owner', 'users.list', { limit: 2 })).result as { next_cursor?: string };
      assert.ok(first.next_cursor);
      await run('owner', 'users.list', { limit: 2, cursor: first.next_cursor });
    });

    it('the last owner (any operator) cannot delete their own account from the account page; a person without a role can', async () => {
      const now = app.provider.now();
      const { user: plain } = await saveUser(app.stores, { username: 'rv-plain' }, now);
      const deleteAs = async (userId: string) => {
        const value = randomBytes(32).toString('base64url');
        await app.stores.sessions.create({
          idHash: tokenHash(value),
          sid: randomBytes(16).toString('base64url'),
          userId,
          authTime: now,
          amr: ['pwd', 'otp', 'mfa'],
          createdAt: now,
          lastSeenAt: now,
          expiresAt: now + 3600,
        });
        const csrf = csrfToken(app.provider, 'account:delete', value);
        return form(
          app,
          '/account/delete',
          { csrf, confirm: 'yes', password: '' },
          { cookie: `tessera_session=${value}` },
        );
      };
      const refused = await deleteAs(ids.owner);
      assert.equal(refused.statusCode, 400);
      assert.match(refused.body, /owner admin role/);
      assert.ok(await app.stores.users.get(ids.owner));
      assert.equal((await app.stores.adminRoles.get(ids.owner))?.role, 'owner');
      const done = await deleteAs(plain.id);
      assert.equal(done.statusCode, 200, done.body.slice(0, 300));
      assert.equal(await app.stores.users.get(plain.id), undefined);
    });

    it("a role given while its holder deletes their account is seen in the deletion's transaction: never left on a deleted account", async () => {
      const now = app.provider.now();
      const { user } = await saveUser(app.stores, { username: 'rv-racing' }, now);
      const value = randomBytes(32).toString('base64url');
      await app.stores.sessions.create({
        idHash: tokenHash(value),
        sid: randomBytes(16).toString('base64url'),
        userId: user.id,
        authTime: now,
        amr: ['pwd'],
        createdAt: now,
        lastSeenAt: now,
        expiresAt: now + 3600,
      });
      // The page's first read of the role happens before an owner gives one (the owner's action commits in between).
      const roles = app.provider.stores.adminRoles;
      const get = roles.get;
      let given = false;
      roles.get = async (userId: string) => {
        const read = await get.call(roles, userId);
        if (userId === user.id && !given) {
          given = true;
          await run('owner', 'roles.set', { user_id: user.id, role: 'support' });
        }
        return read;
      };
      try {
        const res = await form(
          app,
          '/account/delete',
          { csrf: csrfToken(app.provider, 'account:delete', value), confirm: 'yes', password: '' },
          { cookie: `tessera_session=${value}` },
        );
        assert.ok(given, 'the role was given during the deletion');
        assert.equal(res.statusCode, 400, res.body.slice(0, 300));
        assert.match(res.body, /support admin role/);
      } finally {
        roles.get = get;
      }
      assert.ok(await app.stores.users.get(user.id), 'the account stays');
      assert.equal((await app.stores.adminRoles.get(user.id))?.role, 'support');
    });

    it('a JSON body member named __proto__ is an unknown member (400), never the prototype of the input', async () => {
      const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
      for (const [method, url, payload] of [
        ['POST', '/admin/api/v1/users', '{"__proto__":{"username":"rv-proto"}}'],
        ['POST', '/admin/api/v1/users', '{"username":"rv-p2","__proto__":{"email":"a\\u0000"}}'],
        ['PATCH', '/admin/api/v1/users/x', '{"__proto__":{"user_id":"y"}}'],
      ] as const) {
        const res = await app.server.inject({ method, url, payload, headers });
        assert.equal(res.statusCode, 400, `${method} ${url} ${payload}: ${res.body}`);
      }
      assert.equal(await app.stores.users.findByUsername('rv-proto'), undefined);
    });
  });
}
