/**
 * Mutual TLS (RFC 8705) against the real server process serving HTTPS itself
 * (TESSERA_TLS_CERT_FILE): openid-client with undici's Agent presenting client certificates,
 * tls_client_auth and self_signed_tls_client_auth, certificate-bound access tokens.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import { certificateThumbprint } from '../../src/protocol/client-auth/mtls.ts';
import { hasOpenssl, makePki, type TestCert, type TestPki } from '../fixtures/certs.ts';
import { startServer, type RunningServer } from '../fixtures/server.ts';
import type { Browser } from 'playwright-core';
import { browserSkip, decide, launchBrowser, rejectsWith, signIn, submit } from './support.ts';

const INTROSPECTOR_SECRET = 'introspector-secret-0123456789ab';
const PASSWORD = 'correct horse battery';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

describe('mutual TLS against the HTTPS server', { skip: hasOpenssl() ? false : 'openssl CLI not installed' }, () => {
  let pki: TestPki;
  let server: RunningServer;
  const agents: Agent[] = [];

  /** A fetch that connects with this client certificate (or none), trusting the test CA for the server. */
  function fetchWith(cert?: TestCert): client.CustomFetch {
    const agent = new Agent({
      connect: { ca: pki.ca.certPem, ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}) },
    });
    agents.push(agent);
    return ((url: string, options: object) =>
      undiciFetch(url, { ...options, dispatcher: agent })) as unknown as client.CustomFetch;
  }

  async function rp(clientId: string, auth: client.ClientAuth, cert?: TestCert): Promise<client.Configuration> {
    const f = fetchWith(cert);
    const config = await client.discovery(new URL(server.issuer), clientId, { use_mtls_endpoint_aliases: true }, auth, {
      [client.customFetch]: f,
    });
    config[client.customFetch] = f;
    return config;
  }

  before(async () => {
    pki = makePki();
    server = await startServer({
      https: { ca: pki.ca.certPem },
      bootstrap: {
        clients: [
          {
            client_id: 'mtls-service',
            token_endpoint_auth_method: 'tls_client_auth',
            tls_client_auth_san_dns: 'client.example',
            tls_client_certificate_bound_access_tokens: true,
            grant_types: ['client_credentials'],
            scope: 'api.read',
          },
          {
            client_id: 'self-service',
            token_endpoint_auth_method: 'self_signed_tls_client_auth',
            jwks: { keys: [pki.selfSigned.jwk] },
            tls_client_certificate_bound_access_tokens: true,
            grant_types: ['client_credentials'],
            scope: 'api.read',
          },
          {
            client_id: 'mtls-tv',
            token_endpoint_auth_method: 'tls_client_auth',
            tls_client_auth_subject_dn: 'CN=client-a,O=Example Org,C=DE',
            tls_client_certificate_bound_access_tokens: true,
            grant_types: [DEVICE_GRANT, 'refresh_token'],
            scope: 'openid profile offline_access',
            redirect_uris: [],
          },
          {
            client_id: 'introspector',
            client_secret: INTROSPECTOR_SECRET,
            token_endpoint_auth_method: 'client_secret_post',
            grant_types: ['client_credentials'],
            scope: 'introspect',
          },
        ],
        users: [
          { username: 'alice', password: PASSWORD, email: 'alice@example.com', email_verified: true, name: 'Alice' },
        ],
      },
      env: {
        TESSERA_TLS_CERT_FILE: pki.server.certFile,
        TESSERA_TLS_KEY_FILE: pki.server.keyFile,
        TESSERA_MTLS_CA_FILE: pki.caFile,
        TESSERA_DEVICE_POLL_INTERVAL: '1',
      },
    });
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await server?.stop();
    pki?.cleanup();
  });

  it('serves HTTPS without requiring a client certificate, and advertises the mTLS methods', async () => {
    const config = await rp('introspector', client.ClientSecretPost(INTROSPECTOR_SECRET));
    const meta = config.serverMetadata();
    assert.ok(meta.token_endpoint_auth_methods_supported?.includes('tls_client_auth'));
    assert.ok(meta.token_endpoint_auth_methods_supported?.includes('self_signed_tls_client_auth'));
    assert.equal(meta.tls_client_certificate_bound_access_tokens, true);
    assert.ok(meta.token_endpoint!.startsWith('https://'));
  });

  it('issues a client_credentials token bound to the certificate (tls_client_auth) and introspection shows the binding', async () => {
    const config = await rp('mtls-service', client.TlsClientAuth(), pki.clientA);
    const tokens = await client.clientCredentialsGrant(config, { scope: 'api.read' });
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    const thumb = certificateThumbprint(pki.clientA.cert);
    assert.deepEqual(decodeJwt(tokens.access_token).cnf, { 'x5t#S256': thumb });
    const introspector = await rp('introspector', client.ClientSecretPost(INTROSPECTOR_SECRET));
    const info = await client.tokenIntrospection(introspector, tokens.access_token);
    assert.equal(info.active, true);
    assert.deepEqual(info.cnf, { 'x5t#S256': thumb });
  });

  it('refuses the client with another certificate, an untrusted one, an expired one, or none', async () => {
    for (const cert of [pki.clientB, pki.rogue, pki.expired, pki.selfSigned, undefined]) {
      const config = await rp('mtls-service', client.TlsClientAuth(), cert);
      await rejectsWith(client.clientCredentialsGrant(config, { scope: 'api.read' }), 'invalid_client');
    }
  });

  it('self_signed_tls_client_auth: the registered key works, another key does not', async () => {
    const ok = await rp('self-service', client.TlsClientAuth(), pki.selfSigned);
    const tokens = await client.clientCredentialsGrant(ok, { scope: 'api.read' });
    assert.deepEqual(decodeJwt(tokens.access_token).cnf, { 'x5t#S256': certificateThumbprint(pki.selfSigned.cert) });
    const other = await rp('self-service', client.TlsClientAuth(), pki.selfSigned2);
    await rejectsWith(client.clientCredentialsGrant(other, { scope: 'api.read' }), 'invalid_client');
  });

  it('ignores a forwarded-certificate header on the TLS listener', async () => {
    const f = fetchWith();
    const res = await (f as unknown as (u: string, o: object) => Promise<Response>)(`${server.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-ssl-client-cert': encodeURIComponent(pki.clientA.certPem),
      },
      body: 'grant_type=client_credentials&client_id=mtls-service',
    });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_client');
  });

  it('a user token from the device flow is bound to the certificate: userinfo refuses it over another certificate', {
    skip: browserSkip,
  }, async () => {
    let browser: Browser | undefined;
    try {
      browser = await launchBrowser();
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      context.setDefaultTimeout(10_000);
      const page = await context.newPage();
      const config = await rp('mtls-tv', client.TlsClientAuth(), pki.clientA);
      const device = await client.initiateDeviceAuthorization(config, { scope: 'openid profile offline_access' });
      const polling = client.pollDeviceAuthorizationGrant(config, device);
      await page.goto(device.verification_uri_complete!);
      await submit(page, () => page.getByRole('button', { name: 'Continue' }).click());
      await signIn(page, 'alice', PASSWORD);
      await decide(page, 'Allow');
      const tokens = await polling;
      const thumb = certificateThumbprint(pki.clientA.cert);
      assert.deepEqual(decodeJwt(tokens.access_token).cnf, { 'x5t#S256': thumb });
      const sub = tokens.claims()!.sub;
      assert.equal((await client.fetchUserInfo(config, tokens.access_token, sub)).preferred_username, 'alice');
      // The same token over a connection with another certificate, or with none, is refused.
      for (const cert of [pki.clientB, undefined]) {
        const elsewhere = await rp('mtls-tv', client.TlsClientAuth(), cert);
        await assert.rejects(
          client.fetchUserInfo(elsewhere, tokens.access_token, sub),
          (err: Error & { cause?: unknown; code?: string }) => {
            assert.match(
              String((err as { response?: Response }).response?.headers.get('www-authenticate') ?? err.message),
              /invalid_token/,
            );
            return true;
          },
        );
      }
      // The refresh token is the client's: refreshing needs its certificate, and the new token is bound again.
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
      assert.deepEqual(decodeJwt(refreshed.access_token).cnf, { 'x5t#S256': thumb });
      const impostor = await rp('mtls-tv', client.TlsClientAuth(), pki.rogue);
      await rejectsWith(client.refreshTokenGrant(impostor, refreshed.refresh_token!), 'invalid_client');
    } finally {
      await browser?.close();
    }
  });
});
