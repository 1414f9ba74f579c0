// The results: a console table, JSON and markdown (latest and a timestamped copy).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchOptions } from './args.ts';
import type { Machine } from './machine.ts';
import { median, otherPct, type RunRecord, type ScenarioResult } from './runner.ts';
import { FLOOR_FOR, SCENARIOS, type ScenarioId } from './scenarios.ts';
import type { ServerKind, ServerLogSummary } from './servers.ts';
import { instancesNote, resultName, topologyLabel, type Topology } from './storage.ts';

export interface Comparison {
  scenario: ScenarioId;
  title: string;
  unit: 'request' | 'flow';
  tesseraRps?: number;
  oidcProviderRps?: number;
  /** Tessera / node-oidc-provider throughput (median of the paired runs' ratios): above 1 means Tessera is faster. */
  rpsRatio?: number;
  /** Tessera / node-oidc-provider server CPU per unit: below 1 means Tessera does the work with less CPU. */
  cpuRatio?: number;
  floor?: { scenario: ScenarioId; rps?: number };
}

export interface BenchReport {
  version: 1;
  /** full: every scenario on every server; partial: --only or --servers; smoke: --smoke. */
  kind: 'full' | 'partial' | 'smoke';
  startedAt: string;
  finishedAt: string;
  command: string;
  options: BenchOptions;
  machine: Machine;
  results: ScenarioResult[];
  comparisons: Comparison[];
  serverLogs: Partial<Record<ServerKind, ServerLogSummary>>;
  /** Idle RSS of each compared server, before and after the load (peaks are in results). */
  memory?: IdleMemory[];
  notes: string[];
}

/** A server's RSS while idle (the sum over its process tree), MiB. */
export interface IdleMemory {
  server: ServerKind;
  /** Right after it answered its first request, before any scenario. */
  startMiB?: number;
  /** After every scenario, once the load had stopped. */
  endMiB?: number;
}

/** The notes of a comparison report; the storage and instance notes depend on the topology. */
export function comparisonNotes(t: Topology): string[] {
  const db = t.storage === 'postgres' ? 'its database' : 'SQLite';
  return [
    t.storage === 'postgres'
      ? 'node-oidc-provider runs on its default in-memory adapter (no database round trips) whatever --storage says; Tessera keeps its state in PostgreSQL and Redis on this machine (round trips over loopback). This favours node-oidc-provider in every scenario that touches state (tokens, refresh, introspection, userinfo, flows).'
      : 'node-oidc-provider runs on its default in-memory adapter (no database round trips); Tessera reads and writes a real SQLite database (WAL) on disk. This favours node-oidc-provider in every scenario that touches state (tokens, refresh, introspection, userinfo, flows).',
    instancesNote(t),
    `node-oidc-provider refuses to introspect JWT access tokens and refuses tokens with an audience at userinfo, so the user access token of the introspection and userinfo scenarios is opaque there (an in-memory lookup) and an ES256 JWT at Tessera (signature check plus revocation and user lookups in ${db}). Client credentials, refresh and flows issue ES256 JWT access tokens for the same resource on both.`,
    'Logins on both servers verify the same Argon2id hash (src/accounts/passwords.ts: 19 MiB, 2 passes, 1 lane); every flow shows a login and a consent page (prompt=consent, needed by both for offline_access). A Tessera flow takes 6 HTTP requests, a node-oidc-provider flow 8 (its resume redirects).',
    'Single sign-on (sso_flow): the same browser session and remembered consent on both, scope openid profile email, ES256 ID tokens and ES256 JWT access tokens on both. Tessera also issues a refresh token (the client has the refresh_token grant), records the client under the session for logout, and marks the code against replay; node-oidc-provider issues refresh tokens only with offline_access. Tessera does more work per flow, none of it left out.',
    'Refresh rotation: every request presents the refresh token returned by the previous response on its chain; each chain starts from its own code flow. Replaying a rotated token is refused by both (checked before measuring).',
    'Throughput counts successful responses only (200; for flows, completed flows with tokens). Errors are unexpected statuses, bad bodies and socket errors. Every scenario is validated before measuring (JWT signatures against the published JWKS, claims, negative checks).',
    "Server CPU per request: utime+stime of the server's process tree (with workers: the primary and every worker; all threads) from /proc/<pid>/stat over the measured run, divided by successful requests. Server busy %: that CPU time over the run's wall time; well below 100 means the server waited (on disk, the database, locks or the load generator) rather than computed. Others %: CPU time other processes took on the server core and on the load generator core during the worst run (pinned runs), a measure of how quiet the machine was. Peak RSS: VmHWM summed over the process tree, reset before each scenario when the kernel allows (clear_refs); with workers the sum of peaks that need not coincide, an upper bound.",
    ...(t.storage === 'postgres'
      ? [
          "DB CPU µs/unit: CPU the database services used per successful request during Tessera's runs: the PostgreSQL server's processes (found in /proc by command name, other databases' client backends left out) and redis-server, all threads. They are the machine's shared services, so anything else using them meanwhile counts too: approximate. They run on either core (they are not ours to pin), so Others % includes them; the warning about a machine that was not quiet leaves them out. It is not in CPU/unit T/O; node-oidc-provider uses no database.",
        ]
      : []),
    'Memory: RSS of each server (the sum over its process tree) while idle, right after it started and answered its first requests (discovery, before any scenario), and again after every scenario had run; the peaks are those of the details table.',
    'The machine is shared: anything else running during a bench run (other builds and tests) lowers the numbers. The load average at the start is recorded; compare runs only from a quiet machine.',
    'All servers are started at the start and stay up (idle ones take no CPU); each scenario is measured on every server with their runs interleaved (Tessera run 1, node-oidc-provider run 1, Tessera run 2, ...). The ratios are the medians of the ratios of those paired runs, so a virtual machine whose speed drifts during the session (seen here: the same server measured 2.5x apart minutes apart) skews both servers alike; absolute figures still move with the machine.',
    'The token floor signs with jose (WebCrypto, asynchronous); Tessera signs with node:crypto synchronously, so Tessera can beat that floor.',
  ];
}

