/**
 * Operators' actions on accounts (issue 16), for real: the `tessera` CLI as a child process and the
 * bootstrap file, on a SQLite file and on PostgreSQL (required in CI).
 */
import { openVars } from '../../src/adapters/mail/sealed-vars.ts';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { regenerateRecoveryCodes } from '../../src/accounts/recovery-codes.ts';
import { beginTotp } from '../../src/accounts/totp.ts';
import { createUser } from '../../src/accounts/users.ts';
import { saveClient } from '../../src/admin/clients.ts';
import { openStores } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { Stores, UserRecord } from '../../src/ports/index.ts';
import { loginRetryAfter, recordLoginFailure } from '../../src/protocol/interaction/login-throttle.ts';
import { configKeks, loadKeyRing } from '../../src/protocol/tokens/keys.ts';
import { cliBackends, runCli } from '../fixtures/cli.ts';

const NOW = Math.floor(Date.now() / 1000);
const backends = await cliBackends();

describe('operators: tessera user ... for second factors, throttling, email and sessions', {
  concurrency: true,
}, () => {
  for (const backend of backends) {
    describe(`on ${backend.name}`, { skip: backend.skip, concurrency: false }, () => {
      const env = { DATABASE_URL: backend.url };
      const config = loadConfig({ ...env, TESSERA_ENV: 'development' });
      const dir = mkdtempSync(join(tmpdir(), 'tessera-operators-'));
      const cli = (args: string[]) => runCli(args, env);
      const ok = async (args: string[]) => {
        const r = await cli(args);
        assert.equal(r.code, 0, `tessera ${args.join(' ')}: ${r.err}`);
        return r.out;
      };
      const withStores = async <T>(fn: (s: Stores) => Promise<T>): Promise<T> => {
        const { stores } = await openStores(config, { migrate: false });
        try {
          return await fn(stores);
        } finally {
          await stores.close();
        }
      };
      const userNamed = (name: string) => withStores(async (s) => (await s.users.findByUsername(name))!);
      const audits = (type: string) => withStores((s) => s.audit.query({ type, limit: 100 }));
      const signUp = (username: string, email?: string): Promise<UserRecord> =>
        withStores(async (s) => {
          const r = await createUser(s, { username, password: 'a long pass phrase here', email }, NOW, {
            origin: 'signup',
          });
          assert.ok('user' in r, JSON.stringify(r));
          return r.user;
        });
      const session = (s: Stores, user: UserRecord, n: number, amr: string[]) =>
        s.sessions.create({
          idHash: `sess-${user.id}-${n}`,
          sid: `sid-${user.id}-${n}`,
          userId: user.id,
          authTime: NOW - 100 + n,
          amr,
          createdAt: NOW - 100 + n,
          lastSeenAt: NOW - 10 + n,
          expiresAt: NOW + 3600,
        });

      /** A relying party's back-channel logout endpoint; the logout tokens it received, verified. */
      const relyingParty = async (clientId: string) => {
        const received: string[] = [];
        const rp = createServer((req, res) => {
          let body = '';
          req.on('data', (c) => {
            body += c;
          });
          req.on('end', () => {
            received.push(new URLSearchParams(body).get('logout_token')!);
            res.writeHead(200).end();
          });
        });
        await new Promise<void>((r) => rp.listen(0, '127.0.0.1', r));
        // The signing keys the server makes when it starts (the CLI signs logout tokens with them, never makes them).
        await withStores((s) => loadKeyRing(s.keys, configKeks(config), config.signingAlgs, NOW));
        await withStores((s) =>
          saveClient(
            s,
            config,
            {
              client_id: clientId,
              client_secret: `${clientId}-secret-0123456789-abcdefghijkl`,
              redirect_uris: ['https://rp.example/cb'],
              backchannel_logout_uri: `http://127.0.0.1:${(rp.address() as AddressInfo).port}/bc`,
            },
            NOW,
          ),
        );
        return {
          close: () => rp.close(),
          async tokens() {
            const ring = await withStores((s) => loadKeyRing(s.keys, configKeks(config), config.signingAlgs, NOW));
            const jwks = createLocalJWKSet(JSON.parse(ring.jwksBody.toString()));
            return Promise.all(
              received.map(async (t) => (await jwtVerify(t, jwks, { audience: clientId, typ: 'logout+jwt' })).payload),
            );
          },
        };
      };

      after(async () => {
        rmSync(dir, { recursive: true, force: true });
        if (backend.url.startsWith('sqlite:'))
          rmSync(dirname(backend.url.slice('sqlite:'.length)), { recursive: true, force: true });
        else await backend.drop?.();
      });

      it('migrates', async () => {
        await ok(['migrate']);
      });

      it("bootstrap users accept mfa_required and email_verified; an operator's change stays until the file says otherwise", async () => {
        const file = join(dir, 'bootstrap.yaml');
        writeFileSync(
          file,
          [
            'users:',
            '  - username: boss',
            '    email: boss@example.com',
            '    email_verified: true',
            '    mfa_required: true',
            "    password: 'a long pass phrase here'",
            '  - username: plain',
            "    password: 'a long pass phrase here'",
          ].join('\n'),
        );
        await ok(['bootstrap', file]);
        let boss = await userNamed('boss');
        assert.equal(boss.emailVerified, true);
        assert.equal(boss.mfaRequired, true);
        assert.equal((await userNamed('plain')).mfaRequired ?? false, false);
        const set = await audits('mfa_required_set');
        assert.deepEqual(
          set.map((a) => [a.actor, a.details]),
          [['admin', { user_id: boss.id, required: true, source: 'bootstrap' }]],
        );
        // Applying the file again changes nothing; `plain` required by an operator stays required.
        await ok(['user', 'require-mfa', 'plain']);
        await ok(['bootstrap', file]);
        assert.equal((await userNamed('plain')).mfaRequired, true);
        assert.equal((await audits('mfa_required_set')).length, 2);
        // A key the file does not know is refused, naming the nearest.
        writeFileSync(file, ['users:', '  - username: boss', '    mfa_requried: true'].join('\n'));
        const r = await cli(['bootstrap', file]);
        assert.equal(r.code, 1);
        assert.match(r.err, /unknown key "mfa_requried" \(did you mean "mfa_required"\?\)/);
        boss = await userNamed('boss');
        assert.equal(boss.mfaRequired, true);
      });

      it('require-mfa and require-mfa --off set users.mfa_required, audited; nothing to change is said (and recorded as unchanged)', async () => {
        const carol = await signUp('carol');
        assert.match(await ok(['user', 'require-mfa', 'carol']), /a second factor is now required of carol/);
        assert.equal((await userNamed('carol')).mfaRequired, true);
        assert.match(await ok(['user', 'require-mfa', 'carol']), /nothing to change/);
        const listed = JSON.parse(await ok(['user', 'list', '--json'])) as {
          username: string;
          mfa_required: boolean;
        }[];
        assert.equal(listed.find((u) => u.username === 'carol')?.mfa_required, true);
        assert.match(await ok(['user', 'require-mfa', 'carol', '--off']), /no longer required/);
        assert.equal((await userNamed('carol')).mfaRequired ?? false, false);
        // The action users.require-mfa records each call; the one that changed nothing says so.
        const mine = (await audits('mfa_required_set')).filter((a) => a.details.user_id === carol.id);
        assert.deepEqual(
          mine.map((a) => [a.actor, a.details.required, a.details.changed]),
          [
            ['cli', true, true],
            ['cli', true, false],
            ['cli', false, true],
          ],
        );
        const r = await cli(['user', 'require-mfa', 'nobody']);
        assert.equal(r.code, 1);
        assert.match(r.err, /no user nobody/);
      });

      it("verify-email marks the address verified, audited as the operator's; an account without an address is refused", async () => {
        const dave = await signUp('dave', 'dave@example.com');
        assert.equal(dave.emailVerified, false);
        assert.match(await ok(['user', 'verify-email', 'Dave']), /email address of dave is marked verified/);
        assert.equal((await userNamed('dave')).emailVerified, true);
        assert.match(await ok(['user', 'verify-email', 'dave']), /already verified/);
        const records = (await audits('email_verified')).filter((a) => a.details.user_id === dave.id);
        assert.deepEqual(
          records.map((a) => [a.actor, a.details.by, a.details.changed]),
          [
            ['cli', 'operator', true],
            ['cli', 'operator', false],
          ],
        );
        await signUp('noemail');
        const r = await cli(['user', 'verify-email', 'noemail']);
        assert.equal(r.code, 1);
        assert.match(r.err, /has no email address/);
      });

      it('reset-factors removes every factor and recovery code, ends the sessions (back-channel logout) and is audited', async () => {
        const erin = await signUp('erin', 'erin@example.com');
        await withStores(async (s) => s.users.put({ ...(await s.users.get(erin.id))!, emailVerified: true }));
        const other = await signUp('frank');
        const keks = {
          keyEncryptionKey: config.keyEncryptionKey,
          keyEncryptionKeyPrevious: config.keyEncryptionKeyPrevious,
        };
        const rp = await relyingParty('rp-reset');
        try {
          await withStores(async (s) => {
            for (const u of [erin, other]) {
              await beginTotp(s, keks, u, 'Tessera', NOW);
              await regenerateRecoveryCodes(s, keks, u.id, NOW);
            }
            await s.factors.create({
              ...(await s.factors.listByUser(erin.id))[0]!,
              id: `passkey-${erin.id}`,
              kind: 'passkey',
              secret: null,
              credentialId: `cred-${erin.id}`,
              publicKey: 'pk',
            });
            await session(s, erin, 1, ['pwd', 'otp', 'mfa']);
            for (const u of [erin, other])
              await s.signIns.rememberDevice({
                idHash: `device-${u.id}`,
                userId: u.id,
                createdAt: NOW,
                expiresAt: NOW + 86400,
              });
            await s.sessions.addClient({
              sid: `sid-${erin.id}-1`,
              clientId: 'rp-reset',
              userId: erin.id,
              createdAt: NOW,
              expiresAt: NOW + 3600,
            });
          });
          const out = await ok(['user', 'reset-factors', 'erin']);
          assert.match(
            out,
            /removed 2 second factor\(s\) and the recovery codes of erin, forgot 1 remembered browser\(s\); their sessions \(1\) are ended/,
          );
          await withStores(async (s) => {
            assert.deepEqual(await s.factors.listByUser(erin.id), []);
            assert.equal(await s.factors.countRecoveryCodes(erin.id), 0);
            assert.deepEqual(await s.sessions.listByUser(erin.id), []);
            // Another user's are untouched.
            assert.equal((await s.factors.listByUser(other.id)).length, 1);
            assert.equal(await s.factors.countRecoveryCodes(other.id), 10);
            assert.equal(await s.signIns.isRememberedDevice(`device-${erin.id}`, erin.id, NOW), false);
            assert.equal(await s.signIns.isRememberedDevice(`device-${other.id}`, other.id, NOW), true);
          });
          const [logout] = await rp.tokens();
          assert.equal(logout?.sub, erin.id);
          assert.equal(logout?.sid, `sid-${erin.id}-1`);
          const records = (await audits('mfa_reset')).filter((a) => a.details.user_id === erin.id);
          assert.equal(records.length, 1);
          assert.equal(records[0]!.actor, 'cli');
          // The action's record names each factor removed, and the owner is told once per kind.
          assert.deepEqual(
            String(records[0]!.details.factor_ids)
              .split(' ')
              .map((f) => f.split(':')[0])
              .sort(),
            ['passkey', 'totp'],
          );
          const mails = (await withStores((s) => s.mailOutbox.claim('test', NOW + 3600, 100, 60))).filter(
            (m) => m.to === 'erin@example.com',
          );
          // The values wait sealed under the key-encryption key (adapters/mail/sealed-vars.ts).
          const opened = await Promise.all(mails.map(async (m) => ({ ...m, vars: await openVars(config, m.vars) })));
          assert.deepEqual(opened.map((m) => [m.template, m.vars.kind, m.userId]).sort(), [
            ['factor-removed', 'passkey', erin.id],
            ['factor-removed', 'totp', erin.id],
          ]);
        } finally {
          rp.close();
        }
      });

      it("unlock clears the account's password and second-factor counters, not the source's nor another account's", async () => {
        const gina = await signUp('gina');
        const other = await signUp('hank');
        const deps = { now: () => NOW, config, stores: {} as { counters: Stores['counters'] } };
        await withStores(async (s) => {
          deps.stores = { counters: s.counters };
          for (let i = 0; i < config.loginMaxFailures + 2; i++) {
            await recordLoginFailure(deps, 'Gina', '203.0.113.7');
            await recordLoginFailure(deps, 'hank', '203.0.113.7');
          }
          await recordLoginFailure(deps, 'gina', '198.51.100.1');
          await s.counters.hit(`factor:${gina.id}`, NOW, 900);
          await s.counters.hit(`factor:${other.id}`, NOW, 900);
          assert.ok((await loginRetryAfter(deps, 'gina', '203.0.113.7')) > 0);
        });
        // The user counter, two pair counters and the second-factor counter (the key second-factor.ts counts under).
        assert.match(await ok(['user', 'unlock', 'gina']), /cleared 4 failure counter\(s\) of gina/);
        await withStores(async (s) => {
          deps.stores = { counters: s.counters };
          assert.equal(await s.counters.get(`factor:${gina.id}`, NOW), undefined);
          assert.ok(await s.counters.get(`factor:${other.id}`, NOW));
          assert.ok((await loginRetryAfter(deps, 'hank', '203.0.113.7')) > 0, 'another account stays throttled');
          // Gina from a new address is free; the source counter of the shared address stays.
          assert.equal(await loginRetryAfter(deps, 'gina', '192.0.2.9'), 0);
          assert.equal((await s.counters.get('login:ip:203.0.113.7', NOW))?.count, 2 * (config.loginMaxFailures + 2));
        });
        const records = (await audits('user_unlocked')).filter((a) => a.details.user_id === gina.id);
        assert.deepEqual(
          records.map((a) => a.actor),
          ['cli'],
        );
      });

      it('sessions lists the live sessions (created, last seen, amr); end-sessions ends them all with back-channel logout, audited, and forgets remembered browsers', async () => {
        const ivy = await signUp('ivy');
        const rp = await relyingParty('rp-end');
        try {
          await withStores(async (s) => {
            await s.signIns.rememberDevice({
              idHash: `device-${ivy.id}`,
              userId: ivy.id,
              createdAt: NOW,
              expiresAt: NOW + 86400,
            });
            await session(s, ivy, 1, ['pwd']);
            await session(s, ivy, 2, ['hwk', 'user', 'mfa']);
            await s.sessions.addClient({
              sid: `sid-${ivy.id}-2`,
              clientId: 'rp-end',
              userId: ivy.id,
              createdAt: NOW,
              expiresAt: NOW + 3600,
            });
          });
          const table = await ok(['user', 'sessions', 'ivy']);
          assert.match(table, /SID +CREATED +LAST_SEEN +AMR/);
          assert.match(table, new RegExp(`sid-${ivy.id}-1 .* pwd`));
          assert.match(table, new RegExp(`sid-${ivy.id}-2 .* hwk user mfa`));
          const listed = JSON.parse(await ok(['user', 'sessions', 'ivy', '--json'])) as Record<string, unknown>[];
          assert.deepEqual(
            listed.map((x) => [x.sid, x.amr, x.created_at]),
            [
              [`sid-${ivy.id}-2`, ['hwk', 'user', 'mfa'], new Date((NOW - 98) * 1000).toISOString()],
              [`sid-${ivy.id}-1`, ['pwd'], new Date((NOW - 99) * 1000).toISOString()],
            ],
          );
          assert.ok(
            listed.every((x) => !JSON.stringify(x).includes('sess-')),
            'never the cookie hash',
          );

          assert.match(await ok(['user', 'end-sessions', 'ivy']), /ended 2 session\(s\) of ivy/);
          assert.match(await ok(['user', 'sessions', 'ivy']), /\(no sessions\)/);
          assert.equal(await withStores((s) => s.signIns.isRememberedDevice(`device-${ivy.id}`, ivy.id, NOW)), false);
          const tokens = await rp.tokens();
          assert.deepEqual(
            tokens.map((t) => [t.sub, t.sid]),
            [[ivy.id, `sid-${ivy.id}-2`]],
          );
          const records = (await audits('sessions_ended')).filter((a) => a.details.user_id === ivy.id);
          assert.deepEqual(
            records.map((a) => [a.actor, a.details.count, a.details.by]),
            [['cli', 2, 'operator']],
          );
        } finally {
          rp.close();
        }
      });

      it('set-password forgets the browsers remembered after a second factor', async () => {
        const jack = await signUp('jack');
        await withStores((s) =>
          s.signIns.rememberDevice({
            idHash: `device-${jack.id}`,
            userId: jack.id,
            createdAt: NOW,
            expiresAt: NOW + 86400,
          }),
        );
        const r = await runCli(['user', 'set-password', 'jack', '--password-stdin'], env, 'another long pass phrase\n');
        assert.equal(r.code, 0, r.err);
        assert.equal(await withStores((s) => s.signIns.isRememberedDevice(`device-${jack.id}`, jack.id, NOW)), false);
      });

      it('help lists the new commands', async () => {
        const out = await ok(['help']);
        for (const c of ['reset-factors', 'unlock', 'verify-email', 'require-mfa', 'sessions', 'end-sessions'])
          assert.match(out, new RegExp(`tessera user ${c} USERNAME`));
      });
    });
  }
});
