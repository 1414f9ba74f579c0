import type { ReplayStore } from '../../ports/replay.ts';
import type { SqlContext } from './statements.ts';

export function createSqlReplayStore({ statement, hotWrite }: SqlContext): ReplayStore {
  const claimReplay = statement((k) =>
    k
      .insertInto('replay_entries')
      .values({ key: '', expires_at: 0 })
      .onConflict((oc) =>
        oc
          .column('key')
          .doUpdateSet({ expires_at: (eb) => eb.ref('excluded.expires_at') })
          .where('replay_entries.expires_at', '<=', 0),
      )
      .returning('key'),
  );
  return {
    /** One upsert: a new key is inserted; an expired one is taken over; a live one returns no row. */
    async claim(key, expiresAt, now) {
      if (key.length > 512) throw new Error('replay key longer than 512 characters');
      const row = await hotWrite((q) => claimReplay(q, [key, expiresAt, now]));
      return row.rows.length === 1;
    },
  };
}
