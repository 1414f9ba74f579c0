import { createHmac, hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new random value with `bytes` bytes of entropy from the CSPRNG, base64url-encoded. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * A random identifier that operators pass to the CLI (registration token ids, client ids made by
 * dynamic registration): base64url like randomToken, but never starting with '-', which a
 * command line would read as an option.
 */
export function randomId(bytes: number): string {
  let id: string;
  do id = randomToken(bytes);
  while (id.startsWith('-'));
  return id;
}

/** How tokens (codes, refresh tokens, session ids) are stored: SHA-256, base64url. */
export function tokenHash(value: string): string {
  return hash('sha256', value, 'base64url');
}

/** Keyed hash for values that are compared to a server-side copy (client secrets, CSRF). */
export function keyedHash(secret: string, value: string): string {
  return createHmac('sha256', secret).update(value).digest('base64url');
}

/** Constant-time comparison of two strings. */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}
