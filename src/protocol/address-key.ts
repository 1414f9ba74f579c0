import { isIPv4, isIPv6 } from './ip.ts';

// The key every per-address limit counts by (the rate limits' ip rules, the failed-login source
// and pair counters, wrong device user codes). An IPv6 host usually holds a whole /64 (SLAAC,
// privacy addresses) and can take a fresh address from it for every request, so counting by the
// full address would let one source spread its attempts over 2^64 counters: IPv6 addresses are
// counted by their prefix (TESSERA_RATE_LIMIT_IPV6_PREFIX, 64 by default). IPv4 addresses are
// counted as they are, and an IPv6 address that stands for an IPv4 host as that IPv4 address:
// IPv4-mapped ::ffff:a.b.c.d (as a dual-stack socket reports IPv4 clients), IPv4-compatible
// ::a.b.c.d, IPv4-translated ::ffff:0:a.b.c.d, NAT64 64:ff9b::a.b.c.d (RFC 6052: one /64 would
// otherwise be every IPv4 client of a translator), 6to4 2002:AABB:CCDD::/48 (the /48 of one IPv4
// host) and Teredo 2001:0::/32 (its client's IPv4, the last 32 bits inverted; by /64 that would be
// every client of one Teredo server). The local-use NAT64 prefix 64:ff9b:1::/48 is counted by the
// full address: the operator chooses where the IPv4 address sits in it (RFC 6052 section 2.2), and a
// translator derives every bit from the IPv4 address, so each IPv4 client still has its own key.
//
// req.ip is the socket's address, or with TESSERA_TRUST_PROXY the X-Forwarded-For entry proxy-addr
// stops at, written by the proxy: some proxies write `1.2.3.4:port` or `[v6]:port`, which is no IP
// address for proxy-addr and would make every connection (every source port) a key of its own. The
// port and brackets are removed where the form is unambiguous; a bare IPv6 address never loses its
// last group.

export const DEFAULT_IPV6_PREFIX = 64;

/** The eight 16-bit groups of an IPv6 address (checked by isIPv6 first). */
function groups(address: string): number[] {
  let text = address;
  let tail: number[] = [];
  if (text.includes('.')) {
    // An embedded IPv4 address in the last 32 bits.
    const colon = text.lastIndexOf(':');
    const [a, b, c, d] = text
      .slice(colon + 1)
      .split('.')
      .map(Number) as [number, number, number, number];
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

/** The address inside `[v6]`, `[v6]:port` or `a.b.c.d:port`; anything else unchanged. */
export function stripPort(ip: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(ip);
  if (bracketed) return isIPv6(bracketed[1]!.replace(/%.*$/, '')) ? bracketed[1]! : ip;
  const v4 = /^([\d.]+):\d{1,5}$/.exec(ip);
  return v4 && isIPv4(v4[1]!) ? v4[1]! : ip;
}

const ipv4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;

/** The IPv4 address an IPv6 address stands for (see the top of this file), if any. */
function embeddedIpv4(g: number[]): string | undefined {
  const zero = (from: number, to: number) => g.slice(from, to).every((v) => v === 0);
  // ::ffff:a.b.c.d (mapped), ::ffff:0:a.b.c.d (translated), ::a.b.c.d (compatible, from 0.1.0.0: not ::, ::1).
  if (zero(0, 5) && g[5] === 0xffff) return ipv4(g[6]!, g[7]!);
  if (zero(0, 4) && g[4] === 0xffff && g[5] === 0) return ipv4(g[6]!, g[7]!);
  if (zero(0, 6) && g[6] !== 0) return ipv4(g[6]!, g[7]!);
  // NAT64 well-known prefix 64:ff9b::/96 (RFC 6052: only with the /96 layout).
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return ipv4(g[6]!, g[7]!);
  // 6to4 2002:AABB:CCDD::/48.
  if (g[0] === 0x2002) return ipv4(g[1]!, g[2]!);
  // Teredo 2001:0::/32: the client's public IPv4 address, inverted, in the last 32 bits (RFC 4380 section 4).
  if (g[0] === 0x2001 && g[1] === 0) return ipv4(g[6]! ^ 0xffff, g[7]! ^ 0xffff);
  return undefined;
}

/**
 * The rate-limit key of a client address (brackets and a port removed first, see stripPort): IPv4
 * as is; an IPv6 address standing for an IPv4 host as that IPv4 address; the local-use NAT64
 * prefix by the full address (`/128`); other IPv6 addresses masked to `prefix` bits, written as
 * eight hex groups and the prefix length (`2001:db8:0:1:0:0:0:0/64`). Anything else (not an IP
 * address) is returned unchanged.
 */
export function addressKey(raw: string, prefix: number = DEFAULT_IPV6_PREFIX): string {
  const ip = stripPort(raw);
  if (!ip.includes(':')) return ip;
  const zone = ip.indexOf('%');
  const address = zone >= 0 ? ip.slice(0, zone) : ip;
  if (!isIPv6(address)) return raw;
  const g = groups(address);
  const v4 = embeddedIpv4(g);
  if (v4) return v4;
  const bits = g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1 ? 128 : Math.min(128, Math.max(0, Math.trunc(prefix)));
  const masked = g.map((v, i) => {
    const keep = Math.min(16, Math.max(0, bits - i * 16));
    return keep === 16 ? v : keep === 0 ? 0 : v & (0xffff << (16 - keep)) & 0xffff;
  });
  return `${masked.map((v) => v.toString(16)).join(':')}/${bits}`;
}
