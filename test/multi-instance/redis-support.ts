/**
 * Shared pieces of the Redis fault tests (redis-faults.test.ts, redis-restart.test.ts): clients, keys, proofs, a
 * recorded load.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

export const SVC = 'redis-fault-service-secret-0123456789-ab';
export const RS = 'redis-fault-resource-secret-0123456789-a';
export const METRICS = 'redis-fault-metrics-token-0123456789-abc';
export const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const FORM = 'application/x-www-form-urlencoded';
// Limits far above what the load sends: the rules are still counted in Redis on every request.
export const LIMITS =
  'token.ip=1000000/60s token.client=1000000/60s introspection.ip=1000000/60s introspection.client=1000000/60s';

export interface Key {
  privateKey: CryptoKey;
  jwk: JWK;
  jkt: string;
}
export async function newKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  return {
    privateKey,
    jwk: { ...jwk, kid, use: 'sig', alg: 'ES256' },
    jkt: await calculateJwkThumbprint(jwk, 'sha256'),
  };
}
export const wall = () => Math.floor(Date.now() / 1000);
export function dpopProof(k: Key, htu: string, nonce?: string): Promise<string> {
  const { kid: _kid, use: _use, alg: _alg, ...jwk } = k.jwk;
  return new SignJWT({ jti: randomUUID(), htm: 'POST', htu, iat: wall(), ...(nonce ? { nonce } : {}) })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
    .sign(k.privateKey);
}
export function assertion(k: Key, clientId: string, aud: string): Promise<string> {
  const now = wall();
  return new SignJWT({ iss: clientId, sub: clientId, aud, iat: now, exp: now + 60, jti: randomUUID() })
    .setProtectedHeader({ alg: 'ES256', kid: k.jwk.kid })
    .sign(k.privateKey);
}

export const bootstrap = (pkjKey: Key) => ({
  clients: [
    { client_id: 'svc', client_secret: SVC, grant_types: ['client_credentials'], scope: 'api', redirect_uris: [] },
    { client_id: 'rs', client_secret: RS, grant_types: ['client_credentials'], scope: '', redirect_uris: [] },
    {
      client_id: 'pkj',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [pkjKey.jwk] },
      grant_types: ['client_credentials'],
      scope: 'api',
      redirect_uris: [],
    },
  ],
});

export type Kind = 'client_credentials' | 'introspection' | 'dpop' | 'private_key_jwt' | 'health';
export interface Sample {
  kind: Kind;
  start: number;
  end: number;
  ms: number;
  status: number | string;
  error?: string;
}

/** The requests of each kind; each returns the response (its body read). */
export function requests(issuer: string, pkjKey: Key, dpopKey: Key, introspected: () => string) {
  const post = (body: string, headers: Record<string, string>, path = '/token') =>
    fetch(`${issuer}${path}`, {
      method: 'POST',
      headers: { 'content-type': FORM, ...headers },
      body,
      signal: AbortSignal.timeout(20_000),
    });
  return {
    client_credentials: () => post('grant_type=client_credentials', { authorization: basic('svc', SVC) }),
    introspection: () => post(`token=${introspected()}`, { authorization: basic('rs', RS) }, '/introspect'),
    dpop: async () =>
      post('grant_type=client_credentials', {
        authorization: basic('svc', SVC),
        dpop: await dpopProof(dpopKey, `${issuer}/token`),
      }),
    private_key_jwt: async () =>
      post(
        new URLSearchParams({
          grant_type: 'client_credentials',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: await assertion(pkjKey, 'pkj', issuer),
        }).toString(),
        {},
      ),
    health: () => fetch(`${issuer}/health`, { signal: AbortSignal.timeout(20_000) }),
  } satisfies Record<Kind, () => Promise<Response>>;
}

/** Loops of each kind (`workers` of each) recording every request, until stop(). */
export function startLoad(
  send: Record<Kind, () => Promise<Response>>,
  workers: Partial<Record<Kind, number>>,
  pauseMs = 20,
) {
  const samples: Sample[] = [];
  let running = true;
  const loops: Promise<void>[] = [];
  for (const [kind, n] of Object.entries(workers) as [Kind, number][]) {
    for (let i = 0; i < n; i++) {
      loops.push(
        (async () => {
          while (running) {
            const start = performance.now();
            const at = Date.now();
            let status: number | string;
            let error: string | undefined;
            try {
              const res = await send[kind]();
              status = res.status;
              const text = await res.text();
              if (res.status !== 200) error = text.slice(0, 200);
            } catch (err) {
              status = (err as Error).name;
              error = String((err as Error).cause ?? err);
            }
            const ms = performance.now() - start;
            samples.push({ kind, start: at, end: at + ms, ms, status, error });
            await sleep(kind === 'health' ? 100 : pauseMs);
          }
        })(),
      );
    }
  }
  return {
    samples,
    async stop() {
      running = false;
      await Promise.all(loops);
      return samples;
    },
  };
}

export const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? 0;
};
export const counts = (samples: Sample[]) => {
  const c: Record<string, number> = {};
  for (const s of samples) c[`${s.kind}:${s.status}`] = (c[`${s.kind}:${s.status}`] ?? 0) + 1;
  return c;
};

export async function metric(issuer: string, name: string): Promise<string[]> {
  const text = await (await fetch(`${issuer}/metrics`, { headers: { authorization: `Bearer ${METRICS}` } })).text();
  return text.split('\n').filter((l) => l.startsWith(name));
}

export async function readyRedis(issuer: string): Promise<boolean> {
  const res = await fetch(`${issuer}/ready`, { signal: AbortSignal.timeout(5000) });
  return res.status === 200;
}

export { until } from '../fixtures/until.ts';
