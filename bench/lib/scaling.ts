// `npm run bench -- --scaling`: Tessera with 1 and then 2 worker processes (TESSERA_WORKERS),
// each measured on the chosen scenarios (default client_credentials and jwks) as the comparison
// measures them, but unpinned: the workers may use every core. Reports req/s for each worker
// count and the factor 2 workers / 1 worker; writes bench/results/scaling-latest.*.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Machine } from './machine.ts';
import { logSummary, machineLine, mdTable, notesSection, table, writeFiles } from './report.ts';
import { median, round, runScenario, type ScenarioResult } from './runner.ts';
import { SCENARIOS, type ScenarioId } from './scenarios.ts';
import { REPO_ROOT, startTessera, type ServerLogSummary } from './servers.ts';
import {
  driverFor,
  notStarted,
  runnerOptions,
  scenarioContext,
  startServer,
  stopServer,
  validatedReplays,
  type Session,
} from './session.ts';

export const SCALING_WORKERS = [1, 2];

export const SCALING_PINNING: Machine['pinning'] = {
  applied: false,
  reason:
    "scaling mode: Tessera's workers may use every core; the load generator and the harness run unpinned on the same cores",
};

export interface ScalingResult extends ScenarioResult {
  workers: number;
  /** CPU the load generator used, percent of one core (median of the runs). */
  loaderCpuPct?: number;
}

export interface ScalingRow {
  scenario: ScenarioId;
  unit: 'request' | 'flow';
  /** Throughput per worker count, in the order of ScalingReport.workers. */
  rps: (number | undefined)[];
  /** Throughput with the most workers over throughput with one. */
  factor?: number;
}

export interface ScalingReport {
  version: 1;
  kind: 'scaling';
  startedAt: string;
  finishedAt: string;
  command: string;
  options: Session['options'];
  machine: Machine;
  workers: number[];
  rows: ScalingRow[];
  results: ScalingResult[];
  /** What Tessera logged, by worker count. */
  serverLogs: Record<string, ServerLogSummary>;
  notes: string[];
}

const NOTES = [
  'Workers: TESSERA_WORKERS=1 is the plain single process; TESSERA_WORKERS=2 is the cluster primary and two forked workers sharing the port (the primary hands each accepted connection to a worker in turn, so the keep-alive connections of the load are split evenly).',
  'Nothing is pinned: the server may use every core, and the load generator (and this harness) run on the same cores. On a 2-core machine the load generator competes with the second worker for the second core, so the factor understates what a second core gives when the load comes from another machine.',
  'Server CPU per request sums utime+stime of the primary and of every worker process (found by parent pid in /proc), all threads; server CPU % is that over wall time, percent of one core (up to 100 x cores). Load generator CPU %: the load generator process, percent of one core.',
  'Each scenario is validated on each server before it is measured, and runs as in the comparison: warm-up, then the median of --runs runs of --duration seconds; only successful responses count.',
];

const fmt = (x: number | null | undefined, digits = 1) => (x === null || x === undefined ? '-' : x.toFixed(digits));
const label = (workers: number) => `${workers} worker${workers > 1 ? 's' : ''}`;

export function scalingRows(results: ScalingResult[], workers: number[]): ScalingRow[] {
  const ids = SCENARIOS.map((s) => s.id).filter((id) => results.some((r) => r.scenario === id));
  return ids.map((id) => {
    const rps = workers.map((n) => results.find((r) => r.scenario === id && r.workers === n && r.status === 'ok')?.rps);
    const first = rps[0];
    const last = rps.at(-1);
    return {
      scenario: id,
      unit: results.find((r) => r.scenario === id)!.unit,
      rps,
      factor: first && last ? round(last / first, 2) : undefined,
    };
  });
}

function summary(r: ScalingReport): [string[], string[][], ('l' | 'r')[]] {
  return [
    ['scenario', 'unit', ...r.workers.map(label), `${r.workers.at(-1)}w / ${r.workers[0]}w`],
    r.rows.map((x) => [
      x.scenario,
      x.unit === 'flow' ? 'flows/s' : 'req/s',
      ...x.rps.map((v) => fmt(v)),
      x.factor === undefined ? '-' : `${x.factor.toFixed(2)}x`,
    ]),
    ['l', 'l', ...r.workers.map(() => 'r' as const), 'r'],
  ];
}

