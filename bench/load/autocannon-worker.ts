// Runs autocannon in its own process (started pinned to the load generator's core by
// autocannon.ts) and prints one JSON report. Argument: a JSON file of { workload, options }.
// With options.rate, autocannon holds that overall rate; with options.windowS, a report of each
// window (requests, errors, latency percentiles of the window's responses) is printed as it ends.
import autocannon, { type AutocannonInstance, type AutocannonRequest } from 'autocannon';
import { readFileSync } from 'node:fs';
import { MARKER, WINDOW_MARKER } from './child.ts';
import { percentile } from './stats.ts';
import type { HttpWorkload, LoadOptions, LoadWindow, RefreshWorkload } from './types.ts';

const { workload: w, options: o } = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as {
  workload: HttpWorkload | RefreshWorkload;
  options: LoadOptions;
};
const url = new URL(w.url);
let badBodies = 0;
let firstError: string | undefined;

function refreshRequests(r: RefreshWorkload): AutocannonRequest[] {
  const pool = [...r.tokens];
  const path = url.pathname;
  // autocannon deep-copies this request object for every connection, so `state` is the
  // connection's own: each connection starts from its own token and chains on its responses.
  return [
    {
      method: 'POST',
      path,
      headers: r.headers,
      state: { token: undefined },
      setupRequest(req) {
        const state = req.state!;
        if (state.token === undefined) state.token = pool.shift() ?? 'exhausted';
        return { ...req, body: `${r.bodyPrefix ?? ''}grant_type=refresh_token&refresh_token=${String(state.token)}` };
      },
      onResponse(status, body) {
        const m = status === 200 ? /"refresh_token"\s*:\s*"([^"]+)"/.exec(body) : null;
        if (m) {
          this.state.token = m[1];
          return;
        }
        if (status === 200) badBodies++;
        firstError ??= `${status} ${body.slice(0, 200)}`;
        // The chain is broken: continue from a spare token if any is left (else fail on).
        this.state.token = pool.shift() ?? 'exhausted';
      },
    },
  ];
}

/** Prints a LoadWindow every `windowS` seconds, and one for the last part when it is at least half a window long. */
function reportWindows(instance: AutocannonInstance, windowS: number): void {
  const start = performance.now();
  let index = 0;
  let from = start;
  let ok = 0;
  let failed = 0;
  let bad0 = badBodies;
  let latencies: number[] = [];
  let windowError: string | undefined;
  instance.on('response', (_client, status, _bytes, ms) => {
    latencies.push(ms);
    if (status === expect) ok++;
    else {
      failed++;
      windowError ??= `status ${status}`;
    }
  });
  instance.on('reqError', (err) => {
    failed++;
    windowError ??= err.message;
  });
  const flush = () => {
    const now = performance.now();
    // A 200 with a bad body (refresh without a new token) is a failure, not a success.
    const bad = badBodies - bad0;
    latencies.sort((a, b) => a - b);
    const win: LoadWindow = {
      index: ++index,
      endS: (now - start) / 1000,
      durationS: (now - from) / 1000,
      ok: ok - bad,
      failed: failed + bad,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies.at(-1) ?? 0,
      firstError: windowError,
    };
    process.stdout.write(`${WINDOW_MARKER}${JSON.stringify(win)}\n`);
    [from, ok, failed, bad0, latencies, windowError] = [now, 0, 0, badBodies, [], undefined];
  };
  const timer = setInterval(flush, windowS * 1000);
  instance.on('done', () => {
    clearInterval(timer);
    if (performance.now() - from >= windowS * 500) flush();
  });
}

const expect = w.kind === 'http' ? w.expectStatus : 200;
const instance = autocannon({
  url: url.origin,
  connections: o.connections,
  duration: o.durationS,
  timeout: 10,
  // autocannon's correction for coordinated omission assumes a 1 ms interval at any rate: keep
  // the measured latencies as they are.
  ...(o.rate !== undefined ? { overallRate: o.rate, ignoreCoordinatedOmission: true } : {}),
  ...(w.kind === 'http'
    ? {
        requests: [
          {
            method: w.method,
            path: url.pathname + url.search,
            headers: w.headers,
            body: w.body,
            onResponse(status: number, body: string) {
              if (status !== expect) firstError ??= `${status} ${body.slice(0, 200)}`;
            },
          },
        ],
      }
    : { requests: refreshRequests(w) }),
});
if (o.windowS !== undefined) reportWindows(instance, o.windowS);
const result = await instance;

const statuses = Object.entries(result.statusCodeStats ?? {});
const responses = statuses.reduce((n, [, s]) => n + s.count, 0);
const ok = (result.statusCodeStats?.[String(expect)]?.count ?? 0) - badBodies;
process.stdout.write(
  `${MARKER}${JSON.stringify({
    ok: Math.max(0, ok),
    failed: responses - ok + result.errors,
    durationS: result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    firstError:
      firstError ?? (result.errors ? `${result.errors} socket errors (${result.timeouts} timeouts)` : undefined),
  })}\n`,
);
