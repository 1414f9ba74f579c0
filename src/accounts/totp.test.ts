// Authenticator apps over real stores: SQLite (in memory and a file opened twice, as two instances
// have it) and the Redis replay store two instances share.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import { pino } from 'pino';
import { deletePrefix, sharedRedis, uniquePrefix } from '../../test/fixtures/redis.ts';
import { sqliteTempUrl } from '../../test/fixtures/db.ts';
import { openRedis, type RedisConnection } from '../adapters/redis/client.ts';
import { redisReplay } from '../adapters/redis/replay.ts';
import { openDatabase, type DatabaseHandle } from '../adapters/sql/database.ts';
import { migrate } from '../adapters/sql/migrations/index.ts';
import { sqlReplayEpoch } from '../adapters/sql/replay-epoch.ts';
import { createSqlStores } from '../adapters/sql/stores.ts';
import type { Stores } from '../ports/index.ts';
import {
  beginTotp,
  checkTotpCode,
  confirmTotp,
  normalizeTotpCode,
  TOTP_PERIOD,
  verifyUserTotp,
  type Keks,
  type TotpStores,
} from './totp.ts';
import { usernameKeys } from './usernames.ts';

const KEKS: Keks = { keyEncryptionKey: 'kek-current-0123456789abcdef0123456789' };
// The middle of a step, so that ±1 step stays within the neighbouring steps.
const T = Math.floor(Date.now() / 1000 / TOTP_PERIOD) * TOTP_PERIOD + 15;
const codeAt = (base32: string, at: number) =>
  new TOTP({ secret: Secret.fromBase32(base32), digits: 6, period: 30, algorithm: 'SHA1' }).generate({
    timestamp: at * 1000,
  });
let n = 0;
const newUser = () => ({ id: `user-${process.pid}-${++n}-${Math.random()}`, username: `alice${n}` });

async function open(url: string): Promise<{ stores: Stores; handle: DatabaseHandle }> {
  const handle = await openDatabase(url);
  await migrate(handle.db, usernameKeys);
  return { stores: createSqlStores(handle, usernameKeys), handle };
}

/** A confirmed app for a new user: its factor and secret. */
async function enrolled(stores: TotpStores, keks: Keks = KEKS) {
  const user = newUser();
  const e = await beginTotp(stores, keks, user, 'Tessera', T - 600);
  assert.equal(await confirmTotp(stores, keks, user.id, e.factor.id, codeAt(e.secret, T - 600), T - 600), 'ok');
  return { user, secret: e.secret, factor: (await stores.factors.get(e.factor.id))! };
}

