// `npm run bench -- --soak`: Tessera under a constant 70% of its peak for minutes. Measures the peak of one scenario
// (one run, as the comparison does), then holds 70% of it with autocannon (wrk holds no rate), and at the end of every
// 10 s window records the server's RSS and CPU and the window's requests, errors and latency. After the warm-up it
// judges the RSS growth (the highest window less the first, within 20 MB) and slope (under 1 MB per minute), the errors
// (none) and the p99 (steady), and writes bench/results/soak-latest.* (soak-postgres-2-latest.* and the like for other
// topologies).
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { autocannonDriver } from '../load/autocannon.ts';
import type { LoadResult, LoadWindow } from '../load/types.ts';
import { packageVersion } from './machine.ts';
import { coreTimes, otherCpuPct, treeCpuMicros, treeRss } from './proc.ts';
import { logSummary, machineLine, mdTable, noiseWarning, notesSection, topologyLine, writeFiles } from './report.ts';
import { median, round, runScenario, type ScenarioResult } from './runner.ts';
import { SCENARIOS, type ScenarioId } from './scenarios.ts';
import { REPO_ROOT, startTessera, type ServerHandle, type ServerLogSummary } from './servers.ts';
import { runnerOptions, scenarioContext, startServer, stopServer, type Session } from './session.ts';
import { instancesNote, resultName, topologyLabel, type Topology } from './storage.ts';

export const SOAK = {
  /** Share of the measured peak held during the soak. */
  rateFraction: 0.7,
  windowS: 10,
  /** Warm-up: the first 20% of the soak, at most 60 s; its windows are shown but not judged. */
  warmupFraction: 0.2,
  maxWarmupS: 60,
  /**
   * Largest RSS growth after the warm-up (the highest judged window less the first), MB (10^6
   * bytes): RSS that falls (the heap shrinking after the warm-up's peak) is not growth.
   */
  rssLimitMB: 20,
  /** RSS growth (least-squares slope over the judged windows) below this, MB per minute, counts as flat. */
  rssSlopeLimitMBPerMin: 1,
  /** Largest ratio of the highest to the lowest window p99 after the warm-up that counts as steady. */
  p99SpreadLimit: 2,
  /** Below this share of the target rate, the load generator did not hold the rate. */
  rateTolerance: 0.95,
  /** A window where other processes took more of the server's core than this, percent, was not quiet. */
  noisyOtherPct: 5,
};

export interface SoakWindow extends LoadWindow {
  warmup: boolean;
  /** Successful requests per second in this window. */
  rps: number;
  /**
   * The server's RSS at the end of the window, the sum of VmRSS over its process tree (primary and workers), MB (10^6
   * bytes); null when it could not be read.
   */
  rssMB: number | null;
  /** Server CPU time (the whole process tree) over the window's wall time, percent of one core. */
  serverCpuPct: number | null;
  /** CPU time of the database services over the window's wall time, percent of one core (PostgreSQL runs only). */
  serviceCpuPct?: number | null;
  /**
   * The V8 heap in use and reserved, and the memory outside it held by JS objects (buffers), MB,
   * from Tessera's own metrics at the end of the window: they tell whether RSS that grows is live
   * objects, a heap V8 has not shrunk, or memory outside the heap.
   */
  heapUsedMB?: number;
  heapTotalMB?: number;
  externalMB?: number;
  /** CPU time other processes took on the server's core in the window, percent (pinned runs). */
  otherOnServerCorePct?: number;
}

