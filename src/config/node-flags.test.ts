import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { NODE_FLAGS } from './node-flags.ts';

const root = new URL('../../', import.meta.url);

describe('Node flags of the server', () => {
  it('npm start runs src/main.ts with them', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> };
    assert.equal(pkg.scripts.start, `node ${NODE_FLAGS.join(' ')} src/main.ts`);
  });

  it('the container image runs src/main.ts with them', () => {
    const cmd = readFileSync(new URL('deploy/Dockerfile', root), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('CMD '));
    assert.deepEqual(JSON.parse(cmd!.slice(4)), ['node', ...NODE_FLAGS, 'src/main.ts']);
  });

  it('this Node takes them: the young generation starts at its full size', () => {
    const out = execFileSync(
      process.execPath,
      [
        ...NODE_FLAGS,
        '-e',
        "process.stdout.write(String(require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size))",
      ],
      { encoding: 'utf8' },
    );
    assert.equal(Number(out), 16 * 2 ** 20);
  });
});
