import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClientRecord } from '../ports/clients.ts';
import type { ResourceServerRecord } from '../ports/resource-servers.ts';
import { OAuthError } from './errors.ts';
import {
  canonicalResource,
  canonicalResourceKey,
  checkSelfRegisteredRequest,
  consentScopes,
  registeredSpelling,
  scopeAncestors,
  scopeSatisfies,
  type ResourceRegistry,
} from './resources.ts';

const entry = (identifier: string, scopes: ResourceServerRecord['scopes'] = []): ResourceServerRecord => ({
  identifier,
  displayName: identifier,
  scopes,
  accessTokenTtl: null,
  signingAlg: null,
  dpop: 'optional',
  createdAt: 0,
  updatedAt: 0,
});
const registryOf = (...ids: string[]): ResourceRegistry => new Map(ids.map((id) => [id, entry(id)]));

describe('canonical resource identifiers (RFC 8707, MCP canonical server URI)', () => {
  it('lower-cases scheme and host, drops default ports, resolves dot segments, keeps path, query and trailing slash', () => {
    for (const [given, canonical] of [
      ['https://mcp.example.com/mcp', 'https://mcp.example.com/mcp'],
      ['HTTPS://MCP.Example.COM/Mcp', 'https://mcp.example.com/Mcp'],
      ['https://mcp.example.com:443/mcp', 'https://mcp.example.com/mcp'],
      ['https://mcp.example.com:8443/mcp', 'https://mcp.example.com:8443/mcp'],
      ['https://mcp.example.com', 'https://mcp.example.com'],
      ['https://mcp.example.com/', 'https://mcp.example.com/'],
      ['https://mcp.example.com/server/mcp/', 'https://mcp.example.com/server/mcp/'],
      ['https://mcp.example.com/a/../mcp', 'https://mcp.example.com/mcp'],
      ['https://mcp.example.com/mcp?tenant=a', 'https://mcp.example.com/mcp?tenant=a'],
      ['https://mcp.example.com?x=1', 'https://mcp.example.com?x=1'],
      ['http://localhost:3000/mcp', 'http://localhost:3000/mcp'],
      ['http://127.0.0.1:80/mcp', 'http://127.0.0.1/mcp'],
      ['http://[::1]:8080/mcp', 'http://[::1]:8080/mcp'],
      ['http://mcp.localhost/mcp', 'http://mcp.localhost/mcp'],
    ])
      assert.deepEqual(canonicalResource(given), { canonical }, given);
  });

  it('refuses fragments, user information, plain http off loopback, other schemes and what is not a URI', () => {
    for (const [given, why] of [
      ['https://mcp.example.com/mcp#x', /fragment/],
      ['https://mcp.example.com/mcp#', /fragment/],
      ['https://user:pw@mcp.example.com/mcp', /user information/],
      ['https://user@mcp.example.com/mcp', /user information/],
      ['http://mcp.example.com/mcp', /https/],
      ['http://10.0.0.1/mcp', /https/],
      ['ftp://mcp.example.com/', /https/],
      ['urn:example:mcp', /absolute https URI/],
      ['mcp.example.com/mcp', /absolute https URI/],
      ['https://mcp.example.com/a b', /without spaces/],
      ['https://mcp.example.com\\mcp', /backslash/],
      ['', /without spaces/],
      [42, /without spaces/],
      [`https://mcp.example.com/${'a'.repeat(2048)}`, /2048/],
    ] as const) {
      const r = canonicalResource(given);
      assert.ok('problem' in r, String(given));
      assert.match(r.problem, why, String(given));
    }
  });

  it('another spelling of a registry resource is found (case, default port, trailing slash); exact or unrelated ones are not', () => {
    const registry = registryOf(
      'https://mcp.example.com/mcp',
      'https://root.example.com/',
      'http://localhost:3000/mcp',
    );
    for (const [asked, registered] of [
      ['HTTPS://MCP.EXAMPLE.COM/mcp', 'https://mcp.example.com/mcp'],
      ['https://mcp.example.com:443/mcp', 'https://mcp.example.com/mcp'],
      ['https://mcp.example.com/mcp/', 'https://mcp.example.com/mcp'],
      ['https://root.example.com', 'https://root.example.com/'],
      ['http://LOCALHOST:3000/mcp/', 'http://localhost:3000/mcp'],
      ['https://mcp.example.com./mcp', 'https://mcp.example.com/mcp'],
      ['https://mcp.example.com.:443/mcp', 'https://mcp.example.com/mcp'],
      ['https://mcp.example.com\\mcp', 'https://mcp.example.com/mcp'],
      // A scheme Tessera refuses at registration still names the registered host and path.
      ['http://mcp.example.com/mcp', undefined],
    ] as const)
      assert.equal(registeredSpelling(registry, asked), registered, asked);
    for (const asked of [
      'https://mcp.example.com/mcp',
      'https://mcp.example.com/MCP',
      'https://mcp.example.com/mcp2',
      'https://other.example.com/mcp',
      'not a uri',
    ])
      assert.equal(registeredSpelling(registry, asked), undefined, asked);
    assert.equal(canonicalResourceKey('https://A.example/x/'), canonicalResourceKey('https://a.example:443/x'));
    assert.notEqual(canonicalResourceKey('https://a.example/x'), canonicalResourceKey('https://a.example/X'));
  });
});

