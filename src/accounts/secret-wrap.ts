// Secrets kept at rest under the key-encryption key: AES-256-GCM (compact JWE dir/A256GCM, through
// jose) under a key derived by HKDF from the key-encryption key, with an HKDF label per kind of
// secret. One piece for all of them: signing keys (protocol/tokens/keys.ts), client_secret_jwt
// secrets (protocol/client-auth/secret-hash.ts), TOTP seeds and queued mail values (the account
// secrets below, whose previous key-encryption key still unwraps during a rotation). Recovery codes
// are kept as keyed hashes under a key derived the same way.
import { createHmac, hkdfSync } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';

const derive = (kek: string, info: string) =>
  new Uint8Array(hkdfSync('sha256', Buffer.from(kek), Buffer.alloc(0), info, 32));

/** Wraps `plaintext` under the key `info` derives from `kek`. */
export function wrapUnderKek(kek: string, info: string, plaintext: Uint8Array): Promise<string> {
  return new CompactEncrypt(plaintext).setProtectedHeader({ alg: 'dir', enc: 'A256GCM' }).encrypt(derive(kek, info));
}

/** Opens what wrapUnderKek made with the same `kek` and `info` (throws otherwise). */
export async function unwrapUnderKek(kek: string, info: string, jwe: string): Promise<Uint8Array> {
  const { plaintext } = await compactDecrypt(jwe, derive(kek, info), {
    keyManagementAlgorithms: ['dir'],
    contentEncryptionAlgorithms: ['A256GCM'],
  });
  return plaintext;
}

const accountInfo = (label: string) => `tessera account ${label} v1`;

export function wrapAccountSecret(kek: string, label: string, secret: string): Promise<string> {
  return wrapUnderKek(kek, accountInfo(label), new TextEncoder().encode(secret));
}

export async function unwrapAccountSecret(
  keks: { keyEncryptionKey: string; keyEncryptionKeyPrevious?: string | undefined },
  label: string,
  jwe: string,
): Promise<string> {
  try {
    return new TextDecoder().decode(await unwrapUnderKek(keks.keyEncryptionKey, accountInfo(label), jwe));
  } catch (e) {
    if (!keks.keyEncryptionKeyPrevious) throw e;
    return new TextDecoder().decode(await unwrapUnderKek(keks.keyEncryptionKeyPrevious, accountInfo(label), jwe));
  }
}

/** A keyed hash of a secret value (a recovery code), under a key derived from a key-encryption key. */
export function accountSecretHash(kek: string, label: string, value: string): string {
  return createHmac('sha256', derive(kek, accountInfo(label)))
    .update(value)
    .digest('base64url');
}
