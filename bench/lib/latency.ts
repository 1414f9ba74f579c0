// `npm run bench -- --latency`: latency under open load. For each server (Tessera and
// node-oidc-provider, pinned as in the comparison) an open-loop generator (load/open-loop.ts)
// sends requests on a fixed schedule at a rising rate, step by step, and counts each request's
// latency from when it was due; the search keeps the highest rate whose p99 stays under 50 ms
// with no error. The two servers' steps are interleaved. Writes bench/results/latency-latest.*.
import { resolve } from 'node:path';
import { runOpenLoop, type OpenLoopResult } from '../load/open-loop.ts';
import type { HttpWorkload } from '../load/types.ts';
import type { Machine } from './machine.ts';
import { childrenCpuMicros, coreTimes, otherCpuPct, treeCpuMicros, waitForQuiet } from './proc.ts';
import { logSummary, machineLine, mdTable, notesSection, table, writeFiles } from './report.ts';
import { round } from './runner.ts';
import { SCENARIOS, type Scenario, type ScenarioId } from './scenarios.ts';
import { resultName } from './storage.ts';
import {
  REPO_ROOT,
  SERVER_LABELS,
  STARTERS,
  type ServerHandle,
  type ServerKind,
  type ServerLogSummary,
} from './servers.ts';
import { scenarioContext, startServer, stopServer, type Session } from './session.ts';

export const LATENCY = {
  /** The objective: p99 under this many ms, with no error. */
  sloMs: 50,
  startRate: 250,
  growth: 1.4,
  /** Steps that halve the interval between the last passing and the first failing rate. */
  bisections: 3,
  /** A rate fails after this many tries fail on the server's account (best of two)... */
  triesToFail: 2,
  /** ...and is given up after this many tries in all (generator-bound and noisy ones included). */
  maxTries: 3,
  /** Longest wait for a quiet machine before each step, s (at most --quiet-wait): it bounds the run's length. */
  maxQuietWaitS: 10,
  /** The same after a noisy step of the server, s: other work tends to come in runs of minutes. */
  quietWaitAfterNoiseS: 30,
  rampS: 1,
  timeoutMs: 2000,
  maxConnections: 4096,
  /** Above this lag p99 (ms) or below this share of the rate sent, the generator, not the server, was the limit. */
  maxLagP99Ms: 5,
  /** A generator busier than this, percent of its core, cannot be trusted to read answers on time. */
  maxGeneratorCpuPct: 90,
  /**
   * A slow step during which other processes took more of the server's or the generator's core than this, percent, is
   * noisy.
   */
  maxOtherPct: 15,
  minAchieved: 0.97,
  /** The search stops climbing here (rates above are not asked of either server). */
  maxRate: 200_000,
  smokeRates: [100, 200],
  smokeRampS: 0.5,
};

/** Request scenarios whose workload is one fixed request: what an open loop can send. */
export const LATENCY_SCENARIOS: ScenarioId[] = ['client_credentials', 'introspection', 'jwks', 'discovery', 'userinfo'];
export const LATENCY_SERVERS: ServerKind[] = ['tessera', 'oidc-provider'];

/** generator-bound and noisy steps do not count for the server (they are tried again). */
export type StepVerdict = 'pass' | 'slow' | 'errors' | 'generator-bound' | 'noisy';

export interface LatencyStep {
  /** 1, 2, ... in the order this server's steps ran. */
  index: number;
  phase: 'climb' | 'bisect' | 'retry' | 'smoke';
  rate: number;
  verdict: StepVerdict;
  load: OpenLoopResult;
  /** Server CPU (all threads) over the step's wall time, percent of one core. */
  serverCpuPct?: number;
  /** CPU time other processes took on the server's and on the generator's core during the step, percent. */
  otherOnServerCorePct?: number;
  otherOnLoaderCorePct?: number;
}

