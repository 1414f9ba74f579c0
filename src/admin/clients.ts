// The operator's side of clients (CLI, bootstrap file, demo seed, admin API): saving, secret
// rotation, disabling, and the description shown to operators. The rules a client must meet are
// the protocol's (protocol/clients/metadata.ts), the same for dynamically registered clients.
import type { Config } from '../config/config.ts';
import type { ClientMetadata, ClientRecord } from '../ports/clients.ts';
import type { Stores } from '../ports/index.ts';
import type { OutboundHttp } from '../ports/outbound.ts';
import { isMtlsMethod, TLS_CLIENT_AUTH_FIELDS } from '../protocol/client-auth/mtls.ts';
import { hashClientSecret, wrapClientSecret } from '../protocol/client-auth/secret-hash.ts';
import {
  buildClient as buildClientRecord,
  ClientMetadataError,
  storeClient,
  type ClientInput,
} from '../protocol/clients/metadata.ts';
import { clientIdUrlProblem, isMetadataDocumentId } from '../protocol/clients/metadata-document.ts';
import { randomToken } from '../protocol/hash.ts';
import { AdminError, NotFoundError } from './errors.ts';

export type { ClientInput } from '../protocol/clients/metadata.ts';

export { AdminError } from './errors.ts';

/**
 * Runs `fn`, refusing client metadata that breaks the rules with an AdminError (same message), as every operator
 * operation refuses.
 */
async function asAdmin<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw err instanceof ClientMetadataError ? new AdminError(err.message) : err;
  }
}

/** protocol/clients/metadata.ts buildClient, refusing with an AdminError. */
export function buildClient(
  config: Config,
  input: ClientInput,
  existing: ClientRecord | undefined,
  now: number,
): { client: ClientRecord; secret?: string } {
  try {
    return buildClientRecord(config, input, existing, now);
  } catch (err) {
    throw err instanceof ClientMetadataError ? new AdminError(err.message) : err;
  }
}

/**
 * Validates and stores a client (protocol/clients/metadata.ts storeClient); a change of `disabled`
 * does what `client disable/enable` does. `outbound` fetches a sector_identifier_uri document: a
 * client whose sector_identifier_uri must be checked is refused without it.
 */
export async function saveClient(
  stores: Stores,
  config: Config,
  input: ClientInput,
  now: number,
  extra: Partial<ClientMetadata> = {},
  outbound?: OutboundHttp,
): Promise<{ client: ClientRecord; secret?: string; changed: boolean }> {
  const { client, secret, changed, existing } = await asAdmin(() =>
    storeClient({ stores, config, outbound }, input, now, extra),
  );
  // A bootstrap file that disables or enables an existing client does what `client disable/enable` does.
  if (existing && existing.disabled !== client.disabled)
    await setClientDisabled(stores, client.clientId, client.disabled, now);
  return { client, secret, changed };
}

/**
 * Rotates a client's secret (`tessera client rotate-secret`, the CLI's default: no overlap); returns
 * the new secret, shown once.
 */
export async function rotateClientSecret(
  stores: Stores,
  config: Config,
  clientId: string,
  now: number,
  overlap = 0,
): Promise<string> {
  return (await rotateSecret(stores, config, clientId, now, overlap)).secret;
}

/**
 * Rotates a client's secret: a new one from the CSPRNG (returned once; only its keyed hash is
 * stored, and for client_secret_jwt its wrapped value). With an overlap (seconds), the secret it
 * replaces keeps authenticating client_secret_basic and client_secret_post until then
 * (metadata.client_secret_previous, checked by protocol/client-auth); a rotation during an overlap
 * ends the older secret at once (one previous secret at most). client_secret_jwt has no overlap:
 * its HMAC key is the secret itself, which only one of is kept.
 */
