// The node:http (or node:https) server beneath Fastify: TLS, timeouts, handing the lanes
// (prepared.ts, form-lane.ts) the requests they answer before Fastify sees them, answering the
// requests node's own parser refuses, and closing a connection in stages after such an answer.
import type { FastifyBaseLogger } from 'fastify';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as TlsServerOptions } from 'node:https';
import type { Socket } from 'node:net';
import type { Tracing } from '../observability/tracing.ts';
import type { Provider } from '../protocol/provider.ts';
import { API_CSP } from './headers.ts';

// node:http taken as its CommonJS object, two properties read: an ES import of it reads every
// export, WebSocket among them, which loads Node's bundled undici (about 13 MB of the idle process)
// for nothing Tessera uses.
const { STATUS_CODES, createServer: createHttpServer } = process.getBuiltinModule('node:http');

export const REQUEST_TIMEOUT_MS = 30_000;
export const CONNECTION_TIMEOUT_MS = 60_000;
/** Fastify's default. */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

/**
 * After a 413 or 431 the connection closes in stages (RFC 9112 section 9.6): the answer is sent,
 * then our side of the connection is closed (FIN), and what the client still sends is read and
 * dropped until it closes its side or this long has passed. Closing at once would make the
 * kernel answer the client's next bytes with a reset, which may discard our answer before the
 * client reads it.
 */
const LINGER_MS = 2_000;

/** Closes `socket` in stages once what was written to it has gone out (see LINGER_MS). */
function closeInStages(socket: Socket): void {
  if (socket.destroyed) return;
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.once('end', () => socket.destroy());
  socket.on('data', () => {});
  socket.resume();
  socket.end();
}

/**
 * Makes the response to `req` say Connection: close and, once it is written, close in stages
 * rather than at once: node ends a Connection: close response with socket.destroySoon(), which
 * is replaced for this socket.
 */
export function closeAfterAnswer(req: IncomingMessage, reply: { header(name: string, value: string): unknown }): void {
  reply.header('connection', 'close');
  const socket = req.socket as Socket & { destroySoon?: () => void };
  socket.destroySoon = () => closeInStages(socket);
}

/** A lane's answer to a request: `fallback` hands the request to Fastify instead. */
export type LaneHandler = (req: IncomingMessage, res: ServerResponse, fallback: () => void) => void;

/** The lanes by exact request target (path, no query string): GETs (prepared.ts) and POSTs (form-lane.ts). */
export interface Lanes {
  get: Map<string, LaneHandler>;
  post: Map<string, LaneHandler>;
}

/**
 * TESSERA_TLS_CERT_FILE: serve HTTPS and ask for a client certificate without requiring one; the
 * protocol checks it per client (RFC 8705), so the handshake accepts any certificate.
 */
export function tlsOptions(config: Provider['config']): TlsServerOptions | undefined {
  if (config.tlsCertFile === undefined || config.tlsKeyFile === undefined) return undefined;
  return {
    cert: readFileSync(config.tlsCertFile),
    key: readFileSync(config.tlsKeyFile),
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
  };
}

/**
 * Fastify's serverFactory: the server it would create itself, whose handler first offers each
 * request to the lanes (not while `draining`: those answers go through Fastify, which closes the
 * connection). With `tracing`, each request is served within its span.
 */
export function nodeServerFactory(
  tls: TlsServerOptions | undefined,
  lanes: Lanes,
  draining: (() => boolean) | undefined,
  tracing?: Tracing,
) {
  return (fastify: (req: IncomingMessage, res: ServerResponse) => void) => {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const byPath = req.method === 'GET' ? lanes.get : req.method === 'POST' ? lanes.post : undefined;
      const serve = byPath !== undefined && !draining?.() ? byPath.get(req.url ?? '') : undefined;
      if (serve) {
        // A lane's path is its route's (exact paths only).
        tracing?.route(req, req.url!);
        serve(req, res, () => fastify(req, res));
      } else fastify(req, res);
    };
    const served = tracing ? tracing.serve(handler) : handler;
    // What Fastify does for a server it creates itself.
    const server = tls ? createHttpsServer(tls, served) : createHttpServer(served);
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    server.requestTimeout = REQUEST_TIMEOUT_MS;
    server.setTimeout(CONNECTION_TIMEOUT_MS);
    return server;
  };
}

/**
 * Fastify's clientErrorHandler, for requests node's parser refuses (header fields too large: 431;
 * malformed: 400; too slow: 408): an OAuth-shaped answer that says Connection: close, then a close
 * in stages (LINGER_MS).
 */
export function parserRefusals(securityHeaders: Readonly<Record<string, string>>, logger: FastifyBaseLogger) {
  /** Sockets whose request node's parser refused. */
  const refused = new WeakSet<Socket>();
  return (err: Error & { code?: string }, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed || refused.has(socket)) return;
    refused.add(socket); // node's parser reports every later chunk of a refused request again
    const [status, description] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'The request header fields are too large.']
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'The request took too long to arrive.']
          : [400, 'The request could not be read.'];
    logger.info({ err: err.message, code: err.code, status }, 'bad request');
    const pending = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
    if (socket.writable && (!pending || !pending.headersSent)) {
      const body = JSON.stringify({ error: 'invalid_request', error_description: description });
      const fields = {
        ...securityHeaders,
        'content-security-policy': API_CSP,
        'cache-control': 'no-store',
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        connection: 'close',
      };
      const head = Object.entries(fields)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head}\r\n${body}`);
    }
    closeInStages(socket);
  };
}
