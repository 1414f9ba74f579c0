import type { CodeRecord, CodeStore } from '../../ports/codes.ts';
import type { AuthCodesTable } from './schema.ts';
import { json, type Row, type SqlContext } from './statements.ts';

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

export function createSqlCodeStore({ statement, hotWrite, lookup }: SqlContext): CodeStore {
  // Compiled once: a code is written at every authorization and used up at every redemption.
  const insertCode = statement((k) => k.insertInto('auth_codes').values(codeRow(PLACEHOLDER)));
  // The first use sets consumed_at; any later one leaves it and sets replayed_at (the first
  // replay's time stays). Every right-hand side reads the row as it was before the update, so the
  // row returned says which happened: replayed_at still null for the first use only.
  const consumeCode = statement((k) =>
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
      .returningAll(),
  );
  const replayedAt = lookup((k) => k.selectFrom('auth_codes').select('replayed_at').where('code_hash', '=', ''));
  return {
    async create(code) {
      const values = Object.values(codeRow(code));
      await hotWrite((q) => insertCode(q, values));
    },
    /**
     * One UPDATE decides the winner and marks a replay: in PostgreSQL a concurrent UPDATE of the
     * same row waits for the first to commit, then evaluates its SET again on the row that one left
     * (consumed); in SQLite statements are serialised. Expiry is the caller's to check.
     */
    async consume(codeHash, now) {
      const row = (await hotWrite((q) => consumeCode(q, [now, now, codeHash]))).rows[0];
      if (!row) return { status: 'missing' };
      return { status: row.replayed_at === null ? 'ok' : 'reused', code: toCode(row) };
    },
    /**
     * A read of committed state: the winner's grant was committed before it asks, and a replay's
     * mark is committed before the replay revokes, so whichever of the two comes second sees the
     * other's (SQLite serialises statements; PostgreSQL's READ COMMITTED sees every commit made
     * before the statement began).
     */
    async replayed(codeHash) {
      const row = await replayedAt(codeHash);
      return row === undefined || row.replayed_at !== null;
    },
  };
}
