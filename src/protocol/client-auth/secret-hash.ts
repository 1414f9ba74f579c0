import { hash, hkdfSync } from 'node:crypto';
import { compactDecrypt, CompactEncrypt } from 'jose';
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
 * the stored hash they matched. A client that authenticates again with the same secret (every
 * client_credentials or introspection call) is then checked with one unkeyed digest compared in
 * constant time, instead of an HMAC, whose set-up costs about 15 µs on the token path. Anything
 * else (another secret, a changed stored hash, a server secret rotated) misses and takes the
 * keyed check. The map holds digests of high-entropy secrets, never the secrets, and is emptied
 * when it reaches its bound.
 */
const verified = new Map<string, Map<string, string>>();
const VERIFIED_MAX = 10_000;

/**
 * Verifies a client secret under the current server secret, then (during a rotation of
 * TESSERA_SECRET) under the previous one: 'previous' tells the caller to store the hash under the
 * current secret. An unknown client costs as many keyed hashes as a wrong secret.
 */
export function verifyClientSecretRotating(serverSecret: string, previous: string | undefined, presented: string, stored: string | null): false | 'current' | 'previous' {
  if (verifyClientSecret(serverSecret, presented, stored)) return 'current';
  if (previous === undefined) return false;
  return verifyClientSecret(previous, presented, stored) ? 'previous' : false;
}

export function verifyClientSecret(serverSecret: string, presented: string, stored: string | null): boolean {
  // The same work for an unknown client as for a wrong secret, so timing does not tell them apart.
  // A string digest: node makes a string result for less than half the cost of a Buffer.
  const digest = hash('sha256', presented, 'base64url');
  if (stored === null || !stored.startsWith(PREFIX)) {
    const computed = hashClientSecret(serverSecret, presented);
    safeEqual(computed, computed);
    return false;
  }
  let known = verified.get(serverSecret);
  const remembered = known?.get(stored);
  if (remembered !== undefined && safeEqual(remembered, digest)) return true;
  if (!safeEqual(hashClientSecret(serverSecret, presented), stored)) return false;
  if (!known) verified.set(serverSecret, known = new Map());
  if (known.size >= VERIFIED_MAX) known.clear();
  known.set(stored, digest);
  return true;
}

// client_secret_jwt needs the secret itself (it is the HMAC key), so for clients registered for it
// the secret is also kept wrapped with AES-256-GCM (compact JWE dir/A256GCM) under a key derived by
// HKDF from the key-encryption key, with its own label, the way signing keys are wrapped.

function secretWrappingKey(kek: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', Buffer.from(kek), Buffer.alloc(0), 'tessera client-secret wrap v1', 32));
}

export function wrapClientSecret(kek: string, clientSecret: string): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(clientSecret)).setProtectedHeader({ alg: 'dir', enc: 'A256GCM' }).encrypt(secretWrappingKey(kek));
}

/** The secret as bytes (the HMAC key of client_secret_jwt). */
export async function unwrapClientSecret(kek: string, jwe: string): Promise<Uint8Array> {
  const { plaintext } = await compactDecrypt(jwe, secretWrappingKey(kek), { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] });
  return plaintext;
}
