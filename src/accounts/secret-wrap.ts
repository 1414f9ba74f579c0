// Secrets of accounts kept at rest (TOTP seeds): AES-256-GCM (compact JWE dir/A256GCM, through jose)
// under a key derived by HKDF from the key-encryption key, with a label per kind of secret; the
// previous key-encryption key still unwraps during a rotation. Recovery codes are kept as keyed
// hashes under a key derived the same way.
import { createHmac, hkdfSync } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';

const derive = (kek: string, label: string) =>
  new Uint8Array(hkdfSync('sha256', Buffer.from(kek), Buffer.alloc(0), `tessera account ${label} v1`, 32));

export function wrapAccountSecret(kek: string, label: string, secret: string): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(secret))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
    .encrypt(derive(kek, label));
}

export async function unwrapAccountSecret(
  keks: { keyEncryptionKey: string; keyEncryptionKeyPrevious?: string | undefined },
  label: string,
  jwe: string,
): Promise<string> {
  const options = { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] };
  try {
    return new TextDecoder().decode(
      (await compactDecrypt(jwe, derive(keks.keyEncryptionKey, label), options)).plaintext,
    );
  } catch (e) {
    if (!keks.keyEncryptionKeyPrevious) throw e;
    const { plaintext } = await compactDecrypt(jwe, derive(keks.keyEncryptionKeyPrevious, label), options);
    return new TextDecoder().decode(plaintext);
  }
}

/** A keyed hash of a secret value (a recovery code), under a key derived from a key-encryption key. */
export function accountSecretHash(kek: string, label: string, value: string): string {
  return createHmac('sha256', derive(kek, label)).update(value).digest('base64url');
}
