import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isCommonPassword,
  normalizeUsername,
  passwordProblem,
  validateSignup,
  type SignupInput,
} from './registration.ts';

const ok: SignupInput = {
  username: 'new.user_1',
  email: 'new@example.com',
  name: 'New User',
  password: 'tessellated lanterns',
  confirm: 'tessellated lanterns',
};
const check = (over: Partial<SignupInput>, emailRequired = false) =>
  validateSignup({ ...ok, ...over }, { emailRequired });

describe('sign-up validation', () => {
  it('accepts a well-formed form, with or without the optional fields', () => {
    assert.deepEqual(check({}), {});
    assert.deepEqual(check({ email: '', name: '' }), {});
  });

  it('usernames: 3-32 of a-z 0-9 . _ -, starting with a letter or digit', () => {
    for (const u of ['abc', 'a'.repeat(32), 'x.y-z_0', '007']) assert.deepEqual(check({ username: u }), {}, u);
    for (const u of [
      'ab',
      'a'.repeat(33),
      '.abc',
      '-abc',
      '_abc',
      'has space',
      'Upper',
      'ünï',
      'a@b',
      'a/b',
      'a\u0000b',
    ]) {
      assert.match(check({ username: u }).username ?? '', /3 to 32 characters/, u);
    }
    assert.equal(check({ username: '' }).username, 'Choose a username.');
  });

  it('normalizes usernames to lower case without surrounding spaces', () => {
    assert.equal(normalizeUsername('  Alice.B '), 'alice.b');
  });

  it('email: optional or required by the setting, and well-formed when given', () => {
    assert.deepEqual(check({ email: '' }, false), {});
    assert.equal(check({ email: '' }, true).email, 'Enter your email address.');
    for (const e of [
      'nope',
      'a@b',
      'a b@example.com',
      '@example.com',
      `${'a'.repeat(250)}@example.com`,
      'a@exa\u0000mple.com',
      // More than one bare address once in a mail header: a list, a display name, a group, a quote.
      'victim@example.com,attacker@evil.example',
      'victim@example.com;attacker@evil.example',
      'Name <attacker@evil.example>',
      '"a,b"@example.com',
      'group:attacker@evil.example;',
    ]) {
      assert.match(check({ email: e }).email ?? '', /valid email/, e);
    }
  });

  it('name: at most 128 characters, no control characters', () => {
    assert.deepEqual(check({ name: 'é'.repeat(128) }), {});
    assert.match(check({ name: 'x'.repeat(129) }).name ?? '', /at most 128/);
    assert.match(check({ name: 'a\nb' }).name ?? '', /not allowed/);
  });

  describe('passwords (ASVS 6.2)', () => {
    it('at least 8 characters, counted as characters not bytes (6.2.1)', () => {
      assert.match(passwordProblem('seven77', 'u') ?? '', /at least 8/);
      assert.equal(passwordProblem('eight888x', 'u'), undefined);
      assert.equal(passwordProblem('ééééééé€', 'u'), undefined);
      assert.match(passwordProblem('😀😀😀😀😀😀😀', 'u') ?? '', /at least 8/);
      assert.equal(passwordProblem('', 'u'), 'Choose a password.');
    });
    it('allows 64 characters and more, up to 1024 (6.2.9)', () => {
      assert.equal(passwordProblem('x'.repeat(64) + 'y', 'u'), undefined);
      assert.equal(passwordProblem('long passphrase '.repeat(64), 'u'), undefined);
      assert.match(passwordProblem('z'.repeat(1025), 'u') ?? '', /at most 1024/);
    });
    it('no composition rules: lower-case letters only, spaces and any Unicode are fine (6.2.5)', () => {
      assert.equal(passwordProblem('onlylowercaseletters', 'u'), undefined);
      assert.equal(passwordProblem('    spaces    ', 'u'), undefined);
      assert.equal(passwordProblem('пароль надёжный', 'u'), undefined);
    });
    it('refuses common passwords from the built-in list, in any case (6.2.4)', () => {
      for (const pw of ['password', 'Password1', 'QWERTYUIOP', '12345678', 'iloveyou']) {
        assert.equal(isCommonPassword(pw), true, pw);
        assert.match(passwordProblem(pw, 'u') ?? '', /too common/, pw);
      }
      assert.equal(isCommonPassword('tessellated lanterns'), false);
      assert.equal(isCommonPassword('# Some of the most common passwords'), false);
    });
    it('refuses the username as the password (6.2.11)', () => {
      assert.match(passwordProblem('verylonguser', 'verylonguser') ?? '', /not be your username/);
      assert.match(
        check({ username: 'verylonguser', password: 'VeryLongUser', confirm: 'VeryLongUser' }).password ?? '',
        /not be your username/,
      );
    });
    it('the confirmation must match exactly', () => {
      assert.equal(check({ confirm: 'tessellated lantern' }).confirm, 'The two passwords do not match.');
      assert.equal(check({ confirm: 'Tessellated lanterns' }).confirm, 'The two passwords do not match.');
      // A refused password is reported once, on the password field.
      assert.deepEqual(Object.keys(check({ password: 'short', confirm: 'other' })), ['password']);
    });
  });
});
