import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasOpenssl, makePki } from '../../../test/fixtures/certs.ts';
import { certificateThumbprint, parseCertificateHeader, proxyList } from './certificate.ts';

describe('certificate headers', { skip: hasOpenssl() ? false : 'no openssl' }, () => {
  it('reads URL-encoded PEM and base64 DER, and nothing else', () => {
    const pki = makePki();
    try {
      const pem = pki.clientA.certPem;
      const fromPem = parseCertificateHeader(encodeURIComponent(pem))!;
      const fromDer = parseCertificateHeader(pki.clientA.cert.raw.toString('base64'))!;
      assert.equal(certificateThumbprint(fromPem), certificateThumbprint(fromDer));
      assert.equal(certificateThumbprint(fromPem).length, 43);
      assert.equal(parseCertificateHeader('garbage'), undefined);
      assert.equal(parseCertificateHeader('%E0%A4%A'), undefined);
    } finally {
      pki.cleanup();
    }
  });
});

describe('trusted proxies', () => {
  it('takes addresses and CIDR ranges of both families and refuses anything else', () => {
    const list = proxyList(['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8']);
    assert.ok(list.check('10.200.1.1', 'ipv4'));
    assert.ok(!list.check('11.0.0.1', 'ipv4'));
    assert.ok(list.check('fd12::1', 'ipv6'));
    for (const bad of ['localhost', '10.0.0.0/33', '1.2.3.4/x', ''])
      assert.throws(() => proxyList([bad]), /trustedProxies/, bad);
  });
});
