import { isIPv6 } from 'node:net';

// The key every per-address limit counts by (the rate limits' ip rules, the failed-login source
// and pair counters, wrong device user codes). An IPv6 host usually holds a whole /64 (SLAAC,
// privacy addresses) and can take a fresh address from it for every request, so counting by the
// full address would let one source spread its attempts over 2^64 counters: IPv6 addresses are
// counted by their prefix (TESSERA_RATE_LIMIT_IPV6_PREFIX, 64 by default). IPv4 addresses are
// counted as they are, and an IPv4-mapped IPv6 address (::ffff:a.b.c.d, as a dual-stack socket
// reports IPv4 clients) as its IPv4 address.

export const DEFAULT_IPV6_PREFIX = 64;

/** The eight 16-bit groups of an IPv6 address (checked by isIPv6 first). */
function groups(address: string): number[] {
  let text = address;
  let tail: number[] = [];
  if (text.includes('.')) {
    // An embedded IPv4 address in the last 32 bits.
    const colon = text.lastIndexOf(':');
    const [a, b, c, d] = text.slice(colon + 1).split('.').map(Number) as [number, number, number, number];
    tail = [(a << 8) | b, (c << 8) | d];
    text = text.slice(0, colon + 1);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((h) => parseInt(h, 16)));
  const gap = text.indexOf('::');
  const head = parse(gap >= 0 ? text.slice(0, gap) : text);
  const rest = gap >= 0 ? parse(text.slice(gap + 2)) : [];
  const zeros = 8 - head.length - rest.length - tail.length;
  return [...head, ...Array<number>(Math.max(0, zeros)).fill(0), ...rest, ...tail];
}

/**
 * The rate-limit key of a client address: IPv4 as is; IPv4-mapped IPv6 as the IPv4 address;
 * other IPv6 addresses masked to `prefix` bits, written as eight hex groups and the prefix length
 * (`2001:db8:0:1:0:0:0:0/64`). Anything else (not an IP address) is returned unchanged.
 */
export function addressKey(ip: string, prefix: number = DEFAULT_IPV6_PREFIX): string {
  if (!ip.includes(':')) return ip;
  const zone = ip.indexOf('%');
  const address = zone >= 0 ? ip.slice(0, zone) : ip;
  if (!isIPv6(address)) return ip;
  const g = groups(address);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
  }
  const bits = Math.min(128, Math.max(0, Math.trunc(prefix)));
  const masked = g.map((v, i) => {
    const keep = Math.min(16, Math.max(0, bits - i * 16));
    return keep === 16 ? v : keep === 0 ? 0 : v & (0xffff << (16 - keep)) & 0xffff;
  });
  return `${masked.map((v) => v.toString(16)).join(':')}/${bits}`;
}
