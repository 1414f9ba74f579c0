// Operators' actions on accounts, over a real store (SQLite in memory).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { usernameKeys } from '../accounts/usernames.ts';
import { openDatabase } from '../adapters/sql/database.ts';
import { migrate } from '../adapters/sql/migrations/index.ts';
import { createSqlStores } from '../adapters/sql/stores.ts';
import { loadConfig } from '../config/config.ts';
import type { Stores } from '../ports/index.ts';
import { applyBootstrap } from './bootstrap.ts';
import { saveUser } from './users.ts';

const NOW = Math.floor(Date.now() / 1000);
const config = loadConfig({ TESSERA_ENV: 'development' });

describe('provisioning keeps what operators and the policy set', () => {
  let stores: Stores;
  before(async () => {
    const handle = await openDatabase('sqlite::memory:');
    await migrate(handle.db, usernameKeys);
    stores = createSqlStores(handle, usernameKeys);
  });
  after(() => stores.close());

  it('applying the same bootstrap file again changes no user, and keeps mfa_required, the enrolment deadline and the language of the user', async () => {
    const file = { users: [{ username: 'keeper', email: 'keeper@example.com', password: 'a long pass phrase here' }] };
    assert.equal((await applyBootstrap(stores, config, file, NOW)).users, 1);
    assert.equal((await applyBootstrap(stores, config, file, NOW + 1)).users, 0, 'idempotent');
    const u = (await stores.users.findByUsername('keeper'))!;
    await stores.users.put({ ...u, mfaRequired: true, mfaEnrolBy: NOW + 86400, locale: 'fr' });
    assert.equal((await applyBootstrap(stores, config, file, NOW + 2)).users, 0, 'still idempotent');
    const r = await saveUser(stores, { username: 'keeper', name: 'Keeper' }, NOW + 3);
    assert.equal(r.changed, true);
    const after = (await stores.users.findByUsername('keeper'))!;
    assert.equal(after.name, 'Keeper');
    assert.equal(after.mfaRequired, true);
    assert.equal(after.mfaEnrolBy, NOW + 86400);
    assert.equal(after.locale, 'fr', 'the language the user chose stays');
  });
});
