import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { applyBootstrap, readBootstrapFile } from './admin/bootstrap.ts';
import { CLI_CLIENT_ID, ensureCliClient } from './admin/cli-client.ts';
import { pkceOptOutClients } from './protocol/pkce.ts';
import { usernameCollisionWarning } from './admin/users.ts';
import { seedDemo } from './admin/demo.ts';
import {
  DISK_HEADROOM,
  openDatabase,
  sqliteFreeSpace,
  type DatabaseHandle,
  type FaultEvent,
} from './adapters/sql/database.ts';
import { migrate } from './adapters/sql/migrations/index.ts';
import { createSqlStores } from './adapters/sql/stores.ts';
import { usernameKeys } from './accounts/usernames.ts';
import { cachedClients, clientWritesNoted } from './adapters/cache/cached-clients.ts';
import { sweepUnusedRegistrations } from './protocol/clients/usage.ts';
import { memoryRateLimits } from './adapters/memory/rate-limits.ts';
import { createMail } from './adapters/mail/mailer.ts';
import type { MailWorker } from './adapters/mail/worker.ts';
import type { RedisConnection } from './adapters/redis/client.ts';
import { sqlReplayEpoch } from './adapters/sql/replay-epoch.ts';
import { FUTURE_SKEW } from './protocol/dpop.ts';
import type { Config } from './config/config.ts';
import { buildServer } from './http/server.ts';
import type { RequestScope } from './http/pipeline.ts';
import { createAuditLog, type AuditLog } from './observability/audit.ts';
import { toAuditEvent } from './observability/audit-events.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';
import { createStatsWriter, type StatsWriter } from './observability/stats.ts';
import { startTracing, traceLogFields } from './observability/tracing.ts';
import type { Stores } from './ports/index.ts';
import type { Provider } from './protocol/provider.ts';
import { securityNotifications } from './protocol/notifications.ts';
import {
  forgettingWrites,
  outboundServices as protocolOutboundServices,
  protocolServices,
} from './protocol/services.ts';
import { configKeks, loadKeyRing, runKeySchedule, type KeyRing, type KeyTransition } from './protocol/tokens/keys.ts';
import { scheduleSettings } from './protocol/tokens/key-schedule.ts';
// Outbound HTTP and the protocol's services over it.
import { outboundHttp } from './adapters/outbound/http-client.ts';
import { effectiveBrand } from './protocol/branding.ts';
import { createUpstreamClient } from './adapters/upstream/client.ts';
import { currentSource, withSource } from './adapters/outbound/request-source.ts';
import { MetadataDocumentBlocks } from './protocol/clients/metadata-document-blocks.ts';
import { MetadataDocuments, metadataDocumentClients } from './protocol/clients/metadata-document.ts';
import { OAuthError } from './protocol/errors.ts';
import type { OutboundHttp } from './ports/outbound.ts';
import type { RateLimitStore } from './ports/rate-limits.ts';
// Webhooks (issue 18): audit events delivered to operators' endpoints.
import { webhookDispatcher, type WebhookDispatcher } from './webhooks/dispatcher.ts';

export interface App {
  server: FastifyInstance;
  /** The admin API's own listener (TESSERA_ADMIN_PORT), not yet listening; absent: it is on `server`. */
  adminServer?: FastifyInstance;
  provider: Provider;
  metrics: Metrics;
  /** The audit trail's writer (batched; flush() to write what is queued). */
  audit: AuditLog;
  /** The per-minute figures of the console's dashboard (flush() to add what was counted to the store). */
  stats: StatsWriter;
  stores: Stores;
  log: Logger;
  /** Text to print once at start-up (demo credentials), if any. */
  banner?: string;
  /** Re-reads the signing keys now (as the periodic reload does). */
  reloadKeys(): Promise<void>;
  /**
   * Runs the signing-key schedule now, then reloads the keys (as the periodic timer does); returns what this process
   * changed.
   */
  runKeySchedule(): Promise<KeyTransition[]>;
  /** The Redis connection when REDIS_URL is set. */
  redis?: RedisConnection;
  /** The outbox's delivery worker (runs in the background; runOnce() for tests). */
  mailWorker: MailWorker;
  /** The webhook dispatcher (runs in the background when TESSERA_WEBHOOKS is on; runOnce() for tests). */
  webhooks: WebhookDispatcher;
  /**
   * First step of a graceful shutdown: for `seconds`, /ready answers 503 and every response
   * closes its connection, while requests are still served; close() comes after.
   */
  drain(seconds: number): Promise<void>;
  close(): Promise<void>;
}

