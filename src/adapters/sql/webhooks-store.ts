import { type Kysely, sql } from 'kysely';
import type { Page } from '../../ports/admin.ts';
import {
  webhookFilterTakes,
  type ClaimedDelivery,
  type WebhookAttempt,
  type WebhookDelivery,
  type WebhookDeliveryStatus,
  type WebhookEndpoint,
  type WebhookStore,
} from '../../ports/webhooks.ts';
import type { Schema, WebhookAttemptsTable, WebhookDeliveriesTable, WebhookEndpointsTable } from './schema.ts';
import { bool, count, json, pageLimit, pageOf, type Row, type SqlContext } from './statements.ts';

const toEndpoint = (r: Row<WebhookEndpointsTable>): WebhookEndpoint => ({
  id: r.id,
  url: r.url,
  description: r.description,
  events: JSON.parse(r.events) as string[],
  enabled: Number(r.enabled) === 1,
  secretWrapped: r.secret_wrapped,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  lastSeq: Number(r.last_seq),
});

const toDelivery = (r: Row<WebhookDeliveriesTable>): WebhookDelivery => ({
  id: r.id,
  endpointId: r.endpoint_id,
  seq: r.seq === null ? null : Number(r.seq),
  type: r.type,
  payload: r.payload,
  status: r.status as WebhookDeliveryStatus,
  attempts: Number(r.attempts),
  nextAt: Number(r.next_at),
  createdAt: Number(r.created_at),
  doneAt: r.done_at === null ? null : Number(r.done_at),
  lastStatus: r.last_status === null ? null : Number(r.last_status),
  lastError: r.last_error,
});

const toAttempt = (r: Row<WebhookAttemptsTable>): WebhookAttempt => ({
  deliveryId: r.delivery_id,
  attempt: Number(r.attempt),
  at: Number(r.at),
  status: r.status === null ? null : Number(r.status),
  error: r.error,
  durationMs: Number(r.duration_ms),
  response: r.response,
});

const attemptRow = (a: WebhookAttempt): WebhookAttemptsTable => ({
  delivery_id: a.deliveryId,
  attempt: a.attempt,
  at: a.at,
  status: a.status,
  error: a.error,
  duration_ms: Math.max(0, Math.round(a.durationMs)),
  response: a.response,
});

/** Delivery rows per multi-row insert (15 columns each: well under both engines' parameter limits). */
const ROWS_PER_INSERT = 50;

/**
 * Webhook endpoints, deliveries and attempts (migration 0028). The cursor of an endpoint moves in
 * one transaction with the deliveries it queues, under a lease taken by a conditional UPDATE (in
 * PostgreSQL a second instance's UPDATE waits for the first's commit and then finds the lease
 * held), so every audit record is queued once per endpoint. A delivery's claim is one UPDATE over
 * the due rows (FOR UPDATE SKIP LOCKED in PostgreSQL), as the mail outbox's is; every later change
 * names the claim's owner and does nothing once the lease was lost.
 */
