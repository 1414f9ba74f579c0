// IP address literals, read without node's net module (the protocol room does no networking): which strings
// are IPv4 or IPv6 addresses, as net.isIP judges them, and their numeric form. IPv6 is read
// by the WHATWG URL parser, which folds every spelling (:: runs, upper case, an IPv4 tail) into one.

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
/** Dotted quad, each part 0-255 without leading zeros (no shorthands such as 127.1 or 0x7f.0.0.1). */
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
/** A zone index (fe80::1%eth0): net.isIPv6 accepts these characters after the %. */
const ZONE = /^%[0-9A-Za-z.:-]+$/;

export function isIPv4(s: string): boolean {
  return IPV4.test(s);
}

/** The four bytes of an IPv4 literal, or undefined. */
export function ipv4Bytes(s: string): number[] | undefined {
  return isIPv4(s) ? s.split('.').map(Number) : undefined;
}

/**
 * The eight 16-bit groups of an IPv6 literal (without brackets or zone index), or undefined when it
 * is none. Only hex digits, colons and dots get to the URL parser, which would otherwise drop tabs
 * and line breaks and trim spaces.
 */
export function ipv6Groups(s: string): number[] | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(s)) return undefined;
  let host: string;
  try {
    host = new URL(`http://[${s}]/`).hostname.slice(1, -1); // canonical form, an IPv4 tail folded into hex
  } catch {
    return undefined;
  }
  const [head, tail] = host.includes('::') ? (host.split('::') as [string, string]) : [host, undefined];
  const a = head ? head.split(':') : [];
  const b = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const parts = tail === undefined ? a : [...a, ...Array<string>(8 - a.length - b.length).fill('0'), ...b];
  return parts.length === 8 ? parts.map((h) => parseInt(h, 16)) : undefined;
}

/** True for an IPv6 literal, with or without a zone index. */
export function isIPv6(s: string): boolean {
  const zone = s.indexOf('%');
  if (zone >= 0 && !ZONE.test(s.slice(zone))) return false;
  return ipv6Groups(zone >= 0 ? s.slice(0, zone) : s) !== undefined;
}

/** 4 or 6 for an IPv4 or IPv6 literal, else 0 (net.isIP). */
export function ipVersion(s: string): 0 | 4 | 6 {
  return isIPv4(s) ? 4 : isIPv6(s) ? 6 : 0;
}

/**
 * True when the first `bits` bits of two addresses of one family are equal, each given as its parts
 * of `width` bits (ipv4Bytes: 8, ipv6Groups: 16).
 */
export function samePrefix(a: readonly number[], b: readonly number[], bits: number, width: 8 | 16): boolean {
  const all = 2 ** width - 1;
  for (let i = 0; i * width < bits; i++) {
    const keep = Math.min(width, bits - i * width);
    const mask = all - (2 ** (width - keep) - 1);
    if ((a[i]! & mask) !== (b[i]! & mask)) return false;
  }
  return true;
}
