// Configuring upstream identity providers (issue 17) over a real store (SQLite in memory): presets,
// validation, the wrapped secret, idempotent saving, the bootstrap file's `upstreams:` list.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { usernameKeys } from '../accounts/usernames.ts';
import { unwrapAccountSecret } from '../accounts/secret-wrap.ts';
import { openDatabase } from '../adapters/sql/database.ts';
import { migrate } from '../adapters/sql/migrations/index.ts';
import { createSqlStores } from '../adapters/sql/stores.ts';
import { loadConfig } from '../config/config.ts';
import type { Stores } from '../ports/index.ts';
import type { ProtocolEvent } from '../protocol/events.ts';
import { applyBootstrap, bootstrapSchemaProblems, parseUpstreamsDocument } from './bootstrap.ts';
import { AdminError } from './clients.ts';
import {
  buildUpstream,
  deleteUpstream,
  describeUpstream,
  listUpstreams,
  rewrapUpstreamSecrets,
  saveUpstream,
  setUpstreamEnabled,
  type UpstreamDeps,
  type UpstreamInput,
} from './upstreams.ts';

const NOW = 1_800_000_000;
const config = loadConfig({ TESSERA_ENV: 'development' });
const prodLike = { ...config, clientJwksAllowLoopback: false };
const SECRET = 'upstream-client-secret-0123456789';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

const build = (input: Partial<UpstreamInput>, c = prodLike) =>
  buildUpstream(
    { config: c, now: () => NOW, env: { GH_SECRET: 'from-the-environment' } },
    { id: 'x', client_id: 'cid', ...input } as UpstreamInput,
    undefined,
    NOW,
  );
const refused = async (input: Partial<UpstreamInput>, why: RegExp, c = prodLike) =>
  assert.rejects(build(input, c), (e: Error) => e instanceof AdminError && why.test(e.message));
const open = (id: string, jwe: string) => unwrapAccountSecret(config, `upstream:${id}`, jwe);

