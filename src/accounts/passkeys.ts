// Passkeys (WebAuthn Level 3) through @simplewebauthn/server: the options of the two ceremonies and
// the verification of their answers. Every passkey is a discoverable credential made with user
// verification, so a passkey alone is two factors (something held, and the PIN or biometric that
// unlocked it). The challenge is the caller's (protocol/passkeys.ts binds it to the browser and
// claims it once); this file only checks it through the callback it is given.
import { randomUUID } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  AuthenticatorTransport,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { FactorRecord } from '../ports/factors.ts';

// The library (and the ASN.1 and CBOR packages under it, some 25 MB of a process's memory) is
// loaded by the first ceremony that verifies an answer, not at start: most instances never see a
// passkey. A failed load is not memoised (the next ceremony tries again) and is thrown to the
// caller, never taken for an invalid answer.
let webauthn: Promise<typeof import('@simplewebauthn/server')> | undefined;
function loadWebauthn(): Promise<typeof import('@simplewebauthn/server')> {
  webauthn ??= import('@simplewebauthn/server').catch((err: unknown) => {
    webauthn = undefined;
    throw err;
  });
  return webauthn;
}

/** Where ceremonies happen: the RP ID, the origins a browser may run them from, the name users see. */
export interface RelyingParty {
  readonly rpId: string;
  readonly origins: readonly string[];
  readonly rpName: string;
}

/** How long the browser lets the user take (milliseconds), also the challenge's lifetime at most. */
export const CEREMONY_TIMEOUT_MS = 5 * 60 * 1000;
/** A user's name for a passkey: at most this many characters. */
export const PASSKEY_NAME_MAX = 64;

/** A passkey response as posted back (JSON), at most this long. */
export const PASSKEY_RESPONSE_MAX = 16_384;

/** The longest credential ID accepted (WebAuthn Level 3 section 7.1), in bytes. */
const CREDENTIAL_ID_MAX_BYTES = 1023;

/** COSE algorithms accepted for a passkey's key: EdDSA, ES256, RS256 (what authenticators offer). */
const ALGORITHMS = [-8, -7, -257];

const TRANSPORTS = new Set(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']);

/** The WebAuthn user handle of a user: their id (a UUID, no personal data), as UTF-8. */
const userHandleOf = (userId: string) => new TextEncoder().encode(userId);

/** The challenge as the options carry it: base64url of the bytes of the challenge string. */
export const encodeChallenge = (challenge: string) => Buffer.from(challenge, 'utf8').toString('base64url');
export const decodeChallenge = (b64: string) => Buffer.from(b64, 'base64url').toString('utf8');

/**
 * The options of navigator.credentials.create() for a user: a discoverable credential with user
 * verification, none of the user's existing passkeys again, no attestation (we trust no vendor
 * list; the AAGUID only names the passkey).
 */
export function registrationOptions(
  rp: RelyingParty,
  user: { id: string; username: string; name?: string | null | undefined },
  existing: readonly FactorRecord[],
  challenge: string,
): PublicKeyCredentialCreationOptionsJSON {
  return {
    challenge: encodeChallenge(challenge),
    rp: { name: rp.rpName, id: rp.rpId },
    user: {
      id: Buffer.from(userHandleOf(user.id)).toString('base64url'),
      name: user.username,
      displayName: user.name || user.username,
    },
    pubKeyCredParams: ALGORITHMS.map((alg) => ({ alg, type: 'public-key' as const })),
    timeout: CEREMONY_TIMEOUT_MS,
    attestation: 'none',
    excludeCredentials: existing
      .filter((f) => f.kind === 'passkey' && f.credentialId)
      .map((f) => ({
        id: f.credentialId!,
        type: 'public-key' as const,
        ...(f.transports.length ? { transports: f.transports as AuthenticatorTransport[] } : {}),
      })),
    authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
    extensions: { credProps: true },
  };
}

/**
 * The options of navigator.credentials.get(): for a passkey-first sign-in none listed (the browser
 * offers every passkey it holds for the RP ID), for a second factor the user's own.
 */
export function authenticationOptions(
  rp: RelyingParty,
  challenge: string,
  credentials: readonly FactorRecord[] = [],
): PublicKeyCredentialRequestOptionsJSON {
  return {
    challenge: encodeChallenge(challenge),
    rpId: rp.rpId,
    timeout: CEREMONY_TIMEOUT_MS,
    userVerification: 'required',
    allowCredentials: credentials
      .filter((f) => f.kind === 'passkey' && f.credentialId)
      .map((f) => ({
        id: f.credentialId!,
        type: 'public-key' as const,
        ...(f.transports.length ? { transports: f.transports as AuthenticatorTransport[] } : {}),
      })),
  };
}

/** A posted response, parsed: a JSON object with the fields every WebAuthn response has. */
function parseResponse(json: string): Record<string, unknown> | undefined {
  if (!json || json.length > PASSKEY_RESPONSE_MAX) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.id !== 'string' || typeof v.rawId !== 'string' || v.type !== 'public-key') return undefined;
  if (typeof v.response !== 'object' || v.response === null) return undefined;
  if (!/^[A-Za-z0-9_-]{1,1366}$/.test(v.id)) return undefined;
  return v;
}

