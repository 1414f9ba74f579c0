import { BlockList, isIP } from 'node:net';

// Which IP addresses a server-side fetch of a client-supplied URL (jwks_uri) may connect to.
// Only globally routable unicast addresses: anything private, loopback, link-local, shared,
// reserved, documentation, benchmarking, multicast or otherwise special is refused, so a client
// cannot make the server reach into its own network (SSRF).

const v4Special = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) v4Special.addSubnet(net, prefix, 'ipv4');

// IPv6: only global unicast (2000::/3) is considered at all; within it these are special.
const v6Special = new BlockList();
for (const [net, prefix] of [
  ['2001::', 23], // IETF protocol assignments, Teredo (2001::/32) among them
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: the embedded IPv4 address could be anything
  ['3fff::', 20], // documentation (RFC 9637)
] as const) v6Special.addSubnet(net, prefix, 'ipv6');
const v6Global = new BlockList();
v6Global.addSubnet('2000::', 3, 'ipv6');

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** The IPv6 address written out as 8 hextets, or undefined when it does not parse. */
function hextets(ip: string): number[] | undefined {
  let host: string;
  try {
    host = new URL(`http://[${ip}]/`).hostname.slice(1, -1); // canonical form, dotted quads folded into hex
  } catch {
    return undefined;
  }
  const [head, tail] = host.includes('::') ? host.split('::') as [string, string] : [host, undefined];
  const a = head ? head.split(':') : [];
  const b = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const parts = tail === undefined ? a : [...a, ...Array(8 - a.length - b.length).fill('0'), ...b];
  return parts.length === 8 ? parts.map((h) => parseInt(h, 16)) : undefined;
}

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
  const family = isIP(addr);
  if (family === 4) return !v4Special.check(addr, 'ipv4');
  if (family !== 6) return false;
  const h = hextets(addr);
  if (!h) return false;
  const v4 = embeddedV4(h);
  if (v4 !== undefined) return !v4Special.check(v4, 'ipv4');
  return v6Global.check(addr, 'ipv6') && !v6Special.check(addr, 'ipv6');
}

/** True when `ip` is a loopback address (127.0.0.0/8, ::1, or IPv4 loopback mapped into IPv6). */
export function isLoopbackAddress(ip: string): boolean {
  const addr = bare(ip);
  const family = isIP(addr);
  if (family === 4) return loopback.check(addr, 'ipv4');
  if (family !== 6) return false;
  const h = hextets(addr);
  if (!h) return false;
  const v4 = embeddedV4(h);
  return v4 !== undefined ? loopback.check(v4, 'ipv4') : h.slice(0, 7).every((x) => x === 0) && h[7] === 1;
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
const SPECIAL_USE_NAMES = ['localhost', 'local', 'test', 'invalid', 'example', 'onion', 'alt', 'internal', 'home.arpa', 'in-addr.arpa', 'ip6.arpa'];

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
  if (isIP(host)) return addressAllowed(host, allowLoopback) ? undefined : `host ${host} is not a public address`;
  // Anything else that looks numeric is an address form the URL parser did not fold: never a name.
  if (host === '' || /^[0-9.]+$/.test(host) || /^0x/i.test(host)) return `host ${host} is not a public address`;
  if (allowLoopback) return undefined;
  // These are never delegated in the public DNS: if such a name resolves at all, a local zone answers.
  if (SPECIAL_USE_NAMES.some((n) => host === n || host.endsWith(`.${n}`))) return `host ${host} is a special-use name (RFC 6761), not a public server`;
  // A single label is completed by the resolver's search domains: an internal name.
  if (!host.includes('.')) return `host ${host} is not a fully qualified public name`;
  return undefined;
}
