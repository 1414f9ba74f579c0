/**
 * Mutual-TLS client authentication and certificate-bound tokens (RFC 8705) over HTTP with inject(),
 * on SQLite and PostgreSQL. inject() has no TLS socket, so the certificate travels the way a
 * TLS-terminating proxy forwards it: TESSERA_MTLS_CERT_HEADER, believed from TESSERA_TRUST_PROXY.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { AdminError, saveClient } from '../../src/admin/clients.ts';
import type { App } from '../../src/app.ts';
import { certificateThumbprint } from '../../src/protocol/client-auth/mtls.ts';
import { authorizeWithLogin, backends, basic, ISSUER, Jar, pkce, testApp } from '../fixtures/app.ts';
import { escapedPem, hasOpenssl, makePki, type TestCert } from '../fixtures/certs.ts';

const HEADER = 'x-ssl-client-cert';
const PROXY = '127.0.0.1';
const STRANGER = '203.0.113.9';
const REDIRECT = 'https://mtls.example/cb';
const pki = hasOpenssl() ? makePki() : undefined;
after(() => pki?.cleanup());

interface Call {
  cert?: TestCert;
  raw?: string | string[];
  from?: string;
  headers?: Record<string, string>;
}

function post(app: App, url: string, body: Record<string, string>, c: Call = {}): Promise<LightMyRequestResponse> {
  const headers: Record<string, string | string[]> = {
    'content-type': 'application/x-www-form-urlencoded',
    ...c.headers,
  };
  if (c.cert) headers[HEADER] = escapedPem(c.cert);
  if (c.raw !== undefined) headers[HEADER] = c.raw;
  return app.server.inject({
    method: 'POST',
    url,
    payload: new URLSearchParams(body).toString(),
    headers,
    remoteAddress: c.from ?? PROXY,
  } as InjectOptions);
}

for (const backend of await backends()) {
  const skip = !pki
    ? 'openssl CLI not installed'
    : backend.url
      ? false
      : 'PostgreSQL unreachable (set CI=true to require it)';
  describe(`mutual TLS, RFC 8705 (${backend.name})`, { skip }, () => {
    let app: App;
    let events: { type: string; reason?: string; method?: string }[];
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
          client_id: 'pki-dns',
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
          client_id: 'pki-dn',
          token_endpoint_auth_method: 'tls_client_auth',
          tls_client_auth_subject_dn: 'CN=client-a,O=Example Org,C=DE',
          ...cc,
        },
        n,
      );
      await saveClient(
        app.stores,
        cfg,
        {
          client_id: 'pki-uri',
          token_endpoint_auth_method: 'tls_client_auth',
          tls_client_auth_san_uri: 'https://client.example/id',
          ...cc,
        },
        n,
      );
      await saveClient(
        app.stores,
        cfg,
        {
          client_id: 'pki-ip',
          token_endpoint_auth_method: 'tls_client_auth',
          tls_client_auth_san_ip: '192.0.2.7',
          ...cc,
        },
        n,
      );
      await saveClient(
        app.stores,
        cfg,
        {
          client_id: 'pki-email',
          token_endpoint_auth_method: 'tls_client_auth',
          tls_client_auth_san_email: 'ops@client.example',
          ...cc,
        },
        n,
      );
      await saveClient(
        app.stores,
        cfg,
        {
          client_id: 'self',
          token_endpoint_auth_method: 'self_signed_tls_client_auth',
          jwks: { keys: [pki!.selfSigned.jwk as Record<string, unknown>] },
          tls_client_certificate_bound_access_tokens: true,
          ...cc,
        },
        n,
      );
      await saveClient(
        app.stores,
        cfg,
        {
          client_id: 'secret-bound',
          client_secret: 'secret-bound-0123456789-abcdefghijklmnop',
          tls_client_certificate_bound_access_tokens: true,
          ...cc,
        },
        n,
      );
      await saveClient(
        app.stores,
        cfg,
        {
          client_id: 'pki-web',
          token_endpoint_auth_method: 'tls_client_auth',
          tls_client_auth_san_dns: 'client.example',
          tls_client_certificate_bound_access_tokens: true,
          redirect_uris: [REDIRECT],
          grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
          scope: 'openid profile offline_access',
        },
        n,
      );
      await saveClient(
        app.stores,
        cfg,
        {
          client_id: 'public-bound',
          token_endpoint_auth_method: 'none',
          tls_client_certificate_bound_access_tokens: true,
          redirect_uris: [REDIRECT],
          grant_types: ['authorization_code', 'refresh_token'],
          scope: 'openid offline_access',
        },
        n,
      );
      events = [];
      const sink = app.provider.events;
      (app.provider as { events: typeof sink }).events = (e) => {
        events.push(e as never);
        sink(e);
      };
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    const token = (clientId: string, c: Call, extra: Record<string, string> = {}) =>
      post(app, '/token', { grant_type: 'client_credentials', client_id: clientId, ...extra }, c);
    const introspect = async (t: string) =>
      (await post(app, '/introspect', { token: t }, { headers: { authorization: basic('rs') } })).json();
    const refused = (res: LightMyRequestResponse, status = 401, error = 'invalid_client') => {
      assert.equal(res.statusCode, status, res.body);
      assert.equal(res.json().error, error);
      assert.equal(typeof res.json().error_description, 'string');
    };

    it('advertises the mTLS methods and certificate-bound tokens', async () => {
      const d = (await app.server.inject('/.well-known/openid-configuration')).json();
      for (const key of [
        'token_endpoint_auth_methods_supported',
        'introspection_endpoint_auth_methods_supported',
        'revocation_endpoint_auth_methods_supported',
      ]) {
        assert.ok(d[key].includes('tls_client_auth') && d[key].includes('self_signed_tls_client_auth'), key);
      }
      assert.equal(d.tls_client_certificate_bound_access_tokens, true);
    });

    it('tls_client_auth by SAN DNS issues an access token bound to the certificate', async () => {
      const res = await token('pki-dns', { cert: pki!.clientA });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.equal(body.token_type, 'Bearer');
      const thumb = certificateThumbprint(pki!.clientA.cert);
      assert.deepEqual(decodeJwt(body.access_token).cnf, { 'x5t#S256': thumb });
      const info = await introspect(body.access_token);
      assert.equal(info.active, true);
      assert.deepEqual(info.cnf, { 'x5t#S256': thumb });
      assert.equal(info.token_type, 'Bearer');
    });

    it('matches the subject DN and each SAN type; a client without the bound-tokens setting gets unbound tokens', async () => {
      for (const id of ['pki-dn', 'pki-uri', 'pki-ip', 'pki-email']) {
        const res = await token(id, { cert: pki!.clientA });
        assert.equal(res.statusCode, 200, `${id}: ${res.body}`);
        assert.equal(decodeJwt(res.json().access_token).cnf, undefined);
        refused(await token(id, { cert: pki!.clientB }));
      }
    });

    it('refuses a missing, mismatched, untrusted, expired or wrongly issued certificate', async () => {
      events.length = 0;
      refused(await token('pki-dns', {}));
      refused(await token('pki-dns', { cert: pki!.clientB }));
      refused(await token('pki-dns', { cert: pki!.rogue }));
      refused(await token('pki-dns', { cert: pki!.impostor }));
      refused(await token('pki-dns', { cert: pki!.expired }));
      refused(await token('pki-dns', { cert: pki!.selfSigned }));
      refused(await token('pki-dn', { cert: pki!.ca }));
      assert.deepEqual(
        events.filter((e) => e.type === 'client_auth_failed').map((e) => e.reason),
        [
          'no_certificate',
          'certificate_mismatch',
          'certificate_chain',
          'certificate_chain',
          'certificate_chain',
          'certificate_chain',
          'certificate_chain',
        ],
      );
      assert.ok(events.every((e) => e.type !== 'client_auth_failed' || e.method === 'tls_client_auth'));
    });

    it('ignores the header from an address that is not a trusted proxy, and a malformed or doubled header', async () => {
      refused(await token('pki-dns', { cert: pki!.clientA, from: STRANGER }));
      refused(await token('pki-dns', { raw: 'not%20a%20certificate' }));
      refused(await token('pki-dns', { raw: '%ZZ' }));
      refused(await token('pki-dns', { raw: [escapedPem(pki!.clientA), escapedPem(pki!.clientA)] }));
      refused(await token('pki-dns', { raw: encodeURIComponent(pki!.clientA.certPem + pki!.ca.certPem) }));
      refused(await token('pki-dns', { raw: 'A'.repeat(20_000) }));
      // The same request from the proxy is accepted: only the source differed.
      assert.equal((await token('pki-dns', { cert: pki!.clientA })).statusCode, 200);
    });

    it('refuses other credentials for an mTLS client, and mTLS for a secret client', async () => {
      refused(await token('pki-dns', { cert: pki!.clientA }, { client_secret: 'whatever' }));
      refused(await token('svc', { cert: pki!.clientA }));
    });

    it('self_signed_tls_client_auth accepts only a certificate with a registered key', async () => {
      const res = await token('self', { cert: pki!.selfSigned });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(decodeJwt(res.json().access_token).cnf, {
        'x5t#S256': certificateThumbprint(pki!.selfSigned.cert),
      });
      refused(await token('self', { cert: pki!.selfSigned2 }));
      refused(await token('self', { cert: pki!.clientA }));
      refused(await token('self', {}));
    });

    it('a certificate-bound client must present its certificate and send no DPoP proof', async () => {
      const auth = { headers: { authorization: basic('secret-bound', 'secret-bound-0123456789-abcdefghijklmnop') } };
      refused(await post(app, '/token', { grant_type: 'client_credentials' }, auth), 400, 'invalid_request');
      const ok = await post(app, '/token', { grant_type: 'client_credentials' }, { ...auth, cert: pki!.clientB });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.deepEqual(decodeJwt(ok.json().access_token).cnf, { 'x5t#S256': certificateThumbprint(pki!.clientB.cert) });
      const { publicKey, privateKey } = await generateKeyPair('ES256');
      const proof = await new SignJWT({
        htm: 'POST',
        htu: `${ISSUER}/token`,
        jti: randomUUID(),
        iat: Math.floor(Date.now() / 1000),
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(publicKey) })
        .sign(privateKey);
      refused(await token('pki-dns', { cert: pki!.clientA, headers: { dpop: proof } }), 400, 'invalid_request');
    });

    it('authenticates mTLS clients at introspection, revocation, PAR and device authorization', async () => {
      const t = (await token('pki-dns', { cert: pki!.clientA })).json().access_token as string;
      const info = await post(app, '/introspect', { token: t, client_id: 'pki-dns' }, { cert: pki!.clientA });
      assert.equal(info.statusCode, 200, info.body);
      assert.equal(info.json().active, true);
      refused(await post(app, '/introspect', { token: t, client_id: 'pki-dns' }, { cert: pki!.clientB }));
      refused(await post(app, '/revoke', { token: t, client_id: 'pki-dns' }, { cert: pki!.rogue }));
      assert.equal(
        (await post(app, '/revoke', { token: t, client_id: 'pki-dns' }, { cert: pki!.clientA })).statusCode,
        200,
      );
      assert.equal((await introspect(t)).active, false);
      const par = await post(
        app,
        '/par',
        {
          client_id: 'pki-web',
          response_type: 'code',
          redirect_uri: REDIRECT,
          scope: 'openid',
          code_challenge: pkce().challenge,
          code_challenge_method: 'S256',
        },
        { cert: pki!.clientA },
      );
      assert.equal(par.statusCode, 201, par.body);
      refused(
        await post(
          app,
          '/par',
          {
            client_id: 'pki-web',
            response_type: 'code',
            redirect_uri: REDIRECT,
            scope: 'openid',
            code_challenge: pkce().challenge,
            code_challenge_method: 'S256',
          },
          { cert: pki!.expired },
        ),
      );
      const device = await post(
        app,
        '/device_authorization',
        { client_id: 'pki-web', scope: 'openid' },
        { cert: pki!.clientA },
      );
      assert.equal(device.statusCode, 200, device.body);
      refused(await post(app, '/device_authorization', { client_id: 'pki-web', scope: 'openid' }, {}));
    });

    async function codeFor(clientId: string): Promise<{ code: string; verifier: string }> {
      const { verifier, challenge } = pkce();
      const loc = await authorizeWithLogin(app, new Jar(), {
        client_id: clientId,
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope: 'openid offline_access',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state: 's',
      });
      return { code: loc.searchParams.get('code')!, verifier };
    }
    const userinfo = (t: string, c: Call) =>
      app.server.inject({
        method: 'GET',
        url: '/userinfo',
        headers: { authorization: `Bearer ${t}`, ...(c.cert ? { [HEADER]: escapedPem(c.cert) } : {}) },
        remoteAddress: c.from ?? PROXY,
      } as InjectOptions);

    it('userinfo accepts a bound token only with the same certificate', async () => {
      const { code, verifier } = await codeFor('pki-web');
      const res = await post(
        app,
        '/token',
        {
          grant_type: 'authorization_code',
          client_id: 'pki-web',
          code,
          code_verifier: verifier,
          redirect_uri: REDIRECT,
        },
        { cert: pki!.clientA },
      );
      assert.equal(res.statusCode, 200, res.body);
      const t = res.json().access_token as string;
      assert.deepEqual(decodeJwt(t).cnf, { 'x5t#S256': certificateThumbprint(pki!.clientA.cert) });
      assert.equal((await userinfo(t, { cert: pki!.clientA })).statusCode, 200);
      events.length = 0;
      for (const c of [{}, { cert: pki!.clientB }, { cert: pki!.clientA, from: STRANGER }]) {
        const r = await userinfo(t, c);
        assert.equal(r.statusCode, 401);
        assert.match(String(r.headers['www-authenticate']), /error="invalid_token"/);
      }
      assert.equal(events.filter((e) => e.type === 'certificate_binding_refused').length, 3);
      // The refresh token of a confidential client is bound by its authentication: the certificate again.
      const refreshed = await post(
        app,
        '/token',
        { grant_type: 'refresh_token', client_id: 'pki-web', refresh_token: res.json().refresh_token },
        { cert: pki!.clientA },
      );
      assert.equal(refreshed.statusCode, 200, refreshed.body);
      assert.deepEqual(decodeJwt(refreshed.json().access_token).cnf, {
        'x5t#S256': certificateThumbprint(pki!.clientA.cert),
      });
    });

    it('binds the refresh tokens of a public client to its certificate', async () => {
      const { code, verifier } = await codeFor('public-bound');
      const res = await post(
        app,
        '/token',
        {
          grant_type: 'authorization_code',
          client_id: 'public-bound',
          code,
          code_verifier: verifier,
          redirect_uri: REDIRECT,
        },
        { cert: pki!.selfSigned },
      );
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(decodeJwt(res.json().access_token).cnf, {
        'x5t#S256': certificateThumbprint(pki!.selfSigned.cert),
      });
      const rt = res.json().refresh_token as string;
      refused(
        await post(
          app,
          '/token',
          { grant_type: 'refresh_token', client_id: 'public-bound', refresh_token: rt },
          { cert: pki!.selfSigned2 },
        ),
        400,
        'invalid_grant',
      );
      refused(
        await post(
          app,
          '/token',
          { grant_type: 'refresh_token', client_id: 'public-bound', refresh_token: rt },
          { cert: pki!.selfSigned2, from: STRANGER },
        ),
        400,
        'invalid_request',
      );
      refused(
        await post(app, '/token', { grant_type: 'refresh_token', client_id: 'public-bound', refresh_token: rt }, {}),
        400,
        'invalid_request',
      );
      // The refusals left the refresh token unused: with the right certificate it still works.
      const ok = await post(
        app,
        '/token',
        { grant_type: 'refresh_token', client_id: 'public-bound', refresh_token: rt },
        { cert: pki!.selfSigned },
      );
      assert.equal(ok.statusCode, 200, ok.body);
    });

    it('refuses contradictory registrations', async () => {
      const cfg = app.provider.config;
      const n = app.provider.now();
      const bad = [
        {
          client_id: 'x1',
          token_endpoint_auth_method: 'tls_client_auth' as const,
          grant_types: ['client_credentials' as const],
        },
        {
          client_id: 'x2',
          token_endpoint_auth_method: 'tls_client_auth' as const,
          tls_client_auth_san_dns: 'a.example',
          tls_client_auth_san_uri: 'https://a.example',
          grant_types: ['client_credentials' as const],
        },
        {
          client_id: 'x3',
          token_endpoint_auth_method: 'tls_client_auth' as const,
          tls_client_auth_san_dns: 'a.example',
          client_secret: 'x'.repeat(40),
          grant_types: ['client_credentials' as const],
        },
        {
          client_id: 'x4',
          token_endpoint_auth_method: 'self_signed_tls_client_auth' as const,
          grant_types: ['client_credentials' as const],
        },
        {
          client_id: 'x5',
          client_secret: 'x'.repeat(40),
          tls_client_certificate_bound_access_tokens: true,
          dpop_bound_access_tokens: true,
          grant_types: ['client_credentials' as const],
        },
        {
          client_id: 'x6',
          client_secret: 'x'.repeat(40),
          tls_client_auth_san_dns: 'a.example',
          grant_types: ['client_credentials' as const],
        },
      ];
      for (const input of bad) await assert.rejects(saveClient(app.stores, cfg, input, n), AdminError, input.client_id);
      for (const input of bad) assert.equal(await app.stores.clients.get(input.client_id), undefined);
    });
  });
}

describe('mutual TLS is off without a certificate source', () => {
  it('offers no mTLS method or bound tokens in discovery, and refuses mTLS clients', async () => {
    const app = await testApp('sqlite::memory:');
    try {
      const d = (await app.server.inject('/.well-known/openid-configuration')).json();
      assert.ok(!d.token_endpoint_auth_methods_supported.includes('tls_client_auth'));
      assert.ok(!d.token_endpoint_auth_methods_supported.includes('self_signed_tls_client_auth'));
      assert.equal(d.tls_client_certificate_bound_access_tokens, undefined);
      if (!pki) return;
      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'self',
          token_endpoint_auth_method: 'self_signed_tls_client_auth',
          jwks: { keys: [pki.selfSigned.jwk as Record<string, unknown>] },
          grant_types: ['client_credentials'],
          scope: 'api:read',
        },
        app.provider.now(),
      );
      // The header means nothing here: no source is configured.
      const res = await post(
        app,
        '/token',
        { grant_type: 'client_credentials', client_id: 'self' },
        { cert: pki.selfSigned },
      );
      assert.equal(res.statusCode, 401);
      assert.equal(res.json().error, 'invalid_client');
    } finally {
      await app.close();
    }
  });
});
