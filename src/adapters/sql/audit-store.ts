import { sql, type CompiledQuery, type Transaction } from 'kysely';
import type { AuditEvent, AuditRecord, AuditStore, AuditVerifyResult } from '../../ports/audit.ts';
import { canonicalDetails, chainHash, normalizeEvent } from './audit-chain.ts';
import type { AuditEventsTable, Schema } from './schema.ts';
import { count, json, type Row, type SqlContext } from './statements.ts';

/** An audit row; append() passes the values in this column order. */
const auditRow = (seq: number, prevHash: string, hash: string, e: AuditEvent): AuditEventsTable => ({
  seq,
  at: e.at,
  type: e.type,
  actor: e.actor,
  client_id: e.clientId,
  ip: e.ip,
  outcome: e.outcome,
  details: json(e.details),
  prev_hash: prevHash,
  hash,
});
const toAudit = (r: Row<AuditEventsTable>): AuditRecord => ({
  seq: Number(r.seq),
  at: Number(r.at),
  type: r.type,
  actor: r.actor,
  clientId: r.client_id,
  ip: r.ip,
  outcome: r.outcome as AuditRecord['outcome'],
  details: JSON.parse(r.details),
  prevHash: r.prev_hash,
  hash: r.hash,
});

/** The columns of audit_events in auditRow's order. */
const AUDIT_COLUMNS = Object.keys(
  auditRow(0, '', '', { at: 0, type: '', actor: null, clientId: null, ip: null, outcome: 'success', details: {} }),
) as (keyof AuditEventsTable)[];

/** SQLite: rows per multi-row insert of the audit trail (times its 10 columns: well under the parameter limit). */
const AUDIT_ROWS_PER_INSERT = 50;

