// Mutual-TLS client authentication and certificate-bound tokens (RFC 8705). The HTTP layer hands
// the client certificate over as an X509Certificate in the ProtocolRequest (from the TLS socket,
// or from a trusted proxy's header); nothing here reads sockets or headers.
import { featureEnabled } from '../../config/features.ts';
import { createHash, type KeyObject, type X509Certificate } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { Config } from '../../config/config.ts';
import type { ClientAuthMethod, ClientMetadata, ClientRecord } from '../../ports/clients.ts';
import { ipVersion } from '../ip.ts';
import type { Provider } from '../provider.ts';
import { ClientAuthError } from './client-assertion.ts';
import { clientKeys, ClientKeysError } from './client-keys.ts';
import type { DepsOf } from '../provider.ts';

/** What certificate authentication uses of the Provider: the mTLS settings, the clock, the client key sets. */
export type CertificateAuthDeps = Pick<Provider, 'config' | 'now'> & DepsOf<typeof clientKeys>;

export const MTLS_METHODS: readonly ClientAuthMethod[] = ['tls_client_auth', 'self_signed_tls_client_auth'];

/** The registration fields of tls_client_auth, of which a client registers exactly one (RFC 8705 section 2.1.2). */
export const TLS_CLIENT_AUTH_FIELDS = [
  'tls_client_auth_subject_dn',
  'tls_client_auth_san_dns',
  'tls_client_auth_san_uri',
  'tls_client_auth_san_ip',
  'tls_client_auth_san_email',
] as const;
export type TlsClientAuthField = (typeof TLS_CLIENT_AUTH_FIELDS)[number];

export function isMtlsMethod(m: ClientAuthMethod): boolean {
  return MTLS_METHODS.includes(m);
}

/** Where client certificates come from, if anywhere: TLS terminated by Tessera, or a trusted proxy's header. */
export function certificateSource(config: Config): 'tls' | 'header' | undefined {
  // TESSERA_FEATURES_DISABLED=mtls: no certificate is read, so no mTLS method or bound token works.
  if (!featureEnabled(config, 'mtls')) return undefined;
  if (config.tlsCertFile !== undefined) return 'tls';
  if (config.mtlsCertHeader !== undefined && config.trustProxy.length > 0) return 'header';
  return undefined;
}

/** The mTLS methods this configuration offers: self-signed with any source, PKI only with a CA bundle. */
export function enabledMtlsMethods(config: Config): ClientAuthMethod[] {
  if (!certificateSource(config)) return [];
  return config.mtlsCaFile !== undefined
    ? ['tls_client_auth', 'self_signed_tls_client_auth']
    : ['self_signed_tls_client_auth'];
}

/** RFC 8705 section 3.1: base64url SHA-256 of the DER certificate, the x5t#S256 confirmation. */
export function certificateThumbprint(cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('base64url');
}

function inValidity(cert: X509Certificate, nowSeconds: number): boolean {
  const from = Date.parse(cert.validFrom) / 1000;
  const to = Date.parse(cert.validTo) / 1000;
  return Number.isFinite(from) && Number.isFinite(to) && nowSeconds >= from && nowSeconds <= to;
}

/**
 * Why a certificate does not chain to one of the anchors, or undefined when it does. The leaf
 * must be within its validity dates, not a CA itself, and issued and signed by an anchor that is a
 * CA within its own dates. Intermediates are trusted only when they are in the bundle.
 */
export function chainProblem(
  cert: X509Certificate,
  anchors: readonly X509Certificate[],
  nowSeconds: number,
): string | undefined {
  if (!inValidity(cert, nowSeconds)) return 'certificate is expired or not yet valid';
  if (cert.ca) return 'certificate is a CA certificate';
  for (const ca of anchors) {
    if (!ca.ca || !cert.checkIssued(ca)) continue;
    if (!cert.verify(ca.publicKey)) continue;
    if (!inValidity(ca, nowSeconds)) return 'issuing CA certificate is expired or not yet valid';
    return undefined;
  }
  return 'certificate is not issued by a trusted CA';
}

