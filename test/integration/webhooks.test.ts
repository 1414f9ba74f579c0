// Webhooks end to end (issue 18), on SQLite and PostgreSQL: a real receiver (node:http on loopback,
// under the development allowance) verifies every signature with the `standardwebhooks` package;
// it answers 500 twice and then 200, and sees three attempts of one message (same webhook-id), which
// the delivery log shows with the answers cut to 1 KiB. Filters choose the events; private
// addresses are refused when endpoints are saved and when they are connected to; the test ping;
// the secret is never in the audit trail or the log; two instances on one PostgreSQL deliver each
// record once. The store's leases and races are in test/contract/webhooks-contract.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { runAction, type AdminPrincipal } from '../../src/admin/action.ts';
import { actionNamed } from '../../src/admin/actions/index.ts';
import { saveUser } from '../../src/admin/users.ts';
import type { App } from '../../src/app.ts';
import { ROLE_SCOPES } from '../../src/protocol/admin-scopes.ts';
import { tokenHash } from '../../src/protocol/hash.ts';
import { backends, testApp } from '../fixtures/app.ts';
import { createPgDatabase } from '../fixtures/db.ts';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A receiver on 127.0.0.1: records every request and answers with the next status of `script` (then the last). */
async function receiver(script: number[] = [200]) {
  const got: Received[] = [];
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = script[Math.min(n++, script.length - 1)]!;
      res.writeHead(status, { 'content-type': 'text/html' });
      // A long answer with markup: the log keeps 1 KiB of it, as text.
      res.end(status >= 300 ? `<script>alert(1)</script>\u0000${'x'.repeat(5000)}` : 'ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    got,
    url: `http://127.0.0.1:${port}/hook`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const owner: AdminPrincipal = { kind: 'cli', id: 'cli', scopes: new Set(ROLE_SCOPES.owner), via: 'cli', ip: null };
const run = (app: App, name: string, input: Record<string, unknown>) =>
  runAction(app.provider, actionNamed(name)!, owner, input);

/** Writes an audit record (through the batched writer, as the server does) and waits for it. */
async function audit(app: App, type: string, details: Record<string, string | number> = {}) {
  app.audit.record({
    at: Date.now(),
    type,
    actor: 'u1',
    clientId: 'web',
    ip: '192.0.2.7',
    outcome: 'success',
    details,
  });
  await app.audit.flush();
}

/** Runs the dispatcher until `done` holds (retries due at once with the test's zero delays). */
async function dispatchUntil(app: App, done: () => boolean, rounds = 20) {
  for (let i = 0; i < rounds && !done(); i++) {
    await app.webhooks.runOnce();
    if (!done()) await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(done(), 'the receiver did not get what was expected');
}

for (const backend of await backends()) {
  describe(`webhooks: ${backend.name}`, { skip: backend.url ? false : 'PostgreSQL unreachable' }, () => {
    let app: App;
    before(async () => {
      // The timer is off (an hour): each test runs the dispatcher itself. Retries are due at once.
      app = await testApp(backend.url!, {}, { webhooks: { retryDelays: [0], jitter: 0, interval: 3_600_000 } });
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    it('signs every attempt, retries after 500 twice, and the delivery log shows the three attempts', async () => {
      const rx = await receiver([500, 500, 200]);
      try {
        const created = (await run(app, 'webhooks.create', { url: rx.url, events: ['test_retry'] })).result as {
          id: string;
          secret: string;
          last_seq: number;
        };
        assert.match(created.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
        await audit(app, 'test_retry', { n: 1 });
        await dispatchUntil(app, () => rx.got.length >= 3);
        await app.webhooks.runOnce();
        assert.equal(rx.got.length, 3, 'no attempt after the 200');
        const metrics = await app.metrics.registry.metrics();
        assert.match(metrics, /tessera_webhook_deliveries_total\{outcome="retry"\} 2/);
        assert.match(metrics, /tessera_webhook_deliveries_total\{outcome="delivered"\} 1/);
        const verifier = new Webhook(created.secret);
        let seq = 0;
        const ids = new Set<string>();
        for (const r of rx.got) {
          const body = verifier.verify(r.body, r.headers as Record<string, string>) as {
            type: string;
            timestamp: string;
            data: Record<string, unknown>;
          };
          ids.add(String(r.headers['webhook-id']));
          assert.equal(r.headers['content-type'], 'application/json');
          assert.equal(body.type, 'tessera.test_retry');
          // After the cursor's start (the endpoint's own webhook_created record comes first).
          assert.ok((body.data.seq as number) > created.last_seq);
          seq = body.data.seq as number;
          assert.equal(body.data.type, 'test_retry');
          assert.equal(body.data.actor, 'u1');
          assert.equal(body.data.client_id, 'web');
          assert.equal(body.data.ip, '192.0.2.7');
          assert.equal(body.data.outcome, 'success');
          assert.deepEqual(body.data.details, { n: 1 });
          assert.ok(!Number.isNaN(Date.parse(body.timestamp)));
        }
        assert.deepEqual([...ids], [`msg_${created.id}_${seq}`], 'the same webhook-id at every attempt');
        // A wrong secret does not verify.
        assert.throws(() =>
          new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(
            rx.got[0]!.body,
            rx.got[0]!.headers as Record<string, string>,
          ),
        );

        const log = (await run(app, 'webhooks.deliveries', { id: created.id })).result as {
          items: { id: string; status: string; attempts: number; last_status: number }[];
        };
        assert.equal(log.items.length, 1);
        assert.equal(log.items[0]!.status, 'delivered');
        assert.equal(log.items[0]!.attempts, 3);
        assert.equal(log.items[0]!.last_status, 200);
        const one = (await run(app, 'webhooks.delivery', { id: created.id, delivery_id: log.items[0]!.id })).result as {
          payload: string;
          attempt_log: { attempt: number; status: number; error: string | null; response: string | null }[];
        };
        assert.deepEqual(
          one.attempt_log.map((a) => [a.attempt, a.status, a.error]),
          [
            [1, 500, 'status'],
            [2, 500, 'status'],
            [3, 200, null],
          ],
        );
        assert.equal(Buffer.byteLength(one.attempt_log[0]!.response!), 1024, 'the answer is cut to 1 KiB');
        assert.ok(one.attempt_log[0]!.response!.startsWith('<script>'), 'kept as text (the console escapes it)');
        assert.ok(!one.attempt_log[0]!.response!.includes('\u0000'), 'a NUL in the answer is not stored');
        assert.equal(JSON.parse(one.payload).type, 'tessera.test_retry');
        const failed = (await run(app, 'webhooks.deliveries', { id: created.id, status: 'failed' })).result as {
          items: unknown[];
        };
        assert.equal(failed.items.length, 0);

        // Redelivery: the same message again, a fourth attempt in the log.
        await run(app, 'webhooks.redeliver', { id: created.id, delivery_id: log.items[0]!.id });
        await dispatchUntil(app, () => rx.got.length >= 4);
        assert.equal(rx.got[3]!.headers['webhook-id'], rx.got[0]!.headers['webhook-id']);

        // The secret is nowhere but at the receiver: not in the audit trail, not in the log.
        await app.audit.flush();
        const trail = JSON.stringify(await app.stores.audit.query({ limit: 1000, descending: true }));
        assert.ok(!trail.includes(created.secret.slice(6)), 'secret in the audit trail');
        // Nor the URL's path (a receiver's token may sit there): the trail keeps its origin only.
        assert.ok(!trail.includes(rx.url), 'the URL in the audit trail');
        assert.ok(trail.includes(`${new URL(rx.url).origin}/…`), 'the origin in the audit trail');
        assert.ok(!JSON.stringify(one).includes(created.secret.slice(6)));
        const read = (await run(app, 'webhooks.read', { id: created.id })).result as Record<string, unknown>;
        assert.equal(read.secret, undefined);
        await run(app, 'webhooks.delete', { id: created.id });
      } finally {
        await rx.close();
      }
    });

    it('filters: an endpoint gets only the types and prefixes it names; a disabled one gets nothing', async () => {
      const rx = await receiver();
      const rxAll = await receiver();
      try {
        const some = (await run(app, 'webhooks.create', { url: rx.url, events: ['filter_one', 'filterp_*'] }))
          .result as { id: string };
        const off = (await run(app, 'webhooks.create', { url: rxAll.url, enabled: false })).result as { id: string };
        await audit(app, 'filter_one');
        await audit(app, 'filter_two');
        await audit(app, 'filterp_a');
        await audit(app, 'filterp_b');
        await dispatchUntil(app, () => rx.got.length >= 3);
        await app.webhooks.runOnce();
        // Two of an endpoint's deliveries may be in flight at once: the order of arrival may vary.
        assert.deepEqual(rx.got.map((r) => JSON.parse(r.body).type).sort(), [
          'tessera.filter_one',
          'tessera.filterp_a',
          'tessera.filterp_b',
        ]);
        assert.equal(rxAll.got.length, 0, 'disabled');
        await run(app, 'webhooks.delete', { id: some.id });
        await run(app, 'webhooks.delete', { id: off.id });
      } finally {
        await rx.close();
        await rxAll.close();
      }
    });

    it('the test action sends a signed tessera.ping at once and logs it', async () => {
      const rx = await receiver([204]);
      try {
        const created = (await run(app, 'webhooks.create', { url: rx.url, events: ['nothing_at_all'] })).result as {
          id: string;
          secret: string;
        };
        const tested = (await run(app, 'webhooks.test', { id: created.id })).result as {
          status: string;
          last_status: number;
        };
        assert.equal(tested.status, 'delivered');
        assert.equal(tested.last_status, 204);
        assert.equal(rx.got.length, 1);
        const body = new Webhook(created.secret).verify(rx.got[0]!.body, rx.got[0]!.headers as Record<string, string>);
        assert.equal((body as { type: string }).type, 'tessera.ping');
        // After rotation the old secret no longer verifies, the new one does.
        const rotated = (await run(app, 'webhooks.rotate-secret', { id: created.id })).result as { secret: string };
        assert.notEqual(rotated.secret, created.secret);
        await run(app, 'webhooks.test', { id: created.id });
        const last = rx.got[1]!;
        assert.throws(() => new Webhook(created.secret).verify(last.body, last.headers as Record<string, string>));
        new Webhook(rotated.secret).verify(last.body, last.headers as Record<string, string>);
        const log = (await run(app, 'webhooks.deliveries', { id: created.id })).result as { items: unknown[] };
        assert.equal(log.items.length, 2);
        await run(app, 'webhooks.delete', { id: created.id });
      } finally {
        await rx.close();
      }
    });

    it('refuses private, non-https and malformed URLs when an endpoint is saved (400)', async () => {
      for (const url of [
        'https://10.0.0.1/hook',
        'https://192.168.1.20/hook',
        'https://169.254.169.254/latest/meta-data',
        'http://example.com/hook',
        'https://user:pass@example.com/hook',
        'not a url',
        'ftp://example.com/',
      ]) {
        const err = await run(app, 'webhooks.create', { url }).then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(err instanceof Error, `${url} was accepted`);
        assert.equal((err as { name: string }).name, 'AdminError', `${url}: ${String(err)}`);
      }
      const bad = await run(app, 'webhooks.create', { url: 'https://example.com/', events: ['no spaces'] }).then(
        () => undefined,
        (e: unknown) => e as { status?: number },
      );
      assert.equal(bad?.status, 400);
    });
  });
}

describe('webhooks: loopback refused without the test allowance', () => {
  it('a receiver on 127.0.0.1 is neither accepted nor connected to', async () => {
    const rx = await receiver();
    const app = await testApp(
      'sqlite::memory:',
      { TESSERA_CLIENT_JWKS_ALLOW_LOOPBACK: 'false' },
      { webhooks: { retryDelays: [0], jitter: 0, interval: 3_600_000 } },
    );
    try {
      const err = await run(app, 'webhooks.create', { url: rx.url }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      assert.equal(err?.name, 'AdminError');
      // Stored anyway (as a database edit or an older rule would): the connection is refused all the same.
      const created = (
        await run(app, 'webhooks.create', { url: 'https://hooks.example.com/in', events: ['refused_event'] })
      ).result as {
        id: string;
      };
      const stored = (await app.stores.webhooks.get(created.id))!;
      await app.stores.webhooks.update({ ...stored, url: `https://127.0.0.1:${new URL(rx.url).port}/hook` });
      await audit(app, 'refused_event');
      await app.webhooks.runOnce();
      const log = (await run(app, 'webhooks.deliveries', { id: created.id })).result as {
        items: { id: string; last_error: string | null; status: string }[];
      };
      assert.equal(log.items.length, 1);
      assert.equal(log.items[0]!.last_error, 'refused');
      assert.equal(rx.got.length, 0, 'nothing reached the receiver');
    } finally {
      await app.close();
      await rx.close();
    }
  });
});

describe('webhooks: two instances on one PostgreSQL', async () => {
  const pg = await createPgDatabase();
  it('deliver each record once', { skip: pg ? false : 'PostgreSQL unreachable' }, async () => {
    const rx = await receiver();
    const opts = { webhooks: { retryDelays: [0], jitter: 0, interval: 3_600_000 } };
    const a = await testApp(pg!.url, {}, opts);
    const b = await testApp(pg!.url, {}, opts);
    try {
      await run(a, 'webhooks.create', { url: rx.url, events: ['twice_*'] });
      for (let i = 0; i < 40; i++) (i % 2 ? a : b).audit.record(event(`twice_${i}`));
      await Promise.all([a.audit.flush(), b.audit.flush()]);
      for (let round = 0; round < 20 && rx.got.length < 40; round++)
        await Promise.all([a.webhooks.runOnce(), b.webhooks.runOnce(), a.webhooks.runOnce(), b.webhooks.runOnce()]);
      await Promise.all([a.webhooks.runOnce(), b.webhooks.runOnce()]);
      const ids = rx.got.map((r) => String(r.headers['webhook-id']));
      assert.equal(ids.length, 40);
      assert.equal(new Set(ids).size, 40, 'a record delivered twice');
    } finally {
      await a.close();
      await b.close();
      await rx.close();
      await pg?.drop();
    }
  });
});

for (const name of ['sqlite', 'postgres']) {
  describe(`webhooks: a hanging receiver does not hold the others back (${name})`, async () => {
    const pg = name === 'postgres' ? await createPgDatabase() : undefined;
    const url = name === 'sqlite' ? 'sqlite::memory:' : pg?.url;
    after(async () => {
      await pg?.drop();
    });
    it('40 events reach the healthy endpoint promptly; the hanging one is pushed back', {
      skip: url ? false : 'PostgreSQL unreachable',
    }, async () => {
      // A receiver that reads the request and never answers (each attempt times out after 1 s).
      let hung = 0;
      const hanging = createServer((req) => {
        hung++;
        req.resume();
      });
      await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
      const healthy = await receiver();
      const app = await testApp(
        url!,
        { TESSERA_WEBHOOK_TIMEOUT_MS: '1000' },
        { webhooks: { retryDelays: [3600], jitter: 0, interval: 3_600_000 } },
      );
      try {
        const bad = (
          await run(app, 'webhooks.create', {
            url: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/h`,
            events: ['hol_*'],
          })
        ).result as { id: string };
        await run(app, 'webhooks.create', { url: healthy.url, events: ['hol_*'] });
        for (let i = 0; i < 40; i++) app.audit.record(event(`hol_${i}`));
        await app.audit.flush();
        const t0 = Date.now();
        await app.webhooks.runOnce();
        const ms = Date.now() - t0;
        assert.equal(healthy.got.length, 40);
        // Before the fix, batches of 10 each waited for the hanging receiver: about 8 s.
        assert.ok(ms < 4000, `took ${ms} ms`);
        // At most 2 in flight for the hanging endpoint; after 3 failures in a row the rest wait.
        assert.ok(hung <= 4, `${hung} attempts at the hanging receiver`);
        assert.ok((await app.stores.webhooks.pendingCount(bad.id)) >= 36);
        const again = Date.now();
        await app.webhooks.runOnce();
        assert.ok(Date.now() - again < 500, 'the pushed-back deliveries are not due');
      } finally {
        hanging.closeAllConnections();
        hanging.close();
        await healthy.close();
        await app.close();
      }
    });

    it('on its timers, events queued while a hanging delivery is in flight reach the healthy endpoint at once', {
      skip: url ? false : 'PostgreSQL unreachable',
    }, async () => {
      const hanging = createServer((req) => req.resume());
      await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
      const healthy = await receiver();
      // The attempts at the hanging receiver last 5 s; the timers fire every 100 ms.
      const app = await testApp(
        url!,
        { TESSERA_WEBHOOK_TIMEOUT_MS: '5000' },
        { webhooks: { retryDelays: [3600], jitter: 0, interval: 100 } },
      );
      try {
        await run(app, 'webhooks.create', {
          url: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/h`,
          events: ['timer_*'],
        });
        await run(app, 'webhooks.create', { url: healthy.url, events: ['timer_*'] });
        const t0 = Date.now();
        for (let i = 0; i < 5; i++) app.audit.record(event(`timer_a${i}`));
        await app.audit.flush();
        const until = async (n: number) => {
          while (healthy.got.length < n && Date.now() - t0 < 4000) await new Promise((r) => setTimeout(r, 20));
        };
        await until(5);
        // The hanging receiver's first two deliveries are in flight now; five more events.
        for (let i = 0; i < 5; i++) app.audit.record(event(`timer_b${i}`));
        await app.audit.flush();
        await until(10);
        assert.equal(healthy.got.length, 10);
        assert.ok(Date.now() - t0 < 4000, 'the second events waited for the hanging receiver');
      } finally {
        hanging.closeAllConnections();
        hanging.close();
        await healthy.close();
        await app.close();
      }
    });
  });
}

function event(type: string) {
  return { at: Date.now(), type, actor: null, clientId: null, ip: null, outcome: 'success' as const, details: {} };
}

describe('webhooks in the console', () => {
  it('shows the delivery log with the receiver answer escaped, and an endpoint list for an owner', async () => {
    const rx = await receiver([500]);
    const app = await testApp(
      'sqlite::memory:',
      { TESSERA_ADMIN_CONSOLE: 'true' },
      { webhooks: { retryDelays: [3600], jitter: 0, interval: 3_600_000 } },
    );
    try {
      const now = app.provider.now();
      const { user } = await saveUser(app.stores, { username: 'olivia', password: 'console test password 7391' }, now);
      await app.stores.adminRoles.set({ userId: user.id, role: 'owner', grantedAt: now, grantedBy: 'cli' });
      const value = randomBytes(32).toString('base64url');
      await app.stores.sessions.create({
        idHash: tokenHash(value),
        sid: randomBytes(16).toString('base64url'),
        userId: user.id,
        authTime: now,
        amr: ['pwd', 'otp', 'mfa'],
        createdAt: now,
        lastSeenAt: now,
        expiresAt: now + 3600,
      });
      const cookie = `tessera_session=${value}`;
      const created = (await run(app, 'webhooks.create', { url: rx.url, events: ['console_event'] })).result as {
        id: string;
        secret: string;
      };
      await audit(app, 'console_event');
      await dispatchUntil(app, () => rx.got.length >= 1);
      const [d] = (await app.stores.webhooks.deliveries({ endpointId: created.id, limit: 1 })).items;
      const list = await app.server.inject({ url: '/admin/webhooks', headers: { cookie } });
      assert.equal(list.statusCode, 200);
      assert.ok(list.body.includes(created.id));
      assert.ok(!list.body.includes(created.secret.slice(6)), 'the secret is never shown again');
      const page = await app.server.inject({
        url: `/admin/do/webhooks.delivery?id=${created.id}&delivery_id=${d!.id}&go=1`,
        headers: { cookie },
      });
      assert.equal(page.statusCode, 200, page.body.slice(0, 400));
      assert.ok(page.body.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'the answer, escaped');
      assert.ok(!page.body.includes('<script>alert(1)'), 'never as markup');
    } finally {
      await app.close();
      await rx.close();
    }
  });
});
