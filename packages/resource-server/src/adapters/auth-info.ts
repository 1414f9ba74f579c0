// The MCP SDKs' AuthInfo (1.x and 2.x have the same fields, 2.x adds resourceMetadataUrl), built from a
// verified token. Structural: no import of either SDK, so the core adapters do not need them.
import type { ResourceServer } from '../resource-server.ts';
import type { VerifiedToken } from '../token-info.ts';

/** The fields of the MCP SDKs' AuthInfo. */
export interface McpAuthInfo {
  token: string;
  clientId: string;
  scopes: string[];
  expiresAt?: number;
  resource?: URL;
  resourceMetadataUrl?: string;
  extra?: Record<string, unknown>;
}

/** AuthInfo for a token this resource server accepted: resource is this resource, extra carries sub and the claims. */
export function toAuthInfo(rs: ResourceServer, info: VerifiedToken): McpAuthInfo {
  return {
    token: info.token,
    clientId: info.clientId,
    scopes: [...info.scopes],
    expiresAt: info.expiresAt,
    resource: new URL(rs.resource),
    resourceMetadataUrl: rs.metadataUrl,
    extra: { sub: info.subject, scheme: info.scheme, source: info.source, cnf: info.cnf, claims: info.claims },
  };
}
