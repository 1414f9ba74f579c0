// The per-minute figures of the console's dashboard (issue 20): tokens issued, sign-ins that passed
// and sign-ins that failed, counted in memory from the protocol's events and added to the stats store
// (`stores.stats.add`) once a minute and at shutdown. Every instance adds to the same rows, so the
// dashboard shows one total for all instances behind a load balancer, not whichever answered.
import type { Logger } from 'pino';
import type { StatsStore } from '../ports/admin.ts';
import type { ProtocolEvent } from '../protocol/events.ts';

/** The figures, by the name they are stored under. */
export const STAT_NAMES = ['tokens_issued', 'sign_ins_ok', 'sign_ins_failed'] as const;
export type StatName = (typeof STAT_NAMES)[number];

/**
 * Which figure an event counts toward, if any. A sign-in is counted once per factor checked: the
 * password (or a passkey, or an upstream provider) that passed or failed, and a second factor that
 * failed. Throttled attempts were not checked and are not counted (the metrics count them).
 */
export function statOf(e: ProtocolEvent): StatName | undefined {
  switch (e.type) {
    case 'token_issued':
    case 'token_exchanged':
      return 'tokens_issued';
    case 'login_succeeded':
    case 'upstream_login_succeeded':
      return 'sign_ins_ok';
    case 'login_failed':
    case 'passkey_login_failed':
    case 'upstream_login_failed':
    case 'second_factor_failed':
      return 'sign_ins_failed';
    default:
      return undefined;
  }
}

export interface StatsWriter {
  /** Counts the event (cheap: a map lookup); never waits. */
  event(e: ProtocolEvent): void;
  /** Adds what was counted to the store now (each minute's figures to its row). */
  flush(): Promise<void>;
  /** Stops the timer and adds what was counted (call before closing the stores). */
  close(): Promise<void>;
}

export interface StatsWriterOptions {
  /** Epoch milliseconds (default Date.now): which minute an event falls in. */
  clock?: () => number;
  /** How often the counts are written, ms (default 60 000); 0: only on flush/close. */
  intervalMs?: number;
  /** Most minutes kept while the store cannot be written (default 120); older ones are dropped and logged. */
  maxMinutes?: number;
}

/**
 * Counts events per minute in memory and adds them to `store` on a timer. A failed write keeps the
 * counts for the next attempt (their minutes are not lost; at most `maxMinutes` minutes are held),
 * and is logged without the figures.
 */
export function createStatsWriter(store: StatsStore, log: Logger, opts: StatsWriterOptions = {}): StatsWriter {
  const { clock = Date.now, intervalMs = 60_000, maxMinutes = 120 } = opts;
  /** minute (epoch seconds, a multiple of 60) → figure → count. */
  let pending = new Map<number, Record<string, number>>();
  let writing: Promise<void> | undefined;

  const flush = async (): Promise<void> => {
    // One write at a time; a flush asked for meanwhile waits for it, then writes what came since.
    while (writing !== undefined) await writing;
    if (pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    writing = (async () => {
      const left = [...batch].sort(([a], [b]) => a - b);
      try {
        while (left.length) {
          const [minute, values] = left[0]!;
          await store.add(minute, values);
          left.shift();
        }
      } catch (err) {
        // Keep what was not written: merged back ahead of what was counted meanwhile.
        for (const [minute, values] of left) {
          const into = pending.get(minute) ?? {};
          for (const [k, v] of Object.entries(values)) into[k] = (into[k] ?? 0) + v;
          pending.set(minute, into);
        }
        if (pending.size > maxMinutes) {
          const minutes = [...pending.keys()].sort((a, b) => a - b);
          const dropped = minutes.slice(0, pending.size - maxMinutes);
          for (const m of dropped) pending.delete(m);
          log.warn({ event: 'stats_dropped', minutes: dropped.length }, 'per-minute figures dropped');
        }
        log.warn({ event: 'stats_write_failed', err: String(err) }, 'per-minute figures not written; retrying later');
      }
    })();
    try {
      await writing;
    } finally {
      writing = undefined;
    }
  };

  const timer = intervalMs > 0 ? setInterval(() => void flush().catch(() => {}), intervalMs) : undefined;
  timer?.unref();

  return {
    event(e) {
      const name = statOf(e);
      if (!name) return;
      const minute = Math.floor(clock() / 60_000) * 60;
      let values = pending.get(minute);
      if (!values) pending.set(minute, (values = {}));
      values[name] = (values[name] ?? 0) + 1;
    },
    flush,
    async close() {
      if (timer) clearInterval(timer);
      await flush();
    },
  };
}
