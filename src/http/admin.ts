// The admin API under /admin: signing keys and the audit trail, for operators and their tooling.
// Served only when TESSERA_ADMIN_TOKEN is set; every request must carry it as a Bearer token
// (compared in constant time). JSON (CSV for the audit export on request), never cached, RFC 6750
// errors. The logic is the CLI's (src/admin/keys.ts, src/admin/audit.ts); every action is
// recorded in the audit trail with actor 'admin' and the source address.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuditInputError, exportAudit } from '../admin/audit.ts';
import { AdminError } from '../admin/clients.ts';
import {
  describeKeys,
  retireKeyNow,
  rotateKeysNow,
  RotationConflictError,
  UnknownKeyAdminError,
} from '../admin/keys.ts';
import { safeEqual } from '../protocol/hash.ts';
import type { Provider } from '../protocol/provider.ts';

const HEADERS = {
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};
const REALM = 'tessera-admin';

interface Answer {
  status?: number;
  body: object | string;
  contentType?: string;
}

class AdminHttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly description: string;
  constructor(status: number, code: string, description: string) {
    super(description);
    this.status = status;
    this.code = code;
    this.description = description;
  }
}

function sendJson(
  reply: FastifyReply,
  status: number,
  body: object | string,
  contentType = 'application/json; charset=utf-8',
): FastifyReply {
  return reply
    .code(status)
    .headers(HEADERS)
    .type(contentType)
    .send(typeof body === 'string' ? body : JSON.stringify(body));
}

/** RFC 6750 section 3: no error code when no token was presented, invalid_token for a wrong one. */
function authenticate(req: FastifyRequest, token: string): (AdminHttpError & { challenge: string }) | undefined {
  const header = req.headers.authorization;
  if (header === undefined || !/^Bearer\s/i.test(header)) {
    return Object.assign(
      new AdminHttpError(401, 'invalid_token', 'An admin token is required (Authorization: Bearer).'),
      { challenge: `Bearer realm="${REALM}"` },
    );
  }
  const presented = /^Bearer ([\x21-\x7E]+)$/i.exec(header)?.[1];
  if (!presented || !safeEqual(presented, token)) {
    return Object.assign(new AdminHttpError(401, 'invalid_token', 'The admin token is not valid.'), {
      challenge: `Bearer realm="${REALM}", error="invalid_token", error_description="The admin token is not valid."`,
    });
  }
  return undefined;
}

/** The optional JSON body of POST /admin/keys/rotate: {"alg": "ES256"}. */
function rotateBody(req: FastifyRequest): { alg?: string } {
  const text = typeof req.body === 'string' ? req.body : '';
  if (text.trim() === '') return {};
  if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? ''))
    throw new AdminHttpError(415, 'invalid_request', 'The request body must be application/json.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AdminHttpError(400, 'invalid_request', 'The request body is not valid JSON.');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new AdminHttpError(400, 'invalid_request', 'The request body must be a JSON object.');
  const { alg, ...rest } = parsed as Record<string, unknown>;
  if (Object.keys(rest).length)
    throw new AdminHttpError(400, 'invalid_request', `Unknown field ${Object.keys(rest)[0]}.`);
  if (alg !== undefined && typeof alg !== 'string')
    throw new AdminHttpError(400, 'invalid_request', 'alg must be a string.');
  return { alg };
}

/** One query parameter, refusing duplicates. */
function single(params: URLSearchParams, name: string): string | undefined {
  const all = params.getAll(name);
  if (all.length > 1) throw new AdminHttpError(400, 'invalid_request', `${name} must not be repeated.`);
  return all[0];
}

export function registerAdminRoutes(app: FastifyInstance, p: Provider, basePath: string, token: string): void {
  const route = (method: 'GET' | 'POST', path: string, handler: (req: FastifyRequest) => Promise<Answer>) => {
    app.route({
      method,
      url: `${basePath}/admin${path}`,
      config: { kind: 'json' },
      handler: async (req, reply) => {
        const refused = authenticate(req, token);
        if (refused) {
          req.log.warn({ event: 'admin_auth_failed', ip: req.ip }, 'admin API request refused');
          reply.header('www-authenticate', refused.challenge);
          return sendJson(reply, 401, { error: refused.code, error_description: refused.description });
        }
        try {
          const a = await handler(req);
          return sendJson(reply, a.status ?? 200, a.body, a.contentType);
        } catch (err) {
          const e =
            err instanceof AdminHttpError
              ? err
              : err instanceof UnknownKeyAdminError
                ? new AdminHttpError(404, 'invalid_request', err.message)
                : err instanceof RotationConflictError
                  ? new AdminHttpError(409, 'invalid_request', err.message)
                  : err instanceof AuditInputError || err instanceof AdminError
                    ? new AdminHttpError(400, 'invalid_request', err.message)
                    : undefined;
          if (!e) throw err; // the server's error handler answers 500 server_error
          return sendJson(reply, e.status, { error: e.code, error_description: e.description });
        }
      },
    });
  };
  const query = (req: FastifyRequest) =>
    new URLSearchParams(req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '');

  route('GET', '/keys', async (req) => {
    const keys = describeKeys(await p.stores.keys.list(), p.config, p.now());
    p.events({ type: 'admin_keys_listed', actor: 'admin', ip: req.ip });
    return { body: { keys } };
  });

  route('POST', '/keys/rotate', async (req) => {
    const { alg } = rotateBody(req);
    const t = await rotateKeysNow(p.stores, p.config, alg, p.now());
    p.events({
      type: 'key_rotated',
      kid: t.kid,
      alg: t.alg,
      previous: t.previous,
      prepublished: t.prepublished,
      trigger: 'manual',
      actor: 'admin',
      ip: req.ip,
    });
    return {
      body: {
        kid: t.kid,
        alg: t.alg,
        previous: t.previous,
        prepublished: t.prepublished,
        grace_seconds: t.graceSeconds,
        reload_seconds: p.config.keyReloadSeconds,
      },
    };
  });

  route('POST', '/keys/:kid/retire', async (req) => {
    const { kid } = req.params as { kid: string };
    const t = await retireKeyNow(p.stores, kid, p.now(), p.config);
    if (t) p.events({ ...t, trigger: 'manual', actor: 'admin', ip: req.ip });
    // An active key of an algorithm taken out of TESSERA_SIGNING_ALGS goes to grace, not retired.
    const state = (await p.stores.keys.list()).find((k) => k.kid === kid)?.state ?? 'retired';
    return { body: { kid, state, changed: t !== undefined } };
  });

  route('GET', '/audit', async (req) => {
    const q = query(req);
    const options = Object.fromEntries(['from', 'to', 'type', 'limit', 'format'].map((n) => [n, single(q, n)]));
    const out = await exportAudit(p.stores, options, (n) => n);
    p.events({ type: 'audit_exported', actor: 'admin', format: out.format, count: out.count, ip: req.ip });
    return { body: out.body, contentType: out.contentType };
  });

  route('GET', '/audit/verify', async (req) => {
    const r = await p.stores.audit.verify();
    p.events({ type: 'audit_verified', actor: 'admin', ok: r.ok, ip: req.ip });
    return {
      body: r.ok
        ? { ok: true, checked: r.checked }
        : { ok: false, checked: r.checked, first_broken: r.firstBroken, reason: r.reason },
    };
  });
}
