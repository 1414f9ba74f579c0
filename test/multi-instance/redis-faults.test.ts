/**
 * Redis faults against the real server process, each with a private redis-server of its own
 * (test/fixtures/private-redis.ts), bounded in load and time (docs/production.md, "Redis or
 * Valkey", says what is measured here):
 *
 * - a hung Redis (SIGSTOP for 15 s, then SIGCONT) under load: every request answers within the
 *   request's one Redis deadline (p99 <= 1 s, max <= 1.5 s, /health <= 500 ms), client
 *   credentials and introspection (rate limits only) never fail, replay-checked requests (DPoP,
 *   private_key_jwt) answer 200 or 503, and they succeed again within 10 s of the hang's end;
 * - Redis restarted empty (no persistence, SIGKILL, start): the 40 DPoP proofs and client
 *   assertions used before are all refused when replayed, on SQLite and PostgreSQL, and an honest
 *   DPoP client gets through at once with a server nonce;
 * - CPU starvation (busy child processes on every core) while Redis stays responsive: no
 *   replay-checked request is answered 503.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { after, afterEach, describe, it } from 'node:test';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { createPgDatabase } from '../fixtures/db.ts';
import { privateRedisSkip, startPrivateRedis, type PrivateRedis } from '../fixtures/private-redis.ts';
import { startServer, type RunningServer } from '../fixtures/server.ts';

const SVC = 'redis-fault-service-secret-0123456789-ab';
const RS = 'redis-fault-resource-secret-0123456789-a';
const METRICS = 'redis-fault-metrics-token-0123456789-abc';
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FORM = 'application/x-www-form-urlencoded';
// Limits far above what the load sends: the rules are still counted in Redis on every request.
const LIMITS = 'token.ip=1000000/60s token.client=1000000/60s introspection.ip=1000000/60s introspection.client=1000000/60s';

interface Key { privateKey: CryptoKey; jwk: JWK; jkt: string }
async function newKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk: { ...jwk, kid, use: 'sig', alg: 'ES256' }, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
}
const wall = () => Math.floor(Date.now() / 1000);
function dpopProof(k: Key, htu: string, nonce?: string): Promise<string> {
  const { kid: _kid, use: _use, alg: _alg, ...jwk } = k.jwk;
  return new SignJWT({ jti: randomUUID(), htm: 'POST', htu, iat: wall(), ...(nonce ? { nonce } : {}) })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk }).sign(k.privateKey);
}
function assertion(k: Key, clientId: string, aud: string): Promise<string> {
  const now = wall();
  return new SignJWT({ iss: clientId, sub: clientId, aud, iat: now, exp: now + 60, jti: randomUUID() })
    .setProtectedHeader({ alg: 'ES256', kid: k.jwk.kid }).sign(k.privateKey);
}

const bootstrap = (pkjKey: Key) => ({
  clients: [
    { client_id: 'svc', client_secret: SVC, grant_types: ['client_credentials'], scope: 'api', redirect_uris: [] },
    { client_id: 'rs', client_secret: RS, grant_types: ['client_credentials'], scope: '', redirect_uris: [] },
    { client_id: 'pkj', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [pkjKey.jwk] }, grant_types: ['client_credentials'], scope: 'api', redirect_uris: [] },
  ],
});

type Kind = 'client_credentials' | 'introspection' | 'dpop' | 'private_key_jwt' | 'health';
interface Sample { kind: Kind; start: number; end: number; ms: number; status: number | string; error?: string }

/** The requests of each kind; each returns the response (its body read). */
function requests(issuer: string, pkjKey: Key, dpopKey: Key, introspected: () => string) {
  const post = (body: string, headers: Record<string, string>, path = '/token') =>
    fetch(`${issuer}${path}`, { method: 'POST', headers: { 'content-type': FORM, ...headers }, body, signal: AbortSignal.timeout(20_000) });
  return {
    client_credentials: () => post('grant_type=client_credentials', { authorization: basic('svc', SVC) }),
    introspection: () => post(`token=${introspected()}`, { authorization: basic('rs', RS) }, '/introspect'),
    dpop: async () => post('grant_type=client_credentials', { authorization: basic('svc', SVC), dpop: await dpopProof(dpopKey, `${issuer}/token`) }),
    private_key_jwt: async () => post(new URLSearchParams({
      grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: await assertion(pkjKey, 'pkj', issuer),
    }).toString(), {}),
    health: () => fetch(`${issuer}/health`, { signal: AbortSignal.timeout(20_000) }),
  } satisfies Record<Kind, () => Promise<Response>>;
}

