import { randomInt } from 'node:crypto';
import { keyedHash } from '../hash.ts';

// User codes (RFC 8628 section 6.1): short enough to type, drawn from 20 consonants (no vowels, so
// no words; no digits, so no 0/O or 1/I confusion), 8 characters: 20^8, about 2^34.6 values.
// Shown as XXXX-XXXX; typed in any case, with or without the dash or spaces.

export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export const USER_CODE_LENGTH = 8;

/** A new user code from the CSPRNG (crypto.randomInt is unbiased), normalised form (no dash). */
export function newUserCode(): string {
  let code = '';
  for (let i = 0; i < USER_CODE_LENGTH; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return code;
}

/** XXXX-XXXX, as shown to the user. */
export function formatUserCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/**
 * What the user typed, as a normalised code: upper-cased, dashes and white space dropped. Returns
 * undefined when the result cannot be a code (wrong length or a character outside the alphabet),
 * so nothing malformed reaches storage or counts as a near miss.
 */
export function normalizeUserCode(input: string): string | undefined {
  if (input.length > 32) return undefined;
  const code = input.toUpperCase().replace(/[\s-]/g, '');
  if (code.length !== USER_CODE_LENGTH) return undefined;
  for (const c of code) if (!USER_CODE_ALPHABET.includes(c)) return undefined;
  return code;
}

/**
 * How a user code is stored and looked up: keyed with the server secret, so a copy of the
 * database alone does not let anyone recover live codes by hashing all 20^8 of them.
 */
export function userCodeHash(secret: string, code: string): string {
  return keyedHash(secret, `user_code:${code}`);
}