export function createSqlAuditStore({ handle, db, pg, tx, statementBySize }: SqlContext): AuditStore {
  const auditTemplate = auditRow(0, '', '', {
    at: 0,
    type: '',
    actor: null,
    clientId: null,
    ip: null,
    outcome: 'success',
    details: {},
  });
  const insertAuditRows = statementBySize((k, n) =>
    k.insertInto('audit_events').values(Array.from({ length: n }, () => auditTemplate)),
  );
  // PostgreSQL: the rows of a batch as one array parameter per column (unnest), inserted by a
  // data-modifying WITH of the statement that moves the head: one statement of one text whatever the
  // batch's size (a named prepared statement, parsed and planned once per connection) instead of an
  // insert per 50 rows and an update; the transaction's round trips: begin, the head, this, commit.
  let appendCompiled: CompiledQuery | undefined;
  const appendPg = (t: Transaction<Schema>, parameters: unknown[]) => {
    if (!appendCompiled) {
      appendCompiled = db
        .with('rows', (w) =>
          w
            .insertInto('audit_events')
            .columns(AUDIT_COLUMNS)
            .expression(
              sql`select * from unnest(${sql.join(
                AUDIT_COLUMNS.map(
                  (c) => sql`${sql.val([])}::${sql.raw(c === 'seq' || c === 'at' ? 'bigint' : 'text')}[]`,
                ),
              )})`,
            ),
        )
        .updateTable('audit_head')
        .set({ seq: 0, hash: '' })
        .where('id', '=', 1)
        .compile();
      handle.prepare?.(appendCompiled.sql);
    }
    return t.executeQuery({ ...appendCompiled, parameters });
  };
  return {
    /**
     * One transaction holds the chain head (row lock in PostgreSQL; BEGIN IMMEDIATE in SQLite)
     * while it numbers and hashes the batch, inserts it and moves the head: concurrent appenders
     * in any number of processes queue on the head and extend one chain.
     */
    append: async (events) => {
      if (!events.length) return;
      await tx(async (t) => {
        const head = await t
          .selectFrom('audit_head')
          .select(['seq', 'hash'])
          .where('id', '=', 1)
          .$if(pg, (q) => q.forUpdate())
          .executeTakeFirstOrThrow();
        let seq = Number(head.seq);
        let prev = head.hash;
        // Each row's values in auditRow's column order.
        const rows: unknown[][] = [];
        for (const raw of events) {
          const e = normalizeEvent(raw);
          // Stored as hashed: the details' canonical JSON (keys sorted), serialised once.
          const details = canonicalDetails(e.details);
          const hash = chainHash(prev, ++seq, e, details);
          rows.push([seq, e.at, e.type, e.actor, e.clientId, e.ip, e.outcome, details, prev, hash]);
          prev = hash;
        }
        if (pg) {
          // One statement: the rows as one array per column, and the head moved.
          await appendPg(t, [...AUDIT_COLUMNS.map((_, c) => rows.map((r) => r[c])), seq, prev, 1]);
          return;
        }
        // SQLite: multi-row inserts of up to 50 rows (few statements), each shape compiled once.
        for (let i = 0; i < rows.length; i += AUDIT_ROWS_PER_INSERT) {
          const chunk = rows.slice(i, i + AUDIT_ROWS_PER_INSERT);
          await insertAuditRows(t, chunk.flat(), chunk.length);
        }
        await t.updateTable('audit_head').set({ seq, hash: prev }).where('id', '=', 1).execute();
      });
    },
    /**
     * In seq order, oldest first, or newest first with `descending`; with a limit, the latest
     * records of the selection either way. `userId` matches the actor (index audit_events_actor)
     * or a top-level `user` / `user_id` detail: its exact text in the canonical details JSON
     * (`"user":"<id>"`; a quote inside a string value is escaped there, so no value can fake it).
     */
    async query(q) {
      const latest = q.limit !== undefined || q.descending === true;
      const detail = (key: string) => `${JSON.stringify(key)}:${JSON.stringify(q.userId)}`;
      const holds = (text: string) =>
        pg ? sql<boolean>`strpos(details, ${text}) > 0` : sql<boolean>`instr(details, ${text}) > 0`;
      const rows = await db
        .selectFrom('audit_events')
        .selectAll()
        .$if(q.from !== undefined, (b) => b.where('at', '>=', q.from!))
        .$if(q.to !== undefined, (b) => b.where('at', '<', q.to!))
        .$if(q.type !== undefined, (b) => b.where('type', '=', q.type!))
        .$if(q.actor !== undefined, (b) => b.where('actor', '=', q.actor!))
        .$if(q.types !== undefined, (b) =>
          q.types!.length ? b.where('type', 'in', [...q.types!]) : b.where(sql<boolean>`1 = 0`),
        )
        .$if(q.clientId !== undefined, (b) => b.where('client_id', '=', q.clientId!))
        .$if(q.userId !== undefined, (b) =>
          b.where((eb) => eb.or([eb('actor', '=', q.userId!), holds(detail('user')), holds(detail('user_id'))])),
        )
        .$if(q.outcome !== undefined, (b) => b.where('outcome', '=', q.outcome!))
        .$if(q.beforeSeq !== undefined, (b) => b.where('seq', '<', q.beforeSeq!))
        .orderBy('seq', latest ? 'desc' : 'asc')
        .$if(q.limit !== undefined, (b) => b.limit(q.limit!))
        .execute();
      if (latest && !q.descending) rows.reverse();
      return rows.map(toAudit);
    },
    /**
     * Reads the head first and checks the records up to it only, so appends committed meanwhile
     * do not count. Detects changed records (hash), removed or reordered ones (links and gaps),
     * and a removed tail (the head). The first remaining record's prevHash is taken on trust:
     * retention removes the records before it.
     */
    async verify(): Promise<AuditVerifyResult> {
      const head = await db
        .selectFrom('audit_head')
        .select(['seq', 'hash'])
        .where('id', '=', 1)
        .executeTakeFirstOrThrow();
      const headSeq = Number(head.seq);
      let last: AuditRecord | undefined;
      let checked = 0;
      const broken = (firstBroken: number, reason: string): AuditVerifyResult => ({
        ok: false,
        checked,
        firstBroken,
        reason,
      });
      for (;;) {
        const page = (
          await db
            .selectFrom('audit_events')
            .selectAll()
            .where('seq', '>', last?.seq ?? 0)
            .where('seq', '<=', headSeq)
            .orderBy('seq')
            .limit(1000)
            .execute()
        ).map(toAudit);
        for (const r of page) {
          if (last && r.seq !== last.seq + 1) return broken(last.seq + 1, `record ${last.seq + 1} is missing`);
          if (last && r.prevHash !== last.hash) {
            return broken(r.seq, 'prev_hash does not match the hash of the record before it');
          }
          if (chainHash(r.prevHash, r.seq, r) !== r.hash) {
            return broken(r.seq, "hash does not match the record's contents");
          }
          last = r;
          checked++;
        }
        if (page.length < 1000) break;
      }
      if (last && last.seq !== headSeq) {
        return broken(last.seq + 1, `records ${last.seq + 1} to ${headSeq} are missing`);
      }
      if (last && last.hash !== head.hash) return broken(last.seq, 'hash does not match the chain head');
      return { ok: true, checked };
    },
    /**
     * Removes a prefix of the chain: every record before the first one at or after `at`. (Events
     * from several processes are not appended in strict time order; deleting by time alone
     * could leave holes that verify() would report.)
     */
    async deleteBefore(at) {
      const keep = await db
        .selectFrom('audit_events')
        .select((eb) => eb.fn.min('seq').as('seq'))
        .where('at', '>=', at)
        .executeTakeFirst();
      const res =
        keep?.seq !== null && keep?.seq !== undefined
          ? await db.deleteFrom('audit_events').where('seq', '<', Number(keep.seq)).executeTakeFirst()
          : await db.deleteFrom('audit_events').where('at', '<', at).executeTakeFirst();
      return count(res);
    },
  };
}
