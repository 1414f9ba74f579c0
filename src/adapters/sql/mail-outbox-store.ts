import { sql } from 'kysely';
import type { MailOutboxStore, MailTemplate, OutboxMail } from '../../ports/mail.ts';
import type { MailOutboxTable } from './schema.ts';
import { count, json, type Row, type SqlContext } from './statements.ts';

const toMail = (r: Row<MailOutboxTable>): OutboxMail => ({
  id: r.id,
  to: r.recipient ?? '',
  template: r.template as MailTemplate,
  vars: r.vars ? (JSON.parse(r.vars) as Record<string, string>) : {},
  userId: r.user_id,
  attempts: Number(r.attempts),
  createdAt: Number(r.created_at),
});

/**
 * The mail outbox (migration 0024). A claim is one UPDATE over the due rows: in PostgreSQL the rows
 * are picked with FOR UPDATE SKIP LOCKED, so concurrent workers take different mails and none waits
 * on another; SQLite runs one write at a time. The lease fields are checked again by every later
 * change, so a worker whose lease ran out (and whose mail another worker took) changes nothing.
 */
export function createSqlMailOutboxStore({ db, pg }: SqlContext): MailOutboxStore {
  return {
    async enqueue(m) {
      await db
        .insertInto('mail_outbox')
        .values({
          id: m.id,
          status: 'pending',
          recipient: m.to,
          template: m.template,
          vars: json(m.vars),
          user_id: m.userId,
          attempts: 0,
          next_attempt_at: m.createdAt,
          lease_owner: null,
          lease_until: null,
          last_error: null,
          created_at: m.createdAt,
          done_at: null,
        })
        .execute();
    },
    async claim(owner, now, limit, lease) {
      let due = db
        .selectFrom('mail_outbox')
        .select('id')
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now)]))
        .orderBy('next_attempt_at')
        .orderBy('id')
        .limit(limit);
      if (pg) due = due.forUpdate().skipLocked();
      const rows = await db
        .updateTable('mail_outbox')
        .set({ lease_owner: owner, lease_until: now + lease, attempts: sql`attempts + 1` })
        // PostgreSQL may run an IN subquery once per row it updates (each run locking and returning
        // other rows); ARRAY() runs it once.
        .where(pg ? sql<boolean>`id = any(array(${due}))` : sql<boolean>`id in (${due})`)
        .where('status', '=', 'pending')
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now)]))
        .returningAll()
        .execute();
      return rows.map(toMail).sort((a, b) => a.createdAt - b.createdAt);
    },
    async markSent(id, owner, now) {
      const r = await db
        .updateTable('mail_outbox')
        .set({ status: 'sent', recipient: null, vars: null, lease_owner: null, lease_until: null, done_at: now })
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return count(r) > 0;
    },
    async retryLater(id, owner, nextAttemptAt, reason) {
      const r = await db
        .updateTable('mail_outbox')
        .set({ next_attempt_at: nextAttemptAt, lease_owner: null, lease_until: null, last_error: reason })
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return count(r) > 0;
    },
    async markFailed(id, owner, now, reason) {
      const r = await db
        .updateTable('mail_outbox')
        .set({
          status: 'failed',
          recipient: null,
          vars: null,
          lease_owner: null,
          lease_until: null,
          last_error: reason,
          done_at: now,
        })
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return count(r) > 0;
    },
    async depth() {
      const row = await db
        .selectFrom('mail_outbox')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },
  };
}
