// The settings of the signing-key schedule that start-up validates (config.ts), and the JWKS max-age
// they are measured against. The schedule itself is protocol/tokens/key-schedule.ts.

/**
 * Cache-Control max-age of /jwks (and discovery), seconds. A relying party's cached JWKS is at
 * most this old, so a key published at least max-age + the key-reload interval before it signs is
 * in every cache that is still fresh when the key starts signing (see keyScheduleProblems).
 */
export const JWKS_MAX_AGE = 300;

/**
 * Start-up checks of the schedule settings, naming the setting: the prepublish lead time must
 * exceed the JWKS max-age plus the key-reload interval (else a relying party may hold a cached
 * JWKS without the key that signs), and must be shorter than the rotation period.
 */
export function keyScheduleProblems(s: {
  rotationPeriod: number;
  prepublishLead: number;
  keyReloadSeconds: number;
}): string[] {
  const problems: string[] = [];
  const floor = JWKS_MAX_AGE + s.keyReloadSeconds;
  if (s.prepublishLead <= floor) {
    problems.push(
      `TESSERA_KEY_PREPUBLISH_SECONDS: must exceed the JWKS max-age (${JWKS_MAX_AGE} s) plus TESSERA_KEY_RELOAD_SECONDS (${s.keyReloadSeconds} s), i.e. be more than ${floor}`,
    );
  }
  if (s.rotationPeriod > 0 && s.prepublishLead >= s.rotationPeriod) {
    problems.push(
      'TESSERA_KEY_PREPUBLISH_SECONDS: must be shorter than the rotation period (TESSERA_KEY_ROTATION_DAYS)',
    );
  }
  return problems;
}
