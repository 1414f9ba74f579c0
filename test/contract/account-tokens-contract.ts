/**
 * The account token contract (ports/account-tokens.ts): single use under a 50-way race, expiry,
 * a newer token replacing older ones, invalidation, and the two user lookups it answers. Call
 * accountTokensContract() inside a describe() with the stores under test.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Stores } from '../../src/ports/index.ts';
import { NOW, uid, user } from './factories.ts';

export function accountTokensContract(stores: () => Stores): void {
  const token = (userId: string, over: { purpose?: 'verify_email' | 'reset_password'; expiresAt?: number } = {}) => ({
    tokenHash: uid('hash'),
    userId,
    purpose: over.purpose ?? ('reset_password' as const),
    address: 'someone@example.net',
    createdAt: NOW,
    expiresAt: over.expiresAt ?? NOW + 900,
  });

  it('peek changes nothing; consume succeeds once, only before expiry and only for its purpose', async () => {
    const t = token(uid('u'));
    await stores().accountTokens.issue(t, { replace: false });
    assert.equal((await stores().accountTokens.peek(t.tokenHash, 'reset_password', NOW))?.userId, t.userId);
    assert.equal(await stores().accountTokens.peek(t.tokenHash, 'verify_email', NOW), undefined);
    assert.equal(await stores().accountTokens.consume(t.tokenHash, 'verify_email', NOW), undefined);
    assert.equal(await stores().accountTokens.consume(t.tokenHash, 'reset_password', NOW + 900), undefined, 'expired');
    const used = await stores().accountTokens.consume(t.tokenHash, 'reset_password', NOW + 1);
    assert.deepEqual(used, { ...t, usedAt: NOW + 1 });
    assert.equal(await stores().accountTokens.consume(t.tokenHash, 'reset_password', NOW + 2), undefined);
    assert.equal(await stores().accountTokens.peek(t.tokenHash, 'reset_password', NOW + 2), undefined);
  });

  it('50 concurrent uses of one token: exactly one succeeds', async () => {
    const t = token(uid('u'));
    await stores().accountTokens.issue(t, { replace: false });
    const results = await Promise.all(
      Array.from({ length: 50 }, () => stores().accountTokens.consume(t.tokenHash, 'reset_password', NOW)),
    );
    assert.equal(results.filter(Boolean).length, 1);
  });

  it('a newer token with replace ends the older ones of that user and purpose; invalidate ends the rest', async () => {
    const userId = uid('u');
    const a = token(userId);
    const v = token(userId, { purpose: 'verify_email' });
    await stores().accountTokens.issue(a, { replace: true });
    await stores().accountTokens.issue(v, { replace: true });
    const b = token(userId);
    await stores().accountTokens.issue(b, { replace: true });
    assert.equal(await stores().accountTokens.peek(a.tokenHash, 'reset_password', NOW), undefined);
    assert.ok(await stores().accountTokens.peek(b.tokenHash, 'reset_password', NOW));
    assert.ok(await stores().accountTokens.peek(v.tokenHash, 'verify_email', NOW), 'another purpose stays');
    assert.equal(await stores().accountTokens.invalidate(userId, 'reset_password', NOW), 1);
    assert.equal(await stores().accountTokens.peek(b.tokenHash, 'reset_password', NOW), undefined);
    assert.ok(await stores().accountTokens.peek(v.tokenHash, 'verify_email', NOW));
  });

  it('markEmailVerified only while the address is still the user’s (any case); verified addresses find their users', async () => {
    const address = `${uid('Mixed')}@Example.NET`;
    const u = user({ email: address, emailVerified: false });
    await stores().users.put(u);
    assert.deepEqual(await stores().accountTokens.usersWithVerifiedEmail(address), []);
    assert.equal(await stores().accountTokens.markEmailVerified(u.id, 'other@example.net', NOW), false);
    assert.equal((await stores().users.get(u.id))!.emailVerified, false);
    assert.equal(await stores().accountTokens.markEmailVerified(u.id, address.toLowerCase(), NOW + 1), true);
    assert.equal((await stores().users.get(u.id))!.emailVerified, true);
    assert.deepEqual(await stores().accountTokens.usersWithVerifiedEmail(address.toUpperCase()), [u.id]);
    await stores().users.put({ ...(await stores().users.get(u.id))!, disabled: true });
    assert.deepEqual(await stores().accountTokens.usersWithVerifiedEmail(address), [], 'disabled users are not found');
    assert.deepEqual(
      await stores().accountTokens.usersWithVerifiedEmail(address, { includeDisabled: true }),
      [u.id],
      'unless asked for (an upstream sign-in must not make a second account for a disabled person)',
    );
  });
}