export interface LatencyServerResult {
  server: ServerKind;
  serverLabel: string;
  status: 'ok' | 'invalid' | 'failed';
  error?: string;
  steps: LatencyStep[];
  /** The highest rate that passed (p99 < sloMs, no error, generator keeping the schedule); 0 when none did. */
  bestRate?: number;
  /** The lowest rate that failed on the server's account. */
  firstFailingRate?: number;
  /**
   * Why the search stopped: bracketed (bisected), uncounted (three tries of a rate were generator-bound or noisy),
   * ceiling (maxRate), smoke.
   */
  end?: 'bracketed' | 'uncounted' | 'ceiling' | 'smoke';
}

export interface LatencyScenarioResult {
  scenario: ScenarioId;
  title: string;
  servers: LatencyServerResult[];
  /** Tessera's best rate over node-oidc-provider's. */
  ratio?: number;
}

export interface LatencyReport {
  version: 1;
  kind: 'latency' | 'latency-smoke';
  startedAt: string;
  finishedAt: string;
  command: string;
  options: Session['options'];
  machine: Machine;
  settings: typeof LATENCY & { stepS: number };
  scenarios: LatencyScenarioResult[];
  serverLogs: Partial<Record<ServerKind, ServerLogSummary>>;
  notes: string[];
}

const NOTES = [
  "Open load: request i is due at t0 + i/rate (after a ramp of 1 s in which the rate rises linearly from 0, sent but not measured), whatever became of the requests before it. A due request goes out on an idle keep-alive connection, or on a new connection when every open one is busy (the 'conns' column: opened during the step / most busy at once), so the number of connections never holds the rate back; only above 4096 open connections would requests wait in the generator, and that wait counts as latency.",
  "Coordinated omission corrected: a request's latency is the time from when it was due to when its answer was complete, not from when it was written to a socket. A closed-loop generator (wrk, autocannon without a rate: N connections, each sending its next request when the last answer arrives) stops sending while the server stalls, so a 200 ms pause shows as one slow request per connection and the percentiles hide it; here every request due during the pause is late by what remains of it, as a client arriving on its own schedule would see it.",
  'Percentiles come from a histogram with logarithmic buckets 1% wide (every measured request recorded, read back within 0.5%). Errors: any status other than 200, socket errors, and requests not answered 2 s after they were due (timeouts, counted with their age as latency).',
  "A step passes when its p99 is under 50 ms with no error at the full rate. The generator's own lag (how late it was in sending each request against the schedule) is recorded, and so is the CPU other processes took on the server's core. Both only add latency, so a passing step passes whatever they were; a failing one does not count against the server (it is tried again) when the generator sent under 97% of the rate, used over 90% of its core, or had a lag p99 over 5 ms while the p99 counted from when it actually sent each request was under 50 ms (its own lateness made the difference; the p99 from send column) (generator-bound), or when other processes took more than 15% of the server's or the generator's core (noisy; the generator late in reading answers adds to their latency too).",
  "Search: from 250/s the rate grows 1.4x per step while steps pass, then 3 steps bisect between the last passing and the first failing rate. Other processes on a shared machine only ever add latency, so a rate fails only when two tries fail (slow or errors); it passes on its first passing try; after three tries with no pass and no failure on the server's account (all generator-bound) the search stops there and its best rate is a lower bound. A step that can no longer pass (an error, or more than 1% of its requests already at or over 50 ms, which makes p99 >= 50 ms whatever follows) is stopped early: its figures cover the part that ran, unanswered requests counted with their age then, so its p99 is a lower bound (shown as >=). The steps of the two servers alternate, each after waiting (up to 10 s, 30 s after a noisy step, at most --quiet-wait) for the machine to be quiet.",
  "Servers are pinned to core 0 and the generator to core 1, as in the comparison. The generator wakes on a timer (1 ms at the finest) and sends every request then due, so its lag is typically under a millisecond and is part of every latency (both servers alike); the gen CPU column is the generator's CPU over its process's life, percent of one core.",
  "Server CPU %: the server's utime+stime over the step's wall time (the generator's start and the ramp included, so below the CPU share at the full rate). Others %: CPU time other processes took on the server's and the generator's cores during the step; well above a few percent means the machine was not quiet and the step's latency is the machine's as much as the server's.",
];

