import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { certificateReader } from './client-certificate.ts';
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { discoveryDocument } from '../protocol/endpoints/discovery.ts';
import { offeredAlgs } from '../protocol/tokens/response-algs.ts';
import { NO_STORE } from '../protocol/endpoints/token.ts';
import { OAuthError, invalidRequest } from '../protocol/errors.ts';
import { randomToken, safeEqual } from '../protocol/hash.ts';
import type { OAuthResponse, Provider, ProtocolRequest } from '../protocol/provider.ts';
import type { KeyRing } from '../protocol/tokens/keys.ts';
import { JWKS_MAX_AGE } from '../protocol/tokens/key-schedule.ts';
import { registerAdminRoutes } from './admin.ts';
import { parseCookies, serializeCookie } from './cookies.ts';
import { corsHeaders, type CorsPolicy } from './cors.ts';
import { renderFormPost, renderView } from './render-page.ts';
import type { Metrics } from '../observability/metrics.ts';
import { requestLogger } from '../observability/request-logger.ts';
import type { RateLimitTable } from '../config/rate-limits.ts';
import type { RateLimitStore } from '../ports/rate-limits.ts';
import { BackendUnavailableError } from '../ports/unavailable.ts';
import { RATE_LIMIT_STATE, createRateLimiter, rateLimitHeaders, type RateLimitOutcome, type Stage } from './rate-limit.ts';
import { FORM_TYPE, RawReply, laneEligible, readBody, type ReplyLike } from './form-lane.ts';
import { endAtTurnEnd } from './end-of-turn.ts';
import { API_CSP, JSON_HEADERS, VARY_ORIGIN, securityHeadersFor } from './headers.ts';
import {
  CONNECTION_TIMEOUT_MS, REQUEST_TIMEOUT_MS, closeAfterAnswer, nodeServerFactory, parserRefusals, tlsOptions,
  type LaneHandler,
} from './node-server.ts';
import { routes, type Kind, type RouteSpec } from './routes.ts';
import proxyAddr from '@fastify/proxy-addr';
import type { Logger as PinoLogger } from 'pino';

/** What the route pipeline needs of a request: Fastify's, or the form lane's (form-lane.ts). */
type RequestLike = Pick<FastifyRequest, 'method' | 'url' | 'headers' | 'body' | 'ip' | 'raw' | 'log'>;

const JSON_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

type Logger = FastifyBaseLogger;

/** Retry-After on 503 answers given while the database cannot be reached. */
const RETRY_AFTER_SECONDS = 2;

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
  requestScope?: <T>(req: object, fn: () => T) => T;
}

/** Prepared bytes of a document that only changes with the keys. */
interface Prepared { ring: KeyRing; body: Buffer; text: string; etag: string }

