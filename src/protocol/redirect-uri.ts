import type { ClientRecord } from '../ports/clients.ts';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname);
}

function parse(uri: string): URL | undefined {
  try {
    return new URL(uri);
  } catch {
    return undefined;
  }
}

/**
 * Why a redirect URI cannot be registered, or undefined when it can. https anywhere; http only
 * on a loopback host; private-use schemes (reverse domain, RFC 8252) only for native clients;
 * never a fragment, user info, or a dangerous scheme.
 */
export function redirectUriProblem(uri: string, applicationType: 'web' | 'native'): string | undefined {
  const u = parse(uri);
  if (!u) return `${uri} is not an absolute URI`;
  if (u.hash || uri.includes('#')) return `${uri} must not contain a fragment`;
  if (u.username || u.password) return `${uri} must not contain user information`;
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:')
    return isLoopbackHost(u.hostname) ? undefined : `${uri}: http is allowed only for loopback hosts`;
  if (/^(javascript|data|vbscript|file|blob|about|ftp|ws|wss):$/i.test(u.protocol))
    return `${uri} uses a forbidden scheme`;
  if (applicationType !== 'native') return `${uri}: custom schemes are allowed only for native clients`;
  if (!u.protocol.slice(0, -1).includes('.'))
    return `${uri}: a private-use scheme must be a reverse domain name (RFC 8252 section 7.1)`;
  return undefined;
}

/**
 * A loopback redirect URI as written: `http://`, a loopback host, an optional port, and the rest
 * (path and query; a fragment or user information cannot match). Read from the string itself, not
 * from a parsed URL, so the comparison stays one of the strings as sent (RFC 9700 section 4.1.3).
 */
const LOOPBACK_URI = /^http:\/\/(127\.0\.0\.1|\[::1\]|localhost)(?::(\d{1,5}))?([/?][^#@\s\x00-\x1f\x7f\\]*)?$/;

function loopbackParts(uri: string): { host: string; port: number | undefined; rest: string } | undefined {
  const m = LOOPBACK_URI.exec(uri);
  if (!m) return undefined;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { host: m[1]!, port, rest: m[3] ?? '' };
}

/**
 * Exact string comparison with the registered URIs, except that a native client's loopback
 * redirect URI may use any port (RFC 8252 section 7.3, RFC 9700 section 4.1.3): the scheme, the
 * host as written, the path and the query must still be those registered.
 */
export function matchRedirectUri(
  client: Pick<ClientRecord, 'redirectUris' | 'applicationType'>,
  requested: string,
): boolean {
  if (client.redirectUris.includes(requested)) return true;
  if (client.applicationType !== 'native') return false;
  const r = loopbackParts(requested);
  if (!r || !parse(requested)) return false;
  return client.redirectUris.some((registered) => {
    const g = loopbackParts(registered);
    return g !== undefined && g.host === r.host && g.rest === r.rest;
  });
}

/**
 * Whether redirect URIs are those of a native application: at least one, and each a loopback http
 * URI or a private-use scheme (RFC 8252 sections 7.1 and 7.3). TESSERA_REGISTRATION_APPLICATION_TYPE
 * `infer` makes such a registration that names no application_type native.
 */
export function nativeRedirectUris(uris: readonly string[]): boolean {
  return (
    uris.length > 0 &&
    uris.every((uri) => {
      const u = parse(uri);
      if (!u || redirectUriProblem(uri, 'native') !== undefined) return false;
      if (u.protocol === 'https:') return false;
      return u.protocol !== 'http:' || isLoopbackHost(u.hostname);
    })
  );
}
