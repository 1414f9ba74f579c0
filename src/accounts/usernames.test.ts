import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalUsername, isReservedUsername, usernameSkeleton, usernameSyntaxProblem } from './usernames.ts';

describe('usernames: PRECIS UsernameCaseMapped (RFC 8265)', () => {
  it('one canonical form regardless of case and width', () => {
    for (const form of ['Bob', 'bob', 'BOB', 'ｂｏｂ', 'ＢＯＢ']) assert.equal(canonicalUsername(form), 'bob', form);
    assert.equal(canonicalUsername('Alice.B_1-x'), 'alice.b_1-x');
    assert.equal(canonicalUsername('alice@example.com'), 'alice@example.com'); // ASCII punctuation is allowed
  });
  it('case folding, not toLowerCase: ß/ẞ/ss, final sigma, Cherokee, dotless i kept apart', () => {
    assert.equal(canonicalUsername('Straße'), canonicalUsername('STRASSE'));
    assert.equal(canonicalUsername('\u1E9Ea'), 'ssa'); // CAPITAL SHARP S
    assert.equal(canonicalUsername('ΟΔΟΣ'), canonicalUsername('οδος'));
    assert.equal(canonicalUsername('οδος'), canonicalUsername('οδοσ'));
    // LONG S has a compatibility equivalent: refused, not folded
    assert.equal(canonicalUsername('\u017Fam'), undefined);
    assert.equal(canonicalUsername('\uAB70\uAB71'), canonicalUsername('\u13A0\u13A1'));
    assert.notEqual(canonicalUsername('\u0131rem'), canonicalUsername('irem')); // dotless i folds to itself
    assert.notEqual('Straße'.toLowerCase(), 'STRASSE'.toLowerCase(), 'toLowerCase alone would keep them apart');
  });
  it('NFC: precomposed and decomposed forms are one name', () => {
    assert.equal(canonicalUsername('Jose\u0301'), canonicalUsername('José'));
    assert.equal(canonicalUsername('josé'), 'jos\u00E9');
  });
  it('IdentifierClass: refuses spaces, controls, invisible characters, compatibility forms, symbols', () => {
    for (const bad of [
      'bo b',
      'bob\u0000',
      'b\u200Bob',
      'b\u200Dob',
      '\uFB00a',
      '\u212Aelvin',
      '\u2163',
      'bob\u2122',
      'a\u00A0b',
      'bob\u{1F600}',
      '',
      'b\u00ADob',
    ]) {
      assert.equal(canonicalUsername(bad), undefined, JSON.stringify(bad));
      assert.ok(usernameSyntaxProblem(bad), JSON.stringify(bad));
    }
    assert.equal(canonicalUsername('l\u00B7l'), 'l\u00B7l'); // CONTEXTO MIDDLE DOT between two l
    assert.equal(canonicalUsername('a\u00B7b'), undefined);
    assert.equal(canonicalUsername('日本語'), '日本語');
  });
  it('Bidi Rule: right-to-left names start with a right-to-left letter and mix no left-to-right letters', () => {
    assert.equal(canonicalUsername('שלום'), 'שלום');
    assert.equal(canonicalUsername('שלום1'), 'שלום1');
    assert.equal(canonicalUsername('abcשלום'), undefined);
    assert.equal(canonicalUsername('1שלום'), undefined);
  });
});

describe('usernames: confusable skeleton (UTS #39)', () => {
  it('look-alikes share a skeleton', () => {
    for (const [a, b] of [
      ['paypal', 'paypa1'],
      ['bob', 'b0b'],
      ['modern', 'rnodern'],
      ['alice', '\u0430lice'],
      ['paul', '\u0440\u0430ul'],
      ['oscar', '\u03BFscar'],
    ]) {
      assert.equal(usernameSkeleton(a), usernameSkeleton(b), `${a} / ${b}`);
    }
  });
  it('uses the whole confusables table, not only Latin, Greek and Cyrillic: Armenian and Cherokee', () => {
    for (const [a, b] of [
      ['bob', 'b\u0585b'],
      ['sam', '\u13DAam'],
      ['paul', 'pa\u057Dl'],
    ]) {
      assert.equal(usernameSkeleton(a), usernameSkeleton(b), `${a} / ${b}`);
    }
  });
  it('different names have different skeletons', () => {
    for (const [a, b] of [
      ['bob', 'rob'],
      ['alice', 'alicia'],
      ['jose', 'josé'],
    ])
      assert.notEqual(usernameSkeleton(a), usernameSkeleton(b));
  });
});

describe('usernames: reserved names', () => {
  it('refuses the reserved list, the issuer host and look-alikes of them', () => {
    for (const n of [
      'admin',
      'Admin',
      'R00T',
      'ADMIN',
      '\u0430dmin',
      'root',
      'support',
      'security',
      'postmaster',
      'id.example.com',
      'example.com',
    ]) {
      assert.equal(isReservedUsername(n, 'https://id.example.com'), true, n);
    }
    for (const n of ['alice', 'admins-team', 'bob'])
      assert.equal(isReservedUsername(n, 'https://id.example.com'), false, n);
    assert.equal(isReservedUsername('127.0.0.1', 'http://127.0.0.1:3000'), true);
  });
});
