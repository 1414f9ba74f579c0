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

/**
 * The signing keys as the server uses them: the active key ready to sign, every published key
 * ready to verify, and the JWKS document prepared once as bytes with its ETag.
 */
export class KeyRing {
  active: SigningKey;
  readonly verification: Map<string, VerificationKey>;
  readonly jwksBody: Buffer;
  readonly jwksEtag: string;
  readonly records: readonly SigningKeyRecord[];
  /** Algorithms of the published keys: the allow-list when verifying. */
  readonly algorithms: SigningAlg[];

  constructor(active: SigningKey, records: SigningKeyRecord[]) {
    this.active = active;
    this.records = records;
    const published = records.filter((r) => r.state === 'active');
    this.verification = new Map(published.map((r) => [r.kid, { kid: r.kid, alg: r.alg as SigningAlg, key: createPublicKey({ key: r.publicJwk as never, format: 'jwk' }) }]));
    this.jwksBody = Buffer.from(JSON.stringify({ keys: published.map((r) => r.publicJwk) }));
    this.algorithms = [...new Set([...this.verification.values()].map((k) => k.alg))];
    this.jwksEtag = `"${published.map((r) => r.kid).join('.').slice(0, 200)}"`;
  }


}

/** Loads the keys from storage, creating the first one if none is active. */
export async function loadKeyRing(store: KeyStore, kek: string, alg: SigningAlg, now: number): Promise<KeyRing> {
  if (!ALGS.includes(alg)) throw new Error(`unsupported signing algorithm ${alg}`);
  let records = await store.list();
  if (!records.some((r) => r.state === 'active')) {
    await store.insert(await generateSigningKey(alg, kek, now), true);
    records = await store.list();
  }
  const activeRecord = records.filter((r) => r.state === 'active').sort((a, b) => b.createdAt - a.createdAt)[0];
  if (!activeRecord) throw new Error('no active signing key');
  let jwk: JWK;
  try {
    jwk = await unwrapPrivateJwk(kek, activeRecord.privateJwe);
  } catch {
    throw new Error(`cannot decrypt signing key ${activeRecord.kid}: TESSERA_KEY_ENCRYPTION_KEY is not the key it was stored under`);
  }
  return new KeyRing(importSigningKey(activeRecord.kid, activeRecord.alg as SigningAlg, jwk as Record<string, unknown>), records);
}
