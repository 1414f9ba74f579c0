import assert from 'node:assert/strict';
import { it } from 'node:test';
import { csvField, formatAudit } from './audit.ts';

it('CSV cells a spreadsheet would read as formulas open as text (OWASP CSV injection)', () => {
  for (const [value, cell] of [
    ['=1+2', `"'=1+2"`],
    ['+1', `"'+1"`],
    ['-1', `"'-1"`],
    ['@SUM(A1)', `"'@SUM(A1)"`],
    ['\t=1', `"'\t=1"`],
    ['\r=1', `"'\r=1"`],
    ['=HYPERLINK("http://x")', `"'=HYPERLINK(""http://x"")"`],
    ['a=b', 'a=b'],
    ['a,b', '"a,b"'],
    [null, ''],
    [12, '12'],
  ] as const) {
    assert.equal(csvField(value), cell, String(value));
  }
  const { body } = formatAudit(
    [
      {
        seq: 1,
        at: 0,
        type: 'user_disabled',
        actor: 'admin',
        clientId: null,
        ip: null,
        outcome: 'success',
        details: { username: '=cmd' },
        prevHash: '',
        hash: 'h',
      },
    ],
    'csv',
  );
  assert.match(body, /,user_disabled,admin,,,success,"\{""username"":""=cmd""\}",,h\r\n$/);
});
