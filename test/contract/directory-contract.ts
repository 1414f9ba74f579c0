/**
 * The contract of the directory store (ports/directory.ts, issue 20): groups and members,
 * application roles, typed user attributes, claim mappings, and what one issuance reads of a user.
 * stores.test.ts declares it for every SQL backend (backends.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApplicationRef, ClaimMappingRecord, GroupRecord, Stores } from '../../src/ports/index.ts';
import { applicationKey } from '../../src/ports/index.ts';
import { client, NOW, uid, user } from './factories.ts';

const group = (over: Partial<GroupRecord> = {}): GroupRecord => ({
  id: uid('g'),
  name: uid('Group'),
  description: 'Ünïcode ✓ description',
  createdAt: NOW,
  updatedAt: NOW,
  ...over,
});

const mapping = (over: Partial<ClaimMappingRecord> = {}): ClaimMappingRecord => ({
  id: uid('m'),
  application: { type: 'client', id: uid('app') },
  claim: 'groups',
  source: 'groups',
  attribute: null,
  type: 'strings',
  scope: 'profile',
  targets: ['id_token', 'userinfo'],
  createdAt: NOW,
  updatedAt: NOW,
  ...over,
});

export function directoryContract(stores: Stores): void {
  const d = () => stores.directory;
  describe('directory', () => {
    it('groups: create, read by id and by name without regard to case, update, delete; names unique', async () => {
      const g = group({ description: null });
      assert.equal(await d().createGroup(g), true);
      assert.deepEqual(await d().getGroup(g.id), g);
      assert.deepEqual(await d().findGroupByName(g.name.toUpperCase()), g);
      assert.equal(await d().createGroup(group({ name: g.name.toLowerCase() })), false, 'the name is taken');
      assert.equal(await d().createGroup({ ...g, name: uid('other') }), false, 'the id is taken');
      const other = group();
      await d().createGroup(other);
      assert.equal(await d().updateGroup({ ...other, name: g.name.toUpperCase() }), 'name_taken');
      assert.deepEqual(await d().getGroup(other.id), other, 'unchanged');
      const renamed = { ...g, name: `${g.name}-renamed`, description: 'now described', updatedAt: NOW + 5 };
      assert.equal(await d().updateGroup(renamed), 'updated');
      assert.deepEqual(await d().getGroup(g.id), renamed);
      assert.equal(await d().updateGroup({ ...renamed, name: renamed.name.toUpperCase() }), 'updated', 'own name');
      assert.equal(await d().updateGroup(group()), 'missing');
      assert.equal(await d().deleteGroup(g.id), true);
      assert.equal(await d().deleteGroup(g.id), false);
      assert.equal(await d().getGroup(g.id), undefined);
    });

    it('groups are paged in name order and searched in name and description (case-insensitive, wildcards literal)', async () => {
      const tag = uid('pg').toLowerCase();
      const made = [];
      for (const n of ['c', 'A', 'b', 'd_x']) {
        const g = group({ name: `${tag}-${n}`, description: n === 'b' ? `has 100% ${tag}` : null });
        await d().createGroup(g);
        made.push(g);
      }
      const first = await d().pageGroups({ limit: 2, search: tag.toUpperCase() });
      assert.deepEqual(
        first.items.map((g) => g.name),
        [`${tag}-A`, `${tag}-b`],
      );
      assert.ok(first.next);
      const second = await d().pageGroups({ limit: 2, search: tag, after: first.next });
      assert.deepEqual(
        second.items.map((g) => g.name),
        [`${tag}-c`, `${tag}-d_x`],
      );
      assert.equal(second.next, undefined);
      assert.deepEqual(
        (await d().pageGroups({ limit: 10, search: `${tag}-d_` })).items.map((g) => g.name),
        [`${tag}-d_x`],
      );
      assert.deepEqual(
        (await d().pageGroups({ limit: 10, search: '100%' })).items.filter((g) => g.name.startsWith(tag)).length,
        1,
        'matched in the description',
      );
      assert.equal((await d().pageGroups({ limit: 10, search: `${tag}%` })).items.length, 0, '% is literal');
    });

    it('members: add once, remove once, page, groups of a user; deleting a group removes its memberships', async () => {
      const [a, b] = [group({ name: `zeta-${uid('n')}` }), group({ name: `alpha-${uid('n')}` })];
      await d().createGroup(a);
      await d().createGroup(b);
      const u = uid('user');
      const others = [uid('user'), uid('user'), uid('user')];
      assert.equal(await d().addMember(a.id, u, NOW), true);
      assert.equal(await d().addMember(a.id, u, NOW), false, 'a member already');
      await d().addMember(b.id, u, NOW);
      for (const o of others) await d().addMember(a.id, o, NOW);
      assert.deepEqual(
        (await d().groupsOfUser(u)).map((g) => g.id),
        [b.id, a.id],
        'by name',
      );
      const all = [u, ...others].sort();
      const p1 = await d().members(a.id, { limit: 3 });
      assert.deepEqual(p1.items, all.slice(0, 3));
      assert.deepEqual((await d().members(a.id, { limit: 3, after: p1.next })).items, all.slice(3));
      assert.equal(await d().removeMember(a.id, u), true);
      assert.equal(await d().removeMember(a.id, u), false);
      assert.deepEqual(
        (await d().groupsOfUser(u)).map((g) => g.id),
        [b.id],
      );
      await d().deleteGroup(b.id);
      assert.deepEqual(await d().groupsOfUser(u), []);
      assert.deepEqual((await d().members(b.id, { limit: 10 })).items, []);
    });

    it('concurrent additions of one member: one wins', async () => {
      const g = group();
      await d().createGroup(g);
      const u = uid('user');
      const won = await Promise.all(Array.from({ length: 20 }, () => d().addMember(g.id, u, NOW)));
      assert.equal(won.filter(Boolean).length, 1);
    });

    it('application roles: assign once per user, application and role; clients and resources apart; paged per application', async () => {
      const app: ApplicationRef = { type: 'client', id: uid('app') };
      const rs: ApplicationRef = { type: 'resource', id: app.id };
      const [u1, u2] = [uid('u1'), uid('u2')].sort();
      const assign = (userId: string, role: string, application = app) =>
        d().assignRole({ userId, application, role, grantedAt: NOW });
      assert.equal(await assign(u1!, 'editor'), true);
      assert.equal(await assign(u1!, 'editor'), false);
      assert.equal(await assign(u1!, 'editor', rs), true, 'the same id as a resource is another application');
      await assign(u1!, 'admin');
      await assign(u2!, 'editor');
      assert.deepEqual(
        (await d().rolesOfUser(u1!, app)).map((r) => r.role),
        ['admin', 'editor'],
      );
      assert.deepEqual(await d().rolesOfUser(u1!, rs), [
        { userId: u1, application: rs, role: 'editor', grantedAt: NOW },
      ]);
      assert.equal((await d().rolesOfUser(u1!)).length, 3);
      const p1 = await d().pageRoles(app, { limit: 2 });
      assert.deepEqual(
        p1.items.map((r) => [r.role, r.userId]),
        [
          ['admin', u1],
          ['editor', u1],
        ],
      );
      const p2 = await d().pageRoles(app, { limit: 2, after: p1.next });
      assert.deepEqual(
        p2.items.map((r) => [r.role, r.userId]),
        [['editor', u2]],
      );
      assert.equal(p2.next, undefined);
      assert.equal((await d().pageRoles(app, { limit: 10, search: 'ADM' })).items.length, 1);
      assert.equal(await d().removeRole(u1!, app, 'editor'), true);
      assert.equal(await d().removeRole(u1!, app, 'editor'), false);
      assert.deepEqual(
        (await d().rolesOfUser(u1!, app)).map((r) => r.role),
        ['admin'],
      );
    });

    it('attributes keep their type and value, are replaced in place, removed once', async () => {
      const u = uid('user');
      const set = (name: string, type: 'string' | 'number' | 'boolean' | 'strings', value: unknown) =>
        d().setAttribute({ userId: u, name, type, value: value as never, updatedAt: NOW });
      await set('department', 'string', 'Ünïcode ✓');
      await set('level', 'number', 3.5);
      await set('contractor', 'boolean', false);
      await set('sites', 'strings', ['a', 'b']);
      assert.deepEqual(
        (await d().attributesOf(u)).map((a) => [a.name, a.type, a.value]),
        [
          ['contractor', 'boolean', false],
          ['department', 'string', 'Ünïcode ✓'],
          ['level', 'number', 3.5],
          ['sites', 'strings', ['a', 'b']],
        ],
      );
      await set('level', 'string', 'four');
      assert.deepEqual(
        (await d().attributesOf(u)).find((a) => a.name === 'level'),
        { userId: u, name: 'level', type: 'string', value: 'four', updatedAt: NOW },
      );
      assert.equal(await d().removeAttribute(u, 'level'), true);
      assert.equal(await d().removeAttribute(u, 'level'), false);
      assert.equal((await d().attributesOf(u)).length, 3);
    });

    it('claim mappings: one per application and claim name; update, delete', async () => {
      const m = mapping();
      assert.equal(await d().createMapping(m), true);
      assert.deepEqual(await d().getMapping(m.id), m);
      assert.equal(await d().createMapping(mapping({ application: m.application })), false, 'claim taken');
      const rs = mapping({
        application: { type: 'resource', id: m.application.id },
        source: 'attribute',
        attribute: 'department',
        type: 'string',
        claim: 'groups',
        targets: ['access_token'],
      });
      assert.equal(await d().createMapping(rs), true, 'a resource of the same id is another application');
      const roles = mapping({ application: m.application, claim: 'roles', source: 'roles' });
      await d().createMapping(roles);
      assert.equal(await d().updateMapping({ ...roles, claim: 'groups' }), 'claim_taken');
      const changed = {
        ...roles,
        claim: 'app_roles',
        scope: 'orders',
        targets: ['access_token' as const],
        updatedAt: NOW + 1,
      };
      assert.equal(await d().updateMapping(changed), 'updated');
      assert.deepEqual(await d().getMapping(roles.id), changed);
      assert.equal(await d().updateMapping(mapping()), 'missing');
      const listed = await d().listMappings();
      for (const x of [m, rs, changed])
        assert.deepEqual(
          listed.find((y) => y.id === x.id),
          x,
        );
      assert.equal(await d().deleteMapping(m.id), true);
      assert.equal(await d().deleteMapping(m.id), false);
      assert.equal(await d().getMapping(m.id), undefined);
    });

    it('facts: only what is asked for, roles of the named applications, sorted', async () => {
      const u = uid('user');
      const [g1, g2] = [group({ name: `b-${uid('n')}` }), group({ name: `A-${uid('n')}` })];
      for (const g of [g1, g2]) {
        await d().createGroup(g);
        await d().addMember(g.id, u, NOW);
      }
      const app = { type: 'client' as const, id: uid('app') };
      const rs = { type: 'resource' as const, id: `https://${uid('rs')}.example/` };
      const elsewhere = { type: 'client' as const, id: uid('app') };
      for (const [a, role] of [
        [app, 'writer'],
        [app, 'reader'],
        [rs, 'admin'],
        [elsewhere, 'owner'],
      ] as const)
        await d().assignRole({ userId: u, application: a, role, grantedAt: NOW });
      await d().setAttribute({ userId: u, name: 'dept', type: 'string', value: 'ops', updatedAt: NOW });
      await d().setAttribute({ userId: u, name: 'secret', type: 'string', value: 'x', updatedAt: NOW });
      const f = await d().facts(u, { groups: true, roles: [app, rs], attributes: ['dept', 'missing'] });
      assert.deepEqual(f.groups, [g2.name, g1.name]);
      assert.deepEqual(
        [...f.roles.entries()].sort(),
        [
          [applicationKey(app), ['reader', 'writer']],
          [applicationKey(rs), ['admin']],
        ].sort(),
      );
      assert.deepEqual([...f.attributes.entries()], [['dept', { type: 'string', value: 'ops' }]]);
      const none = await d().facts(u, { groups: false, roles: [], attributes: [] });
      assert.deepEqual(none, { groups: [], roles: new Map(), attributes: new Map() });
    });

    it("deleting a user removes the user's memberships, application roles and attributes, and nobody else's", async () => {
      const [gone, kept] = [user(), user()];
      await stores.users.put(gone);
      await stores.users.put(kept);
      const g = group();
      await d().createGroup(g);
      const app = { type: 'client' as const, id: uid('app') };
      for (const u of [gone, kept]) {
        await d().addMember(g.id, u.id, NOW);
        await d().assignRole({ userId: u.id, application: app, role: 'r', grantedAt: NOW });
        await d().setAttribute({ userId: u.id, name: 'a', type: 'number', value: 1, updatedAt: NOW });
      }
      assert.equal(await stores.users.deleteWithTombstone(gone.id, NOW, NOW + 10), true);
      assert.deepEqual(await d().groupsOfUser(gone.id), []);
      assert.deepEqual(await d().rolesOfUser(gone.id), []);
      assert.deepEqual(await d().attributesOf(gone.id), []);
      assert.deepEqual((await d().members(g.id, { limit: 10 })).items, [kept.id]);
      assert.equal((await d().rolesOfUser(kept.id)).length, 1);
      assert.equal((await d().attributesOf(kept.id)).length, 1);
    });

    it('deleting a client or a resource server removes its application roles and claim mappings: a new one of the same id starts without them', async () => {
      const u = user();
      await stores.users.put(u);
      const c = client({ clientId: uid('gone-client') });
      await stores.clients.put(c);
      const identifier = `https://${uid('gone')}.example/api`;
      await stores.resourceServers.put({
        identifier,
        displayName: 'Gone',
        scopes: [{ name: 'read', description: 'Read' }],
        accessTokenTtl: null,
        signingAlg: null,
        dpop: 'optional',
        createdAt: NOW,
        updatedAt: NOW,
      });
      const kept = { type: 'client' as const, id: uid('kept') };
      const apps: ApplicationRef[] = [{ type: 'client', id: c.clientId }, { type: 'resource', id: identifier }, kept];
      for (const application of apps) {
        await d().assignRole({ userId: u.id, application, role: 'r', grantedAt: NOW });
        await d().createMapping(mapping({ application, targets: ['access_token'] }));
      }
      assert.equal(await stores.clients.delete(c.clientId), true);
      assert.equal(await stores.resourceServers.delete(identifier), true);
      assert.deepEqual(
        (await d().rolesOfUser(u.id)).map((r) => r.application),
        [kept],
      );
      const left = (await d().listMappings()).filter((m) =>
        apps.some((a) => applicationKey(a) === applicationKey(m.application)),
      );
      assert.deepEqual(
        left.map((m) => m.application),
        [kept],
      );
    });
  });
}
