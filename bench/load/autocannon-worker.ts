// Runs autocannon in its own process (started pinned to the load generator's core by
// autocannon.ts) and prints one JSON report. Argument: a JSON file of { workload, options }.
import autocannon, { type AutocannonRequest } from 'autocannon';
import { readFileSync } from 'node:fs';
import { MARKER } from './child.ts';
import type { HttpWorkload, LoadOptions, RefreshWorkload } from './types.ts';

const { workload: w, options: o } = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { workload: HttpWorkload | RefreshWorkload; options: LoadOptions };
const url = new URL(w.url);
let badBodies = 0;
let firstError: string | undefined;

function refreshRequests(r: RefreshWorkload): AutocannonRequest[] {
  const pool = [...r.tokens];
  const path = url.pathname;
  // autocannon deep-copies this request object for every connection, so `state` is the
  // connection's own: each connection starts from its own token and chains on its responses.
  return [{
    method: 'POST',
    path,
    headers: r.headers,
    state: { token: undefined },
    setupRequest(req) {
      const state = req.state!;
      if (state.token === undefined) state.token = pool.shift() ?? 'exhausted';
      return { ...req, body: `grant_type=refresh_token&refresh_token=${String(state.token)}` };
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
  }];
}

const expect = w.kind === 'http' ? w.expectStatus : 200;
const result = await autocannon({
  url: url.origin,
  connections: o.connections,
  duration: o.durationS,
  timeout: 10,
  ...(w.kind === 'http'
    ? { requests: [{ method: w.method, path: url.pathname + url.search, headers: w.headers, body: w.body,
      onResponse(status: number, body: string) { if (status !== expect) firstError ??= `${status} ${body.slice(0, 200)}`; } }] }
    : { requests: refreshRequests(w) }),
});

const statuses = Object.entries(result.statusCodeStats ?? {});
const responses = statuses.reduce((n, [, s]) => n + s.count, 0);
const ok = (result.statusCodeStats?.[String(expect)]?.count ?? 0) - badBodies;
process.stdout.write(`${MARKER}${JSON.stringify({
  ok: Math.max(0, ok),
  failed: responses - ok + result.errors,
  durationS: result.duration,
  p50Ms: result.latency.p50,
  p99Ms: result.latency.p99,
  firstError: firstError ?? (result.errors ? `${result.errors} socket errors (${result.timeouts} timeouts)` : undefined),
})}\n`);
