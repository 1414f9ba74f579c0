// The open-loop load generator (`--latency`): requests sent on a fixed schedule whatever the
// server does, each one's latency counted from the moment it was due. Runs
// bench/load/open-worker.ts as a separate process on the load generator's core.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Machine } from '../lib/machine.ts';
import { runPinned } from './child.ts';
import type { Percentiles } from './open-histogram.ts';
import type { HttpWorkload } from './types.ts';

export interface OpenLoopJob {
  workload: HttpWorkload;
  /** Requests per second once the ramp is over. */
  rate: number;
  /** Seconds over which the rate rises linearly from 0 (those requests are sent but not measured). */
  rampS: number;
  /** Seconds measured at `rate`. */
  durationS: number;
  /** A request not answered this long after it was due is an error (and its connection is closed). */
  timeoutMs: number;
  /** Open connections, most; beyond, due requests wait in the generator (and that wait counts as latency). */
  maxConnections: number;
  /**
   * Stop as soon as the step cannot pass any more: an error, or more than 1% of the measured requests
   * already at or above this latency (so p99 >= sloMs whatever comes next). Unset: always run to the end.
   */
  stopWhenFailedMs?: number;
}

export interface OpenLoopResult {
  rate: number;
  durationS: number;
  /** Requests due in the measured part of the schedule. */
  scheduled: number;
  /** Of those, handed to a connection (or to the generator's queue when every connection was busy). */
  dispatched: number;
  /** Answered with the expected status. */
  ok: number;
  errors: { status: number; socket: number; timeout: number };
  firstError?: string;
  /** Dispatched requests per second of the measured part (longer when the generator fell behind). */
  achievedRate: number;
  /** ok over the measured seconds. */
  okRate: number;
  /** Completion minus due time, of every measured request answered or timed out (unanswered ones at a stop early). */
  latency: Percentiles;
  /** How late the generator was in dispatching each measured request against its due time. */
  lag: Percentiles;
  /**
   * Completion minus the time the generator dispatched the request: the latency without the generator's own
   * lateness (still counting any wait for a connection). It tells a slow server from a late generator.
   */
  fromSend: Percentiles;
  /** Event-loop delay of the generator (timer lateness), p99, ms. */
  loopDelayP99Ms: number;
  connections: { initial: number; opened: number; peakOpen: number; peakBusy: number; capReached: boolean };
  /** Requests that waited in the generator for a connection, most at once. */
  peakQueued: number;
  /** Errors in the unmeasured ramp. */
  rampErrors: number;
  /** Seconds into the measured part at which the step was stopped because it could no longer pass. */
  stoppedEarlyS?: number;
  /** CPU the generator process used over its whole life, percent of one core. */
  cpuPct: number;
}

export async function runOpenLoop(pinning: Machine['pinning'], job: OpenLoopJob): Promise<OpenLoopResult> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-open-'));
  try {
    const file = join(dir, 'job.json');
    // A file, not an argument: the workload holds client secrets and tokens.
    writeFileSync(file, JSON.stringify(job), { mode: 0o600 });
    const { json } = await runPinned(
      pinning,
      process.execPath,
      ['bench/load/open-worker.ts', file],
      (job.rampS + job.durationS + job.timeoutMs / 1000 + 60) * 1000,
    );
    return json as OpenLoopResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