export function createSqlWebhookStore({ db, pg, tx }: SqlContext): WebhookStore {
  const leaseFree = (now: number) => sql<boolean>`(lease_until is null or lease_until <= ${now})`;

  /** The seq of the audit trail's last record (0 when empty). */
  const readHead = async () =>
    Number((await db.selectFrom('audit_head').select('seq').where('id', '=', 1).executeTakeFirst())?.seq ?? 0);

  /** Deletes the pending (by created_at) or the finished (by done_at) deliveries before `before`, attempts first. */
  const deleteDeliveries = (which: 'pending' | 'done', column: 'created_at' | 'done_at', before: number) =>
    tx(async (t) => {
      const chosen = t
        .selectFrom('webhook_deliveries')
        .where('status', which === 'pending' ? '=' : '!=', 'pending')
        .where(column, '<', before);
      await t.deleteFrom('webhook_attempts').where('delivery_id', 'in', chosen.select('id')).execute();
      const r = await t
        .deleteFrom('webhook_deliveries')
        .where('status', which === 'pending' ? '=' : '!=', 'pending')
        .where(column, '<', before)
        .executeTakeFirst();
      return count(r);
    });

  /** Leases up to `limit` due deliveries (of one endpoint, when named) to `owner`, oldest due first. */
  async function claimDue(
    q: Kysely<Schema>,
    owner: string,
    now: number,
    limit: number,
    lease: number,
    endpointId?: string,
  ): Promise<Row<WebhookDeliveriesTable>[]> {
    let due = q
      .selectFrom('webhook_deliveries')
      .select('webhook_deliveries.id')
      .innerJoin('webhook_endpoints', 'webhook_endpoints.id', 'webhook_deliveries.endpoint_id')
      .where('webhook_endpoints.enabled', '=', 1)
      .where('webhook_deliveries.status', '=', 'pending')
      .where('webhook_deliveries.next_at', '<=', now)
      .where((eb) =>
        eb.or([eb('webhook_deliveries.lease_until', 'is', null), eb('webhook_deliveries.lease_until', '<=', now)]),
      )
      .orderBy('webhook_deliveries.next_at')
      .orderBy('webhook_deliveries.id')
      .limit(limit);
    if (endpointId !== undefined) due = due.where('webhook_deliveries.endpoint_id', '=', endpointId);
    if (pg) due = due.forUpdate('webhook_deliveries').skipLocked();
    return (
      q
        .updateTable('webhook_deliveries')
        .set({
          lease_owner: owner,
          lease_until: now + lease,
          attempts: sql`attempts + 1`,
          round_attempts: sql`round_attempts + 1`,
        })
        // As in the mail outbox: ARRAY() runs the subquery once in PostgreSQL.
        .where(pg ? sql<boolean>`id = any(array(${due}))` : sql<boolean>`id in (${due})`)
        .where('status', '=', 'pending')
        .where(leaseFree(now))
        .returningAll()
        .execute()
    );
  }

  /** Claimed rows with their endpoints' URLs and secrets, oldest first. */
  async function claimed(rows: Row<WebhookDeliveriesTable>[]): Promise<ClaimedDelivery[]> {
    if (rows.length === 0) return [];
    const endpoints = await db
      .selectFrom('webhook_endpoints')
      .select(['id', 'url', 'secret_wrapped'])
      .where('id', 'in', [...new Set(rows.map((r) => r.endpoint_id))])
      .execute();
    const byId = new Map(endpoints.map((e) => [e.id, e]));
    const out: ClaimedDelivery[] = [];
    for (const r of rows) {
      const e = byId.get(r.endpoint_id);
      if (!e) continue; // deleted meanwhile: its deliveries went with it
      out.push({
        ...toDelivery(r),
        roundAttempts: Number(r.round_attempts),
        url: e.url,
        secretWrapped: e.secret_wrapped,
      });
    }
    return out.sort((a, b) => a.createdAt - b.createdAt || (a.seq ?? 0) - (b.seq ?? 0));
  }

  return {
    async create(e) {
      await db
        .insertInto('webhook_endpoints')
        .values({
          id: e.id,
          url: e.url,
          description: e.description,
          events: json(e.events),
          enabled: bool(e.enabled),
          secret_wrapped: e.secretWrapped,
          created_at: e.createdAt,
          updated_at: e.updatedAt,
          last_seq: e.lastSeq,
          lease_owner: null,
          lease_until: null,
        })
        .execute();
    },
    async get(id) {
      const r = await db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toEndpoint(r) : undefined;
    },
    async list() {
      const rows = await db.selectFrom('webhook_endpoints').selectAll().orderBy('id').execute();
      return rows.map(toEndpoint);
    },
    async update(e) {
      const r = await db
        .updateTable('webhook_endpoints')
        .set({
          url: e.url,
          description: e.description,
          events: json(e.events),
          enabled: bool(e.enabled),
          secret_wrapped: e.secretWrapped,
          updated_at: e.updatedAt,
        })
        .where('id', '=', e.id)
        .executeTakeFirst();
      return count(r) > 0;
    },
    async delete(id) {
      return tx(async (t) => {
        const ofEndpoint = t.selectFrom('webhook_deliveries').select('id').where('endpoint_id', '=', id);
        await t.deleteFrom('webhook_attempts').where('delivery_id', 'in', ofEndpoint).execute();
        await t.deleteFrom('webhook_deliveries').where('endpoint_id', '=', id).execute();
        const r = await t.deleteFrom('webhook_endpoints').where('id', '=', id).executeTakeFirst();
        return count(r) > 0;
      });
    },
    auditHead: readHead,
    async pull(owner, now, o) {
      // Only endpoints with records to read: an idle endpoint costs no write.
      const head = await readHead();
      const candidates = await db
        .selectFrom('webhook_endpoints')
        .select('id')
        .where('enabled', '=', 1)
        .where('last_seq', '<', head)
        .where((eb) => eb.or([leaseFree(now), eb('lease_owner', '=', owner)]))
        .orderBy('id')
        .execute();
      let queued = 0;
      for (const { id } of candidates) {
        queued += await tx(async (t) => {
          // Taking (or renewing) the cursor lease is the first write: in PostgreSQL it holds the row
          // until commit, and RETURNING gives the cursor as the last holder committed it.
          const taken = await t
            .updateTable('webhook_endpoints')
            .set({ lease_owner: owner, lease_until: now + o.lease })
            .where('id', '=', id)
            .where('enabled', '=', 1)
            .where((eb) => eb.or([leaseFree(now), eb('lease_owner', '=', owner)]))
            .returning(['last_seq', 'events'])
            .executeTakeFirst();
          if (!taken) return 0;
          const pending = await t
            .selectFrom('webhook_deliveries')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('endpoint_id', '=', id)
            .where('status', '=', 'pending')
            .executeTakeFirst();
          const room = Math.min(o.batch, o.maxPending - Number(pending?.n ?? 0));
          if (room <= 0) return 0;
          const records = await t
            .selectFrom('audit_events')
            .select(['seq', 'at', 'type', 'actor', 'client_id', 'ip', 'outcome', 'details'])
            .where('seq', '>', Number(taken.last_seq))
            .orderBy('seq')
            .limit(room)
            .execute();
          if (records.length === 0) return 0;
          const events = JSON.parse(taken.events) as string[];
          const rows: WebhookDeliveriesTable[] = [];
          for (const r of records) {
            if (!webhookFilterTakes(events, r.type)) continue;
            const seq = Number(r.seq);
            const { type, payload } = o.message({
              seq,
              at: Number(r.at),
              type: r.type,
              actor: r.actor,
              clientId: r.client_id,
              ip: r.ip,
              outcome: r.outcome,
              details: JSON.parse(r.details) as Record<string, unknown>,
            });
            rows.push({
              id: o.deliveryId(id, seq),
              endpoint_id: id,
              seq,
              type,
              payload,
              status: 'pending',
              attempts: 0,
              round_attempts: 0,
              next_at: now,
              lease_owner: null,
              lease_until: null,
              last_status: null,
              last_error: null,
              created_at: now,
              done_at: null,
            });
          }
          for (let i = 0; i < rows.length; i += ROWS_PER_INSERT)
            await t
              .insertInto('webhook_deliveries')
              .values(rows.slice(i, i + ROWS_PER_INSERT))
              .execute();
          await t
            .updateTable('webhook_endpoints')
            .set({ last_seq: Number(records.at(-1)!.seq) })
            .where('id', '=', id)
            .execute();
          return rows.length;
        });
      }
      return queued;
    },
    async claim(owner, now, limit, lease, perEndpoint) {
      // Nothing due (the usual case): a read, no write statement.
      const any = await db
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('status', '=', 'pending')
        .where('next_at', '<=', now)
        .limit(1)
        .executeTakeFirst();
      if (!any) return [];
      if (perEndpoint === undefined) return claimed(await claimDue(db, owner, now, limit, lease));
      // Fairness: the endpoints with due work, the longest waiting first, each given at most what
      // its in-flight cap leaves (deliveries leased by any process count), so a slow endpoint
      // holds no more than its share of the senders.
      const endpoints = await db
        .selectFrom('webhook_deliveries')
        .innerJoin('webhook_endpoints', 'webhook_endpoints.id', 'webhook_deliveries.endpoint_id')
        .select((eb) => ['webhook_deliveries.endpoint_id', eb.fn.min('webhook_deliveries.next_at').as('first')])
        .where('webhook_endpoints.enabled', '=', 1)
        .where('webhook_deliveries.status', '=', 'pending')
        .where('webhook_deliveries.next_at', '<=', now)
        .where((eb) =>
          eb.or([eb('webhook_deliveries.lease_until', 'is', null), eb('webhook_deliveries.lease_until', '<=', now)]),
        )
        .groupBy('webhook_deliveries.endpoint_id')
        .orderBy('first')
        .orderBy('webhook_deliveries.endpoint_id')
        .limit(limit)
        .execute();
      const rows: Row<WebhookDeliveriesTable>[] = [];
      for (const { endpoint_id: endpointId } of endpoints) {
        if (rows.length >= limit) break;
        const left = limit - rows.length;
        rows.push(
          ...(await tx(async (t) => {
            // The endpoint's row is the lock that makes count-then-claim one step across processes
            // (SQLite's transaction holds the database's write lock already).
            if (pg)
              await t.selectFrom('webhook_endpoints').select('id').where('id', '=', endpointId).forUpdate().execute();
            const busy = await t
              .selectFrom('webhook_deliveries')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .where('endpoint_id', '=', endpointId)
              .where('status', '=', 'pending')
              .where('lease_until', '>', now)
              .executeTakeFirst();
            const room = Math.min(left, perEndpoint - Number(busy?.n ?? 0));
            return room > 0 ? claimDue(t, owner, now, room, lease, endpointId) : [];
          })),
        );
      }
      return claimed(rows);
    },
    async deferEndpoint(endpointId, now, until) {
      const r = await db
        .updateTable('webhook_deliveries')
        .set({ next_at: until })
        .where('endpoint_id', '=', endpointId)
        .where('status', '=', 'pending')
        .where('next_at', '<', until)
        .where(leaseFree(now))
        .executeTakeFirst();
      return count(r);
    },
    async recordAttempt(owner, attempt, outcome) {
      return tx(async (t) => {
        const done = outcome.status !== 'pending';
        const r = await t
          .updateTable('webhook_deliveries')
          .set({
            status: outcome.status,
            next_at: outcome.status === 'pending' ? outcome.nextAt : sql`next_at`,
            lease_owner: null,
            lease_until: null,
            last_status: attempt.status,
            last_error: attempt.error,
            done_at: done ? attempt.at : null,
          })
          .where('id', '=', attempt.deliveryId)
          .where('lease_owner', '=', owner)
          .where('status', '=', 'pending')
          .executeTakeFirst();
        if (count(r) === 0) return false;
        await t.insertInto('webhook_attempts').values(attemptRow(attempt)).execute();
        return true;
      });
    },
    async addAttempted(d, a) {
      await tx(async (t) => {
        await t
          .insertInto('webhook_deliveries')
          .values({
            id: d.id,
            endpoint_id: d.endpointId,
            seq: d.seq,
            type: d.type,
            payload: d.payload,
            status: d.status,
            attempts: d.attempts,
            round_attempts: d.attempts,
            next_at: d.nextAt,
            lease_owner: null,
            lease_until: null,
            last_status: d.lastStatus,
            last_error: d.lastError,
            created_at: d.createdAt,
            done_at: d.doneAt,
          })
          .execute();
        await t.insertInto('webhook_attempts').values(attemptRow(a)).execute();
      });
    },
    async getDelivery(id) {
      const r = await db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toDelivery(r) : undefined;
    },
    async deliveries(q): Promise<Page<WebhookDelivery>> {
      const limit = pageLimit(q.limit);
      let query = db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('endpoint_id', '=', q.endpointId)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit + 1);
      if (q.status) query = query.where('status', '=', q.status);
      const after = q.after === undefined ? undefined : /^(\d{1,15})\.(.+)$/s.exec(q.after);
      if (q.after !== undefined && !after) return { items: [] };
      if (after) {
        const at = Number(after[1]);
        const id = after[2]!;
        query = query.where((eb) =>
          eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', id)])]),
        );
      }
      return pageOf((await query.execute()).map(toDelivery), limit, (d) => `${d.createdAt}.${d.id}`);
    },
    async attempts(deliveryId) {
      const rows = await db
        .selectFrom('webhook_attempts')
        .selectAll()
        .where('delivery_id', '=', deliveryId)
        .orderBy('attempt')
        .execute();
      return rows.map(toAttempt);
    },
    async pendingCount(endpointId) {
      const r = await db
        .selectFrom('webhook_deliveries')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('endpoint_id', '=', endpointId)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return Number(r?.n ?? 0);
    },
    async redeliver(id, now) {
      const r = await db
        .updateTable('webhook_deliveries')
        .set({
          status: 'pending',
          round_attempts: 0,
          next_at: now,
          done_at: null,
          lease_owner: null,
          lease_until: null,
        })
        .where('id', '=', id)
        .where(leaseFree(now))
        .executeTakeFirst();
      return count(r) > 0;
    },
    deletePendingBefore: (before) => deleteDeliveries('pending', 'created_at', before),
    deleteDoneBefore: (before) => deleteDeliveries('done', 'done_at', before),
  };
}
