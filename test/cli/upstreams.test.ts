/**
 * Upstream providers and linked identities from the command line (issue 17), for real: the
 * `tessera` CLI as a child process, on a SQLite file and on PostgreSQL. `tessera upstream
 * list|show|add|remove|enable|disable`, `tessera user identities|unlink` (the plural spellings
 * `upstreams` and `users` too), and the bootstrap file's `upstreams:` list.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { unwrapAccountSecret } from '../../src/accounts/secret-wrap.ts';
import { createUser } from '../../src/accounts/users.ts';
import { openStores } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { Stores, UpstreamIdentity } from '../../src/ports/index.ts';
import { cliBackends, runCli } from '../fixtures/cli.ts';

const NOW = Math.floor(Date.now() / 1000);
const SECRET = 'corp-secret-that-must-never-be-printed-4242';
const backends = await cliBackends();

describe('upstream providers from the CLI', { concurrency: true }, () => {
  for (const backend of backends) {
    describe(`on ${backend.name}`, { skip: backend.skip, concurrency: false }, () => {
      const env = { DATABASE_URL: backend.url, CORP_SECRET: SECRET };
      const config = loadConfig({ ...env, TESSERA_ENV: 'development' });
      const dir = mkdtempSync(join(tmpdir(), 'tessera-upstreams-'));
      const cli = async (args: string[], input?: string) => {
        const r = await runCli(args, env, input);
        assert.ok(!r.out.includes(SECRET) && !r.err.includes(SECRET), 'the secret is never printed');
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
      const file = (name: string, lines: string[]) => {
        const path = join(dir, name);
        writeFileSync(path, lines.join('\n'));
        return path;
      };
      const audit = (type: string) =>
        withStores(async (s) => (await s.audit.query({ limit: 1000 })).filter((a) => a.type === type));
      const corp = [
        'id: corp',
        'kind: oidc',
        'label: Corp SSO',
        'issuer: https://idp.corp.example.com',
        'client_id: tessera',
        'client_secret_env: CORP_SECRET',
        'order: 5',
        'create_users: true',
        'allowed_domains: [corp.example.com]',
      ];

      after(async () => {
        rmSync(dir, { recursive: true, force: true });
        if (backend.url.startsWith('sqlite:'))
          rmSync(dirname(backend.url.slice('sqlite:'.length)), { recursive: true, force: true });
        else await backend.drop?.();
      });

      it('migrates', async () => {
        assert.equal((await cli(['migrate'])).code, 0);
      });

      it('upstream add reads a provider (secret from the environment), stores the secret wrapped, says the callback URL', async () => {
        const r = await cli(['upstream', 'add', '-'], corp.join('\n'));
        assert.equal(r.code, 0, r.err);
        assert.match(
          r.out,
          /added upstream corp \(Corp SSO\); callback URL to register with the provider: .*\/upstream\/corp\/callback/,
        );
        const stored = (await withStores((s) => s.upstreams.get('corp')))!;
        assert.equal(stored.createUsers, true);
        assert.deepEqual(stored.allowedDomains, ['corp.example.com']);
        assert.equal(await unwrapAccountSecret(config, 'upstream:corp', stored.secretWrapped!), SECRET);
        // The record of the action upstreams.put, run by the CLI.
        const saved = await audit('upstream_saved');
        assert.deepEqual(
          saved.map((a) => [a.actor, a.details.action, a.details.provider, a.details.created]),
          [['cli', 'upstreams.put', 'corp', true]],
        );
      });

      it('adding the same provider again changes nothing; a change updates it', async () => {
        const path = file('corp.yaml', corp);
        const again = await cli(['upstreams', 'add', path]);
        assert.equal(again.code, 0, again.err);
        assert.match(again.out, /unchanged: upstream corp/);
        assert.deepEqual(
          (await audit('upstream_saved')).map((a) => a.details.changed),
          [true, false],
          'recorded as unchanged',
        );
        const changed = await cli([
          'upstream',
          'add',
          file('corp2.yaml', [...corp.slice(0, 2), 'label: Corp', ...corp.slice(3)]),
        ]);
        assert.equal(changed.code, 0, changed.err);
        assert.match(changed.out, /updated upstream corp \(Corp\)/);
        assert.equal((await withStores((s) => s.upstreams.get('corp')))!.label, 'Corp');
      });

      it('show and list never print the secret; list is by button order', async () => {
        const gh = await cli(
          ['upstream', 'add', '-'],
          JSON.stringify({ id: 'gh', preset: 'github', client_id: 'Iv1.abc', client_secret: SECRET, order: 1 }),
        );
        assert.equal(gh.code, 0, gh.err);
        const show = await cli(['upstream', 'show', 'corp']);
        assert.equal(show.code, 0, show.err);
        const shown = JSON.parse(show.out) as Record<string, unknown>;
        assert.equal(shown.secret, 'stored');
        assert.equal(shown.issuer, 'https://idp.corp.example.com');
        assert.ok(!show.out.includes('secretWrapped') && !show.out.includes('eyJ'), 'not even the wrapped value');
        const table = await cli(['upstreams', 'list']);
        assert.equal(table.code, 0, table.err);
        assert.match(table.out, /^ID\s+LABEL\s+KIND\s+ISSUER\s+ORDER\s+USERS\s+STATUS\n/);
        assert.match(
          table.out,
          /gh\s+GitHub\s+oauth2 \(github\)\s+https:\/\/github.com\s+1\s+linked only\s+enabled\ncorp\s+Corp\s+oidc/,
        );
        const json = JSON.parse((await cli(['upstream', 'list', '--json'])).out) as { id: string }[];
        assert.deepEqual(
          json.map((p) => p.id),
          ['gh', 'corp'],
        );
        assert.match((await cli(['upstream', 'show', 'nope'])).err, /no upstream nope/);
      });

      it('refuses a bad provider with every problem named, and stores nothing of a file with a problem', async () => {
        const typo = await cli([
          'upstream',
          'add',
          file('typo.yaml', ['id: typo', 'preset: google', 'client_id: x', 'clientsecret: y']),
        ]);
        assert.equal(typo.code, 1);
        assert.match(typo.err, /unknown key "clientsecret" \(did you mean "client_secret"\?\)/);
        const ms = await cli(
          ['upstream', 'add', '-'],
          'id: ms\npreset: microsoft\nclient_id: app\nclient_secret_env: CORP_SECRET\nauto_link_domains: [corp.example.com]',
        );
        assert.equal(ms.code, 1);
        assert.match(ms.err, /auto_link_domains is refused for the microsoft preset/);
        const two = await cli(
          ['upstream', 'add', '-'],
          JSON.stringify([
            { id: 'fine', preset: 'gitlab', client_id: 'x', client_secret: 'y' },
            {
              id: 'bad',
              kind: 'oidc',
              label: 'Bad',
              issuer: 'http://idp.example.com',
              client_id: 'x',
              client_secret: 'y',
            },
          ]),
        );
        assert.equal(two.code, 1);
        assert.match(two.err, /upstream bad: issuer must use https/);
        const ids = await withStores(async (s) => (await s.upstreams.list()).map((p) => p.id));
        assert.deepEqual(ids.sort(), ['corp', 'gh'], 'neither of the two was saved');
        const missing = await cli(['upstream', 'add', join(dir, 'nope.yaml')]);
        assert.equal(missing.code, 1);
        assert.match(missing.err, /cannot read/);
        const noEnv = await runCli(['upstream', 'add', file('env.yaml', corp)], { DATABASE_URL: backend.url });
        assert.equal(noEnv.code, 1, 'the variable a file names must be set');
        assert.match(noEnv.err, /client_secret_env: the environment variable CORP_SECRET is not set/);
      });

      it('disable and enable; remove takes the provider and its identities', async () => {
        const off = await cli(['upstream', 'disable', 'gh']);
        assert.equal(off.code, 0, off.err);
        assert.match(off.out, /upstream gh disabled/);
        assert.equal((await withStores((s) => s.upstreams.get('gh')))!.enabled, false);
        assert.match((await cli(['upstream', 'disable', 'gh'])).out, /already disabled/);
        assert.match((await cli(['upstream', 'enable', 'gh'])).out, /upstream gh enabled/);
        assert.equal((await withStores((s) => s.upstreams.get('gh')))!.enabled, true);
        await withStores((s) =>
          s.upstreamIdentities.link({
            providerId: 'gh',
            issuer: 'https://github.com',
            subject: '1',
            userId: 'someone',
            email: null,
            createdAt: NOW,
            lastUsedAt: NOW,
          }),
        );
        const rm = await cli(['upstream', 'remove', 'gh']);
        assert.equal(rm.code, 0, rm.err);
        assert.equal(await withStores((s) => s.upstreams.get('gh')), undefined);
        assert.deepEqual(await withStores((s) => s.upstreamIdentities.listByUser('someone')), []);
        const again = await cli(['upstream', 'remove', 'gh']);
        assert.equal(again.code, 1);
        assert.match(again.err, /no upstream gh/);
        assert.deepEqual(
          (await audit('upstream_deleted')).map((a) => [a.actor, a.outcome, a.details.provider ?? null]),
          [
            ['cli', 'success', 'gh'],
            ['cli', 'failure', null],
          ],
        );
      });

      it('the bootstrap file applies an upstreams list once', async () => {
        const path = file('bootstrap.yaml', [
          'upstreams:',
          '  - id: google',
          '    preset: google',
          '    client_id: g.apps.example',
          '    client_secret_env: CORP_SECRET',
          '    auto_link_domains: [corp.example.com]',
        ]);
        const r = await cli(['bootstrap', path]);
        assert.equal(r.code, 0, r.err);
        assert.match(r.out, /upstreams changed: 1/);
        assert.match((await cli(['bootstrap', path])).out, /upstreams changed: 0/);
        const applied = await audit('bootstrap_applied');
        assert.equal(applied.length, 1, 'the second application changed nothing');
        assert.deepEqual(applied[0]!.details, {
          clients_changed: 0,
          users_changed: 0,
          resources_changed: 0,
          upstreams_changed: 1,
        });
        assert.equal((await withStores((s) => s.upstreams.get('google')))!.issuer, 'https://accounts.google.com');
        assert.deepEqual(
          (await audit('upstream_saved')).filter((a) => a.actor === 'bootstrap').map((a) => a.details),
          [{ provider: 'google' }],
        );
      });

      it('user identities lists what is linked; user unlink refuses the last way in and unlinks otherwise', async () => {
        // A user created just in time by an upstream: no password, no passkey.
        const user = await withStores(async (s) => {
          const r = await createUser(s, { username: 'jit-user', email: 'jit@corp.example.com' }, NOW, {
            origin: 'upstream',
          });
          assert.ok('user' in r, JSON.stringify(r));
          return r.user;
        });
        const id = (over: Partial<UpstreamIdentity>): UpstreamIdentity => ({
          providerId: 'corp',
          issuer: 'https://idp.corp.example.com',
          subject: 'corp-sub-1',
          userId: user.id,
          email: 'jit@corp.example.com',
          createdAt: NOW,
          lastUsedAt: NOW + 5,
          ...over,
        });
        await withStores((s) => s.upstreamIdentities.link(id({})));
        const list = await cli(['users', 'identities', 'jit-user']);
        assert.equal(list.code, 0, list.err);
        assert.match(list.out, /^PROVIDER\s+ISSUER\s+SUBJECT\s+EMAIL\s+LINKED\s+LAST_USED\n/);
        assert.match(list.out, /corp\s+https:\/\/idp.corp.example.com\s+corp-sub-1\s+jit@corp.example.com/);
        const json = JSON.parse((await cli(['user', 'identities', 'jit-user', '--json'])).out) as Record<
          string,
          unknown
        >[];
        assert.equal(json.length, 1);
        assert.equal(json[0]!.label, 'Corp');
        assert.equal(json[0]!.last_used_at, new Date((NOW + 5) * 1000).toISOString());

        const last = await cli(['user', 'unlink', 'jit-user', 'corp']);
        assert.equal(last.code, 1);
        assert.match(last.err, /refused: it is the last way jit-user can sign in/);
        assert.equal((await withStores((s) => s.upstreamIdentities.listByUser(user.id))).length, 1);

        // A second identity at the same provider: which one must be said.
        await withStores((s) => s.upstreamIdentities.link(id({ subject: 'corp-sub-2', createdAt: NOW + 1 })));
        const which = await cli(['users', 'unlink', 'jit-user', 'corp']);
        assert.equal(which.code, 1);
        assert.match(
          which.err,
          /2 identities linked through corp \(subjects corp-sub-1, corp-sub-2\): name one with --subject/,
        );
        const done = await cli(['users', 'unlink', 'jit-user', 'corp', '--subject', 'corp-sub-1']);
        assert.equal(done.code, 0, done.err);
        assert.match(done.out, /unlinked corp identity corp-sub-1 from jit-user/);
        assert.deepEqual(
          (await withStores((s) => s.upstreamIdentities.listByUser(user.id))).map((i) => i.subject),
          ['corp-sub-2'],
        );
        assert.deepEqual(
          (await audit('upstream_unlinked'))
            .filter((a) => a.outcome === 'success')
            .map((a) => [a.actor, a.details.user_id, a.details.provider, a.details.by]),
          [['cli', user.id, 'corp', 'operator']],
        );
        assert.match((await cli(['user', 'unlink', 'jit-user', 'corp'])).err, /refused: it is the last way/);
        assert.match(
          (await cli(['user', 'unlink', 'jit-user', 'gh'])).err,
          /jit-user has no identity linked through gh/,
        );
        assert.match((await cli(['user', 'identities', 'nobody'])).err, /no user nobody/);
      });

      it('with a password, the last identity may be unlinked', async () => {
        const user = await withStores(async (s) => {
          const r = await createUser(s, { username: 'pw-user', password: 'a long pass phrase here' }, NOW, {
            origin: 'operator',
          });
          assert.ok('user' in r, JSON.stringify(r));
          await s.upstreamIdentities.link({
            providerId: 'corp',
            issuer: 'https://idp.corp.example.com',
            subject: 'pw-sub',
            userId: r.user.id,
            email: null,
            createdAt: NOW,
            lastUsedAt: NOW,
          });
          return r.user;
        });
        const r = await cli(['user', 'unlink', 'pw-user', 'corp']);
        assert.equal(r.code, 0, r.err);
        assert.deepEqual(await withStores((s) => s.upstreamIdentities.listByUser(user.id)), []);
        assert.match((await cli(['users', 'identities', 'pw-user'])).out, /no linked upstream identities/);
      });
    });
  }
});
