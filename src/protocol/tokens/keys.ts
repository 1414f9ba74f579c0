import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { unwrapUnderKek, wrapUnderKek } from '../../accounts/secret-wrap.ts';
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { SigningAlg } from '../../config/config.ts';
import type { KeyStore, SigningKeyRecord } from '../../ports/keys.ts';
import { importSigningKey, type SigningKey } from './signer.ts';
import { activeAlgorithms, activeRecord, dueTransitions, type ScheduleSettings } from './key-schedule.ts';

export const SIGNING_ALGS: readonly SigningAlg[] = ['ES256', 'RS256', 'PS256', 'EdDSA'];
const ALGS = SIGNING_ALGS;

/** Signing keys are wrapped under the key-encryption key (accounts/secret-wrap.ts) with their own label. */
const WRAP_INFO = 'tessera signing-key wrap v1';

export function wrapPrivateJwk(kek: string, jwk: JWK): Promise<string> {
  return wrapUnderKek(kek, WRAP_INFO, new TextEncoder().encode(JSON.stringify(jwk)));
}

export async function unwrapPrivateJwk(kek: string, jwe: string): Promise<JWK> {
  return JSON.parse(new TextDecoder().decode(await unwrapUnderKek(kek, WRAP_INFO, jwe))) as JWK;
}

/**
 * The key-encryption keys: the first (TESSERA_KEY_ENCRYPTION_KEY) wraps, every one unwraps (the
 * second is TESSERA_KEY_ENCRYPTION_KEY_PREVIOUS during a KEK rotation). A plain string is one KEK.
 */
export type Keks = string | readonly string[];

const kekList = (keks: Keks): readonly string[] => (typeof keks === 'string' ? [keks] : keks);
const currentKek = (keks: Keks): string => kekList(keks)[0]!;

/** The KEKs of a configuration: the current one, then the previous one when set. */
export function configKeks(c: { keyEncryptionKey: string; keyEncryptionKeyPrevious?: string | undefined }): string[] {
  return c.keyEncryptionKeyPrevious ? [c.keyEncryptionKey, c.keyEncryptionKeyPrevious] : [c.keyEncryptionKey];
}

/** Unwraps with the first KEK that opens the JWE; `index` says which (0: the current one). Throws when none does. */
async function unwrapWithAny(keks: Keks, jwe: string): Promise<{ jwk: JWK; index: number }> {
  const list = kekList(keks);
  for (let index = 0; index < list.length; index++) {
    try {
      return { jwk: await unwrapPrivateJwk(list[index]!, jwe), index };
    } catch {
      /* try the next */
    }
  }
  throw new Error('no configured key-encryption key opens it');
}

/** Makes a new key pair and its stored form (private part wrapped under the KEK). */
export async function generateSigningKey(
  alg: SigningAlg,
  keks: Keks,
  now: number,
  activatesAt: number = now,
): Promise<SigningKeyRecord> {
  const opts =
    alg === 'RS256' || alg === 'PS256'
      ? { modulusLength: 2048, extractable: true }
      : alg === 'EdDSA'
        ? { crv: 'Ed25519', extractable: true }
        : { extractable: true };
  const { publicKey, privateKey } = await generateKeyPair(alg, opts);
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  const priv = await exportJWK(privateKey);
  return {
    kid,
    alg,
    state: 'active',
    publicJwk: { ...pub, kid, use: 'sig', alg },
    privateJwe: await wrapPrivateJwk(currentKek(keks), { ...priv, kid, alg }),
    createdAt: now,
    retiredAt: null,
    activatesAt,
  };
}

export interface VerificationKey {
  kid: string;
  alg: SigningAlg;
  key: KeyObject;
}

/** Keys in the JWKS: the prepublished one, the active one and those in grace until their end. */
export function isPublished(r: SigningKeyRecord, now: number): boolean {
  return (
    r.state === 'active' ||
    r.state === 'prepublished' ||
    (r.state === 'grace' && r.retiredAt !== null && r.retiredAt > now)
  );
}

/** What identifies a key set: a ring is rebuilt only when this changes. */
function fingerprint(records: readonly SigningKeyRecord[], now: number): string {
  return records
    .filter((r) => isPublished(r, now))
    .map((r) => `${r.kid}:${r.state}`)
    .sort()
    .join(',');
}

/**
 * The signing keys as the server uses them: an active key per algorithm ready to sign, every
 * published key ready to verify, and the JWKS document prepared once as bytes with its ETag.
 * `active` is the primary algorithm's key (TESSERA_SIGNING_ALG): access tokens are signed with it,
 * read as a plain field so the access-token path does no per-token lookup; the other artifacts
 * (ID tokens, JARM, JWT introspection, logout tokens, signed userinfo) pick theirs with `signer`.
 */
export class KeyRing {
  readonly active: SigningKey;
  /** The active key of each algorithm that has one. */
  readonly signers: ReadonlyMap<string, SigningKey>;
  readonly verification: Map<string, VerificationKey>;
  readonly jwksBody: Buffer;
  readonly jwksEtag: string;
  readonly records: readonly SigningKeyRecord[];
  readonly fingerprint: string;
  /** Algorithms of the published keys: the allow-list when verifying. */
  readonly algorithms: SigningAlg[];

