// The benchmark fills Node's compile cache before Tessera's first start (bench/lib/servers.ts
// fillCompileCache), as the container image does when it is built: the launcher, refused its
// configuration, exits with status 2 once every module of the server is compiled and cached.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fillCompileCache } from '../../bench/lib/servers.ts';

describe('bench: the compile cache filled before the first start', () => {
  // NODE_COMPILE_CACHE (passed on to the launcher) points Node at a directory of this test's own.
  const dir = mkdtempSync(join(tmpdir(), 'tessera-compile-cache-'));
  const before = process.env.NODE_COMPILE_CACHE;
  process.env.NODE_COMPILE_CACHE = dir;
  after(() => {
    if (before === undefined) delete process.env.NODE_COMPILE_CACHE;
    else process.env.NODE_COMPILE_CACHE = before;
    rmSync(dir, { recursive: true, force: true });
  });

  it("caches the server's modules, main.ts's imports among them, once per process", () => {
    fillCompileCache();
    const entries = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    assert.ok(entries.length > 100, `${entries.length} files cached`);
    rmSync(dir, { recursive: true, force: true });
    fillCompileCache(); // filled already in this process: not run again
    assert.equal(existsSync(dir), false);
  });
});
