// A real Tessera for the SDK's tests (the repository's test/fixtures/server.ts starts src/main.ts),
// with a registry of two resources, a service client that gets client_credentials tokens for them
// (plain or DPoP-bound), and a confidential client the resource server introspects with.
import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { startServer, type RunningServer } from '../../../test/fixtures/server.ts';

export const RESOURCE = 'https://api.example/v1';
export const OTHER = 'https://other.example/';
export const SVC = { id: 'svc', secret: 'svc-secret-0123456789-abcdefghijklmnopq' };
export const RS = { id: 'rs', secret: 'rs-secret-0123456789-abcdefghijklmnopqr' };
export const RS_POST = { id: 'rs-post', secret: 'rs-post-secret-0123456789-abcdefghijklm' };

export async function startTessera(env: Record<string, string> = {}, clients: object[] = []): Promise<RunningServer> {
  return startServer({
    env: { TESSERA_EXTRA_SCOPES: 'api:read api:write', ...env },
    bootstrap: {
      resources: [
        {
          identifier: RESOURCE,
          display_name: 'The API',
          scopes: { 'api:read': 'Read', 'api:write': 'Write' },
        },
        { identifier: OTHER, display_name: 'Another API', scopes: { 'api:read': 'Read' } },
      ],
      clients: [
        {
          client_id: SVC.id,
          client_secret: SVC.secret,
          grant_types: ['client_credentials'],
          scope: 'api:read api:write',
          redirect_uris: [],
        },
        {
          client_id: RS.id,
          client_secret: RS.secret,
          grant_types: ['client_credentials'],
          scope: '',
          redirect_uris: [],
        },
        {
          client_id: RS_POST.id,
          client_secret: RS_POST.secret,
          token_endpoint_auth_method: 'client_secret_post',
          grant_types: ['client_credentials'],
          scope: '',
          redirect_uris: [],
        },
        ...clients,
      ],
    },
  });
}

export function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

export interface DpopKey {
  privateKey: CryptoKey;
  jwk: JWK;
  jkt: string;
}

export async function dpopKey(): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
}

/** A DPoP proof for `method` `url`, with ath when an access token is given. */
export async function proof(
  key: DpopKey,
  method: string,
  url: string,
  accessToken?: string,
  claims: Record<string, unknown> = {},
): Promise<string> {
  const { createHash } = await import('node:crypto');
  const ath = accessToken ? createHash('sha256').update(accessToken).digest('base64url') : undefined;
  return new SignJWT({
    jti: randomUUID(),
    htm: method,
    htu: url,
    iat: Math.floor(Date.now() / 1000),
    ...(ath ? { ath } : {}),
    ...claims,
  })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk })
    .sign(key.privateKey);
}

/** A client_credentials token of `svc` for `resource` (DPoP-bound with `key`). */
export async function token(
  server: RunningServer,
  opts: { resource?: string; scope?: string; key?: DpopKey } = {},
): Promise<{ access_token: string; token_type: string }> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', scope: opts.scope ?? 'api:read api:write' });
  if (opts.resource !== null) body.set('resource', opts.resource ?? RESOURCE);
  const headers: Record<string, string> = {
    authorization: basic(SVC.id, SVC.secret),
    'content-type': 'application/x-www-form-urlencoded',
  };
  if (opts.key) headers.dpop = await proof(opts.key, 'POST', `${server.issuer}/token`);
  const res = await fetch(`${server.issuer}/token`, { method: 'POST', headers, body });
  const json = (await res.json()) as { access_token: string; token_type: string };
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

/** Revokes a token of `svc` (RFC 7009). */
export async function revoke(server: RunningServer, accessToken: string): Promise<void> {
  const res = await fetch(`${server.issuer}/revoke`, {
    method: 'POST',
    headers: { authorization: basic(SVC.id, SVC.secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: accessToken, token_type_hint: 'access_token' }),
  });
  await res.body?.cancel();
  if (res.status !== 200) throw new Error(`revocation answered ${res.status}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
