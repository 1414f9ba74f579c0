import { ipv4Bytes, ipv6Groups, ipVersion, samePrefix } from '../ip.ts';

// Which IP addresses a server-side fetch of a client-supplied URL (jwks_uri) may connect to.
// Only globally routable unicast addresses: anything private, loopback, link-local, shared,
// reserved, documentation, benchmarking, multicast or otherwise special is refused, so a client
// cannot make the server reach into its own network (SSRF). These rules are read by the outbound
// adapter (adapters/outbound, for the addresses it connects to) and by the protocol (for the URLs
// clients register), so both refuse alike.

type Subnet = { parts: number[]; bits: number };
const v4 = (net: string, bits: number): Subnet => ({ parts: ipv4Bytes(net)!, bits });
const v6 = (net: string, bits: number): Subnet => ({ parts: ipv6Groups(net)!, bits });

const v4Special = [
  v4('0.0.0.0', 8),
  v4('10.0.0.0', 8),
  v4('100.64.0.0', 10),
  v4('127.0.0.0', 8),
  v4('169.254.0.0', 16),
  v4('172.16.0.0', 12),
  v4('192.0.0.0', 24),
  v4('192.0.2.0', 24),
  v4('192.88.99.0', 24),
  v4('192.168.0.0', 16),
  v4('198.18.0.0', 15),
  v4('198.51.100.0', 24),
  v4('203.0.113.0', 24),
  v4('224.0.0.0', 4),
  v4('240.0.0.0', 4),
];

// IPv6: only global unicast (2000::/3) is considered at all; within it these are special.
const v6Special = [
  v6('2001::', 23), // IETF protocol assignments, Teredo (2001::/32) among them
  v6('2001:db8::', 32), // documentation
  v6('2002::', 16), // 6to4: the embedded IPv4 address could be anything
  v6('3fff::', 20), // documentation (RFC 9637)
];
const v6Global = v6('2000::', 3);
const v4Loopback = v4('127.0.0.0', 8);

const inV4 = (ip: string, nets: Subnet[]) => nets.some((n) => samePrefix(ipv4Bytes(ip)!, n.parts, n.bits, 8));
const inV6 = (h: number[], nets: Subnet[]) => nets.some((n) => samePrefix(h, n.parts, n.bits, 16));

/** Strips the brackets of an IPv6 URL host and a zone index. */
function bare(ip: string): string {
  return ip.replace(/^\[|\]$/g, '');
}

/** IPv4 addresses carried inside IPv6 ones (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d) are judged as IPv4. */
function embeddedV4(h: number[]): string | undefined {
  const v4 = () => `${h[6]! >> 8}.${h[6]! & 255}.${h[7]! >> 8}.${h[7]! & 255}`;
  if (h.slice(0, 5).every((x) => x === 0) && h[5] === 0xffff) return v4();
  if (h[0] === 0x64 && h[1] === 0xff9b && h.slice(2, 6).every((x) => x === 0)) return v4();
  return undefined;
}

/** True when `ip` (an IPv4 or IPv6 literal) is a globally routable unicast address. */
export function isPublicAddress(ip: string): boolean {
  const addr = bare(ip);
  if (addr.includes('%')) return false; // zone index: link-local by nature
  const family = ipVersion(addr);
  if (family === 4) return !inV4(addr, v4Special);
  if (family !== 6) return false;
  const h = ipv6Groups(addr);
  if (!h) return false;
  const v4 = embeddedV4(h);
  if (v4 !== undefined) return !inV4(v4, v4Special);
  return inV6(h, [v6Global]) && !inV6(h, v6Special);
}

/** True when `ip` is a loopback address (127.0.0.0/8, ::1, or IPv4 loopback mapped into IPv6). */
export function isLoopbackAddress(ip: string): boolean {
  const addr = bare(ip);
  const family = ipVersion(addr);
  if (family === 4) return inV4(addr, [v4Loopback]);
  if (family !== 6) return false;
  const h = ipv6Groups(addr);
  if (!h) return false;
  const v4 = embeddedV4(h);
  return v4 !== undefined ? inV4(v4, [v4Loopback]) : h.slice(0, 7).every((x) => x === 0) && h[7] === 1;
}

/** Host names that always mean this machine. */
export function isLoopbackHostName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost') || isLoopbackAddress(h);
}

/** Whether a fetch may connect to `ip`: public, or loopback when the development allowance is on. */
export function addressAllowed(ip: string, allowLoopback: boolean): boolean {
  return isPublicAddress(ip) || (allowLoopback && isLoopbackAddress(ip));
}

/**
 * Special-use domain names that never name a server on the public Internet (RFC 6761 section 6:
 * localhost, test, invalid, example; RFC 6762: local (multicast DNS); RFC 7686: onion; RFC 8375:
 * home.arpa; RFC 9476: alt; ICANN's 2024 reservation of internal for private use), and the reverse
 * zones of private and special addresses.
 */
const SPECIAL_USE_NAMES = [
  'localhost',
  'local',
  'test',
  'invalid',
  'example',
  'onion',
  'alt',
  'internal',
  'home.arpa',
  'in-addr.arpa',
  'ip6.arpa',
];

/**
 * Why a URL host (as the WHATWG URL parser gives it: IPv4 shorthands such as `127.1`, `2130706434`,
 * `0x7f.1` or `0177.0.0.1` already folded into dotted quads, IPv6 in brackets) must not be the target
 * of a server-side request, judged on the literal alone, before any DNS lookup: an address literal
 * that is not public (loopback allowed under the development allowance), or, without that allowance
 * (production), a special-use name. Undefined when the literal is fine; DNS answers are still checked
 * at fetch time.
 */
export function outboundHostProblem(hostname: string, allowLoopback: boolean): string | undefined {
  const host = bare(hostname.toLowerCase()).replace(/\.$/, '');
  if (ipVersion(host)) return addressAllowed(host, allowLoopback) ? undefined : `host ${host} is not a public address`;
  // Anything else that looks numeric is an address form the URL parser did not fold: never a name.
  if (host === '' || /^[0-9.]+$/.test(host) || /^0x/i.test(host)) return `host ${host} is not a public address`;
  if (allowLoopback) return undefined;
  // These are never delegated in the public DNS: if such a name resolves at all, a local zone answers.
  if (SPECIAL_USE_NAMES.some((n) => host === n || host.endsWith(`.${n}`)))
    return `host ${host} is a special-use name (RFC 6761), not a public server`;
  // A single label is completed by the resolver's search domains: an internal name.
  if (!host.includes('.')) return `host ${host} is not a fully qualified public name`;
  return undefined;
}

/**
 * Problems of a URI Tessera will fetch from or post to a client's server (jwks_uri,
 * sector_identifier_uri, backchannel_logout_uri): https, or http on a loopback host under the
 * development allowance; no credentials or fragment. `name` names the field in the messages.
 */
export function fetchableUriProblem(name: string, uri: unknown, allowLoopback: boolean): string | undefined {
  if (typeof uri !== 'string') return `${name} must be a string`;
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return `${name} must be an absolute URL`;
  }
  if (u.username || u.password || u.hash) return `${name} must not carry credentials or a fragment`;
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:' && allowLoopback && isLoopbackHostName(u.hostname.replace(/^\[|\]$/g, '')))
    return undefined;
  return allowLoopback ? `${name} must use https (http only on a loopback host)` : `${name} must use https`;
}
