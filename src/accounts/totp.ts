// Authenticator apps (TOTP, RFC 6238: SHA-1, 6 digits, 30-second steps, as every app reads them),
// through otpauth. The secret is kept wrapped under the key-encryption key; a code is accepted one
// step either side of now (clock drift) and only once: its step is claimed in the replay store,
// which every instance shares.
import { randomUUID } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { renderSVG } from 'uqr';
import type { FactorRecord } from '../ports/factors.ts';
import type { Stores } from '../ports/index.ts';
import { unwrapAccountSecret, wrapAccountSecret } from './secret-wrap.ts';

export const TOTP_PERIOD = 30;
export const TOTP_DIGITS = 6;
/** Steps accepted either side of the current one. */
export const TOTP_WINDOW = 1;

/** The key-encryption keys: the current one wraps, either unwraps (during a rotation). */
export interface Keks {
  readonly keyEncryptionKey: string;
  readonly keyEncryptionKeyPrevious?: string | undefined;
}

export type TotpStores = Pick<Stores, 'factors' | 'replay'>;

export interface TotpEnrolment {
  factor: FactorRecord;
  /** Base32, for typing into an app by hand. */
  secret: string;
  /** The otpauth:// URI the QR code carries. */
  uri: string;
  /** The QR code, an SVG element with no external reference. */
  qrSvg: string;
}

const totpOf = (secret: Secret, label: string, issuer: string) =>
  new TOTP({ issuer, label, algorithm: 'SHA1', digits: TOTP_DIGITS, period: TOTP_PERIOD, secret });

/**
 * Starts enrolling an authenticator app: a new 160-bit secret, stored unconfirmed (it signs no one
 * in until `confirmTotp`). Earlier unconfirmed apps of the user are dropped.
 */
export async function beginTotp(
  stores: Pick<Stores, 'factors'>,
  keks: Keks,
  user: { id: string; username: string },
  issuerName: string,
  now: number,
  name = 'Authenticator app',
): Promise<TotpEnrolment> {
  for (const f of await stores.factors.listByUser(user.id))
    if (f.kind === 'totp' && !f.confirmed) await stores.factors.delete(user.id, f.id);
  const secret = new Secret({ size: 20 });
  const factor: FactorRecord = {
    id: randomUUID(),
    userId: user.id,
    kind: 'totp',
    name,
    createdAt: now,
    lastUsedAt: null,
    confirmed: false,
    secret: await wrapAccountSecret(keks.keyEncryptionKey, 'totp', secret.base32),
    credentialId: null,
    publicKey: null,
    counter: 0,
    transports: [],
    backupEligible: false,
    backedUp: false,
    aaguid: null,
  };
  await stores.factors.create(factor);
  const uri = totpOf(secret, user.username, issuerName).toString();
  return { factor, secret: secret.base32, uri, qrSvg: renderSVG(uri, { border: 2 }) };
}

export type TotpVerdict = 'ok' | 'invalid' | 'replayed';

/** A code as typed: digits, spaces and dashes allowed between them. */
export function normalizeTotpCode(code: string): string | undefined {
  const digits = code.replace(/[\s-]/g, '');
  return new RegExp(`^\\d{${TOTP_DIGITS}}$`).test(digits) ? digits : undefined;
}

/** Checks a code against one TOTP factor (confirmed or not); an accepted code's step is claimed, once. */
export async function checkTotpCode(
  stores: TotpStores,
  keks: Keks,
  factor: FactorRecord,
  code: string,
  now: number,
): Promise<TotpVerdict> {
  const token = normalizeTotpCode(code);
  if (factor.kind !== 'totp' || !factor.secret || !token) return 'invalid';
  const base32 = await unwrapAccountSecret(keks, 'totp', factor.secret);
  const totp = totpOf(Secret.fromBase32(base32), '', '');
  const delta = totp.validate({ token, timestamp: now * 1000, window: TOTP_WINDOW });
  if (delta === null) return 'invalid';
  const step = Math.floor(now / TOTP_PERIOD) + delta;
  // The code is good until its step leaves the window: keep the marker that long, and a little more.
  const until = (step + TOTP_WINDOW + 2) * TOTP_PERIOD;
  return (await stores.replay.claim(`totp:${factor.id}:${step}`, until, now)) ? 'ok' : 'replayed';
}

/** Confirms an enrolment with the first code from the app. */
export async function confirmTotp(
  stores: TotpStores,
  keks: Keks,
  userId: string,
  factorId: string,
  code: string,
  now: number,
): Promise<TotpVerdict> {
  const factor = await stores.factors.get(factorId);
  if (!factor || factor.userId !== userId || factor.kind !== 'totp' || factor.confirmed) return 'invalid';
  const verdict = await checkTotpCode(stores, keks, factor, code, now);
  if (verdict === 'ok' && !(await stores.factors.confirm(userId, factorId, now))) return 'invalid';
  return verdict;
}

/** A sign-in's code: any confirmed app of the user; the factor that took it. */
export async function verifyUserTotp(
  stores: TotpStores,
  keks: Keks,
  userId: string,
  code: string,
  now: number,
): Promise<{ verdict: TotpVerdict; factor?: FactorRecord }> {
  let verdict: TotpVerdict = 'invalid';
  for (const factor of await stores.factors.listByUser(userId)) {
    if (factor.kind !== 'totp' || !factor.confirmed) continue;
    const v = await checkTotpCode(stores, keks, factor, code, now);
    if (v === 'ok') {
      await stores.factors.recordUse(factor.id, now);
      return { verdict: 'ok', factor };
    }
    if (v === 'replayed') verdict = 'replayed';
  }
  return { verdict };
}
