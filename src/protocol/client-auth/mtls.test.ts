import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { hasOpenssl, makePki, type TestPki } from '../../../test/fixtures/certs.ts';
import {
  certificateMatches,
  certificateThumbprint,
  chainProblem,
  mtlsRegistrationProblems,
  parseDn,
  subjectAltNames,
  subjectMatches,
} from './mtls.ts';

describe('mutual-TLS certificate checks (RFC 8705)', {
  skip: hasOpenssl() ? false : 'openssl CLI not installed',
}, () => {
  const pki: TestPki = makePki();
  after(() => pki.cleanup());
  const now = Math.floor(Date.now() / 1000);
  const anchors = [pki.ca.cert];

  it('accepts a certificate issued by a trusted CA within its dates', () => {
    assert.equal(chainProblem(pki.clientA.cert, anchors, now), undefined);
    assert.equal(chainProblem(pki.clientB.cert, anchors, now), undefined);
  });

  it('refuses a certificate of another CA, an expired one, a not yet valid one, a self-signed one and a CA certificate', () => {
    assert.equal(chainProblem(pki.rogue.cert, anchors, now), 'certificate is not issued by a trusted CA');
    assert.equal(chainProblem(pki.expired.cert, anchors, now), 'certificate is expired or not yet valid');
    assert.equal(chainProblem(pki.clientA.cert, anchors, now - 86_400), 'certificate is expired or not yet valid');
    assert.equal(chainProblem(pki.clientA.cert, anchors, now + 8 * 86_400), 'certificate is expired or not yet valid');
    assert.equal(chainProblem(pki.selfSigned.cert, anchors, now), 'certificate is not issued by a trusted CA');
    assert.equal(chainProblem(pki.ca.cert, anchors, now), 'certificate is a CA certificate');
    assert.equal(chainProblem(pki.clientA.cert, [], now), 'certificate is not issued by a trusted CA');
  });

  it("refuses a certificate whose issuer has the trusted CA's name but another key", () => {
    assert.equal(pki.impostor.cert.issuer, pki.ca.cert.subject);
    assert.equal(chainProblem(pki.impostor.cert, anchors, now), 'certificate is not issued by a trusted CA');
  });

  it('does not take a non-CA certificate of the bundle as an issuer', () => {
    // clientA is a leaf: even a certificate it "issued" by name would not chain to it.
    assert.equal(chainProblem(pki.clientB.cert, [pki.clientA.cert], now), 'certificate is not issued by a trusted CA');
  });

  it('matches the subject DN in RFC 4514 form exactly (order, attributes, values)', () => {
    const c = pki.clientA.cert;
    assert.ok(subjectMatches(c, 'CN=client-a,O=Example Org,C=DE'));
    assert.ok(subjectMatches(c, 'CN=client-a, O=Example Org, C=DE'));
    assert.ok(subjectMatches(c, 'cn=client-a,o=Example Org,c=DE'), 'attribute types are case-insensitive');
    assert.ok(!subjectMatches(c, 'CN=Client-A,O=Example Org,C=DE'), 'values are compared exactly');
    assert.ok(!subjectMatches(c, 'C=DE,O=Example Org,CN=client-a'), 'order matters');
    assert.ok(!subjectMatches(c, 'CN=client-a,O=Example Org'), 'every attribute counts');
    assert.ok(!subjectMatches(c, 'CN=client-a,O=Example Org,C=DE,L=Berlin'));
    assert.ok(!subjectMatches(c, 'CN=client-a+UID=1,O=Example Org,C=DE'));
    assert.ok(!subjectMatches(pki.clientB.cert, 'CN=client-a,O=Example Org,C=DE'));
  });

  it('parses escaped DN values and refuses malformed DNs', () => {
    assert.deepEqual(parseDn('CN=a\\,b,O=x', 'rfc4514'), [
      { type: 'O', value: 'x' },
      { type: 'CN', value: 'a,b' },
    ]);
    assert.deepEqual(parseDn('CN=caf\\C3\\A9', 'rfc4514'), [{ type: 'CN', value: 'café' }]);
    for (const bad of ['', 'CN', '=x', 'CN=a,,O=b', 'CN=a+O=b']) assert.equal(parseDn(bad, 'rfc4514'), undefined, bad);
  });

  it('reads the subjectAltName entries', () => {
    assert.deepEqual(subjectAltNames(pki.clientA.cert), [
      { type: 'DNS', value: 'client.example' },
      { type: 'URI', value: 'https://client.example/id' },
      { type: 'IP Address', value: '192.0.2.7' },
      { type: 'email', value: 'ops@client.example' },
    ]);
    assert.deepEqual(subjectAltNames(pki.selfSigned.cert), []);
  });

  it('matches each SAN type exactly, and only against entries of that type', () => {
    const c = pki.clientA.cert;
    assert.ok(certificateMatches(c, 'tls_client_auth_san_dns', 'client.example'));
    assert.ok(certificateMatches(c, 'tls_client_auth_san_dns', 'CLIENT.example'), 'DNS names are case-insensitive');
    assert.ok(!certificateMatches(c, 'tls_client_auth_san_dns', 'other.example'));
    assert.ok(!certificateMatches(c, 'tls_client_auth_san_dns', 'example'));
    assert.ok(!certificateMatches(c, 'tls_client_auth_san_dns', '*.example'));
    assert.ok(certificateMatches(c, 'tls_client_auth_san_uri', 'https://client.example/id'));
    assert.ok(!certificateMatches(c, 'tls_client_auth_san_uri', 'https://client.example/id/'));
    assert.ok(!certificateMatches(c, 'tls_client_auth_san_uri', 'client.example'), 'a DNS value is not a URI');
    assert.ok(certificateMatches(c, 'tls_client_auth_san_ip', '192.0.2.7'));
    assert.ok(!certificateMatches(c, 'tls_client_auth_san_ip', '192.0.2.70'));
    assert.ok(!certificateMatches(c, 'tls_client_auth_san_ip', 'client.example'));
    assert.ok(certificateMatches(c, 'tls_client_auth_san_email', 'ops@client.example'));
    assert.ok(!certificateMatches(c, 'tls_client_auth_san_email', 'dev@client.example'));
    assert.ok(certificateMatches(c, 'tls_client_auth_subject_dn', 'CN=client-a,O=Example Org,C=DE'));
  });

  it('thumbprints the DER certificate with SHA-256 (x5t#S256)', () => {
    const c = pki.clientA.cert;
    assert.equal(
      certificateThumbprint(c),
      Buffer.from(c.fingerprint256.replace(/:/g, ''), 'hex').toString('base64url'),
    );
    assert.notEqual(certificateThumbprint(c), certificateThumbprint(new X509Certificate(pki.clientB.certPem)));
  });

  it('validates registrations: exactly one subject or SAN for tls_client_auth, keys for the self-signed method', () => {
    assert.deepEqual(mtlsRegistrationProblems('tls_client_auth', { tls_client_auth_san_dns: 'client.example' }), []);
    assert.match(mtlsRegistrationProblems('tls_client_auth', {}).join(), /exactly one/);
    assert.match(
      mtlsRegistrationProblems('tls_client_auth', {
        tls_client_auth_san_dns: 'a',
        tls_client_auth_san_uri: 'https://a',
      }).join(),
      /exactly one/,
    );
    assert.match(
      mtlsRegistrationProblems('tls_client_auth', { tls_client_auth_subject_dn: 'not a dn' }).join(),
      /RFC 4514/,
    );
    assert.match(
      mtlsRegistrationProblems('tls_client_auth', { tls_client_auth_san_ip: '300.1.1.1' }).join(),
      /IPv4 or IPv6/,
    );
    assert.match(
      mtlsRegistrationProblems('tls_client_auth', { tls_client_auth_san_uri: 'relative' }).join(),
      /absolute URI/,
    );
    assert.match(
      mtlsRegistrationProblems('client_secret_basic', { tls_client_auth_san_dns: 'a' }).join(),
      /only to tls_client_auth/,
    );
    assert.match(mtlsRegistrationProblems('self_signed_tls_client_auth', {}).join(), /jwks or jwks_uri/);
    assert.deepEqual(
      mtlsRegistrationProblems('self_signed_tls_client_auth', {
        jwks: { keys: [pki.selfSigned.jwk as Record<string, unknown>] },
      }),
      [],
    );
  });
});
