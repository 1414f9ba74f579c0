// Runs the scenarios of one server: validate, warm up, measure N runs with server CPU and peak
// RSS from /proc, and condense the runs into medians.
import type { LoadDriver, LoadOptions, LoadResult, Workload } from '../load/types.ts';
import {
  childrenCpuMicros,
  coreTimes,
  otherCpuPct,
  resetTreePeakRss,
  treeCpuMicros,
  treePeakRss,
  waitForQuiet,
} from './proc.ts';
import type { Scenario, ScenarioContext, ScenarioId } from './scenarios.ts';
import { SERVER_LABELS, type ServerKind } from './servers.ts';

export interface RunRecord extends LoadResult {
  /** Successful requests (or flows) per second. */
  rps: number;
  /**
   * Server CPU (user + system, all threads, and all worker processes in cluster mode) per successful request or flow,
   * microseconds.
   */
  cpuUsPerUnit: number | null;
  /** Server CPU time over wall time, percent: near 100 when the server's core is saturated. */
  serverCpuPct: number;
  /**
   * CPU time that other processes took on the server's core during the run, percent of the run
   * (pinned runs only): anything above a few percent means the machine was not quiet.
   */
  otherOnServerCorePct?: number;
  /** CPU time that other processes took on the load generator's core, percent of the run (pinned runs only). */
  otherOnLoaderCorePct?: number;
  /** CPU the load generator process used, percent of one core. */
  loaderCpuPct: number;
  /**
   * CPU the database services (PostgreSQL, Redis) used per successful request or flow, microseconds; measured for
   * Tessera on PostgreSQL only (approximate: the services are the machine's, shared).
   */
  serviceCpuUsPerUnit?: number | null;
  /**
   * With the database services measured (pinned runs): CPU time other processes than the server, the load generator,
   * the harness and the database services took on both cores, percent of one core. The services run unpinned on either
   * core, so without this every run on PostgreSQL would look noisy.
   */
  otherThanServicesPct?: number;
}

export interface ScenarioResult {
  scenario: ScenarioId;
  title: string;
  unit: 'request' | 'flow';
  server: ServerKind;
  serverLabel: string;
  /** ok: measured; invalid: the server's answers failed validation; failed: the load generator failed. */
  status: 'ok' | 'invalid' | 'failed';
  error?: string;
  loader?: string;
  runs: RunRecord[];
  rps?: number;
  p50Ms?: number;
  p99Ms?: number;
  errorPct?: number;
  cpuUsPerUnit?: number | null;
  serverCpuPct?: number;
  /** Highest share of the server's core that other processes took in any run, percent. */
  otherOnServerCorePct?: number;
  /** Highest share of the load generator's core that other processes took in any run, percent. */
  otherOnLoaderCorePct?: number;
  /** Highest RunRecord.otherThanServicesPct of the runs. */
  otherThanServicesPct?: number;
  /** Median over the runs of RunRecord.serviceCpuUsPerUnit. */
  serviceCpuUsPerUnit?: number | null;
  /** Peak RSS of the server's process tree (the sum of each process's VmHWM), MiB. */
  peakRssMiB?: number;
  /** Whether peak RSS is this scenario's own (VmHWM reset before it) or the process's so far. */
  peakRssScope?: 'scenario' | 'process';
}

export interface RunnerOptions {
  durationS: number;
  runs: number;
  warmupS: number;
  connections: number;
  /** Cores of the server and of the load generator, when pinned. */
  cores?: { server: number; loader: number };
  /** Longest wait, seconds, for other processes to calm down before each measured run. */
  quietWaitS: number;
  /** How many times a disturbed run is measured again (measureQuietly); 0 when not given. */
  remeasure?: number;
  log: (line: string) => void;
  /**
   * CPU time of the database services so far, microseconds (proc.ts serviceCpuMeter); measured around Tessera's runs.
   */
  services?: () => number;
}

/**
 * What other processes took during a run, percent of one core: on PostgreSQL beyond the database
 * services (they are the server's own work there), else the larger of the two pinned cores' shares.
 */
export function otherPct(r: Pick<RunRecord, 'otherThanServicesPct' | 'otherOnServerCorePct' | 'otherOnLoaderCorePct'>) {
  return r.otherThanServicesPct ?? Math.max(r.otherOnServerCorePct ?? 0, r.otherOnLoaderCorePct ?? 0);
}

/** Above this share of a core taken by other processes (otherPct), a run counts as disturbed. */
export const DISTURBED_PCT = 10;

/**
 * Measures a run, and again up to `retries` times while other processes took more than
 * DISTURBED_PCT of a core during it (a backup, another service waking up): the quietest attempt
 * is the run. Each attempt is a few seconds after the one before, so the pairing of the servers'
 * runs holds; a machine that is slow without any other process to show for it is not caught.
 */
