// RFC 8705 section 3: a certificate-bound token (cnf x5t#S256) must come with the same TLS client
// certificate. Behind a TLS-terminating proxy the certificate arrives in a header, believed only on
// connections from the proxy's own addresses.
import { createHash, timingSafeEqual, X509Certificate } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { CertificateMismatchError } from './errors.ts';
import { singleHeader, type RequestLike } from './request.ts';

export interface CertificateOptions {
  /** The header the proxy puts the client certificate in (URL-encoded PEM, as nginx's $ssl_client_escaped_cert, or base64 DER). */
  header: string;
  /** Addresses or CIDR ranges of the proxies whose header is believed. */
  trustedProxies: readonly string[];
}

/** A BlockList of the trusted proxies (addresses or CIDR ranges, IPv4 or IPv6). */
export function proxyList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/');
    const family = isIP(address ?? '');
    if (!family) throw new Error(`certificateBound.trustedProxies: ${entry} is not an address or CIDR range`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(address!, type);
    else {
      const prefix = Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128))
        throw new Error(`certificateBound.trustedProxies: ${entry} has a bad prefix length`);
      list.addSubnet(address!, prefix, type);
    }
  }
  return list;
}

function isTrusted(list: BlockList, address: string | undefined): boolean {
  if (!address) return false;
  const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  const family = isIP(plain);
  return family !== 0 && list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
}

/** The certificate in a proxy header: URL-encoded PEM or base64 DER; undefined when it is not a certificate. */
export function parseCertificateHeader(value: string): X509Certificate | undefined {
  try {
    const text = value.includes('%') ? decodeURIComponent(value) : value;
    if (text.includes('-----BEGIN CERTIFICATE-----')) return new X509Certificate(text);
    return new X509Certificate(Buffer.from(text.replace(/\s+/g, ''), 'base64'));
  } catch {
    return undefined;
  }
}

/** The RFC 8705 x5t#S256 of a certificate: the base64url SHA-256 of its DER. */
export function certificateThumbprint(cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('base64url');
}

/** Checks that the request carries the certificate the token is bound to. */
export function checkCertificateBinding(
  req: RequestLike,
  expected: string,
  options: CertificateOptions | undefined,
  proxies: BlockList | undefined,
): void {
  if (!options || !proxies)
    throw new CertificateMismatchError('Certificate-bound tokens are not accepted by this resource.');
  const value = isTrusted(proxies, req.remoteAddress)
    ? singleHeader(req.headers, options.header.toLowerCase())
    : undefined;
  const cert = value ? parseCertificateHeader(value) : undefined;
  if (!cert) throw new CertificateMismatchError('The token is bound to a client certificate and none was presented.');
  const a = Buffer.from(certificateThumbprint(cert));
  const b = Buffer.from(expected);
  if (a.length !== b.length || !timingSafeEqual(a, b))
    throw new CertificateMismatchError('The token is bound to another client certificate.');
}
