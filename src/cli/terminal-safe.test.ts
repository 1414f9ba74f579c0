import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { table, terminalSafe } from './cli.ts';

describe('terminalSafe (what the CLI prints of client data)', () => {
  it('writes controls, line separators and bidi formatting characters as \\uXXXX', () => {
    assert.equal(terminalSafe('a\u001b[31mb'), 'a\\u001b[31mb');
    assert.equal(terminalSafe('x\u202Ey\u2066z\u200F'), 'x\\u202ey\\u2066z\\u200f');
    assert.equal(terminalSafe('c\u0085d\u2028e\u009b'), 'c\\u0085d\\u2028e\\u009b');
    assert.equal(
      terminalSafe('one\ntwo\r'),
      'one\ntwo\\u000d',
      "line breaks stay by default (the CLI's own), carriage returns never",
    );
    assert.equal(terminalSafe('one\ntwo', false), 'one\\u000atwo');
    assert.equal(
      terminalSafe('Ünïcødé 名前 👩‍💻'),
      'Ünïcødé 名前 👩‍💻',
      'ordinary text, joiners included, is untouched',
    );
    // JSON stays JSON: the escapes are JSON escapes.
    const name = 'Evil\u202Egnp\u0085';
    assert.equal(JSON.parse(terminalSafe(JSON.stringify({ name }))).name, name);
  });

  it('table cells are one line each', () => {
    const t = table([
      ['ID', 'NAME'],
      ['a', 'x\ny\u202E'],
    ]);
    assert.equal(t.split('\n').length, 2);
    assert.match(t, /x\\u000ay\\u202e/);
  });
});
