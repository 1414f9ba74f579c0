// Recovery codes: ten single-use codes of about 79 random bits each (four groups of four characters of
// a 31-character alphabet without 0/o and 1/i/l), shown once and kept only as keyed hashes (HMAC under
// a key derived from the key-encryption key, so a copy of the database alone cannot test guesses).
// A new set replaces the old one whole.
import { randomInt } from 'node:crypto';
import type { Stores } from '../ports/index.ts';
import type { Keks } from './totp.ts';
import { accountSecretHash } from './secret-wrap.ts';

export const RECOVERY_CODE_COUNT = 10;
const LETTERS = 'abcdefghjkmnpqrstuvwxyz23456789';

/** One code, as shown: xxxx-xxxx-xxxx-xxxx. */
function newCode(): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += LETTERS[randomInt(LETTERS.length)];
  return s.match(/.{4}/g)!.join('-');
}

/** The code as compared: lower case, without spaces or dashes; undefined when it cannot be one. */
export function normalizeRecoveryCode(code: string): string | undefined {
  const c = code.toLowerCase().replace(/[\s-]/g, '');
  return /^[a-z0-9]{16}$/.test(c) ? c : undefined;
}

const hashOf = (kek: string, normalized: string) => accountSecretHash(kek, 'recovery-code', normalized);

/** A new set for the user (the old one is gone); the codes, to show once. */
export async function regenerateRecoveryCodes(
  stores: Pick<Stores, 'factors'>,
  keks: Keks,
  userId: string,
  now: number,
): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
  await stores.factors.setRecoveryCodes(
    userId,
    codes.map((c) => hashOf(keks.keyEncryptionKey, normalizeRecoveryCode(c)!)),
    now,
  );
  return codes;
}

/** Uses one of the user's codes: true once per code, for exactly one caller. */
export async function useRecoveryCode(
  stores: Pick<Stores, 'factors'>,
  keks: Keks,
  userId: string,
  code: string,
  now: number,
): Promise<boolean> {
  const normalized = normalizeRecoveryCode(code);
  if (!normalized) return false;
  if (await stores.factors.useRecoveryCode(userId, hashOf(keks.keyEncryptionKey, normalized), now)) return true;
  const previous = keks.keyEncryptionKeyPrevious;
  return previous !== undefined && stores.factors.useRecoveryCode(userId, hashOf(previous, normalized), now);
}
