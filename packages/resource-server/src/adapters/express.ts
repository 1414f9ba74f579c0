// Express: middleware serving the RFC 9728 document, and middleware per route that authenticates the
// request. It sets req.tessera (the verified token) and req.auth (the MCP SDK's AuthInfo, which its
// Streamable HTTP transport hands to tool handlers), or answers the refusal with its challenge.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { ResourceServer } from '../resource-server.ts';
import type { VerifiedToken } from '../token-info.ts';
import { toAuthInfo } from './auth-info.ts';

function describe(req: Request) {
  return { method: req.method, url: req.originalUrl, headers: req.headers, remoteAddress: req.socket.remoteAddress };
}

/** Serves the metadata document at its RFC 9728 path (mount it at the application's root); other requests pass on. */
export function metadataRouter(rs: ResourceServer): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.path !== rs.metadataPath) return next();
    res.set('access-control-allow-origin', '*');
    if (req.method === 'OPTIONS') {
      res.set('access-control-allow-methods', 'GET, HEAD, OPTIONS');
      return void res.status(204).end();
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return void res.set('allow', 'GET, HEAD, OPTIONS').status(405).end();
    res.set('cache-control', 'public, max-age=300');
    res.json(rs.metadata());
  };
}

export interface ExpressOptions {
  /**
   * Scopes the request needs on top of the resource's requiredScopes; a function to decide per request (e.g. from
   * the JSON-RPC body of an MCP tools/call, after express.json()).
   */
  scopes?: readonly string[] | ((req: Request) => readonly string[]);
  /** The weakest acr this route accepts (RFC 9470 step-up; see AuthenticateOptions). */
  acr?: string;
  /** The most seconds since the user authenticated (RFC 9470 step-up; see AuthenticateOptions). */
  maxAge?: number;
}

/** Authenticates the request (token, binding, scopes) or answers with the refusal. */
export function requireToken(rs: ResourceServer, options: ExpressOptions = {}): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const described = describe(req);
    let scopes: readonly string[] | undefined;
    try {
      scopes = typeof options.scopes === 'function' ? options.scopes(req) : options.scopes;
    } catch (err) {
      next(err);
      return;
    }
    rs.authenticate(described, { scopes, acr: options.acr, maxAge: options.maxAge }).then(
      (info) => {
        const r = req as Request & { tessera?: VerifiedToken; auth?: unknown };
        r.tessera = info;
        r.auth = toAuthInfo(rs, info);
        next();
      },
      (err: unknown) => {
        const refusal = rs.refusal(err, described, scopes);
        res.status(refusal.status).set(refusal.headers).json(refusal.body);
      },
    );
  };
}

/** The verified token of a request that passed requireToken. */
export function tokenOf(req: Request): VerifiedToken | undefined {
  return (req as Request & { tessera?: VerifiedToken }).tessera;
}
