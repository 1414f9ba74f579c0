// `npm run bench`: Tessera against node-oidc-provider on the same machine, with Fastify floors.
// Starts every server (pinned to core 0), validates each scenario on each, then measures them
// with wrk (or autocannon) or the JS flow driver (pinned to core 1), the servers' runs
// interleaved. `--soak` (lib/soak.ts), `--scaling` (lib/scaling.ts) and `--latency` (lib/latency.ts)
// are the other modes.
// See bench/README.md.
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseOptions, USAGE } from './lib/args.ts';
import { pinningPlan, pinSelf } from './lib/machine.ts';
import { compare, comparisonNotes, consoleReport, writeReport, type BenchReport } from './lib/report.ts';
import { openScenario, type OpenScenario, type ScenarioResult } from './lib/runner.ts';
import { SCALING_PINNING, runScaling } from './lib/scaling.ts';
import { SCENARIOS, type ScenarioId } from './lib/scenarios.ts';
import { REPO_ROOT, SERVER_LABELS, STARTERS, useStorage, type ServerHandle, type ServerKind } from './lib/servers.ts';
import { prepareStorage } from './lib/storage.ts';
import {
  driverFor,
  notStarted,
  openSession,
  rssMiB,
  runnerOptions,
  scenarioContext,
  startServer,
  stopServer,
  validatedReplays,
  type Session,
} from './lib/session.ts';
import { runLatency } from './lib/latency.ts';
import { runSoak } from './lib/soak.ts';

const KINDS = ['tessera', 'oidc-provider', 'floor'] as const;

/** The floors measured with a scenario of the servers, when it is chosen too. */
const FLOOR_HOME: Partial<Record<ScenarioId, ScenarioId>> = {
  floor_json: 'jwks',
  floor_token: 'client_credentials',
  floor_token_node: 'client_credentials',
  floor_token_raw: 'client_credentials',
  // Beside the password flow: passkey sign-ins per second against password sign-ins per second.
  passkey_flow: 'authcode_flow',
};

/**
 * Scenarios measured together, their runs interleaved: each of Tessera's scenarios with
 * node-oidc-provider's, and the floors with the scenario they are closest to.
 */
function interleavedGroups(chosen: readonly ScenarioId[]): ScenarioId[][] {
  const groups = new Map<ScenarioId, ScenarioId[]>();
  for (const s of SCENARIOS) {
    if (!chosen.includes(s.id)) continue;
    const floorHome = FLOOR_HOME[s.id];
    const home = floorHome && chosen.includes(floorHome) ? floorHome : s.id;
    groups.set(home, [...(groups.get(home) ?? []), s.id]);
  }
  return [...groups.values()];
}

/**
 * The default mode: Tessera, node-oidc-provider and the floors all started (idle ones cost
 * nothing), then every scenario with the runs of the servers interleaved.
 */
async function compareServers(session: Session): Promise<number> {
  const { options: o, machine, fixtures, dir, log } = session;
  const results: ScenarioResult[] = [];
  const serverLogs: BenchReport['serverLogs'] = {};
  const servers = new Map<ServerKind, ServerHandle>();
  const memory: NonNullable<BenchReport['memory']> = [];
  const wanted = (kind: ServerKind) =>
    o.servers.includes(kind) && SCENARIOS.some((s) => s.servers.includes(kind) && o.scenarios.includes(s.id));
  try {
    for (const kind of KINDS.filter(wanted)) {
      const server = await startServer(session, SERVER_LABELS[kind], () => STARTERS[kind](machine, fixtures, dir));
      if (server instanceof Error)
        results.push(
          ...notStarted(
            SCENARIOS.filter((s) => s.servers.includes(kind) && o.scenarios.includes(s.id)),
            kind,
            SERVER_LABELS[kind],
            server,
          ),
        );
      else {
        servers.set(kind, server);
        if (kind !== 'floor') memory.push({ server: kind, startMiB: rssMiB(server) });
      }
    }
    for (const group of interleavedGroups(o.scenarios)) {
      log(`\n${group.join(', ')}`);
      const open: OpenScenario[] = [];
      for (const id of group) {
        const s = SCENARIOS.find((x) => x.id === id)!;
        for (const kind of KINDS) {
          const server = servers.get(kind);
          if (server && s.servers.includes(kind))
            open.push(
              await openScenario(s, scenarioContext(session, server), driverFor(session, s), runnerOptions(session)),
            );
        }
      }
      for (const x of open) await x.warmup();
      for (let i = 0; i < o.runs; i++) for (const x of open) await x.measureRun(i);
      results.push(...open.map((x) => x.result()));
    }
    await new Promise((r) => setTimeout(r, 1000)); // the last responses and their sockets settle
    for (const m of memory) m.endMiB = rssMiB(servers.get(m.server)!);
  } finally {
    for (const [kind, server] of servers)
      serverLogs[kind] = await stopServer(server, validatedReplays(results.filter((r) => r.server === kind)));
  }
  // The details table lists one server's scenarios after the other's.
  results.sort(
    (a, b) =>
      KINDS.indexOf(a.server) - KINDS.indexOf(b.server) ||
      SCENARIOS.findIndex((s) => s.id === a.scenario) - SCENARIOS.findIndex((s) => s.id === b.scenario),
  );

  const report: BenchReport = {
    version: 1,
    kind: o.smoke ? 'smoke' : o.scenarios.length < SCENARIOS.length || o.servers.length < 3 ? 'partial' : 'full',
    startedAt: session.startedAt,
    finishedAt: new Date().toISOString(),
    command: session.command,
    options: o,
    machine,
    results,
    comparisons: compare(results),
    serverLogs,
    memory,
    notes: comparisonNotes(o),
  };
  log(`\n${consoleReport(report)}\n`);
  for (const [kind, s] of Object.entries(serverLogs)) {
    if (s.warnings || s.errors)
      log(`${kind} logged ${s.warnings} warnings and ${s.errors} errors, e.g. ${s.samples[0]}`);
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
  const title = {
    compare: `Tessera benchmark${o.smoke ? ' (smoke)' : ''}`,
    soak: 'Tessera soak',
    scaling: 'Tessera worker scaling',
    latency: `Latency under open load${o.smoke ? ' (smoke)' : ''}`,
  }[o.mode];
  const session = openSession(o, pinning, title);
  const storage = await prepareStorage(o.storage);
  useStorage(storage, o.instances);
  const run = { compare: compareServers, soak: runSoak, scaling: runScaling, latency: runLatency }[o.mode];
  const code = await run(session).finally(() => storage.release());
  if (code === 0) rmSync(session.dir, { recursive: true, force: true });
  return code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  },
);
