import { sql } from 'kysely';
import type { KeyState, KeyStore, SigningKeyRecord } from '../../ports/keys.ts';
import type { SigningKeysTable } from './schema.ts';
import { count, json, type Row, type SqlContext } from './statements.ts';

const keyRow = (k: SigningKeyRecord): SigningKeysTable => ({
  kid: k.kid,
  alg: k.alg,
  state: k.state,
  public_jwk: json(k.publicJwk),
  private_jwe: k.privateJwe,
  created_at: k.createdAt,
  retired_at: k.retiredAt,
  activates_at: k.activatesAt,
});
const toKey = (r: Row<SigningKeysTable>): SigningKeyRecord => ({
  kid: r.kid,
  alg: r.alg,
  state: r.state as KeyState,
  publicJwk: JSON.parse(r.public_jwk),
  privateJwe: r.private_jwe,
  createdAt: r.created_at,
  retiredAt: r.retired_at,
  activatesAt: r.activates_at,
});

/** Thrown inside a promotion's transaction to roll back the first update. */
class NotPromoted extends Error {}

export function createSqlKeyStore({ db, tx }: SqlContext): KeyStore {
  return {
    async list() {
      return (await db.selectFrom('signing_keys').selectAll().orderBy('created_at').orderBy('kid').execute()).map(
        toKey,
      );
    },
    /**
     * A partial unique index allows one key in state 'active' per algorithm. With `onlyIfNoActive`
     * a conflict on it makes the insert a no-op (false); without, inserting a second active key of
     * an algorithm throws — rotate by inserting the new key retired (or setState(old, 'retired')
     * first), then activating it.
     */
    insert: (key, onlyIfNoActive) =>
      tx(async (t) => {
        if (!onlyIfNoActive) {
          await t.insertInto('signing_keys').values(keyRow(key)).execute();
          return true;
        }
        const active = await t
          .selectFrom('signing_keys')
          .select('kid')
          .where('state', '=', 'active')
          .where('alg', '=', key.alg)
          .executeTakeFirst();
        if (active) return false;
        const inserted = await t
          .insertInto('signing_keys')
          .values(keyRow(key))
          .onConflict((oc) => oc.columns(['alg', 'state']).where('state', '=', sql.lit('active')).doNothing())
          .returning('kid')
          .executeTakeFirst();
        return inserted !== undefined;
      }),
    rotate: (expectedActive, next, graceUntil) =>
      tx(async (t) => {
        const moved = await t
          .updateTable('signing_keys')
          .set({ state: 'grace', retired_at: graceUntil })
          .where('kid', '=', expectedActive)
          .where('state', '=', 'active')
          .where('alg', '=', next.alg)
          .executeTakeFirst();
        if (count(moved) !== 1) return false;
        const activatesAt = next.activatesAt ?? next.createdAt;
        await t
          .insertInto('signing_keys')
          .values(keyRow({ ...next, state: 'active', retiredAt: null, activatesAt }))
          .execute();
        return true;
      }),
    /** One prepublished key per algorithm at most (partial unique index): a conflict makes the insert a no-op. */
    async prepublish(key) {
      const inserted = await db
        .insertInto('signing_keys')
        .values(keyRow({ ...key, state: 'prepublished', retiredAt: null }))
        .onConflict((oc) => oc.columns(['alg', 'state']).where('state', '=', sql.lit('prepublished')).doNothing())
        .returning('kid')
        .executeTakeFirst();
      return inserted !== undefined;
    },
    promote: (expectedActive, next, graceUntil, now) =>
      tx(async (t) => {
        const moved = await t
          .updateTable('signing_keys')
          .set({ state: 'grace', retired_at: graceUntil })
          .where('kid', '=', expectedActive)
          .where('state', '=', 'active')
          .returning('alg')
          .executeTakeFirst();
        if (!moved) return false;
        const promoted = await t
          .updateTable('signing_keys')
          .set({ state: 'active', activates_at: now, retired_at: null })
          .where('kid', '=', next)
          .where('state', '=', 'prepublished')
          .where('alg', '=', moved.alg)
          .executeTakeFirst();
        if (count(promoted) !== 1) throw new NotPromoted();
        return true;
      }).catch((err: unknown) => {
        if (err instanceof NotPromoted) return false;
        throw err;
      }),
    async demote(kid, graceUntil) {
      return (
        count(
          await db
            .updateTable('signing_keys')
            .set({ state: 'grace', retired_at: graceUntil })
            .where('kid', '=', kid)
            .where('state', '=', 'active')
            .executeTakeFirst(),
        ) === 1
      );
    },
    async retire(kid, now, { early }) {
      let q = db.updateTable('signing_keys').set({ state: 'retired', retired_at: now }).where('kid', '=', kid);
      q = early
        ? q.where('state', 'in', ['grace', 'prepublished'])
        : q.where('state', '=', 'grace').where('retired_at', '<=', now);
      return count(await q.executeTakeFirst()) === 1;
    },
    async rewrap(kid, expectedJwe, nextJwe) {
      return (
        count(
          await db
            .updateTable('signing_keys')
            .set({ private_jwe: nextJwe })
            .where('kid', '=', kid)
            .where('private_jwe', '=', expectedJwe)
            .executeTakeFirst(),
        ) === 1
      );
    },
    /** Activating a key while another is active violates the one-active index: retire the old one first. */
    async setState(kid, state, now) {
      await db
        .updateTable('signing_keys')
        .set({ state, retired_at: state === 'retired' ? now : null })
        .where('kid', '=', kid)
        .execute();
    },
  };
}
