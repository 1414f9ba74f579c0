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

function signature(key: SigningKey, input: Buffer): Buffer {
  switch (key.alg) {
    case 'ES256':
      return sign('sha256', input, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
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
  const input = `${encodedHeader(key, typ)}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${input}.${signature(key, Buffer.from(input)).toString('base64url')}`;
}
