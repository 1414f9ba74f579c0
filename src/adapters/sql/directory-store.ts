// The directory of users (ports/directory.ts, migration 0027): groups and members, application
// roles, typed attributes and claim mappings.
import type {
  AppRoleAssignment,
  ApplicationRef,
  ApplicationType,
  AttributeValue,
  ClaimMappingRecord,
  ClaimTarget,
  DirectoryFacts,
  DirectoryStore,
  GroupRecord,
  UserAttribute,
  ValueType,
} from '../../ports/directory.ts';
import { applicationKey, roleKey } from '../../ports/directory.ts';
import type { ClaimMappingsTable, DirectoryAppRolesTable, DirectoryGroupsTable } from './schema.ts';
import { contains, count, json, pageLimit, pageOf, type Row, type SqlContext } from './statements.ts';

const toGroup = (r: Row<DirectoryGroupsTable>): GroupRecord => ({
  id: r.id,
  name: r.name,
  description: r.description,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});
const appType = (t: string): ApplicationType => (t === 'resource' ? 'resource' : 'client');
const toRole = (r: Row<DirectoryAppRolesTable>): AppRoleAssignment => ({
  userId: r.user_id,
  application: { type: appType(r.app_type), id: r.application },
  role: r.role,
  grantedAt: Number(r.granted_at),
});
const mappingRow = (m: ClaimMappingRecord): ClaimMappingsTable => ({
  id: m.id,
  app_type: m.application.type,
  application: m.application.id,
  claim: m.claim,
  source: m.source,
  attribute: m.attribute,
  type: m.type,
  scope: m.scope,
  targets: json(m.targets),
  created_at: m.createdAt,
  updated_at: m.updatedAt,
});
const toMapping = (r: Row<ClaimMappingsTable>): ClaimMappingRecord => ({
  id: r.id,
  application: { type: appType(r.app_type), id: r.application },
  claim: r.claim,
  source: r.source as ClaimMappingRecord['source'],
  attribute: r.attribute,
  type: r.type as ValueType,
  scope: r.scope,
  targets: JSON.parse(r.targets) as ClaimTarget[],
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

/** Whether a statement changed exactly one row (inserted where absent, updated, deleted). */
const one = async (q: { executeTakeFirst(): Promise<Parameters<typeof count>[0]> }) =>
  count(await q.executeTakeFirst()) === 1;

export function createSqlDirectoryStore({ db, pg }: SqlContext): DirectoryStore {
  const like = (column: string, text: string) => contains(pg, column, text);
  return {
    async getGroup(id) {
      const r = await db.selectFrom('directory_groups').selectAll().where('id', '=', id).executeTakeFirst();
      return r && toGroup(r);
    },
    async findGroupByName(name) {
      const r = await db
        .selectFrom('directory_groups')
        .selectAll()
        .where('name_key', '=', name.toLowerCase())
        .executeTakeFirst();
      return r && toGroup(r);
    },
    async pageGroups({ after, limit, search }) {
      limit = pageLimit(limit);
      let q = db
        .selectFrom('directory_groups')
        .selectAll()
        .orderBy('name_key')
        .limit(limit + 1);
      if (after !== undefined) q = q.where('name_key', '>', after.toLowerCase());
      if (search) q = q.where((eb) => eb.or([like('name', search), like('description', search)]));
      return pageOf((await q.execute()).map(toGroup), limit, (g) => g.name.toLowerCase());
    },
    async createGroup(g) {
      return one(
        db
          .insertInto('directory_groups')
          .values({
            id: g.id,
            name: g.name,
            name_key: g.name.toLowerCase(),
            description: g.description,
            created_at: g.createdAt,
            updated_at: g.updatedAt,
          })
          .onConflict((oc) => oc.doNothing()),
      );
    },
    async updateGroup(g) {
      const key = g.name.toLowerCase();
      const r = await db
        .updateTable('directory_groups')
        .set({ name: g.name, name_key: key, description: g.description, updated_at: g.updatedAt })
        .where('id', '=', g.id)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('directory_groups as other')
                .select('other.id')
                .where('other.name_key', '=', key)
                .where('other.id', '!=', g.id),
            ),
          ),
        )
        .executeTakeFirst();
      if (count(r) === 1) return 'updated';
      return (await this.getGroup(g.id)) ? 'name_taken' : 'missing';
    },
    async deleteGroup(id) {
      // Members first: a membership never outlives its group, whichever statement a crash stops at.
      await db.deleteFrom('directory_members').where('group_id', '=', id).execute();
      return one(db.deleteFrom('directory_groups').where('id', '=', id));
    },
    async addMember(groupId, userId, at) {
      return one(
        db
          .insertInto('directory_members')
          .values({ group_id: groupId, user_id: userId, added_at: at })
          .onConflict((oc) => oc.doNothing()),
      );
    },
    async removeMember(groupId, userId) {
      return one(db.deleteFrom('directory_members').where('group_id', '=', groupId).where('user_id', '=', userId));
    },
    async members(groupId, { after, limit }) {
      limit = pageLimit(limit);
      let q = db
        .selectFrom('directory_members')
        .select('user_id')
        .where('group_id', '=', groupId)
        .orderBy('user_id')
        .limit(limit + 1);
      if (after !== undefined) q = q.where('user_id', '>', after);
      return pageOf(
        (await q.execute()).map((r) => r.user_id),
        limit,
        (id) => id,
      );
    },
    async groupsOfUser(userId) {
      const rows = await db
        .selectFrom('directory_members as m')
        .innerJoin('directory_groups as g', 'g.id', 'm.group_id')
        .selectAll('g')
        .where('m.user_id', '=', userId)
        .orderBy('g.name_key')
        .execute();
      return rows.map(toGroup);
    },

    async assignRole(a) {
      return one(
        db
          .insertInto('directory_app_roles')
          .values({
            user_id: a.userId,
            app_type: a.application.type,
            application: a.application.id,
            role: a.role,
            granted_at: a.grantedAt,
          })
          .onConflict((oc) => oc.doNothing()),
      );
    },
    async removeRole(userId, application, role) {
      return one(
        db
          .deleteFrom('directory_app_roles')
          .where('user_id', '=', userId)
          .where('app_type', '=', application.type)
          .where('application', '=', application.id)
          .where('role', '=', role),
      );
    },
    async rolesOfUser(userId, application) {
      let q = db
        .selectFrom('directory_app_roles')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('app_type')
        .orderBy('application')
        .orderBy('role');
      if (application) q = q.where('app_type', '=', application.type).where('application', '=', application.id);
      return (await q.execute()).map(toRole);
    },
    async pageRoles(application, { after, limit, search }) {
      limit = pageLimit(limit);
      let q = db
        .selectFrom('directory_app_roles')
        .selectAll()
        .where('app_type', '=', application.type)
        .where('application', '=', application.id)
        .orderBy('role')
        .orderBy('user_id')
        .limit(limit + 1);
      if (after !== undefined) {
        const [role = '', userId = ''] = after.split('\n');
        q = q.where((eb) =>
          eb.or([eb('role', '>', role), eb.and([eb('role', '=', role), eb('user_id', '>', userId)])]),
        );
      }
      if (search) q = q.where(like('role', search));
      return pageOf((await q.execute()).map(toRole), limit, roleKey);
    },

    async setAttribute(a) {
      const row = { user_id: a.userId, name: a.name, type: a.type, value: json(a.value), updated_at: a.updatedAt };
      await db
        .insertInto('directory_attributes')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['user_id', 'name']).doUpdateSet({ type: row.type, value: row.value, updated_at: row.updated_at }),
        )
        .execute();
    },
    async removeAttribute(userId, name) {
      return one(db.deleteFrom('directory_attributes').where('user_id', '=', userId).where('name', '=', name));
    },
    async attributesOf(userId) {
      const rows = await db
        .selectFrom('directory_attributes')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('name')
        .execute();
      return rows.map(
        (r): UserAttribute => ({
          userId: r.user_id,
          name: r.name,
          type: r.type as ValueType,
          value: JSON.parse(r.value) as AttributeValue,
          updatedAt: Number(r.updated_at),
        }),
      );
    },

    async listMappings() {
      const rows = await db
        .selectFrom('claim_mappings')
        .selectAll()
        .orderBy('app_type')
        .orderBy('application')
        .orderBy('claim')
        .execute();
      return rows.map(toMapping);
    },
    async getMapping(id) {
      const r = await db.selectFrom('claim_mappings').selectAll().where('id', '=', id).executeTakeFirst();
      return r && toMapping(r);
    },
    async createMapping(m) {
      return one(
        db
          .insertInto('claim_mappings')
          .values(mappingRow(m))
          .onConflict((oc) => oc.doNothing()),
      );
    },
    async updateMapping(m) {
      const { id, created_at: _c, ...rest } = mappingRow(m);
      const r = await db
        .updateTable('claim_mappings')
        .set(rest)
        .where('id', '=', id)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('claim_mappings as other')
                .select('other.id')
                .where('other.app_type', '=', rest.app_type)
                .where('other.application', '=', rest.application)
                .where('other.claim', '=', rest.claim)
                .where('other.id', '!=', id),
            ),
          ),
        )
        .executeTakeFirst();
      if (count(r) === 1) return 'updated';
      return (await this.getMapping(id)) ? 'claim_taken' : 'missing';
    },
    async deleteMapping(id) {
      return one(db.deleteFrom('claim_mappings').where('id', '=', id));
    },

    async facts(userId, need) {
      const facts: DirectoryFacts = { groups: [], roles: new Map(), attributes: new Map() };
      const [groups, roles, attributes] = await Promise.all([
        need.groups
          ? db
              .selectFrom('directory_members as m')
              .innerJoin('directory_groups as g', 'g.id', 'm.group_id')
              .select('g.name')
              .where('m.user_id', '=', userId)
              .execute()
          : [],
        need.roles.length
          ? db
              .selectFrom('directory_app_roles')
              .select(['app_type', 'application', 'role'])
              .where('user_id', '=', userId)
              .where((eb) =>
                eb.or(need.roles.map((a) => eb.and([eb('app_type', '=', a.type), eb('application', '=', a.id)]))),
              )
              .execute()
          : [],
        need.attributes.length
          ? db
              .selectFrom('directory_attributes')
              .select(['name', 'type', 'value'])
              .where('user_id', '=', userId)
              .where('name', 'in', need.attributes)
              .execute()
          : [],
      ]);
      // Sorted here, by code unit: the same order on every database whatever its collation.
      facts.groups = groups.map((g) => g.name).sort();
      for (const r of roles) {
        const key = applicationKey({ type: appType(r.app_type), id: r.application } satisfies ApplicationRef);
        const list = facts.roles.get(key);
        if (list) list.push(r.role);
        else facts.roles.set(key, [r.role]);
      }
      for (const a of attributes)
        facts.attributes.set(a.name, { type: a.type as ValueType, value: JSON.parse(a.value) as AttributeValue });
      for (const list of facts.roles.values()) list.sort();
      return facts;
    },
  };
}
