// `npm run bench`: Tessera against node-oidc-provider on the same machine, with Fastify floors.
// Starts each server in turn (pinned to core 0), validates it, then measures every scenario
// with wrk (or autocannon) or the JS flow driver (pinned to core 1). See bench/README.md.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { autocannonDriver } from './load/autocannon.ts';
import { flowDriver } from './load/flow-driver.ts';
import type { LoadDriver } from './load/types.ts';
import { wrkDriver } from './load/wrk.ts';
import { parseOptions, USAGE, type BenchOptions } from './lib/args.ts';
import { makeFixtures } from './lib/fixtures.ts';
import { cpuModel, filesystemType, hasWrk, memoryGiB, packageVersion, pinningPlan, pinSelf, tesseraRevision, wrkVersion, type Machine } from './lib/machine.ts';
import { clockTicks } from './lib/proc.ts';
import { compare, consoleReport, NOTES, writeReport, type BenchReport, type ServerLogSummary } from './lib/report.ts';
import { runScenario, type ScenarioResult } from './lib/runner.ts';
import { SCENARIOS } from './lib/scenarios.ts';
import { REPO_ROOT, SERVER_LABELS, STARTERS, type ServerHandle, type ServerKind } from './lib/servers.ts';

const log = (line: string) => process.stdout.write(`${line}\n`);

function chooseLoader(o: BenchOptions): 'wrk' | 'autocannon' {
  if (o.loader === 'wrk' && !hasWrk()) throw new Error('--loader wrk: wrk is not installed (apt-get install -y wrk)');
  if (o.loader !== 'auto') return o.loader;
  return hasWrk() ? 'wrk' : 'autocannon';
}

/**
 * Warnings and errors a server logged while it was measured (startup notices left out).
 * `expectedReuse`: refresh-token replays the validation made on purpose (Tessera logs each).
 */
function scanLog(kind: ServerKind, file: string, expectedReuse: number): ServerLogSummary {
  const summary: ServerLogSummary = { warnings: 0, errors: 0, samples: [] };
  let text = '';
  try { text = readFileSync(file, 'utf8'); } catch { return summary; }
  for (const line of text.split('\n')) {
    let level: 'warn' | 'error' | undefined;
    if (kind === 'tessera' && line.startsWith('{')) {
      try {
        const entry = JSON.parse(line) as { level?: number; event?: string };
        if (entry.event === 'config_warning') continue;
        if (entry.event === 'refresh_reuse' && expectedReuse > 0) {
          expectedReuse--;
          continue;
        }
        if ((entry.level ?? 0) >= 50) level = 'error';
        else if ((entry.level ?? 0) >= 40) level = 'warn';
      } catch { /* not JSON */ }
    } else if (/server_error|Error:|unhandled/i.test(line)) {
      level = 'error';
    }
    if (!level) continue;
    if (level === 'error') summary.errors++;
    else summary.warnings++;
    if (summary.samples.length < 5) summary.samples.push(line.slice(0, 400));
  }
  return summary;
}

