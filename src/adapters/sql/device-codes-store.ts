import { sql } from 'kysely';
import type { DeviceCodeRecord, DeviceCodeStatus, DeviceCodeStore } from '../../ports/device-codes.ts';
import type { DeviceCodesTable } from './schema.ts';
import { count, json, type Row, type SqlContext } from './statements.ts';

const deviceCodeRow = (d: DeviceCodeRecord): DeviceCodesTable => ({
  device_code_hash: d.deviceCodeHash,
  user_code_hash: d.userCodeHash,
  client_id: d.clientId,
  scope: d.scope,
  resource: d.resource,
  status: d.status,
  poll_interval: d.interval,
  last_polled_at: d.lastPolledAt,
  slowed: 0,
  approval: d.approval && json(d.approval),
  created_at: d.createdAt,
  expires_at: d.expiresAt,
});
const toDeviceCode = (r: Row<DeviceCodesTable>): DeviceCodeRecord => ({
  deviceCodeHash: r.device_code_hash,
  userCodeHash: r.user_code_hash,
  clientId: r.client_id,
  scope: r.scope,
  resource: r.resource,
  status: r.status as DeviceCodeStatus,
  interval: r.poll_interval,
  lastPolledAt: r.last_polled_at,
  approval: r.approval === null ? null : JSON.parse(r.approval),
  createdAt: r.created_at,
  expiresAt: r.expires_at,
});

export function createSqlDeviceCodeStore({ db }: SqlContext): DeviceCodeStore {
  return {
    /** One upsert: a user code held by an expired row is taken over; one held by a live row stores nothing. */
    async create(record, now) {
      const row = deviceCodeRow(record);
      const res = await db
        .insertInto('device_codes')
        .values(row)
        .onConflict((oc) => oc.column('user_code_hash').doUpdateSet(row).where('device_codes.expires_at', '<=', now))
        .executeTakeFirst();
      return count(res) === 1;
    },
    async findPendingByUserCode(userCodeHash, now) {
      const row = await db
        .selectFrom('device_codes')
        .selectAll()
        .where('user_code_hash', '=', userCodeHash)
        .where('status', '=', 'pending')
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return row && toDeviceCode(row);
    },
    async get(deviceCodeHash) {
      const row = await db
        .selectFrom('device_codes')
        .selectAll()
        .where('device_code_hash', '=', deviceCodeHash)
        .executeTakeFirst();
      return row && toDeviceCode(row);
    },
    /** Conditional UPDATEs decide: only a live pending row changes, once (see codes.consume). */
    async approve(deviceCodeHash, approval, now) {
      return (
        count(
          await db
            .updateTable('device_codes')
            .set({ status: 'approved', approval: json(approval) })
            .where('device_code_hash', '=', deviceCodeHash)
            .where('status', '=', 'pending')
            .where('expires_at', '>', now)
            .executeTakeFirst(),
        ) === 1
      );
    },
    async deny(deviceCodeHash, now) {
      return (
        count(
          await db
            .updateTable('device_codes')
            .set({ status: 'denied' })
            .where('device_code_hash', '=', deviceCodeHash)
            .where('status', '=', 'pending')
            .where('expires_at', '>', now)
            .executeTakeFirst(),
        ) === 1
      );
    },
    /**
     * One UPDATE: every SET expression reads the row as it was before this statement, so the
     * interval check, the raise and the new poll time are one atomic step; concurrent polls
     * queue on the row (PostgreSQL) or run one after another (SQLite).
     */
    async poll(deviceCodeHash, clientId, now) {
      const early = sql<boolean>`last_polled_at is not null and last_polled_at + poll_interval > ${now}`;
      const row = await db
        .updateTable('device_codes')
        .set({
          poll_interval: sql<number>`case when ${early} then poll_interval + 5 else poll_interval end`,
          slowed: sql<number>`case when ${early} then 1 else 0 end`,
          last_polled_at: now,
        })
        .where('device_code_hash', '=', deviceCodeHash)
        .where('client_id', '=', clientId)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst();
      return row && { record: toDeviceCode(row), slowDown: row.slowed === 1 };
    },
    async consume(deviceCodeHash, clientId, _now) {
      const row = await db
        .updateTable('device_codes')
        .set({ status: 'consumed' })
        .where('device_code_hash', '=', deviceCodeHash)
        .where('client_id', '=', clientId)
        .where('status', '=', 'approved')
        .returningAll()
        .executeTakeFirst();
      return row && toDeviceCode(row);
    },
  };
}
