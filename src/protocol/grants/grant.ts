import type { ClientRecord } from '../../ports/clients.ts';
import type { DpopProof } from '../dpop.ts';
import type { Params } from '../params.ts';
import type { ProtocolRequest } from '../provider.ts';
import type { accessTokenPolicy, currentRegistry } from '../resources.ts';
import type { MintedAccessToken } from '../tokens/access-token.ts';

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

/** What a grant adds to the access token in its token response; each member is sent only when given. */
export interface TokenResponseMembers {
  /** RFC 8693 section 2.2.1: the type of the token a token exchange issued. */
  issuedTokenType?: string;
  /** The user grants always name the scope (also when empty); the client grants only when there is one. */
  scope?: string;
  authorizationDetails?: unknown[];
  refreshToken?: string;
  idToken?: string;
}

/**
 * The token response (RFC 6749 section 5.1) every grant answers with: the access token, its type
 * (DPoP when it is bound to a DPoP key, RFC 9449 section 5) and lifetime, then what the grant adds.
 * The members always come in this order (issued_token_type right after access_token), so a grant's
 * answer has the same bytes whichever grant built it before.
 */
export function tokenResponse(
  access: Pick<MintedAccessToken, 'token' | 'jkt'>,
  expiresIn: number,
  more: TokenResponseMembers,
): TokenResponse {
  const type = access.jkt ? 'DPoP' : 'Bearer';
  const res: TokenResponse =
    more.issuedTokenType === undefined
      ? { access_token: access.token, token_type: type, expires_in: expiresIn }
      : {
          access_token: access.token,
          issued_token_type: more.issuedTokenType,
          token_type: type,
          expires_in: expiresIn,
        };
  if (more.scope !== undefined) res.scope = more.scope;
  if (more.authorizationDetails) res.authorization_details = more.authorizationDetails;
  if (more.refreshToken) res.refresh_token = more.refreshToken;
  if (more.idToken) res.id_token = more.idToken;
  return res;
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
    p: D,
    req: ProtocolRequest,
    params: Params,
    client: ClientRecord,
    ctx: GrantContext,
  ) => Promise<TokenResponse>;
}

export type { DepsOf } from '../provider.ts';
import type { DepsOf } from '../provider.ts';
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
  /**
   * The client registered tls_client_certificate_bound_access_tokens: access tokens carry cnf x5t#S256 (certThumbprint
   * is then set).
   */
  certificateBound?: boolean;
}

/** The thumbprint access tokens of this request are bound to (RFC 8705 section 3), if any. */
export function boundCertificate(ctx: GrantContext): string | undefined {
  return ctx.certificateBound ? ctx.certThumbprint : undefined;
}
