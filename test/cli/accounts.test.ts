/**
 * Account provisioning safety (issue 13 points 1, 2, 28), for real: the `tessera` CLI as a child
 * process and the bootstrap file, on a SQLite file and on PostgreSQL (required in CI).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { verifyPassword } from '../../src/accounts/passwords.ts';
import { createUser } from '../../src/accounts/users.ts';
import { usernameKeys } from '../../src/accounts/usernames.ts';
import { usernameCollisionWarning } from '../../src/admin/users.ts';
import * as m0014 from '../../src/adapters/sql/migrations/0014_username_canonical.ts';
import { openStores } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { Stores, UserRecord } from '../../src/ports/index.ts';
import { cliBackends, runCli } from '../fixtures/cli.ts';

const NOW = Math.floor(Date.now() / 1000);

const backends = await cliBackends();

describe('account provisioning', { concurrency: true }, () => {
  for (const backend of backends) {
    describe(`on ${backend.name}`, { skip: backend.skip, concurrency: false }, () => {
      const env = { DATABASE_URL: backend.url };
      const config = loadConfig({ ...env, TESSERA_ENV: 'development' });
      const dir = mkdtempSync(join(tmpdir(), 'tessera-accounts-'));
      const cli = (args: string[], input?: string) => runCli(args, env, input);
      const withStores = async <T>(fn: (s: Stores) => Promise<T>): Promise<T> => {
        const { stores } = await openStores(config, { migrate: false });
        try {
          return await fn(stores);
        } finally {
          await stores.close();
        }
      };
      const bootstrapFile = (name: string, lines: string[]) => {
        const file = join(dir, name);
        writeFileSync(file, lines.join('\n'));
        return file;
      };
      /**
       * A self-registered account (the function sign-up uses) holding a session and a live grant with a refresh token.
       */
      const squat = async (username: string): Promise<UserRecord> =>
        withStores(async (s) => {
          const r = await createUser(
            s,
            { username, password: 'squatter pass phrase', email: `${username}@evil.example` },
            NOW,
            { origin: 'signup' },
          );
          assert.ok('user' in r, JSON.stringify(r));
          const { user } = r;
          await s.sessions.create({
            idHash: `sess-${user.id}`,
            sid: `sid-${user.id}`,
            userId: user.id,
            authTime: NOW,
            amr: ['pwd'],
            createdAt: NOW,
            lastSeenAt: NOW,
            expiresAt: NOW + 3600,
          });
          await s.grants.create(
            {
              id: `grant-${user.id}`,
              clientId: 'app',
              userId: user.id,
              scope: 'openid offline_access',
              resource: null,
              sid: `sid-${user.id}`,
              authTime: NOW,
              amr: ['pwd'],
              createdAt: NOW,
              expiresAt: NOW + 86400,
              revokedAt: null,
            },
            {
              tokenHash: `rt-${user.id}`,
              grantId: `grant-${user.id}`,
              clientId: 'app',
              scope: 'openid offline_access',
              createdAt: NOW,
              expiresAt: NOW + 86400,
              usedAt: null,
            },
            { jti: `jti-${user.id}`, expiresAt: NOW + 300 },
          );
          return user;
        });
      const access = (user: UserRecord) =>
        withStores(async (s) => ({
          session: (await s.sessions.get(`sess-${user.id}`)) !== undefined,
          grantLive: (await s.grants.get(`grant-${user.id}`))?.revokedAt === null,
          refreshLive: (await s.grants.getRefresh(`rt-${user.id}`))?.refresh.usedAt === null,
        }));
      const auditTypes = () => withStores(async (s) => (await s.audit.query({ limit: 1000 })).map((a) => a.type));

      after(async () => {
        rmSync(dir, { recursive: true, force: true });
        if (backend.url.startsWith('sqlite:'))
          rmSync(dirname(backend.url.slice('sqlite:'.length)), { recursive: true, force: true });
        else await backend.drop?.();
      });

      it('migrates', async () => {
        assert.equal((await cli(['migrate'])).code, 0);
        await withStores((s) =>
          s.clients.put({
            clientId: 'app',
            clientName: 'App',
            secretHash: null,
            tokenEndpointAuthMethod: 'none',
            applicationType: 'web',
            redirectUris: ['https://app.example/cb'],
            postLogoutRedirectUris: [],
            grantTypes: ['authorization_code', 'refresh_token'],
            scopes: ['openid', 'offline_access'],
            allowedResources: [],
            skipConsent: false,
            disabled: false,
            metadata: {},
            createdAt: NOW,
            updatedAt: NOW,
          }),
        );
      });

      it('point 1: provisioning refuses an account it did not create, naming it (bootstrap and CLI, any case); nothing of it changes', async () => {
        const squatter = await squat('victim');
        const before = (await withStores((s) => s.users.get(squatter.id)))!;
        const file = bootstrapFile('victim.yaml', [
          'users:',
          '  - username: Victim',
          '    password: operator pass phrase',
          '    email: victim@corp.example',
          '    email_verified: true',
        ]);
        const viaBootstrap = await cli(['bootstrap', file]);
        assert.equal(viaBootstrap.code, 1, viaBootstrap.err);
        assert.match(
          viaBootstrap.err,
          new RegExp(
            `user Victim: an account with this name exists that provisioning did not create: victim \\(id ${squatter.id}, self-registered`,
          ),
        );
        assert.match(viaBootstrap.err, /adopt: true/);
        const viaCli = await cli(
          ['user', 'create', '--username', 'VICTIM', '--password-stdin'],
          'operator pass phrase\n',
        );
        assert.equal(viaCli.code, 1, viaCli.err);
        assert.match(viaCli.err, new RegExp(`victim \\(id ${squatter.id}, self-registered.*--adopt-existing`));
        assert.deepEqual(await withStores((s) => s.users.get(squatter.id)), before, 'the account is untouched');
        assert.deepEqual(await access(squatter), { session: true, grantLive: true, refreshLive: true });
        assert.ok(!(await auditTypes()).includes('user_adopted'));
      });

      it('point 1: adopt: true (bootstrap) takes the account over, audited, ending its sessions and revoking its grants', async () => {
        const squatter = (await withStores((s) => s.users.findByUsername('victim')))!;
        const file = bootstrapFile('adopt.yaml', [
          'users:',
          '  - username: Victim',
          '    password: operator pass phrase',
          '    email: victim@corp.example',
          '    email_verified: true',
          '    adopt: true',
        ]);
        const r = await cli(['bootstrap', file]);
        assert.equal(r.code, 0, r.err);
        const adopted = (await withStores((s) => s.users.get(squatter.id)))!;
        assert.equal(adopted.origin, 'operator');
        assert.equal(adopted.email, 'victim@corp.example');
        assert.ok(await verifyPassword('operator pass phrase', adopted.passwordHash));
        assert.deepEqual(await access(squatter), { session: false, grantLive: false, refreshLive: false });
        const audit = await withStores(async (s) =>
          (await s.audit.query({ limit: 1000 })).filter((a) => a.type === 'user_adopted'),
        );
        assert.equal(audit.length, 1);
        assert.deepEqual(audit[0]!.details, { user_id: squatter.id, username: 'Victim', source: 'bootstrap' });
        // Applying it again changes nothing (the account is the operator's now).
        assert.match((await cli(['bootstrap', file])).out, /users changed: 0/);
      });

      it('point 1: user create --adopt-existing takes a self-registered account over, audited, ending its access', async () => {
        const squatter = await squat('target2');
        const r = await cli(
          ['user', 'create', '--username', 'Target2', '--adopt-existing', '--password-stdin'],
          'operator pass phrase\n',
        );
        assert.equal(r.code, 0, r.err);
        assert.match(r.err, /took over the existing account/);
        assert.equal((await withStores((s) => s.users.get(squatter.id)))!.origin, 'operator');
        assert.deepEqual(await access(squatter), { session: false, grantLive: false, refreshLive: false });
        assert.ok((await auditTypes()).includes('user_adopted'));
      });

      it('point 1: a password change by the bootstrap file ends the sessions and revokes the grants of that user', async () => {
        const file = bootstrapFile('carol.yaml', ['users:', '  - username: carol', '    password: first pass phrase']);
        assert.equal((await cli(['bootstrap', file])).code, 0);
        const carol = (await withStores((s) => s.users.findByUsername('carol')))!;
        await withStores(async (s) => {
          await s.sessions.create({
            idHash: `sess-${carol.id}`,
            sid: `sid-${carol.id}`,
            userId: carol.id,
            authTime: NOW,
            amr: ['pwd'],
            createdAt: NOW,
            lastSeenAt: NOW,
            expiresAt: NOW + 3600,
          });
          await s.grants.create(
            {
              id: `grant-${carol.id}`,
              clientId: 'app',
              userId: carol.id,
              scope: 'openid',
              resource: null,
              sid: null,
              authTime: NOW,
              amr: ['pwd'],
              createdAt: NOW,
              expiresAt: NOW + 86400,
              revokedAt: null,
            },
            {
              tokenHash: `rt-${carol.id}`,
              grantId: `grant-${carol.id}`,
              clientId: 'app',
              scope: 'openid',
              createdAt: NOW,
              expiresAt: NOW + 86400,
              usedAt: null,
            },
            { jti: `jti-${carol.id}`, expiresAt: NOW + 300 },
          );
        });
        assert.equal((await cli(['bootstrap', file])).code, 0); // same password: nothing ends
        assert.deepEqual(await access(carol), { session: true, grantLive: true, refreshLive: true });
        writeFileSync(file, ['users:', '  - username: carol', '    password: second pass phrase'].join('\n'));
        assert.equal((await cli(['bootstrap', file])).code, 0);
        assert.deepEqual(await access(carol), { session: false, grantLive: false, refreshLive: false });
      });

      it('point 2: provisioning refuses a name equal in canonical form or confusable with an existing one', async () => {
        const dup = await cli(['user', 'create', '--username', 'ＣＡＲＯＬ', '--password-stdin'], 'some pass phrase\n');
        assert.equal(dup.code, 1);
        assert.match(dup.err, /already exists \(as carol\)/);
        const lookalike = await cli(
          ['user', 'create', '--username', 'c\u0430rol', '--password-stdin'],
          'some pass phrase\n',
        );
        assert.equal(lookalike.code, 1);
        assert.match(lookalike.err, /looks like the existing user carol/);
        const invalid = await cli(
          ['user', 'create', '--username', 'bad\u200Bname', '--password-stdin'],
          'some pass phrase\n',
        );
        assert.equal(invalid.code, 1);
        assert.match(invalid.err, /invisible/);
      });

      it('point 28: one password policy (too common, equal to the username), and no silent password-less user', async () => {
        const common = await cli(['user', 'create', '--username', 'dave', '--password-stdin'], 'password123\n');
        assert.equal(common.code, 1);
        assert.match(common.err, /too common/);
        const same = await cli(['user', 'create', '--username', 'davidlong', '--password-stdin'], 'DavidLong\n');
        assert.equal(same.code, 1);
        assert.match(same.err, /must not be the username/);
        const none = await cli(['user', 'create', '--username', 'dave']);
        assert.equal(none.code, 2);
        assert.match(none.err, /--no-password/);
        assert.equal(await withStores((s) => s.users.findByUsername('dave')), undefined);
        const on = await cli(['user', 'create', '--username', 'dave', '--no-password']);
        assert.equal(on.code, 0, on.err);
        assert.match(on.err, /no password/);
        const weakFile = bootstrapFile('weak.yaml', ['users:', '  - username: erin', '    password: qwertyuiop']);
        const weak = await cli(['bootstrap', weakFile]);
        assert.equal(weak.code, 1);
        assert.match(weak.err, /too common/);
        const setWeak = await cli(['user', 'set-password', 'carol', '--password-stdin'], 'iloveyou\n');
        assert.equal(setWeak.code, 1);
        assert.match(setWeak.err, /too common/);
      });

      it('point 28: the bootstrap file refuses unknown keys, naming the nearest valid one, and applies nothing', async () => {
        const file = bootstrapFile('typo.yaml', [
          'clients:',
          '  - client_id: typo-app',
          '    token_endpoint_auth_method: none',
          '    redirect_uris: [https://typo.example/cb]',
          '    dpop_bound_access_token: true',
          'users:',
          '  - username: frank',
          '    pasword: frank pass phrase',
          'user:',
          '  - username: x',
        ]);
        const r = await cli(['bootstrap', file]);
        assert.equal(r.code, 1);
        assert.match(
          r.err,
          /clients\[0\] \(typo-app\): unknown key "dpop_bound_access_token" \(did you mean "dpop_bound_access_tokens"\?\)/,
        );
        assert.match(r.err, /users\[0\] \(frank\): unknown key "pasword" \(did you mean "password"\?\)/);
        assert.match(r.err, /top level: unknown key "user" \(did you mean "users"\?\)/);
        assert.equal(await withStores((s) => s.clients.get('typo-app')), undefined);
        assert.equal(await withStores((s) => s.users.findByUsername('frank')), undefined);
      });

      it('point 2: migration 0014 keeps existing collisions apart (no merge, no failure), reports them, and each still signs in by its exact name', async () => {
        // The store as it was before 0014, holding "Bob" and "bob" and an invalid name.
        await withStores(async (s) => {
          const { handle } = await openStores(config, { migrate: false });
          try {
            await m0014.down(handle.db);
            for (const [id, username, at] of [
              ['u-bob-1', 'Bob', NOW - 10],
              ['u-bob-2', 'bob', NOW - 5],
              ['u-bad', 'bad\u2122name', NOW],
            ] as const) {
              await handle.db
                .insertInto('users')
                .values({
                  id,
                  username,
                  password_hash: null,
                  email: null,
                  email_verified: 0,
                  name: null,
                  given_name: null,
                  family_name: null,
                  disabled: 0,
                  created_at: at,
                  updated_at: at,
                } as never)
                .execute();
            }
            await m0014.usernameCanonical(usernameKeys).up(handle.db);
          } finally {
            await handle.close();
          }
          void s;
        });
        await withStores(async (s) => {
          assert.equal((await s.users.findByUsername('Bob'))?.id, 'u-bob-1');
          assert.equal(
            (await s.users.findByUsername('bob'))?.id,
            'u-bob-2',
            'the duplicate signs in by its exact name',
          );
          assert.equal(
            (await s.users.findByUsername('BOB'))?.id,
            'u-bob-1',
            'other forms find the account that kept the canonical name',
          );
          assert.equal((await s.users.findByUsername('bad\u2122name'))?.id, 'u-bad');
          assert.equal(await s.users.get('victim-missing'), undefined);
          // An update of the duplicate keeps it apart (no unique violation).
          const dup = (await s.users.get('u-bob-2'))!;
          await s.users.put({ ...dup, email: 'bob2@example.com' });
          assert.equal((await s.users.findByUsername('bob'))?.email, 'bob2@example.com');
          // The warning every start-up logs (app.ts prepareStorage).
          const warning = (await usernameCollisionWarning(s))!;
          assert.match(warning, /^2 existing username\(s\) collide or are not valid/);
          assert.match(warning, /bob \(id u-bob-2\) is the same name as Bob \(id u-bob-1\)/);
          assert.match(warning, /tessera user collisions/);
        });
        const listed = await cli(['user', 'collisions', '--json']);
        assert.equal(listed.code, 1, listed.err);
        const rows = JSON.parse(listed.out) as { kind: string; username: string; id: string; with: { id: string }[] }[];
        assert.deepEqual(
          rows
            .filter((r) => r.kind !== 'confusable')
            .map((r) => [r.kind, r.id, r.with.map((w) => w.id)])
            .sort(),
          [
            ['duplicate', 'u-bob-2', ['u-bob-1']],
            ['invalid', 'u-bad', []],
          ],
        );
      });
    });
  }
});
