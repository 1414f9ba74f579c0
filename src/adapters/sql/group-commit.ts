// Group commit for SQLite, which serves a whole process through one connection: the write
// transactions of one event-loop turn (the requests read from the sockets that were ready
// together) share one commit. See docs/architecture.md, Storage.
import type { Transaction } from 'kysely';
import type { Schema } from './schema.ts';

/** Most transactions one group commit takes in (a bound on how long the first one waits). */
const GROUP_COMMIT_MAX = 32;

type Tx = <T>(fn: (t: Transaction<Schema>) => Promise<T>) => Promise<T>;

/**
 * Group commit for SQLite (one connection, so its transactions run one after the other anyway):
 * a transaction asked for while another group is running waits for the next group; a group runs
 * the waiting ones in one BEGIN IMMEDIATE ... COMMIT, one after the other. Callers learn their
 * result once the COMMIT has succeeded. Should any of them throw, or the commit fail, the whole
 * group is rolled back and each of its transactions runs again in a transaction of its own, so
 * one failure fails only its own caller: the results callers get are always those of the run
 * that was committed. Transactions run this way must therefore be safe to run twice (they only
 * read and write the database, and compute their results from what they read).
 *
 * Optimistic rather than a savepoint per transaction: SAVEPOINT and RELEASE are two statements
 * more for every rotation, and failures are rare (storage errors).
 */
export function groupCommit(tx: Tx): Tx {
  type Job = {
    fn: (t: Transaction<Schema>) => Promise<unknown>;
    resolve: (v: unknown) => void;
    reject: (e: unknown) => void;
  };
  let waiting: Job[] = [];
  let running = false;
  const runGroup = async (): Promise<void> => {
    while (waiting.length) {
      const group = waiting.slice(0, GROUP_COMMIT_MAX);
      waiting = waiting.slice(group.length);
      let values: unknown[];
      try {
        values = await tx(async (t) => {
          const out: unknown[] = [];
          for (const job of group) out.push(await job.fn(t));
          return out;
        });
      } catch (error) {
        if (group.length === 1) group[0]!.reject(error);
        else {
          for (const job of group) {
            try {
              job.resolve(await tx(job.fn));
            } catch (err) {
              job.reject(err);
            }
          }
        }
        continue;
      }
      group.forEach((job, i) => job.resolve(values[i]));
    }
    running = false;
  };
  return <T>(fn: (t: Transaction<Schema>) => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      waiting.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      // node:sqlite answers synchronously, so a group started at once would commit before the
      // requests already read from other sockets reach it: start it after this turn's I/O instead.
      if (!running) {
        running = true;
        setImmediate(runGroup);
      }
    });
}
