// Recovery codes over a real store (SQLite in memory).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openDatabase } from '../adapters/sql/database.ts';
import { migrate } from '../adapters/sql/migrations/index.ts';
import { createSqlStores } from '../adapters/sql/stores.ts';
import type { Stores } from '../ports/index.ts';
import {
  normalizeRecoveryCode,
  RECOVERY_CODE_COUNT,
  regenerateRecoveryCodes,
  useRecoveryCode,
} from './recovery-codes.ts';
import type { Keks } from './totp.ts';
import { usernameKeys } from './usernames.ts';

const NOW = Math.floor(Date.now() / 1000);
const KEKS: Keks = { keyEncryptionKey: 'kek-current-0123456789abcdef0123456789' };
let n = 0;
const newUserId = () => `user-${process.pid}-${++n}`;

describe('recovery codes', () => {
  let stores: Stores;
  before(async () => {
    const handle = await openDatabase('sqlite::memory:');
    await migrate(handle.db, usernameKeys);
    stores = createSqlStores(handle, usernameKeys);
  });
  after(() => stores.close());

  it('ten distinct codes, xxxx-xxxx-xxxx-xxxx of an alphabet without 0, o, 1, i, l; only hashes are stored', async () => {
    const userId = newUserId();
    const codes = await regenerateRecoveryCodes(stores, KEKS, userId, NOW);
    assert.equal(codes.length, RECOVERY_CODE_COUNT);
    assert.equal(new Set(codes).size, RECOVERY_CODE_COUNT);
    for (const c of codes) assert.match(c, /^[a-hjkmnp-z2-9]{4}(-[a-hjkmnp-z2-9]{4}){3}$/, c);
    assert.equal(await stores.factors.countRecoveryCodes(userId), RECOVERY_CODE_COUNT);
    // The hashes are keyed: not the code, nor a plain hash of it.
    assert.equal(await stores.factors.useRecoveryCode(userId, codes[0]!, NOW), false);
    assert.equal(await stores.factors.useRecoveryCode(userId, normalizeRecoveryCode(codes[0]!)!, NOW), false);
  });

  it('normalizes case, dashes and spaces; refuses what cannot be a code', () => {
    assert.equal(normalizeRecoveryCode('ABCD-EFGH-JKMN-PQRS'), 'abcdefghjkmnpqrs');
    assert.equal(normalizeRecoveryCode(' abcd efgh\tjkmn-pqrs '), 'abcdefghjkmnpqrs');
    assert.equal(normalizeRecoveryCode('abcdefghjkmnpqrs'), 'abcdefghjkmnpqrs');
    for (const bad of ['', 'abcd-efgh-jkmn', 'abcd-efgh-jkmn-pqrs-t', 'abcd-efgh-jkmn-pq!s', 'äbcd-efgh-jkmn-pqrs'])
      assert.equal(normalizeRecoveryCode(bad), undefined, bad);
  });

  it('each code works once, however it is typed; a wrong or malformed one never; another user’s never', async () => {
    const userId = newUserId();
    const codes = await regenerateRecoveryCodes(stores, KEKS, userId, NOW);
    assert.equal(await useRecoveryCode(stores, KEKS, newUserId(), codes[0]!, NOW), false);
    assert.equal(await useRecoveryCode(stores, KEKS, userId, codes[0]!.toUpperCase().replaceAll('-', ' '), NOW), true);
    assert.equal(await useRecoveryCode(stores, KEKS, userId, codes[0]!, NOW), false);
    assert.equal(await useRecoveryCode(stores, KEKS, userId, 'zzzz-zzzz-zzzz-zzzz', NOW), false);
    assert.equal(await useRecoveryCode(stores, KEKS, userId, 'not a code', NOW), false);
    assert.equal(await useRecoveryCode(stores, KEKS, userId, codes[1]!.replaceAll('-', ''), NOW), true);
    assert.equal(await stores.factors.countRecoveryCodes(userId), RECOVERY_CODE_COUNT - 2);
  });

  it('of 20 concurrent uses of one code exactly one succeeds', async () => {
    const userId = newUserId();
    const [code] = await regenerateRecoveryCodes(stores, KEKS, userId, NOW);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => useRecoveryCode(stores, KEKS, userId, code!, NOW)),
    );
    assert.equal(results.filter(Boolean).length, 1);
  });

  it('regenerating replaces the set: the old codes stop working', async () => {
    const userId = newUserId();
    const old = await regenerateRecoveryCodes(stores, KEKS, userId, NOW);
    await useRecoveryCode(stores, KEKS, userId, old[0]!, NOW);
    const fresh = await regenerateRecoveryCodes(stores, KEKS, userId, NOW + 1);
    assert.equal(await stores.factors.countRecoveryCodes(userId), RECOVERY_CODE_COUNT);
    for (const c of old.slice(1)) assert.equal(await useRecoveryCode(stores, KEKS, userId, c, NOW + 2), false);
    assert.equal(await useRecoveryCode(stores, KEKS, userId, fresh[3]!, NOW + 2), true);
  });

  it('KEK rotation: codes hashed under the previous key are still accepted, once; without it they are not', async () => {
    const userId = newUserId();
    const old: Keks = { keyEncryptionKey: 'kek-old-0123456789abcdef0123456789abcd' };
    const codes = await regenerateRecoveryCodes(stores, old, userId, NOW);
    assert.equal(await useRecoveryCode(stores, KEKS, userId, codes[0]!, NOW), false);
    const rotated: Keks = { ...KEKS, keyEncryptionKeyPrevious: old.keyEncryptionKey };
    assert.equal(await useRecoveryCode(stores, rotated, userId, codes[0]!, NOW), true);
    assert.equal(await useRecoveryCode(stores, rotated, userId, codes[0]!, NOW), false);
    assert.equal(await useRecoveryCode(stores, rotated, userId, codes[1]!, NOW), true);
  });
});
