// Command-line options of `npm run bench -- [options]`.
import { parseArgs } from 'node:util';
import { DISTURBED_PCT } from './runner.ts';
import { SCENARIOS, type ScenarioId } from './scenarios.ts';
import type { ServerKind } from './servers.ts';
import type { Storage } from './storage.ts';

export interface BenchOptions {
  /**
   * compare: Tessera against node-oidc-provider (the default); soak: a long constant load on Tessera; scaling: Tessera
   * with 1 and 2 workers; latency: the highest open-load rate at which p99 stays under 50 ms, both servers.
   */
  mode: 'compare' | 'soak' | 'scaling' | 'latency';
  smoke: boolean;
  durationS: number;
  runs: number;
  warmupS: number;
  connections: number;
  flowConcurrency: number;
  scenarios: ScenarioId[];
  servers: ServerKind[];
  loader: 'auto' | 'wrk' | 'autocannon';
  pin: boolean;
  quietWaitS: number;
  /** How many times a disturbed run is measured again (runner.ts measureQuietly). */
  remeasure: number;
  outDir: string;
  /** --soak: seconds of constant load. */
  soakSeconds: number;
  /** --soak: the scenario held. */
  soakScenario: ScenarioId;
  /** Where Tessera keeps its state (storage.ts). */
  storage: Storage;
  /** Tessera instances sharing the storage (TESSERA_WORKERS; compare and soak; PostgreSQL only above 1). */
  instances: number;
}

/** What --scaling measures unless --only says otherwise. */
export const SCALING_SCENARIOS: ScenarioId[] = ['client_credentials', 'jwks'];

export const USAGE = `Usage: npm run bench -- [options]

  --smoke               every scenario for ~1 s, 1 run (CI: proves the harness works; no speed gate)
  --soak                Tessera only: peak of one scenario (one run of --duration), then a constant
                        70% of that peak for --soak-seconds, RSS (drift, slope), errors and latency
                        every 10 s; with --storage and --instances, on that topology
  --soak-seconds S      length of the soak (default 300; 600 is issue 19's 10-minute soak)
  --soak-scenario ID    the scenario held by the soak (default client_credentials; request scenarios only)
  --scaling             Tessera only, with 1 and then 2 worker processes (TESSERA_WORKERS), unpinned:
                        req/s and the 2-worker/1-worker factor (default --only ${SCALING_SCENARIOS.join(',')})
  --latency             Tessera and node-oidc-provider under open load (requests on a fixed schedule, latency
                        from when each was due): the highest rate at which p99 stays under 50 ms with no
                        error, rates searched in steps of --duration s (default 5); --only picks the scenario
                        (default client_credentials; also introspection, jwks, discovery, userinfo);
                        with --smoke, two low rates only (< 30 s)
  --duration S          seconds per measured run (default 4; latency 5; smoke 1)
  --runs N              measured runs per scenario, interleaved across the servers; medians are
                        reported (default 7; smoke 1)
  --warmup S            seconds of unmeasured load before the runs (default 3; smoke 0); wrk rounds to whole seconds
  --connections N       concurrent connections for request scenarios (default 32; smoke 16)
  --flow-concurrency N  concurrent browsers in the flow scenarios (default 16; smoke 4)
  --only a,b            scenarios: ${SCENARIOS.map((s) => s.id).join(', ')}
  --servers a,b         servers: tessera, oidc-provider, floor (default: all)
  --loader NAME         auto (wrk when installed, else autocannon), wrk or autocannon
  --no-pin              do not pin servers and load generators to cores with taskset
  --quiet-wait S        before each measured run, wait up to S seconds for other work on the
                        machine to calm down (default 60; smoke 0)
  --remeasure N         measure a run again, up to N times, when other processes took more than
                        ${DISTURBED_PCT}% of the server's or the load generator's core during it (the
                        database services left out); the quietest attempt counts (default 2; smoke 0)
  --out DIR             where results are written (default bench/results)
  --storage NAME        Tessera's storage: sqlite (default, a file in the temporary directory) or
                        postgres (the production topology: PostgreSQL and Redis on 127.0.0.1, a
                        database made for the run and dropped after it; BENCH_DATABASE_URL, BENCH_REDIS_URL)
  --instances N         Tessera instances sharing PostgreSQL + Redis, 1 (default) or 2: TESSERA_WORKERS=N,
                        the cluster primary and N workers, all pinned to the server core like node-oidc-provider;
                        results go to postgres-N-latest.* (--storage postgres only; comparison and soak)
`;

