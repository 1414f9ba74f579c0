import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testProvider, type TestProvider } from '../../test/fixtures/protocol.ts';
import { applyBootstrap, bootstrapSchemaProblems } from './bootstrap.ts';
import { attributeValue } from './directory.ts';
import { AdminError } from './errors.ts';

describe('the directory in the bootstrap file', () => {
  let t: TestProvider;
  before(async () => {
    t = await testProvider({ TESSERA_EXTRA_SCOPES: 'api:read orders:read' });
  });
  after(() => t.close());

  const file = {
    users: [{ username: 'bob' }, { username: 'carol' }],
    resources: [{ identifier: 'https://orders.example/', display_name: 'Orders', scopes: { 'orders:read': 'Orders' } }],
    clients: [
      {
        client_id: 'shop',
        client_secret: 'shop-secret-0123456789-abcdefghijklmnop',
        redirect_uris: ['https://shop.example/cb'],
        scope: 'openid profile',
      },
    ],
    groups: [{ name: 'staff', description: 'On staff', members: ['bob', 'carol'] }, { name: 'ops' }],
    app_roles: [{ resource: 'https://orders.example/', role: 'admin', users: ['bob'] }],
    claim_mappings: [
      {
        client_id: 'shop',
        claim: 'groups',
        source: 'groups' as const,
        scope: 'profile',
        targets: ['id_token' as const],
      },
      {
        resource: 'https://orders.example/',
        claim: 'roles',
        source: 'roles' as const,
        scope: 'orders:read',
        targets: ['access_token' as const],
      },
    ],
  };

  it('applies groups with members, application roles and mappings; a second run changes nothing', async () => {
    const first = await applyBootstrap(t.p.stores, t.config, file, t.clock.now());
    assert.deepEqual(first.directory, { groups: 4, appRoles: 1, claimMappings: 2 });
    const bob = (await t.p.stores.users.findByUsername('bob'))!;
    assert.deepEqual(
      (await t.p.stores.directory.groupsOfUser(bob.id)).map((g) => g.name),
      ['staff'],
    );
    assert.deepEqual(
      (await t.p.stores.directory.rolesOfUser(bob.id)).map((r) => [r.application.id, r.role]),
      [['https://orders.example/', 'admin']],
    );
    assert.equal((await t.p.stores.directory.listMappings()).length, 2);
    const audited = (await t.p.stores.audit.query({ type: 'directory_bootstrap_applied' })).at(-1);
    assert.equal(audited?.details?.claim_mappings_changed, 2);
    const again = await applyBootstrap(t.p.stores, t.config, file, t.clock.now() + 10);
    assert.deepEqual(again.directory, { groups: 0, appRoles: 0, claimMappings: 0 });
    const changed = await applyBootstrap(
      t.p.stores,
      t.config,
      { ...file, claim_mappings: [{ ...file.claim_mappings[0]!, targets: ['id_token', 'userinfo'] }] },
      t.clock.now() + 20,
    );
    assert.deepEqual(changed.directory, { groups: 0, appRoles: 0, claimMappings: 1 });
  });

  it('refuses unknown keys, unknown users and applications, and reserved claims, naming the entry', async () => {
    assert.deepEqual(bootstrapSchemaProblems({ groups: [{ name: 'x', member: ['bob'] }] }), [
      'groups[0] (x): unknown key "member" (did you mean "members"?)',
    ]);
    assert.deepEqual(bootstrapSchemaProblems({ app_roles: [{ role: 'r', user: [] }] }), [
      'app_roles[0] (r): unknown key "user" (did you mean "users"?)',
    ]);
    const refused = async (part: object, why: RegExp) =>
      assert.rejects(applyBootstrap(t.p.stores, t.config, part, t.clock.now()), (e: Error) => {
        assert.ok(e instanceof AdminError);
        assert.match(e.message, why);
        return true;
      });
    await refused({ groups: [{ name: 'g', members: ['nobody'] }] }, /^groups\[0\] \(g\): no user nobody/);
    await refused({ groups: [{ name: 'has space' }] }, /groups\[0\].*name must be/);
    await refused({ app_roles: [{ client_id: 'nope', role: 'r', users: [] }] }, /app_roles\[0\] \(r\): no client nope/);
    await refused(
      {
        claim_mappings: [
          { client_id: 'shop', claim: 'sub', source: 'groups', scope: 'profile', targets: ['id_token'] },
        ],
      },
      /claim_mappings\[0\] \(sub\): claim sub is reserved/,
    );
  });

  it('attribute values are checked against their type', () => {
    assert.equal(attributeValue('dept', undefined, 'sales'), 'sales');
    assert.deepEqual(attributeValue('sites', 'strings', ['a']), ['a']);
    assert.throws(() => attributeValue('n', 'number', '3'), /value must be a number/);
    assert.throws(() => attributeValue('n', undefined, Number.NaN), /finite/);
    assert.throws(() => attributeValue('n', undefined, null), /string, number, boolean or list/);
    assert.throws(() => attributeValue('n', undefined, ['a', 1]), /list of strings/);
    assert.throws(() => attributeValue('n', undefined, 'x'.repeat(1001)), /at most 1000/);
    assert.throws(() => attributeValue('bad name', undefined, 'x'), /attribute name/);
  });
});