  constructor(
    active: SigningKey,
    records: SigningKeyRecord[],
    now: number,
    signers: ReadonlyMap<string, SigningKey> = new Map([[active.alg, active]]),
  ) {
    this.active = active;
    this.signers = signers;
    this.records = records;
    this.fingerprint = fingerprint(records, now);
    const rank = (r: SigningKeyRecord) => (r.state === 'active' ? 0 : r.state === 'prepublished' ? 1 : 2);
    const published = records
      .filter((r) => isPublished(r, now))
      .sort((a, b) => rank(a) - rank(b) || b.createdAt - a.createdAt || (a.kid < b.kid ? -1 : 1));
    this.verification = new Map(
      published.map((r) => [
        r.kid,
        { kid: r.kid, alg: r.alg as SigningAlg, key: createPublicKey({ key: r.publicJwk as never, format: 'jwk' }) },
      ]),
    );
    this.jwksBody = Buffer.from(JSON.stringify({ keys: published.map((r) => r.publicJwk) }));
    this.algorithms = [...new Set([...this.verification.values()].map((k) => k.alg))];
    this.jwksEtag = `"${createHash('sha256').update(this.jwksBody).digest('base64url')}"`;
  }

  /** The active key of `alg`, undefined when no key of that algorithm is active. */
  signer(alg: string): SigningKey | undefined {
    return this.signers.get(alg);
  }
}

async function activeKey(keks: Keks, record: SigningKeyRecord): Promise<SigningKey> {
  let jwk: JWK;
  try {
    ({ jwk } = await unwrapWithAny(keks, record.privateJwe));
  } catch {
    throw new Error(
      `cannot decrypt signing key ${record.kid}: neither TESSERA_KEY_ENCRYPTION_KEY nor TESSERA_KEY_ENCRYPTION_KEY_PREVIOUS is the key it was stored under`,
    );
  }
  return importSigningKey(record.kid, record.alg as SigningAlg, jwk as Record<string, unknown>);
}

/**
 * Loads the keys from storage, creating an active key for each algorithm of `algs` that has none
 * (the first algorithm is the primary one, `KeyRing.active`). Given the ring in use, returns it
 * unchanged when the published keys are the same (the periodic reload that lets every instance see
 * a rotation made elsewhere). Active keys of algorithms not in `algs` (taken out of the
 * configuration, not yet retired) still sign for clients registered with them.
 */
export async function loadKeyRing(
  store: KeyStore,
  kek: Keks,
  algs: SigningAlg | readonly SigningAlg[],
  now: number,
  current?: KeyRing,
): Promise<KeyRing> {
  const list = typeof algs === 'string' ? [algs] : algs;
  for (const alg of list) if (!ALGS.includes(alg)) throw new Error(`unsupported signing algorithm ${alg}`);
  const primary = list[0];
  if (primary === undefined) throw new Error('no signing algorithm configured');
  let records = await store.list();
  const missing = list.filter((alg) => !records.some((r) => r.state === 'active' && r.alg === alg));
  if (missing.length) {
    for (const alg of missing) await store.insert(await generateSigningKey(alg, kek, now), true);
    records = await store.list();
  }
  if (current && current.fingerprint === fingerprint(records, now) && current.active.alg === primary) return current;
  const signers = new Map<string, SigningKey>();
  for (const alg of activeAlgorithms(records)) {
    const rec = activeRecord(records, alg)!;
    const known = current?.signers.get(alg);
    signers.set(alg, known?.kid === rec.kid ? known : await activeKey(kek, rec));
  }
  const active = signers.get(primary);
  if (!active) throw new Error(`no active ${primary} signing key`);
  return new KeyRing(active, records, now, signers);
}

export type Trigger = 'scheduled' | 'manual';

/** A transition this process carried out (it won the race for it), for events and the audit trail. */
export type KeyTransition =
  | { type: 'key_prepublished'; kid: string; alg: string; activatesAt: number }
  | { type: 'key_rotated'; kid: string; alg: string; previous: string | null; prepublished: boolean }
  | { type: 'key_retired'; kid: string; alg: string };

/**
 * Rotates the key of `alg` now (for emergencies; the schedule does it without anyone asking): the
 * prepublished key of that algorithm becomes active when there is one (relying parties' caches
 * already hold it, so its tokens verify at once), else a new key does; the old active key of that
 * algorithm stays in the JWKS (grace) for `gracePeriod` seconds. Keys of other algorithms are left
 * alone. Safe to run from several places at once: exactly one rotation happens (`rotated` false for
 * the others).
 */
