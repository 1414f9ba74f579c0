// The JSON admin API under /admin/api/v1 (issue 20): one route per action of the action table
// (admin/actions/), each a thin front over admin/action.ts `runAction`. Callers authenticate with an
// access token Tessera issued for its admin audience (Bearer or DPoP; protocol/admin-tokens.ts), or
// with the break-glass TESSERA_ADMIN_TOKEN (the owner's scopes). Cookies are never read. Answers are
// JSON, never cached; errors are RFC 9457 problem details. The OpenAPI document of the same table is
// served at /admin/api/v1/openapi.json. The routes come from admin-routes.ts; the action table, with
// runAction and the OpenAPI document, is loaded by the API's first request that needs it.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AdminAction, AdminPrincipal } from '../admin/action.ts';
import { ADMIN_SCOPES } from '../protocol/admin-scopes.ts';
import { verifyAdminToken } from '../protocol/admin-tokens.ts';
import { OAuthError } from '../protocol/errors.ts';
import { safeEqual } from '../protocol/hash.ts';
import type { Provider, ProtocolRequest } from '../protocol/provider.ts';
import { ADMIN_ROUTES, type AdminRoute } from './admin-routes.ts';
import { closeAfterAnswer } from './node-server.ts';
import { BackendUnavailableError } from '../ports/unavailable.ts';

export const ADMIN_API_PATH = '/admin/api/v1';

const HEADERS = {
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};
const JSON_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;
const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** An RFC 9457 problem: `code` says what went wrong in one word, `detail` in a sentence. */
export function sendProblem(
  reply: FastifyReply,
  status: number,
  code: string,
  detail: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): FastifyReply {
  return reply
    .code(status)
    .headers({ ...HEADERS, ...headers })
    .type('application/problem+json')
    .send(
      JSON.stringify({ type: 'about:blank', title: STATUS_TITLES[status] ?? 'Error', status, code, detail, ...extra }),
    );
}

class InputError extends Error {}

/** The action's input: path parameters, query parameters (each once) and the JSON object body, none named twice. */
function actionInput(req: FastifyRequest): Record<string, unknown> {
  const input: Record<string, unknown> = { ...(req.params as Record<string, string>) };
  const put = (name: string, value: unknown) => {
    if (Object.hasOwn(input, name)) throw new InputError(`${name} is given more than once.`);
    // An own member whatever its name: `__proto__` assigned would become the input's prototype, whose
    // members the schema reads as given (past the checks above and the action's strict schema).
    Object.defineProperty(input, name, { value, enumerable: true, writable: true, configurable: true });
  };
  const q = req.url.indexOf('?');
  if (q >= 0) {
    const params = new URLSearchParams(req.url.slice(q + 1));
    for (const name of new Set(params.keys())) {
      const all = params.getAll(name);
      if (all.length > 1) throw new InputError(`${name} must not be repeated.`);
      put(name, all[0]);
    }
  }
  const body = typeof req.body === 'string' ? req.body : '';
  if (body.trim() !== '') {
    if (!JSON_TYPE.test(req.headers['content-type'] ?? ''))
      throw new InputError('The request body must be application/json.');
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new InputError('The request body is not valid JSON.');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new InputError('The request body must be a JSON object.');
    for (const [k, v] of Object.entries(parsed)) put(k, v);
  }
  return input;
}

/** The request as the protocol sees it, for the token check: headers, method and certificate; never cookies. */
function tokenRequest(req: FastifyRequest, clientCertificate: ProtocolRequest['clientCertificate']): ProtocolRequest {
  return {
    method: req.method,
    params: new URLSearchParams(),
    headers: req.headers,
    cookies: {},
    ip: req.ip,
    ...(clientCertificate ? { clientCertificate } : {}),
  };
}

const OWNER_SCOPES: ReadonlySet<string> = new Set(ADMIN_SCOPES);

interface ActionTable {
  /** admin/action.ts: runAction, statusOf, ActionRefused. */
  run: typeof import('../admin/action.ts');
  actions: readonly AdminAction[];
  byName: ReadonlyMap<string, AdminAction>;
}
let table: Promise<ActionTable> | undefined;

/**
 * The action table and admin/action.ts, loaded once by the first request that runs an action (or
 * asks for the OpenAPI document): they hold every action's input schema (zod), several MB that an
 * instance nobody administers through its API never needs. A failed load is tried again next time.
 */
function actionTable(): Promise<ActionTable> {
  table ??= Promise.all([import('../admin/action.ts'), import('../admin/actions/index.ts')]).then(
    ([run, { ADMIN_ACTIONS }]) => ({
      run,
      actions: ADMIN_ACTIONS,
      byName: new Map(ADMIN_ACTIONS.map((a) => [a.name, a])),
    }),
    (err: unknown) => {
      table = undefined;
      throw err;
    },
  );
  return table;
}

