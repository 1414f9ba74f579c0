import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * The Node and V8 flags Tessera's server runs with (`npm start`, the container image and the
 * benchmark start it with them; cluster workers inherit them). Both are about memory under a
 * steady load (the benchmark's soak measures it; docs/performance.md has the runs).
 *
 * - A young generation of a fixed 2 x 16 MB from the start. Tessera's live heap is small (about
 *   30 MB under load), but V8 grows the young generation with the allocation rate and keeps it:
 *   RSS rose by about 60 MB in steps for minutes.
 * - One V8 background thread instead of Node's default four. V8 runs concurrent marking and
 *   compilation on them, and glibc's malloc gives each thread its own arena, which keeps what the
 *   largest job it ran needed: with four, RSS still grew 1.2 to 1.35 MB a minute ten minutes into
 *   the soak of two instances; with one, 0.57 and 0.73, flat after about three minutes. A heap
 *   this small gains little from more parallel collector threads, and where the server has one
 *   core (a container's CPU limit, or the benchmark's pinning) four threads only take turns on it;
 *   requests per second were the same within the machine's noise.
 */
export const NODE_FLAGS = ['--min-semi-space-size=16', '--max-semi-space-size=16', '--v8-pool-size=1'] as const;

/**
 * What `npm start`, the container image and the benchmark run with NODE_FLAGS: the launcher that
 * enables Node's compile cache before src/main.ts loads (bin/server.js says why).
 */
export const SERVER_ENTRY = 'bin/server.js';

/**
 * Called once the server listens (src/main.ts): one full garbage collection that reduces the
 * memory footprint, as V8's own memory reducer would after some idle seconds. Starting up (the
 * modules, the configuration, migrations, the bootstrap file) allocates far more than it keeps, and
 * passes through the whole young generation, so its 2 x 16 MB stay resident until then; this
 * gives those pages back (about 30 MB of idle RSS) and the young generation is paged in again only
 * under load, to the same fixed size. V8's collector is reached through a fresh context made while
 * `--expose-gc` is briefly set, so no global `gc` is left to the server's code or its dependencies.
 * Takes some tens of milliseconds, once.
 */
export function releaseStartupMemory(): void {
  setFlagsFromString('--expose-gc');
  let gc: ((options: object) => void) | undefined;
  try {
    gc = runInNewContext('gc') as (options: object) => void;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}
