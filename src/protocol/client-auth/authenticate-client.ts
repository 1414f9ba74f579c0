import type { ClientAuthMethod, ClientRecord } from '../../ports/clients.ts';
import { OAuthError, invalidClient, invalidRequest } from '../errors.ts';
import type { Stores } from '../../ports/index.ts';
import { header, type Provider, type ProtocolRequest } from '../provider.ts';
import type { Params } from '../params.ts';
import { ClientAuthError, JWT_BEARER, verifyClientAssertion, type ClientAssertionDeps } from './client-assertion.ts';
import { authenticateByCertificate, isMtlsMethod } from './mtls.ts';
import { hashClientSecret, verifyClientSecretRotating } from './secret-hash.ts';
import type { DepsOf } from '../provider.ts';
import { unusedRegistrationExpired } from '../clients/usage.ts';

/**
 * What client authentication uses of the Provider: the server secrets and the secret memo, the
 * clients store, its log and events, and what assertions and certificates are checked with.
 */
export type ClientAuthDeps = Pick<Provider, 'config' | 'now' | 'log' | 'events' | 'verifiedSecrets'> &
  ClientStoreDeps &
  ClientAssertionDeps &
  DepsOf<typeof authenticateByCertificate>;
type ClientStoreDeps = { readonly stores: Pick<Stores, 'clients'> };

export const CLIENT_AUTH_PARAMS = ['client_id', 'client_secret', 'client_assertion', 'client_assertion_type'] as const;

export interface AuthenticatedClient {
  client: ClientRecord;
  method: ClientAuthMethod;
}

/** Basic credentials are form-urlencoded before base64 (RFC 6749 section 2.3.1). */
function decodeBasicPart(s: string): string {
  return s.includes('%') || s.includes('+') ? decodeURIComponent(s.replace(/\+/g, ' ')) : s;
}

function readBasic(value: string): { id: string; secret: string } {
  const m = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(value.trim());
  if (!m) throw invalidClient('malformed Basic authorization header');
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) throw invalidClient('Basic credentials without a colon');
  try {
    return { id: decodeBasicPart(decoded.slice(0, i)), secret: decodeBasicPart(decoded.slice(i + 1)) };
  } catch {
    throw invalidClient('Basic credentials are not form-urlencoded');
  }
}

/**
 * Authenticates the client of a back-channel request by the one method it registered. Exactly
 * one method may be used per request. Public clients (method none) are accepted only when the
 * endpoint allows them.
 */
export async function authenticateClient(
  p: ClientAuthDeps,
  req: ProtocolRequest,
  params: Params,
  opts: { allowPublic: boolean },
): Promise<AuthenticatedClient> {
  const attempt: { id?: string; known?: boolean } = {};
  try {
    const authenticated = await authenticate(p, req, params, opts, attempt);
    // TESSERA_REGISTRATION_UNUSED_TTL: a registration left unused past it is gone (clients/usage.ts).
    if (unusedRegistrationExpired(p, authenticated.client))
      throw invalidClient(`client ${authenticated.client.clientId} expired unused`);
    return authenticated;
  } catch (err) {
    if (err instanceof ClientAuthError)
      p.events({
        type: 'client_auth_failed',
        ...(await whose(p, err.clientId ?? params.client_id)),
        method: err.method ?? 'jwt',
        reason: err.reason,
        ip: req.ip,
      });
    else if (err instanceof OAuthError && err.code === 'invalid_client') {
      // The client was looked up already (or never named): no second lookup on the failure path.
      const id = attempt.id ?? params.client_id;
      p.events({
        type: 'client_auth_failed',
        ...(id === undefined ? {} : attempt.known ? { clientId: id } : { unknownClient: id }),
        ip: req.ip,
      });
    }
    throw err;
  }
}

/**
 * The client a failed authentication names, for the event: its id when such a client exists, else
 * the id only as `unknownClient` (the audit trail keeps a short hash of it), so that anyone can
 * send failures but not choose text for the audit trail.
 */
async function whose(
  p: ClientStoreDeps,
  id: string | undefined,
): Promise<{ clientId?: string; unknownClient?: string }> {
  if (id === undefined) return {};
  const known =
    id.length <= 255 &&
    (await p.stores.clients.get(id).then(
      (c) => c !== undefined,
      () => false,
    ));
  return known ? { clientId: id } : { unknownClient: id };
}

