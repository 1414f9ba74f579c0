import type { InitialAccessTokenRecord, Stores } from '../ports/index.ts';
import { randomId, randomToken, tokenHash } from '../protocol/hash.ts';
import { AdminError } from './errors.ts';

/** Default lifetime of an initial access token: one day. */
export const DEFAULT_INITIAL_TOKEN_TTL = 86_400;

/**
 * Mints an initial access token for dynamic registration (RFC 7591 section 3): 256 bits from the
 * CSPRNG, returned once; only its SHA-256 is stored, with its expiry and optional number of uses.
 */
export async function createInitialAccessToken(
  stores: Stores,
  now: number,
  opts: { expiresIn?: number; uses?: number } = {},
): Promise<{ token: string; record: InitialAccessTokenRecord }> {
  const expiresIn = opts.expiresIn ?? DEFAULT_INITIAL_TOKEN_TTL;
  if (!Number.isSafeInteger(expiresIn) || expiresIn < 60 || expiresIn > 365 * 86_400)
    throw new AdminError('--expires-in must be a whole number of seconds from 60 to 31536000');
  if (opts.uses !== undefined && (!Number.isSafeInteger(opts.uses) || opts.uses < 1 || opts.uses > 1_000_000))
    throw new AdminError('--uses must be a whole number from 1 to 1000000');
  const token = randomToken(32);
  const record: InitialAccessTokenRecord = {
    id: randomId(6),
    tokenHash: tokenHash(token),
    usesLeft: opts.uses ?? null,
    createdAt: now,
    expiresAt: now + expiresIn,
  };
  await stores.initialAccessTokens.create(record);
  return { token, record };
}

/** An initial access token as shown to operators: never the token or its hash. */
export function describeInitialAccessToken(t: InitialAccessTokenRecord): Record<string, unknown> {
  return {
    id: t.id,
    uses_left: t.usesLeft,
    created_at: new Date(t.createdAt * 1000).toISOString(),
    expires_at: new Date(t.expiresAt * 1000).toISOString(),
  };
}
