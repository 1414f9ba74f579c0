/**
 * Contract tests for the storage ports, run against every SQL backend: in-memory SQLite, a SQLite
 * file (WAL) and PostgreSQL (skipped with a reason when unreachable, unless CI requires it).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openDatabase, type DatabaseHandle } from '../../src/adapters/sql/database.ts';
import { migrate } from '../../src/adapters/sql/migrations/index.ts';
import { createSqlStores } from '../../src/adapters/sql/stores.ts';
import { usernameKeys } from '../../src/accounts/usernames.ts';
import { StorageUnavailableError } from '../../src/ports/unavailable.ts';
import type {
  AuditEvent, ClientRecord, CodeRecord, GrantRecord, PushedRequestRecord, InteractionRecord, IssuedAccessToken, RefreshTokenRecord,
  RotateResult, SessionRecord, SigningKeyRecord, Stores, UserRecord,
} from '../../src/ports/index.ts';
import { createPgDatabase, pgAdminUrlForDisplay, sqliteTempUrl } from '../fixtures/db.ts';
import { freePort } from '../fixtures/server.ts';
import { replayContract } from './replay-contract.ts';
import { deviceCodesContract } from './device-codes-contract.ts';
import { initialAccessTokensContract } from './initial-access-tokens-contract.ts';
import { resourceServersContract } from './resource-servers-contract.ts';

const NOW = Math.floor(Date.now() / 1000);
const uid = (prefix: string) => `${prefix}-${randomUUID()}`;
const times = <T>(n: number, fn: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => fn(i)));
const tally = (results: { status: string }[]) =>
  results.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});

// ---- record factories --------------------------------------------------------------------------

const client = (over: Partial<ClientRecord> = {}): ClientRecord => ({
  clientId: uid('client'), clientName: 'Demo app', secretHash: 'hmac:abc', tokenEndpointAuthMethod: 'client_secret_basic',
  applicationType: 'web', redirectUris: ['https://app.example/cb', 'https://app.example/cb2'],
  postLogoutRedirectUris: ['https://app.example/'], grantTypes: ['authorization_code', 'refresh_token'],
  scopes: ['openid', 'profile', 'offline_access'], allowedResources: [], skipConsent: false, disabled: false, metadata: {},
  createdAt: NOW, updatedAt: NOW, ...over,
});

const user = (over: Partial<UserRecord> = {}): UserRecord => ({
  id: uid('user'), username: uid('alice'), passwordHash: '$argon2id$x', email: 'alice@example.com', emailVerified: true,
  name: 'Alice Liddell', givenName: 'Alice', familyName: 'Liddell', disabled: false, createdAt: NOW, updatedAt: NOW, origin: 'operator', ...over,
});

const session = (over: Partial<SessionRecord> = {}): SessionRecord => ({
  idHash: uid('sess'), sid: uid('sid'), userId: uid('user'), authTime: NOW, amr: ['pwd'],
  createdAt: NOW, lastSeenAt: NOW, expiresAt: NOW + 3600, ...over,
});

const interaction = (over: Partial<InteractionRecord> = {}): InteractionRecord => ({
  uid: uid('ia'), clientId: uid('client'), params: { response_type: 'code', scope: 'openid', state: 'xyz' },
  browserHash: 'bh', sessionIdHash: null, loginAt: null, createdAt: NOW, expiresAt: NOW + 600, ...over,
});

const code = (over: Partial<CodeRecord> = {}): CodeRecord => ({
  codeHash: uid('code'), grantId: uid('grant'), clientId: uid('client'), userId: uid('user'),
  redirectUri: 'https://app.example/cb', scope: 'openid profile', nonce: 'n-0S6', codeChallenge: 'E9Mel',
  resource: null, sid: uid('sid'), authTime: NOW, amr: ['pwd', 'otp'], createdAt: NOW, expiresAt: NOW + 60, ...over,
});

const grant = (over: Partial<GrantRecord> = {}): GrantRecord => ({
  id: uid('grant'), clientId: uid('client'), userId: uid('user'), scope: 'openid offline_access',
  resource: 'https://api.example/', sid: uid('sid'), authTime: NOW, amr: ['pwd'], createdAt: NOW,
  expiresAt: NOW + 86400, revokedAt: null, ...over,
});

const refreshFor = (g: GrantRecord, over: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord => ({
  tokenHash: uid('rt'), grantId: g.id, clientId: g.clientId, scope: g.scope, createdAt: NOW,
  expiresAt: NOW + 3600, usedAt: null, ...over,
});

const auditEvent = (over: Partial<AuditEvent> = {}): AuditEvent => ({
  at: NOW * 1000, type: 'token_issued', actor: 'user-1', clientId: 'web', ip: '203.0.113.7', outcome: 'success',
  details: { grant_type: 'authorization_code', scope: 'openid profile', n: 1, flag: true, none: null }, ...over,
});

const access = (over: Partial<IssuedAccessToken> = {}): IssuedAccessToken => ({ jti: uid('jti'), expiresAt: NOW + 300, ...over });

const key = (over: Partial<SigningKeyRecord> = {}): SigningKeyRecord => ({
  kid: uid('kid'), alg: 'ES256', state: 'active', publicJwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' },
  privateJwe: 'eyJ.enc.rypt.ed.jwe', createdAt: NOW, retiredAt: null, activatesAt: null, ...over,
});

// ---- backends ----------------------------------------------------------------------------------

interface Backend {
  name: string;
  url?: string;
  skip?: string;
  persistent: boolean;
  drop(): Promise<void>;
}

const sqliteFile = sqliteTempUrl();
const pgDb = await createPgDatabase();
const backends: Backend[] = [
  { name: 'sqlite (memory)', url: 'sqlite::memory:', persistent: false, drop: async () => {} },
  {
    name: 'sqlite (file, WAL)', url: sqliteFile, persistent: true,
    drop: async () => rmSync(dirname(sqliteFile.slice('sqlite:'.length)), { recursive: true, force: true }),
  },
  pgDb
    ? { name: 'postgresql', url: pgDb.url, persistent: true, drop: () => pgDb.drop() }
    : { name: 'postgresql', skip: `PostgreSQL unreachable at ${pgAdminUrlForDisplay()} (set CI or TESSERA_REQUIRE_PG=1 to fail instead)`, persistent: true, drop: async () => {} },
];

for (const backend of backends) {
  if (backend.skip) {
    describe(`SQL stores: ${backend.name}`, () => it('contract suite', { skip: backend.skip }, () => {}));
    continue;
  }
  describe(`SQL stores: ${backend.name}`, () => {
    let handle: DatabaseHandle;
    let stores: Stores;
    let applied: string[];

    before(async () => {
      handle = await openDatabase(backend.url!);
      applied = await migrate(handle.db);
      stores = createSqlStores(handle, usernameKeys);
    });
    after(async () => {
      await stores?.close();
      await backend.drop();
    });

    /** A grant with a first refresh and access token, as the code exchange creates it. */
    const seedGrant = async (over: Partial<GrantRecord> = {}) => {
      const g = grant(over);
      const rt = refreshFor(g);
      const at = access();
      await stores.grants.create(g, rt, at);
      return { g, rt, at };
    };
    const nextFor = (issued: IssuedAccessToken[] = []) => (prev: RefreshTokenRecord) => {
      const a = access();
      issued.push(a);
      return { refresh: { ...prev, tokenHash: uid('rt'), createdAt: NOW + 1, usedAt: null }, access: a };
    };

    describe('database and migrations', () => {
      it('applies every migration once, then nothing', async () => {
        assert.deepEqual(applied, ['0001_initial', '0002_counters', '0003_audit', '0004_client_metadata_replay', '0005_key_schedule', '0006_par_dpop', '0007_device_codes', '0008_registration_tokens', '0009_session_clients', '0010_authorization_details', '0011_claims_request', '0012_grant_certificate', '0013_replay_epoch', '0014_username_canonical', '0015_consent_resources', '0016_signing_algs', '0017_resource_servers']);
        assert.deepEqual(await migrate(handle.db), []);
      });
      it('ping() answers', async () => {
        await stores.ping();
      });
      if (backend.url?.startsWith('sqlite:') && backend.persistent) {
        it('opens SQLite files in WAL mode with foreign keys, a busy timeout, temporary tables in memory and a 32 MiB page cache', async () => {
          const pragma = async (name: string) =>
            Object.values((await sql.raw<Record<string, unknown>>(`pragma ${name}`).execute(handle.db)).rows[0]!)[0];
          assert.equal(await pragma('journal_mode'), 'wal');
          assert.equal(await pragma('foreign_keys'), 1);
          assert.equal(await pragma('busy_timeout'), 5000);
          assert.equal(await pragma('temp_store'), 2);
          assert.equal(await pragma('cache_size'), -32768);
        });
      }
      it('rejects unknown URL schemes', async () => {
        await assert.rejects(openDatabase('mysql://localhost/x'), /sqlite: or postgres/);
      });
      it('exclusive() runs callers one at a time (on PostgreSQL and a SQLite file across separate connections, as separate processes have), and after a failure', async () => {
        const other = backend.persistent ? createSqlStores(await openDatabase(backend.url!), usernameKeys) : stores;
        try {
          let inside = 0;
          let most = 0;
          const order: number[] = [];
          const work = (s: Stores, i: number) => s.exclusive(async () => {
            inside++;
            most = Math.max(most, inside);
            await new Promise((r) => setTimeout(r, 20));
            inside--;
            order.push(i);
            if (i === 0) throw new Error('first caller fails');
            return i;
          });
          const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => work(i % 2 ? other : stores, i)));
          assert.equal(most, 1, 'never two callers inside at once');
          assert.equal(order.length, 6);
          assert.equal(results[0]!.status, 'rejected');
          assert.deepEqual(results.slice(1).map((r) => (r as PromiseFulfilledResult<number>).value), [1, 2, 3, 4, 5]);
        } finally {
          if (other !== stores) await other.close();
        }
      });
      if (backend.url?.startsWith('postgres')) {
        it('maps a refused connection to StorageUnavailableError, and other errors not', async () => {
          const url = new URL(backend.url!);
          url.port = String(await freePort());
          const closed = await openDatabase(url.href);
          try {
            await assert.rejects(createSqlStores(closed, usernameKeys).ping(), (err: Error) => err instanceof StorageUnavailableError);
          } finally {
            await closed.close();
          }
          await assert.rejects(sql`select * from no_such_table`.execute(handle.db), (err: Error) => !(err instanceof StorageUnavailableError));
        });
      }
    });

    describe('clients', () => {
      it('replaceSecretHash changes only the hash, and only from the expected one (one of 10 racing wins)', async () => {
        const c = client({ secretHash: 'hmac:old', clientName: 'kept' });
        await stores.clients.put(c);
        assert.equal(await stores.clients.replaceSecretHash(c.clientId, 'hmac:other', 'hmac:new'), false);
        const wins = await Promise.all(Array.from({ length: 10 }, (_, i) => stores.clients.replaceSecretHash(c.clientId, 'hmac:old', `hmac:new${i}`)));
        assert.equal(wins.filter(Boolean).length, 1);
        const stored = (await stores.clients.get(c.clientId))!;
        assert.equal(stored.secretHash, `hmac:new${wins.indexOf(true)}`);
        assert.deepEqual({ ...stored, secretHash: c.secretHash }, c);
        assert.equal(await stores.clients.replaceSecretHash(uid('client'), 'hmac:old', 'hmac:x'), false);
      });
      it('put/get round-trips every field', async () => {
        const c = client({ secretHash: null, tokenEndpointAuthMethod: 'none', applicationType: 'native', skipConsent: true, allowedResources: ['https://api.example/'] });
        await stores.clients.put(c);
        assert.deepEqual(await stores.clients.get(c.clientId), c);
        assert.equal(await stores.clients.get(uid('nope')), undefined);
      });
      it('put replaces the whole client; list includes it', async () => {
        const c = client();
        await stores.clients.put(c);
        const changed = { ...c, clientName: 'Renamed', redirectUris: ['https://new.example/cb'], disabled: true, updatedAt: NOW + 5 };
        await stores.clients.put(changed);
        assert.deepEqual(await stores.clients.get(c.clientId), changed);
        const listed = await stores.clients.list();
        assert.deepEqual(listed.find((x) => x.clientId === c.clientId), changed);
        assert.equal(listed.filter((x) => x.clientId === c.clientId).length, 1);
      });
      it('delete removes the client, forgets its consents and revokes its grants', async () => {
        const c = client();
        await stores.clients.put(c);
        const { g, at } = await seedGrant({ clientId: c.clientId });
        await stores.consents.grant(g.userId, c.clientId, ['openid'], NOW);
        assert.equal(await stores.clients.delete(c.clientId), true);
        assert.equal(await stores.clients.get(c.clientId), undefined);
        assert.equal(await stores.consents.get(g.userId, c.clientId), undefined);
        assert.notEqual((await stores.grants.get(g.id))!.revokedAt, null);
        assert.equal(await stores.revocations.isAccessTokenRevoked(at.jti), true);
        assert.equal(await stores.clients.delete(c.clientId), false);
      });
    });

    describe('users', () => {
      it('put/get/findByUsername round-trip, with nulls', async () => {
        const u = user();
        const bare = user({ passwordHash: null, email: null, emailVerified: false, name: null, givenName: null, familyName: null, disabled: true });
        await stores.users.put(u);
        await stores.users.put(bare);
        assert.deepEqual(await stores.users.get(u.id), u);
        assert.deepEqual(await stores.users.get(bare.id), bare);
        assert.deepEqual(await stores.users.findByUsername(u.username), u);
        assert.equal(await stores.users.findByUsername(uid('ghost')), undefined);
        assert.equal(await stores.users.get(uid('ghost')), undefined);
      });
      it('put replaces by id (including the username); list includes it', async () => {
        const u = user();
        await stores.users.put(u);
        const renamed = { ...u, username: uid('bob'), email: 'bob@example.com', updatedAt: NOW + 1 };
        await stores.users.put(renamed);
        assert.deepEqual(await stores.users.get(u.id), renamed);
        assert.equal(await stores.users.findByUsername(u.username), undefined);
        assert.deepEqual((await stores.users.list()).filter((x) => x.id === u.id), [renamed]);
      });
      it('usernames are unique', async () => {
        const u = user();
        await stores.users.put(u);
        await assert.rejects(stores.users.put(user({ username: u.username })));
      });
      it('create adds a new user and never replaces one (same username or same id)', async () => {
        const u = user();
        assert.equal(await stores.users.create(u), true);
        assert.deepEqual(await stores.users.get(u.id), u);
        const sameName = user({ username: u.username, passwordHash: 'other' });
        assert.equal(await stores.users.create(sameName), false);
        assert.equal(await stores.users.get(sameName.id), undefined);
        assert.equal(await stores.users.create({ ...u, username: uid('other'), passwordHash: 'other' }), false);
        assert.deepEqual(await stores.users.get(u.id), u);
        assert.deepEqual(await stores.users.findByUsername(u.username), u);
      });
      it('usernames are unique and found by their canonical form (RFC 8265): case, width and composition do not make a new name', async () => {
        const base = uid('bob');
        const u = user({ username: base.replace(/^bob/, 'Bob'), origin: 'signup' });
        assert.equal(await stores.users.create(u), true);
        for (const form of [base, base.toUpperCase(), base.replace(/^bob/, '\uFF42\uFF4F\uFF42')]) {
          assert.deepEqual(await stores.users.findByUsername(form), u, form);
          assert.equal(await stores.users.create(user({ username: form })), false, form);
          await assert.rejects(stores.users.put(user({ username: form })), Error, form);
        }
        const name = uid('josé');
        const composed = user({ username: name.normalize('NFC') });
        await stores.users.put(composed);
        assert.equal(await stores.users.create(user({ username: name.normalize('NFD') })), false);
        assert.deepEqual(await stores.users.findByUsername(name.normalize('NFD')), composed);
      });
      it('findConfusable finds a look-alike name (UTS #39 skeleton); listUnresolved lists rows without a canonical form', async () => {
        const tag = uid('x').replace(/[^a-z0-9]/g, '');
        const u = user({ username: `paypal${tag}` });
        await stores.users.put(u);
        assert.equal((await stores.users.findConfusable(`paypa1${tag}`))?.id, u.id);
        assert.equal((await stores.users.findConfusable(`\u0440aypal${tag}`))?.id, u.id);
        assert.equal(await stores.users.findConfusable(`paypal${tag}x`), undefined);
        assert.equal((await stores.users.findByCanonical(`PAYPAL${tag}`))?.id, u.id);
        assert.equal(await stores.users.findByCanonical(`paypa1${tag}`), undefined);
        assert.equal((await stores.users.listUnresolved()).some((x) => x.id === u.id), false);
      });
      it('50 parallel creations of one username: exactly one succeeds, and it is the stored one', async () => {
        const name = uid('race');
        const candidates = Array.from({ length: 50 }, (_, i) => user({ username: name, passwordHash: `hash-${i}` }));
        const results = await Promise.all(candidates.map((c) => stores.users.create(c)));
        assert.equal(results.filter(Boolean).length, 1);
        const winner = candidates[results.indexOf(true)]!;
        assert.deepEqual(await stores.users.findByUsername(name), winner);
      });
    });

    describe('sessions', () => {
      it('create/get/touch/delete', async () => {
        const s = session();
        await stores.sessions.create(s);
        assert.deepEqual(await stores.sessions.get(s.idHash), s);
        await stores.sessions.touch(s.idHash, NOW + 42);
        assert.deepEqual(await stores.sessions.get(s.idHash), { ...s, lastSeenAt: NOW + 42 });
        await stores.sessions.delete(s.idHash);
        assert.equal(await stores.sessions.get(s.idHash), undefined);
        await stores.sessions.delete(s.idHash); // idempotent
      });
      it('deleteByUser removes all sessions of that user only', async () => {
        const userId = uid('user');
        const mine = [session({ userId }), session({ userId }), session({ userId })];
        const other = session();
        for (const s of [...mine, other]) await stores.sessions.create(s);
        assert.equal(await stores.sessions.deleteByUser(userId), 3);
        assert.equal(await stores.sessions.get(mine[0]!.idHash), undefined);
        assert.deepEqual(await stores.sessions.get(other.idHash), other);
        assert.equal(await stores.sessions.deleteByUser(userId), 0);
      });
      it('addClient is idempotent (extends expiry); takeClients returns and removes the clients of one sid', async () => {
        const [sid, other, userId] = [uid('sid'), uid('sid'), uid('user')];
        const e = (clientId: string, s = sid, expiresAt = NOW + 100) => ({ sid: s, clientId, userId, createdAt: NOW, expiresAt });
        await stores.sessions.addClient(e('rp-a'));
        await stores.sessions.addClient(e('rp-a', sid, NOW + 200));
        await stores.sessions.addClient(e('rp-b'));
        await stores.sessions.addClient(e('rp-a', other));
        const taken = await stores.sessions.takeClients(sid);
        assert.deepEqual(taken.sort((a, b) => a.clientId.localeCompare(b.clientId)), [e('rp-a', sid, NOW + 200), e('rp-b')]);
        assert.deepEqual(await stores.sessions.takeClients(sid), []);
        assert.deepEqual(await stores.sessions.takeClients(uid('sid')), []);
        assert.deepEqual(await stores.sessions.takeClientsByUser(userId), [e('rp-a', other)]);
        assert.deepEqual(await stores.sessions.takeClientsByUser(userId), []);
      });
      it('50 concurrent takeClients: each client goes to exactly one caller', async () => {
        const [sid, userId] = [uid('sid'), uid('user')];
        for (const c of ['rp-1', 'rp-2', 'rp-3']) await stores.sessions.addClient({ sid, clientId: c, userId, createdAt: NOW, expiresAt: NOW + 100 });
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? stores.sessions.takeClients(sid) : stores.sessions.takeClientsByUser(userId))));
        assert.deepEqual(results.flat().map((r) => r.clientId).sort(), ['rp-1', 'rp-2', 'rp-3']);
      });
    });

    describe('interactions', () => {
      it('create/get/setLogin round-trip', async () => {
        const i = interaction();
        await stores.interactions.create(i);
        assert.deepEqual(await stores.interactions.get(i.uid), i);
        await stores.interactions.setLogin(i.uid, 'sess-hash', NOW + 3);
        assert.deepEqual(await stores.interactions.get(i.uid), { ...i, sessionIdHash: 'sess-hash', loginAt: NOW + 3 });
        assert.equal(await stores.interactions.get(uid('none')), undefined);
      });
      it('consume returns it once, then undefined', async () => {
        const i = interaction();
        await stores.interactions.create(i);
        assert.deepEqual(await stores.interactions.consume(i.uid), i);
        assert.equal(await stores.interactions.consume(i.uid), undefined);
        assert.equal(await stores.interactions.get(i.uid), undefined);
      });
      it('consume is atomic under concurrency (8 callers, one winner)', async () => {
        const i = interaction();
        await stores.interactions.create(i);
        const results = await times(8, () => stores.interactions.consume(i.uid));
        assert.equal(results.filter((r) => r !== undefined).length, 1);
      });
    });

    describe('consents', () => {
      it('grant creates, merges scopes (union) and updates grantedAt', async () => {
        const userId = uid('user');
        const clientId = uid('client');
        assert.equal(await stores.consents.get(userId, clientId), undefined);
        await stores.consents.grant(userId, clientId, ['openid', 'profile'], NOW);
        assert.deepEqual(await stores.consents.get(userId, clientId), { userId, clientId, scopes: ['openid', 'profile'], resources: { '': ['openid', 'profile'] }, grantedAt: NOW });
        await stores.consents.grant(userId, clientId, ['profile', 'email'], NOW + 10);
        assert.deepEqual(await stores.consents.get(userId, clientId), { userId, clientId, scopes: ['openid', 'profile', 'email'], resources: { '': ['openid', 'profile', 'email'] }, grantedAt: NOW + 10 });
      });
      it('grant remembers the scopes per resource (RFC 8707), merged per resource, the default audience under \'\'', async () => {
        const userId = uid('user');
        const clientId = uid('client');
        const [A, B] = ['https://a.example/', 'https://b.example/'];
        await stores.consents.grant(userId, clientId, ['openid', 'read'], NOW, [A]);
        assert.deepEqual(await stores.consents.get(userId, clientId), { userId, clientId, scopes: ['openid', 'read'], resources: { [A]: ['openid', 'read'] }, grantedAt: NOW });
        // Another resource with another scope: each resource keeps its own scopes (write is not consented at A).
        await stores.consents.grant(userId, clientId, ['openid', 'write'], NOW + 1, [B]);
        assert.deepEqual((await stores.consents.get(userId, clientId))!.resources, { [A]: ['openid', 'read'], [B]: ['openid', 'write'] });
        // No resource: the default audience.
        await stores.consents.grant(userId, clientId, ['email'], NOW + 2);
        assert.deepEqual((await stores.consents.get(userId, clientId))!.resources, { [A]: ['openid', 'read'], [B]: ['openid', 'write'], '': ['email'] });
        assert.deepEqual((await stores.consents.get(userId, clientId))!.scopes, ['openid', 'read', 'write', 'email']);
        // Concurrent grants to one resource lose nothing.
        await times(6, (i) => stores.consents.grant(userId, clientId, [`s${i}`], NOW + 3, [A, `https://r${i}.example/`]));
        const c = (await stores.consents.get(userId, clientId))!;
        assert.deepEqual([...c.resources[A]!].sort(), ['openid', 'read', 's0', 's1', 's2', 's3', 's4', 's5']);
        assert.equal(Object.keys(c.resources).length, 9);
      });
      it('concurrent grants lose no scope', async () => {
        const userId = uid('user');
        const clientId = uid('client');
        await times(8, (i) => stores.consents.grant(userId, clientId, [`scope${i}`, 'openid'], NOW));
        const c = await stores.consents.get(userId, clientId);
        assert.deepEqual([...c!.scopes].sort(), ['openid', ...Array.from({ length: 8 }, (_, i) => `scope${i}`)].sort());
      });
      it('listByUser and revoke', async () => {
        const userId = uid('user');
        const [a, b] = [uid('client'), uid('client')];
        await stores.consents.grant(userId, a, ['openid'], NOW);
        await stores.consents.grant(userId, b, ['email'], NOW);
        await stores.consents.grant(uid('user'), a, ['openid'], NOW);
        const listed = await stores.consents.listByUser(userId);
        assert.deepEqual(listed.map((c) => c.clientId).sort(), [a, b].sort());
        assert.equal(await stores.consents.revoke(userId, a), true);
        assert.equal(await stores.consents.revoke(userId, a), false);
        assert.deepEqual((await stores.consents.listByUser(userId)).map((c) => c.clientId), [b]);
      });
    });

    describe('authorization codes', () => {
      it('consume: ok once, then reused (with the record), missing for unknown codes', async () => {
        const c = code({ resource: 'https://api.example/' });
        await stores.codes.create(c);
        assert.deepEqual(await stores.codes.consume(c.codeHash, NOW), { status: 'ok', code: c });
        assert.deepEqual(await stores.codes.consume(c.codeHash, NOW + 1), { status: 'reused', code: c });
        assert.deepEqual(await stores.codes.consume(uid('code'), NOW), { status: 'missing' });
      });
      it('returns expired codes too (the caller checks expiry)', async () => {
        const c = code({ nonce: null, expiresAt: NOW - 10 });
        await stores.codes.create(c);
        assert.deepEqual(await stores.codes.consume(c.codeHash, NOW), { status: 'ok', code: c });
      });
      it('50 concurrent consumes of one code: exactly one ok, 49 reused', async () => {
        const c = code();
        await stores.codes.create(c);
        const results = await times(50, () => stores.codes.consume(c.codeHash, NOW));
        assert.deepEqual(tally(results), { ok: 1, reused: 49 });
      });
    });

    describe('pushed authorization requests', () => {
      const pushed = (over: Partial<PushedRequestRecord> = {}): PushedRequestRecord => ({
        uriHash: uid('par'), clientId: 'c1', params: { client_id: 'c1', scope: 'openid', dpop_jkt: 'x'.repeat(43) }, createdAt: NOW, expiresAt: NOW + 60, ...over,
      });
      it('consume: returns the request once, to its own client only, until it expires', async () => {
        const r = pushed();
        await stores.pushedRequests.create(r);
        assert.equal(await stores.pushedRequests.consume(r.uriHash, 'another-client', NOW), undefined);
        assert.deepEqual(await stores.pushedRequests.consume(r.uriHash, 'c1', NOW), r);
        assert.equal(await stores.pushedRequests.consume(r.uriHash, 'c1', NOW), undefined);
        const old = pushed({ expiresAt: NOW + 5 });
        await stores.pushedRequests.create(old);
        assert.equal(await stores.pushedRequests.consume(old.uriHash, 'c1', NOW + 5), undefined);
        assert.equal(await stores.pushedRequests.consume(uid('par'), 'c1', NOW), undefined);
      });
      it('50 concurrent consumes of one request_uri: exactly one gets it', async () => {
        const r = pushed();
        await stores.pushedRequests.create(r);
        const results = await times(50, () => stores.pushedRequests.consume(r.uriHash, 'c1', NOW));
        assert.equal(results.filter(Boolean).length, 1);
      });
      it('cleanup deletes expired requests', async () => {
        const r = pushed({ expiresAt: NOW + 7 });
        await stores.pushedRequests.create(r);
        assert.ok(await stores.cleanup(NOW + 7) >= 1);
        assert.equal(await stores.pushedRequests.consume(r.uriHash, 'c1', NOW), undefined);
      });
    });

    /**
     * A grant bound to a sender constraint (DPoP key or certificate): stored and read back whole,
     * with its refresh token; returns the grant that the next rotation sees.
     */
    async function boundGrantRoundTrip(binding: Partial<GrantRecord>): Promise<GrantRecord | undefined> {
      const g = grant(binding);
      const rt = refreshFor(g);
      await stores.grants.create(g, rt, access());
      assert.deepEqual(await stores.grants.get(g.id), g);
      assert.deepEqual(await stores.grants.getRefresh(rt.tokenHash), { refresh: rt, grant: g });
      let seen: GrantRecord | undefined;
      await stores.grants.rotate(rt.tokenHash, NOW + 1, (_r, gr) => { seen = gr; return true; }, nextFor());
      return seen;
    }

    describe('DPoP bindings', () => {
      it('codes and grants keep the DPoP key they are bound to', async () => {
        const jkt = 'j'.repeat(43);
        const c = code({ dpopJkt: jkt });
        await stores.codes.create(c);
        assert.deepEqual(await stores.codes.consume(c.codeHash, NOW), { status: 'ok', code: c });
        assert.equal((await boundGrantRoundTrip({ dpopJkt: jkt }))?.dpopJkt, jkt);
      });
    });

    describe('claims requests (OIDC Core 5.5)', () => {
      it('codes and grants keep the claims asked for; records without them have none', async () => {
        const claims = { id_token: ['email', 'name'], userinfo: ['family_name'] };
        const c = code({ claims });
        await stores.codes.create(c);
        assert.deepEqual(await stores.codes.consume(c.codeHash, NOW), { status: 'ok', code: c });
        const g = grant({ claims });
        const rt = refreshFor(g);
        const a = access();
        await stores.grants.create(g, rt, a);
        assert.deepEqual(await stores.grants.get(g.id), g);
        assert.deepEqual((await stores.grants.findByAccessToken(a.jti))?.claims, claims);
        const plain = grant();
        await stores.grants.create(plain, null, access());
        assert.equal((await stores.grants.get(plain.id))?.claims, undefined);
      });
    });

    describe('certificate bindings (RFC 8705)', () => {
      it('grants keep the certificate thumbprint they are bound to, through rotation', async () => {
        const x5t = 'x'.repeat(43);
        assert.equal((await boundGrantRoundTrip({ certThumbprint: x5t }))?.certThumbprint, x5t);
        const plain = grant();
        await stores.grants.create(plain, null, access());
        assert.equal((await stores.grants.get(plain.id))?.certThumbprint, undefined);
      });
    });

    describe('device codes', () => {
      deviceCodesContract(() => stores.deviceCodes, NOW);
    });

    describe('initial access tokens', () => {
      initialAccessTokensContract(() => stores.initialAccessTokens, NOW);
    });

    describe('resource servers', () => {
      resourceServersContract(() => stores.resourceServers, NOW);
    });

    describe('grants', () => {
      it('findByAccessToken finds the grant an access token came from; addAccessToken links one more, which revocation reaches', async () => {
        const { g, at } = await seedGrant();
        assert.deepEqual(await stores.grants.findByAccessToken(at.jti), g);
        assert.equal(await stores.grants.findByAccessToken(uid('jti')), undefined);
        const extra = access();
        assert.equal(await stores.grants.addAccessToken(g.id, extra), true);
        assert.deepEqual(await stores.grants.findByAccessToken(extra.jti), g);
        assert.equal(await stores.grants.addAccessToken(uid('grant'), access()), false);
        await stores.grants.revoke(g.id, NOW);
        assert.equal(await stores.revocations.isAccessTokenRevoked(extra.jti), true);
        const late = access();
        assert.equal(await stores.grants.addAccessToken(g.id, late), false);
        assert.equal(await stores.grants.findByAccessToken(late.jti), undefined);
      });
      it('addAccessToken racing a revocation: every token it linked ends up revoked', async () => {
        const { g } = await seedGrant();
        const tokens = Array.from({ length: 30 }, () => access());
        const adds = tokens.map((t) => stores.grants.addAccessToken(g.id, t));
        const [revoked, ...added] = await Promise.all([stores.grants.revoke(g.id, NOW), ...adds]);
        assert.equal(revoked, true);
        for (const [i, ok] of added.entries()) {
          if (ok) assert.equal(await stores.revocations.isAccessTokenRevoked(tokens[i]!.jti), true, `token ${i} linked but not revoked`);
        }
      });
      it('create stores the grant, its refresh token and access token; get/getRefresh read them', async () => {
        const { g, rt, at } = await seedGrant();
        assert.deepEqual(await stores.grants.get(g.id), g);
        assert.deepEqual(await stores.grants.getRefresh(rt.tokenHash), { refresh: rt, grant: g });
        assert.equal(await stores.grants.get(uid('grant')), undefined);
        assert.equal(await stores.grants.getRefresh(uid('rt')), undefined);
        assert.equal(await stores.revocations.isAccessTokenRevoked(at.jti), false);
      });
      it('create without a refresh token, and with nullable fields null', async () => {
        const g = grant({ resource: null, sid: null, authTime: null, amr: [] });
        const at = access();
        await stores.grants.create(g, null, at);
        assert.deepEqual(await stores.grants.get(g.id), g);
        assert.equal(await stores.grants.revoke(g.id, NOW), true);
        assert.equal(await stores.revocations.isAccessTokenRevoked(at.jti), true);
      });
      it('create is one transaction: a failing part leaves nothing behind', async () => {
        const { at } = await seedGrant();
        const g = grant();
        await assert.rejects(stores.grants.create(g, refreshFor(g), at)); // duplicate jti
        assert.equal(await stores.grants.get(g.id), undefined);
      });

      it('rotate: marks the token used, stores its successor and records the new access token', async () => {
        const { g, rt } = await seedGrant();
        const issued: IssuedAccessToken[] = [];
        let seen: unknown;
        let nextRefresh: RefreshTokenRecord | undefined;
        const result = await stores.grants.rotate(rt.tokenHash, NOW + 5,
          (r, gr) => { seen = { r, gr }; return true; },
          (r, gr) => { const n = nextFor(issued)(r); nextRefresh = n.refresh; assert.deepEqual(gr, g); return n; });
        assert.deepEqual(seen, { r: rt, gr: g });
        assert.deepEqual(result, { status: 'rotated', grant: g, previous: { ...rt, usedAt: NOW + 5 } });
        assert.deepEqual(await stores.grants.getRefresh(rt.tokenHash), { refresh: { ...rt, usedAt: NOW + 5 }, grant: g });
        assert.deepEqual(await stores.grants.getRefresh(nextRefresh!.tokenHash), { refresh: nextRefresh, grant: g });
        // the new access token belongs to the grant: revoking the grant reaches it
        await stores.grants.revoke(g.id, NOW + 6);
        assert.equal(await stores.revocations.isAccessTokenRevoked(issued[0]!.jti), true);
      });
      it('rotate: unknown token is invalid', async () => {
        const r = await stores.grants.rotate(uid('rt'), NOW, () => true, nextFor());
        assert.deepEqual(r, { status: 'invalid' });
      });
      it('rotate: accept() returning false changes nothing', async () => {
        const { g, rt, at } = await seedGrant();
        let nextCalled = false;
        const r = await stores.grants.rotate(rt.tokenHash, NOW, () => false, (p) => { nextCalled = true; return nextFor()(p); });
        assert.deepEqual(r, { status: 'invalid' });
        assert.equal(nextCalled, false);
        assert.deepEqual(await stores.grants.getRefresh(rt.tokenHash), { refresh: rt, grant: g });
        assert.equal(await stores.revocations.isAccessTokenRevoked(at.jti), false);
        // and it still rotates afterwards
        assert.equal((await stores.grants.rotate(rt.tokenHash, NOW, () => true, nextFor())).status, 'rotated');
      });
      it('rotate: a rotated-out token presented again revokes the family and its access tokens', async () => {
        const { g, rt, at } = await seedGrant();
        const issued: IssuedAccessToken[] = [];
        let second: RefreshTokenRecord | undefined;
        const next = (p: RefreshTokenRecord) => { const n = nextFor(issued)(p); second = n.refresh; return n; };
        assert.equal((await stores.grants.rotate(rt.tokenHash, NOW + 1, () => true, next)).status, 'rotated');
        const replay = await stores.grants.rotate(rt.tokenHash, NOW + 2, () => true, nextFor());
        assert.deepEqual(replay, { status: 'reused', grantId: g.id, clientId: g.clientId });
        assert.equal((await stores.grants.get(g.id))!.revokedAt, NOW + 2);
        for (const jti of [at.jti, issued[0]!.jti]) assert.equal(await stores.revocations.isAccessTokenRevoked(jti), true);
        const successor = await stores.grants.getRefresh(second!.tokenHash);
        assert.equal(successor!.refresh.usedAt, NOW + 2);
        assert.equal(successor!.grant.revokedAt, NOW + 2);
        // the successor no longer rotates, and further replays are merely invalid
        assert.deepEqual(await stores.grants.rotate(second!.tokenHash, NOW + 3, () => true, nextFor()), { status: 'invalid' });
        assert.deepEqual(await stores.grants.rotate(rt.tokenHash, NOW + 3, () => true, nextFor()), { status: 'invalid' });
      });
      it('50 concurrent rotations of one token: exactly one rotated; the replays revoke the family', async () => {
        const { g, rt, at } = await seedGrant();
        const issued: IssuedAccessToken[] = [];
        const successors: RefreshTokenRecord[] = [];
        const next = (p: RefreshTokenRecord) => { const n = nextFor(issued)(p); successors.push(n.refresh); return n; };
        const results = await times(50, () => stores.grants.rotate(rt.tokenHash, NOW + 1, () => true, next));
        assert.deepEqual(tally(results), { rotated: 1, reused: 1, invalid: 48 });
        assert.equal(successors.length, 1);
        const after = await stores.grants.getRefresh(successors[0]!.tokenHash);
        assert.notEqual(after!.refresh.usedAt, null);
        assert.notEqual(after!.grant.revokedAt, null);
        assert.deepEqual(await stores.grants.rotate(successors[0]!.tokenHash, NOW + 2, () => true, nextFor()), { status: 'invalid' });
        for (const jti of [at.jti, issued[0]!.jti]) assert.equal(await stores.revocations.isAccessTokenRevoked(jti), true);
        assert.equal((await stores.grants.listActiveByUser(g.userId, NOW)).length, 0);
      });
      it('grants and codes keep their authorization_details (RFC 9396)', async () => {
        const details = JSON.stringify([{ type: 'account_information', actions: ['read'] }]);
        const { g } = await seedGrant({ authorizationDetails: details });
        assert.equal((await stores.grants.get(g.id))!.authorizationDetails, details);
        const c = code({ authorizationDetails: details });
        await stores.codes.create(c);
        const consumed = await stores.codes.consume(c.codeHash, NOW);
        assert.equal(consumed.status === 'ok' && consumed.code.authorizationDetails, details);
      });
      it('rotate and useRefresh give accept the grant\'s user as stored (undefined when there is none)', async () => {
        const owner = user({ disabled: true });
        await stores.users.put(owner);
        const seen: unknown[] = [];
        const { rt } = await seedGrant({ userId: owner.id });
        await stores.grants.rotate(rt.tokenHash, NOW + 1, (_r, _g, u) => { seen.push(u); return false; }, nextFor());
        await stores.grants.useRefresh(rt.tokenHash, NOW + 1, NOW + 100, (_r, _g, u) => { seen.push(u); return false; }, () => access());
        const { rt: orphan } = await seedGrant();
        await stores.grants.rotate(orphan.tokenHash, NOW + 1, (_r, _g, u) => { seen.push(u); return false; }, nextFor());
        assert.deepEqual(seen, [owner, owner, undefined]);
      });
      it('useRefresh: keeps the token, moves its idle expiry (capped by the grant) and records the access token', async () => {
        const { g, rt } = await seedGrant();
        const issued: IssuedAccessToken[] = [];
        let seen: unknown;
        const r = await stores.grants.useRefresh(rt.tokenHash, NOW + 5, NOW + 5 + 7200, (rr, gr) => { seen = { rr, gr }; return true; }, () => { const a = access(); issued.push(a); return a; });
        assert.deepEqual(seen, { rr: rt, gr: g });
        assert.deepEqual(r, { status: 'used', grant: g, refresh: { ...rt, expiresAt: NOW + 5 + 7200 } });
        assert.deepEqual(await stores.grants.getRefresh(rt.tokenHash), { refresh: { ...rt, expiresAt: NOW + 5 + 7200 }, grant: g });
        const capped = await stores.grants.useRefresh(rt.tokenHash, NOW + 6, NOW + 10 * 86400, () => true, () => access());
        assert.equal(capped.status === 'used' && capped.refresh.expiresAt, g.expiresAt);
        assert.deepEqual(await stores.grants.useRefresh(rt.tokenHash, NOW, NOW + 1, () => false, () => assert.fail('next must not run')), { status: 'invalid' });
        await stores.grants.revoke(g.id, NOW + 7);
        assert.equal(await stores.revocations.isAccessTokenRevoked(issued[0]!.jti), true);
        assert.deepEqual(await stores.grants.useRefresh(rt.tokenHash, NOW + 8, NOW + 100, () => true, () => access()), { status: 'invalid' });
        assert.deepEqual(await stores.grants.useRefresh(uid('rt'), NOW, NOW + 1, () => true, () => access()), { status: 'invalid' });
      });
      it('useRefresh: a token rotated out earlier is still reuse and revokes the family', async () => {
        const { g, rt, at } = await seedGrant();
        assert.equal((await stores.grants.rotate(rt.tokenHash, NOW + 1, () => true, nextFor())).status, 'rotated');
        const r = await stores.grants.useRefresh(rt.tokenHash, NOW + 2, NOW + 100, () => true, () => access());
        assert.deepEqual(r, { status: 'reused', grantId: g.id, clientId: g.clientId });
        assert.equal(await stores.revocations.isAccessTokenRevoked(at.jti), true);
      });
      it('50 concurrent uses without rotation all succeed and each access token is recorded; a revocation racing them leaves none live', async () => {
        const { g, rt } = await seedGrant();
        const issued: IssuedAccessToken[] = [];
        const results = await times(50, (i) => i === 25
          ? stores.grants.revoke(g.id, NOW + 2).then(() => ({ status: 'revoke' }))
          : stores.grants.useRefresh(rt.tokenHash, NOW + 1, NOW + 100, () => true, () => { const a = access(); issued.push(a); return a; }));
        const t = tally(results);
        assert.equal((t.used ?? 0) + (t.invalid ?? 0), 49);
        assert.equal(issued.length, t.used ?? 0);
        for (const a of issued) assert.equal(await stores.revocations.isAccessTokenRevoked(a.jti), true, 'every access token issued before the revocation is revoked');
      });
      it('concurrent rotations along a chain and revocations neither deadlock nor leak a live token', async () => {
        const { g, rt } = await seedGrant();
        const issued: IssuedAccessToken[] = [];
        let current = rt.tokenHash;
        // The two chains share `current`: one may present a token the other has just rotated, which is
        // reuse and revokes the grant itself (status 'reused'), possibly before any revoke() runs.
        let reuseRevocations = 0;
        const chain = async () => {
          for (let i = 0; i < 5; i++) {
            const r: RotateResult = await stores.grants.rotate(current, NOW + 1, () => true, (p) => {
              const n = nextFor(issued)(p); current = n.refresh.tokenHash; return n;
            });
            if (r.status === 'reused') reuseRevocations++;
            if (r.status !== 'rotated') return;
          }
        };
        const revokes = await Promise.all([chain(), ...Array.from({ length: 8 }, () => stores.grants.revoke(g.id, NOW + 1)), chain()]);
        assert.equal(revokes.filter((r) => r === true).length + reuseRevocations, 1, 'the grant is revoked exactly once, by revoke() or by reuse detection');
        assert.notEqual((await stores.grants.get(g.id))!.revokedAt, null);
        for (const a of issued) assert.equal(await stores.revocations.isAccessTokenRevoked(a.jti), true);
        assert.deepEqual(await stores.grants.rotate(current, NOW + 2, () => true, nextFor()), { status: 'invalid' });
      });

      it('revoke: true once, false after and for unknown grants; the family is dead', async () => {
        const { g, rt, at } = await seedGrant();
        assert.equal(await stores.grants.revoke(g.id, NOW + 7), true);
        assert.equal(await stores.grants.revoke(g.id, NOW + 8), false);
        assert.equal(await stores.grants.revoke(uid('grant'), NOW), false);
        assert.deepEqual(await stores.grants.getRefresh(rt.tokenHash), {
          refresh: { ...rt, usedAt: NOW + 7 }, grant: { ...g, revokedAt: NOW + 7 },
        });
        assert.equal(await stores.revocations.isAccessTokenRevoked(at.jti), true);
        assert.deepEqual(await stores.grants.rotate(rt.tokenHash, NOW + 9, () => true, nextFor()), { status: 'invalid' });
      });
      it('revokeByUserAndClient revokes every active grant of the pair only', async () => {
        const userId = uid('user');
        const clientId = uid('client');
        const a = await seedGrant({ userId, clientId });
        const b = await seedGrant({ userId, clientId });
        const already = await seedGrant({ userId, clientId });
        await stores.grants.revoke(already.g.id, NOW);
        const otherClient = await seedGrant({ userId });
        assert.equal(await stores.grants.revokeByUserAndClient(userId, clientId, NOW + 1), 2);
        for (const { at } of [a, b]) assert.equal(await stores.revocations.isAccessTokenRevoked(at.jti), true);
        assert.equal(await stores.revocations.isAccessTokenRevoked(otherClient.at.jti), false);
        assert.deepEqual((await stores.grants.listActiveByUser(userId, NOW)).map((g) => g.id), [otherClient.g.id]);
        assert.equal(await stores.grants.revokeByUserAndClient(userId, clientId, NOW + 2), 0);
      });
      it('listActiveByUser excludes revoked, expired and other users\' grants', async () => {
        const userId = uid('user');
        const live1 = await seedGrant({ userId, createdAt: NOW - 2 });
        const live2 = await seedGrant({ userId, createdAt: NOW - 1 });
        await seedGrant({ userId, expiresAt: NOW });
        const revoked = await seedGrant({ userId });
        await stores.grants.revoke(revoked.g.id, NOW);
        await seedGrant();
        assert.deepEqual(await stores.grants.listActiveByUser(userId, NOW), [live1.g, live2.g]);
      });
    });

    describe('revocations', () => {
      it('revokeAccessToken is idempotent; isAccessTokenRevoked looks it up', async () => {
        const jti = uid('jti');
        assert.equal(await stores.revocations.isAccessTokenRevoked(jti), false);
        await stores.revocations.revokeAccessToken(jti, NOW + 60);
        await stores.revocations.revokeAccessToken(jti, NOW + 60);
        assert.equal(await stores.revocations.isAccessTokenRevoked(jti), true);
      });
      it('revoking a single access token does not touch the grant', async () => {
        const { g, at } = await seedGrant();
        await stores.revocations.revokeAccessToken(at.jti, at.expiresAt);
        assert.equal((await stores.grants.get(g.id))!.revokedAt, null);
        assert.equal(await stores.grants.revoke(g.id, NOW), true); // and the grant's revocation copes with the duplicate
      });
    });

    describe('signing keys', () => {
      const retireAll = async () => {
        for (const k of await stores.keys.list()) if (k.state === 'active') await stores.keys.setState(k.kid, 'retired', NOW);
      };
      it('insert/list round-trip; only one active key', async () => {
        await retireAll();
        const first = key({ createdAt: NOW - 10 });
        assert.equal(await stores.keys.insert(first, true), true);
        assert.equal(await stores.keys.insert(key(), true), false);
        await assert.rejects(stores.keys.insert(key(), false)); // the database itself refuses a second active key
        const retired = key({ state: 'retired', retiredAt: NOW - 1 });
        assert.equal(await stores.keys.insert(retired, false), true);
        const listed = await stores.keys.list();
        assert.deepEqual(listed.find((k) => k.kid === first.kid), first);
        assert.deepEqual(listed.find((k) => k.kid === retired.kid), retired);
        assert.equal(listed.filter((k) => k.state === 'active').length, 1);
      });
      it('setState: retire the old key, then activate the new one', async () => {
        await retireAll();
        const old = key();
        const fresh = key({ state: 'retired' });
        await stores.keys.insert(old, true);
        await stores.keys.insert(fresh, false);
        await stores.keys.setState(old.kid, 'retired', NOW + 5);
        await stores.keys.setState(fresh.kid, 'active', NOW + 5);
        const listed = await stores.keys.list();
        assert.deepEqual(listed.find((k) => k.kid === old.kid), { ...old, state: 'retired', retiredAt: NOW + 5 });
        assert.deepEqual(listed.find((k) => k.kid === fresh.kid), { ...fresh, state: 'active', retiredAt: null });
      });
      it('rotate: the active key goes to grace, the new one becomes active; 10 concurrent rotations give exactly one', async () => {
        await retireAll();
        const current = key();
        await stores.keys.insert(current, true);
        const results = await Promise.all(Array.from({ length: 10 }, () => stores.keys.rotate(current.kid, key(), NOW + 600)));
        assert.equal(results.filter(Boolean).length, 1);
        const listed = await stores.keys.list();
        assert.deepEqual(listed.find((k) => k.kid === current.kid), { ...current, state: 'grace', retiredAt: NOW + 600 });
        assert.equal(listed.filter((k) => k.state === 'active').length, 1);
        assert.equal(await stores.keys.rotate(current.kid, key(), NOW + 600), false); // no longer the active key
      });
      const retireOthers = async () => {
        for (const k of await stores.keys.list()) if (k.state !== 'retired' && k.state !== 'active') await stores.keys.setState(k.kid, 'retired', NOW);
      };
      it('prepublish: stores one prepublished key; 20 concurrent prepublishes give exactly one', async () => {
        await retireAll();
        await retireOthers();
        const active = key({ activatesAt: NOW - 100 });
        await stores.keys.insert(active, true);
        const candidates = Array.from({ length: 20 }, () => key({ state: 'prepublished', activatesAt: NOW + 3600 }));
        const results = await Promise.all(candidates.map((k) => stores.keys.prepublish(k)));
        assert.equal(results.filter(Boolean).length, 1);
        const listed = await stores.keys.list();
        const pre = listed.filter((k) => k.state === 'prepublished');
        assert.equal(pre.length, 1);
        assert.deepEqual(pre[0], candidates[results.indexOf(true)]);
        assert.deepEqual(listed.find((k) => k.kid === active.kid), active); // the active key is untouched
        assert.equal(await stores.keys.prepublish(key({ state: 'prepublished' })), false);
      });
      it('promote: 20 concurrent promotions give exactly one; the old key goes to grace, the prepublished one becomes active', async () => {
        await retireAll();
        await retireOthers();
        const active = key();
        const pre = key({ state: 'prepublished', activatesAt: NOW + 50 });
        await stores.keys.insert(active, true);
        assert.equal(await stores.keys.prepublish(pre), true);
        const results = await times(20, () => stores.keys.promote(active.kid, pre.kid, NOW + 900, NOW + 60));
        assert.equal(results.filter(Boolean).length, 1);
        const listed = await stores.keys.list();
        assert.deepEqual(listed.find((k) => k.kid === active.kid), { ...active, state: 'grace', retiredAt: NOW + 900 });
        assert.deepEqual(listed.find((k) => k.kid === pre.kid), { ...pre, state: 'active', activatesAt: NOW + 60 });
        assert.equal(listed.filter((k) => k.state === 'active').length, 1);
        assert.equal(listed.filter((k) => k.state === 'prepublished').length, 0);
      });
      it('promote changes nothing when the prepublished key is gone (rolled back) or the active key moved on', async () => {
        await retireAll();
        await retireOthers();
        const active = key();
        await stores.keys.insert(active, true);
        assert.equal(await stores.keys.promote(active.kid, uid('missing'), NOW + 900, NOW), false);
        assert.equal((await stores.keys.list()).find((k) => k.kid === active.kid)!.state, 'active'); // the first update was rolled back
        const pre = key({ state: 'prepublished', activatesAt: NOW });
        await stores.keys.prepublish(pre);
        assert.equal(await stores.keys.promote(uid('not-active'), pre.kid, NOW + 900, NOW), false);
        assert.equal((await stores.keys.list()).find((k) => k.kid === pre.kid)!.state, 'prepublished');
      });
      it('retire: scheduled retirement only after the grace end; 20 concurrent retirements give exactly one', async () => {
        await retireAll();
        await retireOthers();
        const graced = key({ state: 'grace', retiredAt: NOW + 100 });
        await stores.keys.insert(graced, false);
        assert.equal(await stores.keys.retire(graced.kid, NOW + 99, { early: false }), false); // not yet
        const results = await times(20, () => stores.keys.retire(graced.kid, NOW + 100, { early: false }));
        assert.equal(results.filter(Boolean).length, 1);
        assert.deepEqual((await stores.keys.list()).find((k) => k.kid === graced.kid), { ...graced, state: 'retired', retiredAt: NOW + 100 });
        const active = key();
        await stores.keys.insert(active, true);
        assert.equal(await stores.keys.retire(active.kid, NOW, { early: true }), false); // never the active key
        const pre = key({ state: 'prepublished', activatesAt: NOW + 10 });
        await stores.keys.prepublish(pre);
        assert.equal(await stores.keys.retire(pre.kid, NOW + 1, { early: false }), false); // the schedule retires only grace keys
        assert.equal(await stores.keys.retire(pre.kid, NOW + 1, { early: true }), true);
        assert.equal((await stores.keys.list()).find((k) => k.kid === pre.kid)!.state, 'retired');
      });
      it('rewrap: replaces the wrapped key only if unchanged; 20 concurrent rewraps of one key give exactly one', async () => {
        const k = key({ state: 'retired', retiredAt: NOW });
        await stores.keys.insert(k, false);
        const results = await times(20, (i) => stores.keys.rewrap(k.kid, k.privateJwe, `rewrapped-${i}`));
        assert.equal(results.filter(Boolean).length, 1);
        assert.equal((await stores.keys.list()).find((x) => x.kid === k.kid)!.privateJwe, `rewrapped-${results.indexOf(true)}`);
        assert.equal(await stores.keys.rewrap(k.kid, k.privateJwe, 'again'), false);
        assert.equal(await stores.keys.rewrap(uid('missing'), 'x', 'y'), false);
      });
      it('per algorithm: one active and one prepublished key of each; 20-way races on each transition give one per algorithm', async () => {
        const retireEvery = async () => {
          for (const k of await stores.keys.list()) if (k.state !== 'retired') await stores.keys.setState(k.kid, 'retired', NOW);
        };
        await retireEvery();
        const ALGS = ['ES256', 'RS256'];
        // Start-up on several processes at once: one active key per algorithm.
        const inserted = await times(20, (i) => stores.keys.insert(key({ alg: ALGS[i % 2]! }), true));
        assert.equal(inserted.filter(Boolean).length, 2);
        const active = Object.fromEntries((await stores.keys.list()).filter((k) => k.state === 'active').map((k) => [k.alg, k]));
        assert.deepEqual(Object.keys(active).sort(), ALGS);
        await assert.rejects(stores.keys.insert(key({ alg: 'RS256' }), false)); // the database refuses a second active RS256 key
        // Prepublish: 20 candidates per algorithm, racing together: one each.
        const candidates = Array.from({ length: 40 }, (_, i) => key({ alg: ALGS[i % 2]!, state: 'prepublished', activatesAt: NOW + 3600 }));
        const pre = await Promise.all(candidates.map((k) => stores.keys.prepublish(k)));
        assert.deepEqual(ALGS.map((a) => candidates.filter((k, i) => pre[i] && k.alg === a).length), [1, 1]);
        const prepublished = Object.fromEntries((await stores.keys.list()).filter((k) => k.state === 'prepublished').map((k) => [k.alg, k]));
        assert.deepEqual(Object.keys(prepublished).sort(), ALGS);
        // A prepublished key never takes the place of another algorithm's active key.
        assert.equal(await stores.keys.promote(active.ES256!.kid, prepublished.RS256!.kid, NOW + 900, NOW), false);
        assert.equal(await stores.keys.rotate(active.ES256!.kid, key({ alg: 'RS256' }), NOW + 900), false);
        assert.equal((await stores.keys.list()).find((k) => k.kid === active.ES256!.kid)!.state, 'active');
        // Promote: 20 racers per algorithm, all at once: one promotion each.
        const promoted = await times(40, (i) => stores.keys.promote(active[ALGS[i % 2]!]!.kid, prepublished[ALGS[i % 2]!]!.kid, NOW + 900, NOW + 60));
        assert.deepEqual(ALGS.map((_, a) => promoted.filter((r, i) => r && i % 2 === a).length), [1, 1]);
        const listed = await stores.keys.list();
        for (const a of ALGS) {
          assert.deepEqual(listed.filter((k) => k.state === 'active' && k.alg === a).map((k) => k.kid), [prepublished[a]!.kid]);
          assert.equal(listed.find((k) => k.kid === active[a]!.kid)!.state, 'grace');
        }
        // Rotate: 20 racers per algorithm: one rotation each, the other algorithm's key untouched.
        const rotated = await times(40, (i) => stores.keys.rotate(prepublished[ALGS[i % 2]!]!.kid, key({ alg: ALGS[i % 2]! }), NOW + 900));
        assert.deepEqual(ALGS.map((_, a) => rotated.filter((r, i) => r && i % 2 === a).length), [1, 1]);
        assert.deepEqual((await stores.keys.list()).filter((k) => k.state === 'active').map((k) => k.alg).sort(), ALGS);
        // Demote (an algorithm taken out of the configuration): 20 racers, one; the key goes to grace.
        const rsActive = (await stores.keys.list()).find((k) => k.state === 'active' && k.alg === 'RS256')!;
        const demoted = await times(20, () => stores.keys.demote(rsActive.kid, NOW + 900));
        assert.equal(demoted.filter(Boolean).length, 1);
        assert.deepEqual((await stores.keys.list()).find((k) => k.kid === rsActive.kid), { ...rsActive, state: 'grace', retiredAt: NOW + 900 });
        assert.deepEqual((await stores.keys.list()).filter((k) => k.state === 'active').map((k) => k.alg), ['ES256']);
        await retireEvery();
      });
      it('10 concurrent insert(…, true): exactly one succeeds', async () => {
        await retireAll();
        const results = await times(10, () => stores.keys.insert(key(), true));
        assert.equal(results.filter(Boolean).length, 1);
        assert.equal((await stores.keys.list()).filter((k) => k.state === 'active').length, 1);
      });
    });

    describe('cleanup', () => {
      it('deletes expired rows of every kind and keeps live ones', async () => {
        const T = NOW + 1_000_000; // after everything the other tests stored
        await stores.cleanup(T - 500); // clear what the other tests left, so the count below is exact
        const [dead, live] = [T - 1, T + 1000];
        const codes = [code({ expiresAt: dead }), code({ expiresAt: live })];
        const interactions = [interaction({ expiresAt: dead }), interaction({ expiresAt: live })];
        const sessions = [session({ expiresAt: dead }), session({ expiresAt: live })];
        for (const c of codes) await stores.codes.create(c);
        for (const i of interactions) await stores.interactions.create(i);
        for (const s of sessions) await stores.sessions.create(s);
        // expired grant: it goes with its (still unexpired) refresh and access tokens: 3 rows
        const deadGrant = grant({ expiresAt: dead });
        await stores.grants.create(deadGrant, refreshFor(deadGrant, { expiresAt: live }), access({ expiresAt: live }));
        // live grant whose first refresh and access tokens have expired (rotated to live ones): 2 rows
        const liveGrant = grant({ expiresAt: live });
        const [oldRt, oldAt] = [refreshFor(liveGrant, { expiresAt: dead }), access({ expiresAt: dead })];
        const [newRt, newAt] = [refreshFor(liveGrant, { expiresAt: live }), access({ expiresAt: live })];
        await stores.grants.create(liveGrant, oldRt, oldAt);
        const rotated = await stores.grants.rotate(oldRt.tokenHash, T - 2, () => true, () => ({ refresh: newRt, access: newAt }));
        assert.equal(rotated.status, 'rotated');
        // revocation list: one expired entry, one live
        const [deadJti, liveJti] = [uid('jti'), uid('jti')];
        await stores.revocations.revokeAccessToken(deadJti, dead);
        await stores.revocations.revokeAccessToken(liveJti, live);
        // device codes: one expired, one live
        const device = (expiresAt: number) => ({
          deviceCodeHash: uid('dc'), userCodeHash: uid('uc'), clientId: 'tv', scope: 'openid', resource: null, status: 'pending' as const,
          interval: 5, lastPolledAt: null, approval: null, createdAt: T - 600, expiresAt,
        });
        const [deadDevice, liveDevice] = [device(dead), device(live)];
        await stores.deviceCodes.create(deadDevice, T - 600);
        await stores.deviceCodes.create(liveDevice, T - 600);
        // session clients: one expired, one live
        const scUser = uid('user');
        await stores.sessions.addClient({ sid: uid('sid'), clientId: 'rp', userId: scUser, createdAt: T - 600, expiresAt: dead });
        await stores.sessions.addClient({ sid: uid('sid'), clientId: 'rp', userId: scUser, createdAt: T - 600, expiresAt: live });

        assert.equal(await stores.cleanup(T), 1 + 1 + 1 + 3 + 2 + 1 + 1 + 1);
        assert.equal((await stores.sessions.takeClientsByUser(scUser)).length, 1);
        assert.equal(await stores.deviceCodes.get(deadDevice.deviceCodeHash), undefined);
        assert.deepEqual(await stores.deviceCodes.get(liveDevice.deviceCodeHash), liveDevice);
        assert.deepEqual(await stores.codes.consume(codes[0]!.codeHash, T), { status: 'missing' });
        assert.equal((await stores.codes.consume(codes[1]!.codeHash, T)).status, 'ok');
        assert.equal(await stores.interactions.get(interactions[0]!.uid), undefined);
        assert.deepEqual(await stores.interactions.get(interactions[1]!.uid), interactions[1]);
        assert.equal(await stores.sessions.get(sessions[0]!.idHash), undefined);
        assert.deepEqual(await stores.sessions.get(sessions[1]!.idHash), sessions[1]);
        assert.equal(await stores.grants.get(deadGrant.id), undefined);
        assert.deepEqual(await stores.grants.get(liveGrant.id), liveGrant);
        assert.equal(await stores.grants.getRefresh(oldRt.tokenHash), undefined);
        assert.deepEqual(await stores.grants.getRefresh(newRt.tokenHash), { refresh: newRt, grant: liveGrant });
        assert.equal(await stores.revocations.isAccessTokenRevoked(deadJti), false);
        assert.equal(await stores.revocations.isAccessTokenRevoked(liveJti), true);
        // the live access token is still remembered, so revoking the grant reaches it
        await stores.grants.revoke(liveGrant.id, T);
        assert.equal(await stores.revocations.isAccessTokenRevoked(newAt.jti), true);
        assert.equal(await stores.revocations.isAccessTokenRevoked(oldAt.jti), false); // expired, forgotten
        assert.equal(await stores.cleanup(T), 0);
      });
    });

    describe('counters', () => {
      it('counts atomically: 50 parallel hits give 50, each seeing a distinct count', async () => {
        const results = await Promise.all(Array.from({ length: 50 }, () => stores.counters.hit('k-parallel', NOW, 60)));
        assert.deepEqual(results.map((r) => r.count).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 1));
        assert.equal((await stores.counters.get('k-parallel', NOW))!.count, 50);
      });
      it('restarts once idle past its window, and resets on demand', async () => {
        await stores.counters.hit('k-idle', NOW, 60);
        assert.equal((await stores.counters.hit('k-idle', NOW + 30, 60)).count, 2);
        assert.deepEqual(await stores.counters.hit('k-idle', NOW + 30 + 60, 60), { count: 1, lastAt: NOW + 90, expiresAt: NOW + 150 });
        assert.equal(await stores.counters.get('k-idle', NOW + 150), undefined);
        await stores.counters.reset('k-idle');
        assert.equal(await stores.counters.get('k-idle', NOW), undefined);
      });
    });

    describe('replay cache', () => {
      replayContract(() => stores.replay, NOW);
      it('cleanup forgets expired keys', async () => {
        await stores.replay.claim('test:cleanup', NOW + 5, NOW);
        assert.ok(await stores.cleanup(NOW + 5) >= 1);
        assert.equal(await stores.replay.claim('test:cleanup', NOW + 60, NOW), true);
      });
    });

    // Runs after every other suite here: it tampers with the chain and restores it.
    describe('audit trail', () => {
      const T = NOW * 1000 + 5_000_000; // later than anything else stored
      const tamper = (statement: string) => sql.raw(statement).execute(handle.db);

      it('appends batches in order, chained from the genesis hash; details round-trip', async () => {
        const first = [auditEvent({ at: T, details: { z: 1, a: 'x', m: null } }), auditEvent({ at: T + 1, type: 'login_failed', actor: null, outcome: 'failure', details: {} })];
        await stores.audit.append(first);
        await stores.audit.append([auditEvent({ at: T + 2, type: 'consent_granted' })]);
        await stores.audit.append([]);
        const all = await stores.audit.query({});
        assert.deepEqual(all.map((r) => r.seq), [1, 2, 3]);
        assert.equal(all[0]!.prevHash, '0'.repeat(64));
        assert.equal(all[1]!.prevHash, all[0]!.hash);
        assert.equal(all[2]!.prevHash, all[1]!.hash);
        assert.match(all[0]!.hash, /^[0-9a-f]{64}$/);
        const { seq: _s, prevHash: _p, hash: _h, ...back } = all[0]!;
        assert.deepEqual(back, first[0]);
        assert.deepEqual(await stores.audit.verify(), { ok: true, checked: 3 });
      });

      it('queries by time range, type and limit (the latest N, oldest first)', async () => {
        await stores.audit.append([0, 1, 2, 3, 4].map((i) => auditEvent({ at: T + 100 + i, type: i % 2 ? 'token_revoked' : 'token_issued' })));
        const range = await stores.audit.query({ from: T + 101, to: T + 104 });
        assert.deepEqual(range.map((r) => r.at), [T + 101, T + 102, T + 103]);
        assert.deepEqual((await stores.audit.query({ type: 'token_revoked' })).map((r) => r.at), [T + 101, T + 103]);
        assert.deepEqual((await stores.audit.query({ from: T + 100, limit: 2 })).map((r) => r.at), [T + 103, T + 104]);
        assert.deepEqual((await stores.audit.query({ from: T + 100, type: 'token_issued', limit: 1 })).map((r) => r.at), [T + 104]);
      });

      it('verify names a changed record, a removed middle record and a removed tail', async () => {
        const seqs = (await stores.audit.query({})).map((r) => r.seq);
        const [mid, last] = [seqs[3]!, seqs.at(-1)!];
        const original = (await stores.audit.query({})).find((r) => r.seq === mid)!;

        await tamper(`update audit_events set details = '{"grant_type":"client_credentials"}' where seq = ${mid}`);
        assert.deepEqual(await stores.audit.verify(), { ok: false, checked: mid - 1, firstBroken: mid, reason: "hash does not match the record's contents" });
        await tamper(`update audit_events set details = '${JSON.stringify(original.details)}' where seq = ${mid}`);
        assert.equal((await stores.audit.verify()).ok, true);

        await tamper(`delete from audit_events where seq = ${mid}`);
        const gap = await stores.audit.verify();
        assert.equal(gap.ok, false);
        assert.equal(!gap.ok && gap.firstBroken, mid);
        assert.match(!gap.ok ? gap.reason : '', new RegExp(`record ${mid} is missing`));
        await handle.db.insertInto('audit_events').values({
          seq: mid, at: original.at, type: original.type, actor: original.actor, client_id: original.clientId, ip: original.ip,
          outcome: original.outcome, details: JSON.stringify(original.details), prev_hash: original.prevHash, hash: original.hash,
        }).execute();
        assert.equal((await stores.audit.verify()).ok, true);

        await tamper(`delete from audit_events where seq = ${last}`);
        const tail = await stores.audit.verify();
        assert.equal(!tail.ok && tail.firstBroken, last);
      });

      it('8 parallel appenders extend one chain: seqs contiguous, verify ok', async () => {
        // Restart from an empty chain (the previous test removed the tail on purpose).
        await tamper('delete from audit_events');
        await tamper(`update audit_head set seq = 0, hash = '${'0'.repeat(64)}' where id = 1`);
        await times(8, (i) => stores.audit.append(Array.from({ length: 5 }, (_, j) => auditEvent({ at: T + 1000 + i * 10 + j, details: { caller: i } }))));
        const all = await stores.audit.query({});
        assert.deepEqual(all.map((r) => r.seq), Array.from({ length: 40 }, (_, i) => i + 1));
        // each caller's batch is contiguous
        for (let b = 0; b < 8; b++) assert.equal(new Set(all.slice(b * 5, b * 5 + 5).map((r) => r.details.caller)).size, 1);
        assert.deepEqual(await stores.audit.verify(), { ok: true, checked: 40 });
      });

      it('deleteBefore removes a prefix (retention); the rest still verifies', async () => {
        await stores.audit.append([0, 1, 2].map((i) => auditEvent({ at: T + 3000 + i }))); // seqs 41-43
        // An older event appended after newer ones (another process's batch) stays with them: no holes.
        await stores.audit.append([auditEvent({ at: T + 2999 }), auditEvent({ at: T + 3005 })]); // 44, 45
        assert.equal(await stores.audit.deleteBefore(T + 3002), 42);
        assert.deepEqual((await stores.audit.query({})).map((r) => r.seq), [43, 44, 45]);
        assert.deepEqual(await stores.audit.verify(), { ok: true, checked: 3 });
        assert.equal(await stores.audit.deleteBefore(T + 999_999), 3);
        assert.deepEqual(await stores.audit.verify(), { ok: true, checked: 0 });
        await stores.audit.append([auditEvent({ at: T + 4000 })]);
        assert.deepEqual((await stores.audit.query({})).map((r) => r.seq), [46]);
        assert.deepEqual(await stores.audit.verify(), { ok: true, checked: 1 });
      });
    });

    if (backend.persistent) {
      describe('persistence', () => {
        it('data survives closing and reopening the database', async () => {
          const c = client();
          await stores.clients.put(c);
          const { g, rt } = await seedGrant();
          const k = key({ state: 'retired' });
          await stores.keys.insert(k, false);
          await stores.close();
          handle = await openDatabase(backend.url!);
          assert.deepEqual(await migrate(handle.db), []);
          stores = createSqlStores(handle, usernameKeys);
          assert.deepEqual(await stores.clients.get(c.clientId), c);
          assert.deepEqual(await stores.grants.getRefresh(rt.tokenHash), { refresh: rt, grant: g });
          assert.deepEqual((await stores.keys.list()).find((x) => x.kid === k.kid), k);
        });
      });
    }
  });
}