/** The credential ID a posted assertion names, before anything is verified (to find its passkey). */
export function credentialIdOf(json: string): string | undefined {
  return parseResponse(json)?.id as string | undefined;
}

/**
 * The user handle a posted assertion carries (the user id of the passkey's account): undefined
 * when it carries none, '' (no user's id) when it carries one that is not a user handle of ours.
 */
export function userHandleOfResponse(json: string): string | undefined {
  const r = parseResponse(json);
  const handle = (r?.response as { userHandle?: unknown } | undefined)?.userHandle;
  // Empty counts as none (a user handle is 1 to 64 bytes; some clients send an empty one for none).
  if (handle === undefined || handle === null || handle === '') return undefined;
  if (typeof handle !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(handle)) return '';
  return Buffer.from(handle, 'base64url').toString('utf8');
}

// Names of a few common passkey providers by AAGUID, so a new passkey has a name users recognise
// before they give their own.
const PROVIDERS: Record<string, string> = {
  'ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4': 'Google Password Manager',
  'adce0002-35bc-c60a-648b-0b25f1f05503': 'Chrome on Mac',
  'fbfc3007-154e-4ecc-8c0b-6e020557d7bd': 'iCloud Keychain',
  '08987058-cadc-4b81-b6e1-30de50dcbe96': 'Windows Hello',
  '9ddd1817-af5a-4672-a2b9-3e3dd95000a9': 'Windows Hello',
  '6028b017-b1d4-4c02-b4b3-afcdafc96bb2': 'Windows Hello',
  'bada5566-a7aa-401f-bd96-45619a55120d': '1Password',
  'd548826e-79b4-db40-a3d8-11116f7e8349': 'Bitwarden',
};
const ZERO_AAGUID = '00000000-0000-0000-0000-000000000000';

/** A passkey's default name: its provider's, when its AAGUID is a known one, else "Passkey". */
export function defaultPasskeyName(aaguid: string | null): string {
  return (aaguid && PROVIDERS[aaguid]) || 'Passkey';
}

/**
 * A name as typed: trimmed, control characters (C0, DEL, C1) and bidirectional formatting marks
 * dropped (they would reorder what the list and the notification mail show), at most
 * PASSKEY_NAME_MAX characters. Joiners stay (emoji sequences use them).
 */