function positive(name: string, v: string | undefined, dflt: number, integer = true): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}`);
  return n;
}

function list<T extends string>(
  name: string,
  v: string | undefined,
  allowed: readonly T[],
  aliases: Record<string, T[]> = {},
): T[] {
  if (v === undefined) return [...allowed];
  const out: T[] = [];
  for (const item of v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const expanded = aliases[item] ?? (allowed.includes(item as T) ? [item as T] : undefined);
    if (!expanded)
      throw new Error(`--${name}: unknown ${item} (one of ${[...allowed, ...Object.keys(aliases)].join(', ')})`);
    for (const e of expanded) if (!out.includes(e)) out.push(e);
  }
  if (out.length === 0) throw new Error(`--${name} is empty`);
  return out;
}

export function parseOptions(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      smoke: { type: 'boolean', default: false },
      duration: { type: 'string' },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      'flow-concurrency': { type: 'string' },
      only: { type: 'string' },
      servers: { type: 'string' },
      loader: { type: 'string', default: 'auto' },
      'no-pin': { type: 'boolean', default: false },
      'quiet-wait': { type: 'string' },
      remeasure: { type: 'string' },
      out: { type: 'string', default: 'bench/results' },
      soak: { type: 'boolean', default: false },
      'soak-seconds': { type: 'string' },
      'soak-scenario': { type: 'string', default: 'client_credentials' },
      scaling: { type: 'boolean', default: false },
      latency: { type: 'boolean', default: false },
      storage: { type: 'string', default: 'sqlite' },
      instances: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  if (values.storage !== 'sqlite' && values.storage !== 'postgres')
    throw new Error('--storage must be sqlite or postgres');
  const smoke = values.smoke!;
  const loader = values.loader as BenchOptions['loader'];
  if (!['auto', 'wrk', 'autocannon'].includes(loader)) throw new Error('--loader must be auto, wrk or autocannon');
  const ids = SCENARIOS.map((s) => s.id);
  if ([smoke && !values.latency, values.soak, values.scaling, values.latency].filter(Boolean).length > 1)
    throw new Error('--soak, --scaling and --latency exclude each other and --smoke (which goes with --latency)');
  const mode = values.soak ? 'soak' : values.scaling ? 'scaling' : values.latency ? 'latency' : 'compare';
  const tesseraRequests = SCENARIOS.filter((s) => s.servers.includes('tessera') && s.unit === 'request').map(
    (s) => s.id,
  );
  const soakScenario = list('soak-scenario', values['soak-scenario'], tesseraRequests);
  if (soakScenario.length !== 1) throw new Error('--soak-scenario takes one scenario');
  const soakSeconds = positive('soak-seconds', values['soak-seconds'], 300);
  if (soakSeconds < 20) throw new Error('--soak-seconds must be at least 20 (two windows of 10 s)');
  const instances = positive('instances', values.instances, 1);
  if (instances > 2) throw new Error('--instances must be 1 or 2');
  if (instances > 1 && values.storage !== 'postgres')
    throw new Error('--instances 2 needs --storage postgres: the instances share PostgreSQL and Redis');
  if (instances > 1 && mode === 'scaling') throw new Error('--scaling sets the worker count itself; drop --instances');
  const tesseraIds = SCENARIOS.filter((s) => s.servers.includes('tessera')).map((s) => s.id);
  return {
    mode,
    smoke,
    durationS: positive('duration', values.duration, smoke ? 1 : mode === 'latency' ? 5 : 4, false),
    runs: positive('runs', values.runs, smoke ? 1 : 7),
    warmupS:
      values.warmup === '0' || (smoke && values.warmup === undefined)
        ? 0
        : positive('warmup', values.warmup, smoke ? 0 : 3, false),
    connections: positive('connections', values.connections, smoke ? 16 : 32),
    // 16: with 8 browsers Tessera's core waited on the flow driver 6-10% of an SSO run (busy 90-94%, the peer's
    // 98-100%), so flows per second measured the driver as much as the server.
    flowConcurrency: positive('flow-concurrency', values['flow-concurrency'], smoke ? 4 : 16),
    scenarios:
      mode === 'scaling'
        ? values.only === undefined
          ? SCALING_SCENARIOS
          : list('only', values.only, tesseraIds)
        : list('only', mode === 'latency' ? (values.only ?? 'client_credentials') : values.only, ids, {
            floor: ['floor_json', 'floor_token', 'floor_token_node', 'floor_token_raw'],
          }),
    servers: list('servers', values.servers, ['tessera', 'oidc-provider', 'floor'] as ServerKind[]),
    loader,
    pin: !values['no-pin'],
    quietWaitS:
      values['quiet-wait'] === '0' || (smoke && values['quiet-wait'] === undefined)
        ? 0
        : positive('quiet-wait', values['quiet-wait'], 60, false),
    remeasure:
      values.remeasure === '0' || (smoke && values.remeasure === undefined)
        ? 0
        : positive('remeasure', values.remeasure, 2),
    outDir: values.out!,
    soakSeconds,
    soakScenario: soakScenario[0]!,
    storage: values.storage,
    instances,
  };
}
