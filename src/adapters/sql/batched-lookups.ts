// Batched lookups and writes: the lookups (or hot single writes) of one event-loop turn (the
// requests read from the sockets that were ready together) go to the database as one statement.
// See docs/architecture.md, Storage.
import { BackendUnavailableError } from '../../ports/unavailable.ts';

/** Most keys one batched lookup asks for in one statement by default (SQLite: an IN list of placeholders). */
export const BATCH_LOOKUP_MAX = 64;

/**
 * Most keys one PostgreSQL batched lookup asks for in one statement: one array parameter, so the
 * limit is only the statement's size (32 connections' requests of a turn, a few keys each, fit).
 */
export const PG_BATCH_MAX = 512;

/**
 * Lookups by key asked for in one turn of the event loop (the requests read from the sockets that
 * were ready together) are answered by one `select` of many keys: SQLite `WHERE key IN (...)`,
 * PostgreSQL `WHERE key = any($1)`. A SQLite statement takes and releases the WAL read lock (two
 * system calls) and goes through Kysely's connection handling; a PostgreSQL statement is a round
 * trip (a write and a read on the socket, the server's own work per statement). The most requested
 * lookups (revoked access tokens, users) pay that once per batch instead of once per request. Each
 * key is asked for once per batch however many callers want it; each caller gets its own answer. A
 * failed statement fails every lookup of its batch (with the statement's error: unavailable storage
 * stays StorageUnavailableError). `max`: most keys per statement (more make several statements).
 */
export function batchedLookup<R>(
  select: (keys: string[]) => Promise<R[]>,
  keyOf: (row: R) => string,
  max = BATCH_LOOKUP_MAX,
): (key: string) => Promise<R | undefined> {
  let pending: Map<string, { resolve: (row: R | undefined) => void; reject: (err: unknown) => void }[]> | undefined;
  const run = async (keys: string[]): Promise<Map<string, R>> =>
    new Map((await select(keys)).map((r) => [keyOf(r), r]));
  const answer = async (batch: NonNullable<typeof pending>, chunk: string[]) => {
    try {
      const found = await run(chunk);
      for (const k of chunk) for (const w of batch.get(k)!) w.resolve(found.get(k));
    } catch (err) {
      for (const k of chunk) for (const w of batch.get(k)!) w.reject(err);
    }
  };
  const flush = () => {
    const batch = pending!;
    pending = undefined;
    const keys = [...batch.keys()];
    if (keys.length <= max) return void answer(batch, keys);
    // The chunks of a large batch one after the other: one connection's worth of work at a time.
    void (async () => {
      for (let i = 0; i < keys.length; i += max) await answer(batch, keys.slice(i, i + max));
    })();
  };
  return (key) =>
    new Promise((resolve, reject) => {
      if (!pending) {
        pending = new Map();
        setImmediate(flush);
      }
      const waiting = pending.get(key);
      if (waiting) waiting.push({ resolve, reject });
      else pending.set(key, [{ resolve, reject }]);
    });
}

/** A batched write: the statement of many items, and that of one. */
export interface BatchedWrite<T> {
  /** The items' statement, atomic by itself. */
  many(items: T[]): Promise<void>;
  /** One item's own statement: a batch of one, a failed batch's items. */
  one(item: T): Promise<void>;
  /** Most items per statement (more make several statements, one after the other). */
  max: number;
}

/**
 * Hot single writes asked for in one turn of the event loop (PostgreSQL: a code's insert) run as
 * one statement of many rows: one round trip and one commit for the turn instead of one each.
 * The statement is atomic, so a batch is stored whole or not at all, and each caller learns once
 * it is. Unavailable storage, or an answer lost, fails every item of the batch with that error
 * (the statement may have committed: running an item again would store it twice or fail on its
 * key). Any other error is the statement's, which stored nothing: each item then runs alone (side
 * by side, as they would have without the batch), so that one item's failure is its own only.
 */
export function batchedWrite<T>(w: BatchedWrite<T>): (item: T) => Promise<void> {
  type Job = { item: T; resolve: () => void; reject: (err: unknown) => void };
  let pending: Job[] | undefined;
  const alone = (job: Job) => w.one(job.item).then(job.resolve, job.reject);
  const run = async (jobs: Job[]) => {
    if (jobs.length === 1) return alone(jobs[0]!);
    try {
      await w.many(jobs.map((j) => j.item));
      for (const j of jobs) j.resolve();
    } catch (err) {
      if (err instanceof BackendUnavailableError) for (const j of jobs) j.reject(err);
      else await Promise.all(jobs.map(alone));
    }
  };
  const flush = async () => {
    const jobs = pending!;
    pending = undefined;
    for (let i = 0; i < jobs.length; i += w.max) await run(jobs.slice(i, i + w.max));
  };
  return (item) =>
    new Promise<void>((resolve, reject) => {
      if (!pending) {
        pending = [];
        setImmediate(() => void flush());
      }
      pending.push({ item, resolve, reject });
    });
}