describe('presets as data, base URLs overridable', () => {
  it('github: OAuth 2.0 endpoints and the emails list, under the overridden base and API URLs', async () => {
    const p = await build({ preset: 'github', client_secret: SECRET });
    assert.equal(p.kind, 'oauth2');
    assert.equal(p.issuer, 'https://github.com');
    assert.equal(p.authorizationEndpoint, 'https://github.com/login/oauth/authorize');
    assert.equal(p.tokenEndpoint, 'https://github.com/login/oauth/access_token');
    assert.equal(p.userinfoEndpoint, 'https://api.github.com/user');
    assert.equal(p.emailsEndpoint, 'https://api.github.com/user/emails');
    assert.equal(p.claims.subject, 'id');
    assert.equal(p.claims.username, 'login');
    assert.equal(p.label, 'GitHub');
    const ghe = await build({
      preset: 'github',
      client_secret: SECRET,
      base_url: 'http://127.0.0.1:4000/',
      api_base_url: 'http://127.0.0.1:4000/api/v3',
      private_network: true,
    });
    assert.equal(ghe.authorizationEndpoint, 'http://127.0.0.1:4000/login/oauth/authorize');
    assert.equal(ghe.userinfoEndpoint, 'http://127.0.0.1:4000/api/v3/user');
    assert.equal(ghe.issuer, 'http://127.0.0.1:4000');
  });

  it('microsoft: the issuer template for common/organizations/consumers, the tenant issuer for a tenant id', async () => {
    const common = await build({ preset: 'microsoft', client_secret: SECRET });
    assert.equal(common.issuer, 'https://login.microsoftonline.com/{tenantid}/v2.0');
    assert.equal(common.discoveryUrl, 'https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration');
    const org = await build({ preset: 'microsoft', tenant: 'organizations', client_secret: SECRET });
    assert.equal(
      org.discoveryUrl,
      'https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration',
    );
    const one = await build({
      preset: 'microsoft',
      tenant: TENANT,
      base_url: 'http://localhost:9000',
      private_network: true,
      client_secret: SECRET,
      allowed_tenants: [TENANT],
    });
    assert.equal(one.issuer, `http://localhost:9000/${TENANT}/v2.0`);
    assert.equal(one.discoveryUrl, `http://localhost:9000/${TENANT}/v2.0/.well-known/openid-configuration`);
    assert.deepEqual(one.allowedTenants, [TENANT]);
    await refused({ preset: 'microsoft', tenant: 'contoso.onmicrosoft.com', client_secret: SECRET }, /tenant must be/);
    await refused({ preset: 'microsoft', tenant: TENANT.toUpperCase(), client_secret: SECRET }, /tenant must be/);
  });

  it('microsoft refuses automatic linking by email (nOAuth); the others accept it for listed domains', async () => {
    await refused(
      { preset: 'microsoft', client_secret: SECRET, auto_link_domains: ['example.com'] },
      /auto_link_domains is refused for the microsoft preset/,
    );
    const g = await build({ preset: 'google', client_secret: SECRET, auto_link_domains: ['example.com'] });
    assert.deepEqual(g.autoLinkDomains, ['example.com']);
    assert.deepEqual(
      (await build({ preset: 'google', client_secret: SECRET })).autoLinkDomains,
      [],
      'never by default',
    );
  });

  it('gitlab reads nickname as the username; apple answers with form_post and signs its secret with its key', async () => {
    const gl = await build({ preset: 'gitlab', client_secret: SECRET, base_url: 'https://gitlab.example.org' });
    assert.equal(gl.issuer, 'https://gitlab.example.org');
    assert.equal(gl.claims.username, 'nickname');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const apple = await build({
      preset: 'apple',
      private_key: pem,
      apple_key_id: 'ABC123DEFG',
      apple_team_id: 'TEAM123456',
    });
    assert.equal(apple.responseMode, 'form_post');
    assert.deepEqual(apple.scopes, ['openid', 'name', 'email']);
    assert.equal(apple.clientAuth, 'client_secret_post');
    const jwk = JSON.parse(await open('x', apple.secretWrapped!)) as Record<string, string>;
    assert.equal(jwk.kty, 'EC');
    assert.equal(jwk.crv, 'P-256');
    assert.ok(jwk.d, 'the private key itself');
    await refused({ preset: 'apple', private_key: pem, apple_key_id: 'ABC123DEFG' }, /apple_team_id is required/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' });
    await refused(
      { preset: 'apple', private_key: rsa.toString(), apple_key_id: 'ABC123DEFG', apple_team_id: 'TEAM123456' },
      /P-256 key Apple issued/,
    );
    await refused(
      { preset: 'apple', client_secret: SECRET, apple_key_id: 'ABC123DEFG', apple_team_id: 'TEAM123456' },
      /not client_secret/,
    );
  });
});

describe('strict validation', () => {
  const oidc = { kind: 'oidc' as const, issuer: 'https://idp.example.com', label: 'Corp', client_secret: SECRET };

  it('ids are slugs', async () => {
    for (const id of ['', 'Corp', '-x', 'a/b', 'x'.repeat(33), 'é'])
      await refused({ ...oidc, id }, /upstream id must be/);
  });

  it('https on public hosts, unless private_network (or a loopback host in development)', async () => {
    await refused({ ...oidc, issuer: 'http://idp.example.com' }, /issuer must use https/);
    await refused({ ...oidc, issuer: 'https://10.0.0.5' }, /not a public address.*private_network/);
    await refused({ ...oidc, issuer: 'https://idp.internal' }, /special-use name/);
    await refused({ ...oidc, issuer: 'https://idp.example.com/#x' }, /fragment/);
    await refused({ ...oidc, issuer: 'https://u:p@idp.example.com' }, /credentials/);
    await refused({ ...oidc, issuer: 'https://idp.example.com/?tenant=1' }, /query/);
    await refused({ ...oidc, issuer: 'ftp://idp.example.com' }, /https URL/);
    assert.equal(
      (await build({ ...oidc, issuer: 'http://10.0.0.5:8080', private_network: true })).privateNetwork,
      true,
    );
    assert.equal((await build({ ...oidc, issuer: 'http://127.0.0.1:8080' }, config)).issuer, 'http://127.0.0.1:8080');
    await refused({ ...oidc, token_endpoint: 'http://idp.example.com/token' }, /token_endpoint must use https/);
    await refused({ ...oidc, issuer: 'https://idp.example.com/{tenantid}/v2.0' }, /only to the microsoft preset/);
  });

  it('labels 1-64 visible characters; scopes; openid for OpenID Connect', async () => {
    await refused({ ...oidc, label: '' }, /label must be a non-empty string/);
    await refused({ ...oidc, label: 'x'.repeat(65) }, /at most 64/);
    await refused({ ...oidc, label: 'Corp\u202Eevil' }, /bidirectional/);
    await refused({ ...oidc, label: undefined }, /label must be a non-empty string/);
    await refused({ ...oidc, scopes: ['email'] }, /must include openid/);
    await refused({ ...oidc, scopes: ['openid', 'a"b'] }, /scope names/);
    assert.deepEqual((await build({ ...oidc, scopes: 'openid  email' })).scopes, ['openid', 'email']);
    assert.deepEqual((await build(oidc)).scopes, ['openid', 'profile', 'email']);
  });

  it('client authentication matches what is given: secret, private key, or none', async () => {
    await refused({ ...oidc, client_secret: undefined }, /client_secret \(or client_secret_env\) is required/);
    await refused({ ...oidc, client_auth: 'none' }, /public client\) has no client_secret/);
    await refused({ ...oidc, client_auth: 'private_key_jwt' }, /authenticates with private_key, not client_secret/);
    await refused({ ...oidc, client_auth: 'tls_client_auth' as never }, /client_auth must be one of/);
    await refused({ ...oidc, client_id: undefined as never }, /client_id is required/);
    await refused({ ...oidc, client_id: 'a b' }, /visible ASCII/);
    const none = await build({ ...oidc, client_secret: undefined, client_auth: 'none' });
    assert.equal(none.secretWrapped, undefined);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES384' };
    const pk = await build({
      ...oidc,
      client_secret: undefined,
      client_auth: 'private_key_jwt',
      private_key: JSON.stringify(jwk),
    });
    assert.deepEqual(JSON.parse(await open('x', pk.secretWrapped!)), jwk);
    const pub = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    await refused(
      { ...oidc, client_secret: undefined, client_auth: 'private_key_jwt', private_key: JSON.stringify(pub) },
      /must be a private key/,
    );
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'jwk' });
    await refused(
      { ...oidc, client_secret: undefined, client_auth: 'private_key_jwt', private_key: JSON.stringify(small) },
      /at least 2048 bits/,
    );
  });

  it('secrets from an environment variable, named in messages but never echoed', async () => {
    const p = await build({ ...oidc, client_secret: undefined, client_secret_env: 'GH_SECRET' });
    assert.equal(await open('x', p.secretWrapped!), 'from-the-environment');
    await refused({ ...oidc, client_secret: undefined, client_secret_env: 'NOT_SET' }, /NOT_SET is not set/);
    await refused({ ...oidc, client_secret_env: 'GH_SECRET' }, /not both/);
    await assert.rejects(
      build({ ...oidc, client_secret: undefined, client_auth: 'none', client_secret_env: 'GH_SECRET' }),
      (e: Error) => !e.message.includes('from-the-environment'),
    );
  });

  it('domains as lowercase host names, tenants as ids, acr values Tessera knows', async () => {
    await refused({ ...oidc, allowed_domains: ['Example.com'] }, /"Example.com" is not a host name in lowercase/);
    await refused({ ...oidc, auto_link_domains: ['*.example.com'] }, /is not a host name/);
    await refused({ ...oidc, home_realm_domains: ['localhost'] }, /is not a host name/);
    await refused({ ...oidc, allowed_domains: 'example.com' as never }, /must be a list/);
    await refused({ ...oidc, allowed_tenants: [TENANT] }, /only to the microsoft preset/);
    await refused({ preset: 'microsoft', client_secret: SECRET, allowed_tenants: ['nope'] }, /not a tenant id/);
    await refused({ ...oidc, acr_map: { silver: 'gold' } }, /acr_map.silver must be one of/);
    const p = await build({
      ...oidc,
      allowed_domains: ['example.com', 'example.com', 'xn--bcher-kva.example'],
      acr_map: { 'http://schemas.openid.net/pape/policies/2007/06/multi-factor': 'urn:tessera:acr:mfa' },
    });
    assert.deepEqual(p.allowedDomains, ['example.com', 'xn--bcher-kva.example']);
    assert.equal(Object.values(p.acrMap)[0], 'urn:tessera:acr:mfa');
  });

  it('OAuth 2.0 needs its endpoints; claims: known keys, OpenID Connect identifies by sub only', async () => {
    await refused(
      {
        kind: 'oauth2',
        label: 'Plain',
        client_secret: SECRET,
        authorization_endpoint: 'https://as.example.com/authorize',
      },
      /token_endpoint is required.*userinfo_endpoint is required/,
    );
    const plain = await build({
      kind: 'oauth2',
      label: 'Plain',
      client_secret: SECRET,
      authorization_endpoint: 'https://as.example.com/authorize',
      token_endpoint: 'https://as.example.com/token',
      userinfo_endpoint: 'https://api.example.com/me',
      claims: { subject: 'account_id' },
    });
    assert.equal(plain.issuer, 'https://as.example.com', 'the authorization server origin names the issuer');
    assert.equal(plain.claims.subject, 'account_id');
    await refused({ ...oidc, claims: { subject: 'email' } }, /always sub/);
    await refused({ ...oidc, claims: { mail: 'x' } as never }, /claims: unknown key "mail"/);
    await refused({ ...oidc, colour: 'blue' } as never, /unknown key "colour"/);
    await refused({ ...oidc, preset: 'github' }, /github preset is kind oauth2/);
    await refused({ ...oidc, base_url: 'https://x.example.com' }, /base_url applies only to a preset/);
    await refused({ ...oidc, create_users: 'yes' as never }, /create_users must be true or false/);
  });

  it('lists every problem at once', async () => {
    await assert.rejects(build({ ...oidc, issuer: 'http://a', label: '', scopes: ['email'] }), (e: Error) => {
      assert.match(e.message, /^upstream x: .*issuer.*label.*openid/);
      return true;
    });
  });
});

