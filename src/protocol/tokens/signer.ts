// The one place where Tessera signs its own JWTs. It uses node:crypto's synchronous signer, which
// on this platform costs far less per signature than WebCrypto; everything that parses or verifies
// a JWT goes through jose, and signer.test.ts verifies this module's output with jose.
import { constants, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import type { SigningAlg } from '../../config/config.ts';

export interface SigningKey {
  kid: string;
  alg: SigningAlg;
  privateKey: KeyObject;
  /** base64url of the protected header prefix for access tokens and ID tokens, prepared once. */
  headers: Map<string, string>;
}

export function importSigningKey(kid: string, alg: SigningAlg, privateJwk: Record<string, unknown>): SigningKey {
  const privateKey = createPrivateKey({ key: privateJwk as never, format: 'jwk' });
  return { kid, alg, privateKey, headers: new Map() };
}

function encodedHeader(key: SigningKey, typ: string): string {
  let h = key.headers.get(typ);
  if (h === undefined) {
    h = Buffer.from(JSON.stringify({ alg: key.alg, typ, kid: key.kid })).toString('base64url');
    key.headers.set(typ, h);
  }
  return h;
}

/**
 * An ECDSA signature from DER (SEQUENCE { INTEGER r, INTEGER s }) to the JWS form: r and s as
 * fixed-size big-endian integers, concatenated (RFC 7518 section 3.4). node:crypto can emit
 * that form itself (dsaEncoding 'ieee-p1363'), but passing any options object makes it prepare
 * the key again on every call, which costs more than the signature; the plain-KeyObject call
 * returns DER, converted here.
 */
export function derToJose(der: Buffer, size: number, out: Buffer = Buffer.alloc(size * 2)): Buffer {
  out.fill(0, 0, size * 2);
  // P-256 signatures are at most 72 bytes, so every DER length here is one byte.
  if (der[0] !== 0x30 || der[1] !== der.length - 2) throw new Error('unexpected ECDSA signature encoding');
  let at = 2;
  for (let part = 0; part < 2; part++) {
    if (der[at] !== 0x02) throw new Error('unexpected ECDSA signature encoding');
    let len = der[at + 1]!;
    let start = at + 2;
    at = start + len;
    while (len > size && der[start] === 0) {
      start++;
      len--;
    }
    if (len > size) throw new Error('unexpected ECDSA signature encoding');
    der.copy(out, part * size + size - len, start, start + len);
  }
  return out;
}

// Scratch room reused by signJwt (synchronous, so one call at a time): the bytes of the payload
// and of the signing input, and the JWS form of an ES256 signature. Each is read (encoded or
// signed) before the next call writes it again; none leaves this module.
let scratch = Buffer.allocUnsafe(8192);
const es256 = Buffer.allocUnsafe(64);

/** The UTF-8 bytes of `s` in the scratch buffer (grown when too small). */
function scratchBytes(s: string): Buffer {
  const n = Buffer.byteLength(s);
  if (n > scratch.length) scratch = Buffer.allocUnsafe(2 * n);
  scratch.write(s, 0, n, 'utf8');
  return scratch.subarray(0, n);
}

function signature(key: SigningKey, input: Buffer): Buffer {
  switch (key.alg) {
    case 'ES256':
      return derToJose(sign('sha256', input, key.privateKey), 32, es256);
    case 'RS256':
      return sign('sha256', input, key.privateKey);
    case 'PS256':
      return sign('sha256', input, { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    case 'EdDSA':
      return sign(null, input, key.privateKey);
  }
}

/** Signs `payload` as a compact JWS with header {alg, typ, kid}. */
export function signJwt(key: SigningKey, typ: string, payload: object): string {
  const input = `${encodedHeader(key, typ)}.${scratchBytes(JSON.stringify(payload)).toString('base64url')}`;
  return `${input}.${signature(key, scratchBytes(input)).toString('base64url')}`;
}
