import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { pino } from 'pino';
import { buildApp, diskSpaceWarning, loggerOptions, openStores, prepareStorage, type App } from './app.ts';
import {
  ConfigError,
  effectiveSettings,
  loadConfig,
  mcpProfileChanges,
  mcpProfileLines,
  type Config,
} from './config/config.ts';
import { buildMetricsServer } from './http/server.ts';

// The server process (main.ts loads it): configuration, app, listen, signals. With TESSERA_WORKERS > 1 this process is
// the cluster primary: it prepares the database once, forks the workers, restarts any that
// crash, and passes shutdown signals on. Nothing else happens here.
//
// stdout carries the JSON log lines only (log shippers parse every line of it); what is meant
// for the person starting Tessera (configuration warnings, the start-up banner, why it cannot
// start) goes to stderr.

function fail(message: string, code: number): never {
  process.stderr.write(message);
  process.exit(code);
}

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) fail(`Tessera cannot start.\n${err.message}\n`, 2);
  throw err;
}

const workers = config.workers === 0 ? availableParallelism() : config.workers;
const isWorker = cluster.isWorker;

// What the MCP profile changed (one line per setting, `profile` or `explicit`) and the settings not
// at their defaults (secrets redacted), read now: the sources belong to the Config loadConfig made.
const profileLines = mcpProfileLines(config);
const startupRecord = {
  event: 'config_effective',
  mcp_profile: config.mcpProfile,
  mcp_profile_changes: mcpProfileChanges(config).map((c) => ({ setting: c.env, source: c.source })),
  settings: Object.fromEntries(
    effectiveSettings(config)
      .filter((s) => s.source !== 'default')
      .map((s) => [s.env, { value: s.value, source: s.source }]),
  ),
};

// A SQLite database on a file system with less free space than Tessera needs (the WAL, the
// database growing): warned like a configuration problem (stderr, the log, the audit trail).
if (!isWorker) {
  const warning = diskSpaceWarning(config);
  if (warning) config = { ...config, warnings: [...config.warnings, warning] };
}

function announce(port: number, banner: string | undefined, log: { info(o: object, m: string): void }): void {
  const scheme = config.tlsCertFile !== undefined ? 'https' : 'http';
  // The banner holds generated secrets (shown once): never in the log records.
  if (banner) process.stderr.write(`\n${banner}\n\n`);
  const mode = workers > 1 ? `, ${workers} workers` : '';
  process.stderr.write(
    `Tessera is running (${config.env} mode${mode}).\n  issuer     ${config.issuer}\n  listening  ${scheme}://${config.host}:${port}\n  discovery  ${config.issuer}/.well-known/openid-configuration\n`,
  );
  log.info(
    {
      event: 'listening',
      env: config.env,
      workers,
      issuer: config.issuer,
      address: `${scheme}://${config.host}:${port}`,
    },
    'Tessera is running',
  );
}

/** Why a listener could not be opened, naming the setting to change; undefined for other errors. */
function listenProblem(err: unknown, setting: string, host: string, port: number): string | undefined {
  const code = (err as { code?: unknown }).code;
  if (code === 'EADDRINUSE')
    return `port ${port} on ${host} is already in use (${setting}=${port}). Stop the process that holds it, or set ${setting} to a free port.`;
  if (code === 'EACCES')
    return `no permission to listen on port ${port} (${setting}=${port}); ports below 1024 need privileges: use a higher port behind a proxy.`;
  if (code === 'EADDRNOTAVAIL') return `${host} is not an address of this machine (TESSERA_HOST=${host}).`;
  return undefined;
}

/** Opens a listener; a port in use (or not allowed) ends the process with a message naming the setting. */
async function listen(open: () => Promise<unknown>, setting: string, host: string, port: number): Promise<void> {
  try {
    await open();
  } catch (err) {
    const problem = listenProblem(err, setting, host, port);
    if (!problem) throw err;
    // A cluster worker tells the primary, which stops instead of restarting workers that cannot listen.
    if (isWorker && process.send) {
      process.send({ fatal: problem }, () => process.exit(1));
      return new Promise(() => {});
    }
    fail(`Tessera cannot start: ${problem}\n`, 1);
  }
}

