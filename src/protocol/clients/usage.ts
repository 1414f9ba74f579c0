// Unused registrations expire (TESSERA_REGISTRATION_UNUSED_TTL): anyone may register a client, so
// registrations nobody uses would pile up. A dynamically registered client that has had no token
// within that many seconds of its registration (or of its last change: an RFC 7592 update, an
// operator's approval) is refused from then on and deleted by the periodic sweep. Whether a client
// was used is one mark in the store, written by its first token and never again (the token
// endpoint's hot path pays one check of the record it has already read).
import type { ClientRecord } from '../../ports/clients.ts';
import type { Provider, StoreDeps } from '../provider.ts';

/**
 * A client stored by dynamic registration (RFC 7591). Not resources.ts isSelfRegistered, which may
 * cover clients that are not stored (Client ID Metadata Documents): only stored clients are marked.
 */
const registered = (client: Pick<ClientRecord, 'metadata'>) =>
  client.metadata.registration !== undefined && client.metadata.registration.mode !== 'cimd';

/** Most clients one sweep deletes per batch, and batches per sweep. */
const SWEEP_BATCH = 500;
const SWEEP_BATCHES = 20;

/** Whether a dynamically registered client has outlived TESSERA_REGISTRATION_UNUSED_TTL without a token. */
export function unusedRegistrationExpired(
  p: { readonly config: Pick<Provider['config'], 'registrationUnusedTtl'>; now(): number },
  client: Pick<ClientRecord, 'firstUsedAt' | 'updatedAt' | 'metadata'>,
): boolean {
  const ttl = p.config.registrationUnusedTtl;
  return ttl > 0 && client.firstUsedAt === undefined && registered(client) && client.updatedAt + ttl <= p.now();
}

/**
 * Records the first token issued to a dynamically registered client; undefined (nothing to wait
 * for) when it is marked already or is operator-made. Marked whatever the setting, so turning it
 * on later never deletes a client that was in use. A failure is logged, never the token request's.
 */
export function markFirstUse(
  p: Pick<Provider, 'now' | 'log'> & StoreDeps<'clients'>,
  client: Pick<ClientRecord, 'clientId' | 'firstUsedAt' | 'metadata'>,
): Promise<void> | undefined {
  if (client.firstUsedAt !== undefined || !registered(client)) return undefined;
  return p.stores.clients.markUsed(client.clientId, p.now()).then(
    () => undefined,
    (err: unknown) => p.log.warn({ err: String(err), client_id: client.clientId }, 'first use of client not recorded'),
  );
}

/**
 * Deletes the dynamically registered clients left unused past TESSERA_REGISTRATION_UNUSED_TTL
 * (their grants revoked, their consents forgotten); returns how many. Run with the other periodic
 * cleanups; nothing when the setting is 0.
 */
export async function sweepUnusedRegistrations(
  p: Pick<Provider, 'config' | 'now' | 'events' | 'log'> & StoreDeps<'clients'>,
): Promise<number> {
  const ttl = p.config.registrationUnusedTtl;
  if (ttl <= 0) return 0;
  let total = 0;
  for (let batch = 0; batch < SWEEP_BATCHES; batch++) {
    const deleted = await p.stores.clients.deleteUnusedRegistrations(p.now() - ttl, SWEEP_BATCH);
    for (const clientId of deleted) p.events({ type: 'client_deleted', clientId });
    total += deleted.length;
    if (deleted.length < SWEEP_BATCH) break;
  }
  if (total) p.log.info({ event: 'unused_clients_deleted', removed: total, ttl }, 'unused registered clients deleted');
  return total;
}
