import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from './config/config.ts';

// Process entry: configuration, app, listen, signals. Nothing else.
let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`Tessera cannot start.\n${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

for (const w of config.warnings) process.stderr.write(`\x1b[33mWARNING (development default): ${w}\x1b[0m\n`);

let app;
try {
  app = await buildApp(config);
} catch (err) {
  process.stderr.write(`Tessera cannot start: ${(err as Error).message}\n`);
  process.exit(1);
}
for (const w of config.warnings) app.log.warn({ event: 'config_warning' }, w);
await app.server.listen({ host: config.host, port: config.port });
if (app.banner) process.stdout.write(`\n${app.banner}\n\n`);
const address = app.server.server.address();
const port = typeof address === 'object' && address ? address.port : config.port;
process.stdout.write(`Tessera is running (${config.env} mode).\n  issuer     ${config.issuer}\n  listening  http://${config.host}:${port}\n  discovery  ${config.issuer}/.well-known/openid-configuration\n`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: draining requests');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    app.close().then(() => process.exit(0), () => process.exit(1));
  });
}