export async function measureQuietly(
  once: (attempt: number) => Promise<RunRecord>,
  retries: number,
  log: (line: string) => void,
): Promise<RunRecord> {
  let best = await once(0);
  for (let attempt = 1; attempt <= retries && otherPct(best) > DISTURBED_PCT; attempt++) {
    log(`  (other processes took ${otherPct(best).toFixed(0)}% of a core during that run; measuring it again)`);
    const next = await once(attempt);
    if (otherPct(next) < otherPct(best)) best = next;
  }
  return best;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * One measured run: the load, and around it the server's CPU time, the load generator's (reaped
 * child processes of this one) and, when pinned, what other processes took of both cores.
 */
async function measure(
  driver: LoadDriver,
  workload: Workload,
  load: LoadOptions,
  pid: number,
  cores: RunnerOptions['cores'],
  services: RunnerOptions['services'],
): Promise<RunRecord> {
  const services0 = services?.();
  const cores0 = coreTimes();
  const self0 = process.cpuUsage();
  const children0 = childrenCpuMicros(process.pid);
  const cpu0 = treeCpuMicros(pid);
  const r = await driver.run(workload, load);
  const cpu = treeCpuMicros(pid) - cpu0;
  const loaderCpu = childrenCpuMicros(process.pid) - children0;
  const self = process.cpuUsage(self0);
  const cores1 = coreTimes();
  const servicesCpu = services && services0 !== undefined ? services() - services0 : undefined;
  const rec: RunRecord = {
    ...r,
    rps: r.ok / r.durationS,
    cpuUsPerUnit: r.ok > 0 ? cpu / r.ok : null,
    serverCpuPct: (100 * cpu) / 1e6 / r.durationS,
    loaderCpuPct: (100 * loaderCpu) / 1e6 / r.durationS,
    ...(servicesCpu !== undefined ? { serviceCpuUsPerUnit: r.ok > 0 ? servicesCpu / r.ok : null } : {}),
  };
  if (cores) {
    rec.otherOnServerCorePct = otherCpuPct(cores0, cores1, cores.server, cpu);
    rec.otherOnLoaderCorePct = otherCpuPct(cores0, cores1, cores.loader, loaderCpu + self.user + self.system);
    const span = (c: number) => (cores1.get(c)?.total ?? 0) - (cores0.get(c)?.total ?? 0);
    if (servicesCpu !== undefined && span(cores.server) > 0) {
      const otherMicros =
        ((rec.otherOnServerCorePct ?? 0) * span(cores.server) + (rec.otherOnLoaderCorePct ?? 0) * span(cores.loader)) /
        100;
      rec.otherThanServicesPct = Math.max(0, (100 * (otherMicros - servicesCpu)) / span(cores.server));
    }
  }
  return rec;
}

function describeRun(r: RunRecord, unit: string): string {
  const errPct = (100 * r.failed) / Math.max(1, r.ok + r.failed);
  const others =
    r.otherOnServerCorePct !== undefined
      ? `; other processes: ${r.otherOnServerCorePct.toFixed(0)}% of the server core, ${(r.otherOnLoaderCorePct ?? 0).toFixed(0)}% of the load core${r.otherThanServicesPct !== undefined ? `, ${r.otherThanServicesPct.toFixed(0)}% of a core without the database services` : ''}`
      : '';
  return (
    `${r.rps.toFixed(1)} ${unit}s/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, errors ${errPct.toFixed(2)}%, ` +
    `cpu ${r.cpuUsPerUnit === null ? '-' : r.cpuUsPerUnit.toFixed(0)} µs/${unit}${r.serviceCpuUsPerUnit != null ? ` + database services ${r.serviceCpuUsPerUnit.toFixed(0)}` : ''} (server busy ${r.serverCpuPct.toFixed(0)}%, load generator ${r.loaderCpuPct.toFixed(0)}%${others})` +
    `${r.firstError ? ` (first error: ${r.firstError.slice(0, 160)})` : ''}`
  );
}

/** A scenario opened on one server: warm it up, measure it run by run, then condense the runs. */
export interface OpenScenario {
  warmup(): Promise<void>;
  /** One measured run; false once the scenario has failed (later calls do nothing). */
  measureRun(i: number): Promise<boolean>;
  result(): ScenarioResult;
}

/**
 * Prepares a scenario on a server. The comparison interleaves the runs of the servers it compares
 * (Tessera run 1, node-oidc-provider run 1, Tessera run 2, ...) so that a machine whose speed
 * drifts during the session slows both alike; soak and scaling run one server's runs in a row.
 */
export async function openScenario(
  scenario: Scenario,
  ctx: ScenarioContext,
  driver: LoadDriver,
  o: RunnerOptions,
): Promise<OpenScenario> {
  const { server } = ctx;
  const base = {
    scenario: scenario.id,
    title: scenario.title,
    unit: scenario.unit,
    server: server.kind,
    serverLabel: SERVER_LABELS[server.kind],
    loader: driver.name,
    runs: [] as RunRecord[],
  };
  let failure: ScenarioResult | undefined;
  let nextWorkload: () => Promise<Workload> = async () => {
    throw new Error('not prepared');
  };
  try {
    nextWorkload = await scenario.prepare(ctx);
  } catch (err) {
    o.log(`  ${scenario.id} (${base.serverLabel}): INVALID: ${(err as Error).message}`);
    failure = { ...base, status: 'invalid', error: (err as Error).message };
  }
  const rssScope = resetTreePeakRss(server.pid) ? 'scenario' : 'process';
  const services = server.kind === 'tessera' ? o.services : undefined;
  const load = { durationS: o.durationS, connections: o.connections };
  const guard = async (step: () => Promise<void>): Promise<boolean> => {
    if (failure) return false;
    try {
      await step();
      return true;
    } catch (err) {
      o.log(`  ${scenario.id} (${base.serverLabel}): FAILED: ${(err as Error).message}`);
      failure = { ...base, status: 'failed', error: (err as Error).message };
      return false;
    }
  };
  return {
    warmup: async () => {
      if (o.warmupS <= 0) return;
      await guard(async () => {
        const warm = await driver.run(await nextWorkload(), { ...load, durationS: o.warmupS });
        if (warm.ok === 0)
          throw new Error(`warm-up had no successful ${scenario.unit}: ${warm.firstError ?? 'no response'}`);
      });
    },
    measureRun: (i) =>
      guard(async () => {
        const first = await nextWorkload();
        if (o.quietWaitS > 0) {
          const q = await waitForQuiet(o.quietWaitS);
          if (q.busyPct > 10)
            o.log(
              `  (machine still ${q.busyPct.toFixed(0)}% busy with other work after waiting ${q.waitedS.toFixed(0)} s; measuring anyway)`,
            );
          else if (q.waitedS > 2) o.log(`  (waited ${q.waitedS.toFixed(0)} s for other work on the machine to finish)`);
        }
        const rec = await measureQuietly(
          async (attempt) => {
            // Each attempt on a workload of its own (a refresh chain's tokens are spent by a run).
            const workload = attempt === 0 ? first : await nextWorkload();
            if (attempt > 0 && o.quietWaitS > 0) await waitForQuiet(o.quietWaitS);
            return measure(driver, workload, load, server.pid, o.cores, services);
          },
          o.remeasure ?? 0,
          o.log,
        );
        base.runs.push(rec);
        o.log(`  ${scenario.id} ${base.serverLabel} run ${i + 1}/${o.runs}: ${describeRun(rec, scenario.unit)}`);
      }),
    result: () => failure ?? summarize(base, server.pid, rssScope),
  };
}

export async function runScenario(
  scenario: Scenario,
  ctx: ScenarioContext,
  driver: LoadDriver,
  o: RunnerOptions,
): Promise<ScenarioResult> {
  const open = await openScenario(scenario, ctx, driver, o);
  await open.warmup();
  for (let i = 0; i < o.runs && (await open.measureRun(i)); i++);
  return open.result();
}

function summarize(
  base: Omit<ScenarioResult, 'status'>,
  pid: number,
  rssScope: ScenarioResult['peakRssScope'],
): ScenarioResult {
  const runs = base.runs;
  const ok = runs.reduce((n, r) => n + r.ok, 0);
  const failed = runs.reduce((n, r) => n + r.failed, 0);
  const cpu = runs.map((r) => r.cpuUsPerUnit).filter((x): x is number => x !== null);
  const serviceCpu = runs.map((r) => r.serviceCpuUsPerUnit).filter((x): x is number => typeof x === 'number');
  const rss = treePeakRss(pid);
  return {
    ...base,
    status: ok > 0 ? 'ok' : 'failed',
    error:
      ok > 0 ? undefined : `no successful ${base.unit}: ${runs.find((r) => r.firstError)?.firstError ?? 'no response'}`,
    rps: round(median(runs.map((r) => r.rps)), 1),
    p50Ms: round(median(runs.map((r) => r.p50Ms)), 3),
    p99Ms: round(median(runs.map((r) => r.p99Ms)), 3),
    errorPct: round((100 * failed) / Math.max(1, ok + failed), 3),
    cpuUsPerUnit: cpu.length ? round(median(cpu), 1) : null,
    ...(runs.some((r) => r.serviceCpuUsPerUnit !== undefined)
      ? { serviceCpuUsPerUnit: serviceCpu.length ? round(median(serviceCpu), 1) : null }
      : {}),
    serverCpuPct: round(median(runs.map((r) => r.serverCpuPct)), 1),
    otherOnServerCorePct: runs.some((r) => r.otherOnServerCorePct !== undefined)
      ? round(Math.max(...runs.map((r) => r.otherOnServerCorePct ?? 0)), 1)
      : undefined,
    otherOnLoaderCorePct: runs.some((r) => r.otherOnLoaderCorePct !== undefined)
      ? round(Math.max(...runs.map((r) => r.otherOnLoaderCorePct ?? 0)), 1)
      : undefined,
    otherThanServicesPct: runs.some((r) => r.otherThanServicesPct !== undefined)
      ? round(Math.max(...runs.map((r) => r.otherThanServicesPct ?? 0)), 1)
      : undefined,
    peakRssMiB: rss === undefined ? undefined : round(rss / 2 ** 20, 1),
    peakRssScope: rssScope,
  };
}
