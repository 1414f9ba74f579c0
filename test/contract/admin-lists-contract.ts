/**
 * The contract of what the admin lists and the dashboard read (issue 20): pages of users, clients
 * and live sessions (key order, cursor, case-insensitive search with LIKE's wildcards taken
 * literally), counts, a client's consents and active grants. stores.test.ts declares it for every
 * SQL backend (backends.ts), with `stores` the open backend's stores, which other suites share:
 * every test searches for a marker of its own, or counts differences.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Page, PageQuery, Stores } from '../../src/ports/index.ts';
import { NOW, client, grant, refreshFor, access, session, uid, user } from './factories.ts';

/** Every item of a list, page after page of `limit`, and the sizes of the pages. */
async function walk<T>(
  read: (q: PageQuery) => Promise<Page<T>>,
  q: Omit<PageQuery, 'after'>,
): Promise<{ items: T[]; sizes: number[] }> {
  const items: T[] = [];
  const sizes: number[] = [];
  let after: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await read({ ...q, ...(after !== undefined ? { after } : {}) });
    items.push(...page.items);
    sizes.push(page.items.length);
    if (page.next === undefined) return { items, sizes };
    after = page.next;
  }
  throw new Error('no last page');
}

const sorted = (keys: string[]) => [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

export function adminListsContract(stores: Stores): void {
  describe('admin lists: users', () => {
    it('pages in id order with a cursor; the last page has no next', async () => {
      const marker = uid('pg').replaceAll('-', '');
      const made = Array.from({ length: 5 }, (_, i) => user({ username: `${marker}-${i}` }));
      for (const u of made) await stores.users.create(u);
      const { items, sizes } = await walk((q) => stores.users.page(q), { limit: 2, search: marker });
      assert.deepEqual(sizes, [2, 2, 1]);
      assert.deepEqual(
        items.map((u) => u.id),
        sorted(made.map((u) => u.id)),
      );
      assert.deepEqual(
        items.find((u) => u.id === made[0]!.id),
        made[0],
      );
      // A limit that fits them all: one page, no next.
      const one = await stores.users.page({ limit: 5, search: marker });
      assert.equal(one.items.length, 5);
      assert.equal(one.next, undefined);
      // Without a search, the cursor still moves in id order over everyone.
      const first = await stores.users.page({ limit: 3 });
      const second = await stores.users.page({ limit: 3, after: first.next! });
      assert.ok(second.items.every((u) => u.id > first.items.at(-1)!.id));
    });

    it('searches username, email and name, case-insensitively (letters beyond ASCII too)', async () => {
      const marker = uid('srch').replaceAll('-', '');
      const byName = user({ name: `Émile Zoë ${marker}`, username: uid('u') });
      const byEmail = user({ email: `${marker.toUpperCase()}@Example.ORG`, username: uid('u') });
      const byUsername = user({ username: `${marker}-login` });
      const neither = user({ username: uid('u') });
      for (const u of [byName, byEmail, byUsername, neither]) await stores.users.create(u);
      const ids = async (search: string) =>
        (await stores.users.page({ limit: 50, search })).items.map((u) => u.id).sort();
      assert.deepEqual(await ids(marker.toUpperCase()), sorted([byName.id, byEmail.id, byUsername.id]));
      assert.deepEqual(await ids(`émile zoë ${marker}`), [byName.id]);
      assert.deepEqual(await ids(`ÉMILE ZOË ${marker}`), [byName.id]);
      assert.deepEqual(await ids(`${marker}@example.org`), [byEmail.id]);
      assert.deepEqual(await ids(`${marker}-LOGIN`), [byUsername.id]);
      assert.deepEqual(await ids(`${marker}-nobody`), []);
    });

    it("takes the search's % _ and \\ literally", async () => {
      const marker = uid('wild').replaceAll('-', '');
      const underscore = user({ username: `${marker}_x` });
      const letter = user({ username: `${marker}ax` });
      const percent = user({ username: `${marker}%y` });
      const backslash = user({ username: `${marker}\\z` });
      for (const u of [underscore, letter, percent, backslash]) await stores.users.create(u);
      const names = async (search: string) =>
        (await stores.users.page({ limit: 50, search })).items.map((u) => u.username).sort();
      assert.deepEqual(await names(`${marker}_x`), [underscore.username]);
      assert.deepEqual(await names(`${marker}%`), [percent.username]);
      assert.deepEqual(await names(`${marker}\\`), [backslash.username]);
      assert.deepEqual(await names(`${marker}\\z`), [backslash.username]);
      assert.equal((await names('%')).includes(letter.username), false);
      assert.equal((await names('_')).includes(letter.username), false);
    });

    it('count counts every user', async () => {
      const before = await stores.users.count();
      for (let i = 0; i < 3; i++) await stores.users.create(user());
      assert.equal(await stores.users.count(), before + 3);
    });
  });

  describe('admin lists: clients', () => {
    it('pages in client_id order; searches client_id and client_name case-insensitively', async () => {
      const marker = uid('cl').replaceAll('-', '');
      const byId = Array.from({ length: 3 }, (_, i) => client({ clientId: `${marker}-${i}`, clientName: 'App' }));
      const byName = client({ clientName: `The ${marker.toUpperCase()} portal` });
      for (const c of [...byId, byName]) await stores.clients.put(c);
      const { items, sizes } = await walk((q) => stores.clients.page(q), { limit: 3, search: marker });
      assert.deepEqual(sizes, [3, 1]);
      assert.deepEqual(
        items.map((c) => c.clientId),
        sorted([...byId, byName].map((c) => c.clientId)),
      );
      assert.deepEqual(
        items.find((c) => c.clientId === byName.clientId),
        byName,
      );
      assert.deepEqual(
        (await stores.clients.page({ limit: 10, search: `${marker}-1` })).items.map((c) => c.clientId),
        [byId[1]!.clientId],
      );
      assert.deepEqual((await stores.clients.page({ limit: 10, search: `${marker}_1` })).items, []);
    });
  });

  describe('admin lists: sessions', () => {
    it('pages the live sessions in sid order; searches the user id and the address', async () => {
      const marker = uid('ss').replaceAll('-', '');
      const userId = `user-${marker}`;
      const live = Array.from({ length: 4 }, (_, i) =>
        session({ userId, sid: `${marker}-${i}`, ip: `192.0.2.${i}`, expiresAt: NOW + 600 }),
      );
      const expired = session({ userId, sid: `${marker}-x`, expiresAt: NOW - 1 });
      const elsewhere = session({ ip: `2001:db8::${marker.slice(-4)}` });
      for (const s of [...live, expired, elsewhere]) await stores.sessions.create(s);
      const { items, sizes } = await walk((q) => stores.sessions.page(q, NOW), { limit: 3, search: marker });
      assert.deepEqual(sizes, [3, 1]);
      assert.deepEqual(
        items.map((s) => s.sid),
        live.map((s) => s.sid),
      );
      assert.deepEqual(items[0], live[0]);
      // By address; expired by `now`; the expiry itself is not live.
      assert.deepEqual(
        (await stores.sessions.page({ limit: 10, search: `2001:DB8::${marker.slice(-4)}` }, NOW)).items.map(
          (s) => s.idHash,
        ),
        [elsewhere.idHash],
      );
      assert.deepEqual((await stores.sessions.page({ limit: 10, search: marker }, NOW + 600)).items, []);
    });

    it('countLive counts the sessions not expired at now', async () => {
      const before = await stores.sessions.countLive(NOW);
      await stores.sessions.create(session({ expiresAt: NOW + 1 }));
      await stores.sessions.create(session({ expiresAt: NOW + 100 }));
      await stores.sessions.create(session({ expiresAt: NOW }));
      assert.equal(await stores.sessions.countLive(NOW), before + 2);
    });
  });

  describe('admin lists: consents and grants of a client', () => {
    it("listByClient: the client's consents, by user id", async () => {
      const [c, other] = [uid('client'), uid('client')];
      const [u1, u2] = sorted([uid('user'), uid('user')]) as [string, string];
      await stores.consents.grant(u2, c, ['openid', 'email'], NOW);
      await stores.consents.grant(u1, c, ['openid'], NOW + 1, ['https://api.example/']);
      await stores.consents.grant(u1, other, ['openid'], NOW);
      const listed = await stores.consents.listByClient(c);
      assert.deepEqual(
        listed.map((x) => [x.userId, x.clientId]),
        [
          [u1, c],
          [u2, c],
        ],
      );
      assert.deepEqual(listed[0], await stores.consents.get(u1, c));
      assert.deepEqual(await stores.consents.listByClient(uid('client')), []);
    });

    it('listActiveByClient: neither revoked nor expired, newest first, at most limit; countActive', async () => {
      const clientId = uid('client');
      const activeBefore = await stores.grants.countActive(NOW);
      const older = grant({ clientId, createdAt: NOW - 20 });
      const newer = grant({ clientId, createdAt: NOW - 10 });
      const expired = grant({ clientId, createdAt: NOW - 5, expiresAt: NOW });
      const revoked = grant({ clientId, createdAt: NOW - 1 });
      const otherClient = grant({ createdAt: NOW });
      for (const g of [older, newer, expired, revoked, otherClient])
        await stores.grants.create(g, refreshFor(g), access());
      assert.equal(await stores.grants.revoke(revoked.id, NOW), true);
      assert.deepEqual(await stores.grants.listActiveByClient(clientId, NOW, 10), [newer, older]);
      assert.deepEqual(await stores.grants.listActiveByClient(clientId, NOW, 1), [newer]);
      assert.deepEqual(await stores.grants.listActiveByClient(clientId, older.expiresAt, 10), []);
      assert.equal(await stores.grants.countActive(NOW), activeBefore + 3);
    });
  });
}