describe('the resource checks of a request (registry only, other spellings)', () => {
  const REG = 'https://mcp.example.com/mcp';
  const deps = (resourceRegistryOnly: boolean) => ({
    config: {
      resourceRegistryOnly,
      registrationGrantTypes: ['authorization_code'],
      registrationScopes: ['openid', 'files'],
    } as never,
    resourceRegistry: {
      ready: () => registryOf(REG),
      read: async () => registryOf(REG),
      forget() {},
    },
  });
  const operator = { clientId: 'op', metadata: {} } as unknown as ClientRecord;
  const selfRegistered = {
    clientId: 'dcr',
    scopes: ['openid'],
    metadata: { registration: 'open' },
  } as unknown as ClientRecord;
  const refused = async (p: Promise<void>, detail: RegExp) =>
    assert.rejects(
      p,
      (e: unknown) => e instanceof OAuthError && e.code === 'invalid_target' && detail.test(`${e.message} ${e.detail}`),
    );
  const req = (resource: string) => ({ grantType: 'authorization_code', scope: 'openid', resource });

  it('operator-made clients: any resource unless TESSERA_RESOURCE_REGISTRY_ONLY, never another spelling of a registered one', async () => {
    await checkSelfRegisteredRequest(deps(false), operator, req('https://anything.example/api'));
    await checkSelfRegisteredRequest(deps(false), operator, req(REG));
    await refused(
      checkSelfRegisteredRequest(deps(false), operator, req('https://MCP.example.com/mcp')),
      /as it is registered: https:\/\/mcp\.example\.com\/mcp/,
    );
    await refused(checkSelfRegisteredRequest(deps(false), operator, req(`${REG}/`)), /as it is registered/);
    await refused(
      checkSelfRegisteredRequest(deps(true), operator, req('https://anything.example/api')),
      /TESSERA_RESOURCE_REGISTRY_ONLY/,
    );
    await refused(
      checkSelfRegisteredRequest(deps(true), operator, req(`${REG} https://anything.example/api`)),
      /registered with this server/,
    );
    await checkSelfRegisteredRequest(deps(true), operator, req(REG));
    // No resource named: the default audience, whatever the setting.
    await checkSelfRegisteredRequest(deps(true), operator, { grantType: 'authorization_code', scope: 'openid' });
  });

  it('self-registered clients: registry resources only, with or without the setting', async () => {
    await refused(
      checkSelfRegisteredRequest(deps(false), selfRegistered, req('https://anything.example/api')),
      /self-registered/,
    );
    await checkSelfRegisteredRequest(deps(false), selfRegistered, req(REG));
  });
});

describe('the scope hierarchy of a resource', () => {
  const files = entry('https://files.example/mcp', [
    { name: 'files', description: 'All your files' },
    { name: 'files:read', description: 'Read your files', parent: 'files' },
    { name: 'files:read:names', description: 'See file names', parent: 'files:read' },
    { name: 'mail', description: 'Mail' },
  ]);

  it('ancestors nearest first; a parent satisfies its descendants, never the other way round', () => {
    assert.deepEqual(scopeAncestors(files, 'files:read:names'), ['files:read', 'files']);
    assert.deepEqual(scopeAncestors(files, 'files'), []);
    assert.deepEqual(scopeAncestors(files, 'unknown'), []);
    assert.ok(scopeSatisfies(files, ['files'], 'files:read'));
    assert.ok(scopeSatisfies(files, ['files'], 'files:read:names'));
    assert.ok(scopeSatisfies(files, ['files:read'], 'files:read:names'));
    assert.ok(scopeSatisfies(files, ['files:read'], 'files:read'));
    assert.ok(!scopeSatisfies(files, ['files:read'], 'files'));
    assert.ok(!scopeSatisfies(files, ['files:read:names'], 'files:read'));
    assert.ok(!scopeSatisfies(files, ['mail'], 'files:read'));
    // Without the resource's hierarchy, only the scope itself.
    assert.ok(!scopeSatisfies(undefined, ['files'], 'files:read'));
  });

  it('a cycle stored by hand does not loop', () => {
    const loop = entry('https://loop.example/', [
      { name: 'a', description: 'a', parent: 'b' },
      { name: 'b', description: 'b', parent: 'a' },
    ]);
    assert.deepEqual(scopeAncestors(loop, 'a'), ['b', 'a']);
    assert.ok(scopeSatisfies(loop, ['b'], 'a'));
  });

  it('consent lists a parent for its children: a child asked with its parent is left out', () => {
    assert.deepEqual(consentScopes([files], ['openid', 'files', 'files:read', 'files:read:names', 'mail']), [
      'openid',
      'files',
      'mail',
    ]);
    assert.deepEqual(consentScopes([files], ['files:read', 'files:read:names']), ['files:read']);
    assert.deepEqual(consentScopes([files], ['files:read:names']), ['files:read:names']);
    assert.deepEqual(consentScopes([undefined], ['files', 'files:read']), ['files', 'files:read']);
  });
});
