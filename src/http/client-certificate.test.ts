import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { hasOpenssl, makePki } from '../../test/fixtures/certs.ts';
import { MAX_CERT_HEADER_LENGTH, parseForwardedCertificate, trustedProxies } from './client-certificate.ts';

describe('client certificates forwarded by a proxy', {
  skip: hasOpenssl() ? false : 'openssl CLI not installed',
}, () => {
  const pki = makePki();
  after(() => pki.cleanup());

  it('reads URL-encoded PEM (nginx $ssl_client_escaped_cert) and base64 DER', () => {
    const fromPem = parseForwardedCertificate(encodeURIComponent(pki.clientA.certPem));
    assert.equal(fromPem?.fingerprint256, pki.clientA.cert.fingerprint256);
    const fromDer = parseForwardedCertificate(pki.clientA.cert.raw.toString('base64'));
    assert.equal(fromDer?.fingerprint256, pki.clientA.cert.fingerprint256);
  });

  it('refuses what is not exactly one certificate', () => {
    const pem = pki.clientA.certPem;
    for (const bad of [
      '',
      'garbage',
      '%E0%A4%A',
      encodeURIComponent(`${pem.slice(0, 200)}\n-----END CERTIFICATE-----`),
      encodeURIComponent(pem + pki.ca.certPem),
      encodeURIComponent(pki.clientA.keyPem),
      'QUJD',
      'A'.repeat(MAX_CERT_HEADER_LENGTH + 1),
    ]) {
      assert.equal(parseForwardedCertificate(bad), undefined, bad.slice(0, 40));
    }
  });

  it('believes only the configured proxy addresses and ranges', () => {
    const list = trustedProxies(['10.0.0.5', '192.168.1.0/24', 'loopback', 'fd00::/8', 'nonsense']);
    assert.ok(list.check('10.0.0.5', 'ipv4'));
    assert.ok(!list.check('10.0.0.6', 'ipv4'));
    assert.ok(list.check('192.168.1.200', 'ipv4'));
    assert.ok(!list.check('192.168.2.1', 'ipv4'));
    assert.ok(list.check('127.0.0.1', 'ipv4'));
    assert.ok(list.check('::1', 'ipv6'));
    assert.ok(list.check('fd12::1', 'ipv6'));
    assert.ok(!list.check('2001:db8::1', 'ipv6'));
  });
});
