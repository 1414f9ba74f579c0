/**
 * The mail outbox contract (ports/mail.ts MailOutboxStore): leased claims (each due mail to one
 * claimer, 50-way race), outcomes only by the lease's owner, content dropped once done. Call
 * mailOutboxContract() inside a describe() with a getter for the store; it leaves no mail pending.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import type { MailOutboxStore } from '../../src/ports/mail.ts';

export function mailOutboxContract(store: () => MailOutboxStore, now: number): void {
  const enqueue = async (n: number, at = now) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = randomUUID();
      ids.push(id);
      await store().enqueue({
        id,
        to: `r${i}@example.net`,
        template: 'new-device',
        vars: { i: String(i) },
        userId: i % 2 ? null : `user-${i}`,
        createdAt: at,
      });
    }
    return ids;
  };
  /** Takes every due mail out of the way (marks it sent), so each test starts from an empty queue. */
  const drain = async (at: number) => {
    for (const m of await store().claim('drain', at + 10_000_000, 1000, 60)) await store().markSent(m.id, 'drain', at);
  };

  it('a claim returns due mails with their content, counts the attempt and leases them', async () => {
    await drain(now);
    const [id] = await enqueue(1);
    assert.equal(await store().depth(), 1);
    assert.deepEqual(await store().claim('w1', now - 1, 10, 60), [], 'not due before its time');
    const [m] = await store().claim('w1', now, 10, 60);
    assert.deepEqual(m, {
      id,
      to: 'r0@example.net',
      template: 'new-device',
      vars: { i: '0' },
      userId: 'user-0',
      attempts: 1,
      createdAt: now,
    });
    assert.deepEqual(await store().claim('w2', now + 59, 10, 60), [], 'leased');
    assert.equal(await store().markSent(id!, 'w2', now), false, 'not the owner');
    assert.equal(await store().markSent(id!, 'w1', now), true);
    assert.equal(await store().markSent(id!, 'w1', now), false, 'once');
    assert.equal(await store().depth(), 0);
    assert.deepEqual(await store().claim('w3', now + 10_000, 10, 60), [], 'sent: never again');
  });

  it('retryLater makes it due again at the given time; a lost lease changes nothing; markFailed ends it', async () => {
    await drain(now);
    const [id] = await enqueue(1);
    await store().claim('w1', now, 10, 60);
    assert.equal(await store().retryLater(id!, 'w1', now + 120, 'timeout'), true);
    assert.deepEqual(await store().claim('w2', now + 119, 10, 60), []);
    const [again] = await store().claim('w2', now + 120, 10, 60);
    assert.equal(again!.attempts, 2);
    // w2 dies; its lease ends; w3 takes over, and w2's late outcome is ignored.
    const [taken] = await store().claim('w3', now + 181, 10, 60);
    assert.equal(taken!.id, id);
    assert.equal(taken!.attempts, 3);
    assert.equal(await store().markSent(id!, 'w2', now + 182), false);
    assert.equal(await store().retryLater(id!, 'w2', now + 999, 'x'), false);
    assert.equal(await store().markFailed(id!, 'w3', now + 182, 'connection'), true);
    assert.equal(await store().depth(), 0);
    assert.deepEqual(await store().claim('w4', now + 100_000, 10, 60), []);
  });

  it('50 concurrent claimers: each due mail goes to exactly one', async () => {
    await drain(now);
    const ids = await enqueue(60);
    const claims = await Promise.all(Array.from({ length: 50 }, (_, k) => store().claim(`c${k}`, now, 3, 60)));
    const got = claims.flat().map((m) => m.id);
    assert.equal(new Set(got).size, got.length, 'no mail twice');
    const rest = (await store().claim('rest', now, 1000, 60)).map((m) => m.id);
    assert.deepEqual([...got, ...rest].sort(), [...ids].sort());
    for (const [k, c] of claims.entries())
      for (const m of c) assert.equal(await store().markSent(m.id, `c${k}`, now), true);
    for (const id of rest) assert.equal(await store().markSent(id, 'rest', now), true);
    assert.equal(await store().depth(), 0);
  });
}