/** Tests only (buildApp's `mail`): the SMTP server's certificate authority, and the outbox's retry timing. */
export interface MailTestOptions {
  tlsCa?: string;
  maxAttempts?: number;
  retryBase?: number;
  retryMax?: number;
  interval?: number;
}

export const now = (): number => Math.floor(Date.now() / 1000);
/** How long the dashboard's per-minute figures are kept, seconds. */
const STATS_RETENTION = 7 * 86_400;

/** Pino options: JSON logs with request ids; no query strings, cookies or credentials. */
export function loggerOptions(config: Config): object {
  return {
    level: config.logLevel,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', 'res.headers.location'],
      censor: '[redacted]',
    },
    serializers: {
      req: (req: { method: string; url: string; id: string; ip?: string }) => ({
        id: req.id,
        method: req.method,
        path: req.url.split('?')[0],
        ip: req.ip,
      }),
    },
    // TESSERA_TRACING: each line names the span active when it was written (none when off).
    ...(config.tracing !== 'off' ? { mixin: traceLogFields } : {}),
  };
}

/**
 * Logs a storage fault episode once at its start, with the driver's original error (SQLite's
 * "database or disk is full", PostgreSQL's "could not extend file ...: No space left on device"),
 * and once at its end; the requests failing meanwhile are each logged as backend_unavailable.
 */
function logStorageFault(log: Logger): (event: FaultEvent) => void {
  return (event) => {
    if (event.fault === undefined) {
      log.warn({ event: 'storage_recovered', fault: event.previous }, 'database accepts writes again');
      return;
    }
    const e = event.error as { message?: string; code?: unknown; errcode?: unknown; errstr?: unknown };
    log.error(
      {
        event: 'storage_fault',
        fault: event.fault,
        cause: { message: e?.message, code: e?.code, errcode: e?.errcode, errstr: e?.errstr },
      },
      `database refuses writes (${event.fault}): ${e?.message}; requests that write are answered 503 until it accepts them again`,
    );
  };
}

