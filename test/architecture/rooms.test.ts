import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, it } from 'node:test';
import { checkRooms, formatViolation, importsOf, packageOf, parseRoomTable } from './rooms.ts';

const root = new URL('../../', import.meta.url).pathname;
const src = join(root, 'src');

/** Every non-test .ts file under `dir` (default src/), by its path under it with forward slashes. */
function sources(base = src): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
        files.set(relative(base, path).split(sep).join('/'), readFileSync(path, 'utf8'));
    }
  };
  walk(base);
  return files;
}

const rules = () => parseRoomTable(readFileSync(join(root, 'docs/architecture.md'), 'utf8'));

describe('rooms (docs/architecture.md, "## Rooms")', () => {
  it('every import in src/ is one the Rooms table allows; no cycles between rooms or between files', () => {
    const violations = checkRooms(sources(), rules());
    assert.equal(
      violations.length,
      0,
      `${violations.length} import(s) break the rooms of docs/architecture.md:\n${violations.map(formatViolation).join('\n')}`,
    );
  });

  it('every package src/ loads at run time is a production dependency (the image installs no others)', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    const production = new Set(Object.keys(pkg.dependencies ?? {}));
    const missing: string[] = [];
    for (const [file, text] of sources()) {
      const specifiers = [
        ...importsOf(text)
          .filter((r) => !r.typeOnly)
          .map((r) => r.specifier),
        ...[...text.matchAll(/\brequire\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!),
      ];
      for (const s of specifiers) {
        if (s.startsWith('.') || s.startsWith('node:')) continue;
        if (!production.has(packageOf(s))) missing.push(`${file}: ${packageOf(s)}`);
      }
    }
    assert.deepEqual(missing, [], 'packages loaded by src/ but missing from package.json dependencies');
  });

  it('the table has a row for every room of src/', () => {
    const table = rules();
    const rooms = new Set(
      [...sources().keys()].map((f) =>
        f.startsWith('adapters/') ? f.split('/').slice(0, 2).join('/') : f.includes('/') ? f.split('/')[0]! : f,
      ),
    );
    for (const room of rooms) assert.ok(table.has(room), `no row for src/${room}${room.endsWith('.ts') ? '' : '/'}`);
  });
});

