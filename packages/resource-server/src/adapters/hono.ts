// Hono: a handler for the RFC 9728 document and a middleware per route that authenticates the
// request, setting c.get('tessera') (the verified token) and c.get('auth') (the MCP SDK's AuthInfo).
import type { Context, MiddlewareHandler } from 'hono';
import type { AuthenticateOptions, ResourceServer } from '../resource-server.ts';
import type { VerifiedToken } from '../token-info.ts';
import { toAuthInfo, type McpAuthInfo } from './auth-info.ts';

export type TesseraVariables = { tessera: VerifiedToken; auth: McpAuthInfo };

export interface HonoOptions extends AuthenticateOptions {
  /**
   * The TCP peer address (for certificate-bound tokens behind a proxy). Default: the socket of @hono/node-server
   * (c.env.incoming); other runtimes must supply it, or such tokens are refused.
   */
  remoteAddress?: (c: Context) => string | undefined;
}

function nodePeer(c: Context): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress;
}

/** The request as the SDK reads it. */
function describe(c: Context, options: HonoOptions) {
  const url = new URL(c.req.url);
  return {
    method: c.req.method,
    url: `${url.pathname}${url.search}`,
    headers: c.req.raw.headers,
    remoteAddress: (options.remoteAddress ?? nodePeer)(c),
  };
}

/** The metadata document (route it at rs.metadataPath), with CORS for browser-based clients. */
export function metadataHandler(rs: ResourceServer) {
  return (c: Context) => {
    c.header('access-control-allow-origin', '*');
    c.header('cache-control', 'public, max-age=300');
    return c.json(rs.metadata());
  };
}

/** Authenticates the request (token, binding, scopes) or answers with the refusal. */
export function requireToken(
  rs: ResourceServer,
  options: HonoOptions = {},
): MiddlewareHandler<{ Variables: TesseraVariables }> {
  return async (c, next) => {
    const req = describe(c, options);
    let info: VerifiedToken;
    try {
      info = await rs.authenticate(req, options);
    } catch (err) {
      const r = rs.refusal(err, req, options.scopes);
      return c.json(r.body, r.status as 400, r.headers);
    }
    c.set('tessera', info);
    c.set('auth', toAuthInfo(rs, info));
    await next();
  };
}
