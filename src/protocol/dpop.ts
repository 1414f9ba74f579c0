// DPoP (RFC 9449): verification of the proofs clients send in the DPoP header, and the server
// nonces they may be asked to include. No HTTP or SQL here: the request comes in as a
// ProtocolRequest, replays are caught through the ReplayStore port.
import {
  EmbeddedJWK,
  calculateJwkThumbprint,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWK,
  type JWTPayload,
} from 'jose';
import { OAuthError, type OAuthErrorCode } from './errors.ts';
import { featureEnabled } from '../config/features.ts';
import { keyedHash, safeEqual, tokenHash } from './hash.ts';
import type { Stores } from '../ports/index.ts';
import type { Provider, ProtocolRequest } from './provider.ts';
import { publicKeyProblem } from './tokens/key-limits.ts';

/** What the nonces use of the Provider: its secrets, clock and the replay cache's generation. */
export type DpopNonceDeps = Pick<Provider, 'config' | 'now'> & { readonly stores: Pick<Stores, 'replay'> };
/** What proof verification uses: the nonces' deps, and where refusals are reported. */
export type DpopProofDeps = DpopNonceDeps & Pick<Provider, 'events'>;

/** Asymmetric JWS algorithms accepted for proofs (never `none`, never HMAC). */
export const DPOP_ALGS: readonly string[] = [
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'RS256',
  'RS384',
  'RS512',
  'EdDSA',
  'Ed25519',
];
/** Longest DPoP header accepted (an RSA-4096 key with its claims stays well below). */
export const MAX_PROOF_LENGTH = 8192;
/** How far in the future a proof's iat may lie (clock skew), seconds. */
export const FUTURE_SKEW = 10;
/** A server nonce is good for the slot it was issued in and the next one. */
export const NONCE_SLOT = 300;
const MAX_JTI_LENGTH = 256;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

export interface DpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's public key: what tokens are bound to (cnf.jkt). */
  jkt: string;
  jwk: JWK;
}

export interface ProofExpectation {
  /** The request's method and the endpoint's URL (the issuer's URL for it, not the Host header). */
  htm: string;
  htu: string;
  /** At a resource endpoint: the access token the proof must be bound to through `ath`. */
  accessToken?: string;
  /** For events only. */
  clientId?: string;
  /** Resource endpoints answer 401 with a DPoP challenge; the token and PAR endpoints 400. */
  resource?: boolean;
}

/**
 * The nonce for a time slot: an HMAC under the server secret, so every instance computes the same
 * one. With a replay cache that can lose its markers (Redis), the nonce also depends on the
 * cache's generation: a nonce given out before a loss is worthless after it, so a proof with a
 * valid nonce was made after the last loss.
 */
function nonceFor(p: DpopNonceDeps, slot: number, secret = p.config.secret): string {
  const epoch = p.stores.replay.epoch?.(p.now());
  return keyedHash(secret, epoch ? `dpop-nonce:g${epoch.generation}:${slot}` : `dpop-nonce:${slot}`);
}

/** The nonce clients should use now. */
export function currentNonce(p: DpopNonceDeps): string {
  return nonceFor(p, Math.floor(p.now() / NONCE_SLOT));
}

function nonceIsValid(p: DpopNonceDeps, nonce: unknown): boolean {
  if (typeof nonce !== 'string' || nonce.length > 64) return false;
  const slot = Math.floor(p.now() / NONCE_SLOT);
  // Both comparisons always run, so the time taken does not tell which slot matched.
  const now = safeEqual(nonce, nonceFor(p, slot));
  const before = safeEqual(nonce, nonceFor(p, slot - 1));
  if (now || before) return true;
  // During a rotation of TESSERA_SECRET, nonces issued under the previous secret are still good.
  const previous = p.config.secretPrevious;
  if (previous === undefined) return false;
  // The same nonce as nonceFor makes (with the replay cache's generation), under the previous secret.
  const prevNow = safeEqual(nonce, nonceFor(p, slot, previous));
  const prevBefore = safeEqual(nonce, nonceFor(p, slot - 1, previous));
  return prevNow || prevBefore;
}

/**
 * Nonces are required when configured, and while the replay cache recovers from a loss (RFC 9449
 * section 8): proofs made before the loss may have been claimed in the markers lost, and a nonce
 * of the new generation proves a proof is newer, so honest clients get through at once.
 */
