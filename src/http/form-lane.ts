// The form lane: POST requests to the JSON form endpoints (/token, /introspect, /revoke, /par,
// /device_authorization) answered on the raw node:http request, before Fastify sees them, by
// the same route pipeline the Fastify routes run (pipeline.ts). It exists for speed: these are the
// machine-to-machine endpoints on every request path of a deployment, and Fastify's request and
// reply objects, hooks and content-type parsing cost about a tenth of a token request's CPU.
//
// Only a plain request takes the lane: exactly the route's path (no query string), a form
// content type, a Content-Length within the body limit, no Transfer-Encoding, Content-Encoding
// or Expect. Anything else is decided on the headers alone, before any byte of the body is read,
// and goes through Fastify, which answers every edge case (413, 415, chunked bodies, 100-continue,
// query strings) as before. Integration tests (Fastify's inject) take the Fastify path and the
// flow tests (real HTTP) the lane; test/integration/form-lane.test.ts checks they answer alike.
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger as PinoLogger } from 'pino';
import { requestLogger } from '../observability/request-logger.ts';
import { endAtTurnEnd } from './end-of-turn.ts';
import type { LaneHandler } from './node-server.ts';
import { afterLimit, rateLimited, serveRoute, type ServerContext } from './pipeline.ts';
import { RATE_LIMIT_STATE } from './rate-limit.ts';
import { sendFailure, type ReplyLike } from './reply.ts';
import { FORM_TYPE, type RequestLike } from './request.ts';
import type { RouteSpec } from './routes.ts';

/**
 * A reply written straight to node's ServerResponse: the headers collected, then one writeHead
 * and one end (a string body goes out with the headers in one write), at the end of the event
 * loop's turn (end-of-turn.ts).
 */
export class RawReply implements ReplyLike {
  statusCode = 200;
  sent = false;
  readonly raw: ServerResponse;
  readonly #headers: OutgoingHttpHeaders;

  /** `base`: the headers every response carries (the security headers). */
  constructor(raw: ServerResponse, base: Readonly<Record<string, string>>) {
    this.raw = raw;
    this.#headers = { ...base };
  }

  header(name: string, value: string | string[]): this {
    const key = name.toLowerCase();
    const before = this.#headers[key];
    // As in Fastify: Set-Cookie accumulates, any other field is replaced.
    this.#headers[key] =
      key === 'set-cookie' && before !== undefined
        ? [...(Array.isArray(before) ? before : [String(before)]), ...(Array.isArray(value) ? value : [value])]
        : value;
    return this;
  }

  headers(values: Readonly<Record<string, string | string[]>>): this {
    for (const name in values) this.header(name, values[name]!);
    return this;
  }

  code(status: number): this {
    this.statusCode = status;
    return this;
  }

  type(contentType: string): this {
    this.#headers['content-type'] = contentType;
    return this;
  }

  send(payload?: string | Buffer): this {
    if (this.sent) return this;
    this.sent = true;
    const body = payload ?? '';
    this.#headers['content-length'] = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    const res = this.raw;
    try {
      res.writeHead(this.statusCode, this.#headers);
    } catch {
      // A header value node refuses (it validates every field): answer without the fields.
      this.statusCode = 500;
      res.writeHead(500, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end('{"error":"server_error","error_description":"The server could not complete the request."}');
      return this;
    }
    endAtTurnEnd(res, body);
    return this;
  }
}

const DIGITS = /^\d{1,10}$/;

/** Whether a request may take the lane, from its headers alone (see the head of this file). */
export function laneEligible(headers: IncomingHttpHeaders, bodyLimit: number): boolean {
  const type = headers['content-type'];
  const length = headers['content-length'];
  return (
    type !== undefined &&
    FORM_TYPE.test(type) &&
    length !== undefined &&
    DIGITS.test(length) &&
    Number(length) <= bodyLimit &&
    headers['transfer-encoding'] === undefined &&
    headers['content-encoding'] === undefined &&
    headers.expect === undefined
  );
}

/**
 * Reads a request body of a known Content-Length (node's parser delivers exactly that many
 * bytes, or the request aborts) as UTF-8. `done` is called once with the text, or with nothing
 * when the client went away first.
 */
export function readBody(req: IncomingMessage, done: (body: string | undefined) => void): void {
  let first: Buffer | undefined;
  let more: Buffer[] | undefined;
  let settled = false;
  const settle = (body: string | undefined) => {
    if (settled) return;
    settled = true;
    done(body);
  };
  req.on('data', (chunk: Buffer) => {
    if (first === undefined) first = chunk;
    else (more ??= [first]).push(chunk);
  });
  req.on('end', () => settle(more ? Buffer.concat(more).toString('utf8') : first ? first.toString('utf8') : ''));
  req.on('error', () => settle(undefined));
  req.on('close', () => {
    if (!req.complete) settle(undefined);
  });
}

/** Whether a route of the table takes the form lane for its POSTs. */
export function takesFormLane(spec: RouteSpec): boolean {
  return spec.methods.includes('POST') && spec.kind === 'json' && spec.form && !spec.path.includes(':');
}

/**
 * The form lane of a route at `route` (its full path): the same steps as its Fastify route, its
 * onRequest hooks and its onResponse metrics, on the raw request. Request lines are logged as
 * Fastify logs them.
 */
export function formLane(ctx: ServerContext, spec: RouteSpec, route: string): LaneHandler {
  const { logger, metrics } = ctx;
  const bodyLimit = ctx.p.config.bodyLimit;
  return (raw, res, fallback) => {
    if (!laneEligible(raw.headers, bodyLimit)) return fallback();
    const started = performance.now();
    const log = requestLogger(logger, { reqId: ctx.nextRequestId() }, {});
    const info = (logger as unknown as PinoLogger).isLevelEnabled('info');
    if (info) {
      const {
        method,
        url,
        headers: { host },
        socket: { remoteAddress, remotePort },
      } = raw;
      log.info({ req: { method, url, host, remoteAddress, remotePort } }, 'incoming request');
    }
    const req: RequestLike & { [RATE_LIMIT_STATE]?: null } = {
      method: 'POST',
      url: raw.url!,
      headers: raw.headers,
      body: undefined,
      ip: ctx.clientIp(raw),
      raw,
      log,
      [RATE_LIMIT_STATE]: null,
    };
    const reply = new RawReply(res, ctx.securityHeaders);
    const finished = () => {
      const seconds = (performance.now() - started) / 1000;
      metrics.request(route, 'POST', reply.statusCode, seconds);
      if (info) log.info({ res: { statusCode: reply.statusCode }, responseTime: seconds * 1000 }, 'request completed');
    };
    const fail = (err: unknown) => {
      sendFailure(err, req, reply, spec.kind, route);
      finished();
    };
    const serve = (body: string | undefined) => {
      if (body === undefined) return; // the client went away
      req.body = body;
      serveRoute(ctx, spec, req, reply, '').then(finished, fail);
    };
    let limited: boolean | Promise<boolean>;
    try {
      limited = rateLimited(ctx, spec, 'headers', req, reply);
    } catch (err) {
      return fail(err);
    }
    afterLimit(limited, () => readBody(raw, serve), finished, fail);
  };
}
