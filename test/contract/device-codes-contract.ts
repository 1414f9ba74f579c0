/**
 * The DeviceCodeStore contract (RFC 8628 device authorizations): call deviceCodesContract() inside
 * a describe() with a getter for the store under test.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import type { DeviceApproval, DeviceCodeRecord, DeviceCodeStore } from '../../src/ports/device-codes.ts';

export function deviceCodesContract(store: () => DeviceCodeStore, now: number): void {
  const id = (p: string) => `${p}-${randomUUID()}`;
  const record = (over: Partial<DeviceCodeRecord> = {}): DeviceCodeRecord => ({
    deviceCodeHash: id('dc'),
    userCodeHash: id('uc'),
    clientId: 'tv',
    scope: 'openid profile',
    resource: null,
    status: 'pending',
    interval: 5,
    lastPolledAt: null,
    approval: null,
    createdAt: now,
    expiresAt: now + 600,
    ...over,
  });
  const approval: DeviceApproval = { userId: 'user-1', sid: 'sid-1', authTime: now, amr: ['pwd'] };
  const times = <T>(n: number, fn: () => Promise<T>) => Promise.all(Array.from({ length: n }, fn));

  it('create stores a record; get and findPendingByUserCode read it back', async () => {
    const r = record({ resource: 'https://api.example/' });
    assert.equal(await store().create(r, now), true);
    assert.deepEqual(await store().get(r.deviceCodeHash), r);
    assert.deepEqual(await store().findPendingByUserCode(r.userCodeHash, now), r);
    assert.equal(await store().findPendingByUserCode(id('uc'), now), undefined);
    assert.equal(await store().get(id('dc')), undefined);
  });

  it('a user code held by a live code is refused; one held by an expired code is taken over', async () => {
    const first = record({ expiresAt: now + 10 });
    assert.equal(await store().create(first, now), true);
    const clash = record({ userCodeHash: first.userCodeHash });
    assert.equal(await store().create(clash, now), false);
    assert.equal(await store().get(clash.deviceCodeHash), undefined);
    assert.deepEqual(await store().get(first.deviceCodeHash), first);
    assert.equal(await store().create(clash, now + 10), true);
    assert.equal(await store().get(first.deviceCodeHash), undefined);
    assert.deepEqual(await store().findPendingByUserCode(first.userCodeHash, now + 10), clash);
  });

  it('findPendingByUserCode ignores expired and decided codes', async () => {
    const expired = record({ expiresAt: now - 1 });
    const approved = record();
    await store().create(expired, now - 100);
    await store().create(approved, now);
    assert.equal(await store().approve(approved.deviceCodeHash, approval, now), true);
    assert.equal(await store().findPendingByUserCode(expired.userCodeHash, now), undefined);
    assert.equal(await store().findPendingByUserCode(approved.userCodeHash, now), undefined);
  });

  it('approve and deny act once, only on live pending codes', async () => {
    const a = record();
    const d = record();
    const old = record({ expiresAt: now });
    for (const r of [a, d, old]) await store().create(r, now - 1);
    assert.equal(await store().approve(a.deviceCodeHash, approval, now), true);
    assert.equal(await store().approve(a.deviceCodeHash, approval, now), false);
    assert.equal(await store().deny(a.deviceCodeHash, now), false);
    assert.deepEqual(await store().get(a.deviceCodeHash), { ...a, status: 'approved', approval });
    assert.equal(await store().deny(d.deviceCodeHash, now), true);
    assert.equal(await store().approve(d.deviceCodeHash, approval, now), false);
    assert.equal((await store().get(d.deviceCodeHash))!.status, 'denied');
    assert.equal(await store().approve(old.deviceCodeHash, approval, now), false);
    assert.equal(await store().deny(old.deviceCodeHash, now), false);
    assert.equal((await store().get(old.deviceCodeHash))!.status, 'pending');
    assert.equal(await store().approve(id('dc'), approval, now), false);
  });

  it('50 concurrent approvals (and denials) of one code: exactly one wins', async () => {
    const r = record();
    await store().create(r, now);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        i % 2 ? store().deny(r.deviceCodeHash, now) : store().approve(r.deviceCodeHash, approval, now),
      ),
    );
    assert.equal(results.filter(Boolean).length, 1);
  });

  it('poll: the first poll is on time; one sooner than the interval raises it by 5 s; one after it is on time again', async () => {
    const r = record();
    await store().create(r, now);
    const first = await store().poll(r.deviceCodeHash, 'tv', now);
    assert.deepEqual(first, { record: { ...r, lastPolledAt: now }, slowDown: false });
    const early = await store().poll(r.deviceCodeHash, 'tv', now + 4);
    assert.deepEqual(early, { record: { ...r, lastPolledAt: now + 4, interval: 10 }, slowDown: true });
    const stillEarly = await store().poll(r.deviceCodeHash, 'tv', now + 13);
    assert.equal(stillEarly!.slowDown, true);
    assert.equal(stillEarly!.record.interval, 15);
    const onTime = await store().poll(r.deviceCodeHash, 'tv', now + 28);
    assert.deepEqual(onTime, { record: { ...r, lastPolledAt: now + 28, interval: 15 }, slowDown: false });
  });

  it('poll changes nothing for another client, an unknown code or an expired one', async () => {
    const r = record({ expiresAt: now + 30 });
    await store().create(r, now);
    assert.equal(await store().poll(r.deviceCodeHash, 'other', now), undefined);
    assert.equal(await store().poll(id('dc'), 'tv', now), undefined);
    assert.equal(await store().poll(r.deviceCodeHash, 'tv', now + 30), undefined);
    assert.deepEqual(await store().get(r.deviceCodeHash), r);
  });

  it('50 concurrent polls: one on time, 49 slowed down, each raising the interval once', async () => {
    const r = record();
    await store().create(r, now);
    const results = await times(50, () => store().poll(r.deviceCodeHash, 'tv', now));
    assert.equal(results.filter((x) => x && !x.slowDown).length, 1);
    assert.equal(results.filter((x) => x?.slowDown).length, 49);
    assert.equal((await store().get(r.deviceCodeHash))!.interval, 5 + 49 * 5);
  });

  it('consume: only an approved code, only by its client, exactly once', async () => {
    const r = record();
    await store().create(r, now);
    assert.equal(await store().consume(r.deviceCodeHash, 'tv', now), undefined); // still pending
    await store().approve(r.deviceCodeHash, approval, now);
    assert.equal(await store().consume(r.deviceCodeHash, 'other', now), undefined);
    assert.deepEqual(await store().consume(r.deviceCodeHash, 'tv', now), { ...r, status: 'consumed', approval });
    assert.equal(await store().consume(r.deviceCodeHash, 'tv', now), undefined);
    assert.equal((await store().get(r.deviceCodeHash))!.status, 'consumed');
  });

  it('50 concurrent consumes of one approved code: exactly one gets it', async () => {
    const r = record();
    await store().create(r, now);
    await store().approve(r.deviceCodeHash, approval, now);
    const results = await times(50, () => store().consume(r.deviceCodeHash, 'tv', now));
    const won = results.filter(Boolean);
    assert.equal(won.length, 1);
    assert.deepEqual(won[0], { ...r, status: 'consumed', approval });
  });
}