describe('TOTP', () => {
  let stores: Stores;
  before(async () => {
    ({ stores } = await open('sqlite::memory:'));
  });
  after(() => stores.close());

  it('enrolment: a new unconfirmed factor, its secret wrapped (never in clear), an otpauth URI and an SVG QR code', async () => {
    const user = newUser();
    const e = await beginTotp(stores, KEKS, user, 'Tessera Demo', T);
    assert.match(e.secret, /^[A-Z2-7]{32}$/, '160 bits in base32');
    const stored = (await stores.factors.get(e.factor.id))!;
    assert.equal(stored.kind, 'totp');
    assert.equal(stored.confirmed, false);
    assert.equal(stored.userId, user.id);
    assert.ok(stored.secret && !stored.secret.includes(e.secret), 'the secret is stored wrapped');
    assert.equal(stored.secret.split('.').length, 5, 'a compact JWE');
    const uri = new URL(e.uri);
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.host, 'totp');
    assert.equal(uri.searchParams.get('secret'), e.secret);
    assert.equal(uri.searchParams.get('issuer'), 'Tessera Demo');
    assert.equal(uri.searchParams.get('digits'), '6');
    assert.equal(uri.searchParams.get('period'), '30');
    assert.match(e.qrSvg, /^<svg[\s\S]*<\/svg>\s*$/);
    assert.doesNotMatch(e.qrSvg, /href|<script|https?:\/\/(?!www\.w3\.org)/);
  });

  it('a new enrolment drops the unconfirmed one before it, never a confirmed app', async () => {
    const { user, factor } = await enrolled(stores);
    const first = await beginTotp(stores, KEKS, user, 'Tessera', T);
    const second = await beginTotp(stores, KEKS, user, 'Tessera', T);
    const ids = (await stores.factors.listByUser(user.id)).map((f) => f.id);
    assert.deepEqual(ids.sort(), [factor.id, second.factor.id].sort());
    assert.ok(!ids.includes(first.factor.id));
  });

  it('confirm: a wrong code leaves it unconfirmed; the right one confirms it, once; another user cannot', async () => {
    const user = newUser();
    const e = await beginTotp(stores, KEKS, user, 'Tessera', T);
    const wrong = String((Number(codeAt(e.secret, T)) + 1) % 1_000_000).padStart(6, '0');
    assert.equal(await confirmTotp(stores, KEKS, user.id, e.factor.id, wrong, T), 'invalid');
    assert.equal(await confirmTotp(stores, KEKS, user.id, e.factor.id, 'abcdef', T), 'invalid');
    assert.equal(await confirmTotp(stores, KEKS, 'someone-else', e.factor.id, codeAt(e.secret, T), T), 'invalid');
    assert.equal((await stores.factors.get(e.factor.id))!.confirmed, false);
    assert.equal(await confirmTotp(stores, KEKS, user.id, e.factor.id, codeAt(e.secret, T), T), 'ok');
    assert.equal((await stores.factors.get(e.factor.id))!.confirmed, true);
    assert.equal(await confirmTotp(stores, KEKS, user.id, e.factor.id, codeAt(e.secret, T + 30), T + 30), 'invalid');
  });

  it('an unconfirmed factor never verifies a sign-in, even with its right code', async () => {
    const user = newUser();
    const e = await beginTotp(stores, KEKS, user, 'Tessera', T);
    assert.deepEqual(await verifyUserTotp(stores, KEKS, user.id, codeAt(e.secret, T), T), { verdict: 'invalid' });
  });

  it('clock drift: one step either side is accepted, two steps are refused', async () => {
    const { user, secret } = await enrolled(stores);
    for (const d of [-2, 2]) {
      const r = await verifyUserTotp(stores, KEKS, user.id, codeAt(secret, T + d * TOTP_PERIOD), T);
      assert.equal(r.verdict, 'invalid', `${d} steps`);
    }
    for (const d of [-1, 0, 1]) {
      const r = await verifyUserTotp(stores, KEKS, user.id, codeAt(secret, T + d * TOTP_PERIOD), T);
      assert.equal(r.verdict, 'ok', `${d} steps`);
    }
  });

  it('a sign-in code works once: replayed after, even within its window and typed differently', async () => {
    const { user, secret, factor } = await enrolled(stores);
    const code = codeAt(secret, T);
    const ok = await verifyUserTotp(stores, KEKS, user.id, code, T);
    assert.equal(ok.verdict, 'ok');
    assert.equal(ok.factor!.id, factor.id);
    assert.equal((await stores.factors.get(factor.id))!.lastUsedAt, T);
    assert.equal((await verifyUserTotp(stores, KEKS, user.id, code, T)).verdict, 'replayed');
    assert.equal(
      (await verifyUserTotp(stores, KEKS, user.id, `${code.slice(0, 3)} ${code.slice(3)}`, T + 20)).verdict,
      'replayed',
    );
    // The code that confirmed the app cannot sign in either (same step, claimed at confirmation).
    const u2 = newUser();
    const e = await beginTotp(stores, KEKS, u2, 'Tessera', T);
    assert.equal(await confirmTotp(stores, KEKS, u2.id, e.factor.id, codeAt(e.secret, T), T), 'ok');
    assert.equal((await verifyUserTotp(stores, KEKS, u2.id, codeAt(e.secret, T), T)).verdict, 'replayed');
  });

  it('of 10 concurrent sign-ins with one code exactly one is accepted', async () => {
    const { user, secret } = await enrolled(stores);
    const code = codeAt(secret, T);
    const results = await Promise.all(Array.from({ length: 10 }, () => verifyUserTotp(stores, KEKS, user.id, code, T)));
    assert.equal(results.filter((r) => r.verdict === 'ok').length, 1);
  });

  it('with two apps, either one’s code signs in', async () => {
    const { user, secret } = await enrolled(stores);
    const e = await beginTotp(stores, KEKS, user, 'Tessera', T, 'Tablet');
    assert.equal(await confirmTotp(stores, KEKS, user.id, e.factor.id, codeAt(e.secret, T - 30), T - 30), 'ok');
    assert.equal((await verifyUserTotp(stores, KEKS, user.id, codeAt(e.secret, T), T)).factor?.id, e.factor.id);
    assert.equal((await verifyUserTotp(stores, KEKS, user.id, codeAt(secret, T), T)).verdict, 'ok');
  });

  it('KEK rotation: a secret wrapped under the previous key still verifies; without that key it cannot', async () => {
    const old: Keks = { keyEncryptionKey: 'kek-old-0123456789abcdef0123456789abcd' };
    const { user, secret, factor } = await enrolled(stores, old);
    const rotated: Keks = { keyEncryptionKey: KEKS.keyEncryptionKey, keyEncryptionKeyPrevious: old.keyEncryptionKey };
    assert.equal((await verifyUserTotp(stores, rotated, user.id, codeAt(secret, T), T)).verdict, 'ok');
    await assert.rejects(checkTotpCode(stores, KEKS, factor, codeAt(secret, T + 30), T + 30));
  });

  it('normalizes a typed code: spaces and dashes between digits; anything else is no code', () => {
    assert.equal(normalizeTotpCode('123 456'), '123456');
    assert.equal(normalizeTotpCode(' 123-456 '), '123456');
    for (const bad of ['12345', '1234567', '12a456', '', '１２３４５６'])
      assert.equal(normalizeTotpCode(bad), undefined, bad);
  });
});

