/**
 * Storage faults with the real server process: the SQLite file on a file system that fills up (a
 * tmpfs mounted for the test; the test needs root, as CI has, and fails rather than skips without
 * it), and a PostgreSQL database turned read-only (default_transaction_read_only, as a standby
 * after a failover or a full-disk guard would be).
 *
 * What must hold: requests that write are answered 503 temporarily_unavailable with Retry-After
 * (never a 500), the log names the original cause once (not SQLite's "cannot rollback - no
 * transaction is active"), /ready says why the database is not usable, and once space is freed
 * (or writes allowed again) Tessera serves again without a restart, having lost nothing answered 200.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { createPgDatabase, pgAdminUrl } from '../fixtures/db.ts';
import type { RunningServer } from '../fixtures/server.ts';
import {
  base,
  Agent,
  clientCredentials,
  introspect,
  makeChains,
  pkce,
  REDIRECT,
  refresh,
  startInstance,
  until,
  type Answer,
} from './support.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes `file` until the file system says ENOSPC, in big then small pieces; returns the bytes written. */
function fillUp(file: string): number {
  const fd = openSync(file, 'w');
  let written = 0;
  try {
    for (const size of [1 << 20, 4096, 512]) {
      const chunk = Buffer.alloc(size, 1);
      for (;;) {
        try {
          written += writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

const UNAVAILABLE = {
  error: 'temporarily_unavailable',
  error_description: 'The service is temporarily unavailable; retry later.',
};
const count = (text: string, re: RegExp) => (text.match(new RegExp(re, 'g')) ?? []).length;

async function authorizePage(b: string): Promise<Response> {
  const p = await pkce();
  const q = new URLSearchParams({
    client_id: 'web',
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid',
    state: p.state,
    code_challenge: p.challenge,
    code_challenge_method: 'S256',
  });
  return new Agent().request(`${b}/authorize?${q}`);
}

async function ready(b: string): Promise<{ status: number; checks: Record<string, string> }> {
  const res = await fetch(`${b}/ready`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, checks: ((await res.json()) as { checks: Record<string, string> }).checks };
}

function assertUnavailable(a: Answer, what: string): void {
  assert.equal(a.status, 503, `${what}: ${JSON.stringify(a.body)}`);
  assert.deepEqual(a.body, UNAVAILABLE, what);
  assert.equal(a.headers.get('retry-after'), '2', what);
}

describe('storage faults', { timeout: 120_000 }, () => {
  let server: RunningServer | undefined;
  after(async () => {
    await server?.stop();
  });

  it('SQLite on a full disk: 503 temporarily_unavailable, the disk-full error logged once, /ready says disk_full, recovery once space is freed', {
    timeout: 60_000,
  }, async () => {
    const mnt = mkdtempSync(join(tmpdir(), 'tessera-full-'));
    // 16 MiB: room for the database and its WAL, far below the headroom start-up asks for.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mnt]);
    try {
      server = await startInstance(`sqlite:${join(mnt, 'tessera.db')}`);
      const b = base(server);
      assert.match(
        server.output(),
        /WARNING[^:]*: only \d+ MiB free on the file system of the SQLite database \(.*\); keep at least 256 MiB free/,
      );
      const { chains } = await makeChains(b, 2);
      const cc = await clientCredentials(b);
      assert.equal(cc.status, 200);
      // Idle: the WAL is either truncated by the checkpointer's thread (once it has passed 1 MiB)
      // or not yet checkpointed at all; either way the next commit appends, so it needs new space.
      await sleep(1500);

      const filler = join(mnt, 'filler');
      assert.ok(fillUp(filler) > 0);
      // Refreshes rotate (a write each): the first that needs space fails, and so does every one after.
      const statuses: number[] = [];
      let failed: Answer | undefined;
      for (let i = 0; i < 50 && !failed; i++) {
        const chain = chains[i % chains.length]!;
        const r = await refresh(b, chain.rt);
        statuses.push(r.status);
        if (r.status === 200) {
          chain.rt = r.body.refresh_token as string;
          chain.lastConfirmed = chain.rt;
          chain.accessTokens.push(r.body.access_token as string);
        } else failed = r;
      }
      assert.ok(failed, `a refresh failed once the disk was full (${statuses.join(' ')})`);
      assertUnavailable(failed, 'refresh on a full disk');
      for (const chain of chains) assertUnavailable(await refresh(b, chain.rt), 'refresh on a full disk');
      const page = await authorizePage(b);
      assert.equal(page.status, 503, 'the /authorize page (it stores an interaction)');
      assert.match(await page.text(), /Service unavailable/);
      assert.equal(page.headers.get('retry-after'), '2');
      const r = await ready(b);
      assert.equal(r.status, 503);
      assert.equal(r.checks.database, 'disk_full');
      // Reads still work: introspection of a token answered earlier.
      assert.equal((await introspect(b, chains[0]!.accessTokens[0]!)).body.active, true);

      const out = server.output();
      assert.equal(count(out, /"event":"storage_fault"/), 1, `the fault is logged once:\n${out}`);
      assert.match(out, /"event":"storage_fault","fault":"disk_full".*database or disk is full/);
      assert.doesNotMatch(out, /cannot rollback/);
      assert.doesNotMatch(out, /server_error|"statusCode":500|unhandled error/);

      rmSync(filler);
      await until('/ready once space is freed', async () => (await ready(b)).status === 200);
      assert.equal((await ready(b)).checks.database, 'ok');
      for (const chain of chains) {
        const again = await refresh(b, chain.rt);
        assert.equal(
          again.status,
          200,
          `the refresh token answered last still refreshes: ${JSON.stringify(again.body)}`,
        );
        for (const at of chain.accessTokens)
          assert.equal((await introspect(b, at)).body.active, true, 'an access token answered 200 is still active');
      }
      assert.equal((await authorizePage(b)).status, 303);
      await server.waitForOutput(/"event":"storage_recovered","fault":"disk_full"/);
      assert.doesNotMatch(server.output(), /tessera exited/);
      await server.stop();
      server = undefined;
    } finally {
      await server?.stop();
      server = undefined;
      execFileSync('umount', [mnt]);
      rmSync(mnt, { recursive: true, force: true });
    }
  });

  it('PostgreSQL turned read-only: 503 temporarily_unavailable, read_only_sql_transaction logged once, /ready says read_only, recovery', {
    timeout: 60_000,
  }, async () => {
    const database = await createPgDatabase();
    assert.ok(database, 'PostgreSQL is required (run with CI=true)');
    const name = new URL(database.url).pathname.slice(1);
    const admin = new pg.Client({ connectionString: pgAdminUrl() });
    await admin.connect();
    const reconnectAll = () =>
      admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [name],
      );
    try {
      server = await startInstance(database.url);
      const b = base(server);
      const { chains } = await makeChains(b, 1);
      const chain = chains[0]!;

      // Every new session of the database is read-only; the pool's sessions are ended so it opens new ones.
      await admin.query(`ALTER DATABASE "${name}" SET default_transaction_read_only = on`);
      await reconnectAll();
      await until('the read-only error to reach the log', async () => {
        const r = await refresh(b, chain.rt);
        assert.equal(r.status, 503, JSON.stringify(r.body));
        return /"event":"storage_fault","fault":"read_only"/.test(server!.output());
      });
      for (let i = 0; i < 3; i++) assertUnavailable(await refresh(b, chain.rt), 'refresh on a read-only database');
      const page = await authorizePage(b);
      assert.equal(page.status, 503);
      const r = await ready(b);
      assert.equal(r.status, 503);
      assert.equal(r.checks.database, 'read_only');
      const out = server.output();
      assert.equal(count(out, /"event":"storage_fault"/), 1, `the fault is logged once:\n${out}`);
      assert.match(out, /cannot execute .* in a read-only transaction/);
      assert.doesNotMatch(out, /server_error|"statusCode":500|unhandled error/);

      await admin.query(`ALTER DATABASE "${name}" RESET default_transaction_read_only`);
      await reconnectAll();
      await until('/ready once writes are allowed again', async () => (await ready(b)).status === 200);
      const again = await refresh(b, chain.rt);
      assert.equal(again.status, 200, JSON.stringify(again.body));
      await server.waitForOutput(/"event":"storage_recovered","fault":"read_only"/);
      await server.stop();
      server = undefined;
    } finally {
      await server?.stop();
      server = undefined;
      await admin.query(`ALTER DATABASE "${name}" RESET default_transaction_read_only`).catch(() => {});
      await admin.end();
      await database.drop();
    }
  });
});