const fmt = (x: number | null | undefined, digits = 1) => (x === null || x === undefined ? '-' : x.toFixed(digits));
const ratio = (a?: number | null, b?: number | null) => (a && b ? Math.round((a / b) * 100) / 100 : undefined);

/**
 * Tessera / node-oidc-provider of one figure: the median of the ratios of runs made one after
 * the other (run i of each server, interleaved), so that a machine whose speed drifts over the
 * session does not favour whichever server ran in its fast moments; the ratio of the medians
 * when the runs do not pair up.
 */
function pairedRatio(
  t: ScenarioResult | undefined,
  o: ScenarioResult | undefined,
  pick: (r: RunRecord) => number | null,
  overall: (r: ScenarioResult) => number | null | undefined,
): number | undefined {
  if (!t || !o) return undefined;
  const pairs =
    t.runs.length === o.runs.length
      ? t.runs
          .map((r, i) => [pick(r), pick(o.runs[i]!)] as const)
          .filter((p): p is readonly [number, number] => !!p[0] && !!p[1])
      : [];
  if (pairs.length === 0 || pairs.length !== t.runs.length) return ratio(overall(t), overall(o));
  return Math.round(median(pairs.map(([a, b]) => a / b)) * 100) / 100;
}

export function compare(results: ScenarioResult[]): Comparison[] {
  const get = (scenario: ScenarioId, server: ServerKind) =>
    results.find((r) => r.scenario === scenario && r.server === server && r.status === 'ok');
  const out: Comparison[] = [];
  for (const s of SCENARIOS) {
    if (!s.servers.includes('tessera')) continue;
    const t = get(s.id, 'tessera');
    const o = get(s.id, 'oidc-provider');
    if (!results.some((r) => r.scenario === s.id)) continue;
    const floorId = FLOOR_FOR[s.id];
    const floor = floorId ? get(floorId, 'floor') : undefined;
    out.push({
      scenario: s.id,
      title: s.title,
      unit: s.unit,
      tesseraRps: t?.rps,
      oidcProviderRps: o?.rps,
      rpsRatio: pairedRatio(
        t,
        o,
        (r) => r.rps,
        (r) => r.rps,
      ),
      cpuRatio: pairedRatio(
        t,
        o,
        (r) => r.cpuUsPerUnit,
        (r) => r.cpuUsPerUnit,
      ),
      floor: floorId && floor ? { scenario: floorId, rps: floor.rps } : undefined,
    });
  }
  return out;
}

