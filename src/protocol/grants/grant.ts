import type { ClientRecord } from '../../ports/clients.ts';
import type { DpopProof } from '../dpop.ts';
import type { Params } from '../params.ts';
import type { Provider, ProtocolRequest } from '../provider.ts';

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

export interface GrantHandler {
  grantType: string;
  /** Parameters this grant reads, besides grant_type and client authentication. */
  parameters: ReadonlySet<string>;
  /** Whether public clients may use it. */
  allowPublic: boolean;
  handle(p: Provider, req: ProtocolRequest, params: Params, client: ClientRecord, ctx: GrantContext): Promise<TokenResponse>;
}

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
