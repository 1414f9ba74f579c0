// RFC 9449 section 4.3 and 7.1: the DPoP proof that comes with a DPoP-bound access token. jose checks
// the signature with the key embedded in the proof (public keys only) and computes its RFC 7638
// thumbprint; this file checks what the proof says about the request and the token.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { calculateJwkThumbprint, EmbeddedJWK, errors as joseErrors, jwtVerify, type JWK } from 'jose';
import { InvalidDpopProofError, ServiceUnavailableError, UseDpopNonceError } from './errors.ts';
import { MAX_CREDENTIAL_LENGTH } from './request.ts';
import type { ReplayStore } from './replay-store.ts';

/** Asymmetric algorithms accepted in proofs by default. */
export const DEFAULT_DPOP_ALGORITHMS = [
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'RS256',
  'EdDSA',
  'Ed25519',
];

export interface DpopCheck {
  proof: string;
  method: string;
  /** The request URL as the client addressed it. */
  url: URL;
  accessToken: string;
  /** The cnf.jkt of the token. */
  jkt: string;
}

export interface DpopVerifyOptions {
  algorithms: readonly string[];
  /** Seconds a proof stays acceptable after its iat. */
  proofWindow: number;
  clockSkew: number;
  replay: ReplayStore;
  /** Server nonces (RFC 9449 section 9), when required. */
  nonces?: DpopNonces;
  /** Seconds since the epoch. */
  now: () => number;
}

/** Seconds one nonce is handed out for; the previous one is still accepted, so each lives up to twice this. */
export const NONCE_PERIOD = 300;

/**
 * Stateless server nonces: an HMAC of the time period under a secret, so every instance sharing the secret accepts
 * the nonces of the others without shared state. The current and the previous period's nonces are accepted.
 */
export class DpopNonces {
  readonly #secret: Buffer;
  constructor(secret: string) {
    if (Buffer.byteLength(secret) < 32) throw new Error('dpop.nonceSecret must have at least 32 bytes');
    this.#secret = Buffer.from(secret);
  }
  #at(period: number): string {
    return createHmac('sha256', this.#secret).update(`tessera-rs-dpop-nonce:${period}`).digest('base64url');
  }
  /** The nonce to hand out now. */
  current(now: number): string {
    return this.#at(Math.floor(now / NONCE_PERIOD));
  }
  /** Whether `nonce` is the current or the previous period's. */
  accepts(nonce: unknown, now: number): boolean {
    if (typeof nonce !== 'string') return false;
    const period = Math.floor(now / NONCE_PERIOD);
    return sameText(nonce, this.#at(period)) || sameText(nonce, this.#at(period - 1));
  }
}

/** The URL without query and fragment, as htu is compared (RFC 9449 section 4.3, step 9). */
export function htuOf(url: URL | string): string | undefined {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return undefined;
  }
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Verifies a proof for a request carrying a DPoP-bound token; throws InvalidDpopProofError. */
export async function verifyDpopProof(c: DpopCheck, o: DpopVerifyOptions): Promise<void> {
  if (c.proof.length > MAX_CREDENTIAL_LENGTH) throw new InvalidDpopProofError('The DPoP proof is too long.');
  let payload: Record<string, unknown>;
  let jwk: JWK;
  try {
    const verified = await jwtVerify(c.proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: [...o.algorithms],
      requiredClaims: ['jti', 'htm', 'htu', 'iat'],
      clockTolerance: o.clockSkew,
      currentDate: new Date(o.now() * 1000),
    });
    payload = verified.payload;
    jwk = verified.protectedHeader.jwk as JWK;
  } catch (err) {
    const why =
      err instanceof joseErrors.JOSEAlgNotAllowed
        ? 'The DPoP proof uses an algorithm not accepted here.'
        : err instanceof joseErrors.JWSSignatureVerificationFailed
          ? 'The DPoP proof signature is invalid.'
          : 'The DPoP proof is malformed.';
    throw new InvalidDpopProofError(why, { cause: err });
  }
  const now = o.now();
  const { jti, htm, htu, iat, ath } = payload;
  if (typeof jti !== 'string' || jti.length < 8 || jti.length > 256)
    throw new InvalidDpopProofError('The DPoP proof jti is malformed.');
  if (htm !== c.method) throw new InvalidDpopProofError('The DPoP proof is for another HTTP method.');
  const expected = htuOf(c.url);
  if (typeof htu !== 'string' || expected === undefined || htuOf(htu) !== expected)
    throw new InvalidDpopProofError('The DPoP proof is for another URL.');
  if (typeof iat !== 'number' || iat > now + o.clockSkew || iat < now - o.proofWindow - o.clockSkew)
    throw new InvalidDpopProofError('The DPoP proof is too old or from the future.');
  const hash = createHash('sha256').update(c.accessToken).digest('base64url');
  if (typeof ath !== 'string' || !sameText(ath, hash))
    throw new InvalidDpopProofError('The DPoP proof is for another access token (ath).');
  const thumbprint = await calculateJwkThumbprint(jwk, 'sha256');
  if (!sameText(thumbprint, c.jkt))
    throw new InvalidDpopProofError('The DPoP proof is signed by a key other than the one the token is bound to.');
  if (o.nonces && !o.nonces.accepts(payload.nonce, now))
    throw new UseDpopNonceError('A DPoP proof with the server nonce is required.', o.nonces.current(now));
  // Last, once everything else holds: a proof is accepted once (RFC 9449 section 11.1), keyed by key and jti.
  const id = createHash('sha256').update(`${thumbprint}\0${jti}`).digest('base64url');
  let fresh: boolean;
  try {
    fresh = await o.replay.add(id, o.proofWindow + 2 * o.clockSkew);
  } catch (err) {
    throw new ServiceUnavailableError('The DPoP replay store is unavailable.', { cause: err });
  }
  if (!fresh) throw new InvalidDpopProofError('The DPoP proof was used before.');
}
