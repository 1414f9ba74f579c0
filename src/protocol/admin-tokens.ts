// The admin API as a protected resource of Tessera's own (issue 20): verifying the access token a
// request to /admin/api/v1 presents (Bearer or DPoP), for the admin audience (admin-scopes.ts), and
// saying who it speaks for and with which admin scopes.
import { OAuthError } from './errors.ts';
import type { Provider, ProtocolRequest } from './provider.ts';

/** Who an admin token speaks for: an automation client, or a person through a client (the CLI's device flow). */
export interface AdminTokenPrincipal {
  kind: 'user' | 'client';
  /** The user id (a person) or the client id (a client acting for itself). */
  id: string;
  /** The admin scopes the token holds that the person's role still holds now (a client: its token's). */
  scopes: ReadonlySet<string>;
  /** A person's last sign-in (epoch seconds). */
  authTime?: number;
  /** The client the token was issued to. */
  clientId: string;
}

export type AdminTokenDeps = Pick<Provider, 'config' | 'stores' | 'now' | 'keys' | 'verifiedTokens' | 'events'>;

/**
 * Verifies the admin token of a request to `htu` (the request's URL without query, for DPoP).
 * Throws an OAuthError (invalid_token, invalid_dpop_proof, use_dpop_nonce) with the challenge
 * headers to send.
 * TODO(issue 20 tokens): not built yet: refuses every token.
 */
export async function verifyAdminToken(
  _p: AdminTokenDeps,
  _req: ProtocolRequest,
  _htu: string,
): Promise<AdminTokenPrincipal> {
  throw new OAuthError('invalid_token', 'The access token is invalid or expired.', {
    status: 401,
    headers: { 'www-authenticate': 'Bearer realm="tessera", error="invalid_token"' },
  });
}