export interface SoakVerdicts {
  /** netMB: last judged window minus the first (growth rather than fluctuation). */
  rss: {
    minMB: number;
    maxMB: number;
    /** max - min of the judged windows (shown; not what is judged). */
    driftMB: number;
    /** max - first of the judged windows: what is judged against the limit. */
    growthMB: number;
    netMB: number;
    limitMB: number;
    stable: boolean;
  };
  /**
   * Least-squares slope of the judged windows' RSS over time; flat when under the limit. secondHalfMBPerMin, the
   * slope of the later half of those windows alone, is shown and not judged: a growth that slows (the JIT and the
   * allocators settling) has a second half far below the whole, a leak about the same.
   */
  rssSlope: { mbPerMin: number; secondHalfMBPerMin?: number; limitMBPerMin: number; flat: boolean };
  errors: { failedRequests: number; serverLoggedErrors: number; none: boolean };
  /** trend: median p99 of the second half of the judged windows over the first half. */
  p99: { minMs: number; maxMs: number; spread: number; spreadLimit: number; trend: number; steady: boolean };
  /**
   * Judged windows where other processes took a noticeable share of the server's core, and the p99 spread without them.
   */
  noise: { noisyWindows: number; maxOtherPct: number; quietP99Spread?: number };
  rate: { targetRps: number; achievedRps: number; reached: boolean };
}

export interface SoakReport {
  version: 1;
  kind: 'soak';
  startedAt: string;
  finishedAt: string;
  command: string;
  options: Session['options'];
  machine: Session['machine'];
  scenario: ScenarioId;
  /** The peak measurement (one run of --duration with the usual load generator). */
  peak: ScenarioResult;
  soakLoader: string;
  targetRps: number;
  durationS: number;
  warmupS: number;
  windowS: number;
  connections: number;
  windows: SoakWindow[];
  /** autocannon's totals over the whole soak. */
  total: LoadResult;
  verdicts: SoakVerdicts;
  serverLog: ServerLogSummary;
  notes: string[];
}

const BASE_NOTES = [
  "The constant rate is autocannon's overallRate: each connection gets its share of requests per second and sends it at the start of each second as fast as the answers come back, then waits for the next second. The load therefore comes in bursts with every connection busy, then a pause; a window's p99 is that of the bursts (close to the p99 at peak), not that of evenly spaced requests. The p99 verdict is about steadiness from window to window.",
  "Window latency: every response completed in the window (autocannon's response times, without its correction for coordinated omission). Errors: unexpected statuses, bad bodies, socket errors and timeouts over the whole soak, plus the errors Tessera logged (level error and above) during the whole run.",
  "RSS: VmRSS at the end of each window summed over the Tessera process tree (with instances: the cluster primary and every worker), in MB of 10^6 bytes. The warm-up windows are shown but not judged. Slope: the least-squares line through the judged windows' RSS against time, MB per minute; a leak shows as a slope that stays positive however long the soak, a one-off growth as a drift with a slope that falls on a longer soak. Server CPU: utime+stime of the process tree (all threads) over the window.",
  'The peak is one run of --duration seconds with the usual load generator (wrk when installed), after the usual warm-up, on the same topology as the soak (with two instances, the peak of the two); servers are pinned to core 0 and load generators to core 1 when pinning applies, as in the comparison.',
];

function soakNotes(t: Topology): string[] {
  return [
    ...BASE_NOTES,
    instancesNote(t),
    ...(t.instances > 1
      ? [
          "Heap figures come from Tessera's /metrics, answered by whichever worker took the request: one worker's heap, not the sum.",
        ]
      : []),
    ...(t.storage === 'postgres'
      ? [
          "DB CPU %: CPU time of the database services over the window, percent of one core: the PostgreSQL server's processes (other databases' client backends left out) and redis-server, found in /proc by command name. They are shared machine services, so this is approximate. They are not pinned: whatever of them ran on the server's core is in its others %, so the noise warning of a PostgreSQL soak counts them too.",
        ]
      : []),
  ];
}

const fmt = (x: number | null | undefined, digits = 1) => (x === null || x === undefined ? '-' : x.toFixed(digits));

