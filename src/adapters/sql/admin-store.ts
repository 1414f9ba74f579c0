import {
  ADMIN_ROLES,
  type AdminRole,
  type AdminRoleAssignment,
  type AdminRoleStore,
  type StatsStore,
} from '../../ports/admin.ts';
import type { AdminRolesTable } from './schema.ts';
import { count, type Row, type SqlContext } from './statements.ts';

const toAssignment = (r: Row<AdminRolesTable>): AdminRoleAssignment => ({
  userId: r.user_id,
  role: r.role as AdminRole,
  grantedAt: Number(r.granted_at),
  grantedBy: r.granted_by,
});

/** The admin roles of users (migration 0026): one row per user who has one. */
export function createSqlAdminRoleStore({ db, lookup }: SqlContext): AdminRoleStore {
  // Compiled once: read at every authorization (whether the user must show a second factor).
  const roleOf = lookup((k) => k.selectFrom('admin_roles').selectAll().where('user_id', '=', ''));
  return {
    async get(userId) {
      const row = await roleOf(userId);
      return row && toAssignment(row);
    },
    /** One upsert: a user's role is replaced whole (who gave it and when, too). */
    async set(a) {
      if (!(ADMIN_ROLES as readonly string[]).includes(a.role)) throw new Error(`unknown admin role: ${a.role}`);
      const row = { user_id: a.userId, role: a.role, granted_at: a.grantedAt, granted_by: a.grantedBy };
      await db
        .insertInto('admin_roles')
        .values(row)
        .onConflict((oc) =>
          oc.column('user_id').doUpdateSet({ role: a.role, granted_at: a.grantedAt, granted_by: a.grantedBy }),
        )
        .execute();
    },
    async remove(userId) {
      return count(await db.deleteFrom('admin_roles').where('user_id', '=', userId).executeTakeFirst()) > 0;
    },
    /** By user id. */
    async list() {
      return (await db.selectFrom('admin_roles').selectAll().orderBy('user_id').execute()).map(toAssignment);
    },
    async count(role) {
      const row = await db
        .selectFrom('admin_roles')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('role', '=', role)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}

/** Per-minute figures (migration 0026): one row per minute and name, added to by every instance. */
export function createSqlStatsStore({ db }: SqlContext): StatsStore {
  return {
    /**
     * One multi-row upsert that adds each value to its row (inserted at the value when new), so
     * instances adding at once never lose a count. Names in one order, so that concurrent adds
     * take their PostgreSQL row locks in the same order (no deadlock). Values must be integers;
     * zeros are left out.
     */
    async add(minute, values) {
      if (!Number.isSafeInteger(minute) || minute % 60 !== 0) throw new Error('stats minute must be a multiple of 60');
      const rows = Object.keys(values)
        .sort()
        .filter((name) => values[name] !== 0)
        .map((name) => {
          const value = values[name]!;
          if (!Number.isSafeInteger(value)) throw new Error(`stats value of ${name} must be an integer`);
          return { minute, name, value };
        });
      if (!rows.length) return;
      await db
        .insertInto('stats_minutes')
        .values(rows)
        .onConflict((oc) =>
          oc.columns(['minute', 'name']).doUpdateSet((eb) => ({
            value: eb('stats_minutes.value', '+', eb.ref('excluded.value')),
          })),
        )
        .execute();
    },
    async range(from, to) {
      const rows = await db
        .selectFrom('stats_minutes')
        .selectAll()
        .where('minute', '>=', from)
        .where('minute', '<', to)
        .orderBy('minute')
        .orderBy('name')
        .execute();
      const out: { minute: number; values: Record<string, number> }[] = [];
      for (const r of rows) {
        const minute = Number(r.minute);
        let last = out.at(-1);
        if (last?.minute !== minute) out.push((last = { minute, values: {} }));
        last.values[r.name] = Number(r.value);
      }
      return out;
    },
    async deleteBefore(minute) {
      return count(await db.deleteFrom('stats_minutes').where('minute', '<', minute).executeTakeFirst());
    },
  };
}
