import type { CookieSpec } from '../protocol/provider.ts';
import { SESSION_COOKIE } from '../protocol/interaction/session.ts';

// Cookies on the wire. When Secure (always in production) every cookie is a __Host- cookie:
// Secure, Path=/ and no Domain, so the browser accepts it only from this very host over https.
// Only __Host- names are read back. A __Secure- cookie or an unprefixed one can be set for the
// parent domain by any sibling subdomain (cookie tossing), which could plant a CSRF or interaction
// secret of the attacker's choosing; neither is read when cookies are Secure.
//
// SameSite: the session cookie takes TESSERA_COOKIE_SAMESITE (lax by default; none for apps that
// renew silently in a cross-site iframe, production only); every other cookie (the interaction,
// device and account-login secrets behind the CSRF tokens) is always Lax.

export type SameSite = 'lax' | 'strict' | 'none';

/** Cookie names on the wire: __Host- when Secure. */
export function wireName(name: string, secure: boolean): string {
  return secure ? `__Host-${name}` : name;
}

/** RFC 6265 section 4.1.1: a cookie name is an RFC 7230 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}$/;
/**
 * Only SP and HTAB are whitespace around a name or value (RFC 6265 OWS); JS trim() would also take U+00A0 and others.
 */
const trimOws = (s: string) => s.replace(/^[ \t]+|[ \t]+$/g, '');

/**
 * Parses the Cookie header into base names, accepting only __Host- names when cookies are Secure.
 * Names that are not RFC 6265 tokens are skipped (so "\xa0__Host-x", which a sibling domain may
 * set, is not __Host-x), and a name sent twice counts as absent: the browser's order is no proof
 * of which one this host set, so a planted duplicate must neither win nor shadow the real one.
 */
export function parseCookies(header: string | undefined, secure: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header || header.length > 8192) return out;
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    let name = trimOws(part.slice(0, i));
    const value = trimOws(part.slice(i + 1));
    if (!TOKEN.test(name)) continue;
    if (secure) {
      if (!name.startsWith('__Host-')) continue;
      name = name.slice(7);
    } else if (name.startsWith('__')) {
      continue;
    }
    if (seen.has(name)) {
      twice.add(name);
      continue;
    }
    seen.add(name);
    if (/^[A-Za-z0-9_-]{1,512}$/.test(value)) out[name] = value;
  }
  for (const name of twice) delete out[name];
  return out;
}

const SAME_SITE: Record<SameSite, string> = { lax: 'Lax', strict: 'Strict', none: 'None' };

/**
 * A Set-Cookie value. `sessionSameSite` applies to the session cookie only (None only with
 * Secure: the configuration refuses it otherwise, and a cookie is never sent as None without it).
 */
export function serializeCookie(c: CookieSpec, opts: { secure: boolean; sessionSameSite: SameSite }): string {
  // A __Host- cookie must have Path=/; a narrower path would need a prefix a sibling host can set.
  if (c.path !== '/') throw new Error(`cookie ${c.name}: every cookie has Path=/ (got ${c.path})`);
  let sameSite: SameSite = c.name === SESSION_COOKIE ? opts.sessionSameSite : 'lax';
  if (sameSite === 'none' && !opts.secure) sameSite = 'lax';
  const parts = [
    `${wireName(c.name, opts.secure)}=${c.value}`,
    'Path=/',
    `Max-Age=${c.maxAge}`,
    'HttpOnly',
    `SameSite=${SAME_SITE[sameSite]}`,
  ];
  if (opts.secure) parts.push('Secure');
  return parts.join('; ');
}
