// What follows the end of a login session (RP-initiated logout, account logout, a disabled user):
// the clients that got tokens under it are told (back-channel logout now, in the background;
// front-channel logout through the page the browser is shown) and the session's refresh tokens
// without offline_access are revoked (Back-Channel Logout 1.0 section 2.7).
import type { ClientRecord } from '../../ports/clients.ts';
import type { Stores } from '../../ports/index.ts';
import type { SessionClient } from '../../ports/sessions.ts';
import type { Provider } from '../provider.ts';
import { featureEnabled } from '../../config/features.ts';
import { subjectFor } from '../tokens/subject.ts';
import { logoutDelivery, type LogoutDeps } from './back-channel.ts';
import type { DepsOf } from '../provider.ts';

/**
 * What ending sessions uses of the Provider: the clients and grants stores, the clock, pairwise subjects,
 * and the back-channel deliveries with what a delivery needs (settings, keys, log, events, the outbound port).
 */
export type EndSessionsDeps = Pick<Provider, 'config' | 'now' | 'pairwiseKeys'> & {
  readonly stores: Pick<Stores, 'clients' | 'grants'>;
} & LogoutDeps &
  DepsOf<typeof logoutDelivery>;
/** What sessionEnded and userSessionsEnded use: endSessions's, and the sessions store the clients are taken from. */
export type SessionEndedDeps = EndSessionsDeps & { readonly stores: Pick<Stores, 'sessions'> };

/** One front-channel logout iframe: the client's frontchannel_logout_uri with iss and sid. */
export interface FrontChannelFrame {
  clientId: string;
  src: string;
}

/** The clients of a session (by sid), taken from the store (so only one ending of a session notifies them). */
export async function endSessions(p: EndSessionsDeps, entries: SessionClient[]): Promise<FrontChannelFrame[]> {
  const frames: FrontChannelFrame[] = [];
  const clients = new Map<string, ClientRecord | undefined>();
  const sids = new Map<string, string>();
  for (const e of entries) {
    sids.set(e.sid, e.userId);
    if (!clients.has(e.clientId)) clients.set(e.clientId, await p.stores.clients.get(e.clientId));
    const client = clients.get(e.clientId);
    if (!client || client.disabled) continue;
    // The logout token names the user as this client knows them (pairwise clients: their own sub).
    // TESSERA_FEATURES_DISABLED turns either channel off: nothing is sent or framed for it.
    if (typeof client.metadata.backchannel_logout_uri === 'string' && featureEnabled(p.config, 'backchannel_logout'))
      void logoutDelivery(p).send(
        p,
        client,
        subjectFor(p.config.pairwiseSecret, client, e.userId, p.pairwiseKeys),
        e.sid,
      );
    if (
      typeof client.metadata.frontchannel_logout_uri === 'string' &&
      featureEnabled(p.config, 'frontchannel_logout')
    ) {
      const u = new URL(client.metadata.frontchannel_logout_uri);
      u.searchParams.set('iss', p.config.issuer);
      u.searchParams.set('sid', e.sid);
      frames.push({ clientId: client.clientId, src: u.href });
    }
  }
  await revokeSessionRefreshTokens(p, sids);
  return frames;
}

/**
 * Section 2.7: refresh tokens issued without offline_access under a session that ends are revoked
 * (with the grant, and so its access tokens); grants with offline_access outlive the session, which
 * is what offline_access asks for.
 */
async function revokeSessionRefreshTokens(
  p: Pick<Provider, 'now'> & { readonly stores: Pick<Stores, 'grants'> },
  sids: Map<string, string>,
): Promise<void> {
  const now = p.now();
  const byUser = new Map<string, Set<string>>();
  for (const [sid, userId] of sids) byUser.set(userId, (byUser.get(userId) ?? new Set()).add(sid));
  for (const [userId, userSids] of byUser) {
    for (const g of await p.stores.grants.listActiveByUser(userId, now)) {
      if (g.sid !== null && userSids.has(g.sid) && !g.scope.split(' ').includes('offline_access'))
        await p.stores.grants.revoke(g.id, now);
    }
  }
}

/** The session with this sid ended: notify its clients. */
export async function sessionEnded(p: SessionEndedDeps, sid: string): Promise<FrontChannelFrame[]> {
  return endSessions(p, await p.stores.sessions.takeClients(sid));
}

/** Every session of a user ended (user disabled, credentials changed). */
export async function userSessionsEnded(p: SessionEndedDeps, userId: string): Promise<void> {
  await endSessions(p, await p.stores.sessions.takeClientsByUser(userId));
}
