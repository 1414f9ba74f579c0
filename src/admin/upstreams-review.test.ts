// Review of the operators' configuration of providers (issue 17), over a real store (SQLite in
// memory): a file with a problem in it must change nothing, whether it is the bootstrap file or
// `tessera upstream add` (which checks with checkUpstreams before it saves any).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { usernameKeys } from '../accounts/usernames.ts';
import { openDatabase } from '../adapters/sql/database.ts';
import { migrate } from '../adapters/sql/migrations/index.ts';
import { createSqlStores } from '../adapters/sql/stores.ts';
import { loadConfig } from '../config/config.ts';
import type { Stores } from '../ports/index.ts';
import { applyBootstrap, parseUpstreamsDocument, readBootstrapFile } from './bootstrap.ts';
import { AdminError } from './clients.ts';
import { checkUpstreams, saveUpstream, type UpstreamDeps, type UpstreamInput } from './upstreams.ts';

const NOW = 1_800_000_000;
const config = { ...loadConfig({ TESSERA_ENV: 'development' }), clientJwksAllowLoopback: false };
const provider = (id: string, extra: Partial<UpstreamInput> = {}): UpstreamInput => ({
  id,
  kind: 'oidc',
  label: id,
  issuer: `https://${id}.idp.example.com`,
  client_id: 'tessera',
  client_secret: 'a-client-secret-of-some-length',
  ...extra,
});

describe('a file of providers with a problem changes nothing', () => {
  let stores: Stores;
  let deps: UpstreamDeps;
  before(async () => {
    const handle = await openDatabase('sqlite::memory:');
    await migrate(handle.db, usernameKeys);
    stores = createSqlStores(handle, usernameKeys);
    deps = { stores, config, now: () => NOW };
  });
  after(() => stores.close());
  const ids = async () => (await stores.upstreams.list()).map((u) => u.id).sort();

  it('the bootstrap file: a bad provider after a good one stores neither', async () => {
    const bad = provider('beta', { issuer: 'http://beta.idp.example.com' });
    await assert.rejects(
      applyBootstrap(stores, config, { upstreams: [provider('alpha'), bad] }, NOW),
      (e: Error) => e instanceof AdminError && /beta/.test(e.message),
    );
    assert.deepEqual(await ids(), []);
  });

  it('the bootstrap file: two providers claiming one home-realm domain store neither', async () => {
    const file = {
      upstreams: [
        provider('gamma', { home_realm_domains: ['corp.example.com'] }),
        provider('delta', { home_realm_domains: ['corp.example.com'] }),
      ],
    };
    await assert.rejects(
      applyBootstrap(stores, config, file, NOW),
      (e: Error) => e instanceof AdminError && /corp\.example\.com \(gamma\)/.test(e.message),
    );
    assert.deepEqual(await ids(), []);
  });

  it("checkUpstreams (upstream add's check) finds a home-realm clash within the file and with a stored provider", async () => {
    await assert.rejects(
      checkUpstreams(deps, [
        provider('gamma', { home_realm_domains: ['corp.example.com'] }),
        provider('delta', { home_realm_domains: ['corp.example.com'] }),
      ]),
      /home_realm_domains/,
    );
    await saveUpstream(deps, provider('stored', { home_realm_domains: ['stored.example.com'] }), 'admin');
    await assert.rejects(
      checkUpstreams(deps, [provider('epsilon', { home_realm_domains: ['stored.example.com'] })]),
      /stored\.example\.com \(stored\)/,
    );
    // A provider saved again with its own domain is no clash; nothing was stored by the checks.
    await checkUpstreams(deps, [provider('stored', { home_realm_domains: ['stored.example.com'] })]);
    assert.deepEqual(await ids(), ['stored']);
  });
});

describe('a file that does not parse is refused without quoting it (its secrets)', () => {
  const SECRET = 's3cr3t-value-never-shown-4242';
  // Each is broken on the secret's own line: YAML and JSON parsers quote the text around an error.
  const broken = [
    `id: corp\nkind: oidc\nclient_secret: ${SECRET}: oops\n`,
    `id: corp\nclient_secret: "${SECRET}\n`,
    `upstreams:\n  - id: corp\n    client_secret: [${SECRET}\n`,
  ];
  const hidden = (e: unknown) => {
    assert.ok(e instanceof AdminError, String(e));
    assert.ok(!e.message.includes(SECRET) && !e.message.includes('s3cr3t'), e.message);
    assert.match(e.message, /line \d+/, 'the operator is told where');
    return true;
  };

  it('tessera upstream add', () => {
    for (const text of broken) assert.throws(() => parseUpstreamsDocument(text, 'corp.yaml'), hidden);
  });

  it('the bootstrap file (its message goes to the log at start), YAML and JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-review-'));
    try {
      for (const [i, text] of broken.entries()) {
        const path = join(dir, `b${i}.yaml`);
        writeFileSync(path, text);
        assert.throws(() => readBootstrapFile(path), hidden);
      }
      const path = join(dir, 'b.json');
      writeFileSync(path, `{"upstreams": [{"id": "corp", "client_secret": ${SECRET}}]}`);
      assert.throws(
        () => readBootstrapFile(path),
        (e: Error) => e instanceof AdminError && !e.message.includes('s3cr3t') && /JSON/.test(e.message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