export interface AdminApiOptions {
  basePath: string;
  /** TESSERA_ADMIN_TOKEN: the break-glass token of the first owner; absent: none is accepted. */
  breakGlass?: string;
  /** The TLS client certificate of a request (certificate-bound tokens), as the protocol routes read it. */
  certificate(req: FastifyRequest): ProtocolRequest['clientCertificate'];
  /** The URL a request reached, without its query (DPoP's htu); default: the issuer and the path. */
  requestUrl?: (req: FastifyRequest) => string;
}

/** Who sends this request: the break-glass token, or the principal of a Tessera admin token. */
async function principalOf(
  p: Provider,
  req: FastifyRequest,
  opts: AdminApiOptions,
  htu: string,
): Promise<AdminPrincipal> {
  const header = req.headers.authorization;
  if (opts.breakGlass && header !== undefined) {
    const presented = /^Bearer ([\x21-\x7E]+)$/i.exec(header)?.[1];
    if (presented && safeEqual(presented, opts.breakGlass))
      return { kind: 'break-glass', id: 'admin', scopes: OWNER_SCOPES, via: 'api', ip: req.ip };
  }
  if (header === undefined || !/^(Bearer|DPoP)\s/i.test(header)) {
    throw new OAuthError('invalid_token', 'An admin access token is required (Authorization: Bearer or DPoP).', {
      status: 401,
      headers: { 'www-authenticate': 'Bearer realm="tessera-admin", DPoP realm="tessera-admin"' },
    });
  }
  const t = await verifyAdminToken(p, tokenRequest(req, opts.certificate(req)), htu);
  return {
    kind: t.kind,
    id: t.id,
    scopes: t.scopes,
    ...(t.authTime !== undefined ? { authTime: t.authTime } : {}),
    via: 'api',
    ip: req.ip,
    clientId: t.clientId,
  };
}

/** The principals of requests authenticated before their body was read (routes that raise the body limit). */
const earlyPrincipals = new WeakMap<FastifyRequest, AdminPrincipal>();

/** Serves one action (its route: the action's name, method, path and raised body limit). */
function serveAction(app: FastifyInstance, p: Provider, http: AdminRoute, opts: AdminApiOptions): void {
  const htu = `${p.config.issuer}${ADMIN_API_PATH}${http.path}`;
  /** The request's principal, or undefined once its 401 (problem+json) is sent. */
  const authenticate = async (req: FastifyRequest, reply: FastifyReply): Promise<AdminPrincipal | undefined> => {
    try {
      // DPoP's htu is the request's own URL without its query (RFC 9449 section 4.3).
      const own = opts.requestUrl
        ? opts.requestUrl(req)
        : http.path.includes('{')
          ? `${p.config.issuer}${req.url.split('?')[0]!.slice(opts.basePath.length)}`
          : htu;
      return await principalOf(p, req, opts, own);
    } catch (err) {
      if (!(err instanceof OAuthError)) throw err;
      req.log.warn({ event: 'admin_auth_failed', ip: req.ip, action: http.action }, 'admin API request refused');
      sendProblem(reply, err.status, err.code, err.description, {}, { ...(err.headers ?? {}) });
      return undefined;
    }
  };
  // An action that accepts a larger body than TESSERA_BODY_LIMIT (the branding logo) gets it only
  // from an authenticated caller: the token is checked before the body is read, and an anonymous
  // request is refused without reading it (the connection closes after the 401).
  const raised = http.bodyLimit !== undefined && http.bodyLimit > p.config.bodyLimit;
  // Under the plugin's prefix (basePath + /admin/api/v1).
  app.route({
    method: http.method,
    url: http.path.replace(/\{([a-z_]+)\}/g, ':$1'),
    config: { kind: 'json' },
    ...(raised
      ? {
          bodyLimit: http.bodyLimit,
          onRequest: async (req: FastifyRequest, reply: FastifyReply) => {
            const principal = await authenticate(req, reply);
            if (principal) earlyPrincipals.set(req, principal);
            else {
              closeAfterAnswer(req.raw, reply);
              return reply;
            }
          },
        }
      : {}),
    handler: async (req, reply) => {
      const principal = earlyPrincipals.get(req) ?? (await authenticate(req, reply));
      if (!principal) return reply;
      let input: Record<string, unknown>;
      try {
        input = actionInput(req);
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        const status = err.message.includes('application/json') ? 415 : 400;
        return sendProblem(reply, status, 'invalid_input', err.message);
      }
      const ifMatch = req.headers['if-match'];
      const { run, byName } = await actionTable();
      const { runAction, statusOf, ActionRefused } = run;
      const action = byName.get(http.action)!;
      try {
        const r = await runAction(p, action, principal, input, {
          ifMatch: typeof ifMatch === 'string' ? ifMatch : undefined,
        });
        reply.code(r.status ?? action.http!.status ?? 200).headers(HEADERS);
        if (r.etag) reply.header('etag', r.etag);
        if (r.result === undefined || r.status === 204) return reply.code(204).send();
        if (typeof r.result === 'object' && r.result !== null && 'contentType' in r.result && 'body' in r.result) {
          const raw = r.result as { contentType: string; body: string };
          return reply.type(raw.contentType).send(raw.body);
        }
        return reply.type('application/json; charset=utf-8').send(JSON.stringify(r.result));
      } catch (err) {
        const status = statusOf(err);
        if (status === undefined) throw err; // the plugin's error handler: 500 (or 503 for storage)
        const e = err as Error;
        if (err instanceof ActionRefused)
          return sendProblem(reply, status, err.code, e.message, err.problems.length ? { errors: err.problems } : {});
        return sendProblem(reply, status, codeOf(status), e.message);
      }
    },
  });
}

