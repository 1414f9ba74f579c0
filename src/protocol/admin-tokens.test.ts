// The rules of admin tokens without HTTP: adminTokenRequest (one row per request shape), and
// verifyAdminToken on tokens no grant would issue, minted here with the provider's keys, to show that
// it tells a client's token from a person's by the facts of issuance and refuses what fits neither.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testProvider, type TestProvider } from '../../test/fixtures/protocol.ts';
import { adminAudience } from './admin-scopes.ts';
import { adminTokenRequest, passedSecondFactor, verifyAdminToken } from './admin-tokens.ts';
import { OAuthError } from './errors.ts';
import { mintAccessToken } from './tokens/access-token.ts';

const ISSUER = 'https://id.test.example';
const AUD = adminAudience(ISSUER);
const CC = 'client_credentials';
const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';
const admin = { metadata: { admin_client: true } };
const ordinary = { metadata: {} };
const selfRegistered = {
  metadata: { admin_client: true, registration: { mode: 'open' as const, access_token_hash: 'x' } },
};

describe('adminTokenRequest', () => {
  const rows: {
    name: string;
    client: { metadata: Record<string, unknown> };
    req: { grantType: string; scope?: string; resource?: string };
    expect: string | { scopes: string[] } | undefined;
  }[] = [
    { name: 'no admin scope', client: ordinary, req: { grantType: CC, scope: 'api:read' }, expect: undefined },
    {
      name: 'the admin audience without admin scopes',
      client: admin,
      req: { grantType: CC, scope: 'api:read', resource: AUD },
      expect: 'invalid_target',
    },
    {
      name: 'an ordinary client',
      client: ordinary,
      req: { grantType: CC, scope: 'admin:keys:read' },
      expect: 'invalid_scope',
    },
    {
      name: 'a self-registered client marked admin',
      client: selfRegistered,
      req: { grantType: CC, scope: 'admin:keys:read' },
      expect: 'invalid_scope',
    },
    {
      name: 'the authorization code grant',
      client: admin,
      req: { grantType: 'authorization_code', scope: 'admin:keys:read' },
      expect: 'invalid_scope',
    },
    {
      name: 'token exchange',
      client: admin,
      req: { grantType: 'urn:ietf:params:oauth:grant-type:token-exchange', scope: 'admin:keys:read' },
      expect: 'invalid_scope',
    },
    {
      name: 'an unknown admin scope',
      client: admin,
      req: { grantType: CC, scope: 'admin:everything' },
      expect: 'invalid_scope',
    },
    {
      name: 'offline_access',
      client: admin,
      req: { grantType: DEVICE, scope: 'admin:keys:read offline_access' },
      expect: 'invalid_scope',
    },
    {
      name: 'openid with them',
      client: admin,
      req: { grantType: DEVICE, scope: 'openid admin:keys:read' },
      expect: 'invalid_scope',
    },
    {
      name: 'another resource',
      client: admin,
      req: { grantType: CC, scope: 'admin:keys:read', resource: 'https://api.example/' },
      expect: 'invalid_target',
    },
    {
      name: 'the admin audience and another',
      client: admin,
      req: { grantType: CC, scope: 'admin:keys:read', resource: `${AUD} https://api.example/` },
      expect: 'invalid_target',
    },
    {
      name: 'no resource',
      client: admin,
      req: { grantType: DEVICE, scope: 'admin:keys:read admin:keys:read' },
      expect: { scopes: ['admin:keys:read'] },
    },
    {
      name: 'the admin audience',
      client: admin,
      req: { grantType: CC, scope: 'admin:users:read admin:keys:read', resource: AUD },
      expect: { scopes: ['admin:users:read', 'admin:keys:read'] },
    },
  ];
  for (const row of rows)
    it(row.name, () => {
      const run = () => adminTokenRequest({ issuer: ISSUER }, row.client, row.req);
      if (row.expect === undefined) assert.equal(run(), undefined);
      else if (typeof row.expect === 'string')
        assert.throws(run, (e: unknown) => e instanceof OAuthError && e.code === row.expect);
      else assert.deepEqual(run(), { audience: AUD, scopes: row.expect.scopes });
    });

  it('a second factor is the mfa level or above', () => {
    assert.equal(passedSecondFactor(['pwd']), false);
    assert.equal(passedSecondFactor(undefined), false);
    assert.equal(passedSecondFactor(['pwd', 'otp', 'mfa']), true);
    assert.equal(passedSecondFactor(['swk', 'user']), true);
  });
});

describe('verifyAdminToken on tokens no grant issues', () => {
  let t: TestProvider;
  before(async () => {
    t = await testProvider();
    await t.addClient({
      client_id: 'ops',
      client_secret: 'ops-secret-0123456789-abcdefghijklmnopqrs',
      grant_types: ['client_credentials'],
      scope: 'admin:keys:read',
      redirect_uris: [],
      metadata: { admin_client: true },
    });
    await t.addClient({
      client_id: 'svc',
      client_secret: 'svc-secret-0123456789-abcdefghijklmnopqr',
      grant_types: ['client_credentials'],
      scope: 'api:read',
      redirect_uris: [],
    });
  });
  after(() => t.close());

  const mint = (o: {
    sub: string;
    clientId: string;
    scope?: string;
    authTime?: number;
    amr?: string[];
    aud?: string;
  }) =>
    mintAccessToken(t.keys(), {
      issuer: t.config.issuer,
      sub: o.sub,
      clientId: o.clientId,
      audience: o.aud ?? adminAudience(t.config.issuer),
      scope: o.scope ?? 'admin:keys:read',
      now: Math.floor(Date.now() / 1000),
      ttl: 300,
      ...(o.authTime !== undefined ? { authTime: o.authTime } : {}),
      ...(o.amr ? { amr: o.amr } : {}),
    }).token;
  const verify = (token: string) =>
    verifyAdminToken(
      t.p,
      t.request({}, { method: 'GET', headers: { authorization: `Bearer ${token}` } }),
      `${t.config.issuer}/admin/api/v1/keys`,
    );
  const refused = async (token: string) => {
    await assert.rejects(verify(token), (e: unknown) => {
      assert.ok(e instanceof OAuthError);
      assert.equal(e.code, 'invalid_token');
      assert.equal(e.status, 401);
      assert.match(e.headers?.['www-authenticate'] ?? '', /^Bearer realm="tessera-admin", error="invalid_token"/);
      return true;
    });
  };

  it("a client's token: sub is the client, no grant, no authentication of a person", async () => {
    const p = await verify(mint({ sub: 'ops', clientId: 'ops' }));
    assert.deepEqual(
      { ...p, scopes: [...p.scopes] },
      { kind: 'client', id: 'ops', scopes: ['admin:keys:read'], clientId: 'ops' },
    );
  });

  it('refuses what is neither a client token nor a person grant', async () => {
    // Names a person but has no grant behind it.
    await refused(mint({ sub: 'someone', clientId: 'ops' }));
    // Carries a person's authentication without a grant.
    await refused(mint({ sub: 'ops', clientId: 'ops', authTime: 1, amr: ['pwd', 'otp', 'mfa'] }));
    // An ordinary client's token, even with the admin audience and an admin scope.
    await refused(mint({ sub: 'svc', clientId: 'svc' }));
    // No known admin scope.
    await refused(mint({ sub: 'ops', clientId: 'ops', scope: 'api:read admin:nope' }));
    // Another audience.
    await refused(mint({ sub: 'ops', clientId: 'ops', aud: t.config.defaultAudience }));
  });
});
