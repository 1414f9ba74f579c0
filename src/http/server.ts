// The HTTP server: buildServer assembles Fastify with the route table (routes.ts, each request
// through pipeline.ts), the two lanes that answer before Fastify (prepared.ts for discovery and
// JWKS, form-lane.ts for the JSON form endpoints), and the operational routes (metrics, health,
// readiness, the admin API). It never listens: main.ts does.
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { randomBytes } from 'node:crypto';
import { NO_STORE } from '../protocol/endpoints/token.ts';
import { OAuthError } from '../protocol/errors.ts';
import { safeEqual } from '../protocol/hash.ts';
import type { Provider } from '../protocol/provider.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Tracing } from '../observability/tracing.ts';
import { requestLogger } from '../observability/request-logger.ts';
import type { RateLimitTable } from '../config/rate-limits.ts';
import type { RateLimitStore } from '../ports/rate-limits.ts';
import { isAdminApiUrl, registerAdminApi, sendFrameworkProblem } from './admin-api.ts';
import { registerConsole } from '../console/routes.ts';
import { mountAssets } from './assets.ts';
import { mountBranding, pageBrands } from './branding.ts';
import { mountLanguageSwitch, requestLanguage } from './language.ts';
import { certificateReader } from './client-certificate.ts';
import { corsHeaders, corsModeFor, type CorsPolicy } from './cors.ts';
import { formLane, takesFormLane } from './form-lane.ts';
import { securityHeadersFor } from './headers.ts';
import {
  CONNECTION_TIMEOUT_MS,
  REQUEST_TIMEOUT_MS,
  nodeServerFactory,
  parserRefusals,
  tlsOptions,
  type LaneHandler,
} from './node-server.ts';
import { headerStage, serveRoute, type RequestScope, type ServerContext } from './pipeline.ts';
import { mountPreparedDocuments } from './prepared.ts';
import { RATE_LIMIT_STATE, createRateLimiter } from './rate-limit.ts';
import { send, sendError, sendFailure } from './reply.ts';
import { clientIpReader, toProtocolRequest } from './request.ts';
import { routes, type Kind, type RouteSpec } from './routes.ts';

type Logger = FastifyBaseLogger;

export interface ServerOptions {
  logger: Logger;
  metrics: Metrics;
  cors: CorsPolicy;
  checkReady: () => Promise<Record<string, string>>;
  /** Per-endpoint rate limits; absent: none (TESSERA_RATE_LIMITING=false). */
  rateLimits?: { table: RateLimitTable; store: RateLimitStore };
  /** True once a shutdown has begun: every response then closes its connection. */
  draining?: () => boolean;
  /**
   * Runs a step of a request (its rate-limit checks, its endpoint) within a scope of that request,
   * the same for every step of it: with Redis, one deadline for all the request's Redis commands.
   */
  requestScope?: RequestScope;
  /**
   * Which routes this listener serves: `all` (the default), `public` (all but the admin API, which
   * TESSERA_ADMIN_PORT moves to a listener of its own) or `admin` (the admin API and /health only).
   */
  surface?: 'all' | 'public' | 'admin';
  /** TESSERA_TRACING on: a span per request (absent when off: nothing is wrapped). */
  tracing?: Tracing;
}

