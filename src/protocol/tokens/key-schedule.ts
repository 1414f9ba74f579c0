// The signing-key schedule as a pure function: given the stored keys, the time and the settings,
// which transitions are due. Every server process runs it on its key-reload timer and carries out
// what it returns with conditional storage operations (KeyStore.prepublish/promote/retire), so
// several processes or instances running it at once make one new key and one promotion.
import type { SigningKeyRecord } from '../../ports/keys.ts';

// The JWKS max-age and the start-up checks of the schedule settings belong to the configuration,
// which validates them; the schedule and its callers read them here too.
export { JWKS_MAX_AGE, keyScheduleProblems } from '../../config/key-schedule.ts';

/** Clock skew allowed for between issuing servers and verifiers, added to the grace period. */
export const SKEW_SECONDS = 60;

export interface ScheduleSettings {
  /** Seconds a key signs before the next one takes over; 0: no scheduled rotation. */
  rotationPeriod: number;
  /** Seconds a new key is published before it signs. */
  prepublishLead: number;
  /** Seconds a replaced key stays published: longest token lifetime + reload interval + skew. */
  gracePeriod: number;
}

export type Transition =
  | { type: 'prepublish'; alg: string; activatesAt: number }
  | { type: 'promote'; alg: string; from: string; to: string; graceUntil: number }
  | { type: 'retire'; kid: string };

/** When a key became (or, prepublished, becomes) active. */
export const activeSince = (r: SigningKeyRecord): number => r.activatesAt ?? r.createdAt;

/**
 * The active key of `alg` (of any algorithm when none is named): the newest in state active (the database allows one
 * per algorithm).
 */
export const activeRecord = (records: readonly SigningKeyRecord[], alg?: string): SigningKeyRecord | undefined =>
  records
    .filter((r) => r.state === 'active' && (alg === undefined || r.alg === alg))
    .sort((a, b) => b.createdAt - a.createdAt)[0];

/** The algorithms that have an active key, in the order of their keys' creation. */
export const activeAlgorithms = (records: readonly SigningKeyRecord[]): string[] => [
  ...new Set(records.filter((r) => r.state === 'active').map((r) => r.alg)),
];

/**
 * When the active key of `alg` is due to be replaced by the schedule; without `alg`, the earliest
 * such time over every algorithm (undefined when rotation is off or no key is active).
 */
export function nextRotationAt(
  records: readonly SigningKeyRecord[],
  s: ScheduleSettings,
  alg?: string,
): number | undefined {
  if (alg === undefined) {
    const times = activeAlgorithms(records)
      .map((a) => nextRotationAt(records, s, a))
      .filter((t): t is number => t !== undefined);
    return times.length ? Math.min(...times) : undefined;
  }
  const active = activeRecord(records, alg);
  const pre = records.find((r) => r.state === 'prepublished' && r.alg === alg);
  if (pre?.activatesAt != null) return pre.activatesAt;
  if (!active || s.rotationPeriod <= 0) return undefined;
  return activeSince(active) + s.rotationPeriod;
}

/**
 * The transitions due at `now`, in order, for each algorithm of `algs` (default: those with an
 * active key; the server passes its configured algorithms and those with an active key), each
 * algorithm on its own lifecycle:
 * - prepublish the next key once the active one is within `prepublishLead` of its rotation; it
 *   activates at the rotation time, or a full lead time from now when that is later (a late run
 *   never lets a key sign before caches can hold it);
 * - promote the prepublished key once its time has come, the active key going to grace for
 *   `gracePeriod`;
 * then grace keys whose end has passed are retired, whatever their algorithm. An algorithm taken
 * out of the configuration keeps its keys (and rotates) until an operator retires its active key
 * (`tessera keys retire`): instances that briefly disagree on the list never undo each other.
 * A prepublished key also made by hand (or left when rotation was turned off) is promoted when due.
 */
export function dueTransitions(
  records: readonly SigningKeyRecord[],
  now: number,
  s: ScheduleSettings,
  algs: readonly string[] = activeAlgorithms(records),
): Transition[] {
  const due: Transition[] = [];
  for (const alg of algs) {
    const active = activeRecord(records, alg);
    const pre = records.find((r) => r.state === 'prepublished' && r.alg === alg);
    if (active && pre && now >= (pre.activatesAt ?? Infinity)) {
      due.push({ type: 'promote', alg, from: active.kid, to: pre.kid, graceUntil: now + s.gracePeriod });
    } else if (active && !pre && s.rotationPeriod > 0) {
      const rotation = activeSince(active) + s.rotationPeriod;
      if (now >= rotation - s.prepublishLead)
        due.push({ type: 'prepublish', alg, activatesAt: Math.max(rotation, now + s.prepublishLead) });
    }
  }
  for (const r of records) {
    if (r.state === 'grace' && r.retiredAt !== null && r.retiredAt <= now) due.push({ type: 'retire', kid: r.kid });
  }
  return due;
}

/** The schedule settings of a configuration. */
export function scheduleSettings(c: {
  keyRotationDays: number;
  keyPrepublishSeconds: number;
  accessTokenTtl: number;
  idTokenTtl: number;
  /** TESSERA_ADMIN_TOKEN_TTL: admin API tokens are signed by the same keys. */
  adminTokenTtl?: number;
  keyReloadSeconds: number;
}): ScheduleSettings {
  return {
    rotationPeriod: c.keyRotationDays * 86_400,
    prepublishLead: c.keyPrepublishSeconds,
    // A process may keep signing with the old key until its next reload; verifiers may be a little behind.
    gracePeriod: Math.max(c.accessTokenTtl, c.idTokenTtl, c.adminTokenTtl ?? 0) + c.keyReloadSeconds + SKEW_SECONDS,
  };
}