async function authenticate(
  p: ClientAuthDeps,
  req: ProtocolRequest,
  params: Params,
  opts: { allowPublic: boolean },
  attempt: { id?: string; known?: boolean },
): Promise<AuthenticatedClient> {
  const authorization = header(req, 'authorization');
  if (params.client_assertion !== undefined || params.client_assertion_type !== undefined)
    return authenticateAssertion(p, authorization, params);
  let id: string | undefined;
  let secret: string | undefined;
  let method: ClientAuthMethod;
  if (authorization !== undefined && /^basic /i.test(authorization)) {
    if (params.client_secret !== undefined) throw invalidRequest('Use only one client authentication method.');
    ({ id, secret } = readBasic(authorization));
    if (params.client_id !== undefined && params.client_id !== id)
      throw invalidRequest('client_id does not match the authenticated client.');
    method = 'client_secret_basic';
  } else if (params.client_secret !== undefined) {
    id = params.client_id;
    secret = params.client_secret;
    method = 'client_secret_post';
  } else {
    id = params.client_id;
    method = 'none';
  }
  attempt.id = id;
  if (!id) throw new OAuthError('invalid_client', 'Client authentication is required.', { detail: 'no client_id' });
  if (id.length > 255 || (secret !== undefined && secret.length > 1024)) throw invalidClient('oversized credentials');

  let client = await p.stores.clients.get(id);
  attempt.known = client !== undefined;
  if (method !== 'none') {
    const ok =
      verifyClientSecretRotating(
        p.config.secret,
        p.config.secretPrevious,
        secret ?? '',
        client?.secretHash ?? null,
        p.verifiedSecrets,
      ) || previousSecret(p, client, secret ?? '');
    if (!client || !ok) throw invalidClient(client ? `wrong secret for ${id}` : `unknown client ${id}`);
    // TESSERA_SECRET rotation: a secret that verified under the previous server secret is stored
    // again under the current one, once, so the previous secret can be dropped (docs/production.md).
    if (ok === 'previous') client = await rehashSecret(p, client, secret!);
  }
  if (!client) throw invalidClient(`unknown client ${id}`);
  if (client.disabled) throw invalidClient(`client ${id} is disabled`);
  // RFC 8705: a client registered for mutual TLS sends only its client_id; its certificate is the credential.
  if (method === 'none' && isMtlsMethod(client.tokenEndpointAuthMethod)) {
    await authenticateByCertificate(p, client, req.clientCertificate);
    return { client, method: client.tokenEndpointAuthMethod };
  }
  if (client.tokenEndpointAuthMethod !== method) {
    throw invalidClient(`client ${id} is registered for ${client.tokenEndpointAuthMethod}, used ${method}`);
  }
  if (method === 'none' && !opts.allowPublic) throw invalidClient(`public client ${id} cannot use this endpoint`);
  return { client, method };
}

/**
 * The overlap of a secret rotation (admin/clients.ts rotateSecret): the secret the last rotation
 * replaced still authenticates until its `expires_at` (compared in constant time, as the current
 * one; its hash is never moved to another server secret). 'overlap' when it matches.
 */
function previousSecret(
  p: Pick<Provider, 'config' | 'now' | 'verifiedSecrets'>,
  client: ClientRecord | undefined,
  secret: string,
): false | 'overlap' {
  const previous = client?.metadata.client_secret_previous;
  if (!previous || typeof previous.hash !== 'string' || !(p.now() < previous.expires_at)) return false;
  return verifyClientSecretRotating(p.config.secret, p.config.secretPrevious, secret, previous.hash, p.verifiedSecrets)
    ? 'overlap'
    : false;
}

/**
 * Stores a client's secret hash under the current server secret (a conditional update of the hash
 * alone, so nothing else of the record is overwritten). Best effort: should the write fail, the client is still
 * authenticated, and the next use tries again.
 */
async function rehashSecret(
  p: Pick<Provider, 'config' | 'log'> & ClientStoreDeps,
  client: ClientRecord,
  secret: string,
): Promise<ClientRecord> {
  try {
    // Only the hash changes, and only if it is still the one verified (the client record may be a
    // cached copy: writing it back whole could undo a change made meanwhile).
    const updated = { ...client, secretHash: hashClientSecret(p.config.secret, secret) };
    if (
      !client.secretHash ||
      !(await p.stores.clients.replaceSecretHash(client.clientId, client.secretHash, updated.secretHash))
    )
      return client;
    p.log.info(
      { event: 'client_secret_rehashed', client_id: client.clientId },
      'client secret hash moved to the current TESSERA_SECRET',
    );
    return updated;
  } catch (err) {
    p.log.warn(
      { event: 'client_secret_rehash_failed', client_id: client.clientId, err: String(err) },
      'client secret hash not moved; will retry on next use',
    );
    return client;
  }
}

/** RFC 7521 / 7523: client_assertion with client_assertion_type jwt-bearer, and no other credentials. */
async function authenticateAssertion(
  p: ClientAssertionDeps,
  authorization: string | undefined,
  params: Params,
): Promise<AuthenticatedClient> {
  if (authorization !== undefined && /^basic /i.test(authorization))
    throw invalidRequest('Use only one client authentication method.');
  if (params.client_secret !== undefined) throw invalidRequest('Use only one client authentication method.');
  if (params.client_assertion === undefined || params.client_assertion_type === undefined)
    throw invalidRequest('client_assertion and client_assertion_type go together.');
  if (params.client_assertion_type !== JWT_BEARER)
    throw new ClientAuthError('assertion_type', 'unsupported client_assertion_type', params.client_id);
  const { client, method } = await verifyClientAssertion(p, params.client_assertion, params.client_id);
  if (client.disabled)
    throw new ClientAuthError('client_disabled', `client ${client.clientId} is disabled`, client.clientId);
  return { client, method };
}
