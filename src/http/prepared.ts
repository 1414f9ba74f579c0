// The prepared-bytes lane: discovery and JWKS, the most requested documents, identical between key
// rotations. Each is kept as prepared bytes with an ETag, rebuilt when the key ring changes. A GET
// of exactly their path is answered from them before Fastify sees the request (no routing, hooks
// or reply object); anything else about them (HEAD, a query string, OPTIONS, a server that is
// closing) goes through their Fastify routes, which answer the same bytes.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { discoveryDocument } from '../protocol/endpoints/discovery.ts';
import { registryScopeNames } from '../protocol/resources.ts';
import { JWKS_MAX_AGE } from '../protocol/tokens/key-schedule.ts';
import type { KeyRing } from '../protocol/tokens/keys.ts';
import { offeredAlgs } from '../protocol/tokens/response-algs.ts';
import { endAtTurnEnd } from './end-of-turn.ts';
import { API_CSP } from './headers.ts';
import type { LaneHandler } from './node-server.ts';
import type { ServerContext } from './pipeline.ts';

/** The answer to a CORS preflight of a public document. */
const PUBLIC_PREFLIGHT = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, HEAD',
  'access-control-allow-headers': '*',
  'access-control-max-age': '600',
};

/** Prepared bytes of a document that only changes with the keys. */
interface Prepared {
  ring: KeyRing;
  body: Buffer;
  text: string;
  etag: string;
}

type Context = Pick<ServerContext, 'p' | 'metrics' | 'securityHeaders'>;

/**
 * Mounts the discovery documents and the JWKS under `basePath`: their Fastify routes on `app`, and
 * their GETs on `lanes`.
 */
export function mountPreparedDocuments(
  app: FastifyInstance,
  ctx: Context,
  basePath: string,
  lanes: Map<string, LaneHandler>,
): void {
  const { config, resourceRegistry } = ctx.p;
  // With TESSERA_REGISTRATION_RESOURCE_SCOPES, scopes_supported lists the registry's scopes too: the
  // document is built again when the registry copy changes (at most every few seconds, same bytes
  // and ETag when nothing changed), and a stale copy is read before answering.
  const registryScopes = config.registrationResourceScopes;
  const registry = () => (registryScopes ? resourceRegistry.ready() : undefined);
  const discovery = prepared(
    ctx,
    (ring) => {
      const scopes = registryScopeNames(registry() ?? new Map());
      return Buffer.from(JSON.stringify(discoveryDocument(config, offeredAlgs(config, ring), scopes)));
    },
    registry,
  );
  const fresh = registryScopes
    ? () => (resourceRegistry.ready() ? undefined : resourceRegistry.read().then(() => undefined))
    : undefined;
  const jwks = prepared(ctx, (ring) => ring.jwksBody);
  const metadata = (route: string) => servePrepared(app, ctx, lanes, route, discovery, 'application/json', fresh);
  for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
    metadata(basePath + path);
  }
  // RFC 8414 section 3: for an issuer with a path, the metadata lives at /.well-known/...{path}.
  if (basePath) metadata(`/.well-known/oauth-authorization-server${basePath}`);
  servePrepared(app, ctx, lanes, basePath + '/jwks', jwks, 'application/jwk-set+json');
}

/**
 * The document `build` makes of the current key ring, built again only when the ring changes (or
 * what `also` answers, compared by identity).
 */
function prepared(ctx: Context, build: (ring: KeyRing) => Buffer, also?: () => unknown): () => Prepared {
  const { p } = ctx;
  let cache: Prepared | undefined;
  let seen: unknown;
  return () => {
    const ring = p.keys();
    const other = also?.();
    if (!cache || cache.ring !== ring || other !== seen) {
      seen = other;
      const body = build(ring);
      // Derived from the bytes, so every process and instance serves the same validator.
      const etag = `"${createHash('sha256').update(body).digest('base64url')}"`;
      cache = { ring, body, text: body.toString('utf8'), etag };
    }
    return cache;
  };
}

function servePrepared(
  app: FastifyInstance,
  ctx: Context,
  lanes: Map<string, LaneHandler>,
  route: string,
  get: () => Prepared,
  type: string,
  /** A read to finish before answering (the registry copy of the discovery document), or undefined. */
  fresh?: () => Promise<void> | undefined,
): void {
  const { metrics, securityHeaders } = ctx;
  let headersFor: Prepared | undefined;
  let headers: Record<string, string | number> = {};
  let notModified: Record<string, string> = {};
  /** `count`: record the request in the metrics (the routes' onResponse hook does it for theirs). */
  const respond = (req: IncomingMessage, res: ServerResponse, count: boolean) => {
    const started = count ? performance.now() : 0;
    const doc = get();
    if (headersFor !== doc) {
      notModified = {
        ...securityHeaders,
        'access-control-allow-origin': '*',
        'cache-control': `public, max-age=${JWKS_MAX_AGE}`,
        etag: doc.etag,
        'content-security-policy': API_CSP,
      };
      headers = { ...notModified, 'content-type': type, 'content-length': doc.body.length };
      headersFor = doc;
    }
    const status = req.headers['if-none-match'] === doc.etag ? 304 : 200;
    // Finished at the end of the loop's turn (end-of-turn.ts). A string body goes out with the
    // headers in one write; a Buffer would take a second chunk.
    if (status === 304) endAtTurnEnd(res.writeHead(304, notModified));
    else endAtTurnEnd(res.writeHead(200, headers), req.method === 'HEAD' ? undefined : doc.text);
    if (count) metrics.request(route, 'GET', status, (performance.now() - started) / 1000);
  };
  /** Answers at once, or after `fresh`'s read (a failed read answers with what is at hand). */
  const answer = (req: IncomingMessage, res: ServerResponse, count: boolean) => {
    const pending = fresh?.();
    if (pending === undefined) respond(req, res, count);
    else
      pending.then(
        () => respond(req, res, count),
        () => respond(req, res, count),
      );
  };
  lanes.set(route, (req, res) => answer(req, res, true));
  // CORS preflights: a public document, read without credentials, with whatever request fields a
  // client adds (MCP clients send MCP-Protocol-Version).
  app.route({
    method: 'OPTIONS',
    url: route,
    handler: (_req: FastifyRequest, reply: FastifyReply) => reply.code(204).headers(PUBLIC_PREFLIGHT).send(),
  });
  app.route({
    method: ['GET', 'HEAD'],
    url: route,
    exposeHeadRoute: false,
    handler: (req: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      // The draining hook set connection: close on the raw response already.
      answer(req.raw, reply.raw, false);
    },
  });
}