describe('the room checker (on planted files)', () => {
  const table = parseRoomTable(
    [
      '## Rooms',
      '',
      '| folder | holds | may import |',
      '|---|---|---|',
      '| `src/ports/` | interfaces | nothing of ours |',
      '| `src/protocol/` | rules | `ports/`, `jose`, `node:crypto` |',
      '| `src/adapters/web/` | a fetcher | `ports/`, `protocol/rules/address.ts`, `node:http` |',
      '| `src/app.ts` | composition | `*` and `pino` |',
      '',
      '## Next',
      '',
    ].join('\n'),
  );
  const planted = (extra: Record<string, string>) =>
    new Map(
      Object.entries({
        'ports/clients.ts': 'export interface Client { id: string }\n',
        'protocol/rules/address.ts': "import { createHash } from 'node:crypto';\nexport const x = createHash;\n",
        'protocol/token.ts':
          "import type { Client } from '../ports/clients.ts';\nimport { jwtVerify } from 'jose';\nexport const t = jwtVerify;\n",
        'adapters/web/fetch.ts':
          "import { request } from 'node:http';\nimport { x } from '../../protocol/rules/address.ts';\nexport const f = [request, x];\n",
        'app.ts':
          "import { pino } from 'pino';\nimport { t } from './protocol/token.ts';\nimport { f } from './adapters/web/fetch.ts';\nexport const a = [pino, t, f];\n",
        ...extra,
      }),
    );

  it('reads the table: rooms, single files, packages and the wildcard', () => {
    assert.deepEqual([...table.keys()], ['ports', 'protocol', 'adapters/web', 'app.ts']);
    assert.deepEqual([...table.get('adapters/web')!.files], ['protocol/rules/address.ts']);
    assert.deepEqual([...table.get('protocol')!.packages], ['jose', 'node:crypto']);
    assert.equal(table.get('app.ts')!.anyRoom, true);
    assert.equal(table.get('ports')!.rooms.size + table.get('ports')!.packages.size, 0);
  });

  it('finds nothing wrong in a house that keeps its rooms', () => {
    assert.deepEqual(checkRooms(planted({}), table), []);
  });

  it('reports an import of a room that is not listed, with file, line and rule', () => {
    const all = checkRooms(
      planted({
        'protocol/fetch.ts':
          "// a comment: import x from '../adapters/web/fetch.ts'\nimport { f } from '../adapters/web/fetch.ts';\nexport const g = f;\n",
      }),
      table,
    );
    // The import also closes a loop (adapters/web imports protocol): reported as well.
    assert.deepEqual(
      all.map((x) => x.rule),
      ['room', 'room-cycle'],
    );
    const v = all.filter((x) => x.rule === 'room');
    assert.deepEqual(
      { file: v[0]!.file, line: v[0]!.line, rule: v[0]!.rule, specifier: v[0]!.specifier },
      { file: 'protocol/fetch.ts', line: 2, rule: 'room', specifier: '../adapters/web/fetch.ts' },
    );
    assert.match(
      formatViolation(v[0]!),
      /^src\/protocol\/fetch\.ts:2 {2}import '\.\.\/adapters\/web\/fetch\.ts' {2}\[room\] {2}protocol may not import adapters\/web/,
    );
  });

  it('reports packages that are not listed: node builtins and npm packages, subpaths by their package', () => {
    const v = checkRooms(
      planted({
        'protocol/net.ts':
          "import { isIP } from 'node:net';\nimport type { Kysely } from 'kysely/dist/index.js';\nexport const n = isIP;\n",
      }),
      table,
    );
    assert.deepEqual(
      v.map((x) => [x.rule, x.specifier]),
      [
        ['package', 'node:net'],
        ['package', 'kysely/dist/index.js'],
      ],
    );
  });

  it('a single file of another room allows that file, not its neighbours', () => {
    const v = checkRooms(
      planted({
        'protocol/rules/other.ts': 'export const o = 1;\n',
        'adapters/web/more.ts': "import { o } from '../../protocol/rules/other.ts';\nexport const m = o;\n",
      }),
      table,
    );
    assert.deepEqual(
      v.map((x) => [x.file, x.rule]),
      [['adapters/web/more.ts', 'room']],
    );
  });

  it('sees dynamic imports, re-exports and side-effect imports', () => {
    const v = checkRooms(
      planted({
        'ports/a.ts': "export * from '../protocol/token.ts';\n",
        'ports/b.ts': "export const load = () => import('../app.ts');\n",
        'ports/c.ts': "import 'node:fs';\n",
      }),
      table,
    );
    assert.deepEqual(
      v.filter((x) => x.rule !== 'room-cycle').map((x) => [x.file, x.rule]),
      [
        ['ports/a.ts', 'room'],
        ['ports/b.ts', 'room'],
        ['ports/c.ts', 'package'],
      ],
    );
  });

  it('reports a cycle between rooms even when each import is allowed', () => {
    const cyclic = new Map(table);
    cyclic.set('ports', { ...table.get('ports')!, rooms: new Set(['protocol']) });
    const v = checkRooms(
      planted({ 'ports/tokens.ts': "import type { t } from '../protocol/token.ts';\nexport type T = typeof t;\n" }),
      cyclic,
    );
    assert.deepEqual(
      v.map((x) => x.rule),
      ['room-cycle'],
    );
    assert.match(v[0]!.message, /ports -> protocol -> ports/);
  });

  it('reports a cycle between files of one room at run time; import type does not make one', () => {
    const v = checkRooms(
      planted({
        'protocol/a.ts': "import { b } from './b.ts';\nexport const a = () => b;\n",
        'protocol/b.ts': "import { a } from './a.ts';\nexport const b = () => a;\n",
        'protocol/c.ts': "import type { d } from './d.ts';\nexport const c = 1;\nexport type C = typeof d;\n",
        'protocol/d.ts': "import { c } from './c.ts';\nexport const d = c;\n",
      }),
      table,
    );
    assert.deepEqual(
      v.map((x) => [x.rule, x.message]),
      [['file-cycle', 'files import each other at run time: protocol/a.ts -> protocol/b.ts -> protocol/a.ts']],
    );
  });

  it('reports a file without a row in the table, and an import that names no source file', () => {
    const v = checkRooms(
      planted({
        'stray/x.ts': "import { a } from '../app.ts';\n",
        'protocol/y.ts': "import { z } from './missing.ts';\n",
      }),
      table,
    );
    assert.deepEqual(v.map((x) => [x.file, x.rule]).sort(), [
      ['protocol/y.ts', 'missing-file'],
      ['stray/x.ts', 'unknown-room'],
    ]);
  });
});

/** Whether a relative import from `file` (a path inside a folder) climbs out of that folder. */
function leavesFolder(file: string, specifier: string): boolean {
  let depth = file.split('/').length - 1;
  for (const seg of specifier.split('/')) {
    if (seg === '..') depth--;
    else if (seg !== '.' && seg !== '') depth++;
    if (depth < 0) return true;
  }
  return false;
}

describe('packages/ (published on their own)', () => {
  it('sees an import that climbs out of the package', () => {
    assert.ok(leavesFolder('src/a.ts', '../../src/protocol/x.ts'));
    assert.ok(leavesFolder('src/adapters/x.ts', '../../../test/fixtures/certs.ts'));
    assert.ok(!leavesFolder('src/adapters/x.ts', '../errors.ts'));
    assert.ok(!leavesFolder('src/a.ts', './b.ts'));
  });

  it('each package imports only its own files, node builtins and the packages its package.json names', () => {
    const dir = join(root, 'packages');
    const problems: string[] = [];
    for (const name of readdirSync(dir)) {
      const manifest = JSON.parse(readFileSync(join(dir, name, 'package.json'), 'utf8')) as Record<
        string,
        Record<string, string> | undefined
      >;
      const named = new Set([
        ...Object.keys(manifest.dependencies ?? {}),
        ...Object.keys(manifest.peerDependencies ?? {}),
      ]);
      for (const [file, text] of sources(join(dir, name, 'src')))
        for (const ref of importsOf(text)) {
          const where = `packages/${name}/src/${file}:${ref.line} imports ${ref.specifier}`;
          if (ref.specifier.startsWith('.')) {
            if (leavesFolder(`src/${file}`, ref.specifier)) problems.push(`${where}: outside the package`);
          } else if (!ref.specifier.startsWith('node:') && !named.has(packageOf(ref.specifier)))
            problems.push(`${where}: not in its package.json`);
        }
    }
    assert.deepEqual(problems, []);
  });
});