export function cleanPasskeyName(name: string | undefined): string | undefined {
  const cleaned = (name ?? '').replace(/[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, '').trim();
  return cleaned ? [...cleaned].slice(0, PASSKEY_NAME_MAX).join('') : undefined;
}

export type ChallengeCheck = (challengeB64: string) => boolean;

export type RegistrationResult = { ok: true; factor: FactorRecord } | { ok: false; reason: 'invalid' };

/**
 * Verifies the answer of navigator.credentials.create(): the challenge (through `checkChallenge`),
 * the origin and RP ID, user presence and verification, and the attestation's signature (format
 * none or self). Gives the passkey to store (not stored yet).
 */
export async function verifyRegistration(
  rp: RelyingParty,
  userId: string,
  responseJson: string,
  checkChallenge: ChallengeCheck,
  now: number,
  name?: string,
): Promise<RegistrationResult> {
  const response = parseResponse(responseJson);
  if (!response) return { ok: false, reason: 'invalid' };
  // The library hands the posted transports back as they came: a list of names or nothing, else
  // refused here (a string or an object would break the filtering below).
  const posted = (response.response as { transports?: unknown }).transports;
  if (posted !== undefined && !(Array.isArray(posted) && posted.every((t) => typeof t === 'string')))
    return { ok: false, reason: 'invalid' };
  const { verifyRegistrationResponse } = await loadWebauthn();
  let verified;
  try {
    verified = await verifyRegistrationResponse({
      response: response as unknown as RegistrationResponseJSON,
      expectedChallenge: (c) => checkChallenge(c),
      expectedOrigin: [...rp.origins],
      expectedRPID: rp.rpId,
      requireUserVerification: true,
      supportedAlgorithmIDs: ALGORITHMS,
    });
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  if (!verified.verified || !verified.registrationInfo.userVerified) return { ok: false, reason: 'invalid' };
  const info = verified.registrationInfo;
  // WebAuthn 7.1: a credential ID over 1023 bytes fails the ceremony. A longer one could never be
  // used (credentialIdOf refuses it) and PostgreSQL cannot index it (an error, not a refusal).
  if (Buffer.from(info.credential.id, 'base64url').length > CREDENTIAL_ID_MAX_BYTES)
    return { ok: false, reason: 'invalid' };
  const aaguid = info.aaguid && info.aaguid !== ZERO_AAGUID ? info.aaguid : null;
  // The known names, each once (the list is the browser's, posted with the form: not signed).
  const transports = [...new Set(info.credential.transports ?? [])].filter((t) => TRANSPORTS.has(t));
  return {
    ok: true,
    factor: {
      id: randomUUID(),
      userId,
      kind: 'passkey',
      name: cleanPasskeyName(name) ?? defaultPasskeyName(aaguid),
      createdAt: now,
      lastUsedAt: null,
      confirmed: true,
      secret: null,
      credentialId: info.credential.id,
      publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
      counter: info.credential.counter,
      transports,
      backupEligible: info.credentialDeviceType === 'multiDevice',
      backedUp: info.credentialBackedUp,
      aaguid,
    },
  };
}

export type AssertionResult =
  | { ok: true; counter: number; backedUp: boolean }
  | { ok: false; reason: 'invalid' | 'user_not_verified' };

/**
 * Verifies the answer of navigator.credentials.get() with one stored passkey: the challenge
 * (through `checkChallenge`), origin, RP ID, user verification, the signature and the
 * backup-eligible flag (the same as at registration). The caller checks the user handle, the
 * counter (atomically, in the store) and the challenge's single use.
 */
export async function verifyAssertion(
  rp: RelyingParty,
  factor: FactorRecord,
  responseJson: string,
  checkChallenge: ChallengeCheck,
): Promise<AssertionResult> {
  const response = parseResponse(responseJson);
  if (!response || factor.kind !== 'passkey' || !factor.credentialId || !factor.publicKey)
    return { ok: false, reason: 'invalid' };
  const { verifyAuthenticationResponse } = await loadWebauthn();
  let verified;
  try {
    verified = await verifyAuthenticationResponse({
      response: response as unknown as AuthenticationResponseJSON,
      expectedChallenge: (c) => checkChallenge(c),
      expectedOrigin: [...rp.origins],
      expectedRPID: rp.rpId,
      credential: {
        id: factor.credentialId,
        publicKey: new Uint8Array(Buffer.from(factor.publicKey, 'base64url')),
        counter: factor.counter,
        transports: factor.transports as AuthenticatorTransport[],
      },
      requireUserVerification: true,
    });
  } catch (e) {
    return { ok: false, reason: /user verification/i.test((e as Error).message) ? 'user_not_verified' : 'invalid' };
  }
  if (!verified.verified || !verified.authenticationInfo.userVerified) return { ok: false, reason: 'invalid' };
  // WebAuthn 7.2: backup eligibility is fixed when the credential is made. Tessera's amr rests on
  // it (hwk for a device-bound passkey, swk for a synced one), so an assertion that says otherwise
  // than the registration fails.
  const eligible = verified.authenticationInfo.credentialDeviceType === 'multiDevice';
  if (eligible !== factor.backupEligible) return { ok: false, reason: 'invalid' };
  return {
    ok: true,
    counter: verified.authenticationInfo.newCounter,
    backedUp: verified.authenticationInfo.credentialBackedUp,
  };
}

/**
 * RFC 8176 amr of a passkey sign-in: swk for a synced passkey (backup eligible: its key can be
 * copied to other devices), hwk for one bound to its device; 'user' (user verification) and 'mfa'
 * (held + known or biometric).
 */
export function passkeyAmr(factor: Pick<FactorRecord, 'backupEligible'>): string[] {
  return [factor.backupEligible ? 'swk' : 'hwk', 'user', 'mfa'];
}