describe('TOTP replay across instances: two stores on one SQLite file', () => {
  const url = sqliteTempUrl();
  let a: Awaited<ReturnType<typeof open>>;
  let b: Awaited<ReturnType<typeof open>>;
  before(async () => {
    a = await open(url);
    b = await open(url);
  });
  after(async () => {
    await a?.stores.close();
    await b?.stores.close();
    rmSync(dirname(url.slice('sqlite:'.length)), { recursive: true, force: true });
  });

  it('a code accepted by one instance is refused by the other', async () => {
    const { user, secret } = await enrolled(a.stores);
    const code = codeAt(secret, T);
    assert.equal((await verifyUserTotp(a.stores, KEKS, user.id, code, T)).verdict, 'ok');
    assert.equal((await verifyUserTotp(b.stores, KEKS, user.id, code, T)).verdict, 'replayed');
  });
});

const redisUrl = await sharedRedis();
describe('TOTP replay across instances: the Redis replay store', {
  skip: redisUrl ? false : 'Redis unreachable (set CI=true to require it)',
}, () => {
  const prefix = uniquePrefix('totp');
  let db: Awaited<ReturnType<typeof open>>;
  const redis: RedisConnection[] = [];
  before(async () => {
    db = await open(sqliteTempUrl());
    for (let i = 0; i < 2; i++)
      redis.push(await openRedis({ url: redisUrl!, cluster: false, prefix, timeout: 1000 }, pino({ level: 'silent' })));
  });
  after(async () => {
    for (const r of redis) await r.close();
    await db?.stores.close();
    await deletePrefix(redisUrl!, prefix);
  });

  it('a code accepted through one connection is refused through another', async () => {
    const instance = (r: RedisConnection): TotpStores => ({
      factors: db.stores.factors,
      replay: redisReplay(r, { epochs: sqlReplayEpoch(db.handle), window: 330 }),
    });
    const [one, two] = [instance(redis[0]!), instance(redis[1]!)];
    const { user, secret } = await enrolled(one);
    const code = codeAt(secret, T);
    assert.equal((await verifyUserTotp(one, KEKS, user.id, code, T)).verdict, 'ok');
    assert.equal((await verifyUserTotp(two, KEKS, user.id, code, T)).verdict, 'replayed');
    assert.equal((await verifyUserTotp(one, KEKS, user.id, code, T)).verdict, 'replayed');
  });
});
