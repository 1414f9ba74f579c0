import type { InteractionRecord, InteractionStore } from '../../ports/interactions.ts';
import type { InteractionsTable } from './schema.ts';
import { json, type Row, type SqlContext } from './statements.ts';

const interactionRow = (i: InteractionRecord): InteractionsTable => ({
  uid: i.uid,
  client_id: i.clientId,
  params: json(i.params),
  browser_hash: i.browserHash,
  session_id_hash: i.sessionIdHash,
  login_at: i.loginAt,
  created_at: i.createdAt,
  expires_at: i.expiresAt,
});
const toInteraction = (r: Row<InteractionsTable>): InteractionRecord => ({
  uid: r.uid,
  clientId: r.client_id,
  params: JSON.parse(r.params),
  browserHash: r.browser_hash,
  sessionIdHash: r.session_id_hash,
  loginAt: r.login_at,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
});

export function createSqlInteractionStore({ db }: SqlContext): InteractionStore {
  return {
    async create(record) {
      await db.insertInto('interactions').values(interactionRow(record)).execute();
    },
    async get(uid) {
      const row = await db.selectFrom('interactions').selectAll().where('uid', '=', uid).executeTakeFirst();
      return row && toInteraction(row);
    },
    async setLogin(uid, sessionIdHash, loginAt) {
      await db
        .updateTable('interactions')
        .set({ session_id_hash: sessionIdHash, login_at: loginAt })
        .where('uid', '=', uid)
        .execute();
    },
    async consume(uid) {
      const row = await db.deleteFrom('interactions').where('uid', '=', uid).returningAll().executeTakeFirst();
      return row && toInteraction(row);
    },
  };
}