export async function rotateSecret(
  stores: Stores,
  config: Config,
  clientId: string,
  now: number,
  overlap: number,
): Promise<{ secret: string; before: ClientRecord; client: ClientRecord }> {
  const client = await stores.clients.get(clientId);
  if (!client) throw new NotFoundError(`no client ${clientId}`);
  if (client.tokenEndpointAuthMethod === 'none') throw new AdminError(`client ${clientId} is public and has no secret`);
  if (client.tokenEndpointAuthMethod === 'private_key_jwt')
    throw new AdminError(`client ${clientId} authenticates with its keys (private_key_jwt) and has no secret`);
  if (isMtlsMethod(client.tokenEndpointAuthMethod))
    throw new AdminError(
      `client ${clientId} authenticates with its TLS certificate (${client.tokenEndpointAuthMethod}) and has no secret`,
    );
  if (!Number.isSafeInteger(overlap) || overlap < 0 || overlap > 2_592_000)
    throw new AdminError('the overlap must be a whole number of seconds from 0 to 2592000');
  const jwt = client.tokenEndpointAuthMethod === 'client_secret_jwt';
  if (jwt && overlap > 0)
    throw new AdminError(
      `client ${clientId} uses client_secret_jwt, whose secret is its HMAC key: its rotation has no overlap (give overlap 0)`,
    );
  const secret = randomToken(32);
  const { client_secret_previous: _, ...metadata } = client.metadata;
  if (jwt) metadata.client_secret_jwe = await wrapClientSecret(config.keyEncryptionKey, secret);
  if (overlap > 0 && client.secretHash)
    metadata.client_secret_previous = { hash: client.secretHash, expires_at: now + overlap, rotated_at: now };
  const next: ClientRecord = {
    ...client,
    secretHash: hashClientSecret(config.secret, secret),
    metadata,
    updatedAt: now,
  };
  await stores.clients.put(next);
  return { secret, before: client, client: next };
}

/**
 * Revokes every token of a client: its grants (refresh tokens and the access tokens issued from
 * them) and, through the holder's cut-off, every token issued to it up to now (client_credentials
 * tokens have no grant); the client stays in service. Returns the number of grants revoked.
 */
export async function revokeClientTokens(stores: Stores, clientId: string, now: number): Promise<number> {
  // A Client ID Metadata Document client is never stored (and never resolved here: no fetch).
  if (!isMetadataDocumentId(clientId) && !(await stores.clients.get(clientId)))
    throw new NotFoundError(`no client ${clientId}`);
  await stores.revocations.cutOffHolder(`client:${clientId}`, now);
  return stores.grants.revokeByClient(clientId, now);
}

/**
 * Takes a client out of service, or back in (the incident-response step, and the approval of a
 * client registered under admin_approval). Disabling refuses every access token of the client at
 * introspection and userinfo at once on every instance (its cut-off in revoked_tokens, read fresh),
 * and revokes its grants: refresh tokens and the access tokens issued from them. Both come first,
 * before anything else can fail, and the grants are revoked again once the client is disabled, for
 * those made meanwhile by instances whose client cache had not yet seen the change. Enabling revokes
 * whatever grants were created meanwhile by such instances, and moves the cut-off to now, so no token
 * or grant issued before comes back. Returns the number of grants revoked.
 *
 * A Client ID Metadata Document client (an https client_id) is never stored: disabling it blocks
 * its identifier instead (see setMetadataDocumentBlocked).
 */
export async function setClientDisabled(
  stores: Stores,
  clientId: string,
  disabled: boolean,
  now: number,
): Promise<number> {
  if (isMetadataDocumentId(clientId))
    return (await setMetadataDocumentBlocked(stores, clientId, disabled, now)).revoked;
  const client = await stores.clients.get(clientId);
  if (!client) throw new NotFoundError(`no client ${clientId}`);
  if (disabled) {
    await stores.revocations.setHolderDisabled(`client:${clientId}`, true, now);
    const revoked = await stores.grants.revokeByClient(clientId, now);
    if (client.disabled) return revoked;
    await stores.clients.put({ ...client, disabled, updatedAt: now });
    return revoked + (await stores.grants.revokeByClient(clientId, now));
  }
  // A disabled client's active grants can only come from stale caches: revoke them before enabling.
  const revoked = await stores.grants.revokeByClient(clientId, now);
  await stores.revocations.setHolderDisabled(`client:${clientId}`, false, now);
  if (client.disabled) await stores.clients.put({ ...client, disabled, updatedAt: now });
  return revoked;
}

/**
 * Blocks a Client ID Metadata Document client, or lifts its block (ports/client-blocks.ts): the
 * block is shared by every instance through the database and read within the client cache TTL; a
 * blocked identifier resolves to a disabled client without its document being fetched
 * (protocol/clients/metadata-document-blocks.ts). Works whether or not metadata documents are on,
 * and never fetches the document. Blocking sets the cut-off and revokes the grants first, then
 * records the block, then revokes again (grants made meanwhile by instances that had not yet seen
 * it). Lifting a block revokes what was made meanwhile, moves the cut-off to now and removes the
 * block; an identifier that is not blocked is left as it is (its live grants untouched). Returns
 * the number of grants revoked, and whether the block was set or lifted now.
 */
