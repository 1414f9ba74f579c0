// The route pipeline: what a request to a route of the table (routes.ts) goes through, whether
// Fastify or the form lane (form-lane.ts) received it. Header-stage rate limits (Fastify: the
// route's onRequest hook), then CORS, the request mapping (request.ts), body-stage rate limits,
// the endpoint, and the answer (reply.ts). The steps are module functions over one ServerContext
// that buildServer makes per server, so a request allocates no closures of its own for them.
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { OAuthError } from '../protocol/errors.ts';
import { problemView } from '../protocol/interaction/problem.ts';
import type { Provider } from '../protocol/provider.ts';
import type { Metrics } from '../observability/metrics.ts';
import { corsHeaders, type CorsPolicy } from './cors.ts';
import { VARY_ORIGIN } from './headers.ts';
import { rateLimitHeaders, type RateLimitOutcome, type RateLimiter, type Stage } from './rate-limit.ts';
import { render, send, sendError, type CookieOptions, type ReplyLike } from './reply.ts';
import { toProtocolRequest, type RequestLike, type RequestMapping } from './request.ts';
import type { RouteSpec } from './routes.ts';

/**
 * Runs a step of a request (its rate-limit checks, its endpoint) within a scope of that request,
 * the same for every step of it: with Redis, one deadline for all the request's Redis commands.
 */
export type RequestScope = <T>(req: object, fn: () => T) => T;

/** What the pipeline and the lanes need of their server; made once per server by buildServer. */
export interface ServerContext extends RequestMapping {
  readonly p: Provider;
  readonly cors: CorsPolicy;
  readonly cookieOpts: CookieOptions;
  /** Absent: no rate limits (TESSERA_RATE_LIMITING=false). */
  readonly limiter: RateLimiter | undefined;
  readonly scope: RequestScope | undefined;
  // The lanes do for themselves what Fastify does for its routes (request ids, logs, metrics).
  readonly logger: FastifyBaseLogger;
  readonly metrics: Metrics;
  /** The fields every response carries (headers.ts). */
  readonly securityHeaders: Readonly<Record<string, string>>;
  readonly nextRequestId: () => string;
  /** The client's address of a raw request, as Fastify's request.ip has it. */
  readonly clientIp: (req: IncomingMessage) => string;
}

/**
 * A route's pipeline after its header-stage rate limits: CORS, the request, body-stage limits, the
 * endpoint, the answer.
 */
export async function serveRoute(
  ctx: ServerContext,
  spec: RouteSpec,
  req: RequestLike,
  reply: ReplyLike,
  uid: string,
  provider?: string,
): Promise<ReplyLike> {
  if (spec.cors) {
    const origin = req.headers.origin;
    reply.headers(origin === undefined ? VARY_ORIGIN : await corsHeaders(ctx.cors, spec.cors, origin, false));
  }
  const preq = toProtocolRequest(ctx, req, spec);
  const limited = rateLimited(ctx, spec, 'body', req, reply, preq.params);
  if (limited === true || (limited !== false && (await limited))) return reply;
  const { p, scope } = ctx;
  const res = await (scope
    ? scope(req, () => spec.handler(p, preq, uid, provider))
    : spec.handler(p, preq, uid, provider));
  return send(reply, res, ctx.cookieOpts);
}

/**
 * Counts a request against its route's policy; answers 429 (and returns true) when a rule is
 * exceeded. Returns a plain boolean when the counters are in this process (no asynchronous hop
 * on the way of every request), a promise when they are in Redis.
 */
export function rateLimited(
  ctx: ServerContext,
  spec: RouteSpec,
  stage: Stage,
  req: RequestLike,
  reply: ReplyLike,
  params?: URLSearchParams,
): boolean | Promise<boolean> {
  const { limiter, scope } = ctx;
  if (!limiter || !spec.rateLimit) return false;
  const outcome = scope
    ? scope(req, () => limiter.check(spec.rateLimit!, stage, req, params))
    : limiter.check(spec.rateLimit, stage, req, params);
  return outcome instanceof Promise
    ? outcome.then((o) => applyOutcome(ctx, spec, stage, req, reply, o))
    : applyOutcome(ctx, spec, stage, req, reply, outcome);
}

function applyOutcome(
  ctx: ServerContext,
  spec: RouteSpec,
  stage: Stage,
  req: RequestLike,
  reply: ReplyLike,
  outcome: RateLimitOutcome,
): boolean | Promise<boolean> {
  // The fields name every rule counted so far: set again only when this stage counted more.
  if (outcome.added > 0) reply.headers(rateLimitHeaders(outcome.counted));
  if (outcome.retryAfter === undefined) return false;
  return refuse(ctx, spec, stage, req, reply, outcome.retryAfter, outcome.firstRejection).then(() => true);
}

async function refuse(
  ctx: ServerContext,
  spec: RouteSpec,
  stage: Stage,
  req: RequestLike,
  reply: ReplyLike,
  wait: number,
  first: RateLimitOutcome['firstRejection'],
): Promise<void> {
  if (first) {
    const { name: policy, rule } = first;
    const fields = { event: 'rate_limited', policy, limit: rule.limit, window: rule.window, ip: req.ip };
    req.log.warn(fields, 'rate limit reached');
  }
  // Browser clients must be able to read the refusal (the handler has not set CORS yet).
  if (spec.cors && stage === 'headers') {
    const origin = req.headers.origin;
    reply.headers(origin === undefined ? VARY_ORIGIN : await corsHeaders(ctx.cors, spec.cors, origin, false));
  }
  const message = `Too many requests. Try again in ${wait} second${wait === 1 ? '' : 's'}.`;
  reply.header('retry-after', String(wait));
  if (spec.kind === 'page') {
    const problem = wait === 1 ? 'interaction.problem.tooManyRequestsOne' : 'interaction.problem.tooManyRequests';
    render(reply, { kind: 'page', status: 429, view: problemView(problem, { seconds: wait }) });
  } else {
    // No OAuth error code means "rate limited"; temporarily_unavailable is the registered code
    // for a temporary refusal, and the 429 status with Retry-After says why and for how long.
    sendError(reply, spec.kind, new OAuthError('temporarily_unavailable', message, { status: 429 }));
  }
}

/**
 * Goes on after a rate-limit check: `allowed`, or `refused` once its 429 is sent, or `fail` with
 * the check's error.
 */
export function afterLimit(
  limited: boolean | Promise<boolean>,
  allowed: () => void,
  refused: () => void,
  fail: (err: Error) => void,
): void {
  if (limited === false) allowed();
  else if (limited === true) refused();
  else limited.then((r) => (r ? refused() : allowed()), fail);
}

/**
 * A route's onRequest hook: the rules counted from headers. Callback style, so in-process counting
 * adds no promise.
 */
export function headerStage(ctx: ServerContext, spec: RouteSpec) {
  return (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void => {
    // Refused: the 429 has been sent, and not calling done() ends the hook chain.
    afterLimit(
      rateLimited(ctx, spec, 'headers', req, reply),
      () => done(),
      () => {},
      done,
    );
  };
}
