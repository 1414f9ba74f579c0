import type {
  GrantRecord,
  GrantStore,
  IssuedAccessToken,
  RefreshGrace,
  RefreshTokenRecord,
  RefusedRefresh,
  RotateResult,
  Rotation,
  UseRefreshResult,
  Verdict,
} from '../../ports/grants.ts';
import type { UserRecord } from '../../ports/users.ts';
import { CompiledQuery, type Transaction } from 'kysely';
import type { GrantsTable, RefreshGraceTable, RefreshTokensTable, Schema, UsersTable } from './schema.ts';
import {
  json,
  revokeGrant,
  sessionClientValues,
  toUser,
  upsertSessionClient,
  type Db,
  type Nullable,
  type Prefixed,
  type Row,
  type SqlContext,
  type Unlisted,
  unprefixed,
  USER_COLUMNS,
} from './statements.ts';
import { rotationBatches, type Judged } from './rotation-batches.ts';

const grantRow = (g: GrantRecord): GrantsTable => ({
  id: g.id,
  client_id: g.clientId,
  user_id: g.userId,
  scope: g.scope,
  resource: g.resource,
  sid: g.sid,
  auth_time: g.authTime,
  amr: json(g.amr),
  created_at: g.createdAt,
  expires_at: g.expiresAt,
  revoked_at: g.revokedAt,
  dpop_jkt: g.dpopJkt ?? null,
  authorization_details: g.authorizationDetails ?? null,
  claims: g.claims ? json(g.claims) : null,
  cert_thumbprint: g.certThumbprint ?? null,
});
const toGrant = (r: Row<GrantsTable>): GrantRecord => ({
  id: r.id,
  clientId: r.client_id,
  userId: r.user_id,
  scope: r.scope,
  resource: r.resource,
  sid: r.sid,
  authTime: r.auth_time,
  amr: JSON.parse(r.amr),
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  ...(r.dpop_jkt !== null ? { dpopJkt: r.dpop_jkt } : {}),
  ...(r.authorization_details !== null ? { authorizationDetails: r.authorization_details } : {}),
  ...(r.claims != null ? { claims: JSON.parse(r.claims) } : {}),
  ...(r.cert_thumbprint != null ? { certThumbprint: r.cert_thumbprint } : {}),
});

const refreshRow = (t: RefreshTokenRecord): RefreshTokensTable => ({
  token_hash: t.tokenHash,
  grant_id: t.grantId,
  client_id: t.clientId,
  scope: t.scope,
  created_at: t.createdAt,
  expires_at: t.expiresAt,
  used_at: t.usedAt,
});
const toRefresh = (r: Row<RefreshTokensTable>): RefreshTokenRecord => ({
  tokenHash: r.token_hash,
  grantId: r.grant_id,
  clientId: r.client_id,
  scope: r.scope,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  usedAt: r.used_at,
});

const accessRow = (grantId: string, a: IssuedAccessToken) => ({
  jti: a.jti,
  grant_id: grantId,
  expires_at: a.expiresAt,
});

/** The columns of a refresh token's row and of a user's row, read beside a grant's under prefixes. */
const TOKEN_COLUMNS = [
  'token_hash',
  'grant_id',
  'client_id',
  'scope',
  'created_at',
  'expires_at',
  'used_at',
] as const satisfies readonly (keyof RefreshTokensTable)[];
// Every column, checked when it compiles: a column added by a migration must be read here too.
const allTokenColumns: [Unlisted<RefreshTokensTable, typeof TOKEN_COLUMNS>] extends [never] ? true : never = true;
void allTokenColumns;

/** Rows with every column, in the order the compiled statements take their values. */
const PLACEHOLDER_GRANT: GrantRecord = {
  id: '',
  clientId: '',
  userId: '',
  scope: '',
  resource: null,
  sid: null,
  authTime: 0,
  amr: [],
  createdAt: 0,
  expiresAt: 0,
  revokedAt: null,
};
const PLACEHOLDER_REFRESH: RefreshTokenRecord = {
  tokenHash: '',
  grantId: '',
  clientId: '',
  scope: '',
  createdAt: 0,
  expiresAt: 0,
  usedAt: null,
};

/** A reuse-grace row's columns, in the order the compiled statements take its values. */
const PLACEHOLDER_GRACE: RefreshGraceTable = {
  token_hash: '',
  grant_id: '',
  successor_hash: '',
  binding: '',
  response: '',
  created_at: 0,
  expires_at: 0,
};

/** rotate() and useRefresh() refusing a token; an `accept` that refused it has its refusal's members returned too. */
const INVALID = { status: 'invalid' } as const;
const refused = <R extends object>({ ok: _, ...refusal }: { ok: false } & R): RefusedRefresh<R> =>
  ({ status: 'invalid', ...refusal }) as RefusedRefresh<R>;

