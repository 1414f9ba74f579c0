// What every mode of `npm run bench` shares: the options, the machine, the fixtures, the
// temporary directory, the load drivers, and starting servers so that an interrupt stops them.
import { mkdtempSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autocannonDriver } from '../load/autocannon.ts';
import { flowDriver } from '../load/flow-driver.ts';
import type { LoadDriver } from '../load/types.ts';
import { wrkDriver } from '../load/wrk.ts';
import type { BenchOptions } from './args.ts';
import { makeFixtures, type Fixtures } from './fixtures.ts';
import {
  cpuModel,
  filesystemType,
  hasWrk,
  memoryGiB,
  packageVersion,
  tesseraRevision,
  wrkVersion,
  type Machine,
} from './machine.ts';
import { clockTicks, serviceCpuMeter, treeRss } from './proc.ts';
import { round, type RunnerOptions, type ScenarioResult } from './runner.ts';
import type { Scenario, ScenarioContext } from './scenarios.ts';
import { REPO_ROOT, scanLog, tesseraDatabase, type ServerHandle, type ServerLogSummary } from './servers.ts';
import { topologyLabel } from './storage.ts';

export interface Session {
  options: BenchOptions;
  machine: Machine;
  fixtures: Fixtures;
  /** Databases and server logs; removed after a run without failures. */
  dir: string;
  startedAt: string;
  command: string;
  /** wrk or autocannon, per --loader. */
  requestDriver: LoadDriver;
  flowDriver: LoadDriver;
  log: (line: string) => void;
}

function chooseLoader(o: BenchOptions): 'wrk' | 'autocannon' {
  if (o.loader === 'wrk' && !hasWrk()) throw new Error('--loader wrk: wrk is not installed (apt-get install -y wrk)');
  if (o.loader !== 'auto') return o.loader;
  return hasWrk() ? 'wrk' : 'autocannon';
}

/** The servers started and not yet stopped: an interrupt stops them. */
const running = new Set<ServerHandle>();

/** Describes the machine, prints it, and makes the fixtures, the drivers and the temporary directory. */
export function openSession(o: BenchOptions, pinning: Machine['pinning'], title: string): Session {
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const loaderName = chooseLoader(o);
  const machine: Machine = {
    cpuModel: cpuModel(),
    cores: os.cpus().length,
    memoryGiB: memoryGiB(),
    kernel: os.release(),
    node: process.version,
    loader: loaderName,
    loaderVersion: loaderName === 'wrk' ? wrkVersion() : packageVersion('autocannon'),
    pinning,
    clockTicks: clockTicks(),
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    tempFilesystem: filesystemType(tmpdir()),
    storage: o.storage === 'postgres' ? 'PostgreSQL + Redis' : 'SQLite',
    tessera: tesseraRevision(REPO_ROOT),
    oidcProvider: packageVersion('oidc-provider'),
  };
  log(`${title}: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}`);
  log(
    `Tessera ${machine.tessera.commit}${machine.tessera.srcModified ? ' with uncommitted changes in src/' : ''}${o.mode === 'compare' ? ` against node-oidc-provider ${machine.oidcProvider}` : ''}`,
  );
  log(`Load generator: ${loaderName} ${machine.loaderVersion}; code flows: JS flow driver`);
  log(`Pinning: ${pinning.applied ? 'applied' : 'NOT applied'} (${pinning.reason})`);
  log(
    `Load average at start: ${machine.loadAverage.join(' ')}; Tessera: ${topologyLabel(o)}${
      o.storage === 'postgres'
        ? ' (node-oidc-provider: its in-memory store)'
        : `, the database on ${machine.tempFilesystem} (${tmpdir()})`
    }`,
  );

  const interrupt = () => {
    log('\ninterrupted: stopping the servers');
    void Promise.allSettled([...running].map((r) => r.stop())).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  return {
    options: o,
    machine,
    fixtures: makeFixtures(),
    dir: mkdtempSync(join(tmpdir(), 'tessera-bench-')),
    log,
    startedAt: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    requestDriver: loaderName === 'wrk' ? wrkDriver(pinning) : autocannonDriver(pinning),
    flowDriver: flowDriver(pinning),
  };
}

/** Starts a server (an interrupt stops it); the error when it does not start. */
export async function startServer(
  s: Session,
  label: string,
  start: () => Promise<ServerHandle>,
): Promise<ServerHandle | Error> {
  s.log(`\n${label}: starting`);
  const t0 = Date.now();
  let server: ServerHandle;
  try {
    server = await start();
  } catch (err) {
    s.log(`  could not start: ${(err as Error).message}`);
    return err as Error;
  }
  running.add(server);
  s.log(`  ready in ${((Date.now() - t0) / 1000).toFixed(1)} s at ${server.issuer} (pid ${server.pid})`);
  return server;
}

/**
 * Stops the server and summarizes what it logged; `expectedReplays`: refresh-token replays the validations made on
 * purpose.
 */
export async function stopServer(server: ServerHandle, expectedReplays: number): Promise<ServerLogSummary> {
  await server.stop();
  running.delete(server);
  return scanLog(server.kind, server.logFile, expectedReplays);
}

/**
 * Refresh-token replays made on purpose by the validations behind these results (one per validated refresh scenario).
 */
export const validatedReplays = (results: ScenarioResult[]) =>
  results.filter((r) => r.scenario === 'refresh' && r.status !== 'invalid').length;

export function scenarioContext(s: Session, server: ServerHandle): ScenarioContext {
  return {
    server,
    fixtures: s.fixtures,
    connections: s.options.connections,
    flowConcurrency: s.options.flowConcurrency,
  };
}

export function driverFor(s: Session, scenario: Scenario): LoadDriver {
  return scenario.unit === 'flow' ? s.flowDriver : s.requestDriver;
}

export function runnerOptions(s: Session, overrides: Partial<RunnerOptions> = {}): RunnerOptions {
  const {
    options: o,
    machine: { pinning },
  } = s;
  return {
    durationS: o.durationS,
    runs: o.runs,
    warmupS: o.warmupS,
    connections: o.connections,
    log: s.log,
    quietWaitS: o.quietWaitS,
    remeasure: o.remeasure,
    cores: pinning.applied ? { server: pinning.serverCore!, loader: pinning.loaderCore! } : undefined,
    services: o.storage === 'postgres' ? serviceCpuMeter(tesseraDatabase) : undefined,
    ...overrides,
  };
}

/** A failed result for each scenario of a server that did not start. */
export function notStarted(
  scenarios: readonly Scenario[],
  server: ServerHandle['kind'],
  serverLabel: string,
  err: Error,
): ScenarioResult[] {
  return scenarios.map((sc) => ({
    scenario: sc.id,
    title: sc.title,
    unit: sc.unit,
    server,
    serverLabel,
    status: 'failed' as const,
    error: `server did not start: ${err.message.split('\n')[0]}`,
    runs: [],
  }));
}

/** A server's RSS now, the sum over its process tree (primary and workers), MiB; undefined when unreadable. */
export function rssMiB(server: ServerHandle): number | undefined {
  try {
    const rss = treeRss(server.pid);
    return rss === undefined ? undefined : round(rss / 2 ** 20, 1);
  } catch {
    return undefined;
  }
}