function nonceRequired(p: DpopNonceDeps): boolean {
  return p.config.dpopRequireNonce || p.stores.replay.epoch?.(p.now())?.recovering === true;
}

/** Headers every response of a DPoP-aware endpoint carries: a fresh nonce when nonces are required. */
export function dpopNonceHeaders(p: DpopNonceDeps): Record<string, string> {
  return nonceRequired(p) ? { 'dpop-nonce': currentNonce(p) } : {};
}

/** The WWW-Authenticate challenge of a resource endpoint (RFC 9449 section 7.1). */
export function dpopChallenge(error?: { code: string; description: string }): string {
  const parts = ['realm="tessera"'];
  if (error) parts.push(`error="${error.code}"`, `error_description="${error.description.replace(/["\\]/g, '')}"`);
  parts.push(`algs="${DPOP_ALGS.join(' ')}"`);
  return `DPoP ${parts.join(', ')}`;
}

/** base64url SHA-256 of an access token: the `ath` claim of a proof that goes with it. */
export function accessTokenHash(token: string): string {
  return tokenHash(token);
}

/** The request's DPoP header, or undefined when there is none. Several headers are an error. */
function proofHeader(req: ProtocolRequest): string | undefined {
  const v = req.headers.dpop;
  if (Array.isArray(v)) return v.length === 0 ? undefined : '\0';
  return v;
}

/** Compares htu with the endpoint URL, both without query and fragment (RFC 9449 section 4.3). */
function sameTarget(htu: string, expected: string): boolean {
  let a: URL;
  try {
    a = new URL(htu);
  } catch {
    return false;
  }
  const b = new URL(expected);
  a.search = '';
  a.hash = '';
  b.search = '';
  b.hash = '';
  return a.href === b.href;
}

/**
 * Verifies the request's DPoP proof against what the endpoint expects. Returns undefined when the
 * request carries no proof (the caller decides whether one is required), the proof's key when it
 * is valid, and throws `invalid_dpop_proof` or `use_dpop_nonce` otherwise. A valid proof's jti is
 * recorded in the replay store, so each proof is accepted once across every process and instance.
 */
