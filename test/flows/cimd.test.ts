/**
 * A client known only by its Client ID Metadata Document, through Tessera's real pages in Chromium:
 * the document is served over HTTPS by this test with its own CA (trusted by the Tessera process
 * through NODE_EXTRA_CA_CERTS, reached through TESSERA_CIMD_ALLOW_LOOPBACK), and openid-client
 * runs the authorization code flow with PKCE as a public client whose client_id is the URL.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { hasOpenssl, makePki, type TestPki } from '../fixtures/certs.ts';
import { authRequest, browserSkip, browserSuite, decide, rpConfig, screen, signIn } from './support.ts';

const PASSWORD = 'correct horse battery staple';
const skip = browserSkip || (hasOpenssl() ? false : 'openssl not found');
// Made before the suite, so the Tessera process can be told to trust its CA when it starts.
const pki: TestPki | undefined = skip ? undefined : makePki();

describe('Client ID Metadata Documents in the browser', { skip }, () => {
  let docs: Server;
  let docBase = '';
  let fetches = 0;
  const env = browserSuite(
    () => ({
      clients: [],
      users: [{ username: 'mallory', password: PASSWORD, email: 'm@example.com', email_verified: true }],
    }),
    {
      env: {
        TESSERA_CLIENT_ID_METADATA_DOCUMENTS: 'on',
        TESSERA_CIMD_ALLOW_LOOPBACK: 'true',
        TESSERA_EXTRA_SCOPES: 'mcp:tools',
        TESSERA_REGISTRATION_SCOPES: 'openid profile offline_access mcp:tools',
        NODE_EXTRA_CA_CERTS: pki?.caFile ?? '',
      },
    },
  );
  before(async () => {
    docs = createServer({ cert: pki!.server.certPem, key: pki!.server.keyPem }, (req, res) => {
      fetches++;
      if (req.url !== '/agent/client.json') return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' });
      res.end(
        JSON.stringify({
          client_id: `${docBase}/agent/client.json`,
          client_name: 'Browser Test Agent',
          redirect_uris: [env.cb.url('/callback')],
          grant_types: ['authorization_code', 'refresh_token'],
          token_endpoint_auth_method: 'none',
          scope: 'openid mcp:tools offline_access',
          logo_uri: 'https://ignored.example.com/logo.png',
        }),
      );
    });
    await new Promise<void>((r) => docs.listen(0, '127.0.0.1', r));
    docBase = `https://localhost:${(docs.address() as AddressInfo).port}`;
  });
  after(() => {
    docs?.close();
    pki?.cleanup();
  });

  it('signs in, shows who the client is, and redeems the code with PKCE as a public client', async () => {
    const clientId = `${docBase}/agent/client.json`;
    await env.fresh();
    const config = await rpConfig(env.server.issuer, clientId, client.None());
    assert.equal(config.serverMetadata().client_id_metadata_document_supported, true);
    const req = await authRequest(config, {
      redirect_uri: env.cb.url('/callback'),
      scope: 'openid mcp:tools offline_access',
    });
    await env.page.goto(req.url.href);
    assert.equal(await screen(env.page, env.cb.origin), 'login');
    await signIn(env.page, 'mallory', PASSWORD);
    assert.equal(await screen(env.page, env.cb.origin), 'consent');
    const note = env.page.getByRole('note', { name: 'About this application' });
    const text = (await note.textContent()) ?? '';
    assert.match(text, new RegExp(`identified by localhost:${(docs.address() as AddressInfo).port}`));
    assert.match(text, /You have not allowed this application before/);
    assert.match(text, /Any program on your device could claim to be it/);
    assert.match((await env.page.locator('.lead').textContent()) ?? '', /Browser Test Agent/);
    await decide(env.page, 'Allow');
    assert.equal(await screen(env.page, env.cb.origin), 'callback');
    const tokens = await client.authorizationCodeGrant(config, new URL(env.page.url()), {
      pkceCodeVerifier: req.verifier,
      expectedState: req.state,
      expectedNonce: req.nonce,
    });
    assert.equal(tokens.claims()?.aud, clientId);
    assert.equal(typeof tokens.access_token, 'string');
    assert.equal(typeof tokens.refresh_token, 'string');
    // The refresh token works for the same client (rotation is the refresh part's; only success is checked).
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    assert.equal(typeof refreshed.access_token, 'string');
    // The document was fetched once for the whole flow: it is cached for its max-age.
    assert.equal(fetches, 1);
  });
});
