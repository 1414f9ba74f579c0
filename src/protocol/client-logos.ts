// Clients' logos (RFC 7591 logo_uri) as the consent page shows them: fetched by Tessera once
// through the outbound port (public addresses only, no redirect, a time and a size limit), checked
// by their magic bytes (PNG, JPEG, WebP or GIF; never SVG), kept in this process's memory for a
// while, and served from Tessera's own origin (GET /clients/<client_id>/logo), so the browser never
// asks the client's server and the pages' CSP needs only img-src 'self'. A failed fetch is kept too,
// for less time, so a dead or slow host is not asked again at every consent; the consent page waits
// for a first fetch only a short moment and shows no logo when it is not there yet.
//
// Only the consent page starts a fetch (`ready`); the anonymous logo route only reads what is kept
// (`known`), so no request from outside can make Tessera fetch anything. What is kept is bounded:
// one entry per client (a changed logo_uri replaces it), at most MAX_ENTRIES, the least recently
// used going first but never one still being fetched; and at most MAX_CONCURRENT_FETCHES fetches at
// once in this process, a consent page over that showing no logo this time.
import { createHash } from 'node:crypto';
import type { OutboundHttp } from '../ports/outbound.ts';
import { type ImageType, sniffImage } from './images.ts';

/** Most bytes of a client's logo. */
export const MAX_CLIENT_LOGO_BYTES = 100 * 1024;
/** How long a fetched logo is kept, and a failure (seconds). */
export const CLIENT_LOGO_TTL = 3600;
export const CLIENT_LOGO_FAILURE_TTL = 300;
/** The whole fetch (milliseconds); the consent page waits at most CONSENT_LOGO_WAIT_MS of it. */
export const CLIENT_LOGO_TIMEOUT_MS = 3000;
export const CONSENT_LOGO_WAIT_MS = 800;
/** Most clients whose logo is kept (the least recently used goes first): at most about 20 MB. */
export const MAX_CLIENT_LOGO_ENTRIES = 200;
/** Most logo fetches under way at once in this process; a consent page over that shows no logo. */
export const MAX_CONCURRENT_LOGO_FETCHES = 8;

export interface ClientLogo {
  type: ImageType;
  bytes: Buffer;
  /** A strong ETag: the SHA-256 of the bytes. */
  etag: string;
}

/** This process's clients' logos (a protocol service on the Provider). */
export interface ClientLogos {
  /**
   * Whether the logo at `logoUri` of client `clientId` is at hand: known already, or fetched now
   * within `waitMs` (the fetch goes on after that, and its result is kept for the next time). False
   * at once, without fetching, when MAX_CONCURRENT_LOGO_FETCHES fetches are under way already.
   * Only the consent page calls it.
   */
  ready(clientId: string, logoUri: string, waitMs?: number): Promise<boolean>;
  /**
   * The unexpired logo fetched for this client from `logoUri` (its logo_uri now), without ever
   * fetching; undefined when there is none (not fetched yet, still under way, failed, another URL).
   */
  known(clientId: string, logoUri: string): ClientLogo | undefined;
}

type Entry = { logoUri: string; expires: number; value: Promise<ClientLogo | null>; settled?: ClientLogo | null };

export function clientLogos(deps: {
  outbound: OutboundHttp;
  allowLoopback: boolean;
  now: () => number;
  log?: { info(obj: object, msg?: string): void };
  /** For tests: other bounds than MAX_CLIENT_LOGO_ENTRIES and MAX_CONCURRENT_LOGO_FETCHES. */
  maxEntries?: number;
  maxConcurrent?: number;
}): ClientLogos {
  const maxEntries = deps.maxEntries ?? MAX_CLIENT_LOGO_ENTRIES;
  const maxConcurrent = deps.maxConcurrent ?? MAX_CONCURRENT_LOGO_FETCHES;
  // By client id, in order of last use (a Map keeps insertion order: a use moves the entry last).
  const entries = new Map<string, Entry>();
  let fetching = 0;
  const fetchLogo = async (uri: string): Promise<ClientLogo | null> => {
    try {
      const res = await deps.outbound.fetch(
        uri,
        { method: 'GET', headers: { accept: 'image/png, image/jpeg, image/webp, image/gif' } },
        {
          name: 'logo_uri',
          allowLoopback: deps.allowLoopback,
          timeoutMs: CLIENT_LOGO_TIMEOUT_MS,
          maxBytes: MAX_CLIENT_LOGO_BYTES,
          privateNetwork: false,
        },
      );
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      const bytes = Buffer.from(await res.arrayBuffer());
      const type = sniffImage(bytes);
      if (!type) throw new Error('not a PNG, JPEG, WebP or GIF image');
      return { type, bytes, etag: `"${createHash('sha256').update(bytes).digest('base64url')}"` };
    } catch (err) {
      deps.log?.info({ event: 'client_logo_unavailable', err: (err as Error).message }, 'client logo not fetched');
      return null;
    }
  };
  /** The client's entry for this URL, unless expired; a use makes it the most recent. */
  const current = (clientId: string, logoUri: string): Entry | undefined => {
    const e = entries.get(clientId);
    if (!e || e.logoUri !== logoUri || (e.settled !== undefined && e.expires <= deps.now())) return undefined;
    entries.delete(clientId);
    entries.set(clientId, e);
    return e;
  };
  /** Makes room for one more entry: the least recently used that is not being fetched go first. */
  const makeRoom = () => {
    for (const [id, e] of entries) {
      if (entries.size < maxEntries) return;
      if (e.settled !== undefined) entries.delete(id);
    }
  };
  /** Starts a fetch for this client (replacing its entry), or nothing when too many are under way. */
  const start = (clientId: string, logoUri: string): Entry | undefined => {
    if (fetching >= maxConcurrent) {
      deps.log?.info({ event: 'client_logo_skipped' }, 'client logo not fetched: too many fetches under way');
      return undefined;
    }
    entries.delete(clientId);
    makeRoom();
    fetching++;
    const e: Entry = { logoUri, expires: Number.POSITIVE_INFINITY, value: undefined as never };
    e.value = fetchLogo(logoUri).then((logo) => {
      fetching--;
      e.settled = logo;
      e.expires = deps.now() + (logo ? CLIENT_LOGO_TTL : CLIENT_LOGO_FAILURE_TTL);
      return logo;
    });
    entries.set(clientId, e);
    return e;
  };
  return {
    async ready(clientId, logoUri, waitMs = CONSENT_LOGO_WAIT_MS) {
      const e = current(clientId, logoUri) ?? start(clientId, logoUri);
      if (!e) return false;
      if (e.settled !== undefined) return e.settled !== null;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), waitMs);
      });
      try {
        return (await Promise.race([e.value, late])) !== null;
      } finally {
        clearTimeout(timer);
      }
    },
    known(clientId, logoUri) {
      return current(clientId, logoUri)?.settled ?? undefined;
    },
  };
}
