import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hasOpenssl, makePki } from '../../test/fixtures/certs.ts';
import { loadConfig } from './config.ts';
import { configProblems, PRODUCTION_ENV } from '../../test/fixtures/config.ts';

const prod = PRODUCTION_ENV;

const problems = configProblems;

describe('client certificate sources (RFC 8705) in the configuration', {
  skip: hasOpenssl() ? false : 'openssl CLI not installed',
}, () => {
  const pki = makePki();
  after(() => pki.cleanup());
  const header = { TESSERA_MTLS_CERT_HEADER: 'X-SSL-Client-Cert', TESSERA_TRUST_PROXY: '10.0.0.5' };

  it('accepts a proxy header with trusted proxies and a CA bundle, and TLS with a key', () => {
    const c = loadConfig({ ...prod, ...header, TESSERA_MTLS_CA_FILE: pki.caFile });
    assert.equal(c.mtlsCertHeader, 'x-ssl-client-cert');
    assert.equal(c.mtlsCaCertificates.length, 1);
    assert.equal(c.mtlsCaCertificates[0]!.fingerprint256, pki.ca.cert.fingerprint256);
    const t = loadConfig({
      ...prod,
      TESSERA_TLS_CERT_FILE: pki.server.certFile,
      TESSERA_TLS_KEY_FILE: pki.server.keyFile,
    });
    assert.equal(t.tlsCertFile, pki.server.certFile);
    assert.deepEqual(t.mtlsCaCertificates, []);
  });

  it('production refuses a header no proxy address vouches for, or a proxy list that trusts everyone', () => {
    assert.ok(
      problems({ ...prod, TESSERA_MTLS_CERT_HEADER: 'x-ssl-client-cert' }).some((p) =>
        p.startsWith('TESSERA_MTLS_CERT_HEADER: needs TESSERA_TRUST_PROXY'),
      ),
    );
    assert.ok(
      loadConfig({ TESSERA_ENV: 'development', TESSERA_MTLS_CERT_HEADER: 'x-ssl-client-cert' }).warnings.some((w) =>
        w.includes('TESSERA_TRUST_PROXY'),
      ),
    );
    for (const open of ['0.0.0.0/0', '::/0']) {
      assert.ok(
        problems({ ...prod, ...header, TESSERA_TRUST_PROXY: `10.0.0.5,${open}` }).some((p) =>
          p.startsWith('TESSERA_TRUST_PROXY:'),
        ),
        open,
      );
    }
  });

  it('Tessera serving HTTPS itself needs an https issuer (the development default follows)', () => {
    const tls = { TESSERA_TLS_CERT_FILE: pki.server.certFile, TESSERA_TLS_KEY_FILE: pki.server.keyFile };
    assert.equal(loadConfig({ TESSERA_ENV: 'development', ...tls }).issuer, 'https://localhost:4000');
    assert.ok(
      problems({ TESSERA_ENV: 'development', ...tls, TESSERA_ISSUER: 'http://localhost:4000' }).some((p) =>
        p.startsWith('TESSERA_ISSUER: must be an https URL'),
      ),
    );
  });

  it('refuses bad header names, both sources at once, half a TLS pair and unreadable files', () => {
    for (const bad of ['authorization', 'x-forwarded-for', 'bad header', 'DPoP']) {
      assert.ok(
        problems({ ...prod, ...header, TESSERA_MTLS_CERT_HEADER: bad }).some((p) =>
          p.startsWith('TESSERA_MTLS_CERT_HEADER'),
        ),
        bad,
      );
    }
    assert.ok(
      problems({
        ...prod,
        ...header,
        TESSERA_TLS_CERT_FILE: pki.server.certFile,
        TESSERA_TLS_KEY_FILE: pki.server.keyFile,
      }).some((p) => p.includes('not both')),
    );
    assert.ok(
      problems({ ...prod, TESSERA_TLS_CERT_FILE: pki.server.certFile }).some((p) =>
        p.startsWith('TESSERA_TLS_KEY_FILE'),
      ),
    );
    assert.ok(
      problems({
        ...prod,
        TESSERA_TLS_CERT_FILE: join(pki.dir, 'missing.crt'),
        TESSERA_TLS_KEY_FILE: pki.server.keyFile,
      }).some((p) => p.startsWith('TESSERA_TLS_CERT_FILE: cannot read')),
    );
  });

  it('refuses a CA bundle without a certificate source, with a non-CA certificate, or without certificates', () => {
    assert.ok(
      problems({ ...prod, TESSERA_MTLS_CA_FILE: pki.caFile }).some((p) =>
        p.startsWith('TESSERA_MTLS_CA_FILE: needs a client certificate source'),
      ),
    );
    assert.ok(
      problems({ ...prod, ...header, TESSERA_MTLS_CA_FILE: pki.clientA.certFile }).some((p) => p.includes('not a CA')),
    );
    const empty = join(pki.dir, 'empty.pem');
    writeFileSync(empty, 'nothing here\n');
    assert.ok(
      problems({ ...prod, ...header, TESSERA_MTLS_CA_FILE: empty }).some((p) => p.includes('no PEM certificate')),
    );
    const broken = join(pki.dir, 'broken.pem');
    writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    assert.ok(
      problems({ ...prod, ...header, TESSERA_MTLS_CA_FILE: broken }).some((p) => p.includes('cannot be parsed')),
    );
  });
});
