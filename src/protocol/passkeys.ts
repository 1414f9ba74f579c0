// Passkey ceremonies with Tessera's stores and settings: stateless single-use challenges, the
// registration of a passkey, and its use to sign in (passkey first) or as a second factor.
//
// A challenge is `nonce.expiry.mac`: 128 random bits, an expiry (epoch seconds) and an HMAC under
// TESSERA_SECRET over both, the ceremony's purpose and a secret this browser holds in a cookie (the
// interaction cookie, the account login cookie or the session cookie). Nothing is stored when it is
// handed out; a challenge made for another purpose or browser, or expired, fails its MAC or date
// check, and a verified one is claimed once in the replay store (every instance shares it).
import { msg } from '../i18n/catalog.ts';
import {
  authenticationOptions,
  credentialIdOf,
  passkeyAmr,
  registrationOptions,
  userHandleOfResponse,
  verifyAssertion,
  verifyRegistration,
  decodeChallenge,
  type RelyingParty,
} from '../accounts/passkeys.ts';
import { webauthnOriginsFor, webauthnRpIdFor, type Config } from '../config/config.ts';
import type { FactorRecord } from '../ports/factors.ts';
import type { Stores } from '../ports/index.ts';
import { keyedHash, randomToken, safeEqual } from './hash.ts';
import type { PasskeyLogin, Provider } from './provider.ts';

/** How long a challenge handed out may be answered (seconds). */
export const CHALLENGE_TTL = 600;

/** What making and checking challenges uses: the server secret (and the previous one), the clock. */
export type ChallengeDeps = Pick<Provider, 'now'> & { readonly config: Pick<Config, 'secret' | 'secretPrevious'> };
/** What a ceremony's options use: the challenge, and the RP ID and origins of the settings. */
export type PasskeyOptionsDeps = ChallengeDeps & {
  readonly config: Pick<Config, 'issuer' | 'webauthnRpId' | 'webauthnOrigins'>;
};
/** What verifying a passkey uses besides: the factors and users stores, the replay store. */
export type PasskeyVerifyDeps = PasskeyOptionsDeps & { readonly stores: Pick<Stores, 'factors' | 'users' | 'replay'> };

/** The relying party of this deployment: the RP ID (the issuer's host, or TESSERA_WEBAUTHN_RP_ID) and origins. */
export function relyingParty(config: Pick<Config, 'issuer' | 'webauthnRpId' | 'webauthnOrigins'>): RelyingParty {
  const rpId = webauthnRpIdFor(config);
  return { rpId, origins: webauthnOriginsFor(config), rpName: rpId };
}

const macOf = (secret: string, purpose: string, binding: string, nonce: string, exp: number) =>
  keyedHash(secret, `webauthn:${purpose}:${binding}:${nonce}:${exp}`);

/** A new challenge for a ceremony of `purpose` in the browser holding `binding`. */
export function makeChallenge(p: ChallengeDeps, purpose: string, binding: string): string {
  const nonce = randomToken(16);
  const exp = p.now() + CHALLENGE_TTL;
  return `${nonce}.${exp}.${macOf(p.config.secret, purpose, binding, nonce, exp)}`;
}

export interface CheckedChallenge {
  nonce: string;
  exp: number;
}

/**
 * Checks a challenge as the browser signed it (base64url of the challenge string): made here, for
 * this purpose and browser, not expired. Not yet claimed: `claimChallenge` does that, once.
 */
export function checkChallenge(
  p: ChallengeDeps,
  purpose: string,
  binding: string | undefined,
  challengeB64: string,
): CheckedChallenge | undefined {
  if (!binding || challengeB64.length > 200) return undefined;
  const m = /^([A-Za-z0-9_-]{22})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(decodeChallenge(challengeB64));
  if (!m) return undefined;
  const [, nonce, expText, mac] = m as unknown as [string, string, string, string];
  const exp = Number(expText);
  const good = (secret: string) => safeEqual(macOf(secret, purpose, binding, nonce, exp), mac);
  const previous = p.config.secretPrevious;
  if (!good(p.config.secret) && !(previous !== undefined && good(previous))) return undefined;
  return exp > p.now() ? { nonce, exp } : undefined;
}

