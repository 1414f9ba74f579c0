// RFC 9470 step-up: a route (or the whole resource) may demand how the user signed in: an
// authentication context class (`acr`) at least as strong as a given one, and an authentication no
// older than a number of seconds (`auth_time`, RFC 9068 section 2.2.1). A token that falls short is
// refused with 401 insufficient_user_authentication naming what would do (`acr_values`, `max_age`):
// the client sends the user back to the authorization server with those, then retries.
import { InsufficientUserAuthenticationError } from './errors.ts';
import type { VerifiedToken } from './token-info.ts';

/**
 * Tessera's acr values, weakest first: a level satisfies every one before it. `password`: one factor;
 * `mfa`: two factors; `phr`: a passkey (phishing-resistant); `phrh`: a hardware-bound passkey.
 */
export const TESSERA_ACR_VALUES: readonly string[] = ['urn:tessera:acr:password', 'urn:tessera:acr:mfa', 'phr', 'phrh'];

export interface StepUpRequirement {
  /** The weakest acceptable `acr`: the token's must be this one or stronger (in `order`). */
  acr?: string;
  /** The most seconds since the user last authenticated (`auth_time`). */
  maxAge?: number;
}

/** Whether `have` is `want` or stronger in `order`; a value not in the order satisfies only itself. */
export function acrSatisfies(
  have: string | undefined,
  want: string,
  order: readonly string[] = TESSERA_ACR_VALUES,
): boolean {
  if (have === undefined) return false;
  if (have === want) return true;
  const [h, w] = [order.indexOf(have), order.indexOf(want)];
  return h >= 0 && w >= 0 && h >= w;
}

/** The acr values that would do, strongest last, for the challenge's `acr_values`. */
function acceptable(want: string, order: readonly string[]): string[] {
  const i = order.indexOf(want);
  return i < 0 ? [want] : order.slice(i);
}

/** Checks a verified token against a requirement, throwing InsufficientUserAuthenticationError when it falls short. */
export function checkStepUp(
  info: VerifiedToken,
  need: StepUpRequirement,
  opts: { now: number; clockSkew: number; order?: readonly string[] },
): void {
  const order = opts.order ?? TESSERA_ACR_VALUES;
  const problems: string[] = [];
  if (need.acr !== undefined && !acrSatisfies(info.acr, need.acr, order))
    problems.push(
      info.acr === undefined
        ? 'The access token does not say how the user authenticated.'
        : 'A stronger authentication of the user is required.',
    );
  if (need.maxAge !== undefined) {
    if (info.authTime === undefined) problems.push('The access token does not say when the user authenticated.');
    else if (opts.now - info.authTime > need.maxAge + opts.clockSkew)
      problems.push('A more recent authentication of the user is required.');
  }
  if (problems.length === 0) return;
  throw new InsufficientUserAuthenticationError(problems.join(' '), {
    // Only what the token missed: a recent sign-in at any level does not need acr_values, and the reverse.
    acrValues:
      need.acr !== undefined && !acrSatisfies(info.acr, need.acr, order) ? acceptable(need.acr, order) : undefined,
    maxAge:
      need.maxAge !== undefined &&
      (info.authTime === undefined || opts.now - info.authTime > need.maxAge + opts.clockSkew)
        ? need.maxAge
        : undefined,
  });
}