/** The server's RSS, CPU and the other processes' share of its core at each window's end. */
function windowSampler(
  server: ServerHandle,
  serverCore: number | undefined,
  warmupS: number,
  services: (() => number) | undefined,
) {
  let cpu0 = treeCpuMicros(server.pid);
  let cores0 = coreTimes();
  let services0 = services?.();
  return (w: LoadWindow): SoakWindow => {
    const out: SoakWindow = {
      ...w,
      warmup: w.index * SOAK.windowS <= warmupS,
      rps: w.ok / w.durationS,
      rssMB: null,
      serverCpuPct: null,
    };
    try {
      const cpu = treeCpuMicros(server.pid);
      const cores = coreTimes();
      const rss = treeRss(server.pid);
      out.rssMB = rss === undefined ? null : round(rss / 1e6, 1);
      out.serverCpuPct = round((100 * (cpu - cpu0)) / 1e6 / w.durationS, 1);
      if (serverCore !== undefined) out.otherOnServerCorePct = otherCpuPct(cores0, cores, serverCore, cpu - cpu0);
      if (services && services0 !== undefined) {
        const now = services();
        out.serviceCpuPct = round((100 * (now - services0)) / 1e6 / w.durationS, 1);
        services0 = now;
      }
      [cpu0, cores0] = [cpu, cores];
    } catch {
      /* the server is gone: the window says so with nulls */
    }
    return out;
  };
}

const HEAP_METRICS = {
  heapUsedMB: 'tessera_process_nodejs_heap_size_used_bytes',
  heapTotalMB: 'tessera_process_nodejs_heap_size_total_bytes',
  externalMB: 'tessera_process_nodejs_external_memory_bytes',
} as const;

/**
 * Tessera's heap figures from its /metrics (the soak starts it with a metrics token); empty when they cannot be read.
 */
async function heapOf(server: ServerHandle, token: string): Promise<Pick<SoakWindow, keyof typeof HEAP_METRICS>> {
  try {
    const text = await (
      await fetch(`${server.issuer}/metrics`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(5000),
      })
    ).text();
    const out: Pick<SoakWindow, keyof typeof HEAP_METRICS> = {};
    for (const [field, name] of Object.entries(HEAP_METRICS) as [keyof typeof HEAP_METRICS, string][]) {
      const line = text.split('\n').find((l) => l.startsWith(`${name} `));
      if (line) out[field] = round(Number(line.slice(name.length + 1)) / 1e6, 1);
    }
    return out;
  } catch {
    return {};
  }
}

/** Least-squares slope of y over x; 0 with fewer than two distinct x. */
export function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  return n > 1 && sxx > 0 ? sxy / sxx : 0;
}

const spreadOf = (xs: number[]) =>
  xs.length && Math.min(...xs) > 0 ? round(Math.max(...xs) / Math.min(...xs), 2) : Infinity;

