// The ceiling of self-registered clients with TESSERA_REGISTRATION_RESOURCE_SCOPES (resources.ts), and
// which redirect URIs of such clients receive authorization errors (authorization-response.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, type Config } from '../config/config.ts';
import type { ClientRecord } from '../ports/clients.ts';
import type { ResourceServerRecord } from '../ports/resource-servers.ts';
import { OAuthError } from './errors.ts';
import { staysOnDevice } from './interaction/authorization-response.ts';
import {
  accessTokenPolicy,
  checkSelfRegisteredRequest,
  registryScopeNames,
  withinRegistrationCeiling,
  type ResourceRegistry,
} from './resources.ts';
import type { KeyRing } from './tokens/keys.ts';

const A = 'https://a.example/mcp';
const B = 'https://b.example/mcp';
const AUD = 'https://api.example';

const entry = (identifier: string, scopes: { name: string; parent?: string }[]): ResourceServerRecord =>
  ({
    identifier,
    displayName: identifier,
    scopes: scopes.map((s) => ({ description: s.name, ...s })),
    accessTokenTtl: null,
    signingAlg: null,
    dpop: 'optional',
  }) as ResourceServerRecord;

const registry: ResourceRegistry = new Map([
  [A, entry(A, [{ name: 'mcp:tools' }, { name: 'mcp:tools:write', parent: 'mcp:tools' }])],
  [B, entry(B, [{ name: 'b:read' }])],
]);

const config = (on: boolean): Config =>
  loadConfig({
    TESSERA_ENV: 'development',
    TESSERA_ISSUER: 'https://id.example',
    TESSERA_DEFAULT_AUDIENCE: AUD,
    TESSERA_REGISTRATION_RESOURCE_SCOPES: String(on),
  });

const provider = (on: boolean) => ({
  config: config(on),
  resourceRegistry: { read: async () => registry, ready: () => registry, forget() {} },
  keys: () => ({ active: { alg: 'RS256' } }) as unknown as KeyRing,
});

const selfRegistered = {
  clientId: 'c',
  scopes: ['mcp:tools', 'b:read'],
  allowedResources: [],
  metadata: {
    registration: { mode: 'open', access_token_hash: 'x' },
  },
} as unknown as ClientRecord;
const operatorMade = { ...selfRegistered, metadata: {} } as ClientRecord;

const invalidScope = (e: unknown) => e instanceof OAuthError && e.code === 'invalid_scope';

describe('registry scopes in the ceiling of self-registered clients', () => {
  it('withinRegistrationCeiling: TESSERA_REGISTRATION_SCOPES, or on, the scopes of the audience only', () => {
    const on = config(true);
    const off = config(false);
    assert.ok(withinRegistrationCeiling(on, registry.get(A), 'mcp:tools'));
    assert.ok(withinRegistrationCeiling(on, registry.get(A), 'mcp:tools:write'), 'a child of the tree too');
    assert.ok(!withinRegistrationCeiling(on, registry.get(B), 'mcp:tools'));
    assert.ok(!withinRegistrationCeiling(on, undefined, 'mcp:tools'), 'not the default audience');
    assert.ok(withinRegistrationCeiling(on, undefined, 'openid'));
    assert.ok(!withinRegistrationCeiling(off, registry.get(A), 'mcp:tools'));
    assert.deepEqual(registryScopeNames(registry), ['mcp:tools', 'mcp:tools:write', 'b:read']);
  });

  it('checkSelfRegisteredRequest: a registry scope needs a requested resource that declares it', async () => {
    const p = provider(true);
    const check = (scope: string, resource?: string) =>
      checkSelfRegisteredRequest(p, selfRegistered, { grantType: 'authorization_code', scope, resource });
    await check('mcp:tools', A);
    await check('mcp:tools b:read', `${A} ${B}`);
    await assert.rejects(check('mcp:tools', B), invalidScope);
    await assert.rejects(check('mcp:tools'), invalidScope, 'the default audience is not in the registry');
    await assert.rejects(check('other:scope', A), invalidScope);
    // Off: today's rule, TESSERA_REGISTRATION_SCOPES only.
    await assert.rejects(
      checkSelfRegisteredRequest(provider(false), selfRegistered, {
        grantType: 'authorization_code',
        scope: 'mcp:tools',
        resource: A,
      }),
      invalidScope,
    );
  });

  it("accessTokenPolicy: a token carries only its own resource's registry scopes", () => {
    const p = provider(true);
    const scope = 'openid mcp:tools mcp:tools:write b:read';
    const policy = (resource: string | null, c = selfRegistered, q = p) =>
      accessTokenPolicy(q, registry, c, resource, scope, undefined).scope.split(' ');
    assert.deepEqual(policy(A), ['openid', 'mcp:tools', 'mcp:tools:write']);
    assert.deepEqual(policy(B), ['openid', 'b:read']);
    assert.deepEqual(policy(null), ['openid'], 'nothing of the registry for an unregistered default audience');
    assert.deepEqual(policy(A, selfRegistered, provider(false)), ['openid']);
    // Operator-made clients are not affected (their scope is their ceiling; the resource narrows it).
    assert.deepEqual(policy(A, operatorMade, provider(false)), ['openid', 'mcp:tools', 'mcp:tools:write']);
  });
});

describe('staysOnDevice: the redirect URIs of self-registered clients that get errors', () => {
  const native = { applicationType: 'native' as const };
  const web = { applicationType: 'web' as const };
  it('loopback http and private-use schemes of native clients; never https nor look-alikes', () => {
    for (const uri of ['http://127.0.0.1:5000/cb', 'http://[::1]/cb', 'http://localhost:1/cb?x=1'])
      assert.ok(staysOnDevice(web, uri) && staysOnDevice(native, uri), uri);
    assert.ok(staysOnDevice(native, 'com.example.app:/cb'));
    assert.ok(!staysOnDevice(web, 'com.example.app:/cb'), 'a private-use scheme only for a native client');
    for (const uri of [
      'https://localhost/cb',
      'https://rp.example/cb',
      'http://127.0.0.1.evil.example/cb',
      'http://localhost.evil.example/cb',
      'http://user@127.0.0.1/cb',
      'myapp:/cb',
      'javascript:alert(1)',
      'not a uri',
    ])
      assert.ok(!staysOnDevice(native, uri), uri);
  });
});
