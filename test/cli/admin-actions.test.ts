/**
 * The commands issue 20 adds over the admin action table, run for real as child processes on a SQLite file:
 * `tessera admin` (any action by name), client update, user show/update/delete, admin roles, sessions and
 * consents. Each goes through runAction as the principal `cli`: its audit record is the action's, written with
 * the change; refusals change nothing and are audited as failures.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { ADMIN_ACTIONS } from '../../src/admin/actions/index.ts';
import { openStores } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { Stores } from '../../src/ports/index.ts';
import { sqliteTempUrl } from '../fixtures/db.ts';
import { runCli } from '../fixtures/cli.ts';

const NOW = Math.floor(Date.now() / 1000);

describe('tessera admin and the commands over the admin actions (SQLite)', () => {
  const env = { DATABASE_URL: sqliteTempUrl() };
  const config = loadConfig({ ...env, TESSERA_ENV: 'development' });
  const cli = (args: string[], input = '') => runCli(args, env, input);
  const ok = async (args: string[], input = '') => {
    const r = await cli(args, input);
    assert.equal(r.code, 0, `tessera ${args.join(' ')}: ${r.err}`);
    return r;
  };
  const withStores = async <T>(fn: (s: Stores) => Promise<T>): Promise<T> => {
    const { stores } = await openStores(config, { migrate: false });
    try {
      return await fn(stores);
    } finally {
      await stores.close();
    }
  };
  const lastAudit = (type: string) => withStores(async (s) => (await s.audit.query({ type, limit: 1 }))[0]);

  before(async () => {
    await ok(['migrate']);
    await ok(
      ['user', 'create', '--username', 'alice', '--email', 'alice@example.com', '--password-stdin'],
      'a long pass phrase here\n',
    );
    await ok(['client', 'create', '--id', 'web', '--name', 'Web', '--redirect-uri', 'https://app.example/cb']);
  });

  it('admin list names every action of the table, with its permission and route', async () => {
    const rows = JSON.parse((await ok(['admin', 'list', '--json'])).out) as { name: string; permission: string }[];
    assert.deepEqual(
      rows.map((r) => `${r.name} ${r.permission}`),
      ADMIN_ACTIONS.map((a) => `${a.name} ${a.permission}`),
    );
    const table = (await ok(['admin', 'list'])).out;
    assert.match(table, /^ACTION\s+PERMISSION\s+ADMIN API\s+SUMMARY/);
    assert.match(table, /^users\.get\s+admin:users:read\s+GET \/users\/\{user_id\}/m);
  });

  it('admin ACTION --help shows its input; unknown actions and fields are usage errors (exit 2)', async () => {
    const help = (await ok(['admin', 'clients.update', '--help'])).out;
    assert.match(help, /permission: admin:clients:write/);
    assert.match(help, /--client-id \(string, required\)/);
    assert.match(help, /--redirect-uris \(array\)/);
    const unknown = await cli(['admin', 'clients.frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /no admin action clients\.frobnicate/);
    const field = await cli(['admin', 'clients.read', '--client-id', 'web', '--colour', 'red']);
    assert.equal(field.code, 2);
    assert.match(field.err, /clients\.read has no input colour/);
    const invalid = await cli(['admin', 'users.update', '--json', '{"user_id":"x","mfa_required":"maybe"}']);
    assert.equal(invalid.code, 2);
    assert.match(invalid.err, /mfa_required/);
  });

  it('admin clients.update takes list fields repeated (singular or plural) or as JSON, audited as the action', async () => {
    const r = await ok([
      'admin',
      'clients.update',
      '--client-id',
      'web',
      '--redirect-uri',
      'https://a.example/cb',
      '--redirect-uris',
      'https://b.example/cb',
      '--json',
      '{"client_name":"Web App"}',
    ]);
    const shown = JSON.parse(r.out);
    assert.deepEqual(shown.redirect_uris, ['https://a.example/cb', 'https://b.example/cb']);
    assert.equal(shown.client_name, 'Web App');
    assert.match(r.err, /^ETag: "[\w-]+"$/m);
    const stored = await withStores((s) => s.clients.get('web'));
    assert.deepEqual(stored?.redirectUris, ['https://a.example/cb', 'https://b.example/cb']);
    const rec = await lastAudit('client_updated');
    assert.equal(rec?.actor, 'cli');
    assert.equal(rec?.clientId, 'web');
    assert.equal(rec?.details.action, 'clients.update');
    assert.equal(rec?.details.via, 'cli');
    assert.match(String(rec?.details.before), /https:\/\/app\.example\/cb/);
  });

  it('client update changes what it names, keeps the rest, and honours --if-match', async () => {
    const first = await ok(['client', 'update', 'web', '--name', 'Renamed', '--skip-consent', 'true']);
    const etag = /^ETag: (.+)$/m.exec(first.err)![1]!;
    const c = await withStores((s) => s.clients.get('web'));
    assert.equal(c?.clientName, 'Renamed');
    assert.equal(c?.skipConsent, true);
    assert.deepEqual(c?.redirectUris, ['https://a.example/cb', 'https://b.example/cb']);
    const stale = await cli(['client', 'update', 'web', '--name', 'Other', '--if-match', '"not-the-etag"']);
    assert.equal(stale.code, 1);
    assert.match(stale.err, /changed since it was read/);
    assert.equal((await withStores((s) => s.clients.get('web')))?.clientName, 'Renamed');
    await ok(['client', 'update', 'web', '--scope', 'openid profile', '--if-match', etag]);
    const nothing = await cli(['client', 'update', 'web']);
    assert.equal(nothing.code, 2);
    assert.match(nothing.err, /nothing to change/);
    const missing = await cli(['client', 'update', 'nope', '--name', 'x']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no client nope/);
  });

  it('user show / update / delete address a user by username or id', async () => {
    const shown = JSON.parse((await ok(['user', 'show', 'alice'])).out);
    assert.equal(shown.username, 'alice');
    assert.equal(JSON.parse((await ok(['user', 'show', shown.id])).out).id, shown.id);
    const updated = JSON.parse(
      (await ok(['user', 'update', 'alice', '--name', 'Alice Example', '--email', 'new@example.com'])).out,
    );
    assert.equal(updated.name, 'Alice Example');
    assert.equal(updated.email, 'new@example.com');
    assert.equal(updated.email_verified, false, 'a new address is unverified');
    assert.equal((await lastAudit('user_updated'))?.details.user_id, shown.id);
    await ok(['user', 'create', '--username', 'bob', '--no-password']);
    const bob = JSON.parse((await ok(['user', 'show', 'bob'])).out);
    const del = await ok(['user', 'delete', 'bob']);
    assert.match(del.out, new RegExp(`deleted user bob \\(id ${bob.id}\\)`));
    assert.equal(await withStores((s) => s.users.get(bob.id)), undefined);
    const again = await cli(['user', 'show', 'bob']);
    assert.equal(again.code, 1);
    assert.match(again.err, /no user bob/);
  });

  it('role set / list / remove; the last owner is never removed (refusal audited, nothing changed)', async () => {
    await ok(['role', 'set', 'alice', 'owner']);
    assert.match((await ok(['role', 'list'])).out, /^alice\s+owner\s+\S+\s+cli\s+enabled$/m);
    const last = await cli(['role', 'remove', 'alice']);
    assert.equal(last.code, 1);
    assert.match(last.err, /last owner/);
    assert.equal((await lastAudit('admin_role_removed'))?.outcome, 'failure');
    const bad = await cli(['role', 'set', 'alice', 'emperor']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /role/);
    await ok(['user', 'create', '--username', 'carol', '--no-password']);
    await ok(['role', 'set', 'carol', 'auditor']);
    await ok(['role', 'remove', 'carol']);
    const roles = JSON.parse((await ok(['role', 'list', '--json'])).out) as { username: string; role: string }[];
    assert.deepEqual(
      roles.map((r) => [r.username, r.role]),
      [['alice', 'owner']],
    );
  });

  it('session list / end and consent list / revoke', async () => {
    const alice = (await withStores((s) => s.users.findByUsername('alice')))!;
    await withStores(async (s) => {
      await s.sessions.create({
        idHash: 'sess-cli-1',
        sid: 'sid-cli-1',
        userId: alice.id,
        authTime: NOW - 100,
        amr: ['pwd'],
        createdAt: NOW - 100,
        lastSeenAt: NOW - 10,
        expiresAt: NOW + 3600,
      });
      await s.consents.grant(alice.id, 'web', ['openid', 'profile'], NOW);
    });
    const listed = JSON.parse((await ok(['session', 'list', '--user', 'alice', '--json'])).out) as { sid: string }[];
    assert.deepEqual(
      listed.map((x) => x.sid),
      ['sid-cli-1'],
    );
    assert.match((await ok(['sessions', 'list'])).out, /^sid-cli-1\s+alice\s/m);
    assert.match((await ok(['session', 'end', 'sid-cli-1', '--user', 'alice'])).out, /ended session sid-cli-1/);
    assert.equal((await withStores((s) => s.sessions.listByUser(alice.id))).length, 0);
    assert.equal((await lastAudit('sessions_ended'))?.details.action, 'sessions.end');
    const ended = await cli(['session', 'end', 'sid-cli-1', '--user', 'alice']);
    assert.equal(ended.code, 1);

    assert.match((await ok(['consent', 'list', '--user', 'alice'])).out, /^alice\s+web\s+openid profile/m);
    assert.match((await ok(['consent', 'list', '--client', 'web', '--json'])).out, /"client_id": "web"/);
    const both = await cli(['consent', 'list']);
    assert.equal(both.code, 2);
    assert.match((await ok(['consent', 'revoke', 'alice', 'web'])).out, /revoked the consent/);
    assert.equal(await withStores((s) => s.consents.get(alice.id, 'web')), undefined);
    assert.equal((await lastAudit('consent_revoked'))?.clientId, 'web');
  });
});
