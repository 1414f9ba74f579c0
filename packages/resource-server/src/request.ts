// What the SDK needs of an HTTP request, whatever the framework: method, path, headers, the peer address.
import { InvalidRequestError, MissingTokenError } from './errors.ts';
import type { Scheme } from './challenge.ts';

/** Node's IncomingHttpHeaders, a plain record, or a Fetch API Headers object. */
export type HeaderSource = Headers | Record<string, string | string[] | undefined>;

/** A request as the adapters describe it. */
export interface RequestLike {
  method: string;
  /** The request target: a path with an optional query (`/mcp?x=1`), or an absolute URL. */
  url: string;
  headers: HeaderSource;
  /** The address of the TCP peer (the proxy, behind one): decides whether a certificate header is believed. */
  remoteAddress?: string;
}

/** Every value of a header, each comma-separated list split (Fetch joins repeated headers with ", "). */
export function headerValues(headers: HeaderSource, name: string): string[] {
  let raw: string | string[] | undefined | null;
  if (typeof (headers as Headers).get === 'function') raw = (headers as Headers).get(name);
  else raw = (headers as Record<string, string | string[] | undefined>)[name];
  if (raw === undefined || raw === null) return [];
  return (Array.isArray(raw) ? raw : [raw]).flatMap((v) => v.split(',')).map((v) => v.trim());
}

/** One header value, or undefined; several are an invalid_request (a token or a proof never contains a comma). */
export function singleHeader(headers: HeaderSource, name: string): string | undefined {
  const values = headerValues(headers, name);
  if (values.length > 1) throw new InvalidRequestError(`Send one ${name} header.`);
  return values[0] || undefined;
}

/** Longest token or proof accepted (a JWT of Tessera's is well under 2 KB). */
export const MAX_CREDENTIAL_LENGTH = 8192;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/** The credentials in the Authorization header (RFC 6750 section 2.1, RFC 9449 section 7.1). */
export function credentials(headers: HeaderSource): { scheme: Scheme; token: string } {
  const value = singleHeader(headers, 'authorization');
  if (!value) throw new MissingTokenError();
  const space = value.indexOf(' ');
  const scheme = (space === -1 ? value : value.slice(0, space)).toLowerCase();
  if (scheme !== 'bearer' && scheme !== 'dpop') throw new MissingTokenError('Use the Bearer or DPoP scheme.');
  const token = space === -1 ? '' : value.slice(space + 1).trim();
  if (!token || token.length > MAX_CREDENTIAL_LENGTH || !TOKEN68.test(token))
    throw new InvalidRequestError('The Authorization header is malformed.');
  return { scheme: scheme === 'bearer' ? 'Bearer' : 'DPoP', token };
}

/** The absolute URL of the request as the client addressed it: its path on the origin of the resource. */
export function requestUrl(req: RequestLike, resource: string): URL {
  let path = req.url;
  if (!path.startsWith('/')) {
    try {
      const u = new URL(path);
      path = `${u.pathname}${u.search}`;
    } catch {
      throw new InvalidRequestError('The request target is malformed.');
    }
  }
  // The origin is the resource's own (its public URL), never the Host header an attacker controls.
  return new URL(path.startsWith('//') ? `/${path.replace(/^\/+/, '')}` : path, resource);
}
