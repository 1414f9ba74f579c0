/**
 * Redis faults against the real server process, each with a private redis-server of its own
 * (test/fixtures/private-redis.ts), bounded in load and time (docs/production.md, "Redis or
 * Valkey", says what is measured here):
 *
 * - a hung Redis (SIGSTOP for 15 s, then SIGCONT) under load: every request answers within the
 *   request's one Redis deadline (p99 <= 1 s, max <= 1.5 s, /health <= 500 ms), client
 *   credentials and introspection (rate limits only) never fail, replay-checked requests (DPoP,
 *   private_key_jwt) answer 200 or 503, and they succeed again within 10 s of the hang's end;
 * - CPU starvation (busy child processes on every core) while Redis stays responsive: no
 *   replay-checked request is answered 503.
 *
 * Redis restarted empty is in redis-restart.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { after, afterEach, describe, it } from 'node:test';
import { privateRedisSkip, startPrivateRedis, type PrivateRedis } from '../fixtures/private-redis.ts';
import { startServer, type RunningServer } from '../fixtures/server.ts';
import {
  LIMITS,
  METRICS,
  SVC,
  basic,
  bootstrap,
  counts,
  FORM,
  metric,
  newKey,
  quantile,
  requests,
  sleep,
  startLoad,
} from './redis-support.ts';

describe('Redis faults (real server, private Redis)', { skip: privateRedisSkip() }, () => {
  let redis: PrivateRedis | undefined;
  let server: RunningServer | undefined;
  const busy: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of busy.splice(0)) c.kill('SIGKILL');
    await server?.stop();
    server = undefined;
    await redis?.close();
    redis = undefined;
  });
  after(() => {
    for (const c of busy) c.kill('SIGKILL');
  });

  it('a hung Redis (SIGSTOP 15 s) under load: p99 <= 1 s and max <= 1.5 s for every request, /health <= 500 ms, client credentials and introspection never fail, recovery <= 10 s', {
    timeout: 60_000,
  }, async (t) => {
    const pkjKey = await newKey('pkj-1');
    const dpopKey = await newKey('dpop-1');
    redis = await startPrivateRedis({ persist: false });
    server = await startServer({
      env: { REDIS_URL: redis.url, TESSERA_RATE_LIMITS: LIMITS, TESSERA_METRICS_TOKEN: METRICS },
      bootstrap: bootstrap(pkjKey),
    });
    const issuer = server.issuer;
    const token = (
      (await (
        await fetch(`${issuer}/token`, {
          method: 'POST',
          headers: { 'content-type': FORM, authorization: basic('svc', SVC) },
          body: 'grant_type=client_credentials',
        })
      ).json()) as { access_token: string }
    ).access_token;
    const send = requests(issuer, pkjKey, dpopKey, () => token);
    const load = startLoad(send, { client_credentials: 2, introspection: 1, dpop: 1, private_key_jwt: 1, health: 1 });
    let resumedAt = 0;
    let pausedAt = 0;
    try {
      await sleep(1500);
      pausedAt = Date.now();
      redis.pause();
      await sleep(15_000);
      redis.resume();
      resumedAt = Date.now();
      // Until both replay-checked kinds have succeeded five times in a row after the hang (at most 12 s).
      const recovered = () =>
        (['dpop', 'private_key_jwt'] as const).every((k) => {
          const after = load.samples.filter((s) => s.kind === k && s.start > resumedAt);
          return after.length >= 5 && after.slice(-5).every((s) => s.status === 200);
        });
      const deadline = Date.now() + 12_000;
      while (!recovered() && Date.now() < deadline) await sleep(100);
      await sleep(500);
    } finally {
      redis.resume();
      await load.stop();
    }
    const samples = load.samples;
    t.diagnostic(`outcomes ${JSON.stringify(counts(samples))}`);
    const slowest = [...samples].sort((a, b) => b.ms - a.ms).slice(0, 6);
    t.diagnostic(
      `slowest (ms after the hang began: took ms): ${slowest.map((s) => `${s.kind} ${s.start - pausedAt}: ${s.ms.toFixed(0)}`).join(', ')}; hang ended at ${resumedAt - pausedAt}`,
    );
    const during = samples.filter((s) => s.start >= pausedAt && s.start < resumedAt);

    // Client credentials and introspection only count rate limits: they never fail.
    for (const kind of ['client_credentials', 'introspection'] as const) {
      const bad = samples.filter((s) => s.kind === kind && s.status !== 200);
      assert.deepEqual(
        bad.slice(0, 3),
        [],
        `${kind}: ${bad.length} of ${samples.filter((s) => s.kind === kind).length} failed`,
      );
      assert.ok(during.filter((s) => s.kind === kind).length > 50, `${kind} ran during the hang`);
    }
    // Replay checks fail closed (503), never anything else, and did see the hang.
    for (const kind of ['dpop', 'private_key_jwt'] as const) {
      const mine = samples.filter((s) => s.kind === kind);
      const other = mine.filter((s) => s.status !== 200 && s.status !== 503);
      assert.deepEqual(other.slice(0, 3), [], `${kind}: only 200 and 503 expected`);
      assert.ok(
        during.some((s) => s.kind === kind && s.status === 503),
        `${kind}: the hang was seen (503s while Redis was stopped)`,
      );
      // Recovered: every request started later than 10 s after the hang ended succeeded, and some did.
      const late = mine.filter(
        (s) =>
          s.start > resumedAt + 10_000 ||
          (s.start > resumedAt && mine.some((x) => x.start > resumedAt && x.start < s.start && x.status === 200)),
      );
      const firstOk = mine.find((s) => s.start > resumedAt && s.status === 200);
      assert.ok(
        firstOk && firstOk.end - resumedAt <= 10_000,
        `${kind}: succeeded again within 10 s of the hang's end (${firstOk ? firstOk.end - resumedAt : 'never'} ms)`,
      );
      const failedLater = late.filter((s) => s.status !== 200 && s.start > firstOk!.start);
      assert.deepEqual(failedLater.slice(0, 3), [], `${kind}: failures after recovery`);
      t.diagnostic(`${kind}: first success ${firstOk!.end - resumedAt} ms after the hang ended`);
    }
    // Latency: one Redis deadline per request (500 ms), and none for /health.
    for (const kind of ['client_credentials', 'introspection', 'dpop', 'private_key_jwt'] as const) {
      const ms = samples.filter((s) => s.kind === kind).map((s) => s.ms);
      const p99 = quantile(ms, 0.99);
      const max = Math.max(...ms);
      t.diagnostic(
        `${kind}: ${ms.length} requests, p50 ${quantile(ms, 0.5).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms`,
      );
      assert.ok(p99 <= 1000, `${kind}: p99 ${p99.toFixed(0)} ms > 1 s`);
      assert.ok(max <= 1500, `${kind}: max ${max.toFixed(0)} ms > 1.5 s`);
    }
    const health = samples.filter((s) => s.kind === 'health');
    assert.ok(
      health.every((s) => s.status === 200),
      '/health always 200',
    );
    const healthMax = Math.max(...health.map((s) => s.ms));
    t.diagnostic(`/health: ${health.length} requests, max ${healthMax.toFixed(1)} ms`);
    assert.ok(healthMax <= 500, `/health max ${healthMax.toFixed(0)} ms > 500 ms`);

    // The breaker's changes are logged and counted.
    await server.waitForOutput(/redis_breaker_open/);
    const transitions = await metric(issuer, 'tessera_redis_breaker_transitions_total');
    t.diagnostic(transitions.join('; '));
    for (const state of ['open', 'half_open', 'closed'])
      assert.ok(
        transitions.some((l) => l.includes(`state="${state}"`) && !l.endsWith(' 0')),
        `breaker entered ${state}`,
      );
    assert.ok(
      (await metric(issuer, 'tessera_redis_breaker_open ')).some((l) => l.endsWith(' 0')),
      'breaker closed at the end',
    );
    assert.doesNotMatch(server.output(), /tessera exited/);
  });

  it('CPU starvation (busy processes on every core) with a responsive Redis: no replay-checked request is answered 503', {
    timeout: 60_000,
  }, async (t) => {
    const pkjKey = await newKey('pkj-1');
    const dpopKey = await newKey('dpop-1');
    redis = await startPrivateRedis({ persist: false });
    // A short deadline (150 ms) makes a busy event loop matter: time the loop is late is not
    // time spent waiting for Redis.
    server = await startServer({
      env: {
        REDIS_URL: redis.url,
        TESSERA_RATE_LIMITS: LIMITS,
        TESSERA_REDIS_TIMEOUT: '150',
        TESSERA_METRICS_TOKEN: METRICS,
      },
      bootstrap: bootstrap(pkjKey),
    });
    const send = requests(server.issuer, pkjKey, dpopKey, () => '');
    // Busy loops, bounded in time (8 s): two per core, on a machine that may be busy already.
    const n = 2 * availableParallelism();
    for (let i = 0; i < n; i++) {
      busy.push(
        spawn(process.execPath, ['-e', 'const end = Date.now() + 8000; let x = 0; while (Date.now() < end) x++;'], {
          stdio: 'ignore',
        }),
      );
    }
    const startedAt = Date.now();
    const load = startLoad(send, { dpop: 2, private_key_jwt: 2 }, 5);
    await Promise.all(busy.map((c) => new Promise((r) => c.once('exit', r))));
    const samples = await load.stop();
    busy.length = 0;
    t.diagnostic(`${n} busy processes for ${Date.now() - startedAt} ms; outcomes ${JSON.stringify(counts(samples))}`);
    const ms = samples.map((s) => s.ms);
    t.diagnostic(
      `latency p50 ${quantile(ms, 0.5).toFixed(1)} ms, p99 ${quantile(ms, 0.99).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms`,
    );
    assert.ok(samples.length > 10, `load ran (${samples.length} requests)`);
    const unavailable = samples.filter((s) => s.status !== 200);
    const logged = server
      .output()
      .split('\n')
      .filter((l) => /backend_unavailable|redis_breaker/.test(l))
      .slice(0, 5)
      .join('\n');
    assert.deepEqual(
      unavailable.slice(0, 3),
      [],
      `${unavailable.length} of ${samples.length} replay-checked requests failed\n${logged}`,
    );
    const transitions = await metric(server.issuer, 'tessera_redis_breaker_transitions_total');
    assert.deepEqual(
      transitions.filter((l) => !l.endsWith(' 0')),
      [],
      'the breaker never opened',
    );
  });
});
