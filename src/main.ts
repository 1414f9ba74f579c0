import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { pino } from 'pino';
import { buildApp, loggerOptions, openStores, prepareStorage, type App } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config/config.ts';
import { buildMetricsServer } from './http/server.ts';

// Process entry: configuration, app, listen, signals. With TESSERA_WORKERS > 1 this process is
// the cluster primary: it prepares the database once, forks the workers, restarts any that
// crash, and passes shutdown signals on. Nothing else happens here.

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

function announce(port: number, banner: string | undefined): void {
  if (banner) process.stdout.write(`\n${banner}\n\n`);
  const mode = workers > 1 ? `, ${workers} workers` : '';
  process.stdout.write(`Tessera is running (${config.env} mode${mode}).\n  issuer     ${config.issuer}\n  listening  ${config.tlsCertFile !== undefined ? 'https' : 'http'}://${config.host}:${port}\n  discovery  ${config.issuer}/.well-known/openid-configuration\n`);
}

if (!isWorker) {
  const label = config.env === 'production' ? 'WARNING' : 'WARNING (development default)';
  for (const w of config.warnings) process.stderr.write(`\x1b[33m${label}: ${w}\x1b[0m\n`);
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
  await app.server.listen({ host: config.host, port: config.port });
  if (config.metricsPort !== undefined) {
    // One metrics listener per host: in cluster mode each worker's figures are its own, so the
    // separate listener is offered only with one worker (see README, Observability).
    if (workers > 1) app.log.warn({ event: 'config_warning' }, 'TESSERA_METRICS_PORT is ignored with TESSERA_WORKERS > 1; scrape /metrics with TESSERA_METRICS_TOKEN instead');
    else {
      const metricsServer = buildMetricsServer(app.metrics, app.log);
      await metricsServer.listen({ host: config.metricsHost, port: config.metricsPort });
      const close = app.close;
      app.close = async () => { await metricsServer.close(); await close(); };
    }
  }
  const address = app.server.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  if (isWorker) process.send?.({ listening: port });
  else announce(port, app.banner);

  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      app.log.info({ signal, drain_seconds: config.shutdownDrainSeconds }, 'shutting down: draining requests');
      const force = setTimeout(() => process.exit(1), (config.shutdownDrainSeconds + 10) * 1000);
      force.unref();
      app.drain(config.shutdownDrainSeconds).then(() => app.close()).then(() => process.exit(0), () => process.exit(1));
    });
  }
}

async function runPrimary(): Promise<void> {
  const log = pino(loggerOptions(config));
  for (const w of config.warnings) log.warn({ event: 'config_warning' }, w);
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
    worker.on('message', (m: { listening?: number }) => {
      if (typeof m?.listening === 'number' && ++listening === workers) announce(m.listening, banner);
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
