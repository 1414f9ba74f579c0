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

export function createSqlCodeStore({ db, statement, hotWrite }: SqlContext): CodeStore {
  // Compiled once: a code is written at every authorization and used up at every redemption.
  const insertCode = statement((k) => k.insertInto('auth_codes').values(codeRow(PLACEHOLDER)));
  const consumeCode = statement((k) =>
    k
      .updateTable('auth_codes')
      .set({ consumed_at: 0 })
      .where('code_hash', '=', '')
      .where('consumed_at', 'is', null)
      .returningAll(),
  );
  const selectCode = statement((k) => k.selectFrom('auth_codes').selectAll().where('code_hash', '=', ''));
  return {
    async create(code) {
      const values = Object.values(codeRow(code));
      await hotWrite((q) => insertCode(q, values));
    },
    /**
     * One conditional UPDATE decides the winner: in PostgreSQL a concurrent UPDATE of the same row
     * waits for the first to commit and then no longer matches `consumed_at IS NULL`; in SQLite
     * statements are serialised. Expiry is the caller's to check.
     */
    async consume(codeHash, now) {
      const won = (await hotWrite((q) => consumeCode(q, [now, codeHash]))).rows[0];
      if (won) return { status: 'ok', code: toCode(won) };
      const row = (await selectCode(db, [codeHash])).rows[0];
      return row ? { status: 'reused', code: toCode(row) } : { status: 'missing' };
    },
  };
}
