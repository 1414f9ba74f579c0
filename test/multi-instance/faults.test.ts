/**
 * Fault tests: PostgreSQL stopped or killed under load, and a Tessera process killed under load,
 * each bounded in time. PostgreSQL here is a private server of this file (test/fixtures/private-pg.ts),
 * so the machine's shared server is never disturbed.
 *
 * What must hold: while the database is down, requests are answered 503 temporarily_unavailable
 * with Retry-After (never a 500, a crash or a hang) and /ready says the database is unreachable;
 * once it is back, requests succeed without restarting Tessera; nothing that was answered 200 is
 * lost (access tokens introspect active, refresh tokens still refresh or were rotated).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { sqliteTempUrl } from '../fixtures/db.ts';
import { startPrivatePg, type PrivatePg } from '../fixtures/private-pg.ts';
import type { RunningServer } from '../fixtures/server.ts';
import {
  authorize,
  base,
  introspect,
  makeChains,
  pkce,
  refresh,
  refreshTokenRecord,
  rp,
  runCli,
  startInstance,
  startLoad,
  until,
  type Agent,
  type LoadReport,
} from './support.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TEST_TIMEOUT = 60_000;

/** Runs `f` over `items`, `n` at a time. */
async function eachLimited<T>(items: T[], n: number, f: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (i < items.length) await f(items[i++]!);
    }),
  );
}

const summary = (r: LoadReport) => {
  const count: Record<string, number> = {};
  for (const o of r.outcomes) count[`${o.kind}:${o.result}`] = (count[`${o.kind}:${o.result}`] ?? 0) + 1;
  return JSON.stringify(count);
};

/**
 * Nothing answered 200 was lost: every client-credentials token and every access token of a
 * family still valid introspects active on `b`; every refresh token last answered with 200 is in
 * the database; it still refreshes, unless a later refresh of it rotated it and lost its answer
 * (then the client's retry was a replay and revoked the family: `lostRotation`).
 */
async function assertNothingLost(b: string, databaseUrl: string, report: LoadReport): Promise<void> {
  const inactive: string[] = [];
  await eachLimited(report.ccTokens, 8, async (t) => {
    const a = await introspect(b, t);
    if (a.status !== 200 || a.body.active !== true) inactive.push(`${a.status} ${JSON.stringify(a.body)}`);
  });
  assert.deepEqual(inactive, [], `of ${report.ccTokens.length} client-credentials tokens, some are not active`);
  for (const [i, chain] of report.chains.entries()) {
    const record = await refreshTokenRecord(databaseUrl, chain.lastConfirmed);
    assert.ok(record.found, `chain ${i}: the last refresh token answered with 200 is missing from the database`);
    if (chain.lostRotation) {
      assert.ok(record.used, `chain ${i}: its retry was refused, so the token must have been rotated`);
      continue;
    }
    for (const at of chain.accessTokens)
      assert.equal(
        (await introspect(b, at)).body.active,
        true,
        `chain ${i}: an access token of a valid family is inactive`,
      );
    const r = await refresh(b, chain.rt);
    assert.equal(
      r.status,
      200,
      `chain ${i}: the refresh token answered last stopped working: ${JSON.stringify(r.body)}`,
    );
  }
}

/** A session cookie from before the fault still gives a code without a new login (prompt=none). */
async function assertSessionSurvived(b: string, agent: Agent): Promise<void> {
  const p = await pkce();
  const callback = await authorize(b, agent, p, { prompt: 'none' });
  assert.ok(callback.searchParams.get('code'), `expected a code without a login, got ${callback.href}`);
  const tokens = await client.authorizationCodeGrant(await rp(b), callback, {
    pkceCodeVerifier: p.verifier,
    expectedState: p.state,
  });
  assert.ok(tokens.access_token);
}

