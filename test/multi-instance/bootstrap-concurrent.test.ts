/**
 * Issue 13 point 27: instances applying one bootstrap file at once on one database give the same
 * result as one application. Two real `tessera bootstrap` processes start together on a SQLite file
 * and on PostgreSQL; Stores.exclusive (a lease row on SQLite, an advisory lock on PostgreSQL) makes
 * them take turns: one applies, the other finds nothing to change. No duplicate rows, no second
 * bootstrap_applied record, and every generated client secret printed is the stored one.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { verifyPassword } from '../../src/accounts/passwords.ts';
import { openStores } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { verifyClientSecret } from '../../src/protocol/client-auth/secret-hash.ts';
import { cliBackends, runCli } from '../fixtures/cli.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLIENTS = 3;
// Enough Argon2id hashing that the two applications overlap in time however the processes start.
const USERS = 8;

const bootstrapProcess = (file: string, databaseUrl: string) =>
  runCli(['bootstrap', file], { DATABASE_URL: databaseUrl });

/**
 * A start-up's preparation (bootstrap-worker.ts): all loaded, then released with the other at once by the gate file.
 */
async function startups(
  file: string,
  databaseUrl: string,
  dir: string,
): Promise<{ clients: number; users: number; banner: string }[]> {
  const gate = join(dir, 'gate');
  let exited = 0;
  const children = [0, 1].map(
    (i) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [join(ROOT, 'test/multi-instance/bootstrap-worker.ts'), gate, join(dir, `ready-${i}`)],
          {
            cwd: ROOT,
            env: {
              PATH: process.env.PATH ?? '',
              TESSERA_ENV: 'development',
              DATABASE_URL: databaseUrl,
              TESSERA_BOOTSTRAP_FILE: file,
              TESSERA_SEED_DEMO: 'false',
            },
          },
        );
        let out = '';
        let err = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
        });
        child.stderr.setEncoding('utf8').on('data', (d: string) => {
          err += d;
        });
        child.on('error', reject).on('close', (code) => {
          exited++;
          resolve({ code, out, err });
        });
      }),
  );
  // A worker that dies before it is ready (a bad database, a failed migration) ends the wait with its error, not a
  // hang.
  const deadline = Date.now() + 60_000;
  while (![0, 1].every((i) => existsSync(join(dir, `ready-${i}`)))) {
    if (exited > 0 || Date.now() > deadline) {
      writeFileSync(gate, '');
      const done = await Promise.all(children);
      assert.fail(`a start-up never got ready: ${done.map((r) => `exit ${r.code}: ${r.err}`).join(' | ')}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  writeFileSync(gate, '');
  const results = await Promise.all(children);
  for (const r of results) assert.equal(r.code, 0, `a start-up failed: ${r.err}`);
  return results.map((r) => JSON.parse(r.out));
}

const backends = await cliBackends('SQLite file');

describe('bootstrap applied by two processes at once', { concurrency: true }, () => {
  for (const backend of backends) {
    it(`on ${backend.name}: two start-ups, then two bootstrap commands: each the same result as one application`, {
      skip: backend.skip,
    }, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tessera-bootstrap-'));
      const config = loadConfig({ TESSERA_ENV: 'development', DATABASE_URL: backend.url });
      after(async () => {
        rmSync(dir, { recursive: true, force: true });
        if (backend.url.startsWith('sqlite:'))
          rmSync(dirname(backend.url.slice('sqlite:'.length)), { recursive: true, force: true });
        else await backend.drop?.();
      });
      await (await openStores(config, { migrate: true })).stores.close();
      const file = join(dir, 'bootstrap.yaml');
      // Clients without a secret get one generated: were both processes to apply the file, the one
      // printed first would not be the one stored.
      writeFileSync(
        file,
        [
          'clients:',
          ...Array.from({ length: CLIENTS }, (_, i) => [
            `  - client_id: svc-${i}`,
            '    grant_types: [client_credentials]',
            '    redirect_uris: []',
          ]).flat(),
          'users:',
          ...Array.from({ length: USERS }, (_, i) => [
            `  - username: user${i}`,
            `    password: pass phrase number ${i}`,
            `    email: user${i}@example.com`,
          ]).flat(),
        ].join('\n'),
      );

      // Two server start-ups at once, released together after loading: one applies the file.
      const starts = await startups(file, backend.url, dir);
      assert.deepEqual(
        starts.map((r) => `${r.clients}/${r.users}`).sort(),
        ['0/0', `${CLIENTS}/${USERS}`],
        'one start-up applied the file, the other found nothing to change',
      );
      const started = starts.flatMap((r) =>
        [...r.banner.matchAll(/^ {2}(svc-\d+) {2}(\S+)$/gm)].map((m) => [m[1]!, m[2]!] as const),
      );
      assert.equal(started.length, CLIENTS, 'each generated secret is printed once');
      {
        const { stores } = await openStores(config, { migrate: false });
        try {
          for (const [id, secret] of started)
            assert.ok(
              verifyClientSecret(config.secret, secret, (await stores.clients.get(id))!.secretHash!),
              `the printed secret of ${id} is the stored one`,
            );
          assert.equal((await stores.users.list()).length, USERS);
          assert.equal(
            (await stores.audit.query({ type: 'bootstrap_applied' })).length,
            1,
            'one record of the changes, not two',
          );
          // One signing key per configured algorithm (TESSERA_SIGNING_ALGS), not one per start-up.
          const keys = await stores.keys.list();
          assert.deepEqual(
            keys.map((k) => k.alg).sort(),
            [...config.signingAlgs].sort(),
            'one signing key per algorithm',
          );
        } finally {
          await stores.close();
        }
      }

      // Then two `tessera bootstrap` commands at once, with the client and user names changed.
      writeFileSync(
        file,
        readFileSync(file, 'utf8')
          .replace(/svc-/g, 'cli-')
          .replace(/username: user/g, 'username: cli-user'),
      );
      const runs = await Promise.all([bootstrapProcess(file, backend.url), bootstrapProcess(file, backend.url)]);
      for (const r of runs) assert.equal(r.code, 0, `a process failed: ${r.err}`);
      const counts = runs
        .map((r) => /clients changed: (\d+)\nusers changed: (\d+)/.exec(r.out)!.slice(1).join('/'))
        .sort();
      assert.deepEqual(
        counts,
        ['0/0', `${CLIENTS}/${USERS}`],
        'one process applied the file, the other found nothing to change',
      );
      const secrets = runs.flatMap((r) =>
        [...r.out.matchAll(/^Client secret of (\S+) \(shown only once, store it safely\): (\S+)$/gm)].map(
          (m) => [m[1]!, m[2]!] as const,
        ),
      );
      assert.equal(secrets.length, CLIENTS, 'each generated secret is printed once');

      const { stores } = await openStores(config, { migrate: false });
      try {
        const clients = (await stores.clients.list()).filter((c) => c.clientId.startsWith('cli-'));
        assert.equal(clients.length, CLIENTS);
        for (const [id, secret] of secrets)
          assert.ok(
            verifyClientSecret(config.secret, secret, clients.find((c) => c.clientId === id)!.secretHash!),
            `the printed secret of ${id} is the stored one`,
          );
        const users = (await stores.users.list()).filter((u) => u.username.startsWith('cli-'));
        assert.equal(users.length, USERS);
        for (let i = 0; i < USERS; i++)
          assert.ok(
            await verifyPassword(
              `pass phrase number ${i}`,
              users.find((u) => u.username === `cli-user${i}`)!.passwordHash,
            ),
          );
        const audit = await stores.audit.query({ type: 'bootstrap_applied' });
        assert.equal(audit.length, 2, 'one record of the changes per file, not two');
        assert.deepEqual(audit[1]!.details, { clients_changed: CLIENTS, users_changed: USERS, resources_changed: 0 });
        assert.equal((await stores.audit.verify()).ok, true);
      } finally {
        await stores.close();
      }
      // The lease is released: a third application runs at once and changes nothing.
      const third = await bootstrapProcess(file, backend.url);
      assert.equal(third.code, 0, third.err);
      assert.match(third.out, /clients changed: 0\nusers changed: 0/);
    });
  }
});
