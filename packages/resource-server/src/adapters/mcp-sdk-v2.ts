// The MCP TypeScript SDK 2.x (@modelcontextprotocol/server): an OAuthTokenVerifier for its
// requireBearerAuth / verifyBearerToken helpers, and a fetch gate of our own (for createMcpHandler:
// `handler.fetch(request, { authInfo })`) that also takes DPoP-bound tokens and answers 503 when Tessera
// is out of reach. The AuthInfo carries resourceMetadataUrl, so the SDK's per-tool scope challenges
// (registerTool's scopeChallenge, requireScopes) advertise this resource's metadata.
import { OAuthError, OAuthErrorCode, type AuthInfo, type OAuthTokenVerifier } from '@modelcontextprotocol/server';
import { InsufficientScopeError, InvalidRequestError, isResourceServerError } from '../errors.ts';
import type { AuthenticateOptions, ResourceServer } from '../resource-server.ts';
import { toAuthInfo } from './auth-info.ts';

/** Maps the SDK's errors onto the 2.x SDK's OAuthError codes. */
export function toSdkError(err: unknown): OAuthError {
  if (err instanceof InsufficientScopeError) return new OAuthError(OAuthErrorCode.InsufficientScope, err.description);
  if (err instanceof InvalidRequestError) return new OAuthError(OAuthErrorCode.InvalidRequest, err.description);
  if (isResourceServerError(err) && err.status === 401)
    return new OAuthError(OAuthErrorCode.InvalidToken, err.description);
  return new OAuthError(OAuthErrorCode.ServerError, 'The token could not be verified now.');
}

/** An OAuthTokenVerifier for the 2.x SDK's requireBearerAuth({ verifier, resourceMetadataUrl, expectedResource }). */
export function tokenVerifier(rs: ResourceServer, options: AuthenticateOptions = {}): OAuthTokenVerifier {
  return {
    async verifyAccessToken(token: string): Promise<AuthInfo> {
      try {
        return toAuthInfo(rs, await rs.verifyBearerToken(token, options));
      } catch (err) {
        throw toSdkError(err);
      }
    },
  };
}

/**
 * A gate for fetch-shaped servers: the verified AuthInfo, or the refusal as a Response (401/403 with the challenge,
 * 400, or 503 with Retry-After). `remoteAddress` is the TCP peer, for certificate-bound tokens behind a proxy.
 */
export function fetchGate(rs: ResourceServer, options: AuthenticateOptions = {}) {
  return async (request: Request, remoteAddress?: string): Promise<AuthInfo | Response> => {
    const url = new URL(request.url);
    const req = {
      method: request.method,
      url: `${url.pathname}${url.search}`,
      headers: request.headers,
      remoteAddress,
    };
    try {
      return toAuthInfo(rs, await rs.authenticate(req, options));
    } catch (err) {
      const r = rs.refusal(err, req, options.scopes);
      return Response.json(r.body, { status: r.status, headers: r.headers });
    }
  };
}

/** The metadata document as a Response when `request` asks for it (GET or HEAD of its path), else undefined. */
export function metadataResponse(rs: ResourceServer, request: Request): Response | undefined {
  if (new URL(request.url).pathname !== rs.metadataPath) return undefined;
  const headers = { 'access-control-allow-origin': '*', 'cache-control': 'public, max-age=300' };
  if (request.method === 'OPTIONS')
    return new Response(null, {
      status: 204,
      headers: { ...headers, 'access-control-allow-methods': 'GET, HEAD, OPTIONS' },
    });
  if (request.method !== 'GET' && request.method !== 'HEAD')
    return new Response(null, { status: 405, headers: { allow: 'GET, HEAD, OPTIONS' } });
  return Response.json(rs.metadata(), { headers });
}