describe('faults', { timeout: 4 * TEST_TIMEOUT }, () => {
  let pg: PrivatePg;
  let server: RunningServer | undefined;
  let load: { stop(): Promise<LoadReport> } | undefined;
  // A failed test leaves nothing behind for the next: load stopped, server stopped, PostgreSQL up.
  afterEach(async () => {
    await load?.stop();
    load = undefined;
    await server?.stop();
    server = undefined;
    await pg.start().catch(() => {
      /* already running */
    });
  });
  before(async () => {
    pg = await startPrivatePg({ fsync: true });
  });
  after(async () => {
    await server?.stop();
    await pg?.cleanup();
  });

  for (const mode of ['restarted', 'killed'] as const) {
    it(`PostgreSQL ${mode} under load: 503 while it is down, recovery without a restart, nothing lost`, {
      timeout: TEST_TIMEOUT,
    }, async (t) => {
      const url = await pg.createDatabase(`tessera_${mode}`);
      server = await startInstance(url);
      const b = base(server);
      const { chains, agent } = await makeChains(b, 3);
      load = startLoad(() => [b], chains);
      await sleep(1000);

      const downAt = Date.now();
      if (mode === 'restarted') await pg.stop();
      else await pg.kill();
      await sleep(300);
      const ready = await fetch(`${b}/ready`, { signal: AbortSignal.timeout(10_000) });
      assert.equal(ready.status, 503);
      assert.deepEqual(((await ready.json()) as { checks: unknown }).checks, {
        database: 'unreachable',
        signing_key: 'ok',
      });
      // Client credentials may still be served from the client cache (TESSERA_CLIENT_CACHE_TTL);
      // introspection always reads the revocation list.
      const direct = await introspect(b, chains[0]!.accessTokens[0]!);
      assert.equal(direct.status, 503, JSON.stringify(direct.body));
      assert.deepEqual(direct.body, {
        error: 'temporarily_unavailable',
        error_description: 'The service is temporarily unavailable; retry later.',
      });
      assert.equal(direct.headers.get('retry-after'), '2');
      await sleep(1200);

      await pg.start();
      await until(
        'introspection once PostgreSQL is back',
        async () => (await introspect(b, chains[0]!.accessTokens[0]!)).status === 200,
      );
      const recoveredAt = Date.now();
      assert.equal((await fetch(`${b}/ready`)).status, 200);
      await sleep(1500);
      const report = await load.stop();
      load = undefined;
      t.diagnostic(`outcomes ${summary(report)}; lost rotations ${report.chains.filter((c) => c.lostRotation).length}`);

      assert.doesNotMatch(server.output(), /tessera exited/, 'the Tessera process kept running');
      const unexpected = report.outcomes.filter(
        (o) => o.result === 'network' || (o.result === 'other' && !o.ambiguous),
      );
      assert.deepEqual(unexpected, [], `only 200s and 503s were expected; ${summary(report)}`);
      const unavailable = report.outcomes.filter((o) => o.result === 'unavailable');
      assert.ok(unavailable.length > 0, `the load saw the outage; ${summary(report)}`);
      for (const o of unavailable)
        assert.ok(
          o.at >= downAt && o.at <= recoveredAt + 1000,
          `a 503 outside the outage (${o.at - downAt} ms after it began)`,
        );
      const afterwards = report.outcomes.filter((o) => o.at > recoveredAt + 1000);
      assert.ok(
        afterwards.length > 20 && afterwards.every((o) => o.result === 'ok'),
        `every request after recovery succeeds; ${summary(report)}`,
      );
      // A clean stop ends transactions before they commit: no answer is lost, so no rotation is.
      if (mode === 'restarted')
        assert.ok(
          report.chains.every((c) => !c.lostRotation),
          'no rotation was lost',
        );

      await assertNothingLost(b, url, report);
      await assertSessionSurvived(b, agent);
      await server.stop();
      server = undefined;
    });
  }

  for (const backend of ['PostgreSQL', 'SQLite'] as const) {
    it(`a Tessera process killed under load on ${backend}: restarts on a consistent database, keeps sessions and tokens`, {
      timeout: TEST_TIMEOUT,
    }, async (t) => {
      const url = backend === 'PostgreSQL' ? await pg.createDatabase('tessera_killed_server') : sqliteTempUrl();
      try {
        server = await startInstance(url);
        const b = base(server);
        const { chains, agent } = await makeChains(b, 3);
        load = startLoad(() => [b], chains);
        await sleep(1000);

        const killAt = Date.now();
        server.kill();
        assert.equal((await server.exited()).signal, 'SIGKILL');
        await sleep(300);
        await server.start();
        const upAt = Date.now();
        await sleep(1000);
        const report = await load.stop();
        load = undefined;
        t.diagnostic(
          `outcomes ${summary(report)}; lost rotations ${report.chains.filter((c) => c.lostRotation).length}`,
        );

        // Requests in flight at the kill, and those sent while it was down, got no answer; every
        // other request succeeded.
        const unexpected = report.outcomes.filter(
          (o) =>
            (o.result === 'network' && (o.at < killAt || o.at > upAt)) ||
            o.result === 'unavailable' ||
            (o.result === 'other' && !o.ambiguous),
        );
        assert.deepEqual(unexpected, [], summary(report));
        assert.ok(
          report.outcomes.some((o) => o.result === 'network'),
          `the load saw the process die; ${summary(report)}`,
        );
        assert.ok(report.outcomes.filter((o) => o.at > upAt && o.result === 'ok').length > 20, summary(report));

        // The database is consistent: migrations have nothing to do, the audit chain verifies.
        const migrate = await runCli(['migrate'], url);
        assert.equal(migrate.code, 0, migrate.out);
        const verify = await runCli(['audit', 'verify'], url);
        assert.equal(verify.code, 0, verify.out);
        assert.match(verify.out, /audit chain intact/);

        await assertNothingLost(b, url, report);
        await assertSessionSurvived(b, agent);
        await server.stop();
        server = undefined;
      } finally {
        if (url.startsWith('sqlite:')) rmSync(dirname(url.slice('sqlite:'.length)), { recursive: true, force: true });
      }
    });
  }
});