export async function setMetadataDocumentBlocked(
  stores: Stores,
  clientId: string,
  blocked: boolean,
  now: number,
): Promise<{ revoked: number; changed: boolean }> {
  const problem = clientIdUrlProblem(clientId, true);
  if (problem) throw new AdminError(`${clientId} is not a client metadata document URL: ${problem}`);
  const holder = `client:${clientId}` as const;
  if (blocked) {
    await stores.revocations.setHolderDisabled(holder, true, now);
    const revoked = await stores.grants.revokeByClient(clientId, now);
    const changed = await stores.clientBlocks.add(clientId, now);
    return { revoked: revoked + (await stores.grants.revokeByClient(clientId, now)), changed };
  }
  if (!(await stores.clientBlocks.has(clientId))) return { revoked: 0, changed: false };
  const revoked = await stores.grants.revokeByClient(clientId, now);
  await stores.revocations.setHolderDisabled(holder, false, now);
  return { revoked, changed: await stores.clientBlocks.remove(clientId) };
}

/**
 * Deletes a stored client: its grants are revoked, its consents forgotten, and every token it was
 * issued (client_credentials tokens have no grant) is refused at introspection at once. A Client ID
 * Metadata Document client is never stored and cannot be deleted: the operator disables it (a block).
 */
export async function deleteClient(stores: Stores, clientId: string, now: number): Promise<void> {
  if (isMetadataDocumentId(clientId))
    throw new AdminError(
      `${clientId} is a client metadata document URL: such a client is never stored, so it cannot be deleted; ` +
        '`tessera client disable` blocks it and revokes its grants',
    );
  if (!(await stores.clients.delete(clientId))) throw new NotFoundError(`no client ${clientId}`);
  await stores.revocations.cutOffHolder(`client:${clientId}`, now);
}

/** The client as shown to operators: never the secret or its hash. */
export function describeClient(c: ClientRecord): Record<string, unknown> {
  return {
    client_id: c.clientId,
    client_name: c.clientName,
    token_endpoint_auth_method: c.tokenEndpointAuthMethod,
    application_type: c.applicationType,
    redirect_uris: c.redirectUris,
    post_logout_redirect_uris: c.postLogoutRedirectUris,
    grant_types: c.grantTypes,
    scope: c.scopes.join(' '),
    allowed_resources: c.allowedResources,
    skip_consent: c.skipConsent,
    ...pick(c.metadata, [
      'jwks',
      'jwks_uri',
      'token_endpoint_auth_signing_alg',
      'request_object_signing_alg',
      'require_signed_request_object',
      'authorization_signed_response_alg',
      'token_exchange',
      'sector_identifier_uri',
    ]),
    ...pick(c.metadata, [
      'resource_scopes',
      'backchannel_logout_uri',
      'backchannel_logout_session_required',
      'frontchannel_logout_uri',
      'frontchannel_logout_session_required',
    ]),
    ...pick(c.metadata, [
      'id_token_signed_response_alg',
      'userinfo_signed_response_alg',
      'introspection_signed_response_alg',
      'id_token_scope_claims',
      'mfa',
    ]),
    ...pick(c.metadata, ['logo_uri', 'client_uri', 'policy_uri', 'tos_uri']),
    subject_type: c.metadata.subject_type ?? 'public',
    ...(c.metadata.registration ? { registered_dynamically: c.metadata.registration.mode } : {}),
    ...(c.metadata.dpop_bound_access_tokens ? { dpop_bound_access_tokens: true } : {}),
    ...pick(c.metadata, TLS_CLIENT_AUTH_FIELDS),
    ...(c.metadata.tls_client_certificate_bound_access_tokens
      ? { tls_client_certificate_bound_access_tokens: true }
      : {}),
    ...(c.metadata.require_pushed_authorization_requests ? { require_pushed_authorization_requests: true } : {}),
    ...(c.metadata.fapi_profile ? { fapi_profile: c.metadata.fapi_profile } : {}),
    ...(c.metadata.authorization_details_types
      ? { authorization_details_types: c.metadata.authorization_details_types }
      : {}),
    ...(c.metadata.fapi_message_signing ? { fapi_message_signing: true } : {}),
    ...(c.metadata.pkce_required === false ? { pkce_required: false } : {}),
    ...(c.metadata.client_secret_previous
      ? {
          secret_rotated_at: new Date(c.metadata.client_secret_previous.rotated_at * 1000).toISOString(),
          previous_secret_expires_at: new Date(c.metadata.client_secret_previous.expires_at * 1000).toISOString(),
        }
      : {}),
    // May be issued admin tokens (protocol/admin-tokens.ts).
    ...(c.metadata.admin_client === true ? { admin_client: true } : {}),
    disabled: c.disabled,
    created_at: new Date(c.createdAt * 1000).toISOString(),
    updated_at: new Date(c.updatedAt * 1000).toISOString(),
  };
}

function pick(m: ClientMetadata, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => m[k] !== undefined).map((k) => [k, m[k]]));
}