export async function rotateSigningKey(
  store: KeyStore,
  kek: Keks,
  alg: SigningAlg,
  gracePeriod: number,
  now: number,
): Promise<{ rotated: boolean; kid: string; transition?: KeyTransition }> {
  const records = await store.list();
  const current = activeRecord(records, alg);
  const pre = records.find((r) => r.state === 'prepublished' && r.alg === alg);
  if (current && pre) {
    const rotated = await store.promote(current.kid, pre.kid, now + gracePeriod, now);
    return {
      rotated,
      kid: pre.kid,
      transition: rotated
        ? { type: 'key_rotated', kid: pre.kid, alg, previous: current.kid, prepublished: true }
        : undefined,
    };
  }
  const next = await generateSigningKey(alg, kek, now);
  const rotated = current ? await store.rotate(current.kid, next, now + gracePeriod) : await store.insert(next, true);
  return {
    rotated,
    kid: next.kid,
    transition: rotated
      ? { type: 'key_rotated', kid: next.kid, alg, previous: current?.kid ?? null, prepublished: false }
      : undefined,
  };
}

export class UnknownKeyError extends Error {}
export class KeyStateError extends Error {}

/**
 * Retires a key in grace, or a prepublished one, at once (it leaves the JWKS). An active key cannot
 * be retired, except one of an algorithm no longer configured (`opts.configured`): it stops
 * signing and stays published for `opts.gracePeriod` seconds, so what it signed still verifies.
 * Returns the transition, or undefined when it was retired already.
 */
export async function retireSigningKey(
  store: KeyStore,
  kid: string,
  now: number,
  opts: { configured?: readonly string[]; gracePeriod?: number } = {},
): Promise<KeyTransition | undefined> {
  const key = (await store.list()).find((r) => r.kid === kid);
  if (!key) throw new UnknownKeyError(`no signing key ${kid}`);
  if (key.state === 'active') {
    if (opts.configured === undefined || opts.configured.includes(key.alg))
      throw new KeyStateError(`key ${kid} is the active key: rotate first`);
    return (await store.demote(kid, now + (opts.gracePeriod ?? 0)))
      ? { type: 'key_retired', kid, alg: key.alg }
      : undefined;
  }
  if (key.state === 'retired') return undefined;
  return (await store.retire(kid, now, { early: true })) ? { type: 'key_retired', kid, alg: key.alg } : undefined;
}

/**
 * Carries out the schedule's due transitions for the algorithms of `algs` and those that still
 * have an active key (each on its own lifecycle). Every process may run this at once: each storage
 * operation is conditional, so one new key is prepublished per algorithm, one promotion and one
 * retirement of each key happen; the returned list holds what this call did.
 */
export async function runKeySchedule(
  store: KeyStore,
  kek: Keks,
  algs: SigningAlg | readonly SigningAlg[],
  settings: ScheduleSettings,
  now: number,
): Promise<KeyTransition[]> {
  const records = await store.list();
  const scheduled = [...new Set([...(typeof algs === 'string' ? [algs] : algs), ...activeAlgorithms(records)])];
  const done: KeyTransition[] = [];
  for (const t of dueTransitions(records, now, settings, scheduled)) {
    if (t.type === 'prepublish') {
      const key = await generateSigningKey(t.alg as SigningAlg, kek, now, t.activatesAt);
      if (await store.prepublish(key))
        done.push({ type: 'key_prepublished', kid: key.kid, alg: t.alg, activatesAt: t.activatesAt });
    } else if (t.type === 'promote') {
      if (await store.promote(t.from, t.to, t.graceUntil, now))
        done.push({ type: 'key_rotated', kid: t.to, alg: t.alg, previous: t.from, prepublished: true });
    } else {
      const r = records.find((x) => x.kid === t.kid)!;
      if (await store.retire(t.kid, now, { early: false })) done.push({ type: 'key_retired', kid: t.kid, alg: r.alg });
    }
  }
  return done;
}

/**
 * Re-wraps every stored private key under the current KEK (TESSERA_KEY_ENCRYPTION_KEY). Checks
 * every key first and changes nothing when one opens under none of the configured KEKs. Each
 * key is replaced by a conditional update (only if still the JWE read), so it is atomic per key
 * and running it twice, or from two places, is harmless.
 */
export async function rewrapSigningKeys(
  store: KeyStore,
  keks: Keks,
): Promise<{ rewrapped: number; unchanged: number; total: number }> {
  const records = await store.list();
  const opened: { record: SigningKeyRecord; jwk: JWK; index: number }[] = [];
  const failed: string[] = [];
  for (const record of records) {
    try {
      opened.push({ record, ...(await unwrapWithAny(keks, record.privateJwe)) });
    } catch {
      failed.push(record.kid);
    }
  }
  if (failed.length)
    throw new KeyStateError(
      `cannot decrypt signing key(s) ${failed.join(', ')} with TESSERA_KEY_ENCRYPTION_KEY or TESSERA_KEY_ENCRYPTION_KEY_PREVIOUS; nothing was changed`,
    );
  let rewrapped = 0;
  for (const { record, jwk, index } of opened) {
    if (index === 0) continue;
    if (await store.rewrap(record.kid, record.privateJwe, await wrapPrivateJwk(currentKek(keks), jwk))) rewrapped++;
  }
  return { rewrapped, unchanged: records.length - rewrapped, total: records.length };
}
