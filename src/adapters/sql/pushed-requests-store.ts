import type { PushedRequestStore } from '../../ports/pushed-requests.ts';
import { json, type SqlContext } from './statements.ts';

export function createSqlPushedRequestStore({ db }: SqlContext): PushedRequestStore {
  return {
    async create(r) {
      await db
        .insertInto('pushed_requests')
        .values({
          uri_hash: r.uriHash,
          client_id: r.clientId,
          params: json(r.params),
          created_at: r.createdAt,
          expires_at: r.expiresAt,
        })
        .execute();
    },
    /** One conditional DELETE ... RETURNING decides the single winner on both databases. */
    async consume(uriHash, clientId, now) {
      const row = await db
        .deleteFrom('pushed_requests')
        .where('uri_hash', '=', uriHash)
        .where('client_id', '=', clientId)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst();
      return (
        row && {
          uriHash: row.uri_hash,
          clientId: row.client_id,
          params: JSON.parse(row.params),
          createdAt: Number(row.created_at),
          expiresAt: Number(row.expires_at),
        }
      );
    },
  };
}
