/**
 * FAPI 2.0 mode with mutual TLS (RFC 8705), on SQLite and PostgreSQL: tls_client_auth is an
 * allowed method, and a certificate-bound access token (cnf x5t#S256) satisfies the profile's
 * sender-constraint rule as a DPoP-bound one does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import { saveClient } from '../../src/admin/clients.ts';
import type { App } from '../../src/app.ts';
import { certificateThumbprint } from '../../src/protocol/client-auth/mtls.ts';
import { backends, testApp } from '../fixtures/app.ts';
import { escapedPem, hasOpenssl, makePki, type TestCert } from '../fixtures/certs.ts';

const HEADER = 'x-ssl-client-cert';
const PROXY = '127.0.0.1';
const pki = hasOpenssl() ? makePki() : undefined;
after(() => pki?.cleanup());

function token(app: App, clientId: string, cert: TestCert): Promise<LightMyRequestResponse> {
  return app.server.inject({
    method: 'POST',
    url: '/token',
    payload: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      scope: 'api:read',
    }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', [HEADER]: escapedPem(cert) },
    remoteAddress: PROXY,
  } as InjectOptions);
}

for (const backend of await backends()) {
  const skip = !pki
    ? 'openssl CLI not installed'
    : backend.url
      ? false
      : 'PostgreSQL unreachable (set CI=true to require it)';
  describe(`FAPI 2.0 with mutual TLS (${backend.name})`, { skip }, () => {
    let app: App;
    before(async () => {
      app = await testApp(backend.url!, {
        TESSERA_FAPI_PROFILE: '2.0',
        TESSERA_MTLS_CERT_HEADER: HEADER,
        TESSERA_TRUST_PROXY: PROXY,
        TESSERA_MTLS_CA_FILE: pki!.caFile,
      });
      const cc = { grant_types: ['client_credentials' as const], scope: 'api:read', redirect_uris: [] };
      const n = app.provider.now();
      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'bound',
          token_endpoint_auth_method: 'tls_client_auth',
          tls_client_auth_san_dns: 'client.example',
          tls_client_certificate_bound_access_tokens: true,
          ...cc,
        },
        n,
      );
      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'unbound',
          token_endpoint_auth_method: 'tls_client_auth',
          tls_client_auth_san_dns: 'client.example',
          ...cc,
        },
        n,
      );
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    it('discovery lists the mTLS methods with private_key_jwt', async () => {
      const d = (await app.server.inject('/.well-known/openid-configuration')).json();
      assert.deepEqual([...d.token_endpoint_auth_methods_supported].sort(), [
        'private_key_jwt',
        'self_signed_tls_client_auth',
        'tls_client_auth',
      ]);
    });

    it('a certificate-bound token satisfies the sender-constraint rule; an unbound one is refused', async () => {
      const ok = await token(app, 'bound', pki!.clientA);
      assert.equal(ok.statusCode, 200, ok.body);
      assert.deepEqual(decodeJwt(ok.json().access_token).cnf, { 'x5t#S256': certificateThumbprint(pki!.clientA.cert) });
      const refused = await token(app, 'unbound', pki!.clientA);
      assert.equal(refused.statusCode, 400, refused.body);
      assert.equal(refused.json().error, 'invalid_request');
      assert.match(refused.json().error_description, /sender-constrained/);
    });
  });
}
