import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cleanPasskeyName, PASSKEY_NAME_MAX } from './passkeys.ts';

describe('passkey names', () => {
  it('drop every control character (C0, DEL, C1) and the bidirectional overrides, keep emoji sequences', () => {
    assert.equal(cleanPasskeyName(' Work\u0007 laptop\u007f '), 'Work laptop');
    assert.equal(cleanPasskeyName('a\u0085b\u009bc'), 'abc', 'C1 controls');
    // "Trojan Source" reordering: the list and the notification mail would show the name reversed.
    assert.equal(cleanPasskeyName('key\u202Egpj.exe\u202C'), 'keygpj.exe');
    assert.equal(cleanPasskeyName('\u2066x\u2069\u200E\u200F\u061C'), 'x');
    assert.equal(cleanPasskeyName('\u{1F468}\u200D\u{1F4BB} laptop'), '\u{1F468}\u200D\u{1F4BB} laptop');
    assert.equal(cleanPasskeyName('\u202E \u0085'), undefined);
    assert.equal([...cleanPasskeyName('é'.repeat(100))!].length, PASSKEY_NAME_MAX);
  });
});