/** Claims a verified challenge: true once, on every instance; false when it was used before. */
export function claimChallenge(
  p: Pick<Provider, 'now'> & { readonly stores: Pick<Stores, 'replay'> },
  c: CheckedChallenge,
): Promise<boolean> {
  return p.stores.replay.claim(`webauthn:${c.nonce}`, c.exp, p.now());
}

/** A checker for the library that remembers the challenge it accepted. */
function challengeChecker(p: ChallengeDeps, purpose: string, binding: string | undefined) {
  let accepted: CheckedChallenge | undefined;
  const check = (b64: string) => {
    accepted = checkChallenge(p, purpose, binding, b64);
    return accepted !== undefined;
  };
  return { check, accepted: () => accepted };
}

// ---- registration -------------------------------------------------------------------------------

const registerPurpose = (userId: string) => `register:${userId}`;

/** The options to register a passkey for a user in this browser (`binding`: its session cookie). */
export async function passkeyRegistrationOptions(
  p: PasskeyOptionsDeps & { readonly stores: Pick<Stores, 'factors'> },
  user: { id: string; username: string; name?: string | null | undefined },
  binding: string,
) {
  const existing = await p.stores.factors.listByUser(user.id);
  return registrationOptions(
    relyingParty(p.config),
    user,
    existing,
    makeChallenge(p, registerPurpose(user.id), binding),
  );
}

export type RegisterPasskeyResult =
  | { ok: true; factor: FactorRecord }
  | { ok: false; reason: 'invalid' | 'replayed' | 'exists' };

/** Verifies a registration and stores the passkey (its challenge claimed once). */
export async function registerPasskey(
  p: PasskeyOptionsDeps & { readonly stores: Pick<Stores, 'factors' | 'replay'> },
  userId: string,
  responseJson: string,
  binding: string | undefined,
  name?: string,
): Promise<RegisterPasskeyResult> {
  const checker = challengeChecker(p, registerPurpose(userId), binding);
  const result = await verifyRegistration(relyingParty(p.config), userId, responseJson, checker.check, p.now(), name);
  const challenge = checker.accepted();
  if (!result.ok || !challenge) return { ok: false, reason: 'invalid' };
  if (!(await claimChallenge(p, challenge))) return { ok: false, reason: 'replayed' };
  if (!(await p.stores.factors.create(result.factor))) return { ok: false, reason: 'exists' };
  return { ok: true, factor: result.factor };
}

// ---- authentication -----------------------------------------------------------------------------

/** The purpose of a passkey-first sign-in's challenge: `ia:<uid>` for an interaction, `account` for /account. */
const loginPurpose = (where: string) => `login:${where}`;
const secondFactorPurpose = (userId: string) => `2fa:${userId}`;

/** The options of a passkey-first sign-in (no credentials listed: the browser offers those it holds). */
export function passkeyLoginOptions(p: PasskeyOptionsDeps, where: string, binding: string) {
  return authenticationOptions(relyingParty(p.config), makeChallenge(p, loginPurpose(where), binding));
}

/** The options of a passkey as a second factor for a known user: their passkeys. */
export async function passkeySecondFactorOptions(
  p: PasskeyOptionsDeps & { readonly stores: Pick<Stores, 'factors'> },
  userId: string,
  binding: string,
) {
  const mine = (await p.stores.factors.listByUser(userId)).filter((f) => f.kind === 'passkey');
  return authenticationOptions(relyingParty(p.config), makeChallenge(p, secondFactorPurpose(userId), binding), mine);
}

/**
 * Why a passkey was refused: invalid (malformed, bad signature, wrong origin or RP ID, a challenge
 * made for something else or expired), unknown_credential, wrong_user (the user handle is not the
 * passkey's user, or the passkey is not the expected user's), disabled, user_not_verified,
 * replayed (the challenge was used), counter (a cloned authenticator).
 */
export type PasskeyFailure =
  | 'invalid'
  | 'unknown_credential'
  | 'wrong_user'
  | 'disabled'
  | 'user_not_verified'
  | 'replayed'
  | 'counter';

export type PasskeyVerdict =
  | { ok: true; userId: string; factor: FactorRecord; amr: string[] }
  | { ok: false; reason: PasskeyFailure; userId?: string };