export async function verifyDpopProof(
  p: DpopProofDeps,
  req: ProtocolRequest,
  expect: ProofExpectation,
): Promise<DpopProof | undefined> {
  const value = proofHeader(req);
  if (value === undefined) return undefined;
  if (!featureEnabled(p.config, 'dpop'))
    throw new OAuthError('invalid_request', 'DPoP is not supported: it is disabled on this server.', {
      status: expect.resource ? 401 : 400,
    });
  const status = expect.resource ? 401 : 400;
  const nonceHeaders = dpopNonceHeaders(p);
  const refuse = (reason: string, description: string, code: OAuthErrorCode = 'invalid_dpop_proof'): OAuthError => {
    p.events({ type: 'dpop_proof_refused', reason, clientId: expect.clientId, ip: req.ip });
    const headers: Record<string, string> = { ...nonceHeaders };
    if (code === 'use_dpop_nonce' && !headers['dpop-nonce']) headers['dpop-nonce'] = currentNonce(p);
    if (expect.resource) headers['www-authenticate'] = dpopChallenge({ code, description });
    return new OAuthError(code, description, { status, detail: `DPoP proof refused: ${reason}`, headers });
  };

  if (value.length === 0 || value.length > MAX_PROOF_LENGTH)
    throw refuse('size', 'The DPoP proof is missing or too large.');
  let protectedHeader: ReturnType<typeof decodeProtectedHeader>;
  try {
    protectedHeader = decodeProtectedHeader(value);
  } catch {
    throw refuse('malformed', 'The DPoP proof is not a valid JWT.');
  }
  if (value.split('.').length !== 3) throw refuse('malformed', 'The DPoP proof is not a valid JWT.');
  if (protectedHeader.typ !== 'dpop+jwt') throw refuse('typ', 'The DPoP proof must have typ dpop+jwt.');
  if (typeof protectedHeader.alg !== 'string' || !DPOP_ALGS.includes(protectedHeader.alg))
    throw refuse('alg', 'The DPoP proof must be signed with an asymmetric algorithm.');
  const jwk = protectedHeader.jwk;
  if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk))
    throw refuse('jwk', 'The DPoP proof must carry its public key in jwk.');
  if (PRIVATE_MEMBERS.some((m) => m in jwk)) throw refuse('private_key', 'The DPoP proof key must be a public key.');
  if (publicKeyProblem(jwk))
    throw refuse(
      'key',
      'The DPoP proof key is refused: RSA keys must have e = 65537 and 2048 to 4096 bits, EC keys a P-256, P-384 or P-521 curve.',
    );

  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(value, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: [...DPOP_ALGS],
      requiredClaims: ['jti', 'htm', 'htu', 'iat'],
      currentDate: new Date(p.now() * 1000),
      // iat is checked below against the configured window, with the server's clock.
      clockTolerance: Number.MAX_SAFE_INTEGER,
    }));
  } catch (err) {
    if (err instanceof joseErrors.JWSSignatureVerificationFailed)
      throw refuse('signature', 'The DPoP proof signature is invalid.');
    if (err instanceof joseErrors.JWTClaimValidationFailed)
      throw refuse('claims', 'The DPoP proof lacks a required claim.');
    throw refuse('malformed', 'The DPoP proof could not be verified.');
  }
  const { jti, htm, htu, iat } = payload as { jti: unknown; htm: unknown; htu: unknown; iat: unknown };
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH)
    throw refuse('jti', 'The DPoP proof jti is missing or too long.');
  if (htm !== expect.htm) throw refuse('htm', 'The DPoP proof is for another HTTP method.');
  if (typeof htu !== 'string' || !sameTarget(htu, expect.htu))
    throw refuse('htu', 'The DPoP proof is for another URL.');
  const now = p.now();
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw refuse('iat', 'The DPoP proof iat is invalid.');
  if (now - iat > p.config.dpopProofWindow) throw refuse('iat', 'The DPoP proof is too old.');
  if (iat - now > FUTURE_SKEW) throw refuse('iat', 'The DPoP proof is dated in the future.');
  if (expect.accessToken !== undefined) {
    const ath = payload.ath;
    if (typeof ath !== 'string' || !safeEqual(ath, accessTokenHash(expect.accessToken)))
      throw refuse('ath', 'The DPoP proof is not bound to this access token.');
  }
  const nonceRequest = () => refuse('nonce', 'Authorization server requires nonce in DPoP proof.', 'use_dpop_nonce');
  // A valid nonce is of the replay cache's current generation: the proof was made after its last loss.
  const nonced = nonceIsValid(p, payload.nonce);
  if (!nonced && nonceRequired(p)) throw nonceRequest();
  const madeIn = nonced ? p.stores.replay.epoch?.(now)?.generation : undefined;
  const jkt = await calculateJwkThumbprint(jwk as JWK, 'sha256');
  // The key expires after the last moment the proof could still be accepted by its iat.
  const key = `dpop:${jkt}:${jti}`;
  const expires = Math.floor(iat) + p.config.dpopProofWindow + 1;
  const earliest = Math.floor(iat) - FUTURE_SKEW;
  let fresh = await p.stores.replay.claim(key, expires, now, earliest, madeIn);
  const epoch = fresh ? undefined : p.stores.replay.epoch?.(now);
  if (epoch?.recovering) {
    // The claim found the replay cache lost (here or by another instance), and the proof, dated
    // before the loss and not known to be newer, was refused: an honest client gets a nonce of
    // the new generation and retries at once. A proof whose nonce turns out to be of the new
    // generation (this process learnt of it during the claim) is newer than the loss.
    if (!nonceIsValid(p, payload.nonce)) throw nonceRequest();
    if (epoch.generation !== madeIn) fresh = await p.stores.replay.claim(key, expires, now, earliest, epoch.generation);
  }
  if (!fresh) {
    p.events({ type: 'dpop_replay', clientId: expect.clientId, ip: req.ip });
    throw new OAuthError('invalid_dpop_proof', 'The DPoP proof was already used.', {
      status,
      detail: 'DPoP proof replayed',
      headers: {
        ...nonceHeaders,
        ...(expect.resource
          ? {
              'www-authenticate': dpopChallenge({
                code: 'invalid_dpop_proof',
                description: 'The DPoP proof was already used.',
              }),
            }
          : {}),
      },
    });
  }
  return { jkt, jwk: jwk as JWK };
}
