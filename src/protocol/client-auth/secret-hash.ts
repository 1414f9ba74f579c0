import { keyedHash, safeEqual } from '../hash.ts';

// Client secrets are high-entropy random values, so a keyed fast hash is enough: a leaked
// database is useless without the server secret, and checking costs microseconds, not the
// tens of milliseconds a password hash would add to every token request.
const PREFIX = 'hs256$';

export function hashClientSecret(serverSecret: string, clientSecret: string): string {
  return PREFIX + keyedHash(serverSecret, `client-secret:${clientSecret}`);
}

export function verifyClientSecret(serverSecret: string, presented: string, stored: string | null): boolean {
  const computed = hashClientSecret(serverSecret, presented);
  return stored !== null && stored.startsWith(PREFIX) ? safeEqual(computed, stored) : (safeEqual(computed, computed), false);
}
