import { createHmac } from 'node:crypto';
import type { ClientRecord } from '../../ports/clients.ts';
import { ClientKeysError } from '../client-auth/client-keys.ts';
import { isLoopbackHostName } from '../client-auth/public-address.ts';
import { derivePairwiseKey, type PairwiseKeys } from '../services.ts';

// Subject identifiers (OpenID Connect Core section 8). A `public` client sees the user's local id;
// a `pairwise` client sees HMAC-SHA-256(key, sector || 0x00 || local id), so clients of different
// sectors cannot correlate a user by `sub`. The key is derived with HKDF from the pairwise secret
// (config.pairwiseSecret: TESSERA_PAIRWISE_SECRET, else TESSERA_SECRET), which is pinned before a
// rotation of TESSERA_SECRET, so pairwise subjects stay stable across rotations. The hash is never reversed: where a
// pairwise subject has to be mapped back (userinfo, token exchange, introspection), Tessera looks
// the user up through the grant the token was issued from.

/** Derives the key each time, for callers without a Provider (tests, tools); the protocol passes its `pairwiseKeys`. */
const underived: PairwiseKeys = { keyFor: derivePairwiseKey };

/** The pairwise subject of a local user id for a sector (a host name). */
export function pairwiseSubject(secret: string, sector: string, userId: string, keys = underived): string {
  return createHmac('sha256', keys.keyFor(secret)).update(sector).update('\0').update(userId).digest('base64url');
}

function hostOf(uri: string): string | undefined {
  try {
    const u = new URL(uri);
    // A private-use scheme (com.example.app:/cb) has no host: the scheme names the sector.
    return u.hostname ? u.hostname.toLowerCase() : u.protocol.slice(0, -1).toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * The sector of a pairwise client stored without one (the rule before sectors were stored per
 * client, kept so that such clients' subjects never change): the host of its sector_identifier_uri,
 * else the one host all its redirect URIs share; undefined when neither gives one.
 */
export function sectorOf(client: Pick<ClientRecord, 'redirectUris' | 'metadata'>): string | undefined {
  const uri = client.metadata.sector_identifier_uri;
  if (typeof uri === 'string') return hostOf(uri);
  const hosts = new Set(client.redirectUris.map(hostOf));
  return hosts.size === 1 ? [...hosts][0] : undefined;
}

/**
 * A redirect URI that names no shared sector: a loopback one (RFC 8252 section 7.3: any native app
 * on any machine may listen there) or a private-use scheme (RFC 8252 section 7.1: any app may claim
 * it). Two unrelated apps would otherwise share a sector and so see the same pairwise `sub`.
 */
function unsharedRedirect(uri: string): boolean {
  try {
    const u = new URL(uri);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return true;
    return isLoopbackHostName(u.hostname.replace(/^\[|\]$/g, ''));
  } catch {
    return false;
  }
}

/**
 * The sector of a client made pairwise from now on (stored in its metadata as `sector`): the host of
 * its sector_identifier_uri; else, when any redirect URI is a loopback or private-use one, the
 * client's own sector (`client:<client_id>`, which no host name can equal); else the one host all
 * its redirect URIs share; undefined when there is none.
 */
export function sectorFor(client: Pick<ClientRecord, 'clientId' | 'redirectUris' | 'metadata'>): string | undefined {
  const uri = client.metadata.sector_identifier_uri;
  if (typeof uri === 'string') return hostOf(uri);
  if (client.redirectUris.some(unsharedRedirect)) return `client:${client.clientId}`;
  return sectorOf(client);
}

/**
 * Problems of a client's subject settings (for admin/clients.ts buildClient); `legacy`: a pairwise
 * client stored without a sector, which keeps the old rule (sectorOf).
 */
export function subjectProblems(
  client: Pick<ClientRecord, 'redirectUris' | 'metadata'> & { clientId?: string },
  legacy = false,
): string[] {
  const type = client.metadata.subject_type;
  if (type !== undefined && type !== 'public' && type !== 'pairwise')
    return ['subject_type must be public or pairwise'];
  if (type !== 'pairwise')
    return client.metadata.sector_identifier_uri !== undefined
      ? ['sector_identifier_uri is only for pairwise clients']
      : [];
  if ((legacy ? sectorOf(client) : sectorFor({ ...client, clientId: client.clientId ?? '' })) === undefined) {
    return [
      client.redirectUris.length
        ? 'pairwise clients whose redirect_uris have several hosts need a sector_identifier_uri'
        : 'pairwise clients without redirect_uris need a sector_identifier_uri',
    ];
  }
  return [];
}

/** The `sub` a client sees for a local user id (`keys`: the provider's `pairwiseKeys`). */
export function subjectFor(
  secret: string,
  client: Pick<ClientRecord, 'redirectUris' | 'metadata'> | undefined,
  userId: string,
  keys?: PairwiseKeys,
): string {
  if (client?.metadata.subject_type !== 'pairwise') return userId;
  // The sector stored with the client; clients stored before sectors were keep the old rule.
  const stored = client.metadata.sector;
  const sector = typeof stored === 'string' ? stored : sectorOf(client);
  // subjectProblems keeps such a client from being stored; fail closed if one is anyway.
  if (sector === undefined) throw new Error('pairwise client without a sector');
  return pairwiseSubject(secret, sector, userId, keys);
}

/**
 * Checks a sector_identifier_uri (OpenID Connect Core 8.1): fetched with the SSRF rules of jwks_uri
 * (`fetch`: client-keys.ts fetchClientJson over the outbound port), it must be a JSON array of URIs
 * that includes every redirect URI of the client. Returns a problem, or undefined when it holds.
 */
export async function sectorIdentifierProblem(
  uri: string,
  redirectUris: readonly string[],
  allowLoopback: boolean,
  fetch: (name: string, uri: string, allowLoopback: boolean) => Promise<unknown>,
): Promise<string | undefined> {
  let doc: unknown;
  try {
    doc = await fetch('sector_identifier_uri', uri, allowLoopback);
  } catch (err) {
    // Deliberately vague: the answer goes to whoever registers, and the fetcher's own message (which
    // names resolved addresses) would turn registration into a probe of the internal network.
    const reason = err instanceof ClientKeysError ? err.reason : 'jwks_fetch_failed';
    if (reason === 'jwks_uri_refused') return 'sector_identifier_uri must be an https URL on a public address';
    if (reason === 'jwks_invalid') return 'sector_identifier_uri must answer with a JSON document of at most 64 KiB';
    return 'sector_identifier_uri could not be fetched (it must answer 200 within 5 s, without redirects)';
  }
  if (!Array.isArray(doc) || !doc.every((x) => typeof x === 'string'))
    return 'sector_identifier_uri must hold a JSON array of redirect URIs';
  const missing = redirectUris.filter((r) => !doc.includes(r));
  return missing.length ? `sector_identifier_uri does not list ${missing.join(', ')}` : undefined;
}
