// The authorization-code flow load: `concurrency` browsers, each running complete flows back to
// back until the duration is over. Flows still running then are finished and counted, and the
// duration is measured until the last one ends, so server CPU per flow stays consistent.
// Argument: a JSON file of { workload, options }. Prints one JSON report.
import { readFileSync } from 'node:fs';
import { CookieJar, codeFlow } from '../lib/flow.ts';
import { MARKER } from './child.ts';
import { percentile } from './stats.ts';
import type { FlowWorkload, LoadOptions } from './types.ts';

const { workload: w, options: o } = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as {
  workload: FlowWorkload;
  options: LoadOptions;
};
const latencies: number[] = [];
let failed = 0;
let httpRequests = 0;
let firstError: string | undefined;
// A single sign-on browser signs in and consents once, before anything is measured.
const jars = w.sso
  ? await Promise.all(
      Array.from({ length: w.concurrency }, async () => {
        const jar = new CookieJar();
        await codeFlow(w.target, w.scope, { jar });
        return jar;
      }),
    )
  : [];
const start = performance.now();
const deadline = start + o.durationS * 1000;

async function browser(i: number): Promise<void> {
  const jar = jars[i];
  while (performance.now() < deadline) {
    const t0 = performance.now();
    try {
      const r = await codeFlow(w.target, w.scope, jar ? { jar, sso: true } : {});
      httpRequests += r.requests;
      latencies.push(performance.now() - t0);
    } catch (err) {
      failed++;
      firstError ??= (err as Error).message;
    }
  }
}

await Promise.all(Array.from({ length: w.concurrency }, (_, i) => browser(i)));
const elapsed = (performance.now() - start) / 1000;
latencies.sort((a, b) => a - b);
process.stdout.write(
  `${MARKER}${JSON.stringify({ ok: latencies.length, failed, durationS: elapsed, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), firstError, httpRequests })}\n`,
);
