// Clients' logos (RFC 7591 logo_uri) as the consent page shows them: fetched by Tessera once
// through the outbound port (public addresses only, no redirect, a time and a size limit), checked
// by their magic bytes (PNG, JPEG, WebP or GIF; never SVG), kept in this process's memory for a
// while, and served from Tessera's own origin (GET /clients/<client_id>/logo), so the browser never
// asks the client's server and the pages' CSP needs only img-src 'self'. A failed fetch is kept too,
// for less time, so a dead or slow host is not asked again at every consent; the consent page waits
// for a first fetch only a short moment and shows no logo when it is not there yet.
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
/** Most logos kept (the oldest goes first): at most about 20 MB. */
const MAX_ENTRIES = 200;

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
   * within `waitMs` (the fetch goes on after that, and its result is kept for the next time).
   */
  ready(clientId: string, logoUri: string, waitMs?: number): Promise<boolean>;
  /** The logo, fetched now when not known (waiting for the whole fetch); undefined when there is none. */
  get(clientId: string, logoUri: string): Promise<ClientLogo | undefined>;
  /** The unexpired logo last fetched for this client (whatever its URL), without fetching. */
  known(clientId: string): ClientLogo | undefined;
}

type Entry = { expires: number; value: Promise<ClientLogo | null>; settled?: ClientLogo | null };

export function clientLogos(deps: {
  outbound: OutboundHttp;
  allowLoopback: boolean;
  now: () => number;
  log?: { info(obj: object, msg?: string): void };
}): ClientLogos {
  const entries = new Map<string, Entry>();
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
  const entry = (clientId: string, logoUri: string): Entry => {
    const key = `${clientId}\n${logoUri}`;
    const known = entries.get(key);
    const t = deps.now();
    if (known && (known.settled === undefined || known.expires > t)) return known;
    if (known) entries.delete(key);
    if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!);
    const e: Entry = { expires: Number.POSITIVE_INFINITY, value: undefined as never };
    e.value = fetchLogo(logoUri).then((logo) => {
      e.settled = logo;
      e.expires = deps.now() + (logo ? CLIENT_LOGO_TTL : CLIENT_LOGO_FAILURE_TTL);
      return logo;
    });
    entries.set(key, e);
    return e;
  };
  return {
    async ready(clientId, logoUri, waitMs = CONSENT_LOGO_WAIT_MS) {
      const e = entry(clientId, logoUri);
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
    async get(clientId, logoUri) {
      return (await entry(clientId, logoUri).value) ?? undefined;
    },
    known(clientId) {
      const t = deps.now();
      let found: ClientLogo | undefined;
      for (const [key, e] of entries)
        if (key.startsWith(`${clientId}\n`) && e.settled && e.expires > t) found = e.settled;
      return found;
    },
  };
}
