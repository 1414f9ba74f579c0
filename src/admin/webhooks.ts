// Webhook secrets at a key-encryption key rotation (`tessera keys rewrap`): each endpoint's signing
// secret opened under either key is wrapped again under TESSERA_KEY_ENCRYPTION_KEY, so the
// previous key can be retired without breaking deliveries.
import type { Stores } from '../ports/index.ts';
import { openWebhookSecret, wrapWebhookSecret, type Keks } from '../webhooks/signing.ts';
import { AdminError } from './errors.ts';

export async function rewrapWebhookSecrets(deps: {
  stores: Pick<Stores, 'webhooks'>;
  config: Keks;
}): Promise<{ rewrapped: number; unchanged: number }> {
  const endpoints = await deps.stores.webhooks.list();
  const next = [];
  for (const e of endpoints) {
    const current = await openWebhookSecret({ keyEncryptionKey: deps.config.keyEncryptionKey }, e.id, e.secretWrapped)
      .then(() => true)
      .catch(() => false);
    if (current) continue;
    let plain: string;
    try {
      plain = await openWebhookSecret(deps.config, e.id, e.secretWrapped);
    } catch {
      throw new AdminError(
        `the secret of webhook ${e.id} opens under neither TESSERA_KEY_ENCRYPTION_KEY nor TESSERA_KEY_ENCRYPTION_KEY_PREVIOUS: nothing was re-wrapped (rotate its secret instead)`,
      );
    }
    next.push({ ...e, secretWrapped: await wrapWebhookSecret(deps.config.keyEncryptionKey, e.id, plain) });
  }
  for (const e of next) await deps.stores.webhooks.update(e);
  return { rewrapped: next.length, unchanged: endpoints.length - next.length };
}