/** Loops of each kind (`workers` of each) recording every request, until stop(). */
function startLoad(send: Record<Kind, () => Promise<Response>>, workers: Partial<Record<Kind, number>>, pauseMs = 20) {
  const samples: Sample[] = [];
  let running = true;
  const loops: Promise<void>[] = [];
  for (const [kind, n] of Object.entries(workers) as [Kind, number][]) {
    for (let i = 0; i < n; i++) {
      loops.push((async () => {
        while (running) {
          const start = performance.now();
          const at = Date.now();
          let status: number | string;
          let error: string | undefined;
          try {
            const res = await send[kind]();
            status = res.status;
            const text = await res.text();
            if (res.status !== 200) error = text.slice(0, 200);
          } catch (err) {
            status = (err as Error).name;
            error = String((err as Error).cause ?? err);
          }
          const ms = performance.now() - start;
          samples.push({ kind, start: at, end: at + ms, ms, status, error });
          await sleep(kind === 'health' ? 100 : pauseMs);
        }
      })());
    }
  }
  return { samples, async stop() { running = false; await Promise.all(loops); return samples; } };
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? 0;
};
const counts = (samples: Sample[]) => {
  const c: Record<string, number> = {};
  for (const s of samples) c[`${s.kind}:${s.status}`] = (c[`${s.kind}:${s.status}`] ?? 0) + 1;
  return c;
};

async function metric(issuer: string, name: string): Promise<string[]> {
  const text = await (await fetch(`${issuer}/metrics`, { headers: { authorization: `Bearer ${METRICS}` } })).text();
  return text.split('\n').filter((l) => l.startsWith(name));
}

