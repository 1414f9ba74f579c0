import { CompiledQuery, type QueryCreator } from 'kysely';
import { batchedWrite, PG_BATCH_MAX } from './batched-lookups.ts';
import type { CodeRecord, CodeStore } from '../../ports/codes.ts';
import type { AuthCodesTable, Schema, UsersTable } from './schema.ts';
import {
  json,
  toUser,
  unprefixed,
  USER_COLUMNS,
  type Nullable,
  type Prefixed,
  type Row,
  type SqlContext,
} from './statements.ts';

const codeRow = (c: CodeRecord): AuthCodesTable => ({
  code_hash: c.codeHash,
  grant_id: c.grantId,
  client_id: c.clientId,
  user_id: c.userId,
  redirect_uri: c.redirectUri,
  scope: c.scope,
  nonce: c.nonce,
  code_challenge: c.codeChallenge,
  resource: c.resource,
  sid: c.sid,
  auth_time: c.authTime,
  amr: json(c.amr),
  created_at: c.createdAt,
  expires_at: c.expiresAt,
  consumed_at: null,
  dpop_jkt: c.dpopJkt ?? null,
  authorization_details: c.authorizationDetails ?? null,
  claims: c.claims ? json(c.claims) : null,
  replayed_at: null,
});
const toCode = (r: Row<AuthCodesTable>): CodeRecord => ({
  codeHash: r.code_hash,
  grantId: r.grant_id,
  clientId: r.client_id,
  userId: r.user_id,
  redirectUri: r.redirect_uri,
  scope: r.scope,
  nonce: r.nonce,
  codeChallenge: r.code_challenge,
  resource: r.resource,
  sid: r.sid,
  authTime: r.auth_time,
  amr: JSON.parse(r.amr),
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  ...(r.dpop_jkt !== null ? { dpopJkt: r.dpop_jkt } : {}),
  ...(r.authorization_details !== null ? { authorizationDetails: r.authorization_details } : {}),
  ...(r.claims != null ? { claims: JSON.parse(r.claims) } : {}),
});

/** A code row's columns with placeholder values: the compiled statements take a row's values in this order. */
const PLACEHOLDER: CodeRecord = {
  codeHash: '',
  grantId: '',
  clientId: '',
  userId: '',
  redirectUri: '',
  scope: '',
  nonce: null,
  codeChallenge: '',
  resource: null,
  sid: '',
  authTime: 0,
  amr: [],
  createdAt: 0,
  expiresAt: 0,
};

/** Every column of auth_codes, named (the PostgreSQL statement that returns them is a prepared one). */
const CODE_COLUMNS = Object.keys(codeRow(PLACEHOLDER)) as (keyof AuthCodesTable)[];
type ConsumedRow = Row<AuthCodesTable> & Nullable<Prefixed<'u_', Row<UsersTable>>>;

/** The columns of auth_codes that PostgreSQL stores as bigint (the rest are text). */
const BIGINT_COLUMNS = new Set<string>(['auth_time', 'created_at', 'expires_at', 'consumed_at', 'replayed_at']);
const pgType = (c: string) => (BIGINT_COLUMNS.has(c) ? 'bigint' : 'text');

export function createSqlCodeStore({ pg, statement, hotWrite, handle, db, bound }: SqlContext): CodeStore {
  // Compiled once: a code is written at every authorization and used up at every redemption.
  const insertCode = statement((k) => k.insertInto('auth_codes').values(codeRow(PLACEHOLDER)), { prepared: true });
  // The first use sets consumed_at; any later one leaves it and sets replayed_at (the first
  // replay's time stays). Every right-hand side reads the row as it was before the update, so the
  // row returned says which happened: replayed_at still null for the first use only.
  const useCode = (k: QueryCreator<Schema>) =>
    k
      .updateTable('auth_codes')
      .set((eb) => ({
        consumed_at: eb.fn.coalesce('consumed_at', eb.val(0)),
        replayed_at: eb
          .case()
          .when('consumed_at', 'is', null)
          .then(eb.ref('replayed_at'))
          .else(eb.fn.coalesce('replayed_at', eb.val(0)))
          .end(),
      }))
      .where('code_hash', '=', '')
      .returning(CODE_COLUMNS);
  // PostgreSQL: the update and the code's user in one statement (a data-modifying WITH query,
  // which runs once and exactly as alone), instead of a second round trip for the user.
  const consumeWithUser = statement(
    (k) =>
      k
        .with('c', useCode)
        .selectFrom('c')
        .leftJoin('users as u', 'u.id', 'c.user_id')
        .select(CODE_COLUMNS.map((c) => `c.${c}` as const))
        .select(USER_COLUMNS.map((c) => `u.${c} as u_${c}` as const)),
    { prepared: true },
  );
  // SQLite (no UPDATE in a WITH query): the update, then the user, in the one transaction of the
  // group commit the update joins; statements cost no round trip there.
  const consumeCode = statement(useCode);
  const userOf = statement((k) =>
    k
      .selectFrom('users')
      .select(USER_COLUMNS.map((c) => `${c} as u_${c}` as const))
      .where('id', '=', ''),
  );
  const insertOne = async (values: unknown[]) => {
    await hotWrite((q) => insertCode(q, values));
  };
  // PostgreSQL, outside a transaction under way: the code inserts of one turn of the event loop
  // are one statement (batched-lookups.ts: batchedWrite), a named prepared statement taking one
  // array per column (unnest). The uses stay one statement each: batched the same way (an UPDATE
  // joined to the turn's codes, in a transaction planned by keys), they cost the database as much
  // as they saved the process, and flows per second did not move (docs/performance.md, thirteenth
  // session).
  const create = pg && !bound ? insertBatches() : insertOne;
  function insertBatches() {
    const text = `insert into auth_codes (${CODE_COLUMNS.join(', ')}) select * from unnest(${CODE_COLUMNS.map(
      (c, i) => `$${i + 1}::${pgType(c)}[]`,
    ).join(', ')})`;
    handle.prepare?.(text);
    return batchedWrite<unknown[]>({
      max: PG_BATCH_MAX,
      one: insertOne,
      async many(rows) {
        await db.executeQuery(
          CompiledQuery.raw(
            text,
            CODE_COLUMNS.map((_, i) => rows.map((r) => r[i])),
          ),
        );
      },
    });
  }
  return {
    async create(code) {
      await create(Object.values(codeRow(code)));
    },
    /**
     * One UPDATE decides the winner and marks a replay: in PostgreSQL a concurrent UPDATE of the
     * same row waits for the first to commit, then evaluates its SET again on the row that one left
     * (consumed); in SQLite statements are serialised. Expiry is the caller's to check.
     */
    async consume(codeHash, now) {
      const row: ConsumedRow | undefined = await hotWrite(async (q) => {
        if (pg) return (await consumeWithUser(q, [now, now, codeHash])).rows[0] as ConsumedRow | undefined;
        const used = (await consumeCode(q, [now, now, codeHash])).rows[0];
        // Only the first use needs the user (a replay answers with the code alone).
        if (!used || used.replayed_at !== null) return used && ({ ...used, u_id: null } as ConsumedRow);
        return { ...used, ...(await userOf(q, [used.user_id])).rows[0] } as ConsumedRow;
      });
      if (!row) return { status: 'missing' };
      const code = toCode(row);
      if (row.replayed_at !== null) return { status: 'reused', code };
      const user = row.u_id == null ? undefined : toUser(unprefixed(row, 'u_', USER_COLUMNS));
      return { status: 'ok', code, user };
    },
  };
}
