/**
 * The `tessera` command-line tool, run for real as a child process against a temporary SQLite
 * database and PostgreSQL (skipped with a reason when unreachable, unless CI requires it).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { saveClient } from '../../src/admin/clients.ts';
import { sql } from 'kysely';
import { verifyPassword } from '../../src/accounts/passwords.ts';
import { openStores } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { settings } from '../../src/config/settings.ts';
import type { Stores } from '../../src/ports/index.ts';
import { verifyClientSecret } from '../../src/protocol/client-auth/secret-hash.ts';
import { configKeks, generateSigningKey, loadKeyRing, unwrapPrivateJwk } from '../../src/protocol/tokens/keys.ts';
import { cliBackends, runCli, type CliResult } from '../fixtures/cli.ts';

const NOW = Math.floor(Date.now() / 1000);

/** Runs `script` (the CLI unless named) as runCli does. */
const run = (script: string, args: string[], env: Record<string, string>, input = '') =>
  runCli(args, env, input, script);

const secretOf = (out: string) => /^Client secret.*: (\S+)$/m.exec(out)?.[1];
const jsonBefore = (out: string) => JSON.parse(out.split(/^Client secret/m)[0]!);
const noStack = (r: CliResult) => assert.doesNotMatch(r.err, /^\s+at /m, `a stack trace was printed:\n${r.err}`);

