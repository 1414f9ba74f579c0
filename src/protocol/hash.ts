import { createHmac, hash, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto';

/**
 * The CSPRNG's bytes drawn ahead, 4 KiB at a time, and handed out once each (node's randomUUID
 * keeps such a pool too): a call of the CSPRNG costs microseconds whatever its size, and a sign-in
 * draws two tokens. Bytes held here for later tokens tell no more than the generator's own state,
 * which is in the same memory.
 */
const pool = Buffer.allocUnsafeSlow(4096);
let drawn = pool.length;

/** A new random value with `bytes` bytes of entropy from the CSPRNG, base64url-encoded. */
export function randomToken(bytes = 32): string {
  // Only whole sizes up to 256 come from the pool: a fraction or a negative size would move the
  // cursor back over bytes already handed out (randomBytes refuses or rounds those as before).
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 256) return randomBytes(bytes).toString('base64url');
  if (drawn + bytes > pool.length) {
    randomFillSync(pool);
    drawn = 0;
  }
  const value = pool.toString('base64url', drawn, drawn + bytes);
  drawn += bytes;
  return value;
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

/** A time-ordered token: 12 hex digits of its issue time in milliseconds, then 32 random bytes (base64url). */
const TIME_ORDERED = /^[0-9a-f]{12}[\w-]{43}$/;

/**
 * An authorization code or refresh token: 32 random bytes (as randomToken(32)) after the time it was
 * issued, in milliseconds as 12 hex digits. The time carries no secret (a token's holder knows when
 * it got it); it makes the keys of tokens issued together neighbours in their table's index
 * (timeOrderedKey), so the rows one commit inserts share the index's last pages instead of
 * dirtying a random page each.
 */
export function timeOrderedToken(): string {
  return Date.now().toString(16).padStart(12, '0') + randomToken(32);
}

/**
 * How a code or refresh token is looked up: a time-ordered token (timeOrderedToken) by its time
 * then its SHA-256; any other value by its SHA-256 alone (tokenHash), as tokens issued before these
 * were stored. The time part comes from the value presented, so a value cannot be found under
 * another's key.
 */
export function timeOrderedKey(value: string): string {
  return TIME_ORDERED.test(value) ? value.slice(0, 12) + tokenHash(value) : tokenHash(value);
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
