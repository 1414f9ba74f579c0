import type { CookieSpec } from '../protocol/provider.ts';

/** Cookie names on the wire: __Host- for path=/ cookies and __Secure- for others, when Secure. */
export function wireName(name: string, path: string, secure: boolean): string {
  if (!secure) return name;
  return path === '/' ? `__Host-${name}` : `__Secure-${name}`;
}

/** Parses the Cookie header into base names, accepting prefixed names only when cookies are Secure. */
export function parseCookies(header: string | undefined, secure: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header || header.length > 8192) return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    let name = part.slice(0, i).trim();
    const value = part.slice(i + 1).trim();
    if (secure) {
      const m = /^__(?:Host|Secure)-(.+)$/.exec(name);
      if (!m) continue;
      name = m[1]!;
    } else if (name.startsWith('__')) {
      continue;
    }
    if (!/^[A-Za-z0-9_-]{1,512}$/.test(value)) continue;
    if (!(name in out)) out[name] = value;
  }
  return out;
}

export function serializeCookie(c: CookieSpec, opts: { secure: boolean; sameSite: 'lax' | 'strict' }): string {
  const parts = [`${wireName(c.name, c.path, opts.secure)}=${c.value}`, `Path=${c.path}`, `Max-Age=${c.maxAge}`, 'HttpOnly', `SameSite=${opts.sameSite === 'strict' ? 'Strict' : 'Lax'}`];
  if (opts.secure) parts.push('Secure');
  return parts.join('; ');
}
