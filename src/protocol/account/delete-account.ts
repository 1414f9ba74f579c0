// Deleting an account, for the account page and operators (CLI) alike: its grants revoked (tokens too), its sessions
// ended with their clients told (back-channel logout), its consents and factors deleted (and the browsers remembered
// after a second factor forgotten), the user removed, and a tombstone left: the id (the `sub`) is never issued again
// and the username stays reserved for TESSERA_USERNAME_RESERVATION. A verified address is told by mail. Its linked
// upstream identities go too, so the provider accounts sign in to nothing (or make a new user, just in time).
import type { Config } from '../../config/config.ts';
import type { Stores } from '../../ports/index.ts';
import { mailLocale } from '../mail-language.ts';
import type { DepsOf, ProtocolRequest, Provider, StoreDeps } from '../provider.ts';
import { sessionEnded, userSessionsEnded } from '../logout/session-ended.ts';

export type DeleteAccountDeps = Pick<Provider, 'now' | 'events' | 'log' | 'mail'> & {
  readonly config: Pick<Config, 'usernameReservation' | 'defaultLocale'>;
} & StoreDeps<
    'users' | 'grants' | 'consents' | 'factors' | 'sessions' | 'signIns' | 'upstreamIdentities' | 'transaction'
  > &
  DepsOf<typeof sessionEnded>;

/**
 * Deletes the account; false when there was no such user. `guard`, when given, runs in one transaction
 * with the removal of the user itself and may refuse it by throwing (the account holds an admin role:
 * account/delete.ts); what was revoked and ended before stays so. `asked`: the user's own request to
 * delete it (the mail's language when the account chose none; an operator's deletion has none).
 */
export async function deleteAccount(
  p: DeleteAccountDeps,
  userId: string,
  by: 'user' | 'operator',
  ip?: string,
  guard?: (stores: Stores) => Promise<void>,
  asked?: Pick<ProtocolRequest, 'headers' | 'cookies'>,
): Promise<boolean> {
  const user = await p.stores.users.get(userId);
  if (!user) return false;
  const now = p.now();
  const grants = await p.stores.grants.revokeByUser(userId, now);
  for (const c of await p.stores.consents.listByUser(userId)) await p.stores.consents.revoke(userId, c.clientId);
  const sessions = await p.stores.sessions.listByUser(userId);
  for (const s of sessions) {
    await p.stores.sessions.deleteBySid(userId, s.sid);
    await sessionEnded(p, s.sid);
  }
  await p.stores.sessions.deleteByUser(userId);
  await userSessionsEnded(p, userId);
  const factors = await p.stores.factors.deleteByUser(userId);
  await p.stores.signIns.forgetUser(userId);
  const identities = await p.stores.upstreamIdentities.deleteByUser(userId);
  const remove = (stores: Pick<Stores, 'users'>) =>
    stores.users.deleteWithTombstone(userId, now, now + p.config.usernameReservation);
  const removed = guard
    ? await p.stores.transaction(async (tx) => {
        await guard(tx);
        return remove(tx);
      })
    : await remove(p.stores);
  if (!removed) return false;
  p.events({ type: 'account_deleted', userId, by, ...(ip ? { ip } : {}) });
  p.log.info(
    { event: 'account_deleted', sub: userId, by, grants, sessions: sessions.length, factors, identities },
    'account deleted',
  );
  if (user.email && user.emailVerified)
    await p.mail.send({
      to: user.email,
      template: 'account-deleted',
      vars: { username: user.username },
      userId,
      locale: mailLocale(asked, p.config, user),
    });
  return true;
}
