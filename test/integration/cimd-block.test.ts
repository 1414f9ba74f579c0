/**
 * Taking a Client ID Metadata Document client out of service (`tessera client disable URL`, the
 * admin function setClientDisabled): two instances on one database, documents served over HTTPS by
 * a server started here with its own CA (reached through TESSERA_CIMD_ALLOW_LOOPBACK). Disabling
 * revokes the client's grants and blocks its URL for every instance within the client cache TTL:
 * refresh and new authorizations are refused and the blocked document is not fetched again;
 * enabling lets it back in, while nothing issued before comes back.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { applyBootstrap } from '../../src/admin/bootstrap.ts';
import { setClientDisabled } from '../../src/admin/clients.ts';
import { outboundHttp } from '../../src/adapters/outbound/http-client.ts';
import { buildApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { authorizeUrl, authorizeWithLogin, basic, FIXTURE, form, ISSUER, Jar, pkce } from '../fixtures/app.ts';
import { hasOpenssl, makePki, type TestPki } from '../fixtures/certs.ts';
import { sqliteTempUrl } from '../fixtures/db.ts';

const REDIRECT = 'http://127.0.0.1:33418/callback';
const TTL_MS = 1000;

describe('blocking a metadata document client', { skip: hasOpenssl() ? false : 'openssl not found' }, () => {
  let pki: TestPki;
  let server: Server;
  let base = '';
  /** The paths requested from the document server, in order. */
  const requests: string[] = [];
  let a: App;
  let b: App;

  before(async () => {
    pki = makePki();
    server = createServer({ cert: pki.server.certPem, key: pki.server.keyPem }, (req, res) => {
      requests.push(req.url!);
      serveDocument(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `https://localhost:${(server.address() as AddressInfo).port}`;
    const config = loadConfig({
      TESSERA_ENV: 'development',
      TESSERA_ISSUER: ISSUER,
      DATABASE_URL: sqliteTempUrl(),
      TESSERA_SEED_DEMO: 'false',
      TESSERA_EXTRA_SCOPES: 'mcp:tools',
      TESSERA_REGISTRATION_SCOPES: 'openid profile offline_access mcp:tools',
      TESSERA_CLIENT_ID_METADATA_DOCUMENTS: 'on',
      TESSERA_CIMD_ALLOW_LOOPBACK: 'true',
      TESSERA_CLIENT_CACHE_TTL: String(TTL_MS / 1000),
    });
    const open = () =>
      buildApp(config, { logger: pino({ level: 'silent' }), outbound: outboundHttp({ ca: pki.ca.certPem }) });
    a = await open();
    await applyBootstrap(a.stores, config, FIXTURE, a.provider.now());
    b = await open();
  });
  after(async () => {
    await a?.close();
    await b?.close();
    server?.close();
    pki?.cleanup();
  });

  function serveDocument(req: IncomingMessage, res: ServerResponse) {
    const url = `${base}${req.url}`;
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=3600' });
    res.end(
      JSON.stringify({
        client_id: url,
        client_name: 'Agent',
        redirect_uris: [REDIRECT],
        grant_types: ['authorization_code', 'refresh_token'],
        token_endpoint_auth_method: 'none',
        scope: 'openid offline_access mcp:tools',
      }),
    );
  }

  const authorizeParams = (clientId: string, challenge = pkce().challenge) => ({
    client_id: clientId,
    redirect_uri: REDIRECT,
    response_type: 'code',
    scope: 'openid offline_access mcp:tools',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  /** The full code flow on `app`: the token response. */
  async function signIn(app: App, clientId: string) {
    const { verifier, challenge } = pkce();
    const redirect = await authorizeWithLogin(app, new Jar(), authorizeParams(clientId, challenge));
    const token = await form(app, '/token', {
      grant_type: 'authorization_code',
      code: redirect.searchParams.get('code')!,
      redirect_uri: REDIRECT,
      client_id: clientId,
      code_verifier: verifier,
    });
    assert.equal(token.statusCode, 200, token.body);
    return token.json() as { access_token: string; refresh_token: string };
  }
  const refresh = (app: App, clientId: string, refreshToken: string) =>
    form(app, '/token', { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId });
  const startAuthorize = (app: App, clientId: string) =>
    app.server.inject({ url: authorizeUrl(authorizeParams(clientId)) });
  const active = async (app: App, accessToken: string) =>
    (await form(app, '/introspect', { token: accessToken }, { authorization: basic('web') })).json().active;
  /** The tokens of the first sign-in, from before the block. */
  let first: { access_token: string; refresh_token: string };

  it('disable revokes the grants and refuses refresh and /authorize on every instance, without fetching the document', async () => {
    const url = `${base}/agents/one.json`;
    const tokens = await signIn(a, url);
    first = tokens;
    assert.equal(await active(a, tokens.access_token), true);
    // The other instance has the document and the (empty) list of blocks in its caches.
    assert.equal((await startAuthorize(b, url)).statusCode, 303);
    const fetchedBefore = requests.length;

    const revoked = await setClientDisabled(a.stores, url, true, a.provider.now());
    assert.equal(revoked, 1, 'its one grant');
    // This instance: at once. The token endpoint refuses the client itself.
    const r = await refresh(a, url, tokens.refresh_token);
    assert.equal(r.statusCode, 401, r.body);
    assert.equal(r.json().error, 'invalid_client');
    assert.match((await startAuthorize(a, url)).body, /Unknown application/);
    assert.equal(await active(a, tokens.access_token), false, 'its access tokens are refused at once');
    // The other instance: the grant is revoked in the shared database at once...
    const rb = await refresh(b, url, tokens.refresh_token);
    assert.equal(rb.statusCode, 400, rb.body);
    assert.equal(rb.json().error, 'invalid_grant');
    assert.equal(await active(b, tokens.access_token), false);
    // ... and the block is seen within the client cache TTL.
    await new Promise((r) => setTimeout(r, TTL_MS + 100));
    assert.match((await startAuthorize(b, url)).body, /Unknown application/);
    assert.equal((await refresh(b, url, tokens.refresh_token)).json().error, 'invalid_client');
    assert.equal(requests.length, fetchedBefore, 'no document fetched for the blocked client');
  });

  it('a client blocked before its first use is never fetched', async () => {
    const url = `${base}/agents/never.json`;
    await setClientDisabled(a.stores, url, true, a.provider.now());
    await new Promise((r) => setTimeout(r, TTL_MS + 100));
    for (const app of [a, b]) {
      assert.match((await startAuthorize(app, url)).body, /Unknown application/);
      const t = await form(app, '/token', {
        grant_type: 'authorization_code',
        code: 'x',
        redirect_uri: REDIRECT,
        client_id: url,
        code_verifier: 'v'.repeat(43),
      });
      assert.equal(t.json().error, 'invalid_client');
    }
    assert.ok(!requests.includes('/agents/never.json'));
  });

  it('a block set in a transaction (an admin action) is seen by this instance as soon as it commits', async () => {
    const url = `${base}/agents/tx.json`;
    assert.equal((await a.stores.clients.get(url))?.disabled, false); // read, so the block list is cached
    await a.stores.transaction((tx) => setClientDisabled(tx, url, true, a.provider.now()));
    assert.equal((await a.stores.clients.get(url))?.disabled, true, 'no wait for the cache to expire');
    await a.stores.transaction((tx) => setClientDisabled(tx, url, false, a.provider.now()));
    assert.equal((await a.stores.clients.get(url))?.disabled, false);
  });

  it('enable lets the client back in on every instance; what was issued before stays revoked', async () => {
    const url = `${base}/agents/one.json`;
    const old = await a.stores.grants.listActiveByUser(
      (await a.stores.users.findByUsername('alice'))!.id,
      a.provider.now(),
    );
    assert.ok(!old.some((g) => g.clientId === url), 'no live grant of the blocked client');
    await setClientDisabled(a.stores, url, false, a.provider.now());
    // Tokens issued in the second of the enable stay refused (the cut-off has whole seconds).
    await new Promise((r) => setTimeout(r, Math.max(TTL_MS, 1000) + 100));
    for (const app of [a, b]) {
      const tokens = await signIn(app, url);
      assert.equal(await active(app, tokens.access_token), true);
      const r = await refresh(app, url, tokens.refresh_token);
      assert.equal(r.statusCode, 200, r.body);
      // From before the block: still refused.
      assert.equal((await refresh(app, url, first.refresh_token)).json().error, 'invalid_grant');
      assert.equal(await active(app, first.access_token), false);
    }
  });
});
