import type { ClientRecord, ClientStore } from '../../ports/clients.ts';
import type { ClientsTable } from './schema.ts';
import { bool, count, json, revokeGrant, type Row, type SqlContext } from './statements.ts';

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
});

export function createSqlClientStore({ db, tx, lookup }: SqlContext): ClientStore {
  const clientById = lookup((k) => k.selectFrom('clients').selectAll().where('client_id', '=', ''));
  return {
    async get(clientId) {
      const row = await clientById(clientId);
      return row && toClient(row);
    },
    async list() {
      return (await db.selectFrom('clients').selectAll().orderBy('client_id').execute()).map(toClient);
    },
    async put(client) {
      const row = clientRow(client);
      const { client_id: _, ...rest } = row;
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
    delete: (clientId) =>
      tx(async (t) => {
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
        return count(await t.deleteFrom('clients').where('client_id', '=', clientId).executeTakeFirst()) > 0;
      }),
  };
}