export function buildServer(p: Provider, opts: ServerOptions): FastifyInstance {
  const { config } = p;
  const secure = config.cookieSecure;
  const basePath = new URL(config.issuer).pathname.replace(/\/$/, '');
  // Discovery and JWKS: the most requested documents, identical between key rotations. A GET of
  // exactly their path is answered from prepared bytes before Fastify sees the request (no
  // routing, hooks or reply object); anything else about them (HEAD, a query string, OPTIONS, a
  // server that is closing) goes through the Fastify routes below, which answer the same bytes.
  const fastLane = new Map<string, LaneHandler>(); // GETs only
  const tls = tlsOptions(config);
  const requestIdPrefix = `${randomBytes(9).toString('base64url')}-`;
  let requests = 0;
  // Unique across processes and instances by a random per-server prefix; a counter after it
  // costs less per request than a UUID.
  const nextRequestId = () => `${requestIdPrefix}${(++requests).toString(36)}`;
  const securityHeaders = securityHeadersFor(config);
  // POST form endpoints answered before Fastify when the request is plain (form-lane.ts).
  const formLanes = new Map<string, LaneHandler>();
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
    serverFactory: nodeServerFactory(tls, { get: fastLane, post: formLanes }, opts.draining),
    clientErrorHandler: parserRefusals(securityHeaders, opts.logger),
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
  app.addHook('onResponse', (req, reply, done) => {
    opts.metrics.request(req.routeOptions.url ?? 'unmatched', req.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  const cookieOpts = { secure, sessionSameSite: config.cookieSameSite };

  function toProtocolRequest(req: RequestLike, spec: RouteSpec): ProtocolRequest {
    let params: URLSearchParams;
    if (spec.json) return jsonRequest(req);
    if (req.method === 'GET') {
      const q = req.url.indexOf('?');
      params = new URLSearchParams(q >= 0 ? req.url.slice(q + 1) : '');
    } else {
      const type = req.headers['content-type'];
      const body = typeof req.body === 'string' ? req.body : '';
      if (type === undefined && body === '') params = new URLSearchParams();
      else if (type !== undefined && FORM_TYPE.test(type)) params = new URLSearchParams(body);
      else if (spec.form || body !== '') throw invalidRequest('The request body must be application/x-www-form-urlencoded.');
      else params = new URLSearchParams();
      if (req.url.includes('?') && spec.kind !== 'page') {
        // Credentials and tokens never travel in the query string of a POST.
        const q = new URLSearchParams(req.url.slice(req.url.indexOf('?') + 1));
        for (const k of ['client_secret', 'access_token', 'refresh_token', 'code', 'token']) {
          if (q.has(k)) throw invalidRequest(`${k} must not be sent in the query string.`);
        }
      }
    }
    const out: ProtocolRequest = { method: req.method, params, headers: req.headers, cookies: parseCookies(req.headers.cookie, secure), ip: req.ip };
    const cert = clientCertificate(req.raw);
    if (cert) out.clientCertificate = cert;
    return out;
  }

  /** A JSON route's request: a POST or PUT body must be one application/json object (the protocol checks its shape). */
  function jsonRequest(req: RequestLike): ProtocolRequest {
    const base = { method: req.method, params: new URLSearchParams(), headers: req.headers, cookies: {}, ip: req.ip };
    if (req.url.includes('?')) throw invalidRequest('This endpoint takes no query parameters.');
    if (req.method !== 'POST' && req.method !== 'PUT') return base;
    const type = req.headers['content-type'];
    if (type === undefined || !JSON_TYPE.test(type)) throw invalidRequest('The request body must be application/json.');
    try {
      return { ...base, json: JSON.parse(typeof req.body === 'string' ? req.body : '') };
    } catch {
      throw new OAuthError('invalid_client_metadata', 'The request body is not valid JSON.');
    }
  }

  function send(reply: ReplyLike, res: OAuthResponse): ReplyLike {
    const cookies = 'cookies' in res && res.cookies ? res.cookies.map((c) => serializeCookie(c, cookieOpts)) : [];
    if (cookies.length) reply.header('set-cookie', cookies);
    switch (res.kind) {
      case 'json':
        reply.headers(JSON_HEADERS);
        if (res.headers) reply.headers(res.headers);
        return reply.code(res.status).send(JSON.stringify(res.body));
      case 'raw':
        reply.headers({ 'content-security-policy': API_CSP, 'content-type': res.contentType });
        if (res.headers) reply.headers(res.headers);
        return reply.code(res.status).send(res.body);
      case 'redirect':
        return reply.code(303).header('cache-control', 'no-store').header('location', res.location).send();
      case 'form_post': {
        const nonce = randomToken(16);
        return reply.code(200).headers({
          'cache-control': 'no-store',
          'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; form-action ${cspSource(res.action)}; frame-ancestors 'none'; base-uri 'none'`,
        }).type('text/html; charset=utf-8').send(renderFormPost(res.action, res.fields, nonce));
      }
      case 'page': {
        if (res.headers) reply.headers(res.headers);
        const nonce = randomToken(16);
        const actions = ["'self'", ...(res.formActions ?? []).map(cspSource)].join(' ');
        const frames = res.frameSources?.length ? `; frame-src ${[...new Set(res.frameSources.map(cspSource))].join(' ')}` : '';
        return reply.code(res.status).headers({
          'cache-control': 'no-store',
          'content-security-policy': `default-src 'none'; style-src 'nonce-${nonce}'; form-action ${actions}; frame-ancestors 'none'; base-uri 'none'${frames}`,
        }).type('text/html; charset=utf-8').send(renderView(res.view, nonce));
      }
    }
  }

  function sendError(reply: ReplyLike, kind: Kind, err: OAuthError): ReplyLike {
    if (kind === 'page') {
      return send(reply, { kind: 'page', status: err.status, view: { name: 'error', title: err.status >= 500 ? 'Service unavailable' : 'Request not valid', message: err.description } });
    }
    if (kind === 'bearer' && err.status < 500) {
      const challenge = err.detail === 'no token' ? 'Bearer realm="tessera"' : `Bearer realm="tessera", error="${err.code}", error_description="${err.description.replace(/["\\]/g, '')}"`;
      reply.header('www-authenticate', challenge);
    } else if (err.code === 'invalid_client') {
      reply.header('www-authenticate', 'Basic realm="tessera"');
    }
    if (err.headers) reply.headers(err.headers);
    return send(reply, { kind: 'json', status: err.status, body: err.toJSON(), headers: NO_STORE });
  }

  const scope = opts.requestScope;
  const limiter = opts.rateLimits && createRateLimiter(opts.rateLimits.table, opts.rateLimits.store, { rejected: (policy, key) => opts.metrics.rateLimited(policy, key) }, config.rateLimitIpv6Prefix);
  if (limiter) app.decorateRequest(RATE_LIMIT_STATE, null);

  /**
   * Counts a request against its route's policy; answers 429 (and returns true) when a rule is
   * exceeded. Returns a plain boolean when the counters are in this process (no asynchronous hop
   * on the way of every request), a promise when they are in Redis.
   */
  function rateLimited(spec: RouteSpec, stage: Stage, req: RequestLike, reply: ReplyLike, params?: URLSearchParams): boolean | Promise<boolean> {
    if (!limiter || !spec.rateLimit) return false;
    const outcome = scope ? scope(req, () => limiter.check(spec.rateLimit!, stage, req, params)) : limiter.check(spec.rateLimit, stage, req, params);
    return outcome instanceof Promise ? outcome.then((o) => applyOutcome(spec, stage, req, reply, o)) : applyOutcome(spec, stage, req, reply, outcome);
  }

  function applyOutcome(spec: RouteSpec, stage: Stage, req: RequestLike, reply: ReplyLike, outcome: RateLimitOutcome): boolean | Promise<boolean> {
    // The fields name every rule counted so far: set again only when this stage counted more.
    if (outcome.added > 0) reply.headers(rateLimitHeaders(outcome.counted));
    if (outcome.retryAfter === undefined) return false;
    return refuse(spec, stage, req, reply, outcome.retryAfter, outcome.firstRejection).then(() => true);
  }

  async function refuse(spec: RouteSpec, stage: Stage, req: RequestLike, reply: ReplyLike, wait: number, first: RateLimitOutcome['firstRejection']): Promise<void> {
    if (first) req.log.warn({ event: 'rate_limited', policy: first.name, limit: first.rule.limit, window: first.rule.window, ip: req.ip }, 'rate limit reached');
    // Browser clients must be able to read the refusal (the handler has not set CORS yet).
    if (spec.cors && stage === 'headers') reply.headers(req.headers.origin === undefined ? VARY_ORIGIN : await corsHeaders(opts.cors, spec.cors, req.headers.origin, false));
    const message = `Too many requests. Try again in ${wait} second${wait === 1 ? '' : 's'}.`;
    reply.header('retry-after', String(wait));
    if (spec.kind === 'page') send(reply, { kind: 'page', status: 429, view: { name: 'error', title: 'Too many requests', message } });
    // No OAuth error code means "rate limited"; temporarily_unavailable is the registered code
    // for a temporary refusal, and the 429 status with Retry-After says why and for how long.
    else sendError(reply, spec.kind, new OAuthError('temporarily_unavailable', message, { status: 429 }));
  }

  /** Route-level onRequest hook (callback style, so in-process counting adds no promise): rules counted from headers. */
  const headerStage = (spec: RouteSpec) => (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    // Refused: the 429 has been sent, and not calling done() ends the hook chain.
    afterLimit(rateLimited(spec, 'headers', req, reply), () => done(), () => {}, done);
  };

  /** Goes on after a rate-limit check: `allowed`, or `refused` once its 429 is sent, or `fail` with the check's error. */
  function afterLimit(limited: boolean | Promise<boolean>, allowed: () => void, refused: () => void, fail: (err: Error) => void): void {
    if (limited === false) allowed();
    else if (limited === true) refused();
    else limited.then((r) => (r ? refused() : allowed()), fail);
  }

  app.setErrorHandler((error, req, reply) => {
    sendFailure(error, req, reply, (req.routeOptions.config as { kind?: Kind } | undefined)?.kind ?? 'json', req.routeOptions.url);
  });

  /** The answer to a request whose route threw: `kind` of the route, `route` its path. */
  function sendFailure(error: unknown, req: RequestLike, reply: ReplyLike, kind: Kind, route: string | undefined): ReplyLike {
    if (error instanceof BackendUnavailableError) {
      // The database or Redis cannot be reached now (down, restarting, failing over): nothing was
      // decided and nothing is wrong with the request, so fail closed with a retryable answer.
      req.log.warn({ event: 'backend_unavailable', backend: error.backend, err: error.message }, `${error.backend} unavailable`);
      reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      return sendError(reply, kind, new OAuthError('temporarily_unavailable', 'The service is temporarily unavailable; retry later.'));
    }
    if (error instanceof OAuthError) {
      if (error.detail) req.log.info({ oauth_error: error.code, detail: error.detail }, 'request refused');
      return sendError(reply, kind, error);
    }
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      const description = status === 413 ? 'The request body is too large.' : status === 415 ? 'Unsupported content type.' : 'The request could not be read.';
      req.log.info({ err: (error as Error).message, status }, 'bad request');
      // The client may still be sending the body: tell it the connection ends, and end it in stages.
      if (status === 413) closeAfterAnswer(req.raw, reply);
      return sendError(reply, kind, new OAuthError('invalid_request', description, { status }));
    }
    req.log.error({ err: error }, 'unhandled error');
    // RFC 7009 section 2.2.1: a revocation that could not be carried out is answered with 503,
    // so the client knows to retry.
    if (route?.endsWith('/revoke')) {
      return sendError(reply, kind, new OAuthError('temporarily_unavailable', 'The token could not be revoked now; retry later.'));
    }
    return sendError(reply, kind, new OAuthError('server_error', 'The server could not complete the request.'));
  }

  /** A route's pipeline after its header-stage rate limits: CORS, the request, body-stage limits, the endpoint, the answer. */
  async function serveRoute(spec: RouteSpec, req: RequestLike, reply: ReplyLike, uid: string): Promise<ReplyLike> {
    if (spec.cors) reply.headers(req.headers.origin === undefined ? VARY_ORIGIN : await corsHeaders(opts.cors, spec.cors, req.headers.origin, false));
    const preq = toProtocolRequest(req, spec);
    const limited = rateLimited(spec, 'body', req, reply, preq.params);
    if (limited === true || (limited !== false && await limited)) return reply;
    return send(reply, await (scope ? scope(req, () => spec.handler(p, preq, uid)) : spec.handler(p, preq, uid)));
  }

  const clientIp = config.trustProxy.length
    ? ((trust) => (req: IncomingMessage) => { const all = proxyAddr.all(req, trust); return all[all.length - 1]!; })(proxyAddr.compile([...config.trustProxy]))
    : (req: IncomingMessage) => req.socket.remoteAddress ?? '';

  /**
   * The form lane of a route (form-lane.ts): the same steps as its Fastify route, its onRequest
   * hooks and its onResponse metrics, on the raw request. Request lines are logged as Fastify
   * logs them.
   */
  const formLane = (spec: RouteSpec, route: string) => (raw: IncomingMessage, res: ServerResponse, fallback: () => void): void => {
    if (!laneEligible(raw.headers, config.bodyLimit)) return fallback();
    const started = performance.now();
    const log = requestLogger(opts.logger, { reqId: nextRequestId() }, {});
    const info = (opts.logger as unknown as PinoLogger).isLevelEnabled('info');
    if (info) log.info({ req: { method: raw.method, url: raw.url, host: raw.headers.host, remoteAddress: raw.socket.remoteAddress, remotePort: raw.socket.remotePort } }, 'incoming request');
    const req: RequestLike & { [RATE_LIMIT_STATE]?: null } = { method: 'POST', url: raw.url!, headers: raw.headers, body: undefined, ip: clientIp(raw), raw, log, [RATE_LIMIT_STATE]: null };
    const reply = new RawReply(res, securityHeaders);
    const finished = () => {
      const seconds = (performance.now() - started) / 1000;
      opts.metrics.request(route, 'POST', reply.statusCode, seconds);
      if (info) log.info({ res: { statusCode: reply.statusCode }, responseTime: seconds * 1000 }, 'request completed');
    };
    const fail = (err: unknown) => { sendFailure(err, req, reply, spec.kind, route); finished(); };
    const serve = (body: string | undefined) => {
      if (body === undefined) return; // the client went away
      req.body = body;
      serveRoute(spec, req, reply, '').then(finished, fail);
    };
    let limited: boolean | Promise<boolean>;
    try {
      limited = rateLimited(spec, 'headers', req, reply);
    } catch (err) {
      return fail(err);
    }
    afterLimit(limited, () => readBody(raw, serve), finished, fail);
  };

  app.setNotFoundHandler((req, reply) => {
    sendError(reply, 'json', new OAuthError('invalid_request', 'Not found.', { status: 404 }));
  });

  for (const spec of routes) {
    if (spec.enabled && !spec.enabled(config)) continue;
    for (const method of spec.methods) {
      app.route({
        method, url: basePath + spec.path, config: { kind: spec.kind },
        // Rules that need no body are counted before the body is read.
        ...(limiter && spec.rateLimit ? { onRequest: headerStage(spec) } : {}),
        handler: (req, reply) => serveRoute(spec, req, reply, (req.params as { uid?: string; client_id?: string }).uid ?? (req.params as { client_id?: string }).client_id ?? ''),
      });
      if (method === 'POST' && spec.kind === 'json' && spec.form && !spec.path.includes(':')) formLanes.set(basePath + spec.path, formLane(spec, basePath + spec.path));
    }
    const allowed = [...spec.methods, 'OPTIONS'];
    app.route({
      method: (['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const).filter((m) => !(spec.methods as string[]).includes(m)),
      url: basePath + spec.path, config: { kind: 'json' },
      handler: async (_req, reply) => reply.code(405).header('allow', allowed.join(', ')).headers(NO_STORE).type('application/json').send(JSON.stringify({ error: 'invalid_request', error_description: 'Method not allowed.' })),
    });
    app.route({
      method: 'OPTIONS', url: basePath + spec.path,
      handler: async (req, reply) => reply.code(204).headers(spec.cors ? await corsHeaders(opts.cors, spec.cors, req.headers.origin, true) : {}).send(),
    });
  }

  // Discovery and JWKS change only with the keys: serve prepared bytes with validators.
  const prepared = (build: (ring: KeyRing) => Buffer) => {
    let cache: Prepared | undefined;
    return () => {
      const ring = p.keys();
      if (!cache || cache.ring !== ring) {
        const body = build(ring);
        // Derived from the bytes, so every process and instance serves the same validator.
        cache = { ring, body, text: body.toString('utf8'), etag: `"${createHash('sha256').update(body).digest('base64url')}"` };
      }
      return cache;
    };
  };
  const discovery = prepared((ring) => Buffer.from(JSON.stringify(discoveryDocument(config, offeredAlgs(config, ring)))));
  const jwks = prepared((ring) => ring.jwksBody);
  const servePrepared = (route: string, get: () => Prepared, type: string) => {
    let headersFor: Prepared | undefined;
    let headers: Record<string, string | number> = {};
    let notModified: Record<string, string> = {};
    /** `count`: record the request in the metrics (the routes' onResponse hook does it for theirs). */
    const respond = (req: IncomingMessage, res: ServerResponse, count: boolean) => {
      const started = count ? performance.now() : 0;
      const doc = get();
      if (headersFor !== doc) {
        notModified = { ...securityHeaders, 'access-control-allow-origin': '*', 'cache-control': `public, max-age=${JWKS_MAX_AGE}`, etag: doc.etag, 'content-security-policy': API_CSP };
        headers = { ...notModified, 'content-type': type, 'content-length': doc.body.length };
        headersFor = doc;
      }
      const status = req.headers['if-none-match'] === doc.etag ? 304 : 200;
      // Finished at the end of the loop's turn (end-of-turn.ts). A string body goes out with the
      // headers in one write; a Buffer would take a second chunk.
      if (status === 304) endAtTurnEnd(res.writeHead(304, notModified));
      else endAtTurnEnd(res.writeHead(200, headers), req.method === 'HEAD' ? undefined : doc.text);
      if (count) opts.metrics.request(route, 'GET', status, (performance.now() - started) / 1000);
    };
    fastLane.set(route, (req, res) => respond(req, res, true));
    app.route({
      method: ['GET', 'HEAD'], url: route, exposeHeadRoute: false,
      handler: (req: FastifyRequest, reply: FastifyReply) => {
        reply.hijack();
        // The draining hook set connection: close on the raw response already.
        respond(req.raw, reply.raw, false);
      },
    });
  };
  for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
    servePrepared(basePath + path, discovery, 'application/json');
  }
  // RFC 8414 section 3: for an issuer with a path, the metadata lives at /.well-known/...{path}.
  if (basePath) servePrepared(`/.well-known/oauth-authorization-server${basePath}`, discovery, 'application/json');
  servePrepared(basePath + '/jwks', jwks, 'application/jwk-set+json');

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
    return reply.headers(NO_STORE).type(opts.metrics.registry.contentType).send(await opts.metrics.registry.metrics());
  });
  // The admin API (/admin/...), only when TESSERA_ADMIN_TOKEN is set.
  if (config.adminToken) registerAdminRoutes(app, p, basePath, config.adminToken);
  app.get(basePath + '/health', async (_req, reply) => reply.headers(NO_STORE).send({ status: 'ok' }));
  app.get(basePath + '/ready', async (req, reply) => {
    const checks = await opts.checkReady();
    const ok = Object.values(checks).every((v) => v === 'ok');
    if (!ok) req.log.warn({ checks }, 'not ready');
    return reply.code(ok ? 200 : 503).headers(NO_STORE).send({ status: ok ? 'ready' : 'unavailable', checks });
  });
  app.get(basePath + '/', async (_req, reply) => reply.send({ issuer: config.issuer, discovery: `${config.issuer}/.well-known/openid-configuration`, account: `${config.issuer}/account` }));
  return app;
}

function cspSource(uri: string): string {
  try {
    const u = new URL(uri);
    return u.origin !== 'null' ? u.origin : u.protocol;
  } catch {
    return "'none'";
  }
}

/** The separate metrics listener (TESSERA_METRICS_PORT): /metrics only, for the internal network. */
export function buildMetricsServer(metrics: Metrics, logger: Logger): FastifyInstance {
  const app = Fastify({ loggerInstance: logger, disableRequestLogging: true });
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  return app;
}
