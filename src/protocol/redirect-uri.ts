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
 * Exact string comparison with the registered URIs, except that a native client's loopback
 * redirect URI may use any port (RFC 8252 section 7.3, RFC 9700 section 4.1.3).
 */
export function matchRedirectUri(
  client: Pick<ClientRecord, 'redirectUris' | 'applicationType'>,
  requested: string,
): boolean {
  if (client.redirectUris.includes(requested)) return true;
  if (client.applicationType !== 'native') return false;
  const r = parse(requested);
  if (!r || r.protocol !== 'http:' || !isLoopbackHost(r.hostname)) return false;
  return client.redirectUris.some((registered) => {
    const g = parse(registered);
    if (!g || g.protocol !== 'http:' || !isLoopbackHost(g.hostname)) return false;
    const withoutPort = (u: URL, raw: string) => raw.replace(`${u.hostname}:${u.port}`, u.hostname);
    return g.hostname === r.hostname && withoutPort(g, registered) === withoutPort(r, requested);
  });
}
