/**
 * `tessera config show`, run for real: every setting with its source, secrets redacted, and what the
 * MCP profile changed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { settings } from '../../src/config/settings.ts';
import { runCli } from '../fixtures/cli.ts';

const ADMIN_TOKEN = 'aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5kL7';
const SECRET = 'sekr1t-Value-that-is-long-enough-for-tessera-0123456789';

describe('tessera config show', () => {
  it('prints every setting with its source (env, file, profile, default), secrets redacted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-config-show-'));
    const file = join(dir, 'tessera.yaml');
    writeFileSync(file, 'refreshReuseGrace: 10\nextraScopes: [files, "files:read"]\n');
    const r = await runCli(['config', 'show', '--json'], {
      DATABASE_URL: 'postgres://tessera:hunter2-db-password@127.0.0.1:5432/tessera?sslpassword=hunter4-ssl',
      REDIS_URL: 'redis://:hunter3-redis-password@127.0.0.1:6379',
      TESSERA_CONFIG_FILE: file,
      TESSERA_MCP_PROFILE: '2025-11-25',
      TESSERA_REGISTRATION: 'initial_access_token',
      TESSERA_ADMIN_TOKEN: ADMIN_TOKEN,
      TESSERA_SECRET: SECRET,
    });
    assert.equal(r.code, 0, r.err);
    for (const secret of [ADMIN_TOKEN, SECRET, 'hunter2-db-password', 'hunter3-redis-password', 'hunter4-ssl'])
      assert.ok(!r.out.includes(secret), 'a secret was printed');
    const rows = JSON.parse(r.out) as { env: string; key: string; value: string; source: string }[];
    assert.deepEqual(
      rows.map((x) => x.env),
      settings.map((s) => s.env),
    );
    const by = Object.fromEntries(rows.map((x) => [x.env, x]));
    assert.deepEqual(by.TESSERA_ADMIN_TOKEN, {
      env: 'TESSERA_ADMIN_TOKEN',
      key: 'adminToken',
      value: '(redacted)',
      source: 'env',
    });
    assert.equal(by.TESSERA_SECRET!.value, '(redacted)');
    assert.equal(by.TESSERA_KEY_ENCRYPTION_KEY!.value, '(redacted: the development default)');
    assert.equal(by.DATABASE_URL!.value, 'postgres://tessera:***@127.0.0.1:5432/tessera?sslpassword=***');
    assert.match(by.REDIS_URL!.value, /^redis:\/\/:\*\*\*@127\.0\.0\.1:6379/);
    assert.deepEqual([by.TESSERA_REFRESH_REUSE_GRACE!.value, by.TESSERA_REFRESH_REUSE_GRACE!.source], ['10', 'file']);
    assert.deepEqual([by.TESSERA_EXTRA_SCOPES!.value, by.TESSERA_EXTRA_SCOPES!.source], ['files files:read', 'file']);
    assert.deepEqual(
      [by.TESSERA_REGISTRATION!.value, by.TESSERA_REGISTRATION!.source],
      ['initial_access_token', 'env'],
    );
    assert.deepEqual(
      [by.TESSERA_CLIENT_ID_METADATA_DOCUMENTS!.value, by.TESSERA_CLIENT_ID_METADATA_DOCUMENTS!.source],
      ['on', 'profile'],
    );
    assert.deepEqual([by.TESSERA_CORS_ANY_ORIGIN!.value, by.TESSERA_CORS_ANY_ORIGIN!.source], ['true', 'profile']);
    assert.deepEqual([by.TESSERA_ACCESS_TOKEN_TTL!.value, by.TESSERA_ACCESS_TOKEN_TTL!.source], ['900', 'default']);
  });

  it('as text: one line per setting, then one line per setting of the profile with profile or explicit', async () => {
    const r = await runCli(['config', 'show'], {
      DATABASE_URL: 'sqlite::memory:',
      TESSERA_MCP_PROFILE: 'latest',
      TESSERA_RESOURCE_REGISTRY_ONLY: 'false',
    });
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    assert.match(lines[0]!, /^SETTING\s+SOURCE\s+VALUE$/);
    for (const s of settings)
      assert.ok(
        lines.some((l) => l.startsWith(`${s.env} `)),
        s.env,
      );
    assert.match(r.out, /^TESSERA_MCP_PROFILE\s+env\s+latest$/m);
    assert.match(r.out, /^MCP profile latest = 2026-07-28 \(TESSERA_MCP_PROFILE; docs\/mcp\.md\):$/m);
    assert.match(r.out, /^ {2}TESSERA_REGISTRATION=open {2}\(profile\)$/m);
    assert.match(r.out, /^ {2}TESSERA_RESOURCE_REGISTRY_ONLY=false {2}\(explicit; the profile's value is true\)$/m);
    assert.doesNotMatch(r.out, /tessera-development-secret/);
  });

  it('an invalid configuration: its problems and exit code 2 (2025-03-26 is named as unsupported)', async () => {
    const r = await runCli(['config', 'show'], { DATABASE_URL: 'sqlite::memory:', TESSERA_MCP_PROFILE: '2025-03-26' });
    assert.equal(r.code, 2);
    assert.match(r.out, /TESSERA_MCP_PROFILE: 2025-03-26 is not supported/);
    assert.doesNotMatch(r.err, /^\s+at /m);
  });
});
