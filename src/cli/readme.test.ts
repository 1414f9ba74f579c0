import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { settingsMarkdown } from './commands.ts';

it('the README configuration table is the one `tessera config docs` prints', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  assert.ok(
    readme.includes(settingsMarkdown().trim()),
    'README.md is out of date: run `python3 scripts/readme-config.py`',
  );
});
