/**
 * The contract of the webhook store (ports/webhooks.ts, issue 18): endpoints, the cursor over the
 * audit trail (filters, the lease, the pending cap), leased claims of deliveries (each due delivery
 * to one claimer), attempts recorded only by the lease's owner, the delivery log's pages, redelivery
 * and retention. stores.test.ts declares it for every SQL backend (backends.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEvent, Stores, WebhookEndpoint, WebhookPullOptions } from '../../src/ports/index.ts';
import { NOW, uid } from './factories.ts';

const event = (type: string, over: Partial<AuditEvent> = {}): AuditEvent => ({
  at: NOW * 1000,
  type,
  actor: 'user-1',
  clientId: 'client-1',
  ip: '192.0.2.1',
  outcome: 'success',
  details: { n: 1 },
  ...over,
});

const options = (over: Partial<WebhookPullOptions> = {}): WebhookPullOptions => ({
  batch: 100,
  maxPending: 1000,
  lease: 30,
  deliveryId: (endpoint, seq) => `msg_${endpoint}_${seq}`,
  message: (r) => ({ type: `tessera.${r.type}`, payload: JSON.stringify({ type: `tessera.${r.type}`, data: r }) }),
  ...over,
});

export function webhooksContract(stores: Stores): void {
  describe('webhooks', () => {
    const endpoint = async (over: Partial<WebhookEndpoint> = {}): Promise<WebhookEndpoint> => {
      const e: WebhookEndpoint = {
        id: uid('wh'),
        url: 'https://hooks.example.com/in',
        description: 'Ünïcode ✓',
        events: [],
        enabled: true,
        secretWrapped: 'wrapped.secret',
        createdAt: NOW,
        updatedAt: NOW,
        lastSeq: await stores.webhooks.auditHead(),
        ...over,
      };
      await stores.webhooks.create(e);
      return e;
    };
    /** Disables every endpoint a test left, so the next test's pulls and claims see only its own. */
    const quiet = async () => {
      for (const e of await stores.webhooks.list())
        if (e.enabled) await stores.webhooks.update({ ...e, enabled: false });
    };

    it('creates, reads, lists, updates and deletes endpoints; ids are unique', async () => {
      await quiet();
      const e = await endpoint({ events: ['login_failed', 'admin_*'] });
      assert.deepEqual(await stores.webhooks.get(e.id), e);
      assert.ok((await stores.webhooks.list()).some((x) => x.id === e.id));
      await assert.rejects(stores.webhooks.create(e));
      const changed = { ...e, url: 'https://other.example.com/', events: [], enabled: false, updatedAt: NOW + 5 };
      assert.equal(await stores.webhooks.update(changed), true);
      assert.deepEqual(await stores.webhooks.get(e.id), changed);
      assert.equal(await stores.webhooks.update({ ...e, id: 'wh_none' }), false);
      assert.equal(await stores.webhooks.delete(e.id), true);
      assert.equal(await stores.webhooks.get(e.id), undefined);
      assert.equal(await stores.webhooks.delete(e.id), false);
    });

    it('a cursor starts at the head, queues what its filter takes once, and moves past the rest', async () => {
      await quiet();
      const all = await endpoint();
      const some = await endpoint({ events: ['login_failed', 'admin_*'] });
      const head = await stores.webhooks.auditHead();
      await stores.audit.append([event('login_failed'), event('token_issued'), event('admin_client_created')]);
      assert.equal(await stores.webhooks.auditHead(), head + 3);
      assert.equal(await stores.webhooks.pull('p1', NOW, options()), 3 + 2);
      assert.equal(await stores.webhooks.pull('p1', NOW, options()), 0, 'nothing new');
      assert.equal((await stores.webhooks.get(all.id))!.lastSeq, head + 3);
      assert.equal((await stores.webhooks.get(some.id))!.lastSeq, head + 3);
      const page = await stores.webhooks.deliveries({ endpointId: some.id, limit: 10 });
      assert.deepEqual(page.items.map((d) => d.seq).sort(), [head + 1, head + 3]);
      const d = (await stores.webhooks.getDelivery(`msg_${some.id}_${head + 1}`))!;
      assert.equal(d.type, 'tessera.login_failed');
      assert.equal(d.status, 'pending');
      assert.equal(d.attempts, 0);
      assert.equal(d.nextAt, NOW);
      assert.equal(JSON.parse(d.payload).data.actor, 'user-1');
      assert.equal(await stores.webhooks.pendingCount(all.id), 3);
    });

    it('the cursor lease keeps other dispatchers off an endpoint until it ends; its holder renews it', async () => {
      await quiet();
      const e = await endpoint();
      await stores.audit.append([event('a1')]);
      assert.equal(await stores.webhooks.pull('p1', NOW, options()), 1);
      await stores.audit.append([event('a2')]);
      assert.equal(await stores.webhooks.pull('p2', NOW + 10, options()), 0, 'leased to p1');
      assert.equal(await stores.webhooks.pull('p1', NOW + 10, options()), 1, 'p1 renews');
      await stores.audit.append([event('a3')]);
      assert.equal(await stores.webhooks.pull('p2', NOW + 41, options()), 1, 'the lease ended');
      assert.equal(await stores.webhooks.pendingCount(e.id), 3);
    });

    it('pulls racing on every backend queue each record once', async () => {
      await quiet();
      const e = await endpoint();
      await stores.audit.append(Array.from({ length: 30 }, (_, i) => event(`race_${i}`)));
      const counts = await Promise.all(
        Array.from({ length: 8 }, (_, i) => stores.webhooks.pull(`racer-${i}`, NOW, options({ batch: 7 }))),
      );
      // Whoever won the lease took 7; the rest found it held. Its holder then drains the rest.
      let total = counts.reduce((a, b) => a + b, 0);
      const holder = `racer-${counts.findIndex((n) => n > 0)}`;
      for (let i = 0; i < 10; i++) total += await stores.webhooks.pull(holder, NOW, options({ batch: 7 }));
      assert.equal(total, 30);
      assert.equal(await stores.webhooks.pendingCount(e.id), 30);
    });

    it('an endpoint at the pending cap queues no more; its cursor waits', async () => {
      await quiet();
      const e = await endpoint();
      await stores.audit.append(Array.from({ length: 5 }, (_, i) => event(`cap_${i}`)));
      assert.equal(await stores.webhooks.pull('p1', NOW, options({ maxPending: 3 })), 3);
      assert.equal(await stores.webhooks.pull('p1', NOW, options({ maxPending: 3 })), 0);
      assert.equal((await stores.webhooks.get(e.id))!.lastSeq, e.lastSeq + 3);
      assert.equal(await stores.webhooks.pull('p1', NOW, options({ maxPending: 10 })), 2);
    });

    it('claims lease due deliveries to one claimer; attempts are recorded by the owner only', async () => {
      await quiet();
      const e = await endpoint({ secretWrapped: 'w-1' });
      await stores.audit.append([event('one')]);
      await stores.webhooks.pull('p1', NOW, options());
      assert.deepEqual(await stores.webhooks.claim('c1', NOW - 1, 10, 60), [], 'not due yet');
      const [d] = await stores.webhooks.claim('c1', NOW, 10, 60);
      assert.ok(d);
      assert.equal(d.url, e.url);
      assert.equal(d.secretWrapped, 'w-1');
      assert.equal(d.attempts, 1);
      assert.equal(d.roundAttempts, 1);
      assert.deepEqual(await stores.webhooks.claim('c2', NOW + 59, 10, 60), [], 'leased');
      const attempt = (n: number, status: number | null, error: string | null) => ({
        deliveryId: d.id,
        attempt: n,
        at: NOW,
        status,
        error,
        durationMs: 12,
        response: status ? '<b>nope</b>' : null,
      });
      assert.equal(
        await stores.webhooks.recordAttempt('c2', attempt(1, 500, 'status'), { status: 'pending', nextAt: NOW + 10 }),
        false,
        'not the owner',
      );
      assert.equal(
        await stores.webhooks.recordAttempt('c1', attempt(1, 500, 'status'), { status: 'pending', nextAt: NOW + 10 }),
        true,
      );
      assert.deepEqual(await stores.webhooks.claim('c2', NOW + 9, 10, 60), [], 'retry not due');
      const [again] = await stores.webhooks.claim('c2', NOW + 10, 10, 60);
      assert.equal(again!.attempts, 2);
      assert.equal(await stores.webhooks.recordAttempt('c2', attempt(2, 200, null), { status: 'delivered' }), true);
      assert.equal(await stores.webhooks.recordAttempt('c2', attempt(3, 200, null), { status: 'delivered' }), false);
      const done = (await stores.webhooks.getDelivery(d.id))!;
      assert.equal(done.status, 'delivered');
      assert.equal(done.lastStatus, 200);
      assert.equal(done.lastError, null);
      assert.equal(done.doneAt, NOW);
      assert.deepEqual(
        (await stores.webhooks.attempts(d.id)).map((a) => [a.attempt, a.status, a.error, a.response]),
        [
          [1, 500, 'status', '<b>nope</b>'],
          [2, 200, null, '<b>nope</b>'],
        ],
      );
      assert.deepEqual(await stores.webhooks.claim('c3', NOW + 10_000, 10, 60), [], 'delivered: never again');
      // Redelivery starts a new round; the log keeps the old attempts.
      assert.equal(await stores.webhooks.redeliver(d.id, NOW + 20), true);
      const [third] = await stores.webhooks.claim('c3', NOW + 20, 10, 60);
      assert.equal(third!.attempts, 3);
      assert.equal(third!.roundAttempts, 1);
      assert.equal(await stores.webhooks.redeliver(d.id, NOW + 21), false, 'leased now');
      assert.equal(await stores.webhooks.recordAttempt('c3', attempt(3, null, 'timeout'), { status: 'failed' }), true);
      assert.equal((await stores.webhooks.getDelivery(d.id))!.status, 'failed');
      assert.equal(await stores.webhooks.redeliver('msg_none', NOW), false);
    });

    it('claims racing take each due delivery once; a disabled endpoint is not claimed', async () => {
      await quiet();
      const e = await endpoint();
      await stores.audit.append(Array.from({ length: 20 }, (_, i) => event(`claim_${i}`)));
      await stores.webhooks.pull('p1', NOW, options());
      await stores.webhooks.update({ ...e, enabled: false });
      assert.deepEqual(await stores.webhooks.claim('c0', NOW, 50, 60), []);
      await stores.webhooks.update({ ...e, enabled: true });
      const got = await Promise.all(Array.from({ length: 10 }, (_, i) => stores.webhooks.claim(`c${i}`, NOW, 3, 60)));
      const ids = got.flat().map((d) => d.id);
      assert.equal(new Set(ids).size, ids.length, 'no delivery twice');
      assert.equal(ids.length, 20);
    });

    it('a claim with a per-endpoint cap takes each endpoint in turn; deferring an endpoint moves its due deliveries', async () => {
      await quiet();
      const a = await endpoint();
      const b = await endpoint();
      await stores.audit.append(Array.from({ length: 6 }, (_, i) => event(`fair_${i}`)));
      await stores.webhooks.pull('p1', NOW, options());
      const first = await stores.webhooks.claim('f1', NOW, 10, 60, 2);
      const per = (ds: { endpointId: string }[], id: string) => ds.filter((d) => d.endpointId === id).length;
      const attempt = (deliveryId: string, n: number, error: string | null = null) => ({
        deliveryId,
        attempt: n,
        at: NOW,
        status: error ? null : 204,
        error,
        durationMs: 5,
        response: null,
      });
      assert.equal(per(first, a.id), 2);
      assert.equal(per(first, b.id), 2);
      // Both endpoints at their cap, whoever asks.
      assert.deepEqual(await stores.webhooks.claim('f2', NOW, 10, 60, 2), []);
      const done = first.find((d) => d.endpointId === a.id)!;
      assert.ok(await stores.webhooks.recordAttempt('f1', attempt(done.id, 1), { status: 'delivered' }));
      const next = await stores.webhooks.claim('f2', NOW, 10, 60, 2);
      assert.deepEqual(
        next.map((d) => d.endpointId),
        [a.id],
      );
      // Deferred: b's due, unleased deliveries wait until NOW + 100; its leased ones are left alone.
      assert.equal(await stores.webhooks.deferEndpoint(b.id, NOW, NOW + 100), 4);
      for (const d of first.filter((x) => x.endpointId === b.id))
        assert.ok(
          await stores.webhooks.recordAttempt('f1', attempt(d.id, 1, 'timeout'), { status: 'pending', nextAt: NOW }),
        );
      const later = await stores.webhooks.claim('f3', NOW + 1, 10, 60, 2);
      assert.deepEqual(
        later.map((d) => d.endpointId),
        [b.id, b.id],
        'the two whose attempts were recorded are due; the deferred four are not',
      );
      const log = (await stores.webhooks.deliveries({ endpointId: b.id, limit: 10 })).items;
      assert.equal(log.filter((d) => d.nextAt === NOW + 100).length, 4);
    });

    it('the delivery log pages newest first and filters by status; a ping is added with its attempt; retention', async () => {
      await quiet();
      const e = await endpoint();
      for (let i = 0; i < 5; i++)
        await stores.webhooks.addAttempted(
          {
            id: `msg_ping_${e.id}_${i}`,
            endpointId: e.id,
            seq: null,
            type: 'tessera.ping',
            payload: '{}',
            status: i % 2 ? 'failed' : 'delivered',
            attempts: 1,
            nextAt: NOW + i,
            createdAt: NOW + i,
            doneAt: NOW + i,
            lastStatus: i % 2 ? 503 : 204,
            lastError: i % 2 ? 'status' : null,
          },
          {
            deliveryId: `msg_ping_${e.id}_${i}`,
            attempt: 1,
            at: NOW + i,
            status: i % 2 ? 503 : 204,
            error: i % 2 ? 'status' : null,
            durationMs: 3,
            response: null,
          },
        );
      const first = await stores.webhooks.deliveries({ endpointId: e.id, limit: 2 });
      assert.deepEqual(
        first.items.map((d) => d.createdAt),
        [NOW + 4, NOW + 3],
      );
      assert.ok(first.next);
      const second = await stores.webhooks.deliveries({ endpointId: e.id, limit: 2, after: first.next });
      assert.deepEqual(
        second.items.map((d) => d.createdAt),
        [NOW + 2, NOW + 1],
      );
      const failed = await stores.webhooks.deliveries({ endpointId: e.id, limit: 10, status: 'failed' });
      assert.deepEqual(
        failed.items.map((d) => d.createdAt),
        [NOW + 3, NOW + 1],
      );
      assert.deepEqual((await stores.webhooks.deliveries({ endpointId: e.id, limit: 2, after: 'bogus' })).items, []);
      assert.ok(
        (await stores.webhooks.deleteDoneBefore(NOW + 2)) >= 2,
        'the two done before NOW + 2 (and any other test left)',
      );
      assert.equal((await stores.webhooks.deliveries({ endpointId: e.id, limit: 10 })).items.length, 3);
      assert.deepEqual(await stores.webhooks.attempts(`msg_ping_${e.id}_0`), []);
      // Deleting the endpoint takes its deliveries and attempts.
      assert.equal(await stores.webhooks.delete(e.id), true);
      assert.equal(await stores.webhooks.getDelivery(`msg_ping_${e.id}_4`), undefined);
      assert.deepEqual(await stores.webhooks.attempts(`msg_ping_${e.id}_4`), []);
    });
  });
}