if (!isWorker) {
  const label = config.env === 'production' ? 'WARNING' : 'WARNING (development default)';
  const [on, off] = process.stderr.isTTY ? ['\x1b[33m', '\x1b[0m'] : ['', ''];
  for (const w of config.warnings) process.stderr.write(`${on}${label}: ${w}${off}\n`);
  if (profileLines.length) process.stderr.write(`${profileLines.join('\n')}\n`);
}

if (workers > 1 && cluster.isPrimary) {
  await runPrimary();
} else {
  await runServer();
}

async function runServer(): Promise<void> {
  let app: App;
  try {
    app = await buildApp(config, { prepared: isWorker });
  } catch (err) {
    fail(`Tessera cannot start: ${(err as Error).message}\n`, 1);
  }
  if (!isWorker) for (const w of config.warnings) app.log.warn({ event: 'config_warning' }, w);
  if (!isWorker) app.log.info(startupRecord, 'effective configuration (settings not at their defaults)');
  await listen(
    () => app.server.listen({ host: config.host, port: config.port }),
    'TESSERA_PORT',
    config.host,
    config.port,
  );
  const adminServer = app.adminServer;
  if (adminServer) {
    await listen(
      () => adminServer.listen({ host: config.adminHost, port: config.adminPort! }),
      'TESSERA_ADMIN_PORT',
      config.adminHost,
      config.adminPort!,
    );
  }
  if (config.metricsPort !== undefined) {
    // One metrics listener per host: in cluster mode each worker's figures are its own, so the
    // separate listener is offered only with one worker (see README, Observability).
    if (workers > 1)
      app.log.warn(
        { event: 'config_warning' },
        'TESSERA_METRICS_PORT is ignored with TESSERA_WORKERS > 1; scrape /metrics with TESSERA_METRICS_TOKEN instead',
      );
    else {
      const metricsServer = buildMetricsServer(app.metrics, app.log);
      await listen(
        () => metricsServer.listen({ host: config.metricsHost, port: config.metricsPort! }),
        'TESSERA_METRICS_PORT',
        config.metricsHost,
        config.metricsPort,
      );
      const close = app.close;
      app.close = async () => {
        await metricsServer.close();
        await close();
      };
    }
  }
  const address = app.server.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  if (isWorker) process.send?.({ listening: port });
  else announce(port, app.banner, app.log);

  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      app.log.info({ signal, drain_seconds: config.shutdownDrainSeconds }, 'shutting down: draining requests');
      const force = setTimeout(() => process.exit(1), (config.shutdownDrainSeconds + 10) * 1000);
      force.unref();
      app
        .drain(config.shutdownDrainSeconds)
        .then(() => app.close())
        .then(
          () => process.exit(0),
          () => process.exit(1),
        );
    });
  }
}

async function runPrimary(): Promise<void> {
  const log = pino(loggerOptions(config));
  for (const w of config.warnings) log.warn({ event: 'config_warning' }, w);
  log.info(startupRecord, 'effective configuration (settings not at their defaults)');
  let banner: string | undefined;
  try {
    const { stores } = await openStores(config);
    try {
      ({ banner } = await prepareStorage(config, stores, log));
    } finally {
      await stores.close();
    }
  } catch (err) {
    fail(`Tessera cannot start: ${(err as Error).message}\n`, 1);
  }

  let stopping = false;
  let listening = 0;
  const fork = () => {
    const worker = cluster.fork();
    worker.on('message', (m: { listening?: number; fatal?: string }) => {
      if (typeof m?.listening === 'number' && ++listening === workers) announce(m.listening, banner, log);
      if (typeof m?.fatal === 'string' && !stopping) {
        stopping = true;
        for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
        fail(`Tessera cannot start: ${m.fatal}\n`, 1);
      }
    });
  };
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    log.error({ worker: worker.process.pid, code, signal }, 'worker exited; starting a new one');
    setTimeout(fork, 1000).unref();
  });
  for (let i = 0; i < workers; i++) fork();

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down workers');
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      setTimeout(() => process.exit(1), (config.shutdownDrainSeconds + 12) * 1000).unref();
    });
  }
}
