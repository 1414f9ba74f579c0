/**
 * The contract of the upstream stores (ports/upstreams.ts, issue 17): configured providers, the
 * identities linked to users, and the states of redirects in flight. stores.test.ts declares it for
 * every SQL backend (backends.ts), with `stores` the open backend's stores. The races are real
 * concurrent calls on the one database.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type {
  Stores,
  UpstreamIdentity,
  UpstreamIdentityKey,
  UpstreamProvider,
  UpstreamState,
} from '../../src/ports/index.ts';
import { NOW, times, uid } from './factories.ts';
import { upstreamRecord } from '../fixtures/upstream-records.ts';

const provider = (over: Partial<UpstreamProvider> = {}): UpstreamProvider =>
  upstreamRecord(uid('p').slice(0, 20).toLowerCase(), {
    label: 'Corp',
    issuer: 'https://idp.example.com',
    secretWrapped: 'eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..iv.ct.tag',
    scopes: ['openid', 'email'],
    createUsers: false,
    createdAt: NOW,
    updatedAt: NOW,
    ...over,
  });

const identity = (over: Partial<UpstreamIdentity> = {}): UpstreamIdentity => ({
  providerId: 'corp',
  issuer: 'https://idp.example.com',
  subject: uid('sub'),
  userId: uid('user'),
  email: 'alice@example.com',
  createdAt: NOW,
  lastUsedAt: NOW,
  ...over,
});

const keyOf = (i: UpstreamIdentity): UpstreamIdentityKey => ({
  providerId: i.providerId,
  issuer: i.issuer,
  subject: i.subject,
});

const state = (over: Partial<UpstreamState> = {}): UpstreamState => ({
  stateHash: uid('state'),
  providerId: 'corp',
  bindingHash: uid('binding'),
  purpose: 'login',
  interactionUid: uid('ia'),
  codeVerifier: uid('verifier'),
  nonce: uid('nonce'),
  createdAt: NOW,
  expiresAt: NOW + 600,
  ...over,
});

export function upstreamsContract(stores: Stores): void {
  describe('upstream providers', () => {
    it('put/get round-trips the whole record (every optional field); put replaces by id', async () => {
      const full = provider({
        preset: 'apple',
        discoveryUrl: 'https://idp.example.com/.well-known/openid-configuration',
        authorizationEndpoint: 'https://idp.example.com/authorize',
        tokenEndpoint: 'https://idp.example.com/token',
        userinfoEndpoint: 'https://idp.example.com/userinfo',
        jwksUri: 'https://idp.example.com/jwks',
        emailsEndpoint: 'https://api.example.com/user/emails',
        appleKeyId: 'ABC123DEFG',
        appleTeamId: 'TEAM123456',
        responseMode: 'form_post',
        claims: { subject: 'sub', username: 'u', name: 'n', email: 'e', emailVerified: 'ev', groups: 'g' },
        allowedDomains: ['example.com'],
        allowedTenants: ['72f988bf-86f1-41af-91ab-2d7cd011db47'],
        createUsers: true,
        autoLinkDomains: ['example.com'],
        trustAmr: true,
        acrMap: { silver: 'urn:tessera:acr:mfa' },
        homeRealmDomains: ['example.org'],
        privateNetwork: true,
      });
      await stores.upstreams.put(full);
      assert.deepEqual(await stores.upstreams.get(full.id), full);
      const changed = { ...full, label: 'Corp SSO', order: 7, enabled: false, updatedAt: NOW + 5 };
      delete changed.secretWrapped;
      await stores.upstreams.put(changed);
      assert.deepEqual(await stores.upstreams.get(full.id), changed);
      assert.equal(await stores.upstreams.get(uid('none')), undefined);
    });

    it('list gives every provider, enabled or not, by ascending order then id', async () => {
      const tag = uid('o').slice(0, 8).toLowerCase();
      const ps = [
        provider({ id: `${tag}-b`, order: 1 }),
        provider({ id: `${tag}-a`, order: 1, enabled: false }),
        provider({ id: `${tag}-z`, order: -5 }),
        provider({ id: `${tag}-c`, order: 10 }),
      ];
      for (const p of ps) await stores.upstreams.put(p);
      const mine = (await stores.upstreams.list()).filter((p) => p.id.startsWith(tag));
      assert.deepEqual(
        mine.map((p) => p.id),
        [`${tag}-z`, `${tag}-a`, `${tag}-b`, `${tag}-c`],
      );
      assert.deepEqual(mine[1], ps[1]);
    });

    it('delete removes the provider and its identities (only its own), once', async () => {
      const [p, other] = [provider(), provider()];
      await stores.upstreams.put(p);
      await stores.upstreams.put(other);
      const userId = uid('user');
      const mine = identity({ providerId: p.id, userId });
      const kept = identity({ providerId: other.id, userId });
      assert.equal(await stores.upstreamIdentities.link(mine), 'linked');
      assert.equal(await stores.upstreamIdentities.link(kept), 'linked');
      assert.equal(await stores.upstreams.delete(p.id), true);
      assert.equal(await stores.upstreams.get(p.id), undefined);
      assert.equal(await stores.upstreamIdentities.find(keyOf(mine)), undefined);
      assert.deepEqual(await stores.upstreamIdentities.listByUser(userId), [kept]);
      assert.equal(await stores.upstreams.delete(p.id), false);
      assert.deepEqual(await stores.upstreams.get(other.id), other);
    });
  });

  describe('upstream identities', () => {
    it('link/find by (provider, issuer, subject): the same subject at another issuer or provider is another identity', async () => {
      const i = identity();
      assert.equal(await stores.upstreamIdentities.link(i), 'linked');
      assert.deepEqual(await stores.upstreamIdentities.find(keyOf(i)), i);
      assert.equal(
        await stores.upstreamIdentities.find({ ...keyOf(i), issuer: 'https://other.example.com' }),
        undefined,
      );
      assert.equal(await stores.upstreamIdentities.find({ ...keyOf(i), providerId: 'other' }), undefined);
      // Another tenant's token with the same subject (Microsoft: the tenant is in the issuer).
      const otherTenant = identity({
        subject: i.subject,
        issuer: 'https://login.example.com/t2/v2.0',
        userId: uid('user'),
      });
      assert.equal(await stores.upstreamIdentities.link(otherTenant), 'linked');
      assert.deepEqual(await stores.upstreamIdentities.find(keyOf(i)), i);
    });

    it('link answers exists for its own user and taken for another, changing nothing', async () => {
      const i = identity();
      assert.equal(await stores.upstreamIdentities.link(i), 'linked');
      assert.equal(
        await stores.upstreamIdentities.link({ ...i, email: 'new@example.com', lastUsedAt: NOW + 9 }),
        'exists',
      );
      assert.equal(await stores.upstreamIdentities.link({ ...i, userId: uid('user') }), 'taken');
      assert.deepEqual(await stores.upstreamIdentities.find(keyOf(i)), i);
    });

    it('50 concurrent links of one identity to two users: exactly one wins, the rest see exists or taken', async () => {
      const [a, b] = [uid('user'), uid('user')];
      const base = identity();
      const results = await times(50, (n) => stores.upstreamIdentities.link({ ...base, userId: n % 2 ? a : b }));
      assert.equal(results.filter((r) => r === 'linked').length, 1);
      const holder = (await stores.upstreamIdentities.find(keyOf(base)))!.userId;
      assert.ok(holder === a || holder === b);
      results.forEach((r, n) => {
        const mine = (n % 2 ? a : b) === holder;
        assert.ok(mine ? r === 'linked' || r === 'exists' : r === 'taken', `call ${n}: ${r}`);
      });
      assert.equal((await stores.upstreamIdentities.listByUser(holder === a ? b : a)).length, 0);
    });

    it('listByUser: the user’s identities, oldest first; touch records the last use and email', async () => {
      const userId = uid('user');
      const later = identity({ userId, providerId: 'a-later', createdAt: NOW + 10, lastUsedAt: NOW + 10 });
      const first = identity({ userId, providerId: 'z-first', createdAt: NOW });
      const sameTime = identity({ userId, providerId: 'b-same', createdAt: NOW });
      for (const i of [later, first, sameTime]) await stores.upstreamIdentities.link(i);
      await stores.upstreamIdentities.link(identity());
      assert.deepEqual(await stores.upstreamIdentities.listByUser(userId), [sameTime, first, later]);
      await stores.upstreamIdentities.touch(keyOf(first), NOW + 99, null);
      assert.deepEqual(await stores.upstreamIdentities.find(keyOf(first)), {
        ...first,
        lastUsedAt: NOW + 99,
        email: null,
      });
      await stores.upstreamIdentities.touch(keyOf(first), NOW + 100, 'changed@example.com');
      assert.equal((await stores.upstreamIdentities.find(keyOf(first)))!.email, 'changed@example.com');
      assert.deepEqual(await stores.upstreamIdentities.listByUser(uid('user')), []);
    });

    it('unlink: missing for another user or an unknown key; last when it is the only way in; unlinked otherwise', async () => {
      const userId = uid('user');
      const [one, two] = [identity({ userId }), identity({ userId, providerId: 'other' })];
      await stores.upstreamIdentities.link(one);
      assert.equal(await stores.upstreamIdentities.unlink(uid('user'), keyOf(one), true), 'missing');
      assert.equal(await stores.upstreamIdentities.unlink(userId, { ...keyOf(one), subject: 'nope' }, true), 'missing');
      assert.equal(await stores.upstreamIdentities.unlink(userId, keyOf(one), false), 'last');
      assert.deepEqual(await stores.upstreamIdentities.find(keyOf(one)), one, 'refused: kept');
      await stores.upstreamIdentities.link(two);
      assert.equal(
        await stores.upstreamIdentities.unlink(userId, keyOf(one), false),
        'unlinked',
        'another identity is left',
      );
      assert.equal(await stores.upstreamIdentities.unlink(userId, keyOf(two), false), 'last');
      assert.equal(
        await stores.upstreamIdentities.unlink(userId, keyOf(two), true),
        'unlinked',
        'a password or passkey is left',
      );
      assert.deepEqual(await stores.upstreamIdentities.listByUser(userId), []);
      assert.equal(await stores.upstreamIdentities.unlink(userId, keyOf(two), true), 'missing');
    });

    it('concurrent unlinks of a user’s last two identities (no other way in): exactly one succeeds, one stays', async () => {
      for (let round = 0; round < 5; round++) {
        const userId = uid('user');
        const pair = [identity({ userId }), identity({ userId, providerId: 'other' })];
        for (const i of pair) await stores.upstreamIdentities.link(i);
        const results = await Promise.all(pair.map((i) => stores.upstreamIdentities.unlink(userId, keyOf(i), false)));
        assert.deepEqual([...results].sort(), ['last', 'unlinked'], `round ${round}`);
        assert.equal((await stores.upstreamIdentities.listByUser(userId)).length, 1);
      }
    });

    it('deleteByUser removes every identity of the user only', async () => {
      const userId = uid('user');
      for (const p of ['a', 'b', 'c']) await stores.upstreamIdentities.link(identity({ userId, providerId: p }));
      const other = identity();
      await stores.upstreamIdentities.link(other);
      assert.equal(await stores.upstreamIdentities.deleteByUser(userId), 3);
      assert.deepEqual(await stores.upstreamIdentities.listByUser(userId), []);
      assert.deepEqual(await stores.upstreamIdentities.find(keyOf(other)), other);
      assert.equal(await stores.upstreamIdentities.deleteByUser(userId), 0);
    });
  });

  describe('upstream states', () => {
    it('consume returns the state once (every field of each purpose), then nothing', async () => {
      const states = [
        state(),
        state({ purpose: 'account-login', interactionUid: undefined }),
        state({ purpose: 'link', interactionUid: undefined, userId: uid('user'), returnTo: '/account/linked' }),
        state({ purpose: 'reauth', interactionUid: undefined, userId: uid('user'), returnTo: '/account/security' }),
      ].map((s) => JSON.parse(JSON.stringify(s)) as UpstreamState);
      for (const s of states) await stores.upstreamStates.create(s);
      for (const s of states) {
        assert.deepEqual(await stores.upstreamStates.consume(s.stateHash, s.providerId, s.bindingHash, NOW), s);
        assert.equal(await stores.upstreamStates.consume(s.stateHash, s.providerId, s.bindingHash, NOW), undefined);
      }
    });

    it('an expired state is never returned', async () => {
      const s = state({ expiresAt: NOW + 10 });
      await stores.upstreamStates.create(s);
      assert.equal(await stores.upstreamStates.consume(s.stateHash, s.providerId, s.bindingHash, NOW + 10), undefined);
      assert.equal(await stores.upstreamStates.consume(s.stateHash, s.providerId, s.bindingHash, NOW + 11), undefined);
    });

    it('another browser’s binding or another provider neither returns nor burns the state (mix-up, stolen callback)', async () => {
      const s = state();
      await stores.upstreamStates.create(s);
      assert.equal(await stores.upstreamStates.consume(s.stateHash, s.providerId, uid('binding'), NOW), undefined);
      assert.equal(await stores.upstreamStates.consume(s.stateHash, 'other', s.bindingHash, NOW), undefined);
      assert.equal(await stores.upstreamStates.consume(uid('state'), s.providerId, s.bindingHash, NOW), undefined);
      assert.deepEqual(await stores.upstreamStates.consume(s.stateHash, s.providerId, s.bindingHash, NOW), s);
    });

    it('50 concurrent consumes of one state (some with a wrong binding): exactly one gets it', async () => {
      const s = state();
      await stores.upstreamStates.create(s);
      const results = await times(50, (n) =>
        stores.upstreamStates.consume(s.stateHash, s.providerId, n % 5 === 0 ? uid('binding') : s.bindingHash, NOW),
      );
      const won = results.filter((r) => r !== undefined);
      assert.equal(won.length, 1);
      assert.deepEqual(won[0], s);
      assert.ok(
        results.every((r, n) => n % 5 !== 0 || r === undefined),
        'never a wrong binding',
      );
    });
  });
}