/** Opens the database and the storage ports, migrating when configured. Used by the server and the CLI. */
export async function openStores(
  config: Config,
  opts: { migrate?: boolean; statementTimeoutMs?: number; onFault?: (event: FaultEvent) => void } = {},
): Promise<{ handle: DatabaseHandle; stores: Stores }> {
  if (
    (opts.migrate ?? config.migrateOnStart) &&
    opts.statementTimeoutMs !== undefined &&
    !config.databaseUrl.startsWith('sqlite:')
  ) {
    // Migrations may take long on a big database: they run without the (PostgreSQL) statement timeout.
    const admin = await openDatabase(config.databaseUrl);
    try {
      await migrate(admin.db, usernameKeys);
    } finally {
      await admin.close();
    }
    opts = { ...opts, migrate: false };
  }
  const handle = await openDatabase(config.databaseUrl, {
    statementTimeoutMs: opts.statementTimeoutMs,
    onFault: opts.onFault,
  });
  try {
    if ((opts.migrate ?? config.migrateOnStart) && (await migrate(handle.db, usernameKeys)).length) handle.settle?.();
    return { handle, stores: createSqlStores(handle, usernameKeys) };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** The start-up warning for a SQLite database on a file system with less free space than Tessera needs, if any. */
export function diskSpaceWarning(config: Config): string | undefined {
  const space = sqliteFreeSpace(config.databaseUrl);
  if (!space || space.free >= DISK_HEADROOM) return undefined;
  const mib = (n: number) => `${Math.floor(n / 1048576)} MiB`;
  return `only ${mib(space.free)} free on the file system of the SQLite database (${space.path}); keep at least ${mib(DISK_HEADROOM)} free (see docs/production.md, Disk space), or writes will fail with 503 once it is full`;
}

/** Applies the pending migrations to an open database (the CLI's `tessera migrate`); returns their names. */
export function migrateStorage(handle: DatabaseHandle): Promise<string[]> {
  return migrate(handle.db, usernameKeys);
}

/**
 * What a start-up does to the database once, before serving: signing key, bootstrap file, demo
 * seed. Returns the text to print once (generated secrets, demo credentials), if any. In cluster
 * mode the primary process runs it before forking the workers.
 */
export async function prepareStorage(
  config: Config,
  stores: Stores,
  log: Logger,
): Promise<{ ring: KeyRing; banner?: string }> {
  // Start-up configuration warnings go to the audit trail once, from the process that prepares storage.
  const at = Date.now();
  await stores.audit.append(
    config.warnings.map((message) => ({
      at,
      type: 'config_warning',
      actor: 'system',
      clientId: null,
      ip: null,
      outcome: 'success' as const,
      details: { message },
    })),
  );
  // Instances starting together on one database take turns, so the bootstrap file and the demo
  // seed never race each other into duplicate rows.
  const prepared = await stores.exclusive(() => prepareOnce(config, stores, log));
  await storedStateWarnings(config, stores, log);
  return prepared;
}

/**
 * What start-up says of the stored clients and users, once they are in place (after the bootstrap
 * file and the demo seed); read-only, so outside the exclusive section the other instances wait on.
 */
async function storedStateWarnings(config: Config, stores: Stores, log: Logger): Promise<void> {
  // The PKCE opt-out (protocol/pkce.ts) weakens a client's protection: said at every start.
  const optedOut = pkceOptOutClients(config, await stores.clients.list());
  if (optedOut.length) {
    const message = `PKCE is not required of these clients (pkce_required: false; only OpenID Connect requests with a nonce may omit it): ${optedOut.join(', ')}`;
    log.warn({ event: 'config_warning', clients: optedOut }, message);
    await stores.audit.append([
      {
        at: Date.now(),
        type: 'config_warning',
        actor: 'system',
        clientId: null,
        ip: null,
        outcome: 'success',
        details: { message },
      },
    ]);
  }
  // Existing usernames that are one in canonical form, or not valid: reported, never merged.
  const collisions = await usernameCollisionWarning(stores);
  if (collisions) log.warn({ event: 'username_collisions' }, collisions);
}

/** The steps of prepareStorage that must not run in two processes at once. */
async function prepareOnce(config: Config, stores: Stores, log: Logger): Promise<{ ring: KeyRing; banner?: string }> {
  let banner: string | undefined;
  const ring = await loadKeyRing(stores.keys, configKeks(config), config.signingAlgs, now());
  if (config.bootstrapFile) {
    const r = await applyBootstrap(stores, config, readBootstrapFile(config.bootstrapFile), now(), outboundHttp());
    const changed = {
      clients_changed: r.clients,
      users_changed: r.users,
      resources_changed: r.resources,
      // As `tessera bootstrap` records it: only when providers changed, so the record keeps its shape otherwise.
      ...(r.upstreams ? { upstreams_changed: r.upstreams } : {}),
    };
    log.info(changed, 'bootstrap file applied');
    for (const w of r.warnings) log.warn({ event: 'bootstrap_warning' }, w);
    // As `tessera bootstrap` does: a file that changes only resource servers or providers is audited too.
    if (r.clients || r.users || r.resources || r.upstreams) {
      await stores.audit.append([
        {
          at: Date.now(),
          type: 'bootstrap_applied',
          actor: 'admin',
          clientId: null,
          ip: null,
          outcome: 'success',
          details: changed,
        },
      ]);
    }
    const generated = Object.entries(r.generatedSecrets);
    if (generated.length)
      banner = [
        'Client secrets generated by the bootstrap file (shown once):',
        ...generated.map(([id, s]) => `  ${id}  ${s}`),
      ].join('\n');
  }
  if (config.seedDemo) {
    const demo = await seedDemo(stores, config, now());
    if (demo) banner = banner ? `${banner}\n${demo}` : demo;
  }
  // The built-in client of the CLI's remote mode (the device flow for admin tokens), made when absent
  // (after the demo seed, which fills only an empty database).
  const cli = await ensureCliClient(stores, config, now());
  if (cli === 'created') log.info({ event: 'cli_client_created', client_id: CLI_CLIENT_ID }, 'CLI client created');
  if (cli === 'not_admin')
    log.warn(
      { event: 'config_warning', client_id: CLI_CLIENT_ID },
      `client ${CLI_CLIENT_ID} exists and is not an admin client: \`tessera login --remote\` cannot use it`,
    );
  return { ring, banner };
}

/**
 * The protocol's services that reach clients' servers, one of each per process: the outbound HTTP
 * client (SSRF-safe), the client key set cache over it, the back-channel logout deliveries, and
 * the Client ID Metadata Documents (their fetch budgets counted in `budgets`, by the address of the
 * request being served). Their clock is the provider's. `outbound` replaces the HTTP client in tests.
 */
export function outboundServices(
  config: Config,
  clock: () => number,
  outbound: OutboundHttp = outboundHttp(),
  budgets?: () => RateLimitStore | undefined,
): Pick<Provider, 'outbound' | 'clientKeys' | 'logoutDelivery' | 'upstream' | 'clientLogos'> & {
  metadataDocuments: MetadataDocuments;
} {
  return {
    ...protocolOutboundServices(config, clock, outbound),
    metadataDocuments: new MetadataDocuments({ config, outbound, now: clock, budgets, source: currentSource }),
    // Upstream identity providers an operator configured (issue 17), through the same outbound client.
    upstream: createUpstreamClient({
      outbound,
      keks: config,
      now: clock,
      timeoutMs: config.upstreamTimeout * 1000,
      allowLoopback: config.clientJwksAllowLoopback,
    }),
  };
}

/**
 * The Redis adapters, loaded only with REDIS_URL: ioredis costs some 20 MB of a process's memory
 * that an instance on the database alone would carry for nothing.
 */
async function loadRedisAdapters() {
  const [client, rateLimits, replay] = await Promise.all([
    import('./adapters/redis/client.ts'),
    import('./adapters/redis/rate-limits.ts'),
    import('./adapters/redis/replay.ts'),
  ]);
  return {
    openRedis: client.openRedis,
    redisRateLimits: rateLimits.redisRateLimits,
    withFallback: rateLimits.withFallback,
    redisReplay: replay.redisReplay,
  };
}

/** What each request step runs in (http/pipeline.ts RequestScope): its Redis deadline, its address. */
function requestScope(redis: RedisConnection | undefined, sources: boolean): RequestScope | undefined {
  const ipOf = (req: object) => (req as { ip?: string }).ip;
  if (redis && sources) return (req, fn) => withSource(ipOf(req), () => redis.scope(req, fn));
  if (redis) return (req, fn) => redis.scope(req, fn);
  if (sources) return (req, fn) => withSource(ipOf(req), fn);
  return undefined;
}

/**
 * Composition root: storage, keys, bootstrap, HTTP server. Does not listen. With `prepared`
 * (cluster workers), migrations, bootstrap and seeding were done by the primary process.
 */
export async function buildApp(
  config: Config,
  opts: {
    logger?: Logger;
    prepared?: boolean;
    now?: () => number;
    /** Tests only: the outbound HTTP client (a test's own CA); main.ts never passes one. */
    outbound?: OutboundHttp;
    /** Tests only: the SMTP server's certificate authority, and the outbox's retry timing. */
    mail?: MailTestOptions;
    /** Tests only: the webhook dispatcher's retry delays (seconds), jitter and timer (ms). */
    webhooks?: { retryDelays?: readonly number[]; jitter?: number; interval?: number };
  } = {},
): Promise<App> {
  const clock = opts.now ?? now;
  const keks = configKeks(config);
  const schedule = scheduleSettings(config);
  const log = opts.logger ?? pino(loggerOptions(config));
  // TESSERA_TRACING: the OpenTelemetry SDK, loaded only when on (undefined when off).
  const tracing = await startTracing(config, log);
  // No request waits on the database for longer than this (PostgreSQL statement timeout).
  const opened = await openStores(config, {
    migrate: opts.prepared ? false : config.migrateOnStart,
    statementTimeoutMs: 10_000,
    onFault: logStorageFault(log),
  });
  // The protocol's memos and caches, on the provider's clock (read through the provider, which tests may re-clock).
  const services = protocolServices({ stores: opened.stores, now: () => provider.now() });
  // The fetch budgets of metadata documents count in the rate-limit counters (made below).
  let limitStore: RateLimitStore | undefined;
  const outbound = outboundServices(config, clock, opts.outbound, () => limitStore);
  // Operators' blocks of metadata document clients, read as often as stored clients are (the client cache TTL).
  const blocks = new MetadataDocumentBlocks(opened.stores.clientBlocks, config.clientCacheTtl * 1000);
  const clientCache = cachedClients(opened.stores.clients, config.clientCacheTtl * 1000);
  const refusedDocument = (clientId: string, err: unknown) =>
    log.warn(
      {
        event: 'client_metadata_document_refused',
        client_id: clientId,
        reason: err instanceof OAuthError ? err.description : String(err),
        detail: err instanceof OAuthError ? err.detail : undefined,
      },
      'client metadata document refused: the client is unknown',
    );
  const stores: Stores = {
    ...opened.stores,
    // An https client_id is a Client ID Metadata Document (when on): resolved, never stored; blocked ones disabled.
    clients: metadataDocumentClients(clientCache, outbound.metadataDocuments, blocks, refusedDocument),
    // Blocks set or lifted in this process are seen by its copy of the list at once.
    clientBlocks: blocks.store,
    // Resource servers saved or deleted in this process are seen by its registry copy at once.
    resourceServers: forgettingWrites(opened.stores.resourceServers, services.resourceRegistry),
    /**
     * The transaction's stores wrapped as these are, but for the caches, which must never hold what
     * may not commit: clients are read from the transaction (not the cache) and the ones it wrote are
     * dropped from the cache once it has ended, as is the registry copy when a resource server
     * changed; the replay cache stays where it is (Redis).
     */
    async transaction(fn) {
      const changedClients = new Set<string>();
      let resourcesChanged = false;
      let blocksChanged = false;
      try {
        return await opened.stores.transaction((tx) => {
          const wrapped: Stores = {
            ...tx,
            clients: metadataDocumentClients(
              clientWritesNoted(tx.clients, (id) => changedClients.add(id)),
              outbound.metadataDocuments,
              {
                find: async (clientId) => (await tx.clientBlocks.list()).find((b) => b.clientId === clientId),
              },
              refusedDocument,
            ),
            resourceServers: forgettingWrites(tx.resourceServers, { forget: () => (resourcesChanged = true) }),
            clientBlocks: {
              ...tx.clientBlocks,
              add: (clientId, at) => {
                blocksChanged = true;
                return tx.clientBlocks.add(clientId, at);
              },
              remove: (clientId) => {
                blocksChanged = true;
                return tx.clientBlocks.remove(clientId);
              },
            },
            replay: stores.replay === opened.stores.replay ? tx.replay : stores.replay,
            transaction: (inner) => tx.transaction(() => inner(wrapped)),
          };
          return fn(wrapped);
        });
      } finally {
        clientCache.forget(changedClients);
        if (resourcesChanged) services.resourceRegistry.forget();
        if (blocksChanged) blocks.forget();
      }
    },
  };
  // With REDIS_URL, state every instance must share at request speed lives in Redis: the replay
  // cache (instead of the database) and the rate-limit counters (instead of each process).
  let redis: RedisConnection | undefined;
  let redisAdapters: Awaited<ReturnType<typeof loadRedisAdapters>> | undefined;
  // Metrics exist once the keys are loaded; Redis reports to them from then on.
  let metricsReady: Metrics | undefined;
  try {
    if (config.redisUrl) {
      redisAdapters = await loadRedisAdapters();
      const { openRedis, redisReplay } = redisAdapters;
      redis = await openRedis(
        {
          url: config.redisUrl,
          cluster: config.redisCluster,
          prefix: config.redisPrefix,
          timeout: config.redisTimeout,
        },
        log,
        2000,
        {
          breakerChanged: (state) => metricsReady?.redisBreaker(state),
        },
      );
      tracing?.redis(redis.client);
      // The replay cache's epoch lives in the database, so a Redis restarted empty is noticed.
      const replay = redisReplay(redis, {
        epochs: sqlReplayEpoch(opened.handle),
        window: Math.max(config.dpopProofWindow + FUTURE_SKEW, config.clientJwtMaxLifetime + config.clockSkew),
        log,
        onLoss: () => metricsReady?.replayStoreLost(),
      });
      stores.replay = replay;
      // Read now, so DPoP nonces carry the generation from the first request (read again by the
      // first claim when this fails).
      await replay.load().catch((err) => log.warn({ err: String(err) }, 'replay cache epoch not read at start-up'));
    }
  } catch (err) {
    await redis?.close();
    await stores.close();
    throw err;
  }
  let ring: KeyRing;
  let banner: string | undefined;
  try {
    if (opts.prepared) ring = await loadKeyRing(stores.keys, keks, config.signingAlgs, clock());
    else ({ ring, banner } = await prepareStorage(config, stores, log));
  } catch (err) {
    await redis?.close();
    await stores.close();
    throw err;
  }

  const metrics = createMetrics(() => ring, clock, schedule);
  metricsReady = metrics;
  const audit = createAuditLog(stores.audit, log);
  // The dashboard's per-minute figures, added to the shared rows of every instance once a minute.
  const stats = createStatsWriter(stores.stats, log, { clock: () => clock() * 1000 });
  // Security notifications by mail (TESSERA_NOTIFICATIONS), made once the provider exists.
  let notify: Provider['events'] | undefined;
  const events: Provider['events'] = (e) => {
    metrics.event(e);
    stats.event(e);
    // An admin action's own record was appended in its transaction (admin/action.ts).
    if (!e.audited) audit.record(toAuditEvent(e, Date.now()));
    notify?.(e);
  };
  // Mail: queued in the outbox (durable), delivered by a background worker, counted in the metrics.
  const { tlsCa, ...mailTuning } = opts.mail ?? {};
  const mail = createMail(
    {
      env: config.env,
      smtpUrl: config.smtpUrl,
      smtpTimeout: config.smtpTimeout,
      mailDir: config.mailDir,
      issuer: config.issuer,
      mailFrom: config.mailFrom,
      keks: config,
      tlsCa,
    },
    stores.mailOutbox,
    () => provider.now(),
    log,
    {
      onQueued: () => metrics.mail('queued'),
      // Mails name the deployment by its branding (protocol/branding.ts).
      serviceName: () => effectiveBrand(config, provider.branding?.current()).name,
      onSent: () => metrics.mail('sent'),
      onRetry: () => metrics.mail('retry'),
      onFailed: (m, reason) => {
        metrics.mail('failed');
        events({
          type: 'mail_failed',
          template: m.template,
          attempts: m.attempts,
          reason,
          userId: m.userId ?? undefined,
        });
      },
      onDepth: (n) => metrics.mailQueueDepth(n),
    },
    mailTuning,
  );
  // What /ready and the admin dashboard report: the database, the signing key, Redis when configured.
  const health = async (): Promise<Record<string, string>> => {
    const checks: Record<string, string> = {};
    // A database that refuses writes says why (disk_full, read_only, io_error, insufficient_resources).
    try {
      await stores.ping();
      checks.database = 'ok';
    } catch (err) {
      checks.database = (err as { fault?: string }).fault ?? 'unreachable';
    }
    checks.signing_key = ring.active ? 'ok' : 'missing';
    if (redis) {
      try {
        await redis.ping();
        checks.redis = 'ok';
      } catch {
        checks.redis = 'unreachable';
      }
    }
    return checks;
  };
  const provider: Provider = {
    config,
    // With tracing on, each storage call the protocol makes is a span of its request.
    stores: tracing ? tracing.stores(stores) : stores,
    keys: () => ring,
    now: clock,
    log,
    events,
    ...services,
    outbound: outbound.outbound,
    clientKeys: outbound.clientKeys,
    logoutDelivery: outbound.logoutDelivery,
    clientLogos: outbound.clientLogos,
    mail: mail.mailer,
    upstream: outbound.upstream,
    health,
  };

  notify = securityNotifications(provider);

  // Origins of registered redirect URIs, refreshed at most every 30 s, for CORS on token/userinfo/revoke.
  let origins: { at: number; set: Set<string> } | undefined;
  const clientOrigins = async () => {
    if (!origins || origins.at + 30 < now()) {
      const set = new Set<string>();
      for (const c of await stores.clients.list())
        for (const u of c.redirectUris) {
          try {
            const o = new URL(u).origin;
            if (o !== 'null') set.add(o);
          } catch {
            /* skip */
          }
        }
      origins = { at: now(), set };
    }
    return origins.set;
  };

  // Rate-limit counters: in Redis when configured (falling back to this process while Redis is
  // unreachable, see docs/production.md), else in this process.
  const localLimits = memoryRateLimits();
  limitStore =
    redis && redisAdapters
      ? redisAdapters.withFallback(redis, redisAdapters.redisRateLimits(redis), localLimits, () =>
          metrics.rateLimitFallback(),
        )
      : localLimits;

  let draining = false;
  const serverOptions: Parameters<typeof buildServer>[1] = {
    logger: log,
    draining: () => draining,
    metrics,
    cors: { configured: new Set(config.corsOrigins), clientOrigins },
    checkReady: async () => {
      const checks = await health();
      if (draining) checks.shutdown = 'draining';
      return checks;
    },
    rateLimits: config.rateLimiting ? { table: config.rateLimits, store: limitStore } : undefined,
    // One Redis deadline (TESSERA_REDIS_TIMEOUT) per request, for all of its Redis commands; with
    // metadata documents on, the request's address for their per-source fetch budget.
    requestScope: requestScope(redis, outbound.metadataDocuments.enabled),
    tracing,
  };
  // TESSERA_ADMIN_PORT: the admin API on a listener of its own (main.ts listens), not on the main one.
  const server = buildServer(provider, { ...serverOptions, surface: config.adminPort ? 'public' : 'all' });
  const adminServer = config.adminPort ? buildServer(provider, { ...serverOptions, surface: 'admin' }) : undefined;
  // Periodic cleanup of expired rows, of unused registrations, and of audit records past their retention.
  const cleanup = setInterval(() => {
    stores.cleanup(now(), { auditRetention: config.auditRetentionDays * 86_400 }).then(
      (n) => n && log.info({ removed: n }, 'expired rows removed'),
      (err) => log.warn({ err: String(err) }, 'cleanup failed'),
    );
    // TESSERA_REGISTRATION_UNUSED_TTL: dynamically registered clients that never got a token.
    sweepUnusedRegistrations(provider).catch((err) => log.warn({ err: String(err) }, 'unused clients sweep failed'));
    stores.audit.deleteBefore(Date.now() - config.auditRetentionDays * 86_400_000).then(
      (n) => n && log.info({ removed: n }, 'audit records past retention removed'),
      (err) => log.warn({ err: String(err) }, 'audit retention failed'),
    );
    // The dashboard shows the last hours; a week of per-minute figures is kept.
    stores.stats
      .deleteBefore(Math.floor(now() / 60) * 60 - STATS_RETENTION)
      .catch((err) => log.warn({ err: String(err) }, 'per-minute figures retention failed'));
  }, 10 * 60_000);
  cleanup.unref();
  // Keys rotated by another process or instance (or the CLI) are picked up within this period.
  const reloadKeys = async () => {
    const next = await loadKeyRing(stores.keys, keks, config.signingAlgs, clock(), ring);
    if (next !== ring)
      log.info(
        { event: 'keys_reloaded', active: next.active.kid, published: [...next.verification.keys()] },
        'signing keys changed',
      );
    ring = next;
  };
  // The key schedule runs in every process on the reload timer; storage decides which process
  // carries out each transition (conditional updates), so it happens once.
  const runSchedule = async () => {
    const done = await runKeySchedule(stores.keys, keks, config.signingAlgs, schedule, clock());
    for (const t of done) {
      events({ ...t, trigger: 'scheduled', actor: 'system' });
      log.info({ event: t.type, kid: t.kid, trigger: 'scheduled' }, 'signing key schedule');
    }
    await reloadKeys();
    return done;
  };
  const keyReload = setInterval(
    () => runSchedule().catch((err) => log.warn({ err: String(err) }, 'key schedule or reload failed')),
    config.keyReloadSeconds * 1000,
  );
  keyReload.unref();
  mail.worker.start();
  // Webhooks: each endpoint's cursor over the audit trail, deliveries through the SSRF-safe client.
  const webhooks = webhookDispatcher({
    store: stores.webhooks,
    outbound: outbound.outbound,
    keks: config,
    now: () => provider.now(),
    log,
    allowLoopback: config.clientJwksAllowLoopback,
    timeoutMs: config.webhookTimeoutMs,
    maxAttempts: config.webhookMaxAttempts,
    onDelivered: () => metrics.webhook('delivered'),
    onRetry: () => metrics.webhook('retry'),
    onFailed: () => metrics.webhook('failed'),
    ...opts.webhooks,
  });
  if (config.webhooks) webhooks.start();
  return {
    server,
    ...(adminServer ? { adminServer } : {}),
    provider,
    stores,
    log,
    banner,
    metrics,
    audit,
    stats,
    reloadKeys,
    runKeySchedule: runSchedule,
    redis,
    mailWorker: mail.worker,
    webhooks,
    async drain(seconds) {
      draining = true;
      if (seconds > 0) await new Promise((r) => setTimeout(r, seconds * 1000));
    },
    async close() {
      // Closing implies draining: the lanes that answer before Fastify (http/node-server.ts) stand
      // aside, so Fastify answers 503 to requests arriving on open connections from now on.
      draining = true;
      clearInterval(cleanup);
      clearInterval(keyReload);
      localLimits.close();
      await server.close();
      await adminServer?.close();
      await mail.worker.stop(); // a delivery in progress finishes (or its lease lets another instance retry it)
      await webhooks.stop(); // likewise
      await audit.close(); // after the last request, before the database goes
      await stats.close();
      await stores.close();
      await redis?.close();
      await tracing?.close(); // the spans still queued are sent
    },
  };
}
