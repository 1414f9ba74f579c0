import type { Config } from '../config/config.ts';
import type { ClientAuthMethod, ClientRecord, GrantType, TokenExchangePolicy } from '../ports/clients.ts';
import type { Stores } from '../ports/index.ts';
import { hashClientSecret } from '../protocol/client-auth/secret-hash.ts';
import { randomToken } from '../protocol/hash.ts';
import { isScopeToken } from '../protocol/params.ts';
import { redirectUriProblem } from '../protocol/redirect-uri.ts';

/** Client metadata as an operator writes it (RFC 7591 names), in the bootstrap file or the CLI. */
export interface ClientInput {
  client_id: string;
  client_secret?: string;
  client_name?: string;
  token_endpoint_auth_method?: ClientAuthMethod;
  application_type?: 'web' | 'native';
  redirect_uris?: string[];
  post_logout_redirect_uris?: string[];
  grant_types?: GrantType[];
  scope?: string;
  allowed_resources?: string[];
  skip_consent?: boolean;
  disabled?: boolean;
  /** Token exchange policy; required with the token-exchange grant. */
  token_exchange?: TokenExchangePolicy;
}

export class AdminError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminError';
  }
}

const TOKEN_EXCHANGE: GrantType = 'urn:ietf:params:oauth:grant-type:token-exchange';
const GRANTS: readonly GrantType[] = ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code', TOKEN_EXCHANGE];

/** Problems with a token exchange policy: audiences (URIs or names) and subject clients, each a non-empty list. */
function tokenExchangeProblems(policy: unknown): string[] {
  if (policy === null || typeof policy !== 'object' || Array.isArray(policy)) return ['token_exchange must be an object with audiences and subject_clients'];
  const { audiences, subject_clients: subjects, ...rest } = policy as Record<string, unknown>;
  const problems = Object.keys(rest).map((k) => `token_exchange: unknown key ${k}`);
  const list = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && /^[\x21-\x7E]{1,2048}$/.test(x));
  if (!list(audiences)) problems.push('token_exchange.audiences must be a non-empty list of audience names or URIs (no spaces)');
  if (!list(subjects)) problems.push('token_exchange.subject_clients must be a non-empty list of client ids, or ["*"]');
  return problems;
}
const METHODS: readonly ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'none'];

