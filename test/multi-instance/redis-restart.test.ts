/**
 * Redis restarted empty (no persistence: SIGKILL, start again) against the real server process and
 * a private redis-server, on SQLite and PostgreSQL: the 40 DPoP proofs and client assertions used
 * before are all refused when replayed (the replay cache's epoch, kept in the database, is checked
 * in the claim script, so the first request after the restart finds the loss), an honest DPoP
 * client gets through at once with a server nonce, and a client assertion made after the loss is
 * accepted. See docs/production.md, "Redis or Valkey".
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { createPgDatabase } from '../fixtures/db.ts';
import { privateRedisSkip, startPrivateRedis, type PrivateRedis } from '../fixtures/private-redis.ts';
import { startServer, type RunningServer } from '../fixtures/server.ts';
import {
  LIMITS,
  SVC,
  basic,
  bootstrap,
  FORM,
  assertion,
  dpopProof,
  newKey,
  readyRedis,
  sleep,
  until,
} from './redis-support.ts';

describe('Redis restarted empty (real server, private Redis)', { skip: privateRedisSkip() }, () => {
  let redis: PrivateRedis | undefined;
  let server: RunningServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
    await redis?.close();
    redis = undefined;
  });

  for (const backend of ['SQLite', 'PostgreSQL'] as const) {
    it(`Redis restarted empty (${backend}): the 40 DPoP proofs and client assertions used before are all refused when replayed; an honest DPoP client gets through with a nonce`, {
      timeout: 60_000,
    }, async (t) => {
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
        server = await startServer({
          databaseUrl: pg?.url,
          env: { REDIS_URL: redis.url, TESSERA_RATE_LIMITS: LIMITS, TESSERA_CLOCK_SKEW: '0' },
          bootstrap: bootstrap(pkjKey),
        });
        const issuer = server.issuer;
        const tokenUrl = `${issuer}/token`;
        const post = (body: string, headers: Record<string, string> = {}) =>
          fetch(tokenUrl, {
            method: 'POST',
            headers: { 'content-type': FORM, ...headers },
            body,
            signal: AbortSignal.timeout(10_000),
          });
        const pkjBody = (a: string) =>
          new URLSearchParams({
            grant_type: 'client_credentials',
            client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
            client_assertion: a,
          }).toString();

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
          const r1 = await post('grant_type=client_credentials', {
            authorization: basic('svc', SVC),
            dpop: proofs[i]!,
          });
          const b1 = (await r1.json()) as { error?: string };
          answers.push(r1.status);
          assert.equal(r1.status, 400, JSON.stringify(b1));
          assert.ok(b1.error === 'use_dpop_nonce' || b1.error === 'invalid_dpop_proof', JSON.stringify(b1));
          const r2 = await post(pkjBody(assertions[i]!));
          answers.push(r2.status);
          assert.equal(r2.status, 401, await r2.text());
        }
        assert.equal(answers.length, 40);
        assert.equal(answers.filter((s) => s === 200).length, 0, 'no replayed artifact was accepted');
        await server.waitForOutput(/replay_store_lost/); // the first request after the restart found the loss

        // An honest DPoP client: asked for a nonce (RFC 9449 section 8), then served.
        const first = await post('grant_type=client_credentials', {
          authorization: basic('svc', SVC),
          dpop: await dpopProof(dpopKey, tokenUrl),
        });
        assert.equal(first.status, 400);
        assert.equal(((await first.json()) as { error: string }).error, 'use_dpop_nonce');
        const nonce = first.headers.get('dpop-nonce');
        assert.ok(nonce, 'a DPoP-Nonce is given');
        const second = await post('grant_type=client_credentials', {
          authorization: basic('svc', SVC),
          dpop: await dpopProof(dpopKey, tokenUrl, nonce),
        });
        assert.equal(second.status, 200, await second.text());
        // A client assertion made after the loss is accepted (clock skew 0 here).
        await sleep(1100);
        const fresh = await post(pkjBody(await assertion(pkjKey, 'pkj', issuer)));
        assert.equal(fresh.status, 200, await fresh.text());
        // And the replay protection works again on the new generation.
        const proof = await dpopProof(dpopKey, tokenUrl, nonce);
        assert.equal(
          (await post('grant_type=client_credentials', { authorization: basic('svc', SVC), dpop: proof })).status,
          200,
        );
        assert.equal(
          (await post('grant_type=client_credentials', { authorization: basic('svc', SVC), dpop: proof })).status,
          400,
        );
      } finally {
        await server?.stop();
        server = undefined;
        await pg?.drop();
      }
    });
  }
});
