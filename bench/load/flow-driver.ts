// Runs bench/load/flow-worker.ts as a separate process on the load generator's core.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Machine } from '../lib/machine.ts';
import { runPinned } from './child.ts';
import type { LoadDriver, LoadOptions, LoadResult, Workload } from './types.ts';

export function flowDriver(pinning: Machine['pinning']): LoadDriver {
  return {
    name: 'flow-driver',
    async run(w: Workload, o: LoadOptions): Promise<LoadResult> {
      if (w.kind !== 'flow') throw new Error('the flow driver runs flows only');
      const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-flow-'));
      try {
        const file = join(dir, 'job.json');
        writeFileSync(file, JSON.stringify({ workload: w, options: o }));
        const { json } = await runPinned(
          pinning,
          process.execPath,
          ['bench/load/flow-worker.ts', file],
          (o.durationS + 120) * 1000,
        );
        return json as LoadResult;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