/** An RFC 4514 / RFC 2253 distinguished name as its attribute-value pairs, most significant first. */
export function parseDn(dn: string, order: 'rfc4514' | 'node'): { type: string; value: string }[] | undefined {
  const parts: string[] = [];
  let cur = '';
  const sep = order === 'node' ? '\n' : ',';
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i]!;
    if (c === '\\' && i + 1 < dn.length) {
      cur += c + dn[i + 1];
      i++;
      continue;
    }
    if (c === sep || (order === 'rfc4514' && c === ';')) {
      parts.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  parts.push(cur);
  const out: { type: string; value: string }[] = [];
  for (const raw of parts) {
    const part = order === 'rfc4514' ? raw.trim() : raw;
    if (part === '') return undefined;
    // Multi-valued RDNs (a+b) are not supported: refuse rather than guess an order.
    if (/(^|[^\\])\+/.test(part)) return undefined;
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const type = normalizeType(part.slice(0, eq).trim());
    const value = unescapeDnValue(part.slice(eq + 1).trim());
    if (value === undefined) return undefined;
    out.push({ type, value });
  }
  // RFC 4514 strings list the most specific RDN first; Node lists the certificate's order (root first).
  return order === 'rfc4514' ? out.reverse() : out;
}

/**
 * Attribute type names that mean the same: the e-mail attribute is `emailAddress` in OpenSSL's output, `E` in some
 * tools.
 */
const TYPE_ALIASES: Record<string, string> = { E: 'EMAILADDRESS' };
function normalizeType(t: string): string {
  const u = t.toUpperCase();
  return TYPE_ALIASES[u] ?? u;
}

function unescapeDnValue(v: string): string | undefined {
  let out = '';
  const bytes: number[] = [];
  const flush = () => {
    if (bytes.length) {
      out += Buffer.from(bytes).toString('utf8');
      bytes.length = 0;
    }
  };
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c !== '\\') {
      flush();
      out += c;
      continue;
    }
    const hex = v.slice(i + 1, i + 3);
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
      continue;
    }
    if (i + 1 >= v.length) return undefined;
    flush();
    out += v[i + 1];
    i++;
  }
  flush();
  return out;
}

/** Whether the certificate's subject is the registered DN (same attributes, same order, same values). */
export function subjectMatches(cert: X509Certificate, registered: string): boolean {
  const want = parseDn(registered, 'rfc4514');
  const have = parseDn(cert.subject, 'node');
  if (!want || !have || want.length !== have.length) return false;
  return want.every((w, i) => w.type === have[i]!.type && w.value === have[i]!.value);
}

/** The certificate's subjectAltName entries (Node quotes ambiguous values as JSON strings). */
export function subjectAltNames(cert: X509Certificate): { type: string; value: string }[] {
  const s = cert.subjectAltName;
  if (!s) return [];
  const out: { type: string; value: string }[] = [];
  let i = 0;
  while (i < s.length) {
    const colon = s.indexOf(':', i);
    if (colon < 0) break;
    const type = s.slice(i, colon);
    let j = colon + 1;
    let value: string;
    if (s[j] === '"') {
      let k = j + 1;
      while (k < s.length && s[k] !== '"') k += s[k] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(s.slice(j, k + 1)) as string;
      } catch {
        return out;
      }
      j = k + 1;
    } else {
      const end = s.indexOf(', ', j);
      value = s.slice(j, end < 0 ? s.length : end);
      j = end < 0 ? s.length : end;
    }
    out.push({ type, value });
    if (s.startsWith(', ', j)) j += 2;
    i = j;
  }
  return out;
}

