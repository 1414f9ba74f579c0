// Signing-key management as the CLI and the admin API both use it: describe, rotate now, retire,
// re-wrap under a new KEK. Each change returns the transition so the caller records it (audit
// trail, with the actor and, over HTTP, the source address).
import type { Config, SigningAlg } from '../config/config.ts';
import type { SigningKeyRecord } from '../ports/keys.ts';
import type { Stores } from '../ports/index.ts';
import { activeAlgorithms, activeSince, nextRotationAt, scheduleSettings } from '../protocol/tokens/key-schedule.ts';
import {
  configKeks,
  retireSigningKey,
  rewrapSigningKeys,
  rotateSigningKey,
  UnknownKeyError,
  type KeyTransition,
} from '../protocol/tokens/keys.ts';
import { AdminError, ConflictError, NotFoundError } from './errors.ts';

export const SIGNING_ALGS: readonly SigningAlg[] = ['ES256', 'RS256', 'PS256', 'EdDSA'];

const iso = (epoch: number | null | undefined) =>
  epoch === null || epoch === undefined ? null : new Date(epoch * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

export interface KeyDescription {
  kid: string;
  alg: string;
  state: SigningKeyRecord['state'];
  created_at: string;
  age_seconds: number;
  /** When it becomes (prepublished) or became active; null for keys that never signed. */
  active_from: string | null;
  /** The active key: when the schedule replaces it (null when rotation is off). */
  rotates_at: string | null;
  /** When it stops being published: grace keys (planned) and retired keys (done). */
  published_until: string | null;
}

/** Public facts about the keys, newest first: never the wrapped private key, nor the public JWK. */
export function describeKeys(records: readonly SigningKeyRecord[], config: Config, now: number): KeyDescription[] {
  const schedule = scheduleSettings(config);
  return [...records]
    .sort((a, b) => b.createdAt - a.createdAt || (a.kid < b.kid ? -1 : 1))
    .map((k) => ({
      kid: k.kid,
      alg: k.alg,
      state: k.state,
      created_at: iso(k.createdAt)!,
      age_seconds: Math.max(0, now - k.createdAt),
      active_from: k.state === 'retired' && k.activatesAt === null ? null : iso(activeSince(k)),
      rotates_at: k.state === 'active' ? iso(nextRotationAt(records, schedule, k.alg)) : null,
      published_until: k.state === 'grace' || k.state === 'retired' ? iso(k.retiredAt) : null,
    }));
}

/** Thrown for a key id that does not exist (the admin API answers 404). */
export class UnknownKeyAdminError extends NotFoundError {}
/** Thrown when a concurrent rotation won (the admin API answers 409). */
export class RotationConflictError extends ConflictError {}

/**
 * Rotates the key of one algorithm now (emergencies; the schedule rotates on its own; default: the
 * primary algorithm, TESSERA_SIGNING_ALG): the prepublished key of that algorithm becomes active
 * when there is one, else a new key. Refuses when another rotation won a race.
 */
export async function rotateKeysNow(
  stores: Stores,
  config: Config,
  alg: string | undefined,
  now: number,
): Promise<KeyTransition & { type: 'key_rotated'; graceSeconds: number }> {
  const chosen = (alg ?? config.signingAlg) as SigningAlg;
  // The configured algorithms, and one taken out of the configuration whose key still signs.
  const rotatable = [...new Set([...config.signingAlgs, ...activeAlgorithms(await stores.keys.list())])].filter((a) =>
    SIGNING_ALGS.includes(a as SigningAlg),
  );
  if (!rotatable.includes(chosen))
    throw new AdminError(`alg must be one of ${rotatable.join(', ')} (TESSERA_SIGNING_ALGS)`);
  const { gracePeriod } = scheduleSettings(config);
  const r = await rotateSigningKey(stores.keys, configKeks(config), chosen, gracePeriod, now);
  if (!r.rotated || r.transition?.type !== 'key_rotated')
    throw new RotationConflictError(
      'another rotation happened at the same time; list the keys and try again if needed',
    );
  return { ...r.transition, graceSeconds: gracePeriod };
}

/**
 * Takes a grace or prepublished key out of the JWKS now. Given the configuration, the active key
 * of an algorithm no longer in TESSERA_SIGNING_ALGS may be retired too: it stops signing and stays
 * published for the grace period. Undefined when it was retired already.
 */
export async function retireKeyNow(
  stores: Stores,
  kid: string,
  now: number,
  config?: Config,
): Promise<KeyTransition | undefined> {
  try {
    return await retireSigningKey(
      stores.keys,
      kid,
      now,
      config ? { configured: config.signingAlgs, gracePeriod: scheduleSettings(config).gracePeriod } : {},
    );
  } catch (err) {
    if (err instanceof UnknownKeyError) throw new UnknownKeyAdminError(err.message);
    throw new AdminError((err as Error).message);
  }
}

/**
 * Re-wraps every stored private key under TESSERA_KEY_ENCRYPTION_KEY; refuses (changing nothing) when one opens under
 * no configured KEK.
 */
export async function rewrapKeys(
  stores: Stores,
  config: Config,
): Promise<{ rewrapped: number; unchanged: number; total: number }> {
  try {
    return await rewrapSigningKeys(stores.keys, configKeks(config));
  } catch (err) {
    throw new AdminError((err as Error).message);
  }
}
