/**
 * The ClientBlockStore contract (operators' blocks of Client ID Metadata Document URLs): call
 * clientBlocksContract() inside a describe() with a getter for the store under test.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import type { ClientBlockStore } from '../../src/ports/client-blocks.ts';

export function clientBlocksContract(store: () => ClientBlockStore, now: number): void {
  const url = () => `https://${randomUUID()}.example.com/client.json`;

  it('add blocks an identifier once; remove lifts it once', async () => {
    const id = url();
    assert.equal(await store().has(id), false);
    assert.equal(await store().add(id, now), true);
    assert.equal(await store().has(id), true);
    assert.equal(await store().add(id, now + 50), false, 'already blocked');
    assert.deepEqual(
      (await store().list()).find((b) => b.clientId === id),
      { clientId: id, blockedAt: now },
      'a second add keeps the first time',
    );
    assert.equal(await store().remove(id), true);
    assert.equal(await store().has(id), false);
    assert.equal(await store().remove(id), false, 'nothing left to lift');
    assert.equal(
      (await store().list()).some((b) => b.clientId === id),
      false,
    );
  });

  it('list is ordered by client id and blocks are per identifier, compared exactly', async () => {
    const base = `https://${randomUUID()}.example.com`;
    const [a, b] = [`${base}/a.json`, `${base}/b.json`];
    await store().add(b, now);
    await store().add(a, now + 1);
    assert.equal(await store().has(`${base}/A.json`), false, 'case matters in a path');
    assert.equal(await store().has(`${base}/a.json/`), false);
    const listed = (await store().list()).map((x) => x.clientId);
    assert.deepEqual(listed, [...listed].sort());
    assert.ok(listed.indexOf(a) < listed.indexOf(b));
    await store().remove(a);
    assert.equal(await store().has(b), true, 'lifting one leaves the other');
    await store().remove(b);
  });
}