const fmt = (x: number | null | undefined, digits = 1) => (x === null || x === undefined ? '-' : x.toFixed(digits));

/** Where a server's search stands: the next rate to try, given the steps so far. */
export class RateSearch {
  #pass = 0;
  #fail = Infinity;
  #bisections = 0;
  /** Verdicts of the tries so far at the rate in progress. */
  #tries: StepVerdict[] = [];
  #stopped: LatencyServerResult['end'];
  #next: { rate: number; phase: LatencyStep['phase'] } | undefined;
  readonly #smoke: number[] | undefined;

  constructor(smokeRates?: number[]) {
    this.#smoke = smokeRates && [...smokeRates];
    this.#next = this.#smoke
      ? { rate: this.#smoke.shift()!, phase: 'smoke' }
      : { rate: LATENCY.startRate, phase: 'climb' };
  }

  get next() {
    return this.#next;
  }
  get best() {
    return this.#pass;
  }
  get firstFailing() {
    return Number.isFinite(this.#fail) ? this.#fail : undefined;
  }
  get end() {
    return this.#stopped;
  }

  record(rate: number, verdict: StepVerdict): void {
    if (this.#smoke) {
      if (verdict === 'pass') this.#pass = Math.max(this.#pass, rate);
      const r = this.#smoke.shift();
      this.#next = r === undefined ? undefined : { rate: r, phase: 'smoke' };
      if (!this.#next) this.#stopped = 'smoke';
      return;
    }
    // Noise from other processes only ever adds latency: a rate fails when two tries fail on the server's account,
    // and a generator-bound or noisy try is tried again, three tries at most.
    const tries = [...this.#tries, verdict];
    const serverFailures = tries.filter((v) => v === 'slow' || v === 'errors').length;
    if (verdict !== 'pass' && serverFailures < LATENCY.triesToFail && tries.length < LATENCY.maxTries) {
      this.#tries = tries;
      this.#next = { rate, phase: 'retry' };
      return;
    }
    this.#tries = [];
    if (verdict !== 'pass' && serverFailures === 0) {
      this.#next = undefined;
      this.#stopped = 'uncounted';
      return;
    }
    if (verdict === 'pass') this.#pass = Math.max(this.#pass, rate);
    else this.#fail = Math.min(this.#fail, rate);
    if (!Number.isFinite(this.#fail)) {
      const up = Math.round(rate * LATENCY.growth);
      if (up > LATENCY.maxRate) {
        this.#next = undefined;
        this.#stopped = 'ceiling';
      } else this.#next = { rate: up, phase: 'climb' };
      return;
    }
    const mid = Math.round((this.#pass + this.#fail) / 2);
    if (this.#bisections >= LATENCY.bisections || mid <= this.#pass || mid >= this.#fail) {
      this.#next = undefined;
      this.#stopped = 'bracketed';
      return;
    }
    this.#bisections++;
    this.#next = { rate: mid, phase: 'bisect' };
  }
}

/**
 * What a step says of the server. Lag and other processes only add latency: a step fast enough at the full rate passes
 * whatever they were; a slow one counts against the server only when neither can explain it.
 */
export function stepVerdict(
  r: OpenLoopResult,
  otherOnServerCorePct?: number,
  otherOnLoaderCorePct?: number,
): StepVerdict {
  const errors = r.errors.status + r.errors.socket + r.errors.timeout;
  if (errors > 0) return 'errors';
  const underRate = r.achievedRate < LATENCY.minAchieved * r.rate;
  const slow = r.stoppedEarlyS !== undefined || r.latency.p99Ms >= LATENCY.sloMs;
  if (!slow && !underRate) return 'pass';
  // Slow only because the generator was late: without its lag, the p99 would have passed.
  const lagged = r.lag.p99Ms > LATENCY.maxLagP99Ms && r.fromSend.p99Ms < LATENCY.sloMs;
  if (underRate || lagged || r.cpuPct > LATENCY.maxGeneratorCpuPct) return 'generator-bound';
  if (Math.max(otherOnServerCorePct ?? 0, otherOnLoaderCorePct ?? 0) > LATENCY.maxOtherPct) return 'noisy';
  return 'slow';
}

function describeStep(s: LatencyStep): string {
  const l = s.load;
  const errors = l.errors.status + l.errors.socket + l.errors.timeout;
  return (
    `${String(s.rate).padStart(6)}/s ${s.phase.padEnd(6)}: ${s.verdict.toUpperCase().padEnd(15)} ` +
    `p50 ${fmt(l.latency.p50Ms, 2)} p99 ${fmt(l.latency.p99Ms, 2)} max ${fmt(l.latency.maxMs, 1)} ms, ` +
    `${fmt(l.okRate, 0)} ok/s, ${errors} errors, lag p99 ${fmt(l.lag.p99Ms, 2)} ms (gen CPU ${l.cpuPct}%), conns ${l.connections.opened}/${l.connections.peakBusy}, ` +
    `server CPU ${fmt(s.serverCpuPct, 0)}%${s.otherOnServerCorePct !== undefined ? `, others ${fmt(s.otherOnServerCorePct, 0)}/${fmt(s.otherOnLoaderCorePct, 0)}%` : ''}` +
    `${l.stoppedEarlyS !== undefined ? `, stopped at ${fmt(l.stoppedEarlyS, 1)} s` : ''}${l.firstError ? ` (${l.firstError.slice(0, 100)})` : ''}`
  );
}

interface Lane {
  server: ServerHandle;
  result: LatencyServerResult;
  search: RateSearch;
  workload: HttpWorkload;
}

async function runStep(session: Session, lane: Lane, rate: number, phase: LatencyStep['phase'], stepS: number) {
  const { options: o, machine } = session;
  const { pinning } = machine;
  if (o.quietWaitS > 0) {
    const noisyBefore = lane.result.steps.at(-1)?.verdict === 'noisy';
    const q = await waitForQuiet(
      Math.min(o.quietWaitS, noisyBefore ? LATENCY.quietWaitAfterNoiseS : LATENCY.maxQuietWaitS),
    );
    if (q.busyPct > 10)
      session.log(
        `  (machine still ${q.busyPct.toFixed(0)}% busy after waiting ${q.waitedS.toFixed(0)} s; measuring anyway)`,
      );
  }
  const cores0 = coreTimes();
  const cpu0 = treeCpuMicros(lane.server.pid);
  const self0 = process.cpuUsage();
  const children0 = childrenCpuMicros(process.pid);
  const wall0 = performance.now();
  const load = await runOpenLoop(pinning, {
    workload: lane.workload,
    rate,
    rampS: o.smoke ? LATENCY.smokeRampS : LATENCY.rampS,
    durationS: stepS,
    timeoutMs: LATENCY.timeoutMs,
    maxConnections: LATENCY.maxConnections,
    stopWhenFailedMs: o.smoke ? undefined : LATENCY.sloMs,
  });
  const wallS = (performance.now() - wall0) / 1000;
  const cpu = treeCpuMicros(lane.server.pid) - cpu0;
  const cores1 = coreTimes();
  const self = process.cpuUsage(self0);
  const loaderCpu = childrenCpuMicros(process.pid) - children0;
  const step: LatencyStep = {
    index: lane.result.steps.length + 1,
    phase,
    rate,
    verdict: 'pass',
    load,
    serverCpuPct: round((100 * cpu) / 1e6 / wallS, 1),
  };
  if (pinning.applied) {
    step.otherOnServerCorePct = round(otherCpuPct(cores0, cores1, pinning.serverCore!, cpu) ?? 0, 1);
    step.otherOnLoaderCorePct = round(
      otherCpuPct(cores0, cores1, pinning.loaderCore!, loaderCpu + self.user + self.system) ?? 0,
      1,
    );
  }
  step.verdict = stepVerdict(load, step.otherOnServerCorePct, step.otherOnLoaderCorePct);
  lane.result.steps.push(step);
  lane.search.record(rate, step.verdict);
  session.log(`  ${lane.result.serverLabel.padEnd(18)} ${describeStep(step)}`);
}

async function runScenarioSearch(
  session: Session,
  scenario: Scenario,
  servers: Map<ServerKind, ServerHandle>,
  stepS: number,
): Promise<LatencyScenarioResult> {
  const lanes: Lane[] = [];
  const out: LatencyScenarioResult = { scenario: scenario.id, title: scenario.title, servers: [] };
  for (const [kind, server] of servers) {
    const result: LatencyServerResult = {
      server: kind,
      serverLabel: SERVER_LABELS[kind],
      status: 'ok',
      steps: [],
    };
    out.servers.push(result);
    try {
      const workload = await (await scenario.prepare(scenarioContext(session, server)))();
      if (workload.kind !== 'http') throw new Error(`${scenario.id} is not a single-request scenario`);
      lanes.push({
        server,
        result,
        search: new RateSearch(session.options.smoke ? LATENCY.smokeRates : undefined),
        workload,
      });
    } catch (err) {
      session.log(`  ${scenario.id} (${result.serverLabel}): INVALID: ${(err as Error).message}`);
      Object.assign(result, { status: 'invalid', error: (err as Error).message });
    }
  }
  // One step of each server in turn, so a machine whose speed drifts slows both searches alike.
  for (let active = lanes; active.length; active = lanes.filter((l) => l.search.next)) {
    for (const lane of active) {
      const next = lane.search.next!;
      try {
        await runStep(session, lane, next.rate, next.phase, stepS);
      } catch (err) {
        session.log(`  ${lane.result.serverLabel}: FAILED: ${(err as Error).message}`);
        Object.assign(lane.result, { status: 'failed', error: (err as Error).message });
        lanes.splice(lanes.indexOf(lane), 1);
      }
    }
  }
  for (const r of out.servers) {
    const lane = lanes.find((l) => l.result === r);
    if (!lane) continue;
    r.bestRate = lane.search.best;
    r.firstFailingRate = lane.search.firstFailing;
    r.end = lane.search.end;
  }
  const best = (k: ServerKind) => out.servers.find((s) => s.server === k && s.status === 'ok')?.bestRate;
  const t = best('tessera');
  const p = best('oidc-provider');
  out.ratio = t && p ? round(t / p, 2) : undefined;
  return out;
}

function bestText(r: LatencyServerResult | undefined): string {
  if (!r) return 'not measured';
  if (r.status !== 'ok') return r.status.toUpperCase();
  if (!r.bestRate) return `none (below ${r.steps[0]?.rate ?? LATENCY.startRate}/s)`;
  return `${r.bestRate}/s${r.end === 'uncounted' ? ' (at least: the steps above were generator-bound or noisy)' : r.end === 'ceiling' ? ' (search ceiling)' : ''}`;
}

export function verdictLine(s: LatencyScenarioResult): string {
  const get = (k: ServerKind) => s.servers.find((x) => x.server === k);
  const bounds = s.servers.filter((x) => x.end === 'uncounted').map((x) => x.serverLabel);
  const ratio = s.ratio === undefined ? '-' : `${s.ratio.toFixed(2)}x`;
  return (
    `${s.scenario}: highest rate with p99 < ${LATENCY.sloMs} ms: Tessera ${bestText(get('tessera'))}, ` +
    `node-oidc-provider ${bestText(get('oidc-provider'))}, ratio ${ratio}` +
    (bounds.length && s.ratio !== undefined
      ? ` (${bounds.join(' and ')} ${bounds.length > 1 ? 'are lower bounds' : 'is a lower bound'}: not a verdict; rerun on a quiet machine)`
      : '')
  );
}

function stepRows(r: LatencyServerResult): [string[], string[][], ('l' | 'r')[]] {
  return [
    [
      '#',
      'phase',
      'rate/s',
      'sent/s',
      'ok/s',
      'p50 ms',
      'p90 ms',
      'p99 ms',
      'p99.9 ms',
      'max ms',
      'errors',
      'p99 from send ms',
      'lag p99 ms',
      'gen CPU %',
      'conns',
      'server CPU %',
      'others % (srv/load core)',
      'verdict',
    ],
    r.steps.map((s) => {
      const l = s.load;
      const early = l.stoppedEarlyS !== undefined;
      return [
        String(s.index),
        s.phase,
        String(s.rate),
        fmt(l.achievedRate, 0),
        fmt(l.okRate, 0),
        fmt(l.latency.p50Ms, 2),
        fmt(l.latency.p90Ms, 2),
        `${early ? '≥' : ''}${fmt(l.latency.p99Ms, 2)}`,
        fmt(l.latency.p999Ms, 1),
        fmt(l.latency.maxMs, 1),
        String(l.errors.status + l.errors.socket + l.errors.timeout),
        fmt(l.fromSend.p99Ms, 2),
        fmt(l.lag.p99Ms, 2),
        String(l.cpuPct),
        `${l.connections.opened}/${l.connections.peakBusy}`,
        fmt(s.serverCpuPct, 0),
        `${fmt(s.otherOnServerCorePct, 0)} / ${fmt(s.otherOnLoaderCorePct, 0)}`,
        `${s.verdict}${early ? ` (stopped at ${fmt(l.stoppedEarlyS, 1)} s)` : ''}${l.firstError ? `: ${l.firstError.slice(0, 80)}` : ''}`,
      ];
    }),
    ['r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
  ];
}

function heading(r: LatencyReport): string[] {
  const s = r.settings;
  return [
    `- Started ${r.startedAt}, finished ${r.finishedAt}`,
    `- Command: \`${r.command}\``,
    `- Measured: Tessera ${r.machine.tessera.commit}${r.machine.tessera.srcModified ? ' (with uncommitted changes in src/)' : ''}, node-oidc-provider ${r.machine.oidcProvider}`,
    `- Machine: ${machineLine(r.machine)}`,
    r.kind === 'latency-smoke'
      ? `- Smoke: steps at ${s.smokeRates.join(' and ')}/s, ${s.smokeRampS} s ramp + ${s.stepS} s each, no search (proves the mode works; not a measurement)`
      : `- Steps: ${s.rampS} s ramp + ${s.stepS} s at the rate; from ${s.startRate}/s x${s.growth} while p99 < ${s.sloMs} ms with no error, then ${s.bisections} bisection steps; timeout ${s.timeoutMs} ms`,
  ];
}

export function latencyMarkdown(r: LatencyReport): string {
  return [
    `# Latency under open load${r.kind === 'latency-smoke' ? ' (smoke run: not a measurement)' : ''}`,
    '',
    ...heading(r),
    '',
    '## Verdict',
    '',
    ...r.scenarios.map((s) => `- ${verdictLine(s)}`),
    '',
    ...r.scenarios.flatMap((s) =>
      s.servers.flatMap((x) => [
        `## ${s.scenario}: ${x.serverLabel}`,
        '',
        ...(x.status !== 'ok' ? [`${x.status.toUpperCase()}: ${x.error ?? ''}`, ''] : []),
        ...(x.steps.length ? [mdTable(...stepRows(x)), ''] : []),
      ]),
    ),
    '## Server logs (warn and above during the run)',
    '',
    ...Object.entries(r.serverLogs).map(([k, v]) => `- ${k}: ${logSummary(v)}`),
    '',
    ...notesSection(r.notes),
  ].join('\n');
}

function latencyConsole(r: LatencyReport): string {
  return [
    ...r.scenarios.flatMap((s) =>
      s.servers.flatMap((x) => (x.steps.length ? [`${s.scenario}: ${x.serverLabel}`, table(...stepRows(x)), ''] : [])),
    ),
    ...r.scenarios.map(verdictLine),
  ].join('\n');
}

export async function runLatency(session: Session): Promise<number> {
  const { options: o, machine, log } = session;
  const stepS = o.durationS;
  const scenarios = SCENARIOS.filter((s) => o.scenarios.includes(s.id));
  const unfit = o.scenarios.filter((id) => !LATENCY_SCENARIOS.includes(id));
  if (unfit.length) {
    log(`--latency: ${unfit.join(', ')} cannot run under open load (one of ${LATENCY_SCENARIOS.join(', ')})`);
    return 1;
  }
  const kinds = LATENCY_SERVERS.filter((k) => o.servers.includes(k));
  const servers = new Map<ServerKind, ServerHandle>();
  const serverLogs: LatencyReport['serverLogs'] = {};
  const results: LatencyScenarioResult[] = [];
  let startFailed = false;
  log(
    `Latency generator: open loop (bench/load/open-worker.ts, Node ${process.version}); p99 objective ${LATENCY.sloMs} ms; steps of ${o.smoke ? LATENCY.smokeRampS : LATENCY.rampS} s ramp + ${stepS} s`,
  );
  try {
    for (const kind of kinds) {
      const server = await startServer(session, SERVER_LABELS[kind], () =>
        STARTERS[kind](machine, session.fixtures, session.dir),
      );
      if (server instanceof Error) startFailed = true;
      else servers.set(kind, server);
    }
    for (const s of scenarios) {
      log(`\n${s.id}`);
      results.push(await runScenarioSearch(session, s, servers, stepS));
    }
  } finally {
    for (const [kind, server] of servers) serverLogs[kind] = await stopServer(server, 0);
  }
  const report: LatencyReport = {
    version: 1,
    kind: o.smoke ? 'latency-smoke' : 'latency',
    startedAt: session.startedAt,
    finishedAt: new Date().toISOString(),
    command: session.command,
    options: o,
    // The comparison's load generator is not used here: the report names the open-loop one.
    machine: {
      ...machine,
      loader: 'open-loop generator',
      loaderVersion: `(bench/load/open-worker.ts, Node ${process.version})`,
    },
    settings: { ...LATENCY, stepS },
    scenarios: results,
    serverLogs,
    notes: NOTES,
  };
  log(`\n${latencyConsole(report)}\n`);
  for (const [kind, s] of Object.entries(serverLogs)) {
    if (s.warnings || s.errors)
      log(`${kind} logged ${s.warnings} warnings and ${s.errors} errors, e.g. ${s.samples[0]}`);
  }
  const files = writeFiles(
    resolve(REPO_ROOT, o.outDir),
    [resultName({ storage: o.storage, instances: o.instances }, o.smoke ? 'smoke' : undefined, 'latency-latest')],
    report,
    latencyMarkdown(report),
  );
  log(`Written: ${files.map((f) => f.replace(REPO_ROOT, '')).join(', ')}`);
  const bad = results.flatMap((r) => r.servers.filter((x) => x.status !== 'ok'));
  if (startFailed || bad.length) {
    log(`\nsome servers did not start or failed; server logs kept in ${session.dir}`);
    return 1;
  }
  // A smoke run must show each server answering at its low rates.
  if (o.smoke && results.some((r) => r.servers.some((x) => x.steps.some((s) => s.load.ok === 0)))) return 1;
  return 0;
}
