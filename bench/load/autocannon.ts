// autocannon driver: used when wrk is not installed (CI), and for loads at a constant rate (the
// soak). Runs bench/load/autocannon-worker.ts as a separate process on the load generator's core.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Machine } from '../lib/machine.ts';
import { runPinned } from './child.ts';
import type { LoadDriver, LoadOptions, LoadResult, LoadWindow, Workload } from './types.ts';

export function autocannonDriver(pinning: Machine['pinning']): LoadDriver {
  return {
    name: 'autocannon',
    async run(w: Workload, o: LoadOptions, onWindow?: (w: LoadWindow) => void): Promise<LoadResult> {
      if (w.kind === 'flow') throw new Error('autocannon does not run flows');
      if (w.kind === 'refresh' && w.tokens.length < o.connections)
        throw new Error(`refresh needs ${o.connections} tokens, got ${w.tokens.length}`);
      const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-ac-'));
      try {
        const file = join(dir, 'job.json');
        writeFileSync(file, JSON.stringify({ workload: w, options: o }));
        const { json } = await runPinned(
          pinning,
          process.execPath,
          ['bench/load/autocannon-worker.ts', file],
          (o.durationS + 60) * 1000,
          onWindow as ((json: unknown) => void) | undefined,
        );
        return json as LoadResult;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
