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

/** Parses the Cookie header into base names, accepting only __Host- names when cookies are Secure. */
export function parseCookies(header: string | undefined, secure: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header || header.length > 8192) return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    let name = part.slice(0, i).trim();
    const value = part.slice(i + 1).trim();
    if (secure) {
      if (!name.startsWith('__Host-')) continue;
      name = name.slice(7);
    } else if (name.startsWith('__')) {
      continue;
    }
    if (!/^[A-Za-z0-9_-]{1,512}$/.test(value)) continue;
    if (!(name in out)) out[name] = value;
  }
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
  const parts = [`${wireName(c.name, opts.secure)}=${c.value}`, 'Path=/', `Max-Age=${c.maxAge}`, 'HttpOnly', `SameSite=${SAME_SITE[sameSite]}`];
  if (opts.secure) parts.push('Secure');
  return parts.join('; ');
}
