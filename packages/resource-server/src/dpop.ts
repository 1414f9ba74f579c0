// RFC 9449 section 4.3 and 7.1: the DPoP proof that comes with a DPoP-bound access token. jose checks
// the signature with the key embedded in the proof (public keys only) and computes its RFC 7638
// thumbprint; this file checks what the proof says about the request and the token.
import { createHash, timingSafeEqual } from 'node:crypto';
import { calculateJwkThumbprint, EmbeddedJWK, errors as joseErrors, jwtVerify, type JWK } from 'jose';
import { InvalidDpopProofError, ServiceUnavailableError } from './errors.ts';
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
  /** Seconds since the epoch. */
  now: () => number;
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
