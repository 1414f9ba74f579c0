import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configSources, loadConfig, mcpProfileChanges } from './config.ts';
import {
  MCP_LATEST,
  MCP_PROFILE_ROWS,
  MCP_REVISIONS,
  mcpProfileDefaults,
  mcpRevision,
  PRODUCTION_REFUSED_KEYS,
} from './mcp-profile.ts';
import { settings } from './settings.ts';
import { configProblems, PRODUCTION_ENV } from '../../test/fixtures/config.ts';

const byKey = new Map(settings.map((s) => [s.key, s]));

describe('the MCP profile (TESSERA_MCP_PROFILE)', () => {
  it('off changes nothing: every MCP setting keeps its ordinary default, and the source says so', () => {
    const c = loadConfig({});
    assert.equal(c.mcpProfile, 'off');
    assert.equal(c.registration, 'off');
    assert.equal(c.clientIdMetadataDocuments, 'off');
    assert.equal(c.corsAnyOrigin, false);
    assert.equal(c.refreshReuseGrace, 0);
    assert.equal(c.registrationUnusedTtl, 0);
    assert.equal(c.registrationApplicationType, 'web');
    assert.equal(c.resourceRegistryOnly, false);
    assert.equal(c.registrationResourceScopes, false);
    assert.deepEqual(mcpProfileChanges(c), []);
    assert.ok(Object.values(configSources(c)).every((s) => s === 'default'));
  });

  it('each revision applies its own bundle, marked as the profile', () => {
    const expected = {
      '2025-06-18': {
        registration: 'open',
        registrationApplicationType: 'infer',
        registrationUnusedTtl: 86400,
        corsAnyOrigin: true,
        refreshReuseGrace: 30,
        resourceRegistryOnly: true,
        registrationResourceScopes: true,
      },
      '2025-11-25': {
        registration: 'open',
        clientIdMetadataDocuments: 'on',
        registrationApplicationType: 'infer',
        registrationUnusedTtl: 86400,
        corsAnyOrigin: true,
        refreshReuseGrace: 30,
        resourceRegistryOnly: true,
        registrationResourceScopes: true,
      },
      '2026-07-28': {
        registration: 'open',
        clientIdMetadataDocuments: 'on',
        registrationApplicationType: 'infer',
        registrationUnusedTtl: 86400,
        corsAnyOrigin: true,
        refreshReuseGrace: 30,
        resourceRegistryOnly: true,
        registrationResourceScopes: true,
      },
    } as const;
    assert.deepEqual(Object.keys(expected), [...MCP_REVISIONS]);
    for (const revision of MCP_REVISIONS) {
      const want = expected[revision] as Record<string, unknown>;
      assert.deepEqual(mcpProfileDefaults(revision), want, revision);
      const c = loadConfig({ TESSERA_MCP_PROFILE: revision }) as unknown as Record<string, unknown>;
      const sources = configSources(c as never);
      for (const [key, value] of Object.entries(want)) {
        assert.deepEqual(c[key], value, `${revision}: ${key}`);
        assert.equal(sources[key], 'profile', `${revision}: ${key} comes from the profile`);
      }
      assert.equal(sources.mcpProfile, 'env');
      // Without Client ID Metadata Documents in 2025-06-18, that setting stays at its default.
      if (!('clientIdMetadataDocuments' in want)) {
        assert.equal(c.clientIdMetadataDocuments, 'off');
        assert.equal(sources.clientIdMetadataDocuments, 'default');
      }
      const changes = mcpProfileChanges(c as never);
      assert.deepEqual(changes.map((x) => x.key).sort(), Object.keys(want).sort());
      assert.ok(changes.every((x) => x.source === 'profile'));
    }
  });

  it('latest is the newest revision Tessera knows', () => {
    assert.equal(MCP_LATEST, MCP_REVISIONS.at(-1));
    assert.equal(mcpRevision('latest'), '2026-07-28');
    assert.deepEqual(mcpProfileDefaults('latest'), mcpProfileDefaults('2026-07-28'));
    const c = loadConfig({ TESSERA_MCP_PROFILE: 'latest' });
    assert.equal(c.mcpProfile, 'latest');
    assert.equal(c.clientIdMetadataDocuments, 'on');
  });

  it('explicit settings win over the profile, one by one, from the environment, the file or overrides', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-profile-'));
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'corsAnyOrigin: false\nrefreshReuseGrace: 5\n');
    const c = loadConfig(
      {
        TESSERA_CONFIG_FILE: file,
        TESSERA_MCP_PROFILE: '2026-07-28',
        TESSERA_REGISTRATION: 'initial_access_token',
        TESSERA_RESOURCE_REGISTRY_ONLY: 'false',
      },
      { registrationUnusedTtl: 0 },
    );
    assert.equal(c.registration, 'initial_access_token');
    assert.equal(c.resourceRegistryOnly, false);
    assert.equal(c.corsAnyOrigin, false);
    assert.equal(c.refreshReuseGrace, 5);
    assert.equal(c.registrationUnusedTtl, 0);
    // The rest of the bundle still applies.
    assert.equal(c.clientIdMetadataDocuments, 'on');
    assert.equal(c.registrationApplicationType, 'infer');
    const sources = configSources(c);
    assert.equal(sources.registration, 'env');
    assert.equal(sources.corsAnyOrigin, 'file');
    assert.equal(sources.registrationUnusedTtl, 'override');
    assert.equal(sources.clientIdMetadataDocuments, 'profile');
    const changes = Object.fromEntries(mcpProfileChanges(c).map((x) => [x.key, x]));
    assert.equal(changes.registration!.source, 'explicit');
    assert.equal(changes.registration!.profileValue, 'open');
    assert.equal(changes.registration!.value, 'initial_access_token');
    assert.equal(changes.corsAnyOrigin!.source, 'explicit');
    assert.equal(changes.clientIdMetadataDocuments!.source, 'profile');
    // An explicit value equal to the profile's is still explicit.
    const same = loadConfig({ TESSERA_MCP_PROFILE: 'latest', TESSERA_REGISTRATION: 'open' });
    assert.equal(mcpProfileChanges(same).find((x) => x.key === 'registration')!.source, 'explicit');
  });

  it('the profile can itself come from the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-profile-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ mcpProfile: '2025-11-25' }));
    const c = loadConfig({ TESSERA_CONFIG_FILE: file });
    assert.equal(c.clientIdMetadataDocuments, 'on');
    assert.equal(configSources(c).mcpProfile, 'file');
  });

  it('2025-03-26 is refused with the reason; other unknown values get the list', () => {
    for (const where of [{ TESSERA_MCP_PROFILE: '2025-03-26' }, { TESSERA_MCP_PROFILE: ' 2025-03-26 ' }]) {
      const problems = configProblems(where);
      assert.equal(problems.length, 1);
      assert.match(problems[0]!, /^TESSERA_MCP_PROFILE: 2025-03-26 is not supported: /);
      assert.match(problems[0]!, /RFC 9728/);
      assert.match(problems[0]!, /2025-06-18 or later/);
    }
    assert.throws(() => loadConfig({}, { mcpProfile: '2025-03-26' }), /2025-03-26 is not supported/);
    assert.deepEqual(configProblems({ TESSERA_MCP_PROFILE: '2024-11-05' }), [
      'TESSERA_MCP_PROFILE (TESSERA_MCP_PROFILE): must be one of off, 2025-06-18, 2025-11-25, 2026-07-28, latest',
    ]);
  });

  it('production: every revision loads with only the required settings, and a profile never sets what production refuses', () => {
    for (const revision of [...MCP_REVISIONS, 'latest']) {
      const c = loadConfig({ ...PRODUCTION_ENV, TESSERA_MCP_PROFILE: revision });
      assert.equal(c.env, 'production');
      assert.equal(c.cimdAllowLoopback, false);
      assert.equal(c.clientJwksAllowLoopback, false);
      assert.equal(c.cookieSecure, true);
      // Open registration is allowed in production, with its warning.
      assert.ok(c.warnings.some((w) => w.startsWith('TESSERA_REGISTRATION is open')));
      for (const key of PRODUCTION_REFUSED_KEYS)
        assert.ok(!(key in mcpProfileDefaults(revision)), `${revision} sets ${key}`);
    }
    // What production refuses stays refused with a profile on.
    assert.ok(
      configProblems({ ...PRODUCTION_ENV, TESSERA_MCP_PROFILE: 'latest', TESSERA_CIMD_ALLOW_LOOPBACK: 'true' }).some(
        (p) => p.startsWith('TESSERA_CIMD_ALLOW_LOOPBACK'),
      ),
    );
  });

  it('every row names a real setting with a value of its type, a section per revision it sets, and its meaning', () => {
    const keys = new Set<string>();
    for (const row of MCP_PROFILE_ROWS) {
      const s = byKey.get(row.key);
      assert.ok(s, `${row.key} is a setting`);
      assert.ok(!keys.has(row.key), `${row.key} appears once`);
      keys.add(row.key);
      assert.ok(row.requirement.length > 20 && row.operators.length > 20);
      assert.ok(Object.isFrozen(row) && Object.isFrozen(row.values));
      for (const [revision, value] of Object.entries(row.values)) {
        assert.ok((MCP_REVISIONS as readonly string[]).includes(revision));
        assert.ok(row.section[revision as never], `${row.key} has a section for ${revision}`);
        if (s.type === 'enum') assert.ok(s.values!.includes(value as string), `${row.key}=${String(value)}`);
        if (s.type === 'bool') assert.equal(typeof value, 'boolean');
        if (s.type === 'int') {
          assert.ok(Number.isInteger(value));
          assert.ok(s.min === undefined || (value as number) >= s.min);
          assert.ok(s.max === undefined || (value as number) <= s.max);
        }
        // The profile's value differs from the ordinary default (else the row would change nothing).
        const d = typeof s.default === 'function' ? s.default('production') : s.default;
        assert.notDeepEqual(value, d, `${row.key} under ${revision} changes the default`);
      }
    }
    assert.throws(() => {
      (mcpProfileDefaults('latest') as Record<string, unknown>).registration = 'off';
    });
  });

  it('docs/mcp.md has a row for every setting of the profile with its value under each revision', () => {
    const doc = readFileSync(new URL('../../docs/mcp.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## The profile'), doc.indexOf('## Resource servers for MCP'));
    const lines = section.split('\n');
    const cellsOf = (l: string) => l.split('|').map((c) => c.trim());
    const header = cellsOf(lines.find((l) => l.startsWith('| Setting'))!);
    for (const row of MCP_PROFILE_ROWS) {
      const line = lines.find((l) => l.startsWith(`| \`${byKey.get(row.key)!.env}\``));
      assert.ok(line, `docs/mcp.md has a row for ${row.key}`);
      const cells = cellsOf(line);
      for (const revision of MCP_REVISIONS) {
        const cell = cells[header.indexOf(revision)]!;
        const v = row.values[revision];
        if (v === undefined) assert.match(cell, /^—/, `${row.key} under ${revision}: unchanged`);
        else assert.equal(cell, `\`${String(v)}\``, `${row.key} under ${revision}`);
      }
    }
  });
});
