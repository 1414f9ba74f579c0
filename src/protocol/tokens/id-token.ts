import { hash } from 'node:crypto';
import { signJwt, type SigningKey } from './signer.ts';

/** at_hash: the left half of the hash of the access token, with the hash of the signing algorithm. */
export function atHash(accessToken: string, alg: string): string {
  const digest = hash(alg === 'EdDSA' ? 'sha512' : 'sha256', accessToken, 'buffer');
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/**
 * An ID token signed with `key`: the active key of the algorithm the client gets for ID tokens
 * (tokens/response-algs.ts); at_hash uses that algorithm's hash.
 */
export function mintIdToken(
  key: SigningKey,
  c: {
    issuer: string;
    sub: string;
    clientId: string;
    now: number;
    ttl: number;
    authTime: number | null;
    nonce: string | null;
    accessToken: string;
    sid: string | null;
    amr: string[];
    claims?: Record<string, unknown>;
  },
): string {
  const payload: Record<string, unknown> = {
    ...c.claims,
    iss: c.issuer,
    sub: c.sub,
    aud: c.clientId,
    exp: c.now + c.ttl,
    iat: c.now,
  };
  if (c.authTime != null) payload.auth_time = c.authTime;
  if (c.nonce) payload.nonce = c.nonce;
  payload.at_hash = atHash(c.accessToken, key.alg);
  if (c.sid) payload.sid = c.sid;
  if (c.amr.length) payload.amr = c.amr;
  return signJwt(key, 'JWT', payload);
}