export function judge(
  windows: SoakWindow[],
  total: LoadResult,
  serverLog: ServerLogSummary,
  targetRps: number,
): SoakVerdicts {
  const judged = windows.filter((w) => !w.warmup);
  const rss = judged.map((w) => w.rssMB).filter((x): x is number => x !== null);
  const rssPoints = judged.filter((w) => w.rssMB !== null).map((w) => [w.endS / 60, w.rssMB!] as const);
  const rssPerMin = slope(rssPoints);
  const p99 = judged.map((w) => w.p99Ms);
  const half = Math.floor(p99.length / 2);
  const failedRequests = Math.max(
    total.failed,
    windows.reduce((n, w) => n + w.failed, 0),
  );
  const [minRss, maxRss] = [Math.min(...rss), Math.max(...rss)];
  const achieved =
    judged.reduce((n, w) => n + w.ok, 0) /
    Math.max(
      1e-9,
      judged.reduce((n, w) => n + w.durationS, 0),
    );
  const spread = spreadOf(p99);
  const noisy = judged.filter((w) => (w.otherOnServerCorePct ?? 0) > SOAK.noisyOtherPct);
  return {
    rss: {
      minMB: minRss,
      maxMB: maxRss,
      driftMB: round(maxRss - minRss, 1),
      growthMB: round(maxRss - rss[0]!, 1),
      netMB: round(rss.at(-1)! - rss[0]!, 1),
      limitMB: SOAK.rssLimitMB,
      stable: rss.length > 0 && rss.length === judged.length && maxRss - rss[0]! <= SOAK.rssLimitMB,
    },
    rssSlope: {
      mbPerMin: round(rssPerMin, 2),
      secondHalfMBPerMin: round(slope(rssPoints.slice(Math.floor(rssPoints.length / 2))), 2),
      limitMBPerMin: SOAK.rssSlopeLimitMBPerMin,
      flat: rss.length > 1 && rss.length === judged.length && rssPerMin < SOAK.rssSlopeLimitMBPerMin,
    },
    errors: {
      failedRequests,
      serverLoggedErrors: serverLog.errors,
      none: failedRequests === 0 && serverLog.errors === 0,
    },
    p99: {
      minMs: round(Math.min(...p99), 2),
      maxMs: round(Math.max(...p99), 2),
      spread,
      spreadLimit: SOAK.p99SpreadLimit,
      trend: half > 0 ? round(median(p99.slice(-half)) / median(p99.slice(0, half)), 2) : 1,
      steady: spread <= SOAK.p99SpreadLimit,
    },
    rate: { targetRps, achievedRps: round(achieved, 1), reached: achieved >= SOAK.rateTolerance * targetRps },
    noise: {
      noisyWindows: noisy.length,
      maxOtherPct: round(Math.max(0, ...judged.map((w) => w.otherOnServerCorePct ?? 0)), 0),
      quietP99Spread:
        noisy.length && noisy.length < judged.length
          ? spreadOf(judged.filter((w) => !noisy.includes(w)).map((w) => w.p99Ms))
          : undefined,
    },
  };
}

