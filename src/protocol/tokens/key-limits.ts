// Limits on the public keys others hand Tessera: the jwk of a DPoP proof, a client's jwks (inline
// or fetched from its jwks_uri; used for client assertions and request objects) and the keys of a
// token-exchange trusted issuer. They are checked on the JWK's members alone, before the key is
// imported or anything is verified with it: an RSA key with a huge modulus or a huge public
// exponent makes every signature check cost milliseconds of CPU (a 16384-bit modulus, or a
// 3072-bit one with a 3071-bit exponent), which anyone able to send a DPoP proof could repeat.

/** RSA moduli accepted, in bits. */
export const RSA_MIN_BITS = 2048;
export const RSA_MAX_BITS = 4096;
/** The one RSA public exponent accepted: 65537 (AQAB). */
export const RSA_EXPONENT = 'AQAB';

/** Named curves and the length of their coordinates, in bytes. */
const EC_CURVES: Readonly<Record<string, number>> = { 'P-256': 32, 'P-384': 48, 'P-521': 66 };
const OKP_CURVES: Readonly<Record<string, number>> = { Ed25519: 32, Ed448: 57 };

const B64URL = /^[A-Za-z0-9_-]*$/;
/** Base64url text (no padding) of at most `maxBytes` bytes, decoded; undefined otherwise. */
function decoded(v: unknown, maxBytes: number): Buffer | undefined {
  if (typeof v !== 'string' || v.length > Math.ceil((maxBytes * 4) / 3) || !B64URL.test(v) || v.length % 4 === 1)
    return undefined;
  return Buffer.from(v, 'base64url');
}

/** Bit length of a big-endian unsigned integer. */
function bitLength(b: Buffer): number {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  if (i === b.length) return 0;
  return (b.length - i - 1) * 8 + (32 - Math.clz32(b[i]!));
}

/**
 * Why a public JWK is refused before use, or undefined when it is within the limits: RSA with
 * e = 65537 and a modulus of 2048 to 4096 bits; EC on P-256, P-384 or P-521 with coordinates of
 * the curve's length; OKP Ed25519 or Ed448. Other key types are refused.
 */
export function publicKeyProblem(jwk: unknown): string | undefined {
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) return 'is not a JWK object';
  const k = jwk as Record<string, unknown>;
  switch (k.kty) {
    case 'RSA': {
      if (k.e !== RSA_EXPONENT) return 'RSA public exponent must be 65537 (e "AQAB")';
      const n = decoded(k.n, RSA_MAX_BITS / 8 + 1);
      const bits = n ? bitLength(n) : 0;
      if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS)
        return `RSA modulus must be ${RSA_MIN_BITS} to ${RSA_MAX_BITS} bits`;
      return undefined;
    }
    case 'EC': {
      const size = typeof k.crv === 'string' && Object.hasOwn(EC_CURVES, k.crv) ? EC_CURVES[k.crv]! : 0;
      if (!size) return `EC curve must be one of ${Object.keys(EC_CURVES).join(', ')}`;
      if (decoded(k.x, size)?.length !== size || decoded(k.y, size)?.length !== size)
        return `EC coordinates must be ${size} bytes for ${k.crv as string}`;
      return undefined;
    }
    case 'OKP': {
      const size = typeof k.crv === 'string' && Object.hasOwn(OKP_CURVES, k.crv) ? OKP_CURVES[k.crv]! : 0;
      if (!size) return `OKP curve must be one of ${Object.keys(OKP_CURVES).join(', ')}`;
      if (decoded(k.x, size)?.length !== size) return `OKP key must be ${size} bytes for ${k.crv as string}`;
      return undefined;
    }
    default:
      return 'kty must be RSA, EC or OKP';
  }
}
