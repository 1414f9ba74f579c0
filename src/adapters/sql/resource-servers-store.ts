import type { ResourceServerRecord, ResourceServerStore } from '../../ports/resource-servers.ts';
import type { ResourceServersTable } from './schema.ts';
import { count, json, type Row, type SqlContext } from './statements.ts';

const resourceServerRow = (r: ResourceServerRecord): ResourceServersTable => ({
  identifier: r.identifier,
  display_name: r.displayName,
  scopes: json(r.scopes),
  access_token_ttl: r.accessTokenTtl,
  signing_alg: r.signingAlg,
  dpop: r.dpop,
  created_at: r.createdAt,
  updated_at: r.updatedAt,
});
const toResourceServer = (r: Row<ResourceServersTable>): ResourceServerRecord => ({
  identifier: r.identifier,
  displayName: r.display_name,
  scopes: JSON.parse(r.scopes),
  accessTokenTtl: r.access_token_ttl === null ? null : Number(r.access_token_ttl),
  signingAlg: r.signing_alg,
  dpop: r.dpop === 'required' ? 'required' : 'optional',
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

export function createSqlResourceServerStore({ db, tx }: SqlContext): ResourceServerStore {
  return {
    async get(identifier) {
      const r = await db
        .selectFrom('resource_servers')
        .selectAll()
        .where('identifier', '=', identifier)
        .executeTakeFirst();
      return r && toResourceServer(r);
    },
    async list() {
      return (await db.selectFrom('resource_servers').selectAll().orderBy('identifier').execute()).map(
        toResourceServer,
      );
    },
    /** One upsert: the creation time of an existing row is kept. */
    async put(record) {
      const { identifier: _id, created_at: _c, ...rest } = resourceServerRow(record);
      await db
        .insertInto('resource_servers')
        .values(resourceServerRow(record))
        .onConflict((oc) => oc.column('identifier').doUpdateSet(rest))
        .execute();
    },
    /** With what the directory says of it as an application (roles, claim mappings), in one transaction. */
    delete: (identifier) =>
      tx(async (t) => {
        if (count(await t.deleteFrom('resource_servers').where('identifier', '=', identifier).executeTakeFirst()) !== 1)
          return false;
        for (const table of ['directory_app_roles', 'claim_mappings'] as const)
          await t.deleteFrom(table).where('app_type', '=', 'resource').where('application', '=', identifier).execute();
        return true;
      }),
  };
}