function details(r: ScalingReport): [string[], string[][], ('l' | 'r')[]] {
  return [
    [
      'scenario',
      'workers',
      'rps',
      'p50 ms',
      'p99 ms',
      'err %',
      'CPU µs/unit',
      'server CPU %',
      'load generator CPU %',
      'first error',
    ],
    r.results.map((x) =>
      x.status !== 'ok'
        ? [x.scenario, String(x.workers), x.status.toUpperCase(), '', '', '', '', '', '', (x.error ?? '').slice(0, 120)]
        : [
            x.scenario,
            String(x.workers),
            fmt(x.rps),
            fmt(x.p50Ms, 2),
            fmt(x.p99Ms, 2),
            fmt(x.errorPct, 2),
            fmt(x.cpuUsPerUnit, 0),
            fmt(x.serverCpuPct, 0),
            fmt(x.loaderCpuPct, 0),
            x.runs.find((run) => run.firstError)?.firstError?.slice(0, 120) ?? '',
          ],
    ),
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
  ];
}

function heading(r: ScalingReport): string[] {
  return [
    `- Started ${r.startedAt}, finished ${r.finishedAt}`,
    `- Command: \`${r.command}\``,
    `- Measured: Tessera ${r.machine.tessera.commit}${r.machine.tessera.srcModified ? ' (with uncommitted changes in src/)' : ''} with ${r.workers.map(label).join(', then ')}`,
    `- Machine: ${machineLine(r.machine)}`,
    `- Runs: median of ${r.options.runs} x ${r.options.durationS} s after ${r.options.warmupS} s of warm-up; ${r.options.connections} connections`,
    '- Not pinned: the load generator runs on the same cores as the workers and competes with the second one on a 2-core machine.',
  ];
}

export function scalingConsole(r: ScalingReport): string {
  return [...heading(r), '', table(...summary(r)), '', table(...details(r))].join('\n');
}

export function scalingMarkdown(r: ScalingReport): string {
  return [
    '# Tessera worker scaling',
    '',
    ...heading(r),
    '',
    '## Throughput',
    '',
    mdTable(...summary(r)),
    '',
    '## Details',
    '',
    mdTable(...details(r)),
    '',
    '## Server logs (warn and above during the run)',
    '',
    ...Object.entries(r.serverLogs).map(([n, v]) => `- ${label(Number(n))}: ${logSummary(v)}`),
    '',
    ...notesSection(r.notes),
  ].join('\n');
}

export async function runScaling(session: Session): Promise<number> {
  const { options: o, machine, log } = session;
  const scenarios = SCENARIOS.filter((s) => o.scenarios.includes(s.id));
  const results: ScalingResult[] = [];
  const serverLogs: ScalingReport['serverLogs'] = {};
  for (const workers of SCALING_WORKERS) {
    const dir = join(session.dir, `workers-${workers}`);
    mkdirSync(dir);
    const serverLabel = `Tessera, ${label(workers)}`;
    const server = await startServer(session, serverLabel, () =>
      startTessera(machine, session.fixtures, dir, { TESSERA_WORKERS: String(workers) }),
    );
    if (server instanceof Error) {
      results.push(...notStarted(scenarios, 'tessera', serverLabel, server).map((r) => ({ ...r, workers })));
      continue;
    }
    const own: ScalingResult[] = [];
    try {
      for (const s of scenarios) {
        const r = await runScenario(s, scenarioContext(session, server), driverFor(session, s), runnerOptions(session));
        own.push({
          ...r,
          serverLabel,
          workers,
          loaderCpuPct: r.runs.length ? round(median(r.runs.map((x) => x.loaderCpuPct)), 1) : undefined,
        });
      }
    } finally {
      serverLogs[workers] = await stopServer(server, validatedReplays(own));
      results.push(...own);
    }
  }

  const report: ScalingReport = {
    version: 1,
    kind: 'scaling',
    startedAt: session.startedAt,
    finishedAt: new Date().toISOString(),
    command: session.command,
    options: o,
    machine,
    workers: SCALING_WORKERS,
    rows: scalingRows(results, SCALING_WORKERS),
    results,
    serverLogs,
    notes: NOTES,
  };
  log(`\n${scalingConsole(report)}\n`);
  for (const [n, s] of Object.entries(serverLogs)) {
    if (s.warnings || s.errors)
      log(
        `Tessera with ${label(Number(n))} logged ${s.warnings} warnings and ${s.errors} errors, e.g. ${s.samples[0]}`,
      );
  }
  const files = writeFiles(resolve(REPO_ROOT, o.outDir), ['scaling-latest'], report, scalingMarkdown(report));
  log(`Written: ${files.map((f) => f.replace(REPO_ROOT, '')).join(', ')}`);
  const bad = results.filter((r) => r.status !== 'ok');
  if (bad.length) {
    log(`\n${bad.length} measurement(s) failed; server logs kept in ${session.dir}`);
    for (const r of bad) log(`  ${r.serverLabel} ${r.scenario}: ${r.status}: ${r.error}`);
    return 1;
  }
  return 0;
}
