// TESSERA_REGISTRATION_RESOURCE_SCOPES through the real protocol functions (authorize, token) over
// SQLite (test/fixtures/protocol.ts): a self-registered client's registry scopes reach only tokens
// for the resource that declares them, by the authorization code, refresh and client credentials
// grants; with the setting off the same requests get what they get today.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { testProvider, type Outcome, type TestProvider } from '../../../test/fixtures/protocol.ts';
import { authorize } from '../endpoints/authorize.ts';

const A = 'https://a.example/mcp';
const B = 'https://b.example/mcp';
const REGISTRATION = { registration: { mode: 'open' as const, access_token_hash: 'h' } };

async function bed(on: boolean): Promise<TestProvider> {
  const tp = await testProvider({
    TESSERA_REGISTRATION: 'open',
    TESSERA_REGISTRATION_RESOURCE_SCOPES: String(on),
    TESSERA_REGISTRATION_GRANT_TYPES: 'authorization_code refresh_token client_credentials',
  });
  const now = tp.clock.now();
  const resource = (identifier: string, scopes: { name: string; description: string; parent?: string }[]) =>
    tp.p.stores.resourceServers.put({
      identifier,
      displayName: identifier,
      scopes,
      accessTokenTtl: null,
      signingAlg: null,
      dpop: 'optional',
      createdAt: now,
      updatedAt: now,
    });
  await resource(A, [
    { name: 'mcp:tools', description: 'Tools' },
    { name: 'mcp:tools:write', description: 'Write', parent: 'mcp:tools' },
  ]);
  await resource(B, [{ name: 'b:read', description: 'Read B' }]);
  tp.p.resourceRegistry.forget();
  await tp.addClient({
    client_id: 'mcp',
    redirect_uris: ['http://127.0.0.1:3000/cb'],
    application_type: 'native',
    grant_types: ['authorization_code', 'refresh_token'],
    scope: 'openid offline_access mcp:tools mcp:tools:write b:read',
    metadata: REGISTRATION,
  });
  await tp.addClient({
    client_id: 'agent',
    client_secret: 'agent-secret-agent-secret',
    grant_types: ['client_credentials'],
    scope: 'mcp:tools b:read',
    metadata: REGISTRATION,
  });
  return tp;
}

/** The body of a successful answer (the test fails on an error). */
function ok(o: Outcome): Record<string, unknown> {
  if (o.error !== undefined) assert.fail(`${o.error}: ${o.description}`);
  return o.body;
}

const scopeOf = (body: Record<string, unknown>) =>
  String(decodeJwt(String(body.access_token)).scope)
    .split(' ')
    .sort();

describe('registry scopes of self-registered clients in tokens', () => {
  let tp: TestProvider | undefined;
  afterEach(async () => {
    await tp?.close();
    tp = undefined;
  });

  it('authorization code and refresh: a grant for A and B, the scopes of A in the token for A, those of B in the one for B', async () => {
    tp = await bed(true);
    const scope = 'openid offline_access mcp:tools mcp:tools:write b:read';
    const issued = await tp.codeFor('mcp', { scope, params: { resource: `${A} ${B}` } });
    const first = await tp.token(
      {
        grant_type: 'authorization_code',
        code: issued.code,
        code_verifier: issued.verifier,
        redirect_uri: issued.redirectUri,
        resource: A,
      },
      { clientId: 'mcp' },
    );
    assert.equal(first.status, 200, first.error ? first.description : '');
    assert.ok(!first.error);
    assert.deepEqual(scopeOf(ok(first)), ['mcp:tools', 'mcp:tools:write', 'offline_access', 'openid']);
    const forB = await tp.token(
      { grant_type: 'refresh_token', refresh_token: String(ok(first).refresh_token), resource: B },
      { clientId: 'mcp' },
    );
    assert.ok(!forB.error, forB.error && forB.description);
    assert.equal(decodeJwt(String(ok(forB).access_token)).aud, B);
    assert.deepEqual(scopeOf(ok(forB)), ['b:read', 'offline_access', 'openid']);
  });

  it('refresh: a child of a granted scope may be asked for (it is narrower), never a parent of one', async () => {
    tp = await bed(true);
    const redeem = async (scope: string) => {
      const issued = await tp!.codeFor('mcp', { scope, params: { resource: A } });
      const got = await tp!.token(
        {
          grant_type: 'authorization_code',
          code: issued.code,
          code_verifier: issued.verifier,
          redirect_uri: issued.redirectUri,
        },
        { clientId: 'mcp' },
      );
      return String(ok(got).refresh_token);
    };
    const parent = await redeem('openid offline_access mcp:tools');
    const child = await tp.token(
      { grant_type: 'refresh_token', refresh_token: parent, scope: 'mcp:tools:write' },
      { clientId: 'mcp' },
    );
    assert.deepEqual(scopeOf(ok(child)), ['mcp:tools:write']);
    const onlyChild = await redeem('openid offline_access mcp:tools:write');
    const up = await tp.token(
      { grant_type: 'refresh_token', refresh_token: onlyChild, scope: 'mcp:tools' },
      { clientId: 'mcp' },
    );
    assert.equal(up.error, 'invalid_scope');
  });

  it('authorize: a scope of A with resource B, or with no resource, is invalid_scope at the loopback callback', async () => {
    tp = await bed(true);
    const user = await tp.addUser();
    for (const resource of [B, undefined]) {
      const res = await authorize(
        tp.p,
        tp.request(
          {
            client_id: 'mcp',
            redirect_uri: 'http://127.0.0.1:3000/cb',
            response_type: 'code',
            scope: 'mcp:tools',
            state: 'st',
            code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
            code_challenge_method: 'S256',
            ...(resource ? { resource } : {}),
          },
          { method: 'GET', cookies: await tp.signIn(user.id) },
        ),
      );
      assert.equal(res.kind, 'redirect', JSON.stringify(res));
      const location = new URL((res as { location: string }).location);
      assert.equal(location.searchParams.get('error'), 'invalid_scope', String(resource));
      assert.equal(location.searchParams.get('state'), 'st');
    }
  });

  it('client credentials: the registered registry scopes of the audience only', async () => {
    tp = await bed(true);
    const as = { clientId: 'agent', secret: 'agent-secret-agent-secret' };
    const cc = (params: Record<string, string>) => tp!.token({ grant_type: 'client_credentials', ...params }, as);
    const forA = await cc({ resource: A });
    assert.ok(!forA.error, forA.error && forA.description);
    assert.deepEqual(scopeOf(ok(forA)), ['mcp:tools']);
    const forB = await cc({ resource: B });
    assert.ok(!forB.error, forB.error && forB.description);
    assert.deepEqual(scopeOf(ok(forB)), ['b:read']);
    const crossed = await cc({ resource: B, scope: 'mcp:tools' });
    assert.equal(crossed.error, 'invalid_scope');
  });

  it('off: the same client gets none of the registry scopes (TESSERA_REGISTRATION_SCOPES only)', async () => {
    tp = await bed(false);
    const as = { clientId: 'agent', secret: 'agent-secret-agent-secret' };
    const forA = await tp.token({ grant_type: 'client_credentials', resource: A, scope: 'mcp:tools' }, as);
    assert.equal(forA.error, 'invalid_scope');
  });
});
