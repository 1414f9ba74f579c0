import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClaimMappingRecord, DirectoryFacts } from '../ports/directory.ts';
import { claimMappingsCache } from './claim-mappings-cache.ts';
import { claimValue, directoryClaims, reservedClaim, type PreparedClaims } from './directory-claims.ts';

const mapping = (over: Partial<ClaimMappingRecord>): ClaimMappingRecord => ({
  id: 'm',
  application: { type: 'client', id: 'web' },
  claim: 'groups',
  source: 'groups',
  attribute: null,
  type: 'strings',
  scope: 'profile',
  targets: ['id_token', 'userinfo', 'access_token'],
  createdAt: 0,
  updatedAt: 0,
  ...over,
});
const facts: DirectoryFacts = {
  groups: ['ops', 'staff'],
  roles: new Map([
    ['client web', ['editor']],
    ['resource https://api.example/', ['admin', 'reader']],
  ]),
  attributes: new Map([
    ['dept', { type: 'string', value: 'sales' }],
    ['level', { type: 'string', value: '3' }],
    ['sites', { type: 'strings', value: ['a', 'b'] }],
    ['empty', { type: 'strings', value: [] }],
  ]),
};
const prepared = (mappings: ClaimMappingRecord[]): PreparedClaims => ({
  userId: 'u',
  audience: 'https://api.example/',
  mappings,
  facts,
});

describe('claims from the directory', () => {
  it('reserved names, whatever their case', () => {
    for (const c of ['sub', 'SUB', 'Scope', 'client_id', 'cnf', 'at_hash', 'nonce', 'email', 'authorization_details'])
      assert.equal(reservedClaim(c), true, c);
    for (const c of ['groups', 'roles', 'department', 'https://example.com/roles'])
      assert.equal(reservedClaim(c), false, c);
  });

  it('values as the claim type asks; undefined when they cannot be', () => {
    const rows: [Parameters<typeof claimValue>[0], Parameters<typeof claimValue>[1], unknown][] = [
      [['a', 'b'], 'strings', ['a', 'b']],
      ['a', 'strings', ['a']],
      [['a', 'b'], 'string', 'a b'],
      [3, 'string', '3'],
      ['3.5', 'number', 3.5],
      ['-2', 'number', -2],
      ['3e5', 'number', undefined],
      ['three', 'number', undefined],
      [true, 'boolean', true],
      ['false', 'boolean', false],
      ['yes', 'boolean', undefined],
    ];
    for (const [v, t, want] of rows) assert.deepEqual(claimValue(v, t), want, `${JSON.stringify(v)} as ${t}`);
  });

  it('only mappings of the target, released by a granted scope, with a value; the resource server wins in access tokens', () => {
    const p = prepared([
      mapping({ claim: 'groups' }),
      mapping({ claim: 'roles', source: 'roles', scope: 'openid', targets: ['access_token', 'id_token'] }),
      mapping({ claim: 'department', source: 'attribute', attribute: 'dept', type: 'string', targets: ['userinfo'] }),
      mapping({ claim: 'level', source: 'attribute', attribute: 'level', type: 'number', targets: ['userinfo'] }),
      mapping({ claim: 'none', source: 'attribute', attribute: 'missing', targets: ['userinfo'] }),
      mapping({ claim: 'nothing', source: 'attribute', attribute: 'empty', targets: ['userinfo'] }),
      mapping({
        application: { type: 'resource', id: 'https://api.example/' },
        claim: 'roles',
        source: 'roles',
        scope: 'api:read',
        targets: ['access_token'],
      }),
      // A reserved name stored somehow (an older version, a hand-edited database) is never set.
      mapping({ claim: 'sub', source: 'attribute', attribute: 'dept', type: 'string' }),
    ]);
    assert.deepEqual(directoryClaims(p, 'openid profile', 'id_token'), { groups: ['ops', 'staff'], roles: ['editor'] });
    assert.deepEqual(directoryClaims(p, 'openid profile', 'userinfo'), {
      groups: ['ops', 'staff'],
      department: 'sales',
      level: 3,
    });
    assert.deepEqual(directoryClaims(p, 'openid api:read', 'access_token'), { roles: ['admin', 'reader'] });
    assert.deepEqual(directoryClaims(p, ['api:read'], 'access_token'), { roles: ['admin', 'reader'] });
    assert.deepEqual(directoryClaims(p, 'openid', 'access_token'), { roles: ['editor'] });
    assert.equal(directoryClaims(p, 'email', 'userinfo'), undefined);
    assert.equal(directoryClaims(undefined, 'openid profile', 'id_token'), undefined);
    // A resource server's mapping never reaches an ID token or userinfo, whatever its targets say.
    const odd = prepared([
      mapping({ application: { type: 'resource', id: 'https://api.example/' }, targets: ['id_token', 'userinfo'] }),
    ]);
    assert.equal(directoryClaims(odd, 'profile', 'id_token'), undefined);
  });

  it('the per-process copy: read once while fresh, shared by concurrent callers, dropped by forget and after 5 s, not kept when the read fails', async () => {
    let now = 1000;
    let reads = 0;
    let fail = false;
    const list = [mapping({}), mapping({ id: 'n', application: { type: 'resource', id: 'https://api.example/' } })];
    const store = {
      listMappings: async () => {
        reads++;
        if (fail) throw new Error('database down');
        return list;
      },
    };
    const cache = claimMappingsCache(() => now);
    assert.equal(cache.ready(), undefined);
    const [a, b] = await Promise.all([cache.read(store), cache.read(store)]);
    assert.equal(reads, 1);
    assert.equal(a, b);
    assert.deepEqual([...a.keys()], ['client web', 'resource https://api.example/']);
    assert.equal(cache.ready(), a);
    now += 4;
    await cache.read(store);
    assert.equal(reads, 1);
    now += 1;
    assert.equal(cache.ready(), undefined);
    await cache.read(store);
    assert.equal(reads, 2);
    cache.forget();
    assert.equal(cache.ready(), undefined);
    fail = true;
    await assert.rejects(cache.read(store), /database down/);
    fail = false;
    await cache.read(store);
    assert.equal(reads, 4, 'the failed read was not kept');
  });
});
