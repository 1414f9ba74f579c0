import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomToken } from '../hash.ts';
import { hashClientSecret, secretMemo, verifyClientSecret, verifyClientSecretRotating } from './secret-hash.ts';

describe('client secret hashes', () => {
  const serverSecret = randomToken(32);

  it('accepts the secret, again and again (the remembered digest), and nothing else', () => {
    const secret = randomToken(32);
    const stored = hashClientSecret(serverSecret, secret);
    assert.match(stored, /^hs256\$/);
    assert.equal(verifyClientSecret(serverSecret, secret, stored), true);
    assert.equal(verifyClientSecret(serverSecret, secret, stored), true);
    const other = randomToken(32); // same length, so only the comparison tells them apart
    assert.equal(verifyClientSecret(serverSecret, other, stored), false);
    assert.equal(verifyClientSecret(serverSecret, secret.slice(0, -1), stored), false);
    assert.equal(verifyClientSecret(serverSecret, '', stored), false);
    assert.equal(verifyClientSecret(serverSecret, secret, stored), true);
  });

  it('a secret remembered under one server secret or stored hash is not accepted under another', () => {
    const secret = randomToken(32);
    const stored = hashClientSecret(serverSecret, secret);
    assert.equal(verifyClientSecret(serverSecret, secret, stored), true);
    assert.equal(verifyClientSecret(randomToken(32), secret, stored), false);
    // The client's secret was replaced: the old one no longer matches the new stored hash.
    const replaced = hashClientSecret(serverSecret, randomToken(32));
    assert.equal(verifyClientSecret(serverSecret, secret, replaced), false);
  });

  it('refuses clients without a usable stored hash', () => {
    const secret = randomToken(32);
    assert.equal(verifyClientSecret(serverSecret, secret, null), false);
    assert.equal(
      verifyClientSecret(serverSecret, secret, hashClientSecret(serverSecret, secret).replace('hs256$', 'argon2$')),
      false,
    );
  });

  it('forgets nothing it must not: many clients in turn all still verify', () => {
    const pairs = Array.from({ length: 50 }, () => {
      const s = randomToken(24);
      return [s, hashClientSecret(serverSecret, s)] as const;
    });
    for (let round = 0; round < 2; round++)
      for (const [s, stored] of pairs) assert.equal(verifyClientSecret(serverSecret, s, stored), true);
    for (const [, stored] of pairs)
      assert.equal(verifyClientSecret(serverSecret, pairs[0]![0], stored), stored === pairs[0]![1]);
  });

  it('with a memo: a remembered digest answers its secret, only under the server secret and stored hash it matched', () => {
    const memo = secretMemo();
    const secret = randomToken(32);
    const stored = hashClientSecret(serverSecret, secret);
    assert.equal(memo.recall(serverSecret, stored), undefined);
    assert.equal(verifyClientSecret(serverSecret, secret, stored, memo), true);
    assert.ok(memo.recall(serverSecret, stored) !== undefined);
    assert.equal(verifyClientSecret(serverSecret, secret, stored, memo), true);
    assert.equal(verifyClientSecret(serverSecret, randomToken(32), stored, memo), false);
    assert.equal(verifyClientSecret(randomToken(32), secret, stored, memo), false);
    const replaced = hashClientSecret(serverSecret, randomToken(32));
    assert.equal(verifyClientSecret(serverSecret, secret, replaced, memo), false);
    const previous = randomToken(32);
    const underPrevious = hashClientSecret(previous, secret);
    assert.equal(verifyClientSecretRotating(randomToken(32), previous, secret, underPrevious, memo), 'previous');
  });

  it('with a memo: it is emptied at its bound, and every client still verifies', () => {
    const memo = secretMemo(3);
    const pairs = Array.from({ length: 5 }, () => {
      const s = randomToken(24);
      return [s, hashClientSecret(serverSecret, s)] as const;
    });
    for (let round = 0; round < 2; round++) {
      for (const [s, stored] of pairs) assert.equal(verifyClientSecret(serverSecret, s, stored, memo), true);
    }
    assert.equal(memo.recall(serverSecret, pairs[0]![1]), undefined, 'emptied when it reached three');
    const [last, lastStored] = pairs[4]!;
    for (const [, stored] of pairs)
      assert.equal(verifyClientSecret(serverSecret, last, stored, memo), stored === lastStored);
  });
});
