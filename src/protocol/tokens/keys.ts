import { hkdfSync } from 'node:crypto';
import { calculateJwkThumbprint, compactDecrypt, CompactEncrypt, exportJWK, generateKeyPair, type JWK } from 'jose';
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { SigningAlg } from '../../config/config.ts';
import type { KeyStore, SigningKeyRecord } from '../../ports/keys.ts';
import { importSigningKey, type SigningKey } from './signer.ts';

const ALGS: readonly SigningAlg[] = ['ES256', 'RS256', 'PS256', 'EdDSA'];

/** Derives the AES-256-GCM wrapping key from the configured key-encryption key. */
function wrappingKey(kek: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', Buffer.from(kek), Buffer.alloc(0), 'tessera signing-key wrap v1', 32));
}

export async function wrapPrivateJwk(kek: string, jwk: JWK): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(jwk)))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
    .encrypt(wrappingKey(kek));
}

export async function unwrapPrivateJwk(kek: string, jwe: string): Promise<JWK> {
  const { plaintext } = await compactDecrypt(jwe, wrappingKey(kek), { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] });
  return JSON.parse(new TextDecoder().decode(plaintext)) as JWK;
}

/** Makes a new key pair and its stored form (private part wrapped under the KEK). */
export async function generateSigningKey(alg: SigningAlg, kek: string, now: number): Promise<SigningKeyRecord> {
  const opts = alg === 'RS256' || alg === 'PS256' ? { modulusLength: 2048, extractable: true } : alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : { extractable: true };
  const { publicKey, privateKey } = await generateKeyPair(alg, opts);
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  const priv = await exportJWK(privateKey);
  return {
    kid, alg, state: 'active',
    publicJwk: { ...pub, kid, use: 'sig', alg },
    privateJwe: await wrapPrivateJwk(kek, { ...priv, kid, alg }),
    createdAt: now, retiredAt: null,
  };
}

export interface VerificationKey {
  kid: string;
  alg: SigningAlg;
  key: KeyObject;
}

/** Keys in the JWKS: the active one and those in grace until their end. */
export function isPublished(r: SigningKeyRecord, now: number): boolean {
  return r.state === 'active' || (r.state === 'grace' && r.retiredAt !== null && r.retiredAt > now);
}

/** What identifies a key set: a ring is rebuilt only when this changes. */
function fingerprint(records: readonly SigningKeyRecord[], now: number): string {
  return records.filter((r) => isPublished(r, now)).map((r) => `${r.kid}:${r.state}`).sort().join(',');
}

/**
 * The signing keys as the server uses them: the active key ready to sign, every published key
 * ready to verify, and the JWKS document prepared once as bytes with its ETag.
 */
export class KeyRing {
  readonly active: SigningKey;
  readonly verification: Map<string, VerificationKey>;
  readonly jwksBody: Buffer;
  readonly jwksEtag: string;
  readonly records: readonly SigningKeyRecord[];
  readonly fingerprint: string;
  /** Algorithms of the published keys: the allow-list when verifying. */
  readonly algorithms: SigningAlg[];

  constructor(active: SigningKey, records: SigningKeyRecord[], now: number) {
    this.active = active;
    this.records = records;
    this.fingerprint = fingerprint(records, now);
    const published = records.filter((r) => isPublished(r, now)).sort((a, b) => (a.state === 'active' ? -1 : b.state === 'active' ? 1 : b.createdAt - a.createdAt));
    this.verification = new Map(published.map((r) => [r.kid, { kid: r.kid, alg: r.alg as SigningAlg, key: createPublicKey({ key: r.publicJwk as never, format: 'jwk' }) }]));
    this.jwksBody = Buffer.from(JSON.stringify({ keys: published.map((r) => r.publicJwk) }));
    this.algorithms = [...new Set([...this.verification.values()].map((k) => k.alg))];
    this.jwksEtag = `"${published.map((r) => r.kid).join('.').slice(0, 200)}"`;
  }
}

async function activeKey(kek: string, record: SigningKeyRecord): Promise<SigningKey> {
  let jwk: JWK;
  try {
    jwk = await unwrapPrivateJwk(kek, record.privateJwe);
  } catch {
    throw new Error(`cannot decrypt signing key ${record.kid}: TESSERA_KEY_ENCRYPTION_KEY is not the key it was stored under`);
  }
  return importSigningKey(record.kid, record.alg as SigningAlg, jwk as Record<string, unknown>);
}

/**
 * Loads the keys from storage, creating the first one if none is active. Given the ring in use,
 * returns it unchanged when the published keys are the same (the periodic reload that lets every
 * instance see a rotation made elsewhere).
 */
export async function loadKeyRing(store: KeyStore, kek: string, alg: SigningAlg, now: number, current?: KeyRing): Promise<KeyRing> {
  if (!ALGS.includes(alg)) throw new Error(`unsupported signing algorithm ${alg}`);
  let records = await store.list();
  if (!records.some((r) => r.state === 'active')) {
    await store.insert(await generateSigningKey(alg, kek, now), true);
    records = await store.list();
  }
  if (current && current.fingerprint === fingerprint(records, now)) return current;
  const activeRecord = records.filter((r) => r.state === 'active').sort((a, b) => b.createdAt - a.createdAt)[0];
  if (!activeRecord) throw new Error('no active signing key');
  const active = current?.active.kid === activeRecord.kid ? current.active : await activeKey(kek, activeRecord);
  return new KeyRing(active, records, now);
}

/**
 * Rotates now: a new active key, the old one kept in the JWKS (grace) until every token it signed
 * has expired. Safe to run from several places at once: exactly one rotation happens.
 */
export async function rotateSigningKey(store: KeyStore, kek: string, alg: SigningAlg, maxTokenLifetime: number, now: number): Promise<{ rotated: boolean; kid: string }> {
  const current = (await store.list()).find((r) => r.state === 'active');
  const next = await generateSigningKey(alg, kek, now);
  if (!current) return { rotated: await store.insert(next, true), kid: next.kid };
  const rotated = await store.rotate(current.kid, next, now + maxTokenLifetime + 60);
  return { rotated, kid: next.kid };
}

/** Retires a key in grace at once (it leaves the JWKS); the active key cannot be retired. */
export async function retireSigningKey(store: KeyStore, kid: string, now: number): Promise<void> {
  const key = (await store.list()).find((r) => r.kid === kid);
  if (!key) throw new Error(`no signing key ${kid}`);
  if (key.state === 'active') throw new Error(`key ${kid} is the active key: rotate first`);
  if (key.state !== 'retired') await store.setState(kid, 'retired', now);
}
