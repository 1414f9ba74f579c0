// Refresh-token rotations on PostgreSQL in batches: the rotations asked for during one turn of the
// event loop share one transaction, two round trips in all. See docs/architecture.md, Storage.
import { BackendUnavailableError } from '../../ports/unavailable.ts';

/** Most rotations one batch takes in: a bound on the statements' size and on how long locks are held. */
export const ROTATION_BATCH_MAX = 128;

/** Batches in flight at once: each holds a pooled connection, and the next one gathers meanwhile. */
export const ROTATION_BATCHES_IN_FLIGHT = 2;

/** One rotation asked for of a batch. */
export interface BatchedRotation<F, W, O> {
  tokenHash: string;
  /** What to make of the token's row read under the batch's locks (undefined: no such token). */
  judge: (found: F | undefined) => Judged<W, O>;
  /** The rotation run on its own, outside any batch; `used`: the token was found used already. */
  alone: (used: boolean) => Promise<O>;
}

/**
 * What a rotation makes of its rows: an outcome with nothing to write (unknown, revoked, refused),
 * `alone` (used already: the rotation runs on its own, after the batch, where reuse and the reuse
 * grace are decided), or its writes and the outcome they give once committed.
 */
export type Judged<W, O> = { outcome: O } | { alone: true } | { write: W; outcome: O };

/** The database work of a batch, on one connection of the pool. */
export interface BatchStatements<C, F, W> {
  /** Runs `fn` on one pooled connection, released when it settles. */
  connection<T>(fn: (c: C) => Promise<T>): Promise<T>;
  /**
   * BEGIN and the rows of the presented tokens, locked (grants in id order, then the tokens): the
   * row of each token found, by its hash, each with its grant's id.
   */
  read(c: C, tokenHashes: string[]): Promise<Map<string, { grantId: string; found: F }>>;
  /** The writes, then COMMIT: the hashes of the tokens the writes marked used. */
  write(c: C, writes: { tokenHash: string; write: W }[]): Promise<Set<string>>;
  rollback(c: C): Promise<void>;
}

/**
 * Rotations gathered per turn of the event loop (the requests read from the sockets that were
 * ready together) and run as one transaction: one statement begins it and reads every presented
 * token with its grant under their locks, the rotations are judged in the process, and one
 * statement writes every rotation and commits. Two round trips and one commit (one WAL flush)
 * for the batch instead of for each rotation; the grants are locked in id order, the order every
 * other transaction that locks several takes, so batches in flight at once do not deadlock.
 *
 * What a batch does not decide runs on its own afterwards (its `alone`): a token
 * used already (reuse, or the reuse grace, decided under the family's lock by the one-rotation
 * path), a second presentation of a token or a second token of one grant in the same batch (the
 * first one's rotation must be committed before the next is judged), a rotation whose write did
 * not mark its token. Callers learn their outcome once the batch has committed. A `judge` that
 * throws fails its own rotation only, which then writes nothing; for a batch that fails, see run().
 */
export function rotationBatches<C, F, W, O>(
  statements: BatchStatements<C, F, W>,
): (rotation: BatchedRotation<F, W, O>) => Promise<O> {
  type Job = BatchedRotation<F, W, O> & { resolve: (outcome: O) => void; reject: (err: unknown) => void };
  let waiting: Job[] = [];
  let inFlight = 0;
  let scheduled = false;

  const alone = (job: Job, used: boolean) => job.alone(used).then(job.resolve, job.reject);

  const run = async (jobs: Job[]) => {
    const later: { job: Job; used: boolean }[] = [];
    const settled: (() => void)[] = [];
    const batch: Job[] = [];
    const hashes = new Set<string>();
    for (const job of jobs) {
      if (hashes.has(job.tokenHash)) later.push({ job, used: false });
      else {
        hashes.add(job.tokenHash);
        batch.push(job);
      }
    }
    try {
      await statements.connection(async (c) => {
        let open = true;
        try {
          const rows = await statements.read(c, [...hashes]);
          const grants = new Set<string>();
          const writes: { job: Job; tokenHash: string; write: W; outcome: O }[] = [];
          for (const job of batch) {
            const row = rows.get(job.tokenHash);
            if (row && grants.has(row.grantId)) {
              later.push({ job, used: false });
              continue;
            }
            if (row) grants.add(row.grantId);
            let judged: Judged<W, O>;
            try {
              judged = job.judge(row?.found);
            } catch (err) {
              settled.push(() => job.reject(err));
              continue;
            }
            if ('alone' in judged) later.push({ job, used: true });
            else if ('write' in judged)
              writes.push({ job, tokenHash: job.tokenHash, write: judged.write, outcome: judged.outcome });
            else settled.push(() => job.resolve(judged.outcome));
          }
          if (writes.length) {
            const marked = await statements.write(c, writes);
            open = false;
            for (const w of writes) {
              if (marked.has(w.tokenHash)) settled.push(() => w.job.resolve(w.outcome));
              else later.push({ job: w.job, used: true });
            }
          } else {
            open = false;
            await statements.rollback(c);
          }
        } catch (err) {
          if (open) await statements.rollback(c).catch(() => {});
          throw err;
        }
      });
    } catch (err) {
      // The database unreachable, or its answer lost (a COMMIT's among them: the batch may have
      // committed, and trying again would take its rotations for reuse): every rotation of the
      // batch fails with it, as a rotation alone would. Any other error is a statement's, which
      // ended the transaction without committing it: each rotation then runs alone, so that one
      // rotation's failure (its callback, a value its writes cannot store) is its own only.
      if (err instanceof BackendUnavailableError) for (const job of jobs) job.reject(err);
      else for (const job of jobs) void alone(job, false);
      return;
    }
    for (const s of settled) s();
    // Not waited for: the batch's place is free for the next one meanwhile, so that many
    // presentations of one token (each left to run alone) delay only their own presenter.
    for (const { job, used } of later) void alone(job, used);
  };

  const flush = () => {
    scheduled = false;
    if (inFlight >= ROTATION_BATCHES_IN_FLIGHT || !waiting.length) return;
    const jobs = waiting.slice(0, ROTATION_BATCH_MAX);
    waiting = waiting.slice(jobs.length);
    inFlight++;
    const done = () => {
      inFlight--;
      schedule();
    };
    // One rotation alone costs the same two round trips without the arrays.
    if (jobs.length === 1) alone(jobs[0]!, false).then(done, done);
    else run(jobs).then(done, done);
    schedule();
  };
  const schedule = () => {
    if (scheduled || !waiting.length || inFlight >= ROTATION_BATCHES_IN_FLIGHT) return;
    scheduled = true;
    setImmediate(flush);
  };

  return (rotation) =>
    new Promise<O>((resolve, reject) => {
      waiting.push({ ...rotation, resolve, reject });
      schedule();
    });
}
