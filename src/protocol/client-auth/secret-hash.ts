import { hash } from 'node:crypto';
import { unwrapUnderKek, wrapUnderKek } from '../../accounts/secret-wrap.ts';
import { keyedHash, safeEqual } from '../hash.ts';

// Client secrets are high-entropy random values, so a keyed fast hash is enough: a leaked
// database is useless without the server secret, and checking costs microseconds, not the
// tens of milliseconds a password hash would add to every token request.
const PREFIX = 'hs256$';

export function hashClientSecret(serverSecret: string, clientSecret: string): string {
  return PREFIX + keyedHash(serverSecret, `client-secret:${clientSecret}`);
}

/**
 * Secrets that passed the keyed check, remembered by their SHA-256 under the server secret and
 * the stored hash they matched (the seam of the client-secret memo, one per Provider:
 * `verifiedSecrets`). A client that authenticates again with the same secret (every
 * client_credentials or introspection call) is then checked with one unkeyed digest compared in
 * constant time, instead of an HMAC, whose set-up costs about 15 µs on the token path. Anything
 * else (another secret, a changed stored hash, a server secret rotated) misses and takes the
 * keyed check. It holds digests of high-entropy secrets, never the secrets.
 */
export interface SecretMemo {
  /** The digest of the secret that last matched `stored` under `serverSecret`, if remembered. */
  recall(serverSecret: string, stored: string): string | undefined;
  remember(serverSecret: string, stored: string, digest: string): void;
}

const VERIFIED_MAX = 10_000;

/** The client-secret memo: per server secret, a map emptied when it reaches its bound. */
export function secretMemo(max = VERIFIED_MAX): SecretMemo {
  const verified = new Map<string, Map<string, string>>();
  return {
    recall: (serverSecret, stored) => verified.get(serverSecret)?.get(stored),
    remember(serverSecret, stored, digest) {
      let known = verified.get(serverSecret);
      if (!known) verified.set(serverSecret, (known = new Map()));
      if (known.size >= max) known.clear();
      known.set(stored, digest);
    },
  };
}

/**
 * Verifies a client secret under the current server secret, then (during a rotation of
 * TESSERA_SECRET) under the previous one: 'previous' tells the caller to store the hash under the
 * current secret. An unknown client costs as many keyed hashes as a wrong secret.
 */
export function verifyClientSecretRotating(
  serverSecret: string,
  previous: string | undefined,
  presented: string,
  stored: string | null,
  memo?: SecretMemo,
): false | 'current' | 'previous' {
  if (verifyClientSecret(serverSecret, presented, stored, memo)) return 'current';
  if (previous === undefined) return false;
  return verifyClientSecret(previous, presented, stored, memo) ? 'previous' : false;
}

/** Verifies a client secret against its stored hash; with a memo, a secret that matched before costs one digest. */
export function verifyClientSecret(
  serverSecret: string,
  presented: string,
  stored: string | null,
  memo?: SecretMemo,
): boolean {
  // The same work for an unknown client as for a wrong secret, so timing does not tell them apart.
  // A string digest: node makes a string result for less than half the cost of a Buffer.
  const digest = hash('sha256', presented, 'base64url');
  if (stored === null || !stored.startsWith(PREFIX)) {
    const computed = hashClientSecret(serverSecret, presented);
    safeEqual(computed, computed);
    return false;
  }
  const remembered = memo?.recall(serverSecret, stored);
  if (remembered !== undefined && safeEqual(remembered, digest)) return true;
  if (!safeEqual(hashClientSecret(serverSecret, presented), stored)) return false;
  memo?.remember(serverSecret, stored, digest);
  return true;
}

// client_secret_jwt needs the secret itself (it is the HMAC key), so for clients registered for it
// the secret is also kept wrapped with AES-256-GCM (compact JWE dir/A256GCM) under a key derived by
// HKDF from the key-encryption key, with its own label, the way signing keys are wrapped
// (accounts/secret-wrap.ts).

const WRAP_INFO = 'tessera client-secret wrap v1';

export function wrapClientSecret(kek: string, clientSecret: string): Promise<string> {
  return wrapUnderKek(kek, WRAP_INFO, new TextEncoder().encode(clientSecret));
}

/** The secret as bytes (the HMAC key of client_secret_jwt). */
export function unwrapClientSecret(kek: string, jwe: string): Promise<Uint8Array> {
  return unwrapUnderKek(kek, WRAP_INFO, jwe);
}
