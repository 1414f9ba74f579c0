import assert from 'node:assert/strict';
import * as nodeCrypto from 'node:crypto';
import { describe, it } from 'node:test';
import { accessTokenMemo, mintAccessToken, newJti, verifyAccessToken } from './access-token.ts';
import { generateSigningKey, KeyRing, unwrapPrivateJwk } from './keys.ts';
import { importSigningKey } from './signer.ts';

describe('newJti', () => {
  it('draws unique ids', () => {
    const ids = new Set(Array.from({ length: 20_000 }, newJti));
    assert.equal(ids.size, 20_000);
  });

  if (typeof nodeCrypto.randomUUIDv7 === 'function') {
    it('is a version 7 UUID carrying the time it was made, so later ids sort after earlier ones', async () => {
      const before = Date.now();
      const first = newJti();
      assert.match(first, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const ms = parseInt(first.replaceAll('-', '').slice(0, 12), 16);
      assert.ok(ms >= before && ms <= Date.now(), `timestamp ${ms} not between ${before} and now`);
      await new Promise((r) => setTimeout(r, 2));
      assert.ok(newJti() > first);
    });
  } else {
    it('is a version 4 UUID where node has no randomUUIDv7', () => {
      assert.match(newJti(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    });
  }
});

describe('the verification memo', () => {
  const KEK = 'k'.repeat(40);
  const ISSUER = 'https://issuer.example';
  async function newRing(now: number): Promise<KeyRing> {
    const rec = await generateSigningKey('ES256', KEK, now);
    const jwk = await unwrapPrivateJwk(KEK, rec.privateJwe);
    return new KeyRing(importSigningKey(rec.kid, 'ES256', jwk as Record<string, unknown>), [rec], now);
  }
  const mint = (ring: KeyRing, now: number, ttl = 60) =>
    mintAccessToken(ring, {
      issuer: ISSUER,
      sub: 'u',
      clientId: 'c',
      audience: 'https://api.example',
      scope: 'read',
      now,
      ttl,
    }).token;

  it("remembers a verified token until it expires by the provider's clock", async () => {
    let clock = Math.floor(Date.now() / 1000);
    const ring = await newRing(clock);
    const memo = accessTokenMemo(() => clock);
    const p = { keys: () => ring, config: { issuer: ISSUER }, verifiedTokens: memo };
    const token = mint(ring, clock);
    const claims = await verifyAccessToken(p, token);
    assert.equal(claims?.sub, 'u');
    assert.equal(memo.recall(ring, token, false), claims);
    assert.equal(await verifyAccessToken(p, token), claims, 'answered from the memo');
    clock += 60;
    assert.equal(memo.recall(ring, token, true), claims, 'still there for revocation (allowExpired)');
    assert.equal(memo.recall(ring, token, false), undefined, "expired by the provider's clock");
    assert.equal(memo.recall(ring, token, true), undefined, 'and forgotten');
    memo.remember(ring, token, claims!);
    assert.equal(memo.recall(ring, token, true), undefined, 'an expired token is not remembered');
  });

  it('a new key ring starts a new memo, and the memo is bounded', async () => {
    const clock = Math.floor(Date.now() / 1000);
    const ring = await newRing(clock);
    const memo = accessTokenMemo(() => clock, 2);
    const p = { keys: () => ring, config: { issuer: ISSUER }, verifiedTokens: memo };
    const [a, b, c] = [mint(ring, clock), mint(ring, clock), mint(ring, clock)];
    for (const t of [a, b, c]) assert.ok(await verifyAccessToken(p, t));
    assert.equal(memo.recall(ring, a, false), undefined, 'the oldest entry went first');
    assert.ok(memo.recall(ring, b, false) && memo.recall(ring, c, false));
    const other = await newRing(clock);
    assert.equal(memo.recall(other, c, false), undefined);
    assert.equal(memo.recall(ring, c, false), undefined, 'the memo of the earlier ring is gone');
  });
});
