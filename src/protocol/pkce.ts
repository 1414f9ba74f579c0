import type { ClientRecord } from '../ports/clients.ts';
import { isFapiClient } from './fapi.ts';

type Settings = { readonly fapiProfile: 'none' | '2.0'; readonly fapiMessageSigning: boolean };

// PKCE (RFC 7636, S256 only) is required of every authorization request, except for a client an
// operator has opted out (client metadata `pkce_required: false`), for libraries that cannot send
// it (passport-openidconnect). OAuth 2.1 section 7.5.1 allows that only for a confidential client
// whose request is an OpenID Connect request with a nonce (the nonce in the ID token then binds
// the code to the client's own session, RFC 9700 section 4.5.3.2). Discovery still says S256 only:
// PKCE is never optional for a client that did not opt out.

/**
 * Whether `client` may send an authorization request without code_challenge: the operator opted it
 * out, and it is confidential, made by an operator (not self-registered) and not under FAPI 2.0.
 * Checked on every request, so a client that later becomes public or FAPI loses the opt-out at once.
 */
export function pkceOptional(config: Settings, client: ClientRecord): boolean {
  return (
    client.metadata.pkce_required === false &&
    client.tokenEndpointAuthMethod !== 'none' &&
    client.metadata.registration === undefined &&
    !isFapiClient(config, client)
  );
}

/** Why `client` may not carry `pkce_required: false` (for admin/clients.ts buildClient), if it may not. */
export function pkceOptOutProblem(
  config: Settings,
  client: Pick<ClientRecord, 'tokenEndpointAuthMethod' | 'metadata'>,
): string | undefined {
  if (client.metadata.pkce_required !== false) return undefined;
  if (client.tokenEndpointAuthMethod === 'none')
    return 'pkce_required: false is for confidential clients only: a public client needs PKCE against stolen codes';
  if (client.metadata.registration !== undefined)
    return 'pkce_required: false cannot be set on a dynamically registered client';
  if (isFapiClient(config, client as ClientRecord))
    return 'pkce_required: false is not allowed under FAPI 2.0 (PKCE is required)';
  return undefined;
}

/** The clients with the PKCE opt-out, for the start-up warning. */
export function pkceOptOutClients(config: Settings, clients: readonly ClientRecord[]): string[] {
  return clients
    .filter((c) => c.metadata.pkce_required === false)
    .map((c) => c.clientId + (pkceOptional(config, c) ? '' : ' (ignored: public, self-registered or FAPI)'));
}
