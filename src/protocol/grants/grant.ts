import type { ClientRecord } from '../../ports/clients.ts';
import type { DpopProof } from '../dpop.ts';
import type { Params } from '../params.ts';
import type { ProtocolRequest } from '../provider.ts';
import type { accessTokenPolicy, currentRegistry } from '../resources.ts';

export interface TokenResponse {
  access_token: string;
  /** DPoP when the access token is bound to a DPoP key (RFC 9449 section 5). */
  token_type: 'Bearer' | 'DPoP';
  expires_in: number;
  scope?: string;
  refresh_token?: string;
  id_token?: string;
  /** RFC 8693: the type of the token issued by a token exchange. */
  issued_token_type?: string;
  /** RFC 9396 section 7: the authorization details of the access token. */
  authorization_details?: unknown[];
}

/**
 * A grant type at the token endpoint. `D` is what the grant uses of the provider (its deps type,
 * declared beside it); the token endpoint hands it the whole Provider, which has all of that.
 */
export interface GrantHandler<D> {
  grantType: string;
  /** Parameters this grant reads, besides grant_type and client authentication. */
  parameters: ReadonlySet<string>;
  /** Whether public clients may use it. */
  allowPublic: boolean;
  handle: (
    p: D, req: ProtocolRequest, params: Params, client: ClientRecord, ctx: GrantContext,
  ) => Promise<TokenResponse>;
}

/**
 * What a function outside grants/ needs of the provider, as its own signature declares it: deps
 * types name it instead of repeating it, so they follow when that function's needs change.
 */
export type DepsOf<F extends (p: never, ...rest: never[]) => unknown> = Parameters<F>[0];
/** The resource registry as the grants read it (protocol/resources.ts). */
export type RegistryDeps = DepsOf<typeof currentRegistry>;
/** The access-token policy of a client, resource and scope (protocol/resources.ts). */
export type PolicyDeps = DepsOf<typeof accessTokenPolicy>;

/** What the token endpoint established before the grant runs. */
export interface GrantContext {
  /** The request's verified DPoP proof (RFC 9449), when it sent one: the access token is bound to its key. */
  dpop?: DpopProof;
  /** RFC 8705: x5t#S256 of the TLS client certificate of the request, when it came with one. */
  certThumbprint?: string;
  /** The client registered tls_client_certificate_bound_access_tokens: access tokens carry cnf x5t#S256 (certThumbprint is then set). */
  certificateBound?: boolean;
}

/** The thumbprint access tokens of this request are bound to (RFC 8705 section 3), if any. */
export function boundCertificate(ctx: GrantContext): string | undefined {
  return ctx.certificateBound ? ctx.certThumbprint : undefined;
}
