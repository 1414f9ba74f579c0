/**
 * The InitialAccessTokenStore contract (RFC 7591 initial access tokens): call
 * initialAccessTokensContract() inside a describe() with a getter for the store under test.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import type { InitialAccessTokenRecord, InitialAccessTokenStore } from '../../src/ports/registration-tokens.ts';

export function initialAccessTokensContract(store: () => InitialAccessTokenStore, now: number): void {
  const record = (over: Partial<InitialAccessTokenRecord> = {}): InitialAccessTokenRecord => ({
    id: randomUUID().slice(0, 8),
    tokenHash: `h-${randomUUID()}`,
    usesLeft: null,
    createdAt: now,
    expiresAt: now + 600,
    ...over,
  });
  const times = <T>(n: number, fn: () => Promise<T>) => Promise.all(Array.from({ length: n }, fn));

  it('create, find, list and revoke', async () => {
    const r = record({ usesLeft: 3 });
    await store().create(r);
    assert.deepEqual(await store().find(r.tokenHash, now), r);
    assert.equal(await store().find(`h-${randomUUID()}`, now), undefined);
    assert.ok((await store().list(now)).some((t) => t.id === r.id));
    assert.equal(await store().revoke(r.id), true);
    assert.equal(await store().revoke(r.id), false);
    assert.equal(await store().find(r.tokenHash, now), undefined);
  });

  it('expired tokens are neither found, listed nor consumed', async () => {
    const r = record({ expiresAt: now + 5 });
    await store().create(r);
    assert.equal(await store().find(r.tokenHash, now + 5), undefined);
    assert.equal(await store().consume(r.tokenHash, now + 5), false);
    assert.equal(
      (await store().list(now + 5)).some((t) => t.id === r.id),
      false,
    );
    assert.equal(await store().consume(r.tokenHash, now), true);
  });

  it('counts uses down to zero; unlimited tokens stay unlimited', async () => {
    const r = record({ usesLeft: 2 });
    await store().create(r);
    assert.equal(await store().consume(r.tokenHash, now), true);
    assert.equal((await store().find(r.tokenHash, now))!.usesLeft, 1);
    assert.equal(await store().consume(r.tokenHash, now), true);
    assert.equal(await store().consume(r.tokenHash, now), false);
    assert.equal(await store().find(r.tokenHash, now), undefined);
    const u = record();
    await store().create(u);
    for (let i = 0; i < 5; i++) assert.equal(await store().consume(u.tokenHash, now), true);
    assert.equal((await store().find(u.tokenHash, now))!.usesLeft, null);
  });

  it('50 parallel uses of a 3-use token: exactly 3 succeed', async () => {
    const r = record({ usesLeft: 3 });
    await store().create(r);
    const results = await times(50, () => store().consume(r.tokenHash, now));
    assert.equal(results.filter(Boolean).length, 3);
    assert.equal(await store().find(r.tokenHash, now), undefined);
  });
}