export function table(header: string[], rows: string[][], align: ('l' | 'r')[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (align[i] === 'r' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function mdTable(header: string[], rows: string[][], align: ('l' | 'r')[]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${align.map((a) => (a === 'r' ? '---:' : ':---')).join('|')}|`,
    ...rows.map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`),
  ].join('\n');
}

/** What a server logged, in one line: "N warnings, N errors; e.g. `...`". */
export function logSummary(v: ServerLogSummary): string {
  return `${v.warnings} warnings, ${v.errors} errors${v.samples.length ? `; e.g. \`${v.samples[0]!.slice(0, 200)}\`` : ''}`;
}

/** The closing section of a markdown report. */
export function notesSection(notes: string[]): string[] {
  return ['## How to read this', '', ...notes.map((n) => `- ${n}`), ''];
}

function summaryRows(c: Comparison[]): string[][] {
  return c.map((x) => [
    x.scenario,
    x.unit === 'flow' ? 'flows/s' : 'req/s',
    fmt(x.tesseraRps),
    fmt(x.oidcProviderRps),
    x.rpsRatio === undefined ? '-' : `${x.rpsRatio.toFixed(2)}x`,
    x.cpuRatio === undefined ? '-' : `${x.cpuRatio.toFixed(2)}x`,
    x.floor ? `${fmt(x.floor.rps)} (${x.floor.scenario})` : '',
  ]);
}
const SUMMARY_HEADER = ['scenario', 'unit', 'Tessera', 'node-oidc-provider', 'ratio T/O', 'CPU/unit T/O', 'floor'];
const SUMMARY_ALIGN: ('l' | 'r')[] = ['l', 'l', 'r', 'r', 'r', 'r', 'l'];

/** The details table; `db`: with the database services' CPU per unit (Tessera on PostgreSQL). */
function detailTable(results: ScenarioResult[], db: boolean): [string[], string[][], ('l' | 'r')[]] {
  const header = [
    'scenario',
    'server',
    'rps',
    'p50 ms',
    'p99 ms',
    'err %',
    'CPU µs/unit',
    ...(db ? ['DB CPU µs/unit'] : []),
    'server busy %',
    'others % (srv/load core)',
    'peak RSS MiB',
    'first error',
  ];
  const rows = results.map((r) =>
    r.status !== 'ok'
      ? [
          r.scenario,
          r.serverLabel,
          r.status.toUpperCase(),
          ...header.slice(3, -1).map(() => ''),
          (r.error ?? '').slice(0, 120),
        ]
      : [
          r.scenario,
          r.serverLabel,
          fmt(r.rps),
          fmt(r.p50Ms, 2),
          fmt(r.p99Ms, 2),
          fmt(r.errorPct, 2),
          fmt(r.cpuUsPerUnit, 0),
          ...(db ? [fmt(r.serviceCpuUsPerUnit, 0)] : []),
          fmt(r.serverCpuPct, 0),
          `${fmt(r.otherOnServerCorePct, 0)} / ${fmt(r.otherOnLoaderCorePct, 0)}`,
          fmt(r.peakRssMiB),
          r.runs.find((x) => x.firstError)?.firstError?.slice(0, 120) ?? '',
        ],
  );
  return [header, rows, header.map((_, k) => (k < 2 || k === header.length - 1 ? 'l' : 'r'))];
}

/**
 * The memory table: each compared server's idle RSS before and after the load, and its peak under
 * each scenario (the details' peak RSS), MiB; undefined when nothing was recorded.
 */
function memoryTable(r: BenchReport): [string[], string[][], ('l' | 'r')[]] | undefined {
  const servers = (['tessera', 'oidc-provider'] as const).filter((k) => r.memory?.some((m) => m.server === k));
  if (!servers.length) return undefined;
  const idle = (k: ServerKind) => r.memory!.find((m) => m.server === k);
  const peak = (id: ScenarioId, k: ServerKind) =>
    r.results.find((x) => x.scenario === id && x.server === k && x.status === 'ok')?.peakRssMiB;
  const scenarios = SCENARIOS.filter((s) => servers.some((k) => peak(s.id, k) !== undefined));
  const header = ['RSS MiB', ...servers.map((k) => r.results.find((x) => x.server === k)?.serverLabel ?? k)];
  const rows = [
    ['idle, after start', ...servers.map((k) => fmt(idle(k)?.startMiB))],
    ...scenarios.map((s) => [`peak under ${s.id}`, ...servers.map((k) => fmt(peak(s.id, k)))]),
    ['idle, after every scenario', ...servers.map((k) => fmt(idle(k)?.endMiB))],
  ];
  return [header, rows, ['l', ...servers.map(() => 'r' as const)]];
}

/** The topology line of a report header: Tessera's storage and instances, and the peer's store. */
export function topologyLine(t: Topology, peer = true): string {
  return `Tessera on ${topologyLabel(t)}${t.instances > 1 ? ` (TESSERA_WORKERS=${t.instances}: the cluster primary and ${t.instances} workers, all on the server core)` : ''}${peer ? '; node-oidc-provider: one process, its in-memory store' : ''}`;
}

export function machineLine(m: Machine): string {
  const pin = m.pinning.applied
    ? `pinned (servers core ${m.pinning.serverCore}, load core ${m.pinning.loaderCore})`
    : `not pinned (${m.pinning.reason})`;
  return `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}; load generator: ${m.loader} ${m.loaderVersion}; ${pin}; load average at start ${m.loadAverage.join(' ')}; ${m.storage === 'PostgreSQL + Redis' ? 'Tessera on PostgreSQL + Redis (node-oidc-provider in memory)' : `SQLite on ${m.tempFilesystem}`}`;
}

/** A warning when other processes took a noticeable share of the server's core in some run. */
export function noiseWarning(results: ScenarioResult[], thresholdPct = 5): string | undefined {
  // On PostgreSQL the database services (unpinned, on either core) are the server's own work, not noise.
  const noisy = results.filter((r) => otherPct(r) > thresholdPct);
  if (!noisy.length) return undefined;
  return (
    `WARNING: the machine was not quiet: other processes took up to ${Math.max(...noisy.map(otherPct)).toFixed(0)}% of the server's or the load generator's core${noisy.some((r) => r.otherThanServicesPct !== undefined) ? ' (the database services left out)' : ''} in ` +
    `${noisy.map((r) => `${r.scenario} (${r.serverLabel})`).join(', ')}. Those numbers are low and noisy; rerun on a quiet machine.`
  );
}

export function consoleReport(r: BenchReport): string {
  const noise = noiseWarning(r.results);
  const memory = memoryTable(r);
  return [
    `Tessera ${r.machine.tessera.commit}${r.machine.tessera.srcModified ? ' (src/ modified)' : ''} vs node-oidc-provider ${r.machine.oidcProvider}`,
    `Machine: ${machineLine(r.machine)}`,
    `Topology: ${topologyLine(r.options)}`,
    `Runs: ${r.options.runs} x ${r.options.durationS} s (warm-up ${r.options.warmupS} s), ${r.options.connections} connections, ${r.options.flowConcurrency} concurrent flows`,
    '',
    table(SUMMARY_HEADER, summaryRows(r.comparisons), SUMMARY_ALIGN),
    '',
    table(...detailTable(r.results, r.options.storage === 'postgres')),
    ...(memory ? ['', table(...memory)] : []),
    ...(noise ? ['', noise] : []),
  ].join('\n');
}

export function markdownReport(r: BenchReport): string {
  const memory = memoryTable(r);
  const logs = Object.entries(r.serverLogs).map(([k, v]) => `- ${k}: ${logSummary(v)}`);
  return [
    `# Tessera benchmark${r.kind === 'smoke' ? ' (smoke run: not a measurement)' : r.kind === 'partial' ? ' (partial run)' : ''}: ${topologyLabel(r.options)}`,
    '',
    `- Started ${r.startedAt}, finished ${r.finishedAt}`,
    `- Command: \`${r.command}\``,
    `- Measured: Tessera ${r.machine.tessera.commit}${r.machine.tessera.srcModified ? ' (with uncommitted changes in src/)' : ''}, node-oidc-provider ${r.machine.oidcProvider}`,
    `- Topology: ${topologyLine(r.options)}`,
    `- Machine: ${machineLine(r.machine)}`,
    `- Runs: median of ${r.options.runs} x ${r.options.durationS} s after ${r.options.warmupS} s of warm-up; ${r.options.connections} connections; ${r.options.flowConcurrency} concurrent flows`,
    '',
    '## Throughput',
    '',
    'Ratio T/O above 1: Tessera serves more per second than node-oidc-provider. CPU/unit T/O below 1: Tessera spends less server CPU per request.',
    '',
    mdTable(SUMMARY_HEADER, summaryRows(r.comparisons), SUMMARY_ALIGN),
    '',
    ...(noiseWarning(r.results) ? [`> ${noiseWarning(r.results)}`, ''] : []),
    '## Details',
    '',
    mdTable(...detailTable(r.results, r.options.storage === 'postgres')),
    '',
    ...(memory ? ['## Memory', '', mdTable(...memory), ''] : []),
    '## Server logs (warn and above during the run)',
    '',
    ...(logs.length ? logs : ['- none']),
    '',
    ...notesSection(r.notes),
  ].join('\n');
}

/** Writes `<name>.json` and `<name>.md` for each name into outDir; returns the paths. */
export function writeFiles(outDir: string, names: string[], data: unknown, md: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const json = `${JSON.stringify(data, null, 2)}\n`;
  const files: string[] = [];
  for (const name of names) {
    writeFileSync(join(outDir, `${name}.json`), json);
    writeFileSync(join(outDir, `${name}.md`), md);
    files.push(join(outDir, `${name}.json`), join(outDir, `${name}.md`));
  }
  return files;
}

export function writeReport(r: BenchReport, outDir: string): string[] {
  // Only complete runs replace latest.* and keep a timestamped copy; each topology has its own names.
  const stamp = r.startedAt.replace(/[:.]/g, '-');
  return writeFiles(
    outDir,
    r.kind === 'full'
      ? [resultName(r.options, undefined, 'latest'), resultName(r.options, undefined, stamp)]
      : [resultName(r.options, r.kind, 'latest')],
    r,
    markdownReport(r),
  );
}