async function main(): Promise<number> {
  const parsed = parseOptions(process.argv.slice(2));
  if (parsed === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const o = parsed;
  const startedAt = new Date().toISOString();
  const pinning = pinningPlan(o.pin);
  pinSelf(pinning);
  const loaderName = chooseLoader(o);
  const machine: Machine = {
    cpuModel: cpuModel(), cores: os.cpus().length, memoryGiB: memoryGiB(), kernel: os.release(), node: process.version,
    loader: loaderName, loaderVersion: loaderName === 'wrk' ? wrkVersion() : packageVersion('autocannon'), pinning, clockTicks: clockTicks(),
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100), tempFilesystem: filesystemType(tmpdir()),
    tessera: tesseraRevision(REPO_ROOT), oidcProvider: packageVersion('oidc-provider'),
  };
  log(`Tessera benchmark${o.smoke ? ' (smoke)' : ''}: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}`);
  log(`Tessera ${machine.tessera.commit}${machine.tessera.srcModified ? ' with uncommitted changes in src/' : ''} against node-oidc-provider ${machine.oidcProvider}`);
  log(`Load generator: ${loaderName} ${machine.loaderVersion}; code flows: JS flow driver`);
  log(`Pinning: ${pinning.applied ? 'applied' : 'NOT applied'} (${pinning.reason})`);
  log(`Load average at start: ${machine.loadAverage.join(' ')}; Tessera's SQLite database on ${machine.tempFilesystem} (${tmpdir()})`);

  const requestDriver: LoadDriver = loaderName === 'wrk' ? wrkDriver(pinning) : autocannonDriver(pinning);
  const flows = flowDriver(pinning);
  const fixtures = makeFixtures();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
  const results: ScenarioResult[] = [];
  const serverLogs: BenchReport['serverLogs'] = {};
  let running: ServerHandle | undefined;
  const interrupt = () => {
    log('\ninterrupted: stopping the server');
    (running?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  for (const kind of ['tessera', 'oidc-provider', 'floor'] as const) {
    const scenarios = SCENARIOS.filter((s) => s.servers.includes(kind) && o.scenarios.includes(s.id));
    if (!o.servers.includes(kind) || scenarios.length === 0) continue;
    log(`\n${SERVER_LABELS[kind]}: starting`);
    const t0 = Date.now();
    try {
      running = await STARTERS[kind](machine, fixtures, dir);
    } catch (err) {
      log(`  could not start: ${(err as Error).message}`);
      for (const s of scenarios) {
        results.push({ scenario: s.id, title: s.title, unit: s.unit, server: kind, serverLabel: SERVER_LABELS[kind], status: 'failed', error: `server did not start: ${(err as Error).message.split('\n')[0]}`, runs: [] });
      }
      continue;
    }
    log(`  ready in ${((Date.now() - t0) / 1000).toFixed(1)} s at ${running.issuer} (pid ${running.pid})`);
    try {
      for (const s of scenarios) {
        const driver = s.unit === 'flow' ? flows : requestDriver;
        results.push(await runScenario(s, { server: running, fixtures, connections: o.connections, flowConcurrency: o.flowConcurrency }, driver, {
          durationS: o.durationS, runs: o.runs, warmupS: o.warmupS, connections: o.connections, log,
          cores: pinning.applied ? { server: pinning.serverCore!, loader: pinning.loaderCore! } : undefined, quietWaitS: o.quietWaitS,
        }));
      }
    } finally {
      await running.stop();
      const validatedRefresh = results.filter((r) => r.server === kind && r.scenario === 'refresh' && r.status !== 'invalid').length;
      serverLogs[kind] = scanLog(kind, running.logFile, validatedRefresh);
      running = undefined;
    }
  }

  const report: BenchReport = {
    version: 1, kind: o.smoke ? 'smoke' : o.scenarios.length < SCENARIOS.length || o.servers.length < 3 ? 'partial' : 'full',
    startedAt, finishedAt: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    options: o, machine, results, comparisons: compare(results), serverLogs, notes: NOTES,
  };
  log(`\n${consoleReport(report)}\n`);
  for (const [kind, s] of Object.entries(serverLogs)) {
    if (s.warnings || s.errors) log(`${kind} logged ${s.warnings} warnings and ${s.errors} errors, e.g. ${s.samples[0]}`);
  }
  const files = writeReport(report, resolve(REPO_ROOT, o.outDir));
  log(`Written: ${files.map((f) => f.replace(REPO_ROOT, '')).join(', ')}`);

  const bad = results.filter((r) => r.status !== 'ok');
  if (bad.length) {
    log(`\n${bad.length} scenario(s) did not produce a valid measurement; server logs kept in ${dir}`);
    for (const r of bad) log(`  ${r.serverLabel} ${r.scenario}: ${r.status}: ${r.error}`);
    return 1;
  }
  rmSync(dir, { recursive: true, force: true });
  return 0;
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(2);
});
