// Where the TLS client certificate of a request comes from (RFC 8705), for the ProtocolRequest:
// the TLS connection when Tessera terminates TLS itself (TESSERA_TLS_CERT_FILE), or the header a
// TLS-terminating proxy sets (TESSERA_MTLS_CERT_HEADER), believed only when the connection itself
// comes from a TESSERA_TRUST_PROXY address. Nothing is verified here: the protocol checks the
// certificate per client (chain, subject, key).
import { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Config } from '../config/config.ts';
import { featureEnabled } from '../config/features.ts';
import type { Logger } from '../protocol/provider.ts';

/** Longest header value accepted (a URL-encoded PEM of an RSA-4096 certificate with extensions stays well below). */
export const MAX_CERT_HEADER_LENGTH = 16 * 1024;

/** The names proxy-addr (Fastify's trustProxy) understands, as ranges. */
const NAMED: Record<string, [string, number, 'ipv4' | 'ipv6'][]> = {
  loopback: [
    ['127.0.0.1', 8, 'ipv4'],
    ['::1', 128, 'ipv6'],
  ],
  linklocal: [
    ['169.254.0.0', 16, 'ipv4'],
    ['fe80::', 10, 'ipv6'],
  ],
  uniquelocal: [
    ['10.0.0.0', 8, 'ipv4'],
    ['172.16.0.0', 12, 'ipv4'],
    ['192.168.0.0', 16, 'ipv4'],
    ['fc00::', 7, 'ipv6'],
  ],
};

/**
 * The TESSERA_TRUST_PROXY addresses as a BlockList (addresses, CIDRs, and the names loopback, linklocal, uniquelocal).
 */
export function trustedProxies(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const raw of entries) {
    const e = raw.trim();
    if (NAMED[e]) {
      for (const [a, bits, t] of NAMED[e]) list.addSubnet(a, bits, t);
      continue;
    }
    const [addr, bits] = e.split('/');
    const kind = isIP(addr ?? '');
    if (!kind) continue;
    const type = kind === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(addr!, type);
    else if (/^\d{1,3}$/.test(bits)) list.addSubnet(addr!, Number(bits), type);
  }
  return list;
}

function fromTrusted(list: BlockList, address: string | undefined): boolean {
  if (!address) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const a = mapped ? mapped[1]! : address;
  const kind = isIP(a);
  return kind !== 0 && list.check(a, kind === 4 ? 'ipv4' : 'ipv6');
}

/**
 * A forwarded certificate: URL-encoded PEM (nginx $ssl_client_escaped_cert), or base64 DER (Caddy's
 * certificate_der_base64).
 */
export function parseForwardedCertificate(value: string): X509Certificate | undefined {
  if (value.length === 0 || value.length > MAX_CERT_HEADER_LENGTH) return undefined;
  let text: string;
  try {
    text = decodeURIComponent(value);
  } catch {
    return undefined;
  }
  text = text.trim();
  try {
    if (text.startsWith('-----BEGIN CERTIFICATE-----')) {
      if (text.indexOf('-----BEGIN', 1) >= 0) return undefined; // one certificate, not a chain
      return new X509Certificate(text);
    }
    if (/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return new X509Certificate(Buffer.from(text, 'base64'));
  } catch {
    return undefined;
  }
  return undefined;
}

export type CertificateReader = (req: IncomingMessage) => X509Certificate | undefined;

/** The function that gives a request's client certificate under this configuration. */
export function certificateReader(config: Config, log: Logger): CertificateReader {
  // TESSERA_FEATURES_DISABLED=mtls: certificates are never read, so nothing can authenticate or bind by one.
  if (!featureEnabled(config, 'mtls')) return () => undefined;
  if (config.tlsCertFile !== undefined) {
    // One handshake per connection: the certificate is read once per socket.
    const seen = new WeakMap<object, X509Certificate | null>();
    return (req) => {
      const socket = req.socket as TLSSocket;
      if (!socket.encrypted) return undefined;
      let cert = seen.get(socket);
      if (cert === undefined) {
        const peer = socket.getPeerCertificate(false);
        try {
          cert = peer && peer.raw ? new X509Certificate(peer.raw) : null;
        } catch {
          cert = null;
        }
        seen.set(socket, cert);
      }
      return cert ?? undefined;
    };
  }
  const name = config.mtlsCertHeader;
  if (name === undefined || config.trustProxy.length === 0) return () => undefined;
  const proxies = trustedProxies(config.trustProxy);
  return (req) => {
    const value = req.headers[name];
    if (value === undefined) return undefined;
    if (!fromTrusted(proxies, req.socket.remoteAddress)) {
      log.warn(
        { event: 'mtls_header_untrusted', ip: req.socket.remoteAddress },
        `${name} from an address not in TESSERA_TRUST_PROXY ignored`,
      );
      return undefined;
    }
    if (Array.isArray(value)) {
      log.warn({ event: 'mtls_header_malformed' }, `several ${name} headers: ignored`);
      return undefined;
    }
    if (value === '') return undefined; // the proxy had no certificate to forward
    const cert = parseForwardedCertificate(value);
    if (!cert) log.warn({ event: 'mtls_header_malformed' }, `${name} does not hold one certificate: ignored`);
    return cert;
  };
}
