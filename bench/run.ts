// `npm run bench`: Tessera against node-oidc-provider on the same machine, with Fastify floors.
// Starts each server in turn (pinned to core 0), validates it, then measures every scenario
// with wrk (or autocannon) or the JS flow driver (pinned to core 1). `--soak` (lib/soak.ts) and
// `--scaling` (lib/scaling.ts) are the other modes. See bench/README.md.
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseOptions, USAGE } from './lib/args.ts';
import { pinningPlan, pinSelf } from './lib/machine.ts';
import { compare, consoleReport, NOTES, writeReport, type BenchReport } from './lib/report.ts';
import { runScenario, type ScenarioResult } from './lib/runner.ts';
import { SCALING_PINNING, runScaling } from './lib/scaling.ts';
import { SCENARIOS } from './lib/scenarios.ts';
import { REPO_ROOT, SERVER_LABELS, STARTERS } from './lib/servers.ts';
import { driverFor, notStarted, openSession, runnerOptions, scenarioContext, startServer, stopServer, validatedReplays, type Session } from './lib/session.ts';
import { runSoak } from './lib/soak.ts';

/** The default mode: every chosen scenario on Tessera, node-oidc-provider and the floors, one server after the other. */
async function compareServers(session: Session): Promise<number> {
  const { options: o, machine, fixtures, dir, log } = session;
  const results: ScenarioResult[] = [];
  const serverLogs: BenchReport['serverLogs'] = {};
  for (const kind of ['tessera', 'oidc-provider', 'floor'] as const) {
    const scenarios = SCENARIOS.filter((s) => s.servers.includes(kind) && o.scenarios.includes(s.id));
    if (!o.servers.includes(kind) || scenarios.length === 0) continue;
    const server = await startServer(session, SERVER_LABELS[kind], () => STARTERS[kind](machine, fixtures, dir));
    if (server instanceof Error) {
      results.push(...notStarted(scenarios, kind, SERVER_LABELS[kind], server));
      continue;
    }
    try {
      for (const s of scenarios) results.push(await runScenario(s, scenarioContext(session, server), driverFor(session, s), runnerOptions(session)));
    } finally {
      serverLogs[kind] = await stopServer(server, validatedReplays(results.filter((r) => r.server === kind)));
    }
  }

  const report: BenchReport = {
    version: 1, kind: o.smoke ? 'smoke' : o.scenarios.length < SCENARIOS.length || o.servers.length < 3 ? 'partial' : 'full',
    startedAt: session.startedAt, finishedAt: new Date().toISOString(), command: session.command,
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
  return 0;
}

async function main(): Promise<number> {
  const parsed = parseOptions(process.argv.slice(2));
  if (parsed === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const o = parsed;
  const pinning = o.mode === 'scaling' ? SCALING_PINNING : pinningPlan(o.pin);
  pinSelf(pinning);
  const title = { compare: `Tessera benchmark${o.smoke ? ' (smoke)' : ''}`, soak: 'Tessera soak', scaling: 'Tessera worker scaling' }[o.mode];
  const session = openSession(o, pinning, title);
  const run = { compare: compareServers, soak: runSoak, scaling: runScaling }[o.mode];
  const code = await run(session);
  if (code === 0) rmSync(session.dir, { recursive: true, force: true });
  return code;
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(2);
});
