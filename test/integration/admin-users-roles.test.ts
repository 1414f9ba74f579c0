/**
 * Admin roles through the action table itself (admin/action.ts runAction), on SQLite and PostgreSQL:
 * a support principal is refused every keys and settings action, an auditor every change; refusals
 * change nothing and are audited; roles need a recent sign-in and are never given above the giver's
 * own permissions; the bootstrap file makes the first owner.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import { ActionRefused, runAction, type AdminPrincipal } from '../../src/admin/action.ts';
import { ADMIN_ACTIONS, actionNamed } from '../../src/admin/actions/index.ts';
import { applyBootstrap } from '../../src/admin/bootstrap.ts';
import { AdminError, ConflictError } from '../../src/admin/errors.ts';
import { removeAdminRole, setAdminRole } from '../../src/admin/roles.ts';
import { saveUser } from '../../src/admin/users.ts';
import type { AdminRole } from '../../src/ports/admin.ts';
import { ADMIN_SCOPES, ROLE_SCOPES } from '../../src/protocol/admin-scopes.ts';
import { backends, testApp } from '../fixtures/app.ts';

let n = 0;
const unique = (p: string) => `${p}${process.pid}r${++n}`;

for (const backend of await backends()) {
  describe(`admin roles through runAction (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    before(async () => {
      app = await testApp(backend.url!);
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    const person = (role: AdminRole, extra: Partial<AdminPrincipal> = {}): AdminPrincipal => ({
      kind: 'user',
      id: unique(role),
      scopes: new Set(ROLE_SCOPES[role]),
      authTime: app.provider.now(),
      via: 'api',
      ip: '192.0.2.7',
      ...extra,
    });
    const run = (name: string, actor: AdminPrincipal, input: unknown = {}) =>
      runAction(app.provider, actionNamed(name)!, actor, input);
    const refused = async (p: Promise<unknown>, status: number) => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof ActionRefused, `refused, not ${String(err)}`);
      assert.equal(err.status, status);
      return err;
    };
    const newUser = async () => (await saveUser(app.stores, { username: unique('u') }, app.provider.now())).user;

    it('a support principal is refused every keys and settings action (403), audited, nothing changed', async () => {
      const support = person('support');
      const sensitive = ADMIN_ACTIONS.filter((a) => /^admin:(keys|settings):/.test(a.permission));
      assert.ok(
        sensitive.some((a) => a.name === 'keys.rotate'),
        'the table has the keys actions',
      );
      const keysBefore = JSON.stringify(await app.stores.keys.list());
      for (const action of sensitive) await refused(runAction(app.provider, action, support, {}), 403);
      assert.equal(JSON.stringify(await app.stores.keys.list()), keysBefore);
      await app.audit.flush(); // refusals are written by the batching audit writer
      const failures = (await app.stores.audit.query({ limit: 10_000 })).filter(
        (r) => r.actor === support.id && r.outcome === 'failure',
      );
      assert.equal(failures.length, sensitive.length);
      assert.ok(failures.every((r) => r.details.reason === 'forbidden' && r.ip === '192.0.2.7'));
      // What support is for works: users and sessions.
      const u = await newUser();
      assert.equal(
        ((await run('users.unlock', support, { user_id: u.id })).result as { user_id: string }).user_id,
        u.id,
      );
      await run('users.end-sessions', support, { user_id: u.id });
    });

    it('an auditor is refused every change; reads work', async () => {
      const auditor = person('auditor');
      assert.ok(ROLE_SCOPES.auditor.every((s) => s.endsWith(':read') || s === 'admin:audit:export'));
      const changes = ADMIN_ACTIONS.filter((a) => !ROLE_SCOPES.auditor.includes(a.permission));
      for (const name of ['users.create', 'users.delete', 'users.disable', 'roles.set', 'sessions.end', 'keys.rotate'])
        assert.ok(
          changes.some((a) => a.name === name),
          name,
        );
      const u = await newUser();
      const usersBefore = (await app.stores.users.list()).length;
      for (const action of changes)
        await refused(
          runAction(app.provider, action, auditor, { user_id: u.id, username: unique('x'), role: 'owner' }),
          403,
        );
      assert.equal((await app.stores.users.list()).length, usersBefore);
      assert.equal((await app.stores.users.get(u.id))?.disabled, false);
      const read = await run('users.get', auditor, { user_id: u.id });
      assert.equal((read.result as { id: string }).id, u.id);
    });

    it('roles need a recent sign-in; no one gives a role holding a permission they lack', async () => {
      const u = await newUser();
      const stale = person('owner', { authTime: app.provider.now() - app.provider.config.recentAuth - 5 });
      await refused(run('roles.set', stale, { user_id: u.id, role: 'support' }), 401);
      await refused(run('roles.remove', stale, { user_id: u.id }), 401);
      await refused(run('users.delete', stale, { user_id: u.id }), 401);
      assert.ok(await app.stores.users.get(u.id));
      // An automation client holding roles:write but not everything an admin holds.
      const narrow: AdminPrincipal = {
        kind: 'client',
        id: 'automation',
        scopes: new Set(['admin:roles:write', ...ROLE_SCOPES.support]),
        via: 'api',
        ip: null,
      };
      await refused(run('roles.set', narrow, { user_id: u.id, role: 'admin' }), 403);
      assert.equal(await app.stores.adminRoles.get(u.id), undefined);
      const given = await run('roles.set', narrow, { user_id: u.id, role: 'support' });
      assert.equal((given.result as { role: string }).role, 'support');
      const owner = person('owner');
      assert.equal(ROLE_SCOPES.owner.length, ADMIN_SCOPES.length);
      await run('roles.set', owner, { user_id: u.id, role: 'admin' });
      assert.equal((await app.stores.adminRoles.get(u.id))?.role, 'admin');
      assert.equal((await app.stores.adminRoles.get(u.id))?.grantedBy, owner.id);
    });

    it('support cannot change the account of someone holding a role above theirs (no way up through a reset)', async () => {
      const support = person('support');
      const o = await newUser();
      await app.stores.adminRoles.set({
        userId: o.id,
        role: 'owner',
        grantedAt: app.provider.now(),
        grantedBy: 'test',
      });
      for (const [name, input] of [
        ['users.update', { user_id: o.id, email: 'mine@example.net' }],
        ['users.reset-factors', { user_id: o.id }],
        ['users.send-password-reset', { user_id: o.id }],
        ['users.verify-email', { user_id: o.id }],
        ['users.require-mfa', { user_id: o.id, required: false }],
        ['users.disable', { user_id: o.id }],
        ['users.delete', { user_id: o.id }],
        ['users.unlink', { user_id: o.id, provider: 'any' }],
        // Nor keep them out: ending their sessions, unlocking, revoking their consents and grants.
        ['users.end-sessions', { user_id: o.id }],
        ['users.unlock', { user_id: o.id }],
        ['sessions.end', { sid: 'any-sid', user_id: o.id }],
        ['consents.revoke', { user_id: o.id, client_id: 'web' }],
      ] as const)
        await refused(run(name, support, input), 403);
      assert.deepEqual(await app.stores.users.get(o.id), o, 'nothing changed');
      await app.audit.flush(); // refusals are written by the batching audit writer
      const failures = (await app.stores.audit.query({ limit: 10_000 })).filter(
        (r) => r.actor === support.id && r.outcome === 'failure',
      );
      assert.equal(failures.length, 12, 'each refusal is in the audit trail');
      // A user without a role: support may.
      const plain = await newUser();
      await run('users.update', support, { user_id: plain.id, name: 'Changed' });
      assert.equal((await app.stores.users.get(plain.id))?.name, 'Changed');
      // An owner may change another owner's account.
      await run('users.update', person('owner'), { user_id: o.id, name: 'Owner' });
      assert.equal((await app.stores.users.get(o.id))?.name, 'Owner');
    });

    it('two owners demoting each other in overlapping transactions: the second waits and is refused', async () => {
      const a = await newUser();
      const b = await newUser();
      const now = app.provider.now();
      for (const r of await app.stores.adminRoles.list()) await app.stores.adminRoles.remove(r.userId);
      for (const u of [a, b]) await setAdminRole(app.stores, { userId: u.id, role: 'owner', by: 'test', now });
      let release!: () => void;
      const held = new Promise<void>((r) => {
        release = r;
      });
      const first = app.stores.transaction(async (tx) => {
        await setAdminRole(tx, { userId: a.id, role: 'admin', by: 'test', now });
        await held; // not committed yet while the second one starts
      });
      await new Promise((r) => setTimeout(r, 150));
      const second = app.stores.transaction((tx) => removeAdminRole(tx, b.id, now));
      await new Promise((r) => setTimeout(r, 150));
      release();
      const [r1, r2] = await Promise.allSettled([first, second]);
      assert.equal(r1.status, 'fulfilled');
      assert.equal(r2.status, 'rejected');
      assert.ok((r2 as PromiseRejectedResult).reason instanceof ConflictError);
      assert.equal(await app.stores.adminRoles.count('owner'), 1);
      assert.equal((await app.stores.adminRoles.get(b.id))?.role, 'owner');
    });

    it('the bootstrap file makes the first owner (admin_role), audited once; a bad role is refused', async () => {
      const username = unique('first');
      const now = app.provider.now();
      await applyBootstrap(app.stores, app.provider.config, { users: [{ username, admin_role: 'owner' }] }, now);
      const user = (await app.stores.users.findByUsername(username))!;
      assert.equal((await app.stores.adminRoles.get(user.id))?.role, 'owner');
      assert.equal((await app.stores.adminRoles.get(user.id))?.grantedBy, 'bootstrap');
      await applyBootstrap(app.stores, app.provider.config, { users: [{ username, admin_role: 'owner' }] }, now);
      await app.audit.flush(); // refusals are written by the batching audit writer
      const records = (await app.stores.audit.query({ types: ['admin_role_set'], limit: 1000 })).filter(
        (r) => r.details.user_id === user.id,
      );
      assert.equal(records.length, 1, 'the second run changed nothing');
      await assert.rejects(
        applyBootstrap(
          app.stores,
          app.provider.config,
          { users: [{ username, admin_role: 'emperor' as AdminRole }] },
          now,
        ),
        AdminError,
      );
      assert.equal((await app.stores.adminRoles.get(user.id))?.role, 'owner');
    });
  });
}
