// The MCP TypeScript SDK 1.x (@modelcontextprotocol/sdk): an OAuthTokenVerifier for its
// requireBearerAuth middleware, and the options of its mcpAuthMetadataRouter. That middleware only
// passes the token along, so DPoP-bound and certificate-bound tokens are refused there; for those (and
// for a 503 when Tessera is unreachable, where the SDK answers 500) use requireToken from ./express.ts,
// which sets the same req.auth.
import type { OAuthTokenVerifier } from '@modelcontextprotocol/sdk/server/auth/provider.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { OAuthMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import {
  InsufficientScopeError as SdkInsufficientScope,
  InvalidRequestError as SdkInvalidRequest,
  InvalidTokenError as SdkInvalidToken,
  ServerError as SdkServerError,
} from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { InsufficientScopeError, InvalidRequestError, isResourceServerError } from '../errors.ts';
import type { AuthenticateOptions, ResourceServer } from '../resource-server.ts';
import { toAuthInfo } from './auth-info.ts';

/** Maps the SDK's errors onto the 1.x SDK's: invalid_token 401, insufficient_scope 403, else server_error. */
export function toSdkError(err: unknown): Error {
  if (err instanceof InsufficientScopeError) return new SdkInsufficientScope(err.description);
  if (err instanceof InvalidRequestError) return new SdkInvalidRequest(err.description);
  if (isResourceServerError(err) && err.status === 401) return new SdkInvalidToken(err.description);
  return new SdkServerError('The token could not be verified now.');
}

/**
 * An OAuthTokenVerifier for requireBearerAuth({ verifier, resourceMetadataUrl: rs.metadataUrl, expectedResource }):
 * the AuthInfo's resource is this resource, so the SDK's own expectedResource check passes for Tessera's tokens.
 */
export function tokenVerifier(rs: ResourceServer, options: AuthenticateOptions = {}): OAuthTokenVerifier {
  return {
    async verifyAccessToken(token: string): Promise<AuthInfo> {
      try {
        return toAuthInfo(rs, await rs.verifyBearerToken(token, options)) as AuthInfo;
      } catch (err) {
        throw toSdkError(err);
      }
    },
  };
}

/**
 * The options of the SDK's mcpAuthMetadataRouter for this resource: Tessera's metadata (fetched once), the resource
 * URL, its scopes and name.
 */
export async function metadataRouterOptions(
  rs: ResourceServer,
  extra: { scopesSupported?: string[]; resourceName?: string } = {},
) {
  const meta = rs.metadata();
  return {
    oauthMetadata: (await rs.authorizationServer.metadata()) as unknown as OAuthMetadata,
    resourceServerUrl: new URL(rs.resource),
    scopesSupported: extra.scopesSupported ?? meta.scopes_supported,
    resourceName: extra.resourceName ?? meta.resource_name,
  };
}