export function soakMarkdown(r: SoakReport): string {
  const v = r.verdicts;
  const db = r.windows.some((w) => w.serviceCpuPct !== undefined);
  const rows = r.windows.map((w) => [
    String(w.index),
    fmt(w.endS, 0),
    w.warmup ? 'warm-up' : 'judged',
    fmt(w.rps),
    String(w.failed),
    fmt(w.p50Ms, 2),
    fmt(w.p99Ms, 2),
    fmt(w.maxMs, 1),
    fmt(w.rssMB),
    fmt(w.heapUsedMB),
    fmt(w.heapTotalMB),
    fmt(w.externalMB),
    fmt(w.serverCpuPct, 0),
    ...(db ? [fmt(w.serviceCpuPct, 0)] : []),
    fmt(w.otherOnServerCorePct, 0),
  ]);
  const windowsHeader = [
    '#',
    'end s',
    'phase',
    'req/s',
    'errors',
    'p50 ms',
    'p99 ms',
    'max ms',
    'RSS MB',
    'heap used MB',
    'heap total MB',
    'external MB',
    'server CPU %',
    ...(db ? ['DB CPU %'] : []),
    'others % (srv core)',
  ];
  return [
    `# Tessera soak: ${r.scenario} at ${Math.round(SOAK.rateFraction * 100)}% of peak for ${r.durationS} s, ${topologyLabel(r.options)}`,
    '',
    `- Started ${r.startedAt}, finished ${r.finishedAt}`,
    `- Command: \`${r.command}\``,
    `- Measured: Tessera ${r.machine.tessera.commit}${r.machine.tessera.srcModified ? ' (with uncommitted changes in src/)' : ''}`,
    `- Topology: ${topologyLine(r.options, false)}`,
    `- Machine: ${machineLine(r.machine)}`,
    `- Peak: ${fmt(r.peak.rps)} req/s (${r.peak.loader}, ${r.options.durationS} s after ${r.options.warmupS} s of warm-up, ${r.options.connections} connections; p99 ${fmt(r.peak.p99Ms, 2)} ms; CPU ${fmt(r.peak.cpuUsPerUnit, 0)} µs/req${r.peak.serviceCpuUsPerUnit != null ? `, database services ${fmt(r.peak.serviceCpuUsPerUnit, 0)} µs/req` : ''})`,
    ...(noiseWarning([r.peak])
      ? [`- ${noiseWarning([r.peak])} The target rate is then below 70% of what a quiet machine gives.`]
      : []),
    `- Soak: ${r.targetRps} req/s (${Math.round(SOAK.rateFraction * 100)}% of the peak) for ${r.durationS} s with ${r.soakLoader}, ${r.connections} connections; windows of ${r.windowS} s; the first ${r.warmupS} s are warm-up`,
    '',
    '## Verdicts (after the warm-up)',
    '',
    mdTable(
      ['check', 'measured', 'verdict'],
      [
        [
          'RSS',
          `min ${fmt(v.rss.minMB)} MB, max ${fmt(v.rss.maxMB)} MB (max - min ${fmt(v.rss.driftMB)} MB); growth (max - first) ${fmt(v.rss.growthMB)} MB (limit ${v.rss.limitMB} MB); last - first ${fmt(v.rss.netMB)} MB`,
          v.rss.stable ? 'stable' : 'DRIFTS',
        ],
        [
          'RSS slope',
          `${fmt(v.rssSlope.mbPerMin, 2)} MB/min over the judged windows (least squares; limit < ${v.rssSlope.limitMBPerMin} MB/min)` +
            (v.rssSlope.secondHalfMBPerMin != null
              ? `; ${fmt(v.rssSlope.secondHalfMBPerMin, 2)} MB/min over their second half alone (shown, not judged)`
              : ''),
          v.rssSlope.flat ? 'flat' : 'GROWS',
        ],
        [
          'errors',
          `${v.errors.failedRequests} failed of ${r.total.ok + r.total.failed} requests; ${v.errors.serverLoggedErrors} errors logged by Tessera`,
          v.errors.none ? 'none' : 'ERRORS',
        ],
        [
          'p99',
          `min ${fmt(v.p99.minMs, 2)} ms, max ${fmt(v.p99.maxMs, 2)} ms, spread ${fmt(v.p99.spread, 2)}x (limit ${v.p99.spreadLimit}x); second half / first half ${fmt(v.p99.trend, 2)}x`,
          v.p99.steady ? 'steady' : 'UNSTEADY',
        ],
        [
          'rate',
          `${fmt(v.rate.achievedRps)} req/s of ${v.rate.targetRps} targeted`,
          v.rate.reached ? 'held' : 'NOT HELD (the server or the load generator fell behind)',
        ],
      ],
      ['l', 'l', 'l'],
    ),
    '',
    ...(v.noise.noisyWindows
      ? [
          `> WARNING: the machine was not quiet: in ${v.noise.noisyWindows} of ${r.windows.filter((w) => !w.warmup).length} judged windows other processes took more than ` +
            `${SOAK.noisyOtherPct}% of the server's core (up to ${v.noise.maxOtherPct}%); latency and RSS in those windows reflect that.` +
            `${v.noise.quietP99Spread !== undefined ? ` p99 spread over the quiet windows only: ${fmt(v.noise.quietP99Spread, 2)}x.` : ''} Rerun on a quiet machine.`,
          '',
        ]
      : []),
    '## Windows',
    '',
    mdTable(
      windowsHeader,
      rows,
      windowsHeader.map((_, k) => (k === 2 ? 'l' : 'r')),
    ),
    '',
    `Server log: ${logSummary(r.serverLog)}`,
    ...(r.total.firstError ? ['', `First error: ${r.total.firstError}`] : []),
    '',
    ...notesSection(r.notes),
  ].join('\n');
}

