import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatUserCode, newUserCode, normalizeUserCode, USER_CODE_ALPHABET, USER_CODE_LENGTH } from './user-code.ts';

describe('user codes', () => {
  it('are 8 characters of the vowel-free, digit-free alphabet', () => {
    assert.equal(USER_CODE_ALPHABET.length, 20);
    assert.doesNotMatch(USER_CODE_ALPHABET, /[AEIOUY0-9]/);
    for (let i = 0; i < 200; i++) {
      const c = newUserCode();
      assert.equal(c.length, USER_CODE_LENGTH);
      assert.match(c, /^[BCDFGHJKLMNPQRSTVWXZ]{8}$/);
    }
  });

  it('use the whole alphabet and do not repeat (CSPRNG, not a fixed value)', () => {
    const seen = new Set<string>();
    const codes = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const c = newUserCode();
      codes.add(c);
      for (const ch of c) seen.add(ch);
    }
    assert.equal(codes.size, 500);
    assert.equal(seen.size, USER_CODE_ALPHABET.length);
  });

  it('are shown as XXXX-XXXX', () => {
    assert.equal(formatUserCode('BCDFGHJK'), 'BCDF-GHJK');
  });

  it('are read case- and dash-insensitively, with spaces allowed', () => {
    for (const typed of ['BCDF-GHJK', 'bcdf-ghjk', 'bcdfghjk', ' BcDf ghjk ', 'B-C-D-F-G-H-J-K']) {
      assert.equal(normalizeUserCode(typed), 'BCDFGHJK', typed);
    }
  });

  it('refuse wrong lengths, vowels, digits and other characters', () => {
    for (const typed of [
      '',
      'BCDF-GHJ',
      'BCDF-GHJKL',
      'BCDF-GHJA',
      'BCDF-GHJ0',
      'BCDF_GHJK',
      'BCDF-GHJ\u00C9',
      'B'.repeat(40),
      'BCDF%GHJK',
    ]) {
      assert.equal(normalizeUserCode(typed), undefined, typed);
    }
  });
});