const codeOf = (status: number) =>
  status === 404
    ? 'not_found'
    : status === 409
      ? 'conflict'
      : status === 412
        ? 'precondition_failed'
        : 'invalid_request';

/** Whether a request target (path and query) is under the admin API. */
export function isAdminApiUrl(url: string, basePath: string): boolean {
  const prefix = `${basePath}${ADMIN_API_PATH}`;
  return url.startsWith(prefix) && /^([/?#]|$)/.test(url.slice(prefix.length));
}

/**
 * The problem for a request Fastify refused before any route ran (its `frameworkErrors`): a path
 * that does not decode (a bad % escape), a path parameter over the length limit.
 */
export function sendFrameworkProblem(reply: FastifyReply, err: { code?: string; statusCode?: number }): FastifyReply {
  const status = err.statusCode === 414 || err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
  return sendProblem(
    reply,
    status,
    'invalid_request',
    status === 414 ? 'A segment of the request path is too long.' : 'The request path is not a valid URL path.',
  );
}

/**
 * Registers every action the admin API serves, and its OpenAPI document, in a plugin of their own
 * under the API's prefix: its errors and its unknown routes are answered as problems too.
 */
export function registerAdminApi(app: FastifyInstance, p: Provider, opts: AdminApiOptions): void {
  // Made by its first request, not at start: most instances are never asked for it, and making it
  // (every action's schema as JSON Schema) leaves a few hundred kB in the heap.
  let document: string | undefined;
  const bodyLimit = p.config.bodyLimit;
  app.register(
    (api, _opts, done) => {
      // Refusals of Fastify's own (a body over the limit, a body that cannot be read), storage that
      // cannot be reached (503) and anything unforeseen (500): all as problem details.
      api.setErrorHandler((error: FastifyError, req, reply) => {
        const status = (error as { statusCode?: number }).statusCode;
        if (status === 413) {
          req.log.info({ err: error.message, status }, 'bad request');
          // The client may still be sending the body: the connection ends after the answer.
          closeAfterAnswer(req.raw, reply);
          return sendProblem(
            reply,
            413,
            'payload_too_large',
            `The request body is larger than the limit of ${req.routeOptions.bodyLimit ?? bodyLimit} bytes.`,
          );
        }
        if (status !== undefined && status >= 400 && status < 500 && /^FST_/.test(String(error.code))) {
          req.log.info({ err: error.message, status }, 'bad request');
          return sendProblem(reply, status, 'invalid_request', 'The request could not be read.');
        }
        // The database or Redis unreachable: nothing was decided, retry later (503, as elsewhere).
        if (error instanceof BackendUnavailableError) {
          req.log.warn(
            { event: 'backend_unavailable', backend: error.backend, err: error.message },
            `${error.backend} unavailable`,
          );
          return sendProblem(
            reply,
            503,
            'temporarily_unavailable',
            'The service is temporarily unavailable; retry later.',
            {},
            {
              'retry-after': '2',
            },
          );
        }
        req.log.error({ err: error }, 'unhandled error');
        return sendProblem(reply, 500, 'server_error', 'The server could not complete the request.');
      });
      api.setNotFoundHandler((req, reply) =>
        sendProblem(reply, 404, 'not_found', `The admin API has no route for ${req.method} ${req.url.split('?')[0]}.`),
      );
      for (const route of ADMIN_ROUTES) serveAction(api, p, route, opts);
      api.get('/openapi.json', async (_req, reply) => {
        if (document === undefined) {
          const [{ actions }, { adminOpenApi }] = await Promise.all([actionTable(), import('./admin-openapi.ts')]);
          document ??= JSON.stringify(adminOpenApi(actions, p.config.issuer));
        }
        return reply
          .headers({ ...HEADERS, 'cache-control': 'no-cache' })
          .type('application/json; charset=utf-8')
          .send(document);
      });
      done();
    },
    { prefix: `${opts.basePath}${ADMIN_API_PATH}` },
  );
}
