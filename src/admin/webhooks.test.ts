// `tessera keys rewrap` for webhook secrets: under the previous key-encryption key they move to the
// current one (the secret itself unchanged); one under neither key refuses and changes nothing.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { usernameKeys } from '../accounts/usernames.ts';
import { openDatabase } from '../adapters/sql/database.ts';
import { migrate } from '../adapters/sql/migrations/index.ts';
import { createSqlStores } from '../adapters/sql/stores.ts';
import type { Stores } from '../ports/index.ts';
import { newWebhookSecret, openWebhookSecret, wrapWebhookSecret } from '../webhooks/signing.ts';
import { rewrapWebhookSecrets } from './webhooks.ts';

const OLD = 'the-old-key-encryption-key-of-32-bytes-or-more';
const NEW = 'a-new-key-encryption-key-of-32-bytes-or-more!';
let stores: Stores;
before(async () => {
  const handle = await openDatabase('sqlite::memory:');
  await migrate(handle.db, usernameKeys);
  stores = createSqlStores(handle, usernameKeys);
});
after(() => stores?.close());

it('re-wraps webhook secrets under the current key-encryption key; refuses one under neither', async () => {
  const secret = newWebhookSecret();
  const wrapped = await wrapWebhookSecret(OLD, 'wh_one', secret);
  await stores.webhooks.create({
    id: 'wh_one',
    url: 'https://hooks.example.com/',
    description: '',
    events: [],
    enabled: true,
    secretWrapped: wrapped,
    createdAt: 1,
    updatedAt: 1,
    lastSeq: 0,
  });
  const rotated = { keyEncryptionKey: NEW, keyEncryptionKeyPrevious: OLD };
  await assert.rejects(rewrapWebhookSecrets({ stores, config: { keyEncryptionKey: NEW } }), /opens under neither/);
  assert.equal((await stores.webhooks.get('wh_one'))!.secretWrapped, wrapped, 'nothing changed');
  assert.deepEqual(await rewrapWebhookSecrets({ stores, config: rotated }), { rewrapped: 1, unchanged: 0 });
  const after = (await stores.webhooks.get('wh_one'))!.secretWrapped;
  assert.equal(await openWebhookSecret({ keyEncryptionKey: NEW }, 'wh_one', after), secret);
  // Wrapped for one endpoint, it does not open as another's.
  await assert.rejects(openWebhookSecret({ keyEncryptionKey: NEW }, 'wh_two', after));
  assert.deepEqual(await rewrapWebhookSecrets({ stores, config: rotated }), { rewrapped: 0, unchanged: 1 });
});
