import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { usernameKeys } from '../../accounts/usernames.ts';
import { openDatabase, type DatabaseHandle } from '../../adapters/sql/database.ts';
import { migrate } from '../../adapters/sql/migrations/index.ts';
import { createSqlStores } from '../../adapters/sql/stores.ts';
import type { Stores } from '../../ports/index.ts';
import { access, grant, refreshFor } from '../../../test/contract/factories.ts';
import { randomToken, timeOrderedKey, timeOrderedToken, tokenHash } from '../hash.ts';
import { findRefreshToken } from './user-tokens.ts';

describe('findRefreshToken', () => {
  let handle: DatabaseHandle;
  let stores: Stores;
  before(async () => {
    handle = await openDatabase('sqlite::memory:');
    await migrate(handle.db, usernameKeys);
    stores = createSqlStores(handle, usernameKeys);
  });
  after(async () => {
    await handle?.close();
  });

  it('finds a time-ordered token and one of the earlier form, each under the key it was stored by', async () => {
    const g = grant();
    const current = timeOrderedToken();
    await stores.grants.create(g, refreshFor(g, { tokenHash: timeOrderedKey(current) }), access());
    const g2 = grant();
    const legacy = randomToken(32);
    await stores.grants.create(g2, refreshFor(g2, { tokenHash: tokenHash(legacy) }), access());
    assert.equal((await findRefreshToken(stores.grants, current))?.grant.id, g.id);
    assert.equal((await findRefreshToken(stores.grants, legacy))?.grant.id, g2.id);
    // The hash itself, or the token's random part alone, is not the token.
    assert.equal(await findRefreshToken(stores.grants, timeOrderedKey(current)), undefined);
    assert.equal(await findRefreshToken(stores.grants, current.slice(12)), undefined);
  });

  it('looks nothing up for a value longer than any refresh token', async () => {
    let asked = 0;
    const grants = {
      getRefresh: (key: string) => {
        asked++;
        return stores.grants.getRefresh(key);
      },
    };
    assert.equal(await findRefreshToken(grants, 'x'.repeat(257)), undefined);
    assert.equal(asked, 0);
    assert.equal(await findRefreshToken(grants, 'x'.repeat(256)), undefined);
    assert.equal(asked, 1);
  });
});
