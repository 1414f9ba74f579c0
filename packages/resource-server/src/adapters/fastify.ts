// Fastify: a plugin serving the RFC 9728 document and a preHandler per route that authenticates the
// request (request.tessera and request.auth are set), answering refusals with their challenge.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthenticateOptions, ResourceServer } from '../resource-server.ts';
import type { VerifiedToken } from '../token-info.ts';
import { toAuthInfo, type McpAuthInfo } from './auth-info.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified token, set by the Tessera preHandler. */
    tessera: VerifiedToken | null;
  }
}

/** The request as the SDK reads it; the peer address is the socket's (the proxy's, behind one). */
function describe(request: FastifyRequest) {
  return {
    method: request.method,
    url: request.url,
    headers: request.headers,
    remoteAddress: request.socket.remoteAddress,
  };
}

/**
 * The plugin: decorates requests with `tessera` and serves the metadata document (GET, with CORS for browser-based
 * clients). Registered without encapsulation, so the decoration is seen by every route.
 */
export function tesseraPlugin(rs: ResourceServer) {
  const plugin = async (app: FastifyInstance) => {
    if (!app.hasRequestDecorator('tessera')) app.decorateRequest('tessera', null);
    app.route({
      method: ['GET', 'HEAD', 'OPTIONS'],
      url: rs.metadataPath,
      handler: async (request, reply) => {
        reply.header('access-control-allow-origin', '*');
        if (request.method === 'OPTIONS') {
          reply.header('access-control-allow-methods', 'GET, HEAD, OPTIONS');
          return reply.code(204).send();
        }
        reply.header('cache-control', 'public, max-age=300');
        return reply.send(rs.metadata());
      },
    });
  };
  // fastify-plugin's convention: the plugin's decorations and routes belong to the parent scope.
  Object.assign(plugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'tessera' });
  return plugin;
}

/** A preHandler: authenticates the request (token, binding, scopes) or answers with the refusal. */
export function requireToken(rs: ResourceServer, options: AuthenticateOptions = {}) {
  return async function tesseraPreHandler(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const req = describe(request);
    try {
      request.tessera = await rs.authenticate(req, options);
    } catch (err) {
      const r = rs.refusal(err, req, options.scopes);
      return reply.code(r.status).headers(r.headers).send(r.body);
    }
  };
}

/** The MCP SDK's AuthInfo of an authenticated request (for a transport's handleRequest). */
export function authInfoOf(rs: ResourceServer, request: FastifyRequest): McpAuthInfo | undefined {
  return request.tessera ? toAuthInfo(rs, request.tessera) : undefined;
}
