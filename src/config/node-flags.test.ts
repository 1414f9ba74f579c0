import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { NODE_FLAGS, SERVER_ENTRY } from './node-flags.ts';

const here = new URL('./node-flags.ts', import.meta.url).href;

const root = new URL('../../', import.meta.url);

describe('Node flags of the server', () => {
  it('npm start runs the launcher with them', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> };
    assert.equal(pkg.scripts.start, `node ${NODE_FLAGS.join(' ')} ${SERVER_ENTRY}`);
  });

  it('the container image runs the launcher with them', () => {
    const cmd = readFileSync(new URL('deploy/Dockerfile', root), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('CMD '));
    assert.deepEqual(JSON.parse(cmd!.slice(4)), ['node', ...NODE_FLAGS, SERVER_ENTRY]);
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

  it('this Node takes them: V8 runs one background thread', () => {
    // Linux names V8's background threads "V8Worker" (/proc/self/task/*/comm); Node's default is four.
    const count = `const fs = require('fs');
      const names = fs.readdirSync('/proc/self/task').map((t) => fs.readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim());
      process.stdout.write(String(names.filter((n) => n === 'V8Worker').length));`;
    const workers = (flags: readonly string[]) =>
      Number(execFileSync(process.execPath, [...flags, '-e', count], { encoding: 'utf8' }));
    assert.equal(workers(NODE_FLAGS), 1);
    assert.ok(workers([]) > 1, 'without the flag Node starts more than one (so the count above means something)');
  });

  it('releaseStartupMemory gives the young generation back after start-up, and leaves no gc function behind', () => {
    const script = `
      const { getHeapSpaceStatistics } = await import('node:v8');
      const { runInNewContext } = await import('node:vm');
      const { releaseStartupMemory } = await import(${JSON.stringify(here)});
      const young = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').physical_space_size;
      let keep = [];
      for (let i = 0; i < 2e5; i++) keep.push({ i, s: 'start-up ' + i });
      keep = undefined;
      const before = young();
      releaseStartupMemory();
      process.stdout.write(JSON.stringify({ before, after: young(), gc: typeof globalThis.gc, context: runInNewContext('typeof gc') }));
    `;
    const out = JSON.parse(
      execFileSync(process.execPath, [...NODE_FLAGS, '--input-type=module', '-e', script], { encoding: 'utf8' }),
    ) as { before: number; after: number; gc: string; context: string };
    assert.ok(out.before > 16 * 2 ** 20, `young generation resident before: ${out.before}`);
    assert.ok(out.after < 2 * 2 ** 20, `young generation resident after: ${out.after}`);
    assert.equal(out.gc, 'undefined');
    assert.equal(out.context, 'undefined');
  });
});