export function buildServer(p: Provider, opts: ServerOptions): FastifyInstance {
  const { config } = p;
  const basePath = new URL(config.issuer).pathname.replace(/\/$/, '');
  // The lanes answer before Fastify (node-server.ts): GETs of the prepared documents, plain POSTs
  // to the JSON form endpoints.
  const lanes = { get: new Map<string, LaneHandler>(), post: new Map<string, LaneHandler>() };
  const tls = tlsOptions(config);
  const requestIdPrefix = `${randomBytes(9).toString('base64url')}-`;
  let requests = 0;
  // Unique across processes and instances by a random per-server prefix; a counter after it
  // costs less per request than a UUID.
  const nextRequestId = () => `${requestIdPrefix}${(++requests).toString(36)}`;
  const securityHeaders = securityHeadersFor(config);
  const app = Fastify({
    loggerInstance: opts.logger,
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy.length ? [...config.trustProxy] : false,
    genReqId: nextRequestId,
    childLoggerFactory: requestLogger,
    requestTimeout: REQUEST_TIMEOUT_MS,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 128, ignoreTrailingSlash: false },
    serverFactory: nodeServerFactory(tls, lanes, opts.draining, opts.tracing),
    clientErrorHandler: parserRefusals(securityHeaders, opts.logger),
    // Requests refused before routing (a path that does not decode, a path parameter too long): a
    // problem under the admin API, else the body Fastify itself would send.
    frameworkErrors: (error, req, fastifyReply) => {
      const reply = fastifyReply as unknown as FastifyReply;
      if ((opts.surface ?? 'all') !== 'public' && isAdminApiUrl(req.raw.url ?? '', basePath))
        return sendFrameworkProblem(reply, error);
      const status = (error as { statusCode?: number }).statusCode ?? 400;
      return reply
        .code(status)
        .type('application/json')
        .send(
          JSON.stringify({
            error: status === 500 ? 'Internal Server Error' : 'Bad Request',
            code: error.code,
            message: error.message,
            statusCode: status,
          }),
        );
    },
  }) as unknown as FastifyInstance;
  const clientCertificate = certificateReader(config, p.log);

  // Bodies are kept as text and parsed per endpoint, so duplicate parameters can be detected.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.addHook('onRequest', (_req, reply, done) => {
    reply.headers(securityHeaders);
    // Draining before shutdown: no connection is kept alive for a next request (set on the raw
    // response, so the prepared documents written straight to it carry it too).
    if (opts.draining?.()) reply.raw.setHeader('connection', 'close');
    done();
  });
  const tracing = opts.tracing;
  if (tracing)
    app.addHook('onRequest', (req, _reply, done) => {
      if (req.routeOptions.url !== undefined) tracing.route(req.raw, req.routeOptions.url);
      done();
    });
  app.addHook('onResponse', (req, reply, done) => {
    opts.metrics.request(req.routeOptions.url ?? 'unmatched', req.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  const limiter =
    opts.rateLimits &&
    createRateLimiter(
      opts.rateLimits.table,
      opts.rateLimits.store,
      { rejected: (policy, key) => opts.metrics.rateLimited(policy, key) },
      config.rateLimitIpv6Prefix,
    );
  if (limiter) app.decorateRequest(RATE_LIMIT_STATE, null);
  const ctx: ServerContext = {
    p,
    cors: opts.cors,
    secure: config.cookieSecure,
    clientCertificate,
    cookieOpts: { secure: config.cookieSecure, sessionSameSite: config.cookieSameSite },
    limiter,
    scope: opts.requestScope,
    logger: opts.logger,
    metrics: opts.metrics,
    securityHeaders,
    nextRequestId,
    clientIp: clientIpReader(config.trustProxy),
  };

  // The deployment's branding for the pages (branding.ts), read only by the replies that render one.
  const brandOf = pageBrands(p, basePath);
  // The first pages after a start already show the stored branding (a failed read is tried again by the pages).
  p.branding?.read().catch(() => {});
  app.decorateReply('pageBrand', { getter: brandOf });
  // The language of the pages (language.ts): the request's, over TESSERA_DEFAULT_LOCALE.
  app.decorateReply('pageLanguage', {
    getter(this: FastifyReply) {
      return requestLanguage(this.request, config.defaultLocale, config.cookieSecure);
    },
  });
  mountLanguageSwitch(app, ctx.cookieOpts);
  app.setErrorHandler((error, req, reply) => {
    const kind = (req.routeOptions.config as { kind?: Kind } | undefined)?.kind ?? 'json';
    sendFailure(error, req, reply, kind, req.routeOptions.url);
  });
  app.setNotFoundHandler((_req, reply) => {
    sendError(reply, 'json', new OAuthError('invalid_request', 'Not found.', { status: 404 }));
  });

  const surface = opts.surface ?? 'all';
  if (surface !== 'admin') {
    mountRoutes(app, ctx, basePath, lanes.post);
    mountPreparedDocuments(app, ctx, basePath, lanes.get);
    mountOperationalRoutes(app, p, opts, basePath);
    mountAssets(app, basePath);
    mountBranding(app, p, basePath, ctx.limiter ? headerStage(ctx, CLIENT_LOGO_LIMIT) : undefined);
  } else {
    app.get(basePath + '/health', async (_req, reply) => reply.headers(NO_STORE).send({ status: 'ok' }));
  }
  if (surface !== 'public') mountAdminSurface(app, p, basePath, clientCertificate, surface === 'admin');
  // The admin console (/admin): pages over the admin action table, signed in with the account area's
  // session, so only beside the account area: on the main listener, also with TESSERA_ADMIN_PORT
  // (TESSERA_ADMIN_CONSOLE=false takes it away).
  if (config.adminConsole && surface !== 'admin')
    registerConsole(app, p, basePath, {
      request: (req) => toProtocolRequest(ctx, req, { kind: 'page', form: true }),
      send: (reply, res) => send(reply, res, ctx.cookieOpts),
    });
  return app;
}

/**
 * The admin API (/admin/api/v1): Tessera's own admin tokens, or the break-glass TESSERA_ADMIN_TOKEN.
 * On its own listener (TESSERA_ADMIN_PORT), a DPoP proof names the URL the caller reached it at.
 */
function mountAdminSurface(
  app: FastifyInstance,
  p: Provider,
  basePath: string,
  certificate: ReturnType<typeof certificateReader>,
  ownListener: boolean,
): void {
  registerAdminApi(app, p, {
    basePath,
    breakGlass: p.config.adminToken,
    certificate: (req) => certificate(req.raw),
    ...(ownListener
      ? { requestUrl: (req) => `http://${req.headers.host ?? p.config.adminHost}${req.url.split('?')[0]}` }
      : {}),
  });
}

/**
 * The client logo route (branding.ts, not in the route table) as the rate limiter sees it: anonymous
 * GETs, counted by address under the `authorization` policy, as the browser that shows a consent page
 * came through /authorize.
 */
const CLIENT_LOGO_LIMIT: RouteSpec = {
  path: '/clients/:client_id/logo',
  methods: ['GET'],
  kind: 'json',
  form: false,
  rateLimit: 'authorization',
  handler: () => Promise.reject(new Error('served by http/branding.ts')),
};

/** The methods a route of the table answers with 405 unless it takes them. */
const ALL_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;

/**
 * Mounts the route table under `basePath`: each route's methods (with its header-stage rate
 * limits as an onRequest hook), 405 for the others, OPTIONS (CORS preflight), and the form lane
 * of the routes that take it.
 */
function mountRoutes(
  app: FastifyInstance,
  ctx: ServerContext,
  basePath: string,
  formLanes: Map<string, LaneHandler>,
): void {
  for (const route of routes) {
    if (route.enabled && !route.enabled(ctx.p.config)) continue;
    // The CORS mode under this configuration (TESSERA_CORS_ANY_ORIGIN), for both lanes.
    const cors = corsModeFor(route, ctx.p.config);
    const spec: RouteSpec = cors === route.cors ? route : { ...route, cors };
    const url = basePath + spec.path;
    // Rules that need no body are counted before the body is read.
    const onRequest = ctx.limiter && spec.rateLimit ? { onRequest: headerStage(ctx, spec) } : {};
    for (const method of spec.methods) {
      app.route({
        method,
        url,
        config: { kind: spec.kind },
        ...onRequest,
        handler: (req, reply) => {
          const params = req.params as { uid?: string; client_id?: string; provider?: string };
          return serveRoute(ctx, spec, req, reply, params.uid ?? params.client_id ?? '', params.provider);
        },
      });
    }
    if (takesFormLane(spec)) formLanes.set(url, formLane(ctx, spec, url));
    const allowed = [...spec.methods, 'OPTIONS'].join(', ');
    const preflightMethods = spec.methods.join(', ');
    const notAllowed = JSON.stringify({ error: 'invalid_request', error_description: 'Method not allowed.' });
    app.route({
      method: ALL_METHODS.filter((m) => !(spec.methods as string[]).includes(m)),
      url,
      config: { kind: 'json' },
      handler: async (_req, reply) => {
        return reply.code(405).header('allow', allowed).headers(NO_STORE).type('application/json').send(notAllowed);
      },
    });
    app.route({
      method: 'OPTIONS',
      url,
      handler: async (req, reply) => {
        const headers = cors ? await corsHeaders(ctx.cors, cors, req.headers.origin, true, preflightMethods) : {};
        return reply.code(204).headers(headers).send();
      },
    });
  }
}

/** The routes outside the table: metrics, the admin API, health, readiness, and the issuer's index. */
function mountOperationalRoutes(app: FastifyInstance, p: Provider, opts: ServerOptions, basePath: string): void {
  const { config } = p;
  // Prometheus metrics on the main listener only with the configured bearer token (compared in
  // constant time); TESSERA_METRICS_PORT serves them on a separate listener instead.
  app.get(basePath + '/metrics', async (req, reply) => {
    const token = config.metricsToken;
    const presented = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return sendError(reply, 'json', new OAuthError('invalid_request', 'Not found.', { status: 404 }));
    if (!presented || !safeEqual(presented, token)) {
      reply.header('www-authenticate', 'Bearer realm="tessera-metrics"');
      return sendError(reply, 'json', new OAuthError('invalid_token', 'A valid metrics token is required.'));
    }
    return reply
      .headers(NO_STORE)
      .type(opts.metrics.registry.contentType)
      .send(await opts.metrics.registry.metrics());
  });
  app.get(basePath + '/health', async (_req, reply) => reply.headers(NO_STORE).send({ status: 'ok' }));
  app.get(basePath + '/ready', async (req, reply) => {
    const checks = await opts.checkReady();
    const ok = Object.values(checks).every((v) => v === 'ok');
    if (!ok) req.log.warn({ checks }, 'not ready');
    return reply
      .code(ok ? 200 : 503)
      .headers(NO_STORE)
      .send({ status: ok ? 'ready' : 'unavailable', checks });
  });
  const index = {
    issuer: config.issuer,
    discovery: `${config.issuer}/.well-known/openid-configuration`,
    account: `${config.issuer}/account`,
  };
  app.get(basePath + '/', async (_req, reply) => reply.send(index));
}

/** The separate metrics listener (TESSERA_METRICS_PORT): /metrics only, for the internal network. */
export function buildMetricsServer(metrics: Metrics, logger: Logger): FastifyInstance {
  const app = Fastify({ loggerInstance: logger, disableRequestLogging: true });
  app.get('/metrics', async (_req, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return app;
}