async function verifyPasskey(
  p: PasskeyVerifyDeps,
  responseJson: string,
  purpose: string,
  binding: string | undefined,
  expectedUserId?: string,
): Promise<PasskeyVerdict> {
  const credentialId = credentialIdOf(responseJson);
  if (!credentialId) return { ok: false, reason: 'invalid' };
  const factor = await p.stores.factors.findByCredentialId(credentialId);
  if (!factor || factor.kind !== 'passkey') return { ok: false, reason: 'unknown_credential' };
  const userId = factor.userId;
  if (expectedUserId !== undefined && expectedUserId !== userId)
    return { ok: false, reason: 'wrong_user', userId: expectedUserId };
  // A discoverable credential names its user: it must be the passkey's (a mismatch is a forged or
  // confused assertion). Required for a passkey-first sign-in, where it is all that names the user.
  const handle = userHandleOfResponse(responseJson);
  if (handle !== undefined ? handle !== userId : expectedUserId === undefined)
    return { ok: false, reason: 'wrong_user', userId };
  const checker = challengeChecker(p, purpose, binding);
  const verdict = await verifyAssertion(relyingParty(p.config), factor, responseJson, checker.check);
  const challenge = checker.accepted();
  if (!verdict.ok) return { ok: false, reason: verdict.reason, userId };
  if (!challenge) return { ok: false, reason: 'invalid', userId };
  const user = await p.stores.users.get(userId);
  if (!user || user.disabled) return { ok: false, reason: 'disabled', userId };
  if (!(await claimChallenge(p, challenge))) return { ok: false, reason: 'replayed', userId };
  if (!(await p.stores.factors.recordUse(factor.id, p.now(), { counter: verdict.counter, backedUp: verdict.backedUp })))
    return { ok: false, reason: 'counter', userId };
  return { ok: true, userId, factor, amr: passkeyAmr(factor) };
}

/**
 * A passkey-first sign-in: the assertion names its passkey and, through the user handle, its user.
 * `where`: `ia:<uid>` or `account` (the challenge's purpose); `binding`: the browser's cookie secret.
 */
export function verifyPasskeyLogin(
  p: PasskeyVerifyDeps,
  responseJson: string,
  where: string,
  binding: string | undefined,
): Promise<PasskeyVerdict> {
  return verifyPasskey(p, responseJson, loginPurpose(where), binding);
}

/**
 * A passkey as the second factor of a known user (after a password): the passkey must be theirs.
 * `binding`: the browser secret the options were made with (passkeySecondFactorOptions). On
 * success, `amr` is the passkey's own ([hwk|swk, 'user', 'mfa']): the caller adds it to 'pwd'.
 */
export async function verifyPasskeyForUser(
  p: PasskeyVerifyDeps,
  userId: string,
  responseJson: string,
  binding: string | undefined,
): Promise<{ ok: true; amr: string[]; factorId: string } | { ok: false; reason: PasskeyFailure }> {
  const v = await verifyPasskey(p, responseJson, secondFactorPurpose(userId), binding, userId);
  return v.ok ? { ok: true, amr: v.amr, factorId: v.factor.id } : { ok: false, reason: v.reason };
}

/** A login page's passkey sign-in: the form's action, fresh options for this browser, the scripts' URL. */
export function passkeyLoginBlock(p: PasskeyOptionsDeps, action: string, where: string, binding: string): PasskeyLogin {
  return {
    action,
    options: JSON.stringify(passkeyLoginOptions(p, where, binding)),
    assets: `${p.config.issuer}/assets`,
  };
}

/**
 * A second-factor page's passkey form (the same piece as the login pages', ui/passkey-pages.ts
 * passkeyLoginForm): the user's passkeys listed, the answer posted to `action` and checked there
 * with verifyPasskeyForUser(p, userId, response, binding).
 */
export async function passkeySecondFactorBlock(
  p: PasskeyOptionsDeps & { readonly stores: Pick<Stores, 'factors'> },
  action: string,
  userId: string,
  binding: string,
): Promise<PasskeyLogin> {
  return {
    action,
    options: JSON.stringify(await passkeySecondFactorOptions(p, userId, binding)),
    assets: `${p.config.issuer}/assets`,
    label: msg('interaction.login.usePasskey'),
  };
}
