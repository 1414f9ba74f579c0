// The refresh-token reuse grace (TESSERA_REFRESH_REUSE_GRACE, docs/mcp.md "Refresh for clients
// that share a token store"): a rotation keeps its token response, sealed, so that the same client
// presenting the same refresh token again within the window (another process of it, sharing one
// token store) gets the same successor instead of having its family revoked.
//
// The response is sealed the way signing keys and client secrets are wrapped (protocol/tokens/keys.ts,
// client-auth/secret-hash.ts): a compact JWE, dir / A256GCM, under a key derived by HKDF from the
// key-encryption key with a label of its own. Here the HKDF salt is also the presented refresh token's
// value, which the database never holds (only its hash): a copy of the database and the KEK together
// still do not open a sealed response without the token it answers. It is sealed synchronously
// (node:crypto), because the rotation's `next` runs inside the store's transaction and must be a
// pure, synchronous function (ports/grants.ts); it is opened with jose, as the other wrapped values are.
import { createCipheriv, hash, hkdfSync, randomBytes } from 'node:crypto';
import { compactDecrypt } from 'jose';
import type { TokenResponse } from './grant.ts';

const LABEL = 'tessera refresh-grace v1';
const HEADER = Buffer.from(JSON.stringify({ alg: 'dir', enc: 'A256GCM' })).toString('base64url');

/** The AES-256-GCM key of one rotation's sealed response: the KEK and the presented token's value. */
function graceKey(kek: string, presented: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', Buffer.from(kek), Buffer.from(presented), LABEL, 32));
}

/** The successor's token response, sealed (compact JWE, dir / A256GCM) under the current KEK. */
export function sealSuccessor(kek: string, presented: string, response: TokenResponse): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', graceKey(kek, presented), iv);
  // RFC 7516 section 5.1: the additional authenticated data is the encoded protected header.
  cipher.setAAD(Buffer.from(HEADER, 'ascii'));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(response), 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return `${HEADER}..${iv.toString('base64url')}.${ciphertext.toString('base64url')}.${tag.toString('base64url')}`;
}

/**
 * Opens a sealed response with the first of `keks` (the current KEK, then the previous one during a
 * KEK rotation) that opens it; undefined when none does (or it is not one of ours).
 */
export async function openSuccessor(
  keks: readonly string[],
  presented: string,
  sealed: string,
): Promise<TokenResponse | undefined> {
  for (const kek of keks) {
    try {
      const { plaintext } = await compactDecrypt(sealed, graceKey(kek, presented), {
        keyManagementAlgorithms: ['dir'],
        contentEncryptionAlgorithms: ['A256GCM'],
      });
      return JSON.parse(new TextDecoder().decode(plaintext)) as TokenResponse;
    } catch {
      /* try the next */
    }
  }
  return undefined;
}

/**
 * What a second presentation must match to get the stored successor: the client, the DPoP key and
 * the TLS client certificate the request came with (none counts as a value of its own), and the
 * request's parameters that shape the response (scope, resource, authorization_details). A digest,
 * so that nothing a client sent is stored as it is.
 */
export function graceBinding(presentation: {
  clientId: string;
  dpopJkt: string | undefined;
  certThumbprint: string | undefined;
  scope: string | undefined;
  resource: string | undefined;
  authorizationDetails: string | undefined;
}): string {
  const { clientId, dpopJkt, certThumbprint, scope, resource, authorizationDetails } = presentation;
  const parts = [clientId, dpopJkt ?? null, certThumbprint ?? null, scope ?? null, resource ?? null];
  return hash('sha256', JSON.stringify([...parts, authorizationDetails ?? null]), 'base64url');
}

/**
 * The stored response as a second presentation gets it: the same tokens, with expires_in counted
 * from now rather than from the rotation (never below zero).
 */
export function replayedResponse(stored: TokenResponse, rotatedAt: number, now: number): TokenResponse {
  return { ...stored, expires_in: Math.max(0, stored.expires_in - Math.max(0, now - rotatedAt)) };
}
