import type { ClientRecord, ClientStore } from '../../ports/clients.ts';
import type { Transaction } from 'kysely';
import type { ClientsTable, Schema } from './schema.ts';
import {
  bool,
  contains,
  count,
  json,
  pageLimit,
  pageOf,
  revokeGrant,
  type Row,
  type SqlContext,
} from './statements.ts';

const clientRow = (c: ClientRecord): ClientsTable => ({
  client_id: c.clientId,
  client_name: c.clientName,
  secret_hash: c.secretHash,
  token_endpoint_auth_method: c.tokenEndpointAuthMethod,
  application_type: c.applicationType,
  redirect_uris: json(c.redirectUris),
  post_logout_redirect_uris: json(c.postLogoutRedirectUris),
  grant_types: json(c.grantTypes),
  scopes: json(c.scopes),
  allowed_resources: json(c.allowedResources),
  skip_consent: bool(c.skipConsent),
  disabled: bool(c.disabled),
  metadata: json(c.metadata),
  created_at: c.createdAt,
  updated_at: c.updatedAt,
  first_used_at: c.firstUsedAt ?? null,
});
const toClient = (r: Row<ClientsTable>): ClientRecord => ({
  clientId: r.client_id,
  clientName: r.client_name,
  secretHash: r.secret_hash,
  tokenEndpointAuthMethod: r.token_endpoint_auth_method as ClientRecord['tokenEndpointAuthMethod'],
  applicationType: r.application_type as ClientRecord['applicationType'],
  redirectUris: JSON.parse(r.redirect_uris),
  postLogoutRedirectUris: JSON.parse(r.post_logout_redirect_uris),
  grantTypes: JSON.parse(r.grant_types),
  scopes: JSON.parse(r.scopes),
  allowedResources: JSON.parse(r.allowed_resources),
  skipConsent: r.skip_consent === 1,
  disabled: r.disabled === 1,
  metadata: JSON.parse(r.metadata),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  ...(r.first_used_at !== null ? { firstUsedAt: r.first_used_at } : {}),
});

export function createSqlClientStore({ db, pg, tx, lookup }: SqlContext): ClientStore {
  const clientById = lookup((k) => k.selectFrom('clients').selectAll().where('client_id', '=', ''));
  return {
    /** By client_id (the primary key); the search scans client_id and client_name. */
    async page({ after, limit, search }) {
      const n = pageLimit(limit);
      const rows = await db
        .selectFrom('clients')
        .selectAll()
        .$if(after !== undefined, (b) => b.where('client_id', '>', after!))
        .$if(Boolean(search), (b) =>
          b.where((eb) => eb.or([contains(pg, 'client_id', search!), contains(pg, 'client_name', search!)])),
        )
        .orderBy('client_id')
        .limit(n + 1)
        .execute();
      return pageOf(rows.map(toClient), n, (c) => c.clientId);
    },
    async get(clientId) {
      // No client id holds a NUL character (PostgreSQL's text cannot store one), so none is asked
      // for: an id from Basic credentials or a client assertion is not a parameter readParams saw.
      if (clientId.includes('\u0000')) return undefined;
      const row = await clientById(clientId);
      return row && toClient(row);
    },
    async list() {
      return (await db.selectFrom('clients').selectAll().orderBy('client_id').execute()).map(toClient);
    },
    async put(client) {
      const row = clientRow(client);
      // The first use is markUsed's: a record read before it was marked does not clear it.
      const { client_id: _, first_used_at: __, ...rest } = row;
      await db
        .insertInto('clients')
        .values(row)
        .onConflict((oc) => oc.column('client_id').doUpdateSet(rest))
        .execute();
    },
    async replaceSecretHash(clientId, from, to) {
      return (
        count(
          await db
            .updateTable('clients')
            .set({ secret_hash: to })
            .where('client_id', '=', clientId)
            .where('secret_hash', '=', from)
            .executeTakeFirst(),
        ) > 0
      );
    },
    /** Deleting a client also revokes everything it was granted and forgets its consents. */
    delete: (clientId) => tx((t) => deleteClient(t, clientId)),
    async markUsed(clientId, at) {
      return (
        count(
          await db
            .updateTable('clients')
            .set({ first_used_at: at })
            .where('client_id', '=', clientId)
            .where('first_used_at', 'is', null)
            .executeTakeFirst(),
        ) > 0
      );
    },
    async deleteUnusedRegistrations(changedBefore, limit) {
      // The partial index of migration 0019 holds exactly the unused clients; of those, the ones whose
      // metadata has the registration member (JSON text, checked again below once parsed).
      const rows = await db
        .selectFrom('clients')
        .select(['client_id', 'metadata'])
        .where('first_used_at', 'is', null)
        .where('updated_at', '<=', changedBefore)
        .where('metadata', 'like', '%"registration":{%')
        .orderBy('updated_at')
        .orderBy('client_id')
        .limit(limit)
        .execute();
      const deleted: string[] = [];
      for (const row of rows) {
        // Operator-made clients are never deleted for being unused.
        if ((JSON.parse(row.metadata) as ClientRecord['metadata']).registration === undefined) continue;
        const gone = await tx((t) => deleteClient(t, row.client_id, changedBefore));
        if (gone) deleted.push(row.client_id);
      }
      return deleted;
    },
  };
}

/**
 * Deletes a client in `t`, revoking its grants (and so their tokens) and forgetting its consents.
 * `unusedSince`: only if it is still unused and unchanged since then; the client row goes first, in
 * one conditional statement, so a token issued meanwhile (markUsed) keeps it.
 */
async function deleteClient(t: Transaction<Schema>, clientId: string, unusedSince?: number): Promise<boolean> {
  let query = t.deleteFrom('clients').where('client_id', '=', clientId);
  if (unusedSince !== undefined)
    query = query.where('first_used_at', 'is', null).where('updated_at', '<=', unusedSince);
  if (count(await query.executeTakeFirst()) === 0) return false;
  const grants = await t
    .selectFrom('grants')
    .select('id')
    .where('client_id', '=', clientId)
    .where('revoked_at', 'is', null)
    .orderBy('id')
    .execute();
  const now = Math.floor(Date.now() / 1000);
  for (const { id } of grants) await revokeGrant(t, id, now);
  await t.deleteFrom('consents').where('client_id', '=', clientId).execute();
  // What the directory says of the client as an application (its roles, its claim mappings): a client
  // made later with the same id starts without them.
  await t
    .deleteFrom('directory_app_roles')
    .where('app_type', '=', 'client')
    .where('application', '=', clientId)
    .execute();
  await t.deleteFrom('claim_mappings').where('app_type', '=', 'client').where('application', '=', clientId).execute();
  return true;
}