function expectFail(r: CliResult, code: number, message: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.err}`);
  assert.match(r.err, message);
  noStack(r);
}

const backends = await cliBackends();

// The backends run side by side; the steps within each run in order.
describe('tessera CLI', { concurrency: true }, () => {
  for (const backend of backends) {
    describe(`on ${backend.name}`, { skip: backend.skip, concurrency: false }, () => {
      const env = { DATABASE_URL: backend.url };
      const config = loadConfig({ ...env, TESSERA_ENV: 'development' });
      const cli = (args: string[], input?: string) => run('src/cli/main.ts', args, env, input);
      const ok = async (args: string[], input?: string) => {
        const r = await cli(args, input);
        assert.equal(r.code, 0, `tessera ${args.join(' ')} failed: ${r.err}`);
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
      const addSession = (userId: string, idHash: string) =>
        withStores((s) =>
          s.sessions.create({
            idHash,
            sid: `sid-${idHash}`,
            userId,
            authTime: NOW,
            amr: ['pwd'],
            createdAt: NOW,
            lastSeenAt: NOW,
            expiresAt: NOW + 3600,
          }),
        );

      after(async () => {
        if (backend.url.startsWith('sqlite:'))
          rmSync(dirname(backend.url.slice('sqlite:'.length)), { recursive: true, force: true });
        else await backend.drop?.();
      });

      it('does not migrate by itself; migrate applies the schema once, then reports it up to date', async () => {
        expectFail(await cli(['client', 'list']), 1, /tessera migrate/);
        assert.match((await ok(['migrate'])).out, /applied migration 0001_initial/);
        assert.match((await ok(['migrate'])).out, /already up to date/);
      });

      it('client create prints the client and a secret (shown once) that authenticates', async () => {
        const r = await ok([
          'client',
          'create',
          '--id',
          'web',
          '--name',
          'Web app',
          '--redirect-uri',
          'https://app.example/cb',
          '--redirect-uri',
          'http://127.0.0.1:8080/cb',
          '--scope',
          'openid profile',
          '--skip-consent',
        ]);
        const created = jsonBefore(r.out);
        assert.equal(created.client_id, 'web');
        assert.equal(created.client_name, 'Web app');
        assert.deepEqual(created.redirect_uris, ['https://app.example/cb', 'http://127.0.0.1:8080/cb']);
        assert.equal(created.scope, 'openid profile');
        assert.equal(created.skip_consent, true);
        const secret = secretOf(r.out);
        assert.ok(secret && secret.length >= 32, 'a generated secret is printed');
        const stored = await withStores((s) => s.clients.get('web'));
        assert.ok(stored?.secretHash && !stored.secretHash.includes(secret), 'only a hash of the secret is stored');
        assert.ok(verifyClientSecret(config.secret, secret, stored.secretHash));

        const shown = (await ok(['client', 'show', 'web'])).out;
        assert.equal(JSON.parse(shown).client_id, 'web');
        assert.ok(
          !shown.includes(secret) && !shown.includes(stored.secretHash),
          'show never reveals the secret or its hash',
        );
        assert.deepEqual(
          Object.keys(JSON.parse(shown)).filter((k) => /secret|hash/.test(k)),
          [],
        );
        assert.match((await ok(['client', 'list'])).out, /^web\s+Web app\s+confidential web\s+client_secret_basic/m);
        assert.deepEqual(
          JSON.parse((await ok(['client', 'list', '--json'])).out).map((c: { client_id: string }) => c.client_id),
          ['web'],
        );
      });

      it('client rotate-secret prints a new secret once and invalidates the old one', async () => {
        const old = secretOf(
          (await ok(['client', 'create', '--id', 'rotating', '--grant', 'client_credentials'])).out,
        )!;
        const fresh = secretOf((await ok(['client', 'rotate-secret', 'rotating'])).out)!;
        assert.ok(fresh && fresh !== old);
        const { secretHash } = (await withStores((s) => s.clients.get('rotating')))!;
        assert.ok(verifyClientSecret(config.secret, fresh, secretHash));
        assert.ok(!verifyClientSecret(config.secret, old, secretHash), 'the old secret no longer authenticates');
        expectFail(await cli(['client', 'rotate-secret', 'nobody']), 1, /no client nobody/);
      });

      it('registration token create/list/revoke: printed once, stored hashed, with expiry and uses; client enable/disable', async () => {
        const r = await ok(['registration', 'token', 'create', '--expires-in', '3600', '--uses', '2']);
        const token = /^Initial access token.*: (\S+)$/m.exec(r.out)?.[1];
        assert.ok(token && token.length >= 43);
        const shown = JSON.parse(r.out.split(/^Initial access token/m)[0]!);
        assert.equal(shown.uses_left, 2);
        const stored = await withStores((s) => s.initialAccessTokens.list(Math.floor(Date.now() / 1000)));
        const mine = stored.find((t) => t.id === shown.id)!;
        assert.ok(mine && mine.tokenHash !== token && !JSON.stringify(stored).includes(token), 'only a hash is stored');
        assert.ok(Math.abs(mine.expiresAt - mine.createdAt - 3600) <= 1);
        const listed = (await ok(['registration', 'token', 'list'])).out;
        assert.match(listed, new RegExp(`^${shown.id.replace(/[-]/g, '\\-')}\\s+2\\s`, 'm'));
        assert.ok(!listed.includes(token));
        expectFail(await cli(['registration', 'token', 'create', '--uses', '0']), 1, /--uses/);
        expectFail(await cli(['registration', 'token', 'create', '--expires-in', 'soon']), 2, /whole number/);
        await ok(['registration', 'token', 'revoke', shown.id]);
        expectFail(await cli(['registration', 'token', 'revoke', shown.id]), 1, /no initial access token/);
        assert.equal(
          await withStores((s) => s.initialAccessTokens.find(mine.tokenHash, Math.floor(Date.now() / 1000))),
          undefined,
        );

        await ok(['client', 'create', '--id', 'pending', '--grant', 'client_credentials']);
        await ok(['client', 'disable', 'pending']);
        assert.equal((await withStores((s) => s.clients.get('pending')))!.disabled, true);
        assert.match((await ok(['client', 'enable', 'pending'])).out, /client pending enabled/);
        assert.equal((await withStores((s) => s.clients.get('pending')))!.disabled, false);
        expectFail(await cli(['client', 'enable', 'nobody']), 1, /no client nobody/);
      });

      it('client create --public makes a client without a secret', async () => {
        const r = await ok([
          'client',
          'create',
          '--id',
          'mobile',
          '--public',
          '--native',
          '--redirect-uri',
          'com.example.app:/cb',
        ]);
        assert.equal(secretOf(r.out), undefined);
        const c = jsonBefore(r.out);
        assert.equal(c.token_endpoint_auth_method, 'none');
        assert.equal(c.application_type, 'native');
        expectFail(await cli(['client', 'rotate-secret', 'mobile']), 1, /public/);
      });

      it('client create --fapi: only with private_key_jwt; shown in the client', async () => {
        expectFail(
          await cli(['client', 'create', '--id', 'fapi-secret', '--redirect-uri', 'https://bank.example/cb', '--fapi']),
          1,
          /FAPI 2.0 client must authenticate with private_key_jwt/,
        );
        const { publicKey } = await generateKeyPair('ES256', { extractable: true });
        const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-fapi-'));
        const file = join(dir, 'jwks.json');
        writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'f1' }] }));
        const c = jsonBefore(
          (
            await ok([
              'client',
              'create',
              '--id',
              'fapi-bank',
              '--auth-method',
              'private_key_jwt',
              '--jwks-file',
              file,
              '--redirect-uri',
              'https://bank.example/cb',
              '--fapi',
              '--fapi-message-signing',
            ])
          ).out,
        );
        assert.equal(c.fapi_profile, '2.0');
        assert.equal(c.fapi_message_signing, true);
        rmSync(dir, { recursive: true, force: true });
      });

      it('client create --pkce-optional: confidential clients only; shown in the client', async () => {
        expectFail(
          await cli([
            'client',
            'create',
            '--id',
            'pkce-public',
            '--public',
            '--redirect-uri',
            'https://legacy.example/cb',
            '--pkce-optional',
          ]),
          1,
          /confidential clients only/,
        );
        const c = jsonBefore(
          (
            await ok([
              'client',
              'create',
              '--id',
              'pkce-legacy',
              '--redirect-uri',
              'https://legacy.example/cb',
              '--pkce-optional',
            ])
          ).out,
        );
        assert.equal(c.pkce_required, false);
      });

      it('client create with keys: private_key_jwt from --jwks-file (public keys only), client_secret_jwt with its secret kept wrapped', async () => {
        const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
        const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-jwks-'));
        const pubFile = join(dir, 'pub.json');
        const privFile = join(dir, 'priv.json');
        writeFileSync(pubFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1' }] }));
        writeFileSync(privFile, JSON.stringify({ keys: [{ ...(await exportJWK(privateKey)), kid: 'k1' }] }));
        try {
          const r = await ok([
            'client',
            'create',
            '--id',
            'pkj',
            '--auth-method',
            'private_key_jwt',
            '--jwks-file',
            pubFile,
            '--auth-signing-alg',
            'ES256',
            '--grant',
            'client_credentials',
          ]);
          assert.equal(secretOf(r.out), undefined);
          const c = jsonBefore(r.out);
          assert.equal(c.token_endpoint_auth_method, 'private_key_jwt');
          assert.equal((c.jwks as { keys: { kid: string }[] }).keys[0]!.kid, 'k1');
          assert.equal(c.token_endpoint_auth_signing_alg, 'ES256');
          expectFail(
            await cli([
              'client',
              'create',
              '--id',
              'pkj-priv',
              '--auth-method',
              'private_key_jwt',
              '--jwks-file',
              privFile,
              '--grant',
              'client_credentials',
            ]),
            1,
            /private members/,
          );
          expectFail(
            await cli([
              'client',
              'create',
              '--id',
              'pkj-none',
              '--auth-method',
              'private_key_jwt',
              '--grant',
              'client_credentials',
            ]),
            1,
            /needs jwks or jwks_uri/,
          );
          expectFail(await cli(['client', 'rotate-secret', 'pkj']), 1, /no secret/);
          const csj = await ok([
            'client',
            'create',
            '--id',
            'csj',
            '--auth-method',
            'client_secret_jwt',
            '--grant',
            'client_credentials',
          ]);
          const secret = secretOf(csj.out)!;
          const stored = (await withStores((s) => s.clients.get('csj')))!;
          assert.ok(!JSON.stringify(stored).includes(secret), 'the secret is stored only wrapped and hashed');
          assert.ok(!(await ok(['client', 'show', 'csj'])).out.includes(stored.metadata.client_secret_jwe as string));
          await ok(['client', 'rotate-secret', 'csj']);
          assert.notEqual(
            (await withStores((s) => s.clients.get('csj')))!.metadata.client_secret_jwe,
            stored.metadata.client_secret_jwe,
            'rotation re-wraps the secret',
          );
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });

      it('client create refuses invalid redirect URIs and existing ids (exit 1), and bad usage (exit 2)', async () => {
        expectFail(
          await cli(['client', 'create', '--id', 'plain', '--redirect-uri', 'http://app.example/cb']),
          1,
          /loopback/,
        );
        expectFail(
          await cli(['client', 'create', '--id', 'frag', '--redirect-uri', 'https://app.example/cb#x']),
          1,
          /fragment/,
        );
        assert.equal(
          await withStores(async (s) => (await s.clients.get('plain')) ?? (await s.clients.get('frag'))),
          undefined,
        );
        expectFail(
          await cli(['client', 'create', '--id', 'web', '--redirect-uri', 'https://other.example/cb']),
          1,
          /already exists/,
        );
        assert.deepEqual(JSON.parse((await ok(['client', 'show', 'web'])).out).redirect_uris, [
          'https://app.example/cb',
          'http://127.0.0.1:8080/cb',
        ]);
        expectFail(await cli(['client', 'create', '--redirect-uri', 'https://app.example/cb']), 2, /--id is required/);
        expectFail(await cli(['client', 'create', '--id', 'x', '--bogus']), 2, /--bogus/);
        expectFail(await cli(['client', 'show']), 2, /expected ID/);
      });

      it('client delete removes the client; a second delete fails', async () => {
        await ok(['client', 'create', '--id', 'doomed', '--redirect-uri', 'https://app.example/cb']);
        assert.match((await ok(['client', 'delete', 'doomed'])).out, /deleted client doomed/);
        expectFail(await cli(['client', 'show', 'doomed']), 1, /no client doomed/);
        expectFail(await cli(['client', 'delete', 'doomed']), 1, /no client doomed/);
      });

      it('user create --password-stdin stores an argon2id hash of the password', async () => {
        const r = await ok(
          [
            'user',
            'create',
            '--username',
            'alice',
            '--email',
            'alice@example.com',
            '--name',
            'Alice',
            '--password-stdin',
          ],
          'correct horse battery\n',
        );
        const shown = JSON.parse(r.out);
        assert.equal(shown.username, 'alice');
        assert.equal(shown.has_password, true);
        assert.ok(!r.out.includes('argon2'), 'the hash is not printed');
        const user = (await withStores((s) => s.users.findByUsername('alice')))!;
        assert.ok(user.passwordHash?.startsWith('$argon2id$'));
        assert.ok(await verifyPassword('correct horse battery', user.passwordHash));
        expectFail(
          await cli(['user', 'create', '--username', 'alice', '--password-stdin'], 'another password\n'),
          1,
          /already exists/,
        );
        expectFail(await cli(['user', 'create', '--username', 'bob', '--password-stdin'], 'short\n'), 1, /at least 8/);
        expectFail(
          await cli(['user', 'create', '--username', 'bob', '--password-stdin', '--password', 'x']),
          2,
          /not both/,
        );
      });

      it('user create --password works but warns about shell history', async () => {
        const r = await ok(['user', 'create', '--username', 'bob', '--password', 'bob-password']);
        assert.match(r.err, /shell history/);
        assert.match((await ok(['user', 'list'])).out, /^bob\s+set\s+enabled/m);
      });

      it('user set-password replaces the hash and ends the sessions of the user', async () => {
        const before = (await withStores((s) => s.users.findByUsername('alice')))!;
        await addSession(before.id, 'alice-session-1');
        await ok(['user', 'set-password', 'alice', '--password-stdin'], 'a brand new password\n');
        const after = (await withStores((s) => s.users.findByUsername('alice')))!;
        assert.ok(after.passwordHash?.startsWith('$argon2id$') && after.passwordHash !== before.passwordHash);
        assert.ok(await verifyPassword('a brand new password', after.passwordHash));
        assert.equal(await withStores((s) => s.sessions.get('alice-session-1')), undefined);
        expectFail(await cli(['user', 'set-password', 'alice']), 2, /password-stdin/);
        expectFail(
          await cli(['user', 'set-password', 'nobody', '--password-stdin'], 'whatever-password\n'),
          1,
          /no user nobody/,
        );
      });

      it('user disable ends the sessions of the user; user enable restores the account', async () => {
        const alice = (await withStores((s) => s.users.findByUsername('alice')))!;
        await addSession(alice.id, 'alice-session-2');
        await ok(['user', 'disable', 'alice']);
        assert.equal((await withStores((s) => s.users.findByUsername('alice')))!.disabled, true);
        assert.equal(await withStores((s) => s.sessions.get('alice-session-2')), undefined);
        assert.match((await ok(['user', 'list'])).out, /^alice\s+alice@example.com\s+Alice\s+set\s+disabled/m);
        await ok(['user', 'enable', 'alice']);
        assert.equal((await withStores((s) => s.users.findByUsername('alice')))!.disabled, false);
        const listed = JSON.parse((await ok(['user', 'list', '--json'])).out);
        assert.deepEqual(
          listed.map((u: { username: string }) => u.username),
          ['alice', 'bob'],
        );
        assert.ok(!JSON.stringify(listed).includes('argon2'));
        expectFail(await cli(['user', 'disable', 'nobody']), 1, /no user nobody/);
      });

      it('keys list shows kid, algorithm, state and age, never private material', async () => {
        assert.match((await ok(['keys', 'list'])).out, /no signing keys yet/);
        const ring = await withStores((s) =>
          loadKeyRing(s.keys, config.keyEncryptionKey, config.signingAlg, NOW - 7200),
        );
        const record = ring.records[0]!;
        const table = (await ok(['keys', 'list'])).out;
        assert.match(table, /^KID\s+ALG\s+STATE\s+CREATED\s+AGE\s+ACTIVE_FROM\s+UNTIL/);
        assert.match(table, new RegExp(`^${record.kid}\\s+ES256\\s+active\\s+\\S+\\s+2h\\s+\\S+\\s+\\S+$`, 'm'));
        const listed = JSON.parse((await ok(['keys', 'list', '--json'])).out);
        assert.deepEqual(
          listed.map((k: { kid: string; state: string }) => [k.kid, k.state]),
          [[record.kid, 'active']],
        );
        for (const out of [table, JSON.stringify(listed)])
          assert.ok(!out.includes(record.privateJwe) && !/"d"/.test(out), 'no private key material');
      });

      it('keys rotate promotes the prepublished key; keys retire takes the old one out; both audited', async () => {
        const before = await withStores((s) => s.keys.list());
        const oldKid = before.find((k) => k.state === 'active')!.kid;
        const pre = await generateSigningKey('ES256', config.keyEncryptionKey, NOW, NOW + 86400);
        assert.equal(await withStores((s) => s.keys.prepublish(pre)), true);
        const rotated = (await ok(['keys', 'rotate'])).out;
        assert.match(rotated, new RegExp(`new active signing key ${pre.kid} \\(ES256, the prepublished key\\)`));
        const after = await withStores((s) => s.keys.list());
        assert.equal(after.find((k) => k.kid === pre.kid)!.state, 'active');
        assert.equal(after.find((k) => k.kid === oldKid)!.state, 'grace');
        // With no prepublished key, a new key is made (and the caching caveat is printed).
        const fresh = await ok(['keys', 'rotate', '--alg', 'ES256']);
        assert.match(fresh.out, /\(ES256, a new key\)/);
        assert.match(fresh.err, /cached the JWKS/);
        // Only an algorithm Tessera signs with (TESSERA_SIGNING_ALGS) is rotated.
        expectFail(
          await cli(['keys', 'rotate', '--alg', 'EdDSA']),
          1,
          /alg must be one of ES256, RS256 \(TESSERA_SIGNING_ALGS\)/,
        );
        expectFail(await cli(['keys', 'rotate', '--alg', 'HS256']), 2, /--alg must be/);
        assert.match((await ok(['keys', 'retire', '--', oldKid])).out, new RegExp(`retired signing key ${oldKid}`));
        assert.match((await ok(['keys', 'retire', '--', oldKid])).out, /was retired already/);
        expectFail(await cli(['keys', 'retire', '--', 'no-such-kid']), 1, /no signing key no-such-kid/);
        // kids are base64url: one that starts with '-' is read as an option unless '--' comes first
        expectFail(await cli(['keys', 'retire', '-Abc']), 2, /Unknown option '-A'/);
        const active = (await withStores((s) => s.keys.list())).find((k) => k.state === 'active')!;
        expectFail(await cli(['keys', 'retire', '--', active.kid]), 1, /is the active key: rotate first/);
        // Recorded by the keys actions (admin/actions/keys.ts) as the principal cli; refusals as failures.
        const audit = JSON.parse((await ok(['audit', 'list', '--type', 'key_rotated'])).out) as {
          actor: string;
          outcome: string;
          details: Record<string, unknown>;
        }[];
        assert.deepEqual(
          audit
            .filter((r) => r.outcome === 'success')
            .map((r) => [r.actor, r.details.kid, r.details.trigger, r.details.action, r.details.via]),
          [
            ['cli', pre.kid, 'manual', 'keys.rotate', 'cli'],
            ['cli', active.kid, 'manual', 'keys.rotate', 'cli'],
          ],
        );
        const retired = JSON.parse((await ok(['audit', 'list', '--type', 'key_retired'])).out) as {
          outcome: string;
          details: Record<string, unknown>;
        }[];
        assert.deepEqual(
          retired.filter((r) => r.outcome === 'success').map((r) => [r.details.kid, r.details.changed]),
          [
            [oldKid, true],
            [oldKid, false],
          ],
        );
        assert.equal(retired.filter((r) => r.outcome === 'failure').length, 2, 'the unknown and the active kid');
      });

      it('keys rewrap re-wraps every key under a new KEK with the previous one configured; idempotent; refuses unknown KEKs', async () => {
        const NEW_KEK = 'a-new-key-encryption-key-of-more-than-32-bytes';
        const rolled = {
          ...env,
          TESSERA_KEY_ENCRYPTION_KEY: NEW_KEK,
          TESSERA_KEY_ENCRYPTION_KEY_PREVIOUS: config.keyEncryptionKey,
        };
        const total = (await withStores((s) => s.keys.list())).length;
        assert.ok(total >= 3);
        // Not configured with the old KEK: refused, nothing changed.
        const stranger = await run('src/cli/main.ts', ['keys', 'rewrap'], {
          ...env,
          TESSERA_KEY_ENCRYPTION_KEY: NEW_KEK,
        });
        expectFail(stranger, 1, /cannot decrypt signing key\(s\) .* nothing was changed/);
        const first = await run('src/cli/main.ts', ['keys', 'rewrap'], rolled);
        assert.equal(first.code, 0, first.err);
        assert.match(
          first.out,
          new RegExp(
            `re-wrapped ${total} signing key\\(s\\) under TESSERA_KEY_ENCRYPTION_KEY; 0 already were \\(${total} in all\\)`,
          ),
        );
        const again = await run('src/cli/main.ts', ['keys', 'rewrap'], rolled);
        assert.match(again.out, new RegExp(`re-wrapped 0 signing key\\(s\\) .*; ${total} already were`));
        // Every key now opens under the new KEK alone, none under the old one.
        for (const k of await withStores((s) => s.keys.list())) {
          await unwrapPrivateJwk(NEW_KEK, k.privateJwe);
          await assert.rejects(unwrapPrivateJwk(config.keyEncryptionKey, k.privateJwe));
        }
        const same = await run('src/cli/main.ts', ['keys', 'list'], {
          ...env,
          TESSERA_KEY_ENCRYPTION_KEY: NEW_KEK,
          TESSERA_KEY_ENCRYPTION_KEY_PREVIOUS: NEW_KEK,
        });
        expectFail(same, 1, /TESSERA_KEY_ENCRYPTION_KEY_PREVIOUS: must differ/);
        const short = await run('src/cli/main.ts', ['keys', 'list'], {
          ...env,
          TESSERA_KEY_ENCRYPTION_KEY_PREVIOUS: 'short',
        });
        expectFail(short, 1, /TESSERA_KEY_ENCRYPTION_KEY_PREVIOUS: must be at least 32 bytes/);
        // Put the development KEK back for the steps that follow.
        const back = await run('src/cli/main.ts', ['keys', 'rewrap'], {
          ...env,
          TESSERA_KEY_ENCRYPTION_KEY_PREVIOUS: NEW_KEK,
        });
        assert.match(back.out, new RegExp(`re-wrapped ${total} signing key`));
        const rewrapped = JSON.parse((await ok(['audit', 'list', '--type', 'keys_rewrapped'])).out) as {
          details: Record<string, unknown>;
        }[];
        assert.deepEqual(
          rewrapped.map((r) => r.details.rewrapped),
          [total, total],
        );
      });

      it('bootstrap applies a file and is idempotent', async () => {
        const file = join(dirname(fileURLToPath(import.meta.url)), `.bootstrap-${backend.name}-${process.pid}.yaml`);
        writeFileSync(
          file,
          [
            'clients:',
            '  - client_id: svc',
            '    grant_types: [client_credentials]',
            'users:',
            '  - username: carol',
            '    password: carol-password',
            '    email: carol@example.com',
          ].join('\n'),
        );
        try {
          const first = (await ok(['bootstrap', file])).out;
          assert.match(first, /clients changed: 1\nusers changed: 1/);
          const secret = secretOf(first)!;
          assert.ok(
            verifyClientSecret(config.secret, secret, (await withStores((s) => s.clients.get('svc')))!.secretHash),
          );
          const second = (await ok(['bootstrap', file])).out;
          assert.match(second, /clients changed: 0\nusers changed: 0/);
          assert.equal(secretOf(second), undefined, 'no secret is generated again');
          expectFail(await cli(['bootstrap', `${file}.missing`]), 1, /cannot read/);
        } finally {
          rmSync(file, { force: true });
        }
      });

      it('records admin changes in the audit trail; audit list exports JSON and CSV without secrets', async () => {
        const all = JSON.parse((await ok(['audit', 'list'])).out) as {
          seq: number;
          type: string;
          actor: string;
          client_id: string | null;
          outcome: string;
          details: Record<string, unknown>;
          at: string;
        }[];
        const types = all.map((r) => r.type);
        for (const t of [
          'client_created',
          'client_secret_rotated',
          'client_deleted',
          'user_created',
          'user_password_set',
          'user_disabled',
          'user_enabled',
          'bootstrap_applied',
        ]) {
          assert.ok(types.includes(t), `${t} recorded in ${types.join(', ')}`);
        }
        // The commands run through an admin action record the principal cli (keys); the others 'admin'.
        assert.ok(all.every((r) => r.actor === 'admin' || (r.actor === 'cli' && r.details.via === 'cli')));
        assert.deepEqual(
          all.filter((r) => r.type === 'client_deleted' && r.outcome === 'success').map((r) => r.client_id),
          ['doomed'],
        );
        assert.deepEqual(
          all.map((r) => r.seq),
          all.map((_, i) => i + 1),
        );
        assert.ok(
          !JSON.stringify(all).includes('correct horse battery') && !JSON.stringify(all).includes('argon2'),
          'no password or hash',
        );

        const disabled = JSON.parse((await ok(['audit', 'list', '--type', 'user_disabled'])).out);
        assert.deepEqual(
          disabled.map((r: { details: { username: string } }) => r.details.username),
          ['alice'],
        );
        const latest = JSON.parse((await ok(['audit', 'list', '--limit', '2'])).out);
        assert.deepEqual(
          latest.map((r: { seq: number }) => r.seq),
          all.slice(-2).map((r) => r.seq),
        );
        const future = JSON.parse(
          (await ok(['audit', 'list', '--from', new Date(Date.now() + 3_600_000).toISOString()])).out,
        );
        assert.deepEqual(future, []);
        assert.equal(JSON.parse((await ok(['audit', 'list', '--to', all[0]!.at])).out).length, 0);

        const csv = (await ok(['audit', 'list', '--format', 'csv'])).out;
        const lines = csv.split('\r\n');
        assert.equal(lines[0], 'seq,at,type,actor,client_id,ip,outcome,details,prev_hash,hash');
        assert.equal(lines.at(-1), '', 'every row ends with CRLF');
        assert.equal(lines.length, all.length + 2);
        // details is JSON with commas and quotes: quoted, quotes doubled (RFC 4180)
        const created = lines.find((l) => l.includes(',user_created,'))!;
        assert.match(
          created,
          /,"\{""action"":""users\.create"",.*""principal"":""cli"",""user_id"":""[^"]+"",""username"":""alice"",""via"":""cli""\}",/,
        );

        expectFail(await cli(['audit', 'list', '--format', 'xml']), 2, /json or csv/);
        expectFail(await cli(['audit', 'list', '--from', 'yesterday']), 2, /ISO 8601/);
        expectFail(await cli(['audit', 'list', '--limit', '0']), 2, /positive integer/);
      });

      it('audit verify reports an intact chain, and names the first broken record (exit 1)', async () => {
        const intact = (await ok(['audit', 'verify'])).out;
        const n = Number(/^audit chain intact: (\d+) records$/m.exec(intact)?.[1]);
        assert.ok(n >= 8);
        const { handle } = await openStores(config, { migrate: false });
        try {
          await sql`update audit_events set actor = 'mallory' where seq = 3`.execute(handle.db);
        } finally {
          await handle.close();
        }
        expectFail(await cli(['audit', 'verify']), 1, /audit chain broken at record 3: hash does not match/);
      });

      it("user disable sends a back-channel logout token to each client of the user's sessions, signed with the server key", async () => {
        const received: URLSearchParams[] = [];
        const rp = createServer((req, res) => {
          let body = '';
          req.on('data', (c) => {
            body += c;
          });
          req.on('end', () => {
            received.push(new URLSearchParams(body));
            res.writeHead(200).end();
          });
        });
        await new Promise<void>((r) => rp.listen(0, '127.0.0.1', r));
        try {
          const uri = `http://127.0.0.1:${(rp.address() as AddressInfo).port}/bc`;
          const alice = (await withStores((s) => s.users.findByUsername('alice')))!;
          await withStores(async (s) => {
            await saveClient(
              s,
              config,
              {
                client_id: 'bc-cli',
                client_secret: 'bc-cli-secret-0123456789-abcdefghijkl',
                redirect_uris: ['https://bc.example/cb'],
                backchannel_logout_uri: uri,
              },
              NOW,
            );
            await s.sessions.addClient({
              sid: 'sid-cli-1',
              clientId: 'bc-cli',
              userId: alice.id,
              createdAt: NOW,
              expiresAt: NOW + 3600,
            });
          });
          // The signing keys the server makes when it starts, one per algorithm (the CLI signs with them, never makes
          // them).
          await withStores((s) => loadKeyRing(s.keys, configKeks(config), config.signingAlgs, NOW));
          await ok(['user', 'disable', 'alice']);
          assert.equal(received.length, 1);
          const token = received[0]!.get('logout_token')!;
          const jwks = createLocalJWKSet(
            JSON.parse(
              (
                await withStores((s) => loadKeyRing(s.keys, config.keyEncryptionKey, config.signingAlg, NOW))
              ).jwksBody.toString(),
            ),
          );
          const { payload, protectedHeader } = await jwtVerify(token, jwks, { audience: 'bc-cli', typ: 'logout+jwt' });
          assert.equal(protectedHeader.typ, 'logout+jwt');
          assert.equal(payload.sid, 'sid-cli-1');
          assert.equal(payload.sub, alice.id);
          assert.deepEqual(await withStores((s) => s.sessions.takeClientsByUser(alice.id)), []);
          // The delivery's audit record was written before the command ended.
          const delivered = await withStores((s) => s.audit.query({ type: 'backchannel_logout_delivered' }));
          assert.ok(
            delivered.some((r) => r.clientId === 'bc-cli'),
            'the delivery is in the audit trail',
          );
          await ok(['user', 'enable', 'alice']);
        } finally {
          rp.close();
        }
      });
    });
  }

  describe('without a database', { concurrency: false }, () => {
    const cli = (args: string[], env: Record<string, string> = {}) =>
      run('src/cli/main.ts', args, { DATABASE_URL: 'sqlite::memory:', ...env });

    it('config check passes in development, printing the warnings', async () => {
      const r = await cli(['config', 'check']);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /warning: TESSERA_SECRET is the development default/);
      assert.match(r.out, /configuration OK \(development mode\)/);
    });

    it('config check fails in production with missing secrets (exit 2)', async () => {
      const r = await cli(['config', 'check'], { TESSERA_ENV: 'production', TESSERA_ISSUER: 'https://id.example.com' });
      assert.equal(r.code, 2);
      assert.match(r.out, /TESSERA_SECRET: required in production/);
      assert.match(r.out, /TESSERA_KEY_ENCRYPTION_KEY/);
      noStack(r);
    });

    it('other commands refuse an invalid configuration in one line (exit 1)', async () => {
      const r = await cli(['client', 'list'], { TESSERA_ENV: 'production' });
      expectFail(r, 1, /^tessera: invalid configuration: .*TESSERA_SECRET/);
      assert.equal(r.err.trim().split('\n').length, 1);
    });

    it('config docs prints a Markdown table of every setting', async () => {
      const r = await cli(['config', 'docs']);
      assert.equal(r.code, 0);
      const lines = r.out.trim().split('\n');
      assert.equal(lines[0], '| Variable | File key | Default | Description |');
      assert.equal(lines.length, settings.length + 2);
      for (const s of settings)
        assert.ok(
          lines.some((l) => l.startsWith(`| \`${s.env}\` | \`${s.key}\` |`)),
          `${s.env} is documented`,
        );
    });

    it('help prints the usage (exit 0); an unknown command prints it with exit 2', async () => {
      for (const args of [['help'], ['--help'], ['client', 'create', '--help']]) {
        const r = await cli(args);
        assert.equal(r.code, 0);
        assert.match(r.out, /tessera client create --id ID/);
      }
      for (const args of [['frobnicate'], ['client', 'frobnicate'], ['client'], []]) {
        const r = await cli(args);
        assert.equal(r.code, 2, `tessera ${args.join(' ')}`);
        assert.match(r.err, /Usage: tessera <command>/);
      }
    });

    it('bin/tessera.js launches the CLI', async () => {
      const r = await run('bin/tessera.js', ['help'], {});
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /Usage: tessera <command>/);
    });
  });
});