describe('saving, idempotently, with the secret wrapped and never shown', () => {
  let stores: Stores;
  let deps: UpstreamDeps;
  const events: ProtocolEvent[] = [];
  let clock = NOW;
  before(async () => {
    const handle = await openDatabase('sqlite::memory:');
    await migrate(handle.db, usernameKeys);
    stores = createSqlStores(handle, usernameKeys);
    deps = { stores, config, now: () => clock, events: (e) => void events.push(e) };
  });
  after(() => stores.close());
  const corp: UpstreamInput = {
    id: 'corp',
    kind: 'oidc',
    label: 'Corp',
    issuer: 'https://idp.example.com',
    client_id: 'tessera',
    client_secret: SECRET,
    order: 2,
  };

  it('keys rewrap: secrets under the previous key-encryption key move to the current one; one under neither refuses', async () => {
    await saveUpstream(deps, { ...corp, id: 'rewrap' }, 'admin');
    const rotated = {
      ...config,
      keyEncryptionKey: 'a-new-key-encryption-key-of-32-bytes-or-more!',
      keyEncryptionKeyPrevious: config.keyEncryptionKey,
    };
    const before = (await stores.upstreams.get('rewrap'))!;
    const r = await rewrapUpstreamSecrets({ stores, config: rotated });
    assert.ok(r.rewrapped >= 1);
    const after = (await stores.upstreams.get('rewrap'))!;
    assert.notEqual(after.secretWrapped, before.secretWrapped);
    assert.equal(
      await unwrapAccountSecret(
        { keyEncryptionKey: rotated.keyEncryptionKey },
        'upstream:rewrap',
        after.secretWrapped!,
      ),
      SECRET,
    );
    assert.deepEqual(await rewrapUpstreamSecrets({ stores, config: rotated }), {
      rewrapped: 0,
      unchanged: r.rewrapped + r.unchanged,
    });
    const stranger = {
      ...config,
      keyEncryptionKey: 'yet-another-key-encryption-key-of-32-bytes!!',
      keyEncryptionKeyPrevious: undefined,
    };
    await assert.rejects(rewrapUpstreamSecrets({ stores, config: stranger }), /opens under neither/);
    assert.equal((await stores.upstreams.get('rewrap'))!.secretWrapped, after.secretWrapped, 'nothing changed');
    await deleteUpstream(deps, 'rewrap', 'admin');
    // Leave every other provider under the test's own key again.
    await rewrapUpstreamSecrets({ stores, config: { ...config, keyEncryptionKeyPrevious: rotated.keyEncryptionKey } });
  });

  it('stores the secret wrapped under the key-encryption key; the description says only that one is stored', async () => {
    const r = await saveUpstream(deps, corp, 'admin');
    assert.deepEqual([r.created, r.changed], [true, true]);
    const stored = (await stores.upstreams.get('corp'))!;
    assert.ok(stored.secretWrapped && !stored.secretWrapped.includes(SECRET));
    assert.equal(await open('corp', stored.secretWrapped), SECRET);
    await assert.rejects(
      unwrapAccountSecret(config, 'upstream:other', stored.secretWrapped),
      'bound to its provider id',
    );
    const shown = JSON.stringify(describeUpstream(stored)) + JSON.stringify(await listUpstreams(stores));
    assert.ok(!shown.includes(SECRET) && !shown.includes(stored.secretWrapped));
    assert.equal(describeUpstream(stored).secret, 'stored');
    assert.deepEqual(events.at(-1), { type: 'upstream_saved', provider: 'corp', actor: 'admin' });
  });

  it('saving the same input again changes nothing (same wrapped value, same updatedAt, no event)', async () => {
    const before = (await stores.upstreams.get('corp'))!;
    const n = events.length;
    clock = NOW + 50;
    const r = await saveUpstream(deps, corp, 'admin');
    assert.equal(r.changed, false);
    assert.deepEqual(await stores.upstreams.get('corp'), before);
    assert.equal(events.length, n);
    const withoutSecret = { ...corp };
    delete withoutSecret.client_secret;
    assert.equal((await saveUpstream(deps, withoutSecret, 'admin')).changed, false, 'a secret left out is kept');
  });

  it('a change moves updatedAt forward even within the same second, and keeps createdAt', async () => {
    const before = (await stores.upstreams.get('corp'))!;
    clock = before.updatedAt; // the same second
    const r = await saveUpstream(deps, { ...corp, label: 'Corp SSO' }, 'bootstrap');
    assert.equal(r.changed, true);
    assert.equal(r.provider.updatedAt, before.updatedAt + 1);
    assert.equal(r.provider.createdAt, before.createdAt);
    assert.deepEqual(events.at(-1), { type: 'upstream_saved', provider: 'corp', actor: 'bootstrap' });
    const rotated = await saveUpstream(deps, { ...corp, label: 'Corp SSO', client_secret: `${SECRET}-new` }, 'admin');
    assert.equal(await open('corp', rotated.provider.secretWrapped!), `${SECRET}-new`);
  });

  it('during a key-encryption key rotation, saving with the same secret wraps it under the new key', async () => {
    const before = (await stores.upstreams.get('corp'))!;
    const plainNow = await open('corp', before.secretWrapped!);
    const rotated = {
      ...config,
      keyEncryptionKey: 'a-new-key-encryption-key-of-enough-length-1234',
      keyEncryptionKeyPrevious: config.keyEncryptionKey,
    };
    const input = { ...corp, label: 'Corp SSO', client_secret: plainNow };
    const r = await saveUpstream({ ...deps, config: rotated }, input, 'admin');
    assert.equal(r.changed, true);
    assert.equal(
      await unwrapAccountSecret(
        { keyEncryptionKey: rotated.keyEncryptionKey },
        'upstream:corp',
        r.provider.secretWrapped!,
      ),
      plainNow,
    );
    assert.equal((await saveUpstream({ ...deps, config: rotated }, input, 'admin')).changed, false, 'then unchanged');
    // Back to the original key for the tests below.
    await saveUpstream(deps, input, 'admin');
  });

  it('a refused input changes nothing', async () => {
    const before = (await stores.upstreams.get('corp'))!;
    await assert.rejects(saveUpstream(deps, { ...corp, issuer: 'http://idp.example.com' }, 'admin'), AdminError);
    assert.deepEqual(await stores.upstreams.get('corp'), before);
  });

  it('disable and enable keep the rest; a bootstrap file that leaves enabled out keeps the state', async () => {
    assert.equal(await setUpstreamEnabled(deps, 'corp', false), true);
    assert.equal(await setUpstreamEnabled(deps, 'corp', false), false);
    assert.equal((await stores.upstreams.get('corp'))!.enabled, false);
    await saveUpstream(deps, { ...corp, label: 'Corp SSO', client_secret: `${SECRET}-new` }, 'bootstrap');
    assert.equal((await stores.upstreams.get('corp'))!.enabled, false);
    await assert.rejects(setUpstreamEnabled(deps, 'nope', true), /no upstream nope/);
  });

  it('a home-realm domain belongs to one provider', async () => {
    await saveUpstream(deps, { ...corp, home_realm_domains: ['corp.example'] }, 'admin');
    await assert.rejects(
      saveUpstream(deps, { ...corp, id: 'corp2', home_realm_domains: ['corp.example'] }, 'admin'),
      /already sends these domains to another provider: corp.example \(corp\)/,
    );
    assert.equal(await stores.upstreams.get('corp2'), undefined);
  });

  it('deleting removes the provider and its identities, with an event', async () => {
    await stores.upstreamIdentities.link({
      providerId: 'corp',
      issuer: 'https://idp.example.com',
      subject: 's1',
      userId: 'u1',
      email: null,
      createdAt: NOW,
      lastUsedAt: NOW,
    });
    await deleteUpstream(deps, 'corp', 'admin');
    assert.equal(await stores.upstreams.get('corp'), undefined);
    assert.deepEqual(await stores.upstreamIdentities.listByUser('u1'), []);
    assert.deepEqual(events.at(-1), { type: 'upstream_deleted', provider: 'corp', actor: 'admin' });
    await assert.rejects(deleteUpstream(deps, 'corp', 'admin'), /no upstream corp/);
  });

  it('the bootstrap file: an upstreams list, unknown keys refused, applied once, audited as bootstrap', async () => {
    assert.deepEqual(bootstrapSchemaProblems({ upstreams: [{ id: 'gh', preset: 'github', clientid: 'x' }] }), [
      'upstreams[0] (gh): unknown key "clientid" (did you mean "client_id"?)',
    ]);
    const file = {
      upstreams: [
        { id: 'gh', preset: 'github' as const, client_id: 'Iv1.abc', client_secret: SECRET, order: 1 },
        { id: 'ms', preset: 'microsoft' as const, tenant: 'organizations', client_id: 'app', client_secret: SECRET },
      ],
    };
    assert.equal((await applyBootstrap(stores, config, file, NOW + 100)).upstreams, 2);
    assert.equal((await applyBootstrap(stores, config, file, NOW + 200)).upstreams, 0, 'idempotent');
    assert.deepEqual(
      (await stores.upstreams.list()).map((u) => u.id),
      ['ms', 'gh'],
      'by order, then id',
    );
    const audit = (await stores.audit.query({ limit: 100 })).filter((a) => a.type === 'upstream_saved');
    assert.deepEqual(
      audit.map((a) => [a.actor, a.details]),
      [
        ['bootstrap', { provider: 'gh' }],
        ['bootstrap', { provider: 'ms' }],
      ],
    );
    await assert.rejects(
      applyBootstrap(stores, config, { upstreams: [{ ...file.upstreams[0]!, auto_link_domains: ['Bad'] }] }, NOW),
      AdminError,
    );
    assert.throws(
      () => parseUpstreamsDocument('[{id: a, preset: google}, {id: b}, {id: a}]', 'f.yaml'),
      /f.yaml: the same id more than once: a/,
    );
    assert.throws(() => parseUpstreamsDocument('{id: a, clientsecret: x}', 'f.yaml'), /did you mean "client_secret"/);
    assert.deepEqual(
      parseUpstreamsDocument('upstreams:\n  - id: a\n  - id: b', 'f.yaml').map((u) => u.id),
      ['a', 'b'],
    );
    assert.throws(() => parseUpstreamsDocument('[]', 'f.yaml'), /no upstream provider/);
  });
});
