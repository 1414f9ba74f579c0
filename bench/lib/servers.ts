// Starting and stopping the benchmarked servers, one at a time, each pinned to the server core,
// and what they logged.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS, SERVER_ENTRY } from '../../src/config/node-flags.ts';
import { DEFAULT_RATE_LIMITS } from '../../src/config/rate-limits.ts';
import { RESOURCE, RESOURCE_SCOPE, tesseraBootstrap, type Fixtures } from './fixtures.ts';
import { pinned, type Machine } from './machine.ts';
import type { StorageUrls } from './storage.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type ServerKind = 'tessera' | 'oidc-provider' | 'floor';

export const SERVER_LABELS: Record<ServerKind, string> = {
  tessera: 'Tessera',
  'oidc-provider': 'node-oidc-provider',
  floor: 'Fastify floor',
};

export interface Endpoints {
  discovery: string;
  authorization: string;
  token: string;
  introspection: string;
  userinfo: string;
  jwks: string;
  /** Floor only: the bare JSON route. */
  json?: string;
}

export interface ServerHandle {
  kind: ServerKind;
  pid: number;
  issuer: string;
  endpoints: Endpoints;
  logFile: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const secret48 = () => randomBytes(48).toString('base64');

/** The environment without any Tessera setting of the caller's shell, so only ours apply. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (
      k.startsWith('TESSERA_') ||
      k === 'DATABASE_URL' ||
      k === 'REDIS_URL' ||
      k === 'NODE_ENV' ||
      k === 'NODE_OPTIONS' ||
      k.startsWith('BENCH_')
    )
      continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Waits until `probe` says yes; fails when the server exits first or after `timeoutMs`. */
async function waitReady(
  child: ChildProcess,
  logFile: string,
  probe: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(
        `server exited with ${child.exitCode ?? child.signalCode} before it was ready:\n${tail(logFile)}`,
      );
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`server not ready after ${timeoutMs / 1000} s:\n${tail(logFile)}`);
}

/** A probe: whether `url` answers 200. */
const answers = (url: string) => async () => {
  try {
    const res = await fetch(url);
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false; // not listening yet
  }
};

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
}

