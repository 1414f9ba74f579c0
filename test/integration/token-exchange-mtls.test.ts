/**
 * Token exchange (RFC 8693) with certificate-bound tokens (RFC 8705), over inject() with the client
 * certificate forwarded by a trusted proxy header (as in test/integration/mtls.test.ts): a bound
 * subject token is exchanged only over a request with its certificate, and the exchanged token is
 * bound to the exchanging client's certificate when that client is registered for bound tokens.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import { saveClient } from '../../src/admin/clients.ts';
import type { App } from '../../src/app.ts';
import { certificateThumbprint } from '../../src/protocol/client-auth/mtls.ts';
import type { ProtocolEvent } from '../../src/protocol/events.ts';
import { backends, basic, testApp } from '../fixtures/app.ts';
import { escapedPem, hasOpenssl, makePki, type TestCert } from '../fixtures/certs.ts';

const HEADER = 'x-ssl-client-cert';
const PROXY = '127.0.0.1';
const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const AT = 'urn:ietf:params:oauth:token-type:access_token';
const ORDERS = 'https://orders.example/';
const SECRET = 'broker-secret-0123456789-abcdefghijklmnop';
const pki = hasOpenssl() ? makePki() : undefined;
after(() => pki?.cleanup());

function post(
  app: App,
  body: Record<string, string>,
  cert?: TestCert,
  authorization?: string,
): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (cert) headers[HEADER] = escapedPem(cert);
  if (authorization) headers.authorization = authorization;
  return app.server.inject({
    method: 'POST',
    url: '/token',
    payload: new URLSearchParams(body).toString(),
    headers,
    remoteAddress: PROXY,
  } as InjectOptions);
}

for (const backend of await backends()) {
  const skip = !pki
    ? 'openssl CLI not installed'
    : backend.url
      ? false
      : 'PostgreSQL unreachable (set CI=true to require it)';
  describe(`token exchange with certificate-bound tokens, RFC 8705 (${backend.name})`, { skip }, () => {
    let app: App;
    const events: ProtocolEvent[] = [];
    before(async () => {
      app = await testApp(backend.url!, {
        TESSERA_MTLS_CERT_HEADER: HEADER,
        TESSERA_TRUST_PROXY: PROXY,
        TESSERA_MTLS_CA_FILE: pki!.caFile,
      });
      const n = app.provider.now();
      const cfg = app.provider.config;
      const cc = { grant_types: ['client_credentials' as const], scope: 'api:read', redirect_uris: [] };
      await saveClient(
        app.stores,
        cfg,
        {
          client_id: 'pki-bound',
          token_endpoint_auth_method: 'tls_client_auth',
          tls_client_auth_san_dns: 'client.example',
          tls_client_certificate_bound_access_tokens: true,
          ...cc,
        },
        n,
      );
      await saveClient(
        app.stores,
        cfg,
        {
          client_id: 'pki-plain',
          token_endpoint_auth_method: 'tls_client_auth',
          tls_client_auth_san_dns: 'client.example',
          ...cc,
        },
        n,
      );
      const te = {
        grant_types: [GRANT as 'urn:ietf:params:oauth:grant-type:token-exchange'],
        scope: 'api:read',
        redirect_uris: [],
        token_exchange: { audiences: [ORDERS], subject_clients: ['pki-bound', 'pki-plain'] },
      };
      await saveClient(app.stores, cfg, { client_id: 'broker', client_secret: SECRET, ...te }, n);
      await saveClient(
        app.stores,
        cfg,
        { client_id: 'broker-bound', client_secret: SECRET, tls_client_certificate_bound_access_tokens: true, ...te },
        n,
      );
      const sink = app.provider.events;
      (app.provider as { events: typeof sink }).events = (e) => {
        events.push(e);
        sink(e);
      };
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    const serviceToken = async (clientId: string) => {
      const res = await post(app, { grant_type: 'client_credentials', client_id: clientId }, pki!.clientA);
      assert.equal(res.statusCode, 200, res.body);
      return res.json().access_token as string;
    };
    const exchange = (subject: string, broker: string, cert?: TestCert) =>
      post(
        app,
        { grant_type: GRANT, subject_token: subject, subject_token_type: AT, audience: ORDERS },
        cert,
        basic(broker, SECRET),
      );
    const refusedFor = (res: LightMyRequestResponse, reason: string) => {
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().error, 'invalid_request');
      const last = events.findLast((e) => e.type === 'token_exchange_refused');
      assert.equal(last?.type === 'token_exchange_refused' ? last.reason : undefined, reason);
    };

    it('a certificate-bound subject token is exchanged only over a request with its certificate', async () => {
      const bound = await serviceToken('pki-bound');
      assert.equal(
        (decodeJwt(bound).cnf as Record<string, string>)['x5t#S256'],
        certificateThumbprint(pki!.clientA.cert),
      );
      refusedFor(await exchange(bound, 'broker'), 'sender_constrained');
      refusedFor(await exchange(bound, 'broker', pki!.clientB), 'sender_constrained');
      const ok = await exchange(bound, 'broker', pki!.clientA);
      assert.equal(ok.statusCode, 200, ok.body);
      // broker is not registered for certificate-bound tokens: its token is a bearer token.
      assert.equal(ok.json().token_type, 'Bearer');
      assert.equal(decodeJwt(ok.json().access_token).cnf, undefined);
    });

    it('the exchanged token is bound to the certificate of a client registered for bound tokens', async () => {
      const plain = await serviceToken('pki-plain');
      assert.equal(decodeJwt(plain).cnf, undefined);
      const res = await exchange(plain, 'broker-bound', pki!.clientB);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(decodeJwt(res.json().access_token).cnf, {
        'x5t#S256': certificateThumbprint(pki!.clientB.cert),
      });
      // Without its certificate, that client gets nothing.
      const bare = await exchange(plain, 'broker-bound');
      assert.equal(bare.statusCode, 400, bare.body);
      assert.equal(bare.json().error, 'invalid_request');
    });
  });
}