/** Validates client metadata and turns it into a record; returns the new secret when one was generated. */
export function buildClient(config: Config, input: ClientInput, existing: ClientRecord | undefined, now: number): { client: ClientRecord; secret?: string } {
  const problems: string[] = [];
  const id = input.client_id;
  if (typeof id !== 'string' || !/^[A-Za-z0-9._~:-]{1,255}$/.test(id)) problems.push('client_id must be 1-255 characters of A-Z a-z 0-9 . _ ~ : -');
  const method = input.token_endpoint_auth_method ?? existing?.tokenEndpointAuthMethod ?? 'client_secret_basic';
  if (!METHODS.includes(method)) problems.push(`token_endpoint_auth_method must be one of ${METHODS.join(', ')}`);
  const appType = input.application_type ?? existing?.applicationType ?? 'web';
  if (appType !== 'web' && appType !== 'native') problems.push('application_type must be web or native');
  const grantTypes = input.grant_types ?? existing?.grantTypes ?? ['authorization_code', 'refresh_token'];
  for (const g of grantTypes) if (!GRANTS.includes(g)) problems.push(`grant type ${g} is not supported (supported: ${GRANTS.join(', ')})`);
  if (grantTypes.includes('refresh_token') && !grantTypes.includes('authorization_code') && !grantTypes.includes('urn:ietf:params:oauth:grant-type:device_code')) {
    problems.push('refresh_token needs the authorization_code or the device_code grant');
  }
  if (grantTypes.includes('client_credentials') && method === 'none') problems.push('client_credentials needs a confidential client');
  const tokenExchange = input.token_exchange ?? existing?.metadata.token_exchange;
  if (grantTypes.includes(TOKEN_EXCHANGE)) {
    if (method === 'none') problems.push('token exchange needs a confidential client');
    if (tokenExchange === undefined) problems.push('token_exchange (audiences, subject_clients) is required for the token-exchange grant');
    else problems.push(...tokenExchangeProblems(tokenExchange));
  } else if (input.token_exchange !== undefined) {
    problems.push('token_exchange is only for clients registered for the token-exchange grant');
  }
  const redirectUris = input.redirect_uris ?? existing?.redirectUris ?? [];
  const postLogout = input.post_logout_redirect_uris ?? existing?.postLogoutRedirectUris ?? [];
  if (grantTypes.includes('authorization_code') && redirectUris.length === 0) problems.push('redirect_uris: at least one is required for the authorization_code grant');
  for (const u of [...redirectUris, ...postLogout]) {
    const problem = typeof u === 'string' ? redirectUriProblem(u, appType) : 'redirect URIs must be strings';
    if (problem) problems.push(problem);
  }
  const scopes = (input.scope ?? existing?.scopes.join(' ') ?? 'openid profile email offline_access').split(/\s+/).filter(Boolean);
  for (const s of scopes) if (!isScopeToken(s)) problems.push(`scope ${s} is not a valid scope token`);
  const resources = input.allowed_resources ?? existing?.allowedResources ?? [];
  for (const r of resources) {
    try { new URL(r); } catch { problems.push(`allowed resource ${r} is not an absolute URI`); }
  }

  let secretHash: string | null = null;
  let secret: string | undefined;
  if (method !== 'none') {
    if (input.client_secret !== undefined) {
      if (typeof input.client_secret !== 'string' || input.client_secret.length === 0) problems.push('client_secret must be a non-empty string');
      else if (config.env === 'production' && input.client_secret.length < 32) problems.push('client_secret must be at least 32 characters in production');
      else secretHash = hashClientSecret(config.secret, input.client_secret);
    } else if (existing?.secretHash) {
      secretHash = existing.secretHash;
    } else {
      secret = randomToken(32);
      secretHash = hashClientSecret(config.secret, secret);
    }
  } else if (input.client_secret !== undefined) {
    problems.push('a public client (token_endpoint_auth_method none) has no client_secret');
  }
  if (problems.length) throw new AdminError(`client ${id}: ${problems.join('; ')}`);
  return {
    secret,
    client: {
      clientId: id, clientName: input.client_name ?? existing?.clientName ?? id, secretHash, tokenEndpointAuthMethod: method,
      applicationType: appType, redirectUris, postLogoutRedirectUris: postLogout, grantTypes, scopes, allowedResources: resources,
      skipConsent: input.skip_consent ?? existing?.skipConsent ?? false, disabled: input.disabled ?? existing?.disabled ?? false,
      metadata: grantTypes.includes(TOKEN_EXCHANGE) ? { ...existing?.metadata, token_exchange: tokenExchange } : Object.fromEntries(Object.entries(existing?.metadata ?? {}).filter(([k]) => k !== 'token_exchange')),
      createdAt: existing?.createdAt ?? now, updatedAt: now,
    },
  };
}

export async function saveClient(stores: Stores, config: Config, input: ClientInput, now: number): Promise<{ client: ClientRecord; secret?: string; changed: boolean }> {
  const existing = await stores.clients.get(input.client_id);
  const { client, secret } = buildClient(config, input, existing, now);
  const changed = !existing || JSON.stringify({ ...existing, updatedAt: 0 }) !== JSON.stringify({ ...client, updatedAt: 0 });
  if (changed) await stores.clients.put(client);
  return { client, secret, changed };
}

export async function rotateClientSecret(stores: Stores, config: Config, clientId: string, now: number): Promise<string> {
  const client = await stores.clients.get(clientId);
  if (!client) throw new AdminError(`no client ${clientId}`);
  if (client.tokenEndpointAuthMethod === 'none') throw new AdminError(`client ${clientId} is public and has no secret`);
  const secret = randomToken(32);
  await stores.clients.put({ ...client, secretHash: hashClientSecret(config.secret, secret), updatedAt: now });
  return secret;
}

/** The client as shown to operators: never the secret or its hash. */
export function describeClient(c: ClientRecord): Record<string, unknown> {
  return {
    client_id: c.clientId, client_name: c.clientName, token_endpoint_auth_method: c.tokenEndpointAuthMethod,
    application_type: c.applicationType, redirect_uris: c.redirectUris, post_logout_redirect_uris: c.postLogoutRedirectUris,
    grant_types: c.grantTypes, scope: c.scopes.join(' '), allowed_resources: c.allowedResources, skip_consent: c.skipConsent,
    disabled: c.disabled, ...(c.metadata.token_exchange ? { token_exchange: c.metadata.token_exchange } : {}), created_at: new Date(c.createdAt * 1000).toISOString(), updated_at: new Date(c.updatedAt * 1000).toISOString(),
  };
}