async function readyRedis(issuer: string): Promise<boolean> {
  const res = await fetch(`${issuer}/ready`, { signal: AbortSignal.timeout(5000) });
  return res.status === 200;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try { if (await check()) return; } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

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
  after(() => { for (const c of busy) c.kill('SIGKILL'); });

  it('a hung Redis (SIGSTOP 15 s) under load: p99 <= 1 s and max <= 1.5 s for every request, /health <= 500 ms, client credentials and introspection never fail, recovery <= 10 s', { timeout: 60_000 }, async (t) => {
    const pkjKey = await newKey('pkj-1');
    const dpopKey = await newKey('dpop-1');
    redis = await startPrivateRedis({ persist: false });
    server = await startServer({ env: { REDIS_URL: redis.url, TESSERA_RATE_LIMITS: LIMITS, TESSERA_METRICS_TOKEN: METRICS }, bootstrap: bootstrap(pkjKey) });
    const issuer = server.issuer;
    const token = ((await (await fetch(`${issuer}/token`, { method: 'POST', headers: { 'content-type': FORM, authorization: basic('svc', SVC) }, body: 'grant_type=client_credentials' })).json()) as { access_token: string }).access_token;
    const send = requests(issuer, pkjKey, dpopKey, () => token);
    const load = startLoad(send, { client_credentials: 2, introspection: 2, dpop: 1, private_key_jwt: 1, health: 1 });
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
      const recovered = () => (['dpop', 'private_key_jwt'] as const).every((k) => {
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
    const during = samples.filter((s) => s.start >= pausedAt && s.start < resumedAt);

    // Client credentials and introspection only count rate limits: they never fail.
    for (const kind of ['client_credentials', 'introspection'] as const) {
      const bad = samples.filter((s) => s.kind === kind && s.status !== 200);
      assert.deepEqual(bad.slice(0, 3), [], `${kind}: ${bad.length} of ${samples.filter((s) => s.kind === kind).length} failed`);
      assert.ok(during.filter((s) => s.kind === kind).length > 50, `${kind} ran during the hang`);
    }
    // Replay checks fail closed (503), never anything else, and did see the hang.
    for (const kind of ['dpop', 'private_key_jwt'] as const) {
      const mine = samples.filter((s) => s.kind === kind);
      const other = mine.filter((s) => s.status !== 200 && s.status !== 503);
      assert.deepEqual(other.slice(0, 3), [], `${kind}: only 200 and 503 expected`);
      assert.ok(during.some((s) => s.kind === kind && s.status === 503), `${kind}: the hang was seen (503s while Redis was stopped)`);
      // Recovered: every request started later than 10 s after the hang ended succeeded, and some did.
      const late = mine.filter((s) => s.start > resumedAt + 10_000 || (s.start > resumedAt && mine.some((x) => x.start > resumedAt && x.start < s.start && x.status === 200)));
      const firstOk = mine.find((s) => s.start > resumedAt && s.status === 200);
      assert.ok(firstOk && firstOk.end - resumedAt <= 10_000, `${kind}: succeeded again within 10 s of the hang's end (${firstOk ? firstOk.end - resumedAt : 'never'} ms)`);
      const failedLater = late.filter((s) => s.status !== 200 && s.start > firstOk!.start);
      assert.deepEqual(failedLater.slice(0, 3), [], `${kind}: failures after recovery`);
      t.diagnostic(`${kind}: first success ${firstOk!.end - resumedAt} ms after the hang ended`);
    }
    // Latency: one Redis deadline per request (500 ms), and none for /health.
    for (const kind of ['client_credentials', 'introspection', 'dpop', 'private_key_jwt'] as const) {
      const ms = samples.filter((s) => s.kind === kind).map((s) => s.ms);
      const p99 = quantile(ms, 0.99);
      const max = Math.max(...ms);
      t.diagnostic(`${kind}: ${ms.length} requests, p50 ${quantile(ms, 0.5).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms`);
      assert.ok(p99 <= 1000, `${kind}: p99 ${p99.toFixed(0)} ms > 1 s`);
      assert.ok(max <= 1500, `${kind}: max ${max.toFixed(0)} ms > 1.5 s`);
    }
    const health = samples.filter((s) => s.kind === 'health');
    assert.ok(health.every((s) => s.status === 200), '/health always 200');
    const healthMax = Math.max(...health.map((s) => s.ms));
    t.diagnostic(`/health: ${health.length} requests, max ${healthMax.toFixed(1)} ms`);
    assert.ok(healthMax <= 500, `/health max ${healthMax.toFixed(0)} ms > 500 ms`);

    // The breaker's changes are logged and counted.
    assert.match(server.output(), /redis_breaker_open/);
    const transitions = await metric(issuer, 'tessera_redis_breaker_transitions_total');
    t.diagnostic(transitions.join('; '));
    for (const state of ['open', 'half_open', 'closed']) assert.ok(transitions.some((l) => l.includes(`state="${state}"`) && !l.endsWith(' 0')), `breaker entered ${state}`);
    assert.ok((await metric(issuer, 'tessera_redis_breaker_open ')).some((l) => l.endsWith(' 0')), 'breaker closed at the end');
    assert.doesNotMatch(server.output(), /tessera exited/);
  });

  for (const backend of ['SQLite', 'PostgreSQL'] as const) {
    it(`Redis restarted empty (${backend}): the 40 DPoP proofs and client assertions used before are all refused when replayed; an honest DPoP client gets through with a nonce`, { timeout: 60_000 }, async (t) => {
      const pg = backend === 'PostgreSQL' ? await createPgDatabase() : undefined;
      if (backend === 'PostgreSQL' && !pg) {
        if (process.env.CI) throw new Error('PostgreSQL is required (CI is set)');
        t.skip('PostgreSQL unreachable');
        return;
      }
      try {
        const pkjKey = await newKey('pkj-1');
        const dpopKey = await newKey('dpop-1');
        redis = await startPrivateRedis({ persist: false });
        // No clock skew for client assertions: a fresh one is accepted right after the loss.
        server = await startServer({ databaseUrl: pg?.url, env: { REDIS_URL: redis.url, TESSERA_RATE_LIMITS: LIMITS, TESSERA_CLOCK_SKEW: '0' }, bootstrap: bootstrap(pkjKey) });
        const issuer = server.issuer;
        const tokenUrl = `${issuer}/token`;
        const post = (body: string, headers: Record<string, string> = {}) => fetch(tokenUrl, { method: 'POST', headers: { 'content-type': FORM, ...headers }, body, signal: AbortSignal.timeout(10_000) });
        const pkjBody = (a: string) => new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: a }).toString();

        // 20 DPoP proofs and 20 client assertions, each used once, successfully.
        const proofs: string[] = [];
        const assertions: string[] = [];
        for (let i = 0; i < 20; i++) {
          const proof = await dpopProof(dpopKey, tokenUrl);
          const a = await assertion(pkjKey, 'pkj', issuer);
          const r1 = await post('grant_type=client_credentials', { authorization: basic('svc', SVC), dpop: proof });
          assert.equal(r1.status, 200, await r1.text());
          const r2 = await post(pkjBody(a));
          assert.equal(r2.status, 200, await r2.text());
          proofs.push(proof);
          assertions.push(a);
        }
        // A replay before the restart is refused as usual.
        assert.equal((await post(pkjBody(assertions[0]!))).status, 401);

        // Redis restarts empty; the server reconnects by itself.
        await redis.stop();
        await redis.start();
        await until('Redis reconnected', () => readyRedis(issuer));
        await sleep(1000);
        assert.doesNotMatch(server.output(), /replay_store_lost/, 'nothing polls: the loss is found by a request');

        // Every artifact replayed: none accepted.
        const answers: number[] = [];
        for (let i = 0; i < 20; i++) {
          const r1 = await post('grant_type=client_credentials', { authorization: basic('svc', SVC), dpop: proofs[i]! });
          const b1 = await r1.json() as { error?: string };
          answers.push(r1.status);
          assert.equal(r1.status, 400, JSON.stringify(b1));
          assert.ok(b1.error === 'use_dpop_nonce' || b1.error === 'invalid_dpop_proof', JSON.stringify(b1));
          const r2 = await post(pkjBody(assertions[i]!));
          answers.push(r2.status);
          assert.equal(r2.status, 401, await r2.text());
        }
        assert.equal(answers.length, 40);
        assert.equal(answers.filter((s) => s === 200).length, 0, 'no replayed artifact was accepted');
        assert.match(server.output(), /replay_store_lost/, 'the first request after the restart found the loss');

        // An honest DPoP client: asked for a nonce (RFC 9449 section 8), then served.
        const first = await post('grant_type=client_credentials', { authorization: basic('svc', SVC), dpop: await dpopProof(dpopKey, tokenUrl) });
        assert.equal(first.status, 400);
        assert.equal(((await first.json()) as { error: string }).error, 'use_dpop_nonce');
        const nonce = first.headers.get('dpop-nonce');
        assert.ok(nonce, 'a DPoP-Nonce is given');
        const second = await post('grant_type=client_credentials', { authorization: basic('svc', SVC), dpop: await dpopProof(dpopKey, tokenUrl, nonce) });
        assert.equal(second.status, 200, await second.text());
        // A client assertion made after the loss is accepted (clock skew 0 here).
        await sleep(1100);
        const fresh = await post(pkjBody(await assertion(pkjKey, 'pkj', issuer)));
        assert.equal(fresh.status, 200, await fresh.text());
        // And the replay protection works again on the new generation.
        const proof = await dpopProof(dpopKey, tokenUrl, nonce);
        assert.equal((await post('grant_type=client_credentials', { authorization: basic('svc', SVC), dpop: proof })).status, 200);
        assert.equal((await post('grant_type=client_credentials', { authorization: basic('svc', SVC), dpop: proof })).status, 400);
      } finally {
        await server?.stop();
        server = undefined;
        await pg?.drop();
      }
    });
  }

  it('CPU starvation (busy processes on every core) with a responsive Redis: no replay-checked request is answered 503', { timeout: 60_000 }, async (t) => {
    const pkjKey = await newKey('pkj-1');
    const dpopKey = await newKey('dpop-1');
    redis = await startPrivateRedis({ persist: false });
    // A short deadline (150 ms) makes a busy event loop matter: time the loop is late is not
    // time spent waiting for Redis.
    server = await startServer({ env: { REDIS_URL: redis.url, TESSERA_RATE_LIMITS: LIMITS, TESSERA_REDIS_TIMEOUT: '150', TESSERA_METRICS_TOKEN: METRICS }, bootstrap: bootstrap(pkjKey) });
    const send = requests(server.issuer, pkjKey, dpopKey, () => '');
    // Busy loops, bounded in time (8 s): two per core, on a machine that may be busy already.
    const n = 2 * availableParallelism();
    for (let i = 0; i < n; i++) {
      busy.push(spawn(process.execPath, ['-e', 'const end = Date.now() + 8000; let x = 0; while (Date.now() < end) x++;'], { stdio: 'ignore' }));
    }
    const startedAt = Date.now();
    const load = startLoad(send, { dpop: 2, private_key_jwt: 2 }, 5);
    await Promise.all(busy.map((c) => new Promise((r) => c.once('exit', r))));
    const samples = await load.stop();
    busy.length = 0;
    t.diagnostic(`${n} busy processes for ${Date.now() - startedAt} ms; outcomes ${JSON.stringify(counts(samples))}`);
    const ms = samples.map((s) => s.ms);
    t.diagnostic(`latency p50 ${quantile(ms, 0.5).toFixed(1)} ms, p99 ${quantile(ms, 0.99).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms`);
    assert.ok(samples.length > 20, `load ran (${samples.length} requests)`);
    const unavailable = samples.filter((s) => s.status !== 200);
    const logged = server.output().split('\n').filter((l) => /backend_unavailable|redis_breaker/.test(l)).slice(0, 5).join('\n');
    assert.deepEqual(unavailable.slice(0, 3), [], `${unavailable.length} of ${samples.length} replay-checked requests failed\n${logged}`);
    const transitions = await metric(server.issuer, 'tessera_redis_breaker_transitions_total');
    assert.deepEqual(transitions.filter((l) => !l.endsWith(' 0')), [], 'the breaker never opened');
  });
});
