// The protocol's own functions (deleting an account, ending sessions, mailing a reset link) run
// inside an admin action's transaction through these deps: their database work is part of the
// transaction, while what they send (back-channel logout tokens, mail) and the events they emit
// wait for the commit (ActionContext.after). A rolled-back action has told no one anything.
import type { ClientRecord } from '../ports/clients.ts';
import type { MailMessage, Mailer } from '../ports/mail.ts';
import { LogoutDelivery, type DeliveryOutcome, type LogoutDeps } from '../protocol/logout/back-channel.ts';
import { endSessions } from '../protocol/logout/session-ended.ts';
import type { ProtocolEvent } from '../protocol/events.ts';
import type { ActionContext, AdminDeps } from './action.ts';

/** Back-channel logout deliveries queued for after the commit, on the server's own delivery queue. */
class AfterCommitDelivery extends LogoutDelivery {
  private readonly ctx: ActionContext;
  constructor(ctx: ActionContext) {
    super();
    this.ctx = ctx;
  }
  override send(p: LogoutDeps, client: ClientRecord, sub: string, sid: string): Promise<DeliveryOutcome> {
    const { logoutDelivery, events } = this.ctx.p;
    // The outcome of each delivery is an audit record of its own (backchannel_logout_delivered/failed).
    this.ctx.after(() => void logoutDelivery.send({ ...p, events }, client, sub, sid));
    return Promise.resolve({ clientId: client.clientId, delivered: false, attempts: 0 });
  }
}

/**
 * The action's deps for protocol functions: its transaction's stores, with deliveries, mail and
 * events held until the commit. Events are marked `audited` (the action's record says it already);
 * metrics and the security notifications still see them.
 */
export function afterCommitDeps(ctx: ActionContext): AdminDeps {
  const mail: Mailer = {
    send: async (m: MailMessage) => ctx.after(() => ctx.p.mail.send(m)),
  };
  return {
    ...ctx.p,
    logoutDelivery: new AfterCommitDelivery(ctx),
    mail,
    events: (e: ProtocolEvent) => ctx.after(() => ctx.p.events({ ...e, audited: true })),
  };
}

/**
 * Sessions of a user ended in this transaction (deleted, or about to be): their clients are taken
 * now, the session-bound refresh tokens revoked now, the clients told after the commit. How many
 * clients will be told.
 */
export async function tellUserSessionsEnded(ctx: ActionContext, userId: string): Promise<number> {
  const entries = await ctx.stores.sessions.takeClientsByUser(userId);
  await endSessions(afterCommitDeps(ctx), entries);
  return entries.length;
}

/** The same for one session, by its sid. */
export async function tellSessionEnded(ctx: ActionContext, sid: string): Promise<number> {
  const entries = await ctx.stores.sessions.takeClients(sid);
  await endSessions(afterCommitDeps(ctx), entries);
  return entries.length;
}