function canonicalIp(ip: string): string | undefined {
  const kind = ipVersion(ip);
  if (kind === 4)
    return ip
      .split('.')
      .map((o) => String(Number(o)))
      .join('.');
  if (kind === 6) {
    try {
      return new URL(`http://[${ip}]/`).hostname;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Whether the certificate carries the value registered in `field`, compared exactly (DNS names and IP addresses in
 * canonical form).
 */
export function certificateMatches(cert: X509Certificate, field: TlsClientAuthField, registered: string): boolean {
  if (field === 'tls_client_auth_subject_dn') return subjectMatches(cert, registered);
  const sans = subjectAltNames(cert);
  switch (field) {
    case 'tls_client_auth_san_dns':
      return sans.some((s) => s.type === 'DNS' && s.value.toLowerCase() === registered.toLowerCase());
    case 'tls_client_auth_san_uri':
      return sans.some((s) => s.type === 'URI' && s.value === registered);
    case 'tls_client_auth_san_email':
      return sans.some((s) => s.type === 'email' && s.value === registered);
    case 'tls_client_auth_san_ip': {
      const want = canonicalIp(registered);
      return want !== undefined && sans.some((s) => s.type === 'IP Address' && canonicalIp(s.value) === want);
    }
  }
}

/** The one tls_client_auth field a client registered (validated at registration). */
export function registeredField(metadata: ClientMetadata): { field: TlsClientAuthField; value: string } | undefined {
  const present = TLS_CLIENT_AUTH_FIELDS.filter((f) => typeof metadata[f] === 'string');
  if (present.length !== 1) return undefined;
  return { field: present[0]!, value: metadata[present[0]!] as string };
}

/** Problems of a client's mTLS registration; empty when fine. */
export function mtlsRegistrationProblems(method: ClientAuthMethod, metadata: ClientMetadata): string[] {
  const present = TLS_CLIENT_AUTH_FIELDS.filter((f) => metadata[f] !== undefined);
  const problems: string[] = [];
  for (const f of present) {
    const v = metadata[f];
    if (typeof v !== 'string' || v.length === 0 || v.length > 1024) {
      problems.push(`${f} must be a non-empty string of at most 1024 characters`);
      continue;
    }
    if (f === 'tls_client_auth_subject_dn' && !parseDn(v, 'rfc4514'))
      problems.push(
        'tls_client_auth_subject_dn must be an RFC 4514 distinguished name (e.g. CN=client,O=Example,C=DE)',
      );
    if (f === 'tls_client_auth_san_ip' && canonicalIp(v) === undefined)
      problems.push('tls_client_auth_san_ip must be an IPv4 or IPv6 address');
    if (f === 'tls_client_auth_san_uri') {
      try {
        new URL(v);
      } catch {
        problems.push('tls_client_auth_san_uri must be an absolute URI');
      }
    }
    if (f === 'tls_client_auth_san_email' && !/^[^@\s]+@[^@\s]+$/.test(v))
      problems.push('tls_client_auth_san_email must be an e-mail address');
  }
  if (method === 'tls_client_auth' && present.length !== 1)
    problems.push(`tls_client_auth needs exactly one of ${TLS_CLIENT_AUTH_FIELDS.join(', ')}`);
  if (method !== 'tls_client_auth' && present.length > 0)
    problems.push(`${present.join(', ')} appl${present.length > 1 ? 'y' : 'ies'} only to tls_client_auth`);
  if (method === 'self_signed_tls_client_auth' && metadata.jwks === undefined && metadata.jwks_uri === undefined)
    problems.push("self_signed_tls_client_auth needs jwks or jwks_uri (the certificate's public key)");
  return problems;
}

/** RFC 7638 thumbprint of a public key. */
async function keyThumbprint(key: KeyObject): Promise<string> {
  return calculateJwkThumbprint(key.export({ format: 'jwk' }) as JWK, 'sha256');
}

/**
 * Authenticates a client registered for tls_client_auth or self_signed_tls_client_auth by the
 * request's certificate. Throws ClientAuthError (invalid_client) on any mismatch.
 */
export async function authenticateByCertificate(
  p: CertificateAuthDeps,
  client: ClientRecord,
  cert: X509Certificate | undefined,
): Promise<void> {
  const method = client.tokenEndpointAuthMethod;
  const fail = (reason: string, message: string) =>
    Object.assign(new ClientAuthError(reason, message, client.clientId), { method });
  if (!enabledMtlsMethods(p.config).includes(method))
    throw fail('mtls_disabled', `${method} is not enabled on this server`);
  if (!cert) throw fail('no_certificate', `client ${client.clientId} presented no certificate`);
  if (method === 'tls_client_auth') {
    const problem = chainProblem(cert, p.config.mtlsCaCertificates, p.now());
    if (problem) throw fail('certificate_chain', problem);
    const reg = registeredField(client.metadata);
    if (!reg) throw fail('no_registration', `client ${client.clientId} has no tls_client_auth subject or SAN`);
    if (!certificateMatches(cert, reg.field, reg.value))
      throw fail('certificate_mismatch', `certificate does not carry the registered ${reg.field}`);
    return;
  }
  if (!inValidity(cert, p.now())) throw fail('certificate_expired', 'certificate is expired or not yet valid');
  const presented = await keyThumbprint(cert.publicKey);
  // A key the cached remote set lacks fetches the set again (at most once per refetch interval),
  // so a client that rotated its certificate is picked up as with JWT assertions.
  for (const refetch of [false, true]) {
    let keys: Record<string, unknown>[];
    try {
      keys = (await clientKeys(p).keySet(client, refetch)).keys as Record<string, unknown>[];
    } catch (err) {
      if (err instanceof ClientKeysError) throw fail(err.reason, err.message);
      throw err;
    }
    for (const k of keys) {
      let t: string;
      try {
        t = await calculateJwkThumbprint(k as JWK, 'sha256');
      } catch {
        continue;
      }
      if (t === presented) return;
    }
    if (client.metadata.jwks !== undefined) break;
  }
  throw fail('certificate_mismatch', "the certificate's key is not one of the client's registered keys");
}
