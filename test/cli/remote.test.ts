/**
 * The CLI's remote mode (issue 20), for real: a Tessera started here listens on a loopback port, and the `tessera`
 * command, as a child process without any database configured, calls its admin API through the client typed by
 * the OpenAPI document: with a token given in the environment (the break-glass token here), and with the token
 * `tessera login --remote` keeps in a file only the user can read.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import { runCli } from '../fixtures/cli.ts';
import { cliHome, listeningApp } from '../fixtures/remote.ts';

const TOKEN = 'break-glass-0123456789-abcdefghijklmnopqrstuvwxyz';

describe('tessera --remote: the admin API of a running Tessera', () => {
  let app: App;
  let issuer: string;
  const { home, env: cliEnv } = cliHome('tessera-remote-');
  const file = join(home, 'tessera', 'credentials.json');
  const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { ...cliEnv, ...env });
  const withToken = (token = TOKEN) => ({ TESSERA_REMOTE_URL: issuer, TESSERA_REMOTE_TOKEN: token });
  const audits = (type: string) => app.stores.audit.query({ type, limit: 50 });
  const storeLogin = (login: Record<string, unknown>, mode = 0o600) => {
    mkdirSync(join(home, 'tessera'), { recursive: true, mode: 0o700 });
    writeFileSync(file, JSON.stringify({ current: issuer, logins: { [issuer]: login } }), { mode });
    chmodSync(file, mode);
  };

  before(async () => {
    ({ app, issuer } = await listeningApp({ TESSERA_ADMIN_TOKEN: TOKEN }));
  });
  after(async () => {
    await app?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('keys list --remote shows the server’s keys, through the admin API (audited there, via api)', async () => {
    const r = await cli(['keys', 'list', '--remote', '--json'], withToken());
    assert.equal(r.code, 0, r.err);
    const listed = JSON.parse(r.out) as { kid: string; state: string }[];
    const stored = (await app.stores.keys.list()).filter((k) => k.state !== 'retired');
    assert.deepEqual(listed.map((k) => k.kid).sort(), stored.map((k) => k.kid).sort());
    assert.ok(!r.out.includes('privateJwe') && !/"d"/.test(r.out));
    const [record] = await audits('admin_keys_listed');
    assert.equal(record?.actor, 'admin');
    assert.equal(record?.details.via, 'api');
    assert.equal(record?.details.principal, 'break-glass');
    assert.equal(record?.ip, '127.0.0.1');
  });

  it('TESSERA_REMOTE_URL alone selects remote mode; keys rotate and tessera admin ACTION change the server', async () => {
    const before = (await app.stores.keys.list()).find((k) => k.state === 'active')!.kid;
    const r = await cli(['keys', 'rotate'], withToken());
    assert.equal(r.code, 0, r.err);
    const active = (await app.stores.keys.list()).find((k) => k.state === 'active')!.kid;
    assert.notEqual(active, before);
    assert.match(r.out, new RegExp(`new active signing key ${active} \\(ES256`));
    const retire = await cli(['admin', 'keys.retire', '--kid', before, '--remote'], withToken());
    assert.equal(retire.code, 0, retire.err);
    assert.deepEqual(JSON.parse(retire.out), { kid: before, state: 'retired', changed: true });
    const [rec] = await audits('key_retired');
    assert.equal(rec?.details.action, 'keys.retire');
    assert.equal(rec?.details.via, 'api');
  });

  it('bad input is refused by the server with exit code 2, changing nothing; an unknown kid is 404 with exit 1', async () => {
    const keys = await app.stores.keys.list();
    const bad = await cli(['admin', 'keys.rotate', '--json', '{"alg":"HS256"}', '--remote'], withToken());
    assert.equal(bad.code, 2, bad.err);
    assert.match(bad.err, /alg/);
    assert.deepEqual(await app.stores.keys.list(), keys);
    const missing = await cli(['keys', 'retire', 'no-such-kid', '--remote'], withToken());
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no-such-kid/);
  });

  it('the commands over the actions run remotely too: user show by username, client update with If-Match', async () => {
    const shown = await cli(['user', 'show', 'alice', '--remote'], withToken());
    assert.equal(shown.code, 0, shown.err);
    const alice = JSON.parse(shown.out);
    assert.equal(alice.username, 'alice');
    assert.equal(alice.id, (await app.stores.users.findByUsername('alice'))!.id);
    const read = await cli(['admin', 'clients.read', '--client-id', 'web', '--remote'], withToken());
    const etag = /^ETag: (.+)$/m.exec(read.err)![1]!;
    const stale = await cli(['client', 'update', 'web', '--name', 'X', '--if-match', '"old"', '--remote'], withToken());
    assert.equal(stale.code, 1);
    assert.match(stale.err, /changed since it was read/);
    const updated = await cli(['client', 'update', 'web', '--name', 'Web (remote)', '--if-match', etag], withToken());
    assert.equal(updated.code, 0, updated.err);
    assert.equal((await app.stores.clients.get('web'))?.clientName, 'Web (remote)');
    const [rec] = await audits('client_updated');
    assert.equal(rec?.details.via, 'api');
  });

  it('the client, resource, user and upstream commands run remotely too, each through its action', async () => {
    const created = await cli(
      [
        'client',
        'create',
        '--id',
        'remote-app',
        '--name',
        'Remote',
        '--redirect-uri',
        'https://app.example/cb',
        '--remote',
      ],
      withToken(),
    );
    assert.equal(created.code, 0, created.err);
    const [shown, secretLine] = created.out.split(/\n(?=Client secret)/);
    assert.equal(JSON.parse(shown!).client_id, 'remote-app');
    assert.match(secretLine!, /^Client secret \(shown only once, store it safely\): \S+/);
    assert.ok(await app.stores.clients.get('remote-app'));
    const [made] = await audits('client_created');
    assert.deepEqual([made?.details.action, made?.details.via], ['clients.create', 'api']);
    const listed = JSON.parse((await cli(['client', 'list', '--json'], withToken())).out) as { client_id: string }[];
    assert.ok(listed.some((c) => c.client_id === 'remote-app'));
    assert.match((await cli(['client', 'disable', 'remote-app'], withToken())).out, /client remote-app disabled/);
    assert.equal((await app.stores.clients.get('remote-app'))?.disabled, true);
    assert.match((await cli(['client', 'delete', 'remote-app'], withToken())).out, /deleted client remote-app/);

    const resource = await cli(
      ['resource', 'create', '--identifier', 'https://API.remote.example/v1', '--name', 'API', '--remote'],
      withToken(),
    );
    assert.equal(resource.code, 0, resource.err);
    const updated = await cli(['resource', 'update', 'https://api.remote.example/v1', '--ttl', '600'], withToken());
    assert.equal(updated.code, 0, updated.err);
    assert.match(updated.out, /Running servers use the change/);
    assert.equal((await app.stores.resourceServers.get('https://api.remote.example/v1'))?.accessTokenTtl, 600);
    const deleted = await cli(['resource', 'delete', 'HTTPS://api.remote.example/v1'], withToken());
    assert.match(deleted.out, /^deleted resource https:\/\/api\.remote\.example\/v1;/);

    assert.match((await cli(['user', 'disable', 'alice'], withToken())).out, /user alice disabled/);
    assert.equal((await app.stores.users.findByUsername('alice'))?.disabled, true);
    assert.match((await cli(['user', 'enable', 'alice', '--remote'], withToken())).out, /user alice enabled/);
    assert.match((await cli(['user', 'list'], withToken())).out, /^alice\s/m);
    const upstreams = await cli(['upstream', 'list', '--json'], withToken());
    assert.equal(upstreams.code, 0, upstreams.err);
    assert.deepEqual(JSON.parse(upstreams.out), []);
  });

  it('a token the server refuses says to log in again, and shows no token', async () => {
    const r = await cli(['keys', 'list', '--remote'], withToken(`${TOKEN}x`));
    assert.equal(r.code, 1);
    assert.match(r.err, new RegExp(`${issuer.replace(/\./g, '\\.')} no longer accepts your admin token`));
    assert.match(r.err, /tessera login --remote/);
    assert.ok(!r.err.includes(TOKEN) && !r.out.includes(TOKEN));
  });

  it('uses the stored login (current issuer) with --remote; an expired one says to log in again', async () => {
    const now = Math.floor(Date.now() / 1000);
    const login = { issuer, access_token: TOKEN, token_type: 'Bearer', scope: '', client_id: 'tessera-cli' };
    storeLogin({ ...login, expires_at: now + 300 });
    const ok = await cli(['admin', 'keys.list', '--remote']);
    assert.equal(ok.code, 0, ok.err);
    assert.ok(Array.isArray(JSON.parse(ok.out).keys));
    storeLogin({ ...login, expires_at: now - 1 });
    const expired = await cli(['keys', 'list', '--remote']);
    assert.equal(expired.code, 1);
    assert.match(expired.err, /admin token for .* has expired: run tessera login --remote/);
  });

  it('refuses a credentials file others may read, and a missing login names the command to run', async () => {
    storeLogin(
      {
        issuer,
        access_token: TOKEN,
        token_type: 'Bearer',
        scope: '',
        client_id: 'tessera-cli',
        expires_at: 2 ** 31,
      },
      0o644,
    );
    const r = await cli(['keys', 'list', '--remote']);
    assert.equal(r.code, 1);
    assert.match(r.err, /may be read by other users/);
    rmSync(file);
    const none = await cli(['keys', 'list', '--remote']);
    assert.equal(none.code, 1);
    assert.match(none.err, /not logged in to a remote Tessera: run tessera login --remote/);
  });

  it('logout --remote forgets the token; host-only commands refuse remote mode', async () => {
    storeLogin({
      issuer,
      access_token: TOKEN,
      token_type: 'Bearer',
      scope: '',
      client_id: 'tessera-cli',
      expires_at: 2 ** 31,
    });
    const out = await cli(['logout', '--remote']);
    assert.equal(out.code, 0, out.err);
    assert.match(out.out, new RegExp(`logged out of ${issuer.replace(/\./g, '\\.')}`));
    assert.equal(existsSync(file), false);
    const again = await cli(['logout', '--remote']);
    assert.match(again.out, /not logged in/);
    const migrate = await cli(['migrate'], withToken());
    assert.equal(migrate.code, 1);
    assert.match(migrate.err, /runs on the host only/);
    const flag = await cli(['migrate', '--remote']);
    assert.equal(flag.code, 2, 'migrate has no --remote option');
  });

  it('login refuses plain http to another host and an issuer that is not the server’s own', async () => {
    const plain = await cli(['login', '--remote', 'http://tessera.example']);
    assert.equal(plain.code, 1);
    assert.match(plain.err, /https only/);
    const other = await cli(['login', '--remote', issuer.replace('127.0.0.1', 'localhost')]);
    assert.equal(other.code, 1);
    assert.match(other.err, /says its issuer is/);
    assert.equal(existsSync(file), false);
  });
});