/** BENCH_PROFILE_DIR=dir writes a V8 CPU profile of each server into dir (for `node --cpu-prof`). */
const profileArgs = process.env.BENCH_PROFILE_DIR
  ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`]
  : [];

function launch(machine: Machine, script: string, env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  // Tessera runs as `npm start` runs it: its launcher, with its V8 flags.
  const [cmd, args] = pinned(machine.pinning, 'server', process.execPath, [
    ...profileArgs,
    ...(script === SERVER_ENTRY ? NODE_FLAGS : []),
    script,
  ]);
  const child = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return child;
}

async function discover(issuer: string): Promise<Endpoints> {
  const discovery = `${issuer}/.well-known/openid-configuration`;
  const res = await fetch(discovery);
  const doc = (await res.json()) as Record<string, string>;
  if (doc.issuer !== issuer) throw new Error(`discovery at ${discovery} names issuer ${doc.issuer}`);
  const need = ['authorization_endpoint', 'token_endpoint', 'introspection_endpoint', 'userinfo_endpoint', 'jwks_uri'];
  for (const k of need) if (typeof doc[k] !== 'string') throw new Error(`discovery at ${discovery} has no ${k}`);
  return {
    discovery,
    authorization: doc.authorization_endpoint!,
    token: doc.token_endpoint!,
    introspection: doc.introspection_endpoint!,
    userinfo: doc.userinfo_endpoint!,
    jwks: doc.jwks_uri!,
  };
}

const BENCH_RATE_LIMITS = Object.entries(DEFAULT_RATE_LIMITS)
  .flatMap(([policy, rules]) => Object.keys(rules).map((key) => `${policy}.${key}=999999999/1s`))
  .join(' ');

/**
 * The run's storage (storage.ts: DATABASE_URL and REDIS_URL, none for SQLite in the run's
 * directory) and how many Tessera instances share it (TESSERA_WORKERS unless a caller sets it).
 */
let topology: { storage: Pick<StorageUrls, 'env' | 'database'>; instances: number } = {
  storage: { env: {} },
  instances: 1,
};
export const useStorage = (storage: Pick<StorageUrls, 'env' | 'database'>, instances = 1) => {
  topology = { storage, instances };
};
/** The PostgreSQL database of the run, when there is one. */
export const tesseraDatabase = () => topology.storage.database;

/**
 * Node's compile cache filled before Tessera's first start in this process, as the container image
 * fills it when it is built (deploy/Dockerfile): the launcher run once with a configuration it
 * refuses (production mode, no issuer or secrets) loads every module of the server, and so
 * compiles and caches it, then exits with status 2. Without it the first start of a fresh checkout
 * compiles everything with Node's type stripper loaded, and its idle RSS is not that of any later
 * start (125.9 against 106.8 MiB, measured one after the other).
 */
let compileCacheFilled = false;
export function fillCompileCache(): void {
  if (compileCacheFilled) return;
  const r = spawnSync(process.execPath, [...NODE_FLAGS, SERVER_ENTRY], {
    cwd: REPO_ROOT,
    env: cleanEnv({ TESSERA_ENV: 'production' }),
    stdio: 'ignore',
    timeout: 60_000,
  });
  if (r.status !== 2)
    throw new Error(`filling the compile cache: ${SERVER_ENTRY} ended with ${r.status ?? r.signal ?? r.error}, not 2`);
  compileCacheFilled = true;
}

/**
 * Tessera in production mode on the run's storage (a real SQLite file unless useStorage said
 * otherwise), with the bench clients and user from a bootstrap file. `env` adds settings
 * (TESSERA_WORKERS=N, else the run's instance count: ready once every worker listens);
 * `overrides` replace the defaults below (bench/cimd.ts runs it in development mode, the only
 * one that may fetch metadata documents from loopback); `extraClients` join the bootstrap file.
 */
export async function startTessera(
  machine: Machine,
  fixtures: Fixtures,
  dir: string,
  env: Record<string, string> = {},
  overrides: Record<string, string> = {},
  extraClients: object[] = [],
): Promise<ServerHandle> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const bootstrap = join(dir, 'tessera-bootstrap.json');
  const file = tesseraBootstrap(fixtures) as { clients: object[] };
  writeFileSync(bootstrap, JSON.stringify({ ...file, clients: [...file.clients, ...extraClients] }, null, 2));
  const logFile = join(dir, 'tessera.log');
  const workers = env.TESSERA_WORKERS ?? (topology.instances > 1 ? String(topology.instances) : undefined);
  const serverEnv = cleanEnv({
    ...env,
    ...(workers ? { TESSERA_WORKERS: workers } : {}),
    NODE_ENV: 'production',
    TESSERA_ENV: 'production',
    TESSERA_ISSUER: issuer,
    TESSERA_HOST: '127.0.0.1',
    TESSERA_PORT: String(port),
    TESSERA_SECRET: secret48(),
    TESSERA_KEY_ENCRYPTION_KEY: secret48(),
    DATABASE_URL: `sqlite:${join(dir, 'bench.db')}`,
    ...topology.storage.env,
    TESSERA_BOOTSTRAP_FILE: bootstrap,
    TESSERA_LOG_LEVEL: 'warn',
    TESSERA_SHUTDOWN_DRAIN_SECONDS: '0', // no load balancer to drain from between scenarios
    TESSERA_EXTRA_SCOPES: RESOURCE_SCOPE,
    TESSERA_DEFAULT_AUDIENCE: RESOURCE,
    // Rate limiting stays on (its cost is part of what is measured) with limits no load from one
    // address, client or user reaches.
    TESSERA_RATE_LIMITS: BENCH_RATE_LIMITS,
    // No mail server here: the features that mail are off (production refuses them without SMTP).
    TESSERA_PASSWORD_RESET: 'false',
    TESSERA_EMAIL_VERIFICATION: 'off',
    TESSERA_NOTIFICATIONS: 'none',
    ...overrides,
  });
  fillCompileCache();
  const child = launch(machine, SERVER_ENTRY, serverEnv, logFile);
  await waitReady(child, logFile, answers(`${issuer}/.well-known/openid-configuration`));
  // The cluster primary announces itself once all its workers listen (src/main.ts).
  if (Number(workers ?? 1) > 1)
    await waitReady(child, logFile, async () => /Tessera is running \(.*\d+ workers\)/.test(tail(logFile)));
  return { kind: 'tessera', pid: child.pid!, issuer, endpoints: await discover(issuer), logFile, stop: stopper(child) };
}

/** node-oidc-provider configured equivalently (bench/oidc-provider-server.ts). */
export async function startOidcProvider(machine: Machine, fixtures: Fixtures, dir: string): Promise<ServerHandle> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const config = join(dir, 'oidc-provider.json');
  writeFileSync(
    config,
    JSON.stringify({
      port,
      issuer,
      fixtures,
      cookieKeys: [randomBytes(32).toString('base64url')],
      csrfSecret: randomBytes(32).toString('base64url'),
    }),
  );
  const logFile = join(dir, 'oidc-provider.log');
  const child = launch(
    machine,
    'bench/oidc-provider-server.ts',
    cleanEnv({ NODE_ENV: 'production', BENCH_OP_CONFIG: config }),
    logFile,
  );
  await waitReady(child, logFile, answers(`${issuer}/.well-known/openid-configuration`));
  return {
    kind: 'oidc-provider',
    pid: child.pid!,
    issuer,
    endpoints: await discover(issuer),
    logFile,
    stop: stopper(child),
  };
}

/** The Fastify floors (bench/floor-server.ts). */
export async function startFloor(machine: Machine, fixtures: Fixtures, dir: string): Promise<ServerHandle> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const config = join(dir, 'floor.json');
  writeFileSync(config, JSON.stringify({ port, issuer, client: fixtures.cc }));
  const logFile = join(dir, 'floor.log');
  const child = launch(
    machine,
    'bench/floor-server.ts',
    cleanEnv({ NODE_ENV: 'production', BENCH_FLOOR_CONFIG: config }),
    logFile,
  );
  await waitReady(child, logFile, answers(`${issuer}/json`));
  const none = `${issuer}/none`;
  return {
    kind: 'floor',
    pid: child.pid!,
    issuer,
    logFile,
    stop: stopper(child),
    endpoints: {
      discovery: none,
      authorization: none,
      introspection: none,
      userinfo: none,
      token: `${issuer}/token`,
      jwks: `${issuer}/jwks`,
      json: `${issuer}/json`,
    },
  };
}

export const STARTERS: Record<
  ServerKind,
  (machine: Machine, fixtures: Fixtures, dir: string) => Promise<ServerHandle>
> = {
  tessera: startTessera,
  'oidc-provider': startOidcProvider,
  floor: startFloor,
};

export interface ServerLogSummary {
  warnings: number;
  errors: number;
  samples: string[];
}

/**
 * Warnings and errors a server logged while it was measured (startup notices left out).
 * `expectedReuse`: refresh-token replays the validation made on purpose (Tessera logs each).
 */
export function scanLog(kind: ServerKind, file: string, expectedReuse: number): ServerLogSummary {
  const summary: ServerLogSummary = { warnings: 0, errors: 0, samples: [] };
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return summary;
  }
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
      } catch {
        /* not JSON */
      }
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