export async function runSoak(session: Session): Promise<number> {
  const { options: o, machine, log } = session;
  const scenario = SCENARIOS.find((s) => s.id === o.soakScenario)!;
  const warmupS = Math.min(SOAK.maxWarmupS, SOAK.warmupFraction * o.soakSeconds);
  const metricsToken = randomBytes(32).toString('base64url');
  const server = await startServer(session, 'Tessera', () =>
    startTessera(machine, session.fixtures, session.dir, { TESSERA_METRICS_TOKEN: metricsToken }),
  );
  if (server instanceof Error) return 1;
  const ctx = scenarioContext(session, server);
  let peak: ScenarioResult | undefined;
  let targetRps = 0;
  let total: LoadResult | undefined;
  const windows: SoakWindow[] = [];
  let serverLog: ServerLogSummary;
  try {
    log(`  peak of ${scenario.id}:`);
    peak = await runScenario(scenario, ctx, session.requestDriver, runnerOptions(session, { runs: 1 }));
    if (peak.status === 'ok') {
      targetRps = Math.max(1, Math.round(SOAK.rateFraction * peak.rps!));
      log(
        `  soak: ${targetRps} req/s for ${o.soakSeconds} s (autocannon, ${o.connections} connections); warm-up ${warmupS} s`,
      );
      // Validated again after the peak; a fresh workload for the soak.
      const workload = await (await scenario.prepare(ctx))();
      const sample = windowSampler(
        server,
        machine.pinning.applied ? machine.pinning.serverCore : undefined,
        warmupS,
        runnerOptions(session).services,
      );
      const heaps: Promise<void>[] = [];
      total = await autocannonDriver(machine.pinning).run(
        workload,
        { durationS: o.soakSeconds, connections: o.connections, rate: targetRps, windowS: SOAK.windowS },
        (w) => {
          const win = sample(w);
          windows.push(win);
          heaps.push(
            heapOf(server, metricsToken).then((h) => {
              Object.assign(win, h);
              log(
                `  ${String(win.index).padStart(3)} ${fmt(win.endS, 0).padStart(4)} s${win.warmup ? ' (warm-up)' : '          '}: ${fmt(win.rps)} req/s, ${win.failed} errors, ` +
                  `p50 ${fmt(win.p50Ms, 2)} ms, p99 ${fmt(win.p99Ms, 2)} ms, RSS ${fmt(win.rssMB)} MB (heap ${fmt(win.heapUsedMB)} used of ${fmt(win.heapTotalMB)}, external ${fmt(win.externalMB)}), server CPU ${fmt(win.serverCpuPct, 0)}%${win.serviceCpuPct != null ? `, DB CPU ${fmt(win.serviceCpuPct, 0)}%` : ''}`,
              );
            }),
          );
        },
      );
      await Promise.all(heaps);
    }
  } catch (err) {
    log(`  soak FAILED: ${(err as Error).message}`);
  } finally {
    serverLog = await stopServer(server, scenario.id === 'refresh' ? 2 : 0);
  }
  if (peak?.status !== 'ok' || !total || !windows.some((w) => !w.warmup)) {
    log(`\nno soak measurement${peak?.error ? `: ${peak.error}` : ''}; server log kept in ${session.dir}`);
    return 1;
  }

  const report: SoakReport = {
    version: 1,
    kind: 'soak',
    startedAt: session.startedAt,
    finishedAt: new Date().toISOString(),
    command: session.command,
    options: o,
    machine,
    scenario: scenario.id,
    peak,
    soakLoader: `autocannon ${packageVersion('autocannon')}`,
    targetRps,
    durationS: o.soakSeconds,
    warmupS,
    windowS: SOAK.windowS,
    connections: o.connections,
    windows,
    total,
    verdicts: judge(windows, total, serverLog, targetRps),
    serverLog,
    notes: soakNotes(o),
  };
  const md = soakMarkdown(report);
  log(`\n${md}`);
  const files = writeFiles(resolve(REPO_ROOT, o.outDir), [resultName(o, 'soak', 'latest')], report, md);
  log(`Written: ${files.map((f) => f.replace(REPO_ROOT, '')).join(', ')}`);
  if (!report.verdicts.errors.none) {
    log(`\nthe soak had errors; server log kept in ${session.dir}`);
    return 1;
  }
  return 0;
}