/** Grants: their refresh tokens (rotation, reuse detection) and the access tokens issued from them. */
export function createSqlGrantStore({ handle, db, pg, tx, hotTx, statement, bound }: SqlContext): GrantStore {
  // The statements of a refresh-token rotation: the token, its grant and the grant's user in one
  // statement. PostgreSQL: the grant row locked first, then the token row (see lockedRead below).
  // SQLite (BEGIN IMMEDIATE serialises the writers, so there are no row locks to take in order):
  // a plain join.
  const refreshAndGrant = statement((k) =>
    k
      .selectFrom('refresh_tokens as r')
      .innerJoin('grants as g', 'g.id', 'r.grant_id')
      .leftJoin('users as u', 'u.id', 'g.user_id')
      .selectAll('g')
      .select(TOKEN_COLUMNS.map((c) => `r.${c} as r_${c}` as const))
      .select(USER_COLUMNS.map((c) => `u.${c} as u_${c}` as const))
      .where('r.token_hash', '=', ''),
  );
  // PostgreSQL: the same row, read under the rotation's locks in their order. The grant's row is
  // locked by the (materialized, so run first) WITH query; the token's row by the outer FOR UPDATE
  // OF r, which runs only on a row the join made from the locked grant, so always after it; a
  // token changed meanwhile (used by the rotation we waited for) is read again as it is now (READ
  // COMMITTED re-checks a row it locks after waiting). One round trip instead of three (grant,
  // token, user).
  // Its columns named (not g.*): it is a prepared statement (below), whose columns must not
  // change when a later migration adds one.
  const grantColumns = Object.keys(grantRow(PLACEHOLDER_GRANT)).join(', ');
  // `many`: the rows of several tokens ($1 an array), the grants locked in id order.
  const lockedReadOf = (many: boolean) => {
    const token = many ? '= any($1::text[])' : '= $1';
    return (
      // Many: `id = any(array(...))`, in a batch's transaction, which is planned with sequential
      // scans off (prepare's byKeys: a plan kept from when the tables were small would scan them).
      `with g as materialized (select ${grantColumns} from grants where id ${many ? '= any(array' : '='}` +
      `(select grant_id from refresh_tokens where token_hash ${token})${many ? ') order by id' : ''} for update) ` +
      `select ${Object.keys(grantRow(PLACEHOLDER_GRANT))
        .map((c) => `g.${c}`)
        .join(
          ', ',
        )}, ${TOKEN_COLUMNS.map((c) => `r.${c} as r_${c}`).join(', ')}, ${USER_COLUMNS.map((c) => `u.${c} as u_${c}`).join(', ')} ` +
      `from g join refresh_tokens r on r.token_hash ${token} and r.grant_id = g.id left join users u on u.id = g.user_id for update of r`
    );
  };
  const lockedRead = pg ? lockedReadOf(false) : undefined;
  type Found = Row<GrantsTable> & Prefixed<'r_', Row<RefreshTokensTable>> & Nullable<Prefixed<'u_', Row<UsersTable>>>;
  /** The rows of a grant, its refresh token and its user in a row read by refreshAndGrant or lockedRead. */
  const split = (
    row: Row<GrantsTable> & { u_id: unknown },
  ): { gRow: Row<GrantsTable>; rRow: Row<RefreshTokensTable>; uRow: Row<UsersTable> | undefined } => ({
    // The row has every grants column under its own name (the token's are prefixed r_, the
    // user's u_), so it serves as the grant's row as it is.
    gRow: row,
    rRow: unprefixed(row, 'r_', TOKEN_COLUMNS),
    uRow: row.u_id === null ? undefined : unprefixed(row, 'u_', USER_COLUMNS),
  });
  /** A refresh token's row, its grant's row and the grant's user's row, in rotate()'s lock order on PostgreSQL. */
  const tokenAndGrant = async (t: Db, tokenHash: string): Promise<ReturnType<typeof split> | undefined> => {
    const row = lockedRead
      ? (await t.executeQuery<Found>(CompiledQuery.raw(lockedRead, [tokenHash]))).rows[0]
      : (await refreshAndGrant(t, [tokenHash])).rows[0];
    return row && split(row);
  };
  /**
   * The presented refresh token and its grant, read under the rotation's locks, with the grant's
   * user: `live` when it may be judged by accept(), else the outcome to return as it is (unknown or
   * revoked: invalid; already used: reuse, which revokes the family in this transaction).
   */
  const presented = async (t: Transaction<Schema>, tokenHash: string, now: number) => {
    const found = await tokenAndGrant(t, tokenHash);
    if (!found || found.gRow.revoked_at !== null) return { status: 'done' as const, outcome: INVALID };
    const grant = toGrant(found.gRow);
    const uRow = found.uRow;
    const reuse = async () =>
      (await revokeGrant(t, grant.id, now))
        ? { status: 'reused' as const, grantId: grant.id, clientId: grant.clientId }
        : INVALID;
    const refresh = toRefresh(found.rRow);
    const status = found.rRow.used_at !== null ? ('used' as const) : ('live' as const);
    return { status, grant, refresh, user: uRow && toUser(uRow), reuse };
  };

  // The reuse grace (ports/grants.ts RefreshGrace): the replay a rotation kept for the token it
  // used, with the state of that rotation's successor.
  const graceOf = statement((k) =>
    k
      .selectFrom('refresh_grace as x')
      .leftJoin('refresh_tokens as s', 's.token_hash', 'x.successor_hash')
      .select([
        'x.binding',
        'x.response',
        'x.created_at',
        'x.expires_at',
        's.token_hash as s_token_hash',
        's.used_at as s_used_at',
        's.expires_at as s_expires_at',
      ])
      .where('x.token_hash', '=', ''),
  );
  const forgetGraceOfGrant = statement((k) => k.deleteFrom('refresh_grace').where('grant_id', '=', ''));
  const insertGrace = statement((k) => k.insertInto('refresh_grace').values(PLACEHOLDER_GRACE));

  const markRefreshUsed = statement((k) =>
    k.updateTable('refresh_tokens').set({ used_at: 0 }).where('token_hash', '=', '').where('used_at', 'is', null),
  );
  const insertRefresh = statement((k) => k.insertInto('refresh_tokens').values(refreshRow(PLACEHOLDER_REFRESH)));
  const insertAccess = statement((k) => k.insertInto('access_tokens').values(accessRow('', { jti: '', expiresAt: 0 })));
  /**
   * PostgreSQL: a grant, its refresh token (if any), its access token's jti and the session's
   * client (if any) written by one statement (data-modifying WITH clauses), one round trip instead
   * of six (begin, four writes, commit). One statement is atomic; the foreign keys are checked at
   * its end, when the grant row is there. Not inside a transaction under way: there a failing
   * statement must undo only its own part (a savepoint). One text per shape, made on first use.
   */
  const createTexts = new Map<string, string>();
  const createText = (withRefresh: boolean, withSession: boolean, withCode: boolean) => {
    const key = `${withRefresh} ${withSession} ${withCode}`;
    let text = createTexts.get(key);
    if (text) return text;
    let n = 0;
    const insert = (table: string, columns: string[], tail = '') =>
      `insert into ${table} (${columns.map((c) => `"${c}"`).join(', ')}) values (${columns.map(() => `$${++n}`).join(', ')})${tail}`;
    const parts = [
      insert('grants', Object.keys(grantRow(PLACEHOLDER_GRANT))),
      ...(withRefresh ? [insert('refresh_tokens', Object.keys(refreshRow(PLACEHOLDER_REFRESH)))] : []),
      ...(withSession
        ? [
            insert(
              'session_clients',
              ['sid', 'client_id', 'user_id', 'created_at', 'expires_at'],
              ' on conflict ("sid", "client_id") do update set "expires_at" = excluded."expires_at"',
            ),
          ]
        : []),
      insert('access_tokens', Object.keys(accessRow('', { jti: '', expiresAt: 0 }))),
    ];
    // With the code a grant redeems: its replay mark, read under the code row's lock (a replay's
    // mark waits for this statement to commit, or was committed first and is read as it is now).
    const last = withCode ? `select replayed_at from auth_codes where code_hash = $${++n} for update` : parts.pop()!;
    text = `with ${parts.map((p, i) => `w${i} as (${p})`).join(', ')} ${last}`;
    // Named, so that PostgreSQL parses and plans it once per connection.
    handle.prepare?.(text);
    createTexts.set(key, text);
    return text;
  };
  const createAtOnce = pg && !bound;
  const insertSessionClient = statement(upsertSessionClient);
  /**
   * PostgreSQL: a rotation's writes, under its locks, as one statement (data-modifying WITH
   * clauses): the presented token marked used and, only if it was, its successor, the new access
   * token's jti and the reuse grace (`forget`: the family's replay erased; `keep`: and this
   * rotation's stored). One round trip instead of three to five; it answers how many tokens it
   * marked (1, or 0 and nothing written).
   */
  const rotationWrites = (grace: 'plain' | 'forget' | 'keep') => {
    // $1 now, $2 the presented token; then the successor's row, the access token's row, the grant
    // (forget, keep) and the grace row (keep). Typed, since a value selected rather than inserted
    // from VALUES takes no type from its column.
    let n = 2;
    const insert = (table: string, columns: [string, 'text' | 'bigint'][]) =>
      `insert into ${table} (${columns.map(([c]) => `"${c}"`).join(', ')}) select ${columns.map(([, type]) => `$${++n}::${type}`).join(', ')} from used`;
    const columns = <T extends object>(row: T, bigints: (keyof T)[]) =>
      Object.keys(row).map(
        (c) => [c, bigints.includes(c as keyof T) ? 'bigint' : 'text'] as [string, 'text' | 'bigint'],
      );
    const clauses = [
      'used as (update refresh_tokens set used_at = $1 where token_hash = $2 and used_at is null returning token_hash)',
      `successor as (${insert('refresh_tokens', columns(refreshRow(PLACEHOLDER_REFRESH), ['created_at', 'expires_at', 'used_at']))})`,
      `access as (${insert('access_tokens', columns(accessRow('', { jti: '', expiresAt: 0 }), ['expires_at']))})`,
    ];
    if (grace !== 'plain') {
      const grant = `$${++n}`;
      clauses.push(`forget as (delete from refresh_grace where grant_id = ${grant} and exists (select 1 from used))`);
    }
    if (grace === 'keep') {
      clauses.push(`kept as (${insert('refresh_grace', columns(PLACEHOLDER_GRACE, ['created_at', 'expires_at']))})`);
    }
    return `with ${clauses.join(', ')} select count(*) as n from used`;
  };
  const rotationSql = pg
    ? { plain: rotationWrites('plain'), forget: rotationWrites('forget'), keep: rotationWrites('keep') }
    : undefined;
  /** A rotation's writes (rotationWrites, one of `texts`): the token used, `issued` stored, the reuse grace kept. */
  const rotationWrite = (
    texts: Record<'plain' | 'forget' | 'keep', string>,
    tokenHash: string,
    now: number,
    grantId: string,
    issued: Rotation,
    grace: RefreshGrace | undefined,
  ) => {
    const values = [now, tokenHash, ...Object.values(refreshRow(issued.refresh))];
    values.push(...Object.values(accessRow(grantId, issued.access)));
    if (!grace) return CompiledQuery.raw(texts.plain, values);
    values.push(grantId);
    if (issued.replay === undefined) return CompiledQuery.raw(texts.forget, values);
    values.push(tokenHash, grantId, issued.refresh.tokenHash, grace.binding, issued.replay, now, grace.until);
    return CompiledQuery.raw(texts.keep, values);
  };
  /**
   * PostgreSQL, outside a transaction under way: the transaction of rotate() and useRefresh() for
   * a live token, on one connection of its own, its BEGIN written with the locked read and its
   * COMMIT with the writes (DatabaseHandle.prepare): two round trips instead of four (BEGIN, read,
   * writes, COMMIT), the same statements under the same locks. Each its own text (a comment), so
   * that the plain ones still serve the transactions of hotTx.
   */
  const atOnce =
    pg && !bound && handle.prepare && lockedRead && rotationSql
      ? {
          read: `/* begin */ ${lockedRead}`,
          writes: {
            plain: `${rotationSql.plain} /* commit */`,
            forget: `${rotationSql.forget} /* commit */`,
            keep: `${rotationSql.keep} /* commit */`,
          },
          // useRefresh(): the token's idle expiry moved and the new access token's jti recorded,
          // only if the token is still unused ($1 its new expiry, $2 the token, then the access row).
          use:
            'with kept as (update refresh_tokens set expires_at = $1 where token_hash = $2 and used_at is null returning token_hash), ' +
            'access as (insert into access_tokens ("jti", "grant_id", "expires_at") select $3::text, $4::text, $5::bigint from kept) ' +
            'select count(*) as n from kept /* commit */',
        }
      : undefined;
  // Named prepared statements: parsed and planned once per connection instead of on every refresh.
  for (const text of [lockedRead, ...Object.values(rotationSql ?? {})]) if (text) handle.prepare?.(text);
  if (atOnce) {
    handle.prepare?.(atOnce.read, { begin: true });
    for (const text of [...Object.values(atOnce.writes), atOnce.use]) handle.prepare?.(text, { commit: true });
  }
  /**
   * A transaction of `atOnce` for the presented token: invalid when it is unknown or its grant
   * revoked; undefined when it is used already (reuse, or the reuse grace), which the transaction
   * of hotTx then decides, reading it again under its locks; else what `live` makes of it. `live`
   * writes with `commit` (one of atOnce's writes and the COMMIT: true when it changed the token),
   * or writes nothing. The transaction is ended (COMMIT with the writes, else ROLLBACK) before the
   * connection goes back to the pool, on every path.
   */
  const atOnceTransaction = <T>(
    texts: NonNullable<typeof atOnce>,
    tokenHash: string,
    live: (
      found: { grant: GrantRecord; refresh: RefreshTokenRecord; user: UserRecord | undefined },
      commit: (write: CompiledQuery) => Promise<boolean>,
    ) => Promise<T | undefined>,
  ): Promise<T | typeof INVALID | undefined> =>
    db.connection().execute(async (c) => {
      let open = true; // BEGIN has been written: the transaction lasts until its COMMIT or ROLLBACK
      const commit = async (write: CompiledQuery) => {
        const changed = await c.executeQuery<{ n: number }>(write);
        open = false;
        return Number(changed.rows[0]?.n) === 1;
      };
      try {
        const row = (await c.executeQuery<Found>(CompiledQuery.raw(texts.read, [tokenHash]))).rows[0];
        let outcome: T | typeof INVALID | undefined = INVALID;
        if (row && row.revoked_at === null && row.r_used_at !== null) outcome = undefined;
        else if (row && row.revoked_at === null) {
          const { gRow, rRow, uRow } = split(row);
          outcome = await live({ grant: toGrant(gRow), refresh: toRefresh(rRow), user: uRow && toUser(uRow) }, commit);
        }
        if (open) {
          await c.executeQuery(CompiledQuery.raw('rollback'));
          open = false;
        }
        return outcome;
      } catch (err) {
        // The statement that failed left the transaction aborted (or, a COMMIT that failed, ended).
        if (open) await c.executeQuery(CompiledQuery.raw('rollback')).catch(() => {});
        throw err;
      }
    });
  /**
   * PostgreSQL, outside a transaction under way: the rotations of one turn in one transaction
   * (rotation-batches.ts). Its read is lockedRead for many tokens, the grants locked in id order;
   * its write is rotationWrites for many rotations (arrays, one element per rotation), which marks
   * each presented token used and writes its rotation only if it did.
   */
  type BatchWrite = { now: number; grantId: string; issued: Rotation; grace: RefreshGrace | undefined };
  const batchTexts = atOnce
    ? (() => {
        const columns = (table: string, row: object, bigints: string[]) =>
          Object.keys(row).map((c) => ({ table, column: c, type: bigints.includes(c) ? 'bigint' : 'text' }));
        const refreshCols = columns('refresh_tokens', refreshRow(PLACEHOLDER_REFRESH), [
          'created_at',
          'expires_at',
          'used_at',
        ]);
        const accessCols = columns('access_tokens', accessRow('', { jti: '', expiresAt: 0 }), ['expires_at']);
        const graceCols = columns('refresh_grace', PLACEHOLDER_GRACE, ['created_at', 'expires_at']);
        // The arrays in order: the presented token, its time, the successor's columns, the access
        // token's, the grant whose reuse grace is forgotten (or null), the grace row's (or nulls).
        const all = [
          { column: 'presented', type: 'text' },
          { column: 'now', type: 'bigint' },
          ...refreshCols.map((c) => ({ ...c, column: `r_${c.column}` })),
          ...accessCols.map((c) => ({ ...c, column: `a_${c.column}` })),
          { column: 'forget', type: 'text' },
          ...graceCols.map((c) => ({ ...c, column: `x_${c.column}` })),
        ];
        const insert = (table: string, cols: { column: string }[], prefix: string, where = '') =>
          `insert into ${table} (${cols.map((c) => `"${c.column}"`).join(', ')}) ` +
          `select ${cols.map((c) => `${prefix}${c.column}`).join(', ')} from marked${where}`;
        const write =
          `with batch as (select * from unnest(${all.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ')}) ` +
          `as b(${all.map((c) => c.column).join(', ')})), ` +
          // The tokens found by their key ($1, the presented ones), planned, like the batch's
          // read, with sequential scans off (the transaction's setting).
          'used as (update refresh_tokens t set used_at = batch.now from batch where t.token_hash = any($1::text[]) ' +
          'and t.token_hash = batch.presented and t.used_at is null returning t.token_hash), ' +
          'marked as (select batch.* from batch join used on used.token_hash = batch.presented), ' +
          `successor as (${insert('refresh_tokens', refreshCols, 'r_')}), ` +
          `access as (${insert('access_tokens', accessCols, 'a_')}), ` +
          'forget as (delete from refresh_grace where grant_id in (select forget from marked where forget is not null)), ' +
          `kept as (${insert('refresh_grace', graceCols, 'x_', ' where x_token_hash is not null')}) ` +
          'select token_hash from used /* commit batch */';
        const read = `/* begin batch */ ${lockedReadOf(true)}`;
        return { read, write, width: all.length };
      })()
    : undefined;
  const rotateInBatch = batchTexts
    ? rotationBatches<
        { executeQuery: (q: CompiledQuery) => Promise<{ rows: unknown[] }> },
        ReturnType<typeof split>,
        BatchWrite,
        RotateResult<unknown, object, Rotation>
      >({
        connection: (fn) => db.connection().execute((c) => fn(c)),
        async read(c, tokenHashes) {
          const rows = (await c.executeQuery(CompiledQuery.raw(batchTexts.read, [tokenHashes]))).rows as Found[];
          return new Map(rows.map((row) => [row.r_token_hash, { grantId: row.id, found: split(row) }]));
        },
        async write(c, writes) {
          const arrays: unknown[][] = Array.from({ length: batchTexts.width }, () => []);
          for (const { tokenHash, write } of writes) {
            const { now, grantId, issued, grace } = write;
            const keep = grace && issued.replay !== undefined;
            const values = [
              tokenHash,
              now,
              ...Object.values(refreshRow(issued.refresh)),
              ...Object.values(accessRow(grantId, issued.access)),
              grace ? grantId : null,
              ...(keep
                ? [tokenHash, grantId, issued.refresh.tokenHash, grace.binding, issued.replay, now, grace.until]
                : Object.keys(PLACEHOLDER_GRACE).map(() => null)),
            ];
            values.forEach((v, i) => arrays[i]!.push(v));
          }
          const rows = (await c.executeQuery(CompiledQuery.raw(batchTexts.write, arrays))).rows as {
            token_hash: string;
          }[];
          return new Set(rows.map((r) => r.token_hash));
        },
        async rollback(c) {
          await c.executeQuery(CompiledQuery.raw('rollback'));
        },
      })
    : undefined;
  if (batchTexts) {
    handle.prepare?.(batchTexts.read, { begin: true, byKeys: true });
    handle.prepare?.(batchTexts.write, { commit: true });
  }
  /** rotate() through atOnceTransaction. */
  const rotateAtOnce = <A, R extends object, N extends Rotation>(
    texts: NonNullable<typeof atOnce>,
    tokenHash: string,
    now: number,
    accept: (refresh: RefreshTokenRecord, grant: GrantRecord, user: UserRecord | undefined) => Verdict<A, R>,
    next: (refresh: RefreshTokenRecord, grant: GrantRecord, accepted: A) => N,
    grace: RefreshGrace | undefined,
  ): Promise<RotateResult<A, R, N> | undefined> =>
    atOnceTransaction<RotateResult<A, R, N>>(texts, tokenHash, async ({ grant, refresh, user }, commit) => {
      const verdict = accept(refresh, grant, user);
      if (!verdict.ok) return refused(verdict);
      const issued = next(refresh, grant, verdict.value);
      // Not marked (nothing written) cannot happen under the locks: the transaction of hotTx decides then.
      if (!(await commit(rotationWrite(texts.writes, tokenHash, now, grant.id, issued, grace)))) return undefined;
      const previous = { ...refresh, usedAt: now };
      return { status: 'rotated', grant, previous, accepted: verdict.value, issued };
    });
  /** useRefresh() through atOnceTransaction. */
  const useAtOnce = <A, R extends object, N extends IssuedAccessToken>(
    texts: NonNullable<typeof atOnce>,
    tokenHash: string,
    idleExpiresAt: number,
    accept: (refresh: RefreshTokenRecord, grant: GrantRecord, user: UserRecord | undefined) => Verdict<A, R>,
    next: (refresh: RefreshTokenRecord, grant: GrantRecord, accepted: A) => N,
  ): Promise<UseRefreshResult<A, R, N> | undefined> =>
    atOnceTransaction<UseRefreshResult<A, R, N>>(texts, tokenHash, async ({ grant, refresh, user }, commit) => {
      const verdict = accept(refresh, grant, user);
      if (!verdict.ok) return refused(verdict);
      const expiresAt = Math.min(idleExpiresAt, grant.expiresAt);
      const issued = next(refresh, grant, verdict.value);
      const values = [expiresAt, tokenHash, ...Object.values(accessRow(grant.id, issued))];
      // Not changed (nothing written) cannot happen under the locks: the transaction of hotTx decides then.
      if (!(await commit(CompiledQuery.raw(texts.use, values)))) return undefined;
      return { status: 'used', grant, refresh: { ...refresh, expiresAt }, accepted: verdict.value, issued };
    });
  /**
   * One rotation in transactions of its own: atOnceTransaction for a live token (unless `used`:
   * the token was found used already), else hotTx, where reuse and the reuse grace are decided.
   */
  const rotateAlone = async <A, R extends object, N extends Rotation>(
    tokenHash: string,
    now: number,
    accept: (refresh: RefreshTokenRecord, grant: GrantRecord, user: UserRecord | undefined) => Verdict<A, R>,
    next: (refresh: RefreshTokenRecord, grant: GrantRecord, accepted: A) => N,
    grace: RefreshGrace | undefined,
    used: boolean,
  ): Promise<RotateResult<A, R, N>> => {
    if (atOnce && !used) {
      const outcome = await rotateAtOnce(atOnce, tokenHash, now, accept, next, grace);
      if (outcome) return outcome;
    }
    return hotTx(async (t) => {
      const found = await presented(t, tokenHash, now);
      if (found.status === 'done') return found.outcome;
      const { grant, refresh, reuse } = found;
      if (found.status === 'used') {
        if (!grace) return reuse();
        // Read under the grant's lock (PostgreSQL) or in the serialised transaction (SQLite):
        // the rotation that kept it has committed, and the successor's state is current.
        const kept = (await graceOf(t, [tokenHash])).rows[0];
        const within =
          kept !== undefined &&
          Number(kept.expires_at) > now &&
          kept.binding === grace.binding &&
          kept.s_token_hash !== null &&
          kept.s_used_at === null &&
          Number(kept.s_expires_at) > now &&
          grant.expiresAt > now;
        if (!within) return reuse();
        const verdict = accept(refresh, grant, found.user);
        if (!verdict.ok) return refused(verdict);
        return {
          status: 'replayed' as const,
          grant,
          accepted: verdict.value,
          replay: kept.response,
          rotatedAt: Number(kept.created_at),
        };
      }
      const verdict = accept(refresh, grant, found.user);
      if (!verdict.ok) return refused(verdict);
      if (rotationSql) {
        // Minted before the token is marked used: the statement writes nothing unless it marks
        // it, which the locks above make certain.
        const issued = next(refresh, grant, verdict.value);
        const write = rotationWrite(rotationSql, tokenHash, now, grant.id, issued, grace);
        const marked = await t.executeQuery<{ n: number }>(write);
        if (Number(marked.rows[0]?.n) !== 1) return reuse(); // cannot happen under the locks above; fail safe
        const previous = { ...refresh, usedAt: now };
        return { status: 'rotated' as const, grant, previous, accepted: verdict.value, issued };
      }
      const marked = await markRefreshUsed(t, [now, tokenHash]);
      if (Number(marked.numAffectedRows ?? 0) !== 1) return reuse(); // cannot happen under the locks above; fail safe
      const issued = next(refresh, grant, verdict.value);
      await insertRefresh(t, Object.values(refreshRow(issued.refresh)));
      await insertAccess(t, Object.values(accessRow(grant.id, issued.access)));
      if (grace) {
        // One replay per family: the token rotated before this one is no longer answered.
        await forgetGraceOfGrant(t, [grant.id]);
        if (issued.replay !== undefined) {
          const row = [tokenHash, grant.id, issued.refresh.tokenHash, grace.binding, issued.replay, now, grace.until];
          await insertGrace(t, row);
        }
      }
      const previous = { ...refresh, usedAt: now };
      return { status: 'rotated' as const, grant, previous, accepted: verdict.value, issued };
    });
  };
  // A grant's creation (every code redeemed): every column, so the values of grantRow line up.
  const insertGrant = statement((k) => k.insertInto('grants').values(grantRow(PLACEHOLDER_GRANT)));
  /**
   * Whether the replay mark read by a grant's creation is set; no row: the code is no longer stored, and cannot say it
   * was not.
   */
  const replayed = (rows: readonly { replayed_at: number | null }[]) => rows[0]?.replayed_at !== null;
  const replayMark = statement((k) =>
    k
      .selectFrom('auth_codes')
      .select('replayed_at')
      .where('code_hash', '=', '')
      .$if(pg, (q) => q.forUpdate()),
  );

  /**
   * Revokes every active grant of a client or a user in one transaction, in id order (one lock
   * order for concurrent callers).
   */
  const revokeWhere = (column: 'client_id' | 'user_id', value: string, now: number) =>
    tx(async (t) => {
      const grants = await t
        .selectFrom('grants')
        .select('id')
        .where(column, '=', value)
        .where('revoked_at', 'is', null)
        .orderBy('id')
        .execute();
      let revoked = 0;
      for (const { id } of grants) if (await revokeGrant(t, id, now)) revoked++;
      return revoked;
    });

  const getGrant = async (q: Db, id: string) => {
    const row = await q.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toGrant(row);
  };

  return {
    async listActiveByClient(clientId, now, limit) {
      return (
        await db
          .selectFrom('grants')
          .selectAll()
          .where('client_id', '=', clientId)
          .where('revoked_at', 'is', null)
          .where('expires_at', '>', now)
          .orderBy('created_at', 'desc')
          .orderBy('id', 'desc')
          .limit(Math.max(0, Math.floor(limit)))
          .execute()
      ).map(toGrant);
    },
    async countActive(now) {
      const row = await db
        .selectFrom('grants')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('expires_at', '>', now)
        .where('revoked_at', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    create: async (grant, refresh, access, sessionClient, redeemedCode) => {
      if (createAtOnce) {
        const values = [
          ...Object.values(grantRow(grant)),
          ...(refresh ? Object.values(refreshRow(refresh)) : []),
          ...(sessionClient ? sessionClientValues(sessionClient) : []),
          ...Object.values(accessRow(grant.id, access)),
          ...(redeemedCode !== undefined ? [redeemedCode] : []),
        ];
        const text = createText(refresh !== null, sessionClient !== undefined, redeemedCode !== undefined);
        const { rows } = await db.executeQuery<{ replayed_at: number | null }>(CompiledQuery.raw(text, values));
        return { codeReplayed: redeemedCode !== undefined && replayed(rows) };
      }
      return hotTx(async (t) => {
        await insertGrant(t, Object.values(grantRow(grant)));
        if (refresh) await insertRefresh(t, Object.values(refreshRow(refresh)));
        await insertAccess(t, Object.values(accessRow(grant.id, access)));
        if (sessionClient) await insertSessionClient(t, sessionClientValues(sessionClient));
        // SQLite serialises the transactions: a replay's mark came before this one, or after the grant.
        if (redeemedCode === undefined) return { codeReplayed: false };
        return { codeReplayed: replayed((await replayMark(t, [redeemedCode])).rows) };
      });
    },
    get: (id) => getGrant(db, id),
    async getRefresh(tokenHash) {
      const row = await db
        .selectFrom('refresh_tokens')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      if (!row) return undefined;
      const grant = await getGrant(db, row.grant_id);
      return grant && { refresh: toRefresh(row), grant };
    },
    /**
     * Lock order (PostgreSQL): the grant row first (found through the token), then the token row —
     * the same order as revokeGrant(), so rotations and revocations of one family queue up on the
     * grant lock instead of deadlocking. Whoever comes second sees the first one's writes (READ
     * COMMITTED re-reads after the lock). In SQLite, BEGIN IMMEDIATE serialises the transaction.
     * A 'reused' outcome commits its revocation (we return, never throw, from that branch).
     * The grant's user is read in the same transaction, for `accept` and the token response.
     */
    rotate: <A, R extends object, N extends Rotation>(
      tokenHash: string,
      now: number,
      accept: (refresh: RefreshTokenRecord, grant: GrantRecord, user: UserRecord | undefined) => Verdict<A, R>,
      next: (refresh: RefreshTokenRecord, grant: GrantRecord, accepted: A) => N,
      grace?: RefreshGrace,
    ): Promise<RotateResult<A, R, N>> => {
      if (!rotateInBatch) return rotateAlone(tokenHash, now, accept, next, grace, false);
      const judge = (found: ReturnType<typeof split> | undefined): Judged<BatchWrite, RotateResult<A, R, N>> => {
        if (!found || found.gRow.revoked_at !== null) return { outcome: INVALID };
        if (found.rRow.used_at !== null) return { alone: true };
        const grant = toGrant(found.gRow);
        const refresh = toRefresh(found.rRow);
        const verdict = accept(refresh, grant, found.uRow && toUser(found.uRow));
        if (!verdict.ok) return { outcome: refused(verdict) };
        const issued = next(refresh, grant, verdict.value);
        const previous = { ...refresh, usedAt: now };
        return {
          write: { now, grantId: grant.id, issued, grace },
          outcome: { status: 'rotated', grant, previous, accepted: verdict.value, issued },
        };
      };
      return rotateInBatch({
        tokenHash,
        judge,
        alone: (used) => rotateAlone(tokenHash, now, accept, next, grace, used),
      } as Parameters<typeof rotateInBatch>[0]) as Promise<RotateResult<A, R, N>>;
    },
    /** Same locks and order as rotate(); the token row is updated in place instead of marked used. */
    useRefresh: async (tokenHash, now, idleExpiresAt, accept, next) => {
      if (atOnce) {
        const outcome = await useAtOnce(atOnce, tokenHash, idleExpiresAt, accept, next);
        if (outcome) return outcome;
      }
      return hotTx(async (t) => {
        const found = await presented(t, tokenHash, now);
        if (found.status === 'done') return found.outcome;
        if (found.status === 'used') return found.reuse();
        const { grant, refresh } = found;
        const verdict = accept(refresh, grant, found.user);
        if (!verdict.ok) return refused(verdict);
        const expiresAt = Math.min(idleExpiresAt, grant.expiresAt);
        await t
          .updateTable('refresh_tokens')
          .set({ expires_at: expiresAt })
          .where('token_hash', '=', tokenHash)
          .where('used_at', 'is', null)
          .execute();
        const issued = next(refresh, grant, verdict.value);
        await insertAccess(t, Object.values(accessRow(grant.id, issued)));
        return { status: 'used' as const, grant, refresh: { ...refresh, expiresAt }, accepted: verdict.value, issued };
      });
    },
    revoke: (id, now) => tx((t) => revokeGrant(t, id, now)),
    revokeByUserAndClient: (userId, clientId, now) =>
      tx(async (t) => {
        const grants = await t
          .selectFrom('grants')
          .select('id')
          .where('user_id', '=', userId)
          .where('client_id', '=', clientId)
          .where('revoked_at', 'is', null)
          .orderBy('id')
          .execute(); // one lock order for concurrent callers
        let revoked = 0;
        for (const { id } of grants) if (await revokeGrant(t, id, now)) revoked++;
        return revoked;
      }),
    revokeByClient: (clientId, now) => revokeWhere('client_id', clientId, now),
    revokeByUser: (userId, now) => revokeWhere('user_id', userId, now),
    async findByAccessToken(jti) {
      const row = await db.selectFrom('access_tokens').select('grant_id').where('jti', '=', jti).executeTakeFirst();
      return row ? getGrant(db, row.grant_id) : undefined;
    },
    /**
     * Takes the grant row's lock (PostgreSQL) before inserting, so a revocation in flight is either
     * waited for or sees the new row.
     */
    addAccessToken: (grantId, access) =>
      tx(async (t) => {
        const grant = await t
          .selectFrom('grants')
          .select('revoked_at')
          .where('id', '=', grantId)
          .$if(pg, (q) => q.forUpdate())
          .executeTakeFirst();
        if (!grant || grant.revoked_at !== null) return false;
        await t.insertInto('access_tokens').values(accessRow(grantId, access)).execute();
        return true;
      }),
    async listActiveByUser(userId, now) {
      return (
        await db
          .selectFrom('grants')
          .selectAll()
          .where('user_id', '=', userId)
          .where('revoked_at', 'is', null)
          .where('expires_at', '>', now)
          .orderBy('created_at')
          .orderBy('id')
          .execute()
      ).map(toGrant);
    },
  };
}
