/**
 * Client ID Metadata Documents against real HTTPS servers started here, with their own CA (trusted
 * by the outbound client of these apps only, through buildApp's test-only `outbound` option) and
 * reached through TESSERA_CIMD_ALLOW_LOOPBACK: the code flow with PKCE for a client known only by
 * its document URL, the least-privilege rules, and the hardening cases, each refused with nothing
 * reaching a canary listener where an address is at stake (redirects, oversized documents, slow
 * servers, private and special-use addresses as literals and through DNS, a document naming
 * another client_id, fetch floods, shared-secret authentication, the trust policy).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { pino } from 'pino';
import { applyBootstrap } from '../../src/admin/bootstrap.ts';
import { outboundHttp, type Resolver } from '../../src/adapters/outbound/http-client.ts';
import { buildApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import {
  FAILURE_BUDGETS,
  FETCH_BUDGETS,
  MAX_DOCUMENT_BYTES,
  STALE_SECONDS,
} from '../../src/protocol/clients/metadata-document.ts';
import { authorizeUrl, authorizeWithLogin, csrfOf, FIXTURE, form, ISSUER, Jar, pkce } from '../fixtures/app.ts';
import { hasOpenssl, makePki, type TestPki } from '../fixtures/certs.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, base: string) => void;

/** An HTTPS server (the test CA's localhost certificate) counting the connections and requests it gets. */
async function httpsServer(pki: TestPki, handler: Handler) {
  const state = { connections: 0, requests: [] as string[], base: '' };
  const server: Server = createServer({ cert: pki.server.certPem, key: pki.server.keyPem }, (req, res) => {
    state.requests.push(req.url!);
    handler(req, res, state.base);
  });
  server.on('connection', () => state.connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.base = `https://localhost:${(server.address() as AddressInfo).port}`;
  return { server, state, port: (server.address() as AddressInfo).port };
}

const json = (res: ServerResponse, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(200, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

/** Why each client_id was refused, as the apps logged it (client_metadata_document_refused), latest last. */
const refusals: { client_id: string; reason: string }[] = [];
const refusalLog = {
  write(line: string) {
    const entry = JSON.parse(line);
    if (entry.event === 'client_metadata_document_refused') refusals.push(entry);
  },
};
/** The reason logged last for `clientId`. */
const why = (clientId: string) => refusals.findLast((r) => r.client_id === clientId)?.reason ?? '(not refused)';

async function cimdApp(
  pki: TestPki,
  env: Record<string, string>,
  resolve?: Resolver,
  now?: () => number,
): Promise<App> {
  const config = loadConfig({
    TESSERA_ENV: 'development',
    TESSERA_ISSUER: ISSUER,
    DATABASE_URL: 'sqlite::memory:',
    TESSERA_SEED_DEMO: 'false',
    TESSERA_EXTRA_SCOPES: 'mcp:tools api:read',
    TESSERA_REGISTRATION_SCOPES: 'openid profile offline_access mcp:tools',
    TESSERA_CLIENT_ID_METADATA_DOCUMENTS: 'on',
    ...env,
  });
  const app = await buildApp(config, {
    now,
    logger: pino({ level: 'warn' }, refusalLog),
    outbound: outboundHttp({ ca: pki.ca.certPem, resolve }),
  });
  await applyBootstrap(app.stores, config, FIXTURE, app.provider.now());
  return app;
}

describe('Client ID Metadata Documents over HTTPS', { skip: hasOpenssl() ? false : 'openssl not found' }, () => {
  let pki: TestPki;
  let docs: Awaited<ReturnType<typeof httpsServer>>;
  let canary: Awaited<ReturnType<typeof httpsServer>>;
  let app: App;
  const open: App[] = [];
  const documents = new Map<string, Handler>();

  before(async () => {
    pki = makePki();
    canary = await httpsServer(pki, (_req, res) => json(res, {}));
    docs = await httpsServer(pki, (req, res, base) => {
      const h = documents.get(req.url!);
      if (h) return h(req, res, base);
      res.writeHead(404).end();
    });
    app = await cimdApp(pki, { TESSERA_CIMD_ALLOW_LOOPBACK: 'true' });
    open.push(app);
  });
  after(async () => {
    for (const a of open) await a.close();
    docs?.server.close();
    canary?.server.close();
    pki?.cleanup();
  });

  /** Serves a document at `path` naming its own URL (or what `body` says), and returns that URL. */
  const serve = (path: string, body: (url: string) => unknown = (url) => client(url), headers = {}) => {
    const url = `${docs.state.base}${path}`;
    documents.set(path, (_req, res) => json(res, body(url), headers));
    return url;
  };
  const client = (url: string, extra: Record<string, unknown> = {}) => ({
    client_id: url,
    client_name: 'Example Agent',
    redirect_uris: ['http://127.0.0.1:33418/callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'none',
    scope: 'openid mcp:tools',
    ...extra,
  });
  // Each request from its own address (its own /64) unless one is given: the per-source budgets are the flood test's.
  let nextIp = 0;
  const authorize = (a: App, clientId: string, extra: Record<string, string> = {}, ip?: string) =>
    a.server.inject({
      method: 'GET',
      url: authorizeUrl({
        client_id: clientId,
        redirect_uri: 'http://127.0.0.1:33418/callback',
        response_type: 'code',
        scope: 'openid mcp:tools',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
        state: 's',
        ...extra,
      }),
      remoteAddress: ip ?? `2001:db8:${(++nextIp).toString(16)}::1`,
    });

  it('discovery advertises client_id_metadata_document_supported only when on', async () => {
    const on = await app.server.inject({ url: '/.well-known/oauth-authorization-server' });
    assert.equal(on.json().client_id_metadata_document_supported, true);
    const off = await cimdApp(pki, {});
    open.push(off);
    const config = loadConfig({
      TESSERA_ENV: 'development',
      TESSERA_ISSUER: ISSUER,
      DATABASE_URL: 'sqlite::memory:',
    });
    assert.equal(config.clientIdMetadataDocuments, 'off');
    const offApp = await buildApp(config, {
      logger: pino({ level: 'silent' }),
      outbound: outboundHttp({ ca: pki.ca.certPem }),
    });
    open.push(offApp);
    const doc = await offApp.server.inject({ url: '/.well-known/oauth-authorization-server' });
    assert.equal(doc.json().client_id_metadata_document_supported, undefined);
    // Off: an https client_id is an unknown client, and nothing is fetched.
    const url = serve('/off/client.json');
    const res = await authorize(offApp, url);
    assert.match(res.body, /Unknown application/);
    assert.ok(!docs.state.requests.includes('/off/client.json'));
  });

  it('the code flow with PKCE for a public client known only by its document; the token binds its URL', async () => {
    const url = serve('/agents/good.json', (u) => client(u), { 'cache-control': 'max-age=300' });
    const { verifier, challenge } = pkce();
    const jar = new Jar();
    const redirect = await authorizeWithLogin(app, jar, {
      client_id: url,
      redirect_uri: 'http://127.0.0.1:33418/callback',
      response_type: 'code',
      scope: 'openid mcp:tools',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'xyz',
    });
    assert.equal(redirect.origin + redirect.pathname, 'http://127.0.0.1:33418/callback');
    assert.equal(redirect.searchParams.get('state'), 'xyz');
    const code = redirect.searchParams.get('code')!;
    const token = await form(app, '/token', {
      grant_type: 'authorization_code',
      code,
      redirect_uri: 'http://127.0.0.1:33418/callback',
      client_id: url,
      code_verifier: verifier,
    });
    assert.equal(token.statusCode, 200, token.body);
    const body = token.json();
    const claims = JSON.parse(Buffer.from(body.access_token.split('.')[1], 'base64url').toString());
    assert.equal(claims.client_id, url);
    assert.equal(body.scope.split(' ').sort().join(' '), 'mcp:tools openid');
    // One fetch for the whole flow (authorize, the pages, the token request): the document is cached.
    assert.equal(docs.state.requests.filter((r) => r === '/agents/good.json').length, 1);
    // Never stored as a client.
    assert.ok(!(await app.stores.clients.list()).some((c) => c.clientId === url));
  });

  it('a private_key_jwt client: its keys from the jwks_uri its document names, its assertions checked', async () => {
    const keys = await cimdApp(pki, {
      TESSERA_CIMD_ALLOW_LOOPBACK: 'true',
      TESSERA_CLIENT_JWKS_ALLOW_LOOPBACK: 'true',
    });
    open.push(keys);
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const other = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', use: 'sig', alg: 'ES256' };
    documents.set('/keys/jwks.json', (_req, res) => json(res, { keys: [jwk] }));
    const url = serve('/keys/client.json', (u) =>
      client(u, { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `${docs.state.base}/keys/jwks.json` }),
    );
    const assertion = (key: CryptoKey) =>
      new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(url)
        .setSubject(url)
        .setAudience(ISSUER)
        .setIssuedAt()
        .setExpirationTime('1m')
        .sign(key);
    const { verifier, challenge } = pkce();
    const redirect = await authorizeWithLogin(keys, new Jar(), {
      client_id: url,
      redirect_uri: 'http://127.0.0.1:33418/callback',
      response_type: 'code',
      scope: 'openid',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const redeem = (jwt: string) =>
      form(keys, '/token', {
        grant_type: 'authorization_code',
        code: redirect.searchParams.get('code')!,
        redirect_uri: 'http://127.0.0.1:33418/callback',
        code_verifier: verifier,
        client_id: url,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: jwt,
      });
    const forged = await redeem(await assertion(other.privateKey));
    assert.equal(forged.json().error, 'invalid_client', forged.body);
    const ok = await redeem(await assertion(privateKey));
    assert.equal(ok.statusCode, 200, ok.body);
    const none = await form(keys, '/token', { grant_type: 'refresh_token', refresh_token: 'x', client_id: url });
    assert.equal(none.json().error, 'invalid_client', 'a private_key_jwt client cannot go without its assertion');
  });

  it('consent shows the client_id host and redirect host, warns on a first visit and for a localhost-only client', async () => {
    const url = serve('/agents/consent.json', (u) => client(u, { client_name: 'Consent Agent' }));
    const jar = new Jar();
    const consentPage = async (extra: Record<string, string> = {}) => {
      let res = await app.server.inject({
        url: authorizeUrl({
          client_id: url,
          redirect_uri: 'http://127.0.0.1:33418/callback',
          response_type: 'code',
          scope: 'openid mcp:tools',
          code_challenge: pkce().challenge,
          code_challenge_method: 'S256',
          ...extra,
        }),
        headers: { cookie: jar.header() },
      });
      jar.take(res);
      let path = new URL(res.headers.location as string).pathname;
      let page = await app.server.inject({ url: path, headers: { cookie: jar.header() } });
      if (page.body.includes('name="password"')) {
        res = await form(
          app,
          `${path}/login`,
          { username: 'alice', password: 'correct horse battery', csrf: csrfOf(page.body) },
          { cookie: jar.header() },
        );
        jar.take(res);
        path = new URL(res.headers.location as string).pathname;
        page = await app.server.inject({ url: path, headers: { cookie: jar.header() } });
      }
      return { path, page };
    };
    const first = await consentPage();
    assert.match(first.page.body, /Consent Agent/);
    assert.match(first.page.body, /identified by <strong>localhost:\d+<\/strong>/);
    assert.match(first.page.body, /sent to <strong>127\.0\.0\.1:33418<\/strong>/);
    assert.match(first.page.body, /You have not allowed this application before/);
    assert.match(first.page.body, /Any program on your device could claim to be it/);
    const allowed = await form(
      app,
      `${first.path}/consent`,
      { decision: 'allow', csrf: csrfOf(first.page.body) },
      { cookie: jar.header() },
    );
    assert.equal(allowed.statusCode, 303);
    const again = await consentPage({ prompt: 'consent' });
    assert.match(again.page.body, /identified by <strong>localhost:\d+<\/strong>/);
    assert.doesNotMatch(again.page.body, /You have not allowed this application before/);
    // A client that returns to a web address gets no local-app warning.
    const web = serve('/agents/web.json', (u) => client(u, { redirect_uris: ['https://agent.example.com/cb'] }));
    const res = await app.server.inject({
      url: authorizeUrl({
        client_id: web,
        redirect_uri: 'https://agent.example.com/cb',
        response_type: 'code',
        scope: 'openid',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      }),
      headers: { cookie: jar.header() },
    });
    jar.take(res);
    const page = await app.server.inject({
      url: new URL(res.headers.location as string).pathname,
      headers: { cookie: jar.header() },
    });
    assert.match(page.body, /You have not allowed this application before/);
    assert.match(page.body, /sent to <strong>agent\.example\.com<\/strong>/);
    assert.doesNotMatch(page.body, /Any program on your device/);
  });

  it('redirect URIs come from the document and match exactly; self-registered ceilings apply', async () => {
    const url = serve('/agents/exact.json', (u) => client(u, { redirect_uris: ['https://agent.example.com/cb'] }));
    const wrong = await authorize(app, url, { redirect_uri: 'https://agent.example.com/cb/other' });
    assert.doesNotMatch(wrong.headers.location ?? '', /agent\.example\.com/);
    assert.match(wrong.body, /redirect/i);
    const ok = await authorize(app, url, { redirect_uri: 'https://agent.example.com/cb' });
    assert.equal(ok.statusCode, 303, ok.body);
    // api:read is offered by the server but not to self-registered clients (TESSERA_REGISTRATION_SCOPES).
    const beyond = await authorize(app, url, {
      redirect_uri: 'https://agent.example.com/cb',
      scope: 'openid api:read',
    });
    // A self-registered client's errors are not sent back automatically: the page links to them.
    assert.equal(beyond.headers.location, undefined);
    assert.match(beyond.body, /error=invalid_scope/);
  });

  it('refuses a document whose client_id is not its URL, and shared-secret or unknown auth methods', async () => {
    const cases = [
      serve('/bad/mismatch.json', (u) => client(`${u}/other`)),
      serve('/bad/basic.json', (u) => client(u, { token_endpoint_auth_method: 'client_secret_basic' })),
      serve('/bad/post.json', (u) => client(u, { token_endpoint_auth_method: 'client_secret_post' })),
      serve('/bad/secret.json', (u) => client(u, { client_secret: 'hunter2hunter2hunter2hunter2hunter2' })),
      serve('/bad/pkjwt.json', (u) => client(u, { token_endpoint_auth_method: 'private_key_jwt' })),
    ];
    for (const url of cases) {
      const res = await authorize(app, url);
      assert.equal(res.statusCode, 400, `${url}: ${res.body.slice(0, 200)}`);
      assert.equal(res.headers.location, undefined);
      assert.match(res.body, /Unknown application/);
      assert.match(why(url), /metadata document is not valid/);
      const token = await form(app, '/token', {
        grant_type: 'authorization_code',
        code: 'x',
        client_id: url,
        code_verifier: 'v'.repeat(43),
      });
      assert.equal(token.json().error, 'invalid_client', url);
    }
  });

  it('refuses redirects (nothing reaches where they point), non-JSON, oversized documents and error statuses', async () => {
    // A fresh app: the failures of the other tests on this host would have spent its failure budget.
    const app = await cimdApp(pki, { TESSERA_CIMD_ALLOW_LOOPBACK: 'true' });
    open.push(app);
    documents.set('/bad/redirect.json', (_req, res) => {
      res.writeHead(302, { location: `${canary.state.base}/stolen.json` }).end();
    });
    documents.set('/bad/html.json', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end(JSON.stringify(client('x')));
    });
    documents.set('/bad/big.json', (_req, res, base) => {
      json(res, client(`${base}/bad/big.json`, { padding: 'x'.repeat(MAX_DOCUMENT_BYTES) }));
    });
    documents.set('/bad/big-chunked.json', (_req, res, base) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const body = JSON.stringify(client(`${base}/bad/big-chunked.json`, { padding: 'x'.repeat(MAX_DOCUMENT_BYTES) }));
      res.write(body.slice(0, 1000));
      res.end(body.slice(1000));
    });
    documents.set('/bad/500.json', (_req, res) => res.writeHead(500).end());
    for (const path of [
      '/bad/redirect.json',
      '/bad/html.json',
      '/bad/big.json',
      '/bad/big-chunked.json',
      '/bad/500.json',
    ]) {
      const res = await authorize(app, `${docs.state.base}${path}`);
      assert.equal(res.statusCode, 400, path);
      assert.match(res.body, /Unknown application/, path);
      assert.match(why(`${docs.state.base}${path}`), /could not be fetched/, path);
    }
    assert.equal(canary.state.connections, 0);
  });

  it('gives up on a slow server at the timeout', async () => {
    const app = await cimdApp(pki, { TESSERA_CIMD_ALLOW_LOOPBACK: 'true' });
    open.push(app);
    documents.set('/bad/slow.json', (_req, res, base) => {
      setTimeout(() => json(res, client(`${base}/bad/slow.json`)), 8000).unref();
    });
    const started = Date.now();
    const res = await authorize(app, `${docs.state.base}/bad/slow.json`);
    assert.match(res.body, /Unknown application/);
    assert.match(why(`${docs.state.base}/bad/slow.json`), /no 200 answer came in time/);
    assert.ok(Date.now() - started < 7000, 'answered before the server did');
  });

  it('errors are not cached: a document fixed after a failure is fetched again', async () => {
    const app = await cimdApp(pki, { TESSERA_CIMD_ALLOW_LOOPBACK: 'true' });
    open.push(app);
    let broken = true;
    documents.set('/agents/flaky.json', (_req, res, base) => {
      if (broken) return res.writeHead(503).end();
      json(res, client(`${base}/agents/flaky.json`));
    });
    const url = `${docs.state.base}/agents/flaky.json`;
    assert.match((await authorize(app, url)).body, /Unknown application/);
    assert.match(why(url), /could not be fetched/);
    broken = false;
    assert.equal((await authorize(app, url)).statusCode, 303);
  });

  it('never connects to private or special-use addresses: literals, names, and names resolving to them', async () => {
    // Without the loopback allowance (as in production), with a resolver that sends names to the canary.
    const table: Record<string, string[]> = {
      'loopback.attacker.example.net': ['127.0.0.1'],
      'mapped.attacker.example.net': ['::ffff:127.0.0.1'],
      'mixed.attacker.example.net': ['93.184.216.34', '127.0.0.1'],
      'metadata.attacker.example.net': ['169.254.169.254'],
      'private.attacker.example.net': ['10.0.0.7'],
    };
    const resolve: Resolver = (host, _family, cb) => {
      const list = table[host];
      if (!list) return cb(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' }), []);
      cb(
        null,
        list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
      );
    };
    const strict = await cimdApp(pki, {}, resolve);
    open.push(strict);
    const port = canary.port;
    const urls = [
      ...Object.keys(table).map((h) => `https://${h}:${port}/client.json`),
      `https://127.0.0.1:${port}/client.json`,
      `https://[::1]:${port}/client.json`,
      `https://localhost:${port}/client.json`,
      `https://10.0.0.7:${port}/client.json`,
      `https://169.254.169.254/latest/client.json`,
      `https://[fd00::1]:${port}/client.json`,
      `https://printer.local:${port}/client.json`,
      `https://2130706433:${port}/client.json`,
    ];
    for (const url of urls) {
      const before = canary.state.connections;
      const res = await authorize(strict, url);
      assert.equal(canary.state.connections, before, `${url} reached the canary`);
      assert.equal(res.statusCode, 400, url);
      assert.equal(res.headers.location, undefined, url);
      assert.match(why(url), /not a public address|special-use|may not be reached|canonical/, url);
    }
    assert.equal(canary.state.connections, 0, 'nothing reached the canary');
    // Even with the loopback allowance, other private addresses stay refused, through DNS too.
    const lenient = await cimdApp(pki, { TESSERA_CIMD_ALLOW_LOOPBACK: 'true' }, resolve);
    open.push(lenient);
    for (const host of ['metadata.attacker.example.net', 'private.attacker.example.net']) {
      await authorize(lenient, `https://${host}:${port}/client.json`);
      assert.match(why(`https://${host}:${port}/client.json`), /its address may not be reached/);
    }
    assert.equal(canary.state.connections, 0);
  });

  it('the trust policy: allow_list and deny_list of hosts, checked before any fetch', async () => {
    const allow = await cimdApp(pki, {
      TESSERA_CIMD_ALLOW_LOOPBACK: 'true',
      TESSERA_CIMD_TRUST: 'allow_list',
      TESSERA_CIMD_HOSTS: '*.clients.example.net',
    });
    const deny = await cimdApp(pki, {
      TESSERA_CIMD_ALLOW_LOOPBACK: 'true',
      TESSERA_CIMD_TRUST: 'deny_list',
      TESSERA_CIMD_HOSTS: 'localhost',
    });
    open.push(allow, deny);
    const url = serve('/policy/client.json');
    for (const a of [allow, deny]) {
      const before = refusals.length;
      const res = await authorize(a, url);
      assert.equal(res.statusCode, 400);
      assert.equal(refusals.length, before + 1);
      assert.match(why(url), /not accepted here/);
    }
    assert.ok(!docs.state.requests.includes('/policy/client.json'));
    const allowLocal = await cimdApp(pki, {
      TESSERA_CIMD_ALLOW_LOOPBACK: 'true',
      TESSERA_CIMD_TRUST: 'allow_list',
      TESSERA_CIMD_HOSTS: 'localhost',
    });
    open.push(allowLocal);
    assert.equal((await authorize(allowLocal, url)).statusCode, 303);
  });

  it("junk URLs on a client's host cannot make a known client unknown; a stale document is served when its host is down", async () => {
    const clock = { t: Math.floor(Date.now() / 1000) };
    const a = await cimdApp(pki, { TESSERA_CIMD_ALLOW_LOOPBACK: 'true' }, undefined, () => clock.t);
    open.push(a);
    let down = false;
    documents.set('/known/client.json', (_req, res, base) => {
      if (down) return res.writeHead(503).end();
      json(res, client(`${base}/known/client.json`), { 'cache-control': 'max-age=60' });
    });
    const known = `${docs.state.base}/known/client.json`;
    const fetched = () => docs.state.requests.filter((r) => r === '/known/client.json').length;
    assert.equal((await authorize(a, known)).statusCode, 303);
    // Another known client, whose owner will withdraw it.
    let withdrawn = false;
    documents.set('/known/withdrawn.json', (_req, res, base) => {
      if (withdrawn) return res.writeHead(410).end();
      json(res, client(`${base}/known/withdrawn.json`), { 'cache-control': 'max-age=60' });
    });
    const gone = `${docs.state.base}/known/withdrawn.json`;
    assert.equal((await authorize(a, gone)).statusCode, 303);
    const first = fetched();
    clock.t += 61;
    // Junk paths on its host from many networks: stopped at the host's failure budget.
    const before = docs.state.requests.length;
    for (let i = 0; i < 40; i++) await authorize(a, `${docs.state.base}/known/junk${i}`);
    assert.equal(docs.state.requests.length - before, FAILURE_BUDGETS.host);
    // The known client is refetched all the same.
    assert.equal((await authorize(a, known)).statusCode, 303);
    assert.equal(fetched(), first + 1);
    // Its host down after expiry: the cached document is served stale.
    down = true;
    clock.t += 61;
    const res = await authorize(a, known);
    assert.equal(res.statusCode, 303, res.body.slice(0, 200));
    assert.equal(fetched(), first + 2, 'a refetch was tried');
    // A 410 (or 404, or any 4xx) is its owner's word: unknown at once, not served stale.
    withdrawn = true;
    assert.match((await authorize(a, gone)).body, /Unknown application/);
    assert.match(why(gone), /could not be fetched/);
    // Past the ceiling (an hour past its freshness) it is gone.
    clock.t += 60 + STALE_SECONDS;
    assert.match((await authorize(a, known)).body, /Unknown application/);
    assert.match(why(known), /could not be fetched/);
  });

  it('fetch floods: per source (by IPv6 /64), per client id, per host budgets and failure budgets', async () => {
    const fresh = async () => {
      const a = await cimdApp(pki, { TESSERA_CIMD_ALLOW_LOOPBACK: 'true' });
      open.push(a);
      return a;
    };
    const count = (prefix: string) => docs.state.requests.filter((r) => r.startsWith(prefix)).length;
    const spent = (url: string) => /Too many client metadata documents/.test(why(url));
    const ipHost = docs.state.base.replace('localhost', '127.0.0.1');
    // One /64 taking a fresh address per request, valid documents at fresh URLs: FETCH_BUDGETS.source fetches.
    let flood = await fresh();
    const valid = Array.from({ length: FETCH_BUDGETS.source + 5 }, (_, i) => serve(`/flood/v${i}`));
    for (const [i, url] of valid.entries()) await authorize(flood, url, {}, `2001:db8:77::${(i + 1).toString(16)}`);
    assert.equal(count('/flood/v'), FETCH_BUDGETS.source);
    assert.equal(valid.filter(spent).length, 5);
    assert.equal((await authorize(flood, serve('/flood/other-64'), {}, '2001:db8:78::1')).statusCode, 303);
    // One source, URLs that fail: its failure budget, then nothing more is fetched for it (on any host).
    flood = await fresh();
    documents.set('/flood/missing', (_req, res) => res.writeHead(404).end());
    const junk = Array.from({ length: FAILURE_BUDGETS.source + 5 }, (_, i) => `${docs.state.base}/flood/a${i}`);
    for (const url of junk) await authorize(flood, url, {}, '198.51.100.1');
    assert.equal(count('/flood/a'), FAILURE_BUDGETS.source);
    assert.equal(junk.filter(spent).length, 5);
    await authorize(flood, `${ipHost}/flood/a-other-host`, {}, '198.51.100.1');
    assert.ok(spent(`${ipHost}/flood/a-other-host`));
    // ... while its host, having failed as often, is closed to first fetches from anyone,
    await authorize(flood, `${docs.state.base}/flood/a-new`, {}, '198.51.100.2');
    assert.ok(spent(`${docs.state.base}/flood/a-new`));
    // ... and another host is fetched for another source.
    assert.equal(
      (await authorize(flood, serve('/flood/ok').replace('localhost', '127.0.0.1'), {}, '198.51.100.2')).statusCode,
      400,
    );
    assert.match(why(`${ipHost}/flood/ok`), /not valid/, 'fetched (its client_id names localhost)');
    // One client id from many sources: at most FETCH_BUDGETS.clientId fetches (errors are not cached).
    flood = await fresh();
    for (let i = 0; i < FETCH_BUDGETS.clientId + 3; i++)
      await authorize(flood, `${docs.state.base}/flood/b`, {}, `198.51.100.${10 + i}`);
    assert.equal(count('/flood/b'), FETCH_BUDGETS.clientId);
    // One host from many sources and URLs: at most FETCH_BUDGETS.host first fetches in all for localhost.
    flood = await fresh();
    const before = count('/flood/c');
    for (let i = 0; i < FETCH_BUDGETS.host; i++)
      await authorize(flood, serve(`/flood/c${i}`), {}, `203.0.113.${i + 1}`);
    assert.equal(count('/flood/c'), before + FETCH_BUDGETS.host);
    await authorize(flood, serve('/flood/d'), {}, '203.0.113.200');
    assert.ok(spent(serve('/flood/d')));
    const token = await flood.server.inject({
      method: 'POST',
      url: '/token',
      payload: new URLSearchParams({
        grant_type: 'authorization_code',
        code: 'x',
        client_id: serve('/flood/e'),
        code_verifier: 'v'.repeat(43),
      }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      remoteAddress: '203.0.113.201',
    });
    assert.equal(token.statusCode, 401, token.body);
    assert.equal(token.json().error, 'invalid_client');
    assert.ok(spent(serve('/flood/e')));
    assert.equal(count('/flood/d') + count('/flood/e'), 0, 'nothing more was fetched');
    // Coalescing, in a fresh app: 20 concurrent requests for one (slow) document make one fetch.
    const burst = await cimdApp(pki, { TESSERA_CIMD_ALLOW_LOOPBACK: 'true' });
    open.push(burst);
    documents.set('/burst/client.json', (_req, res, base) => {
      setTimeout(() => json(res, client(`${base}/burst/client.json`)), 200);
    });
    const all = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        authorize(burst, `${docs.state.base}/burst/client.json`, {}, `192.0.2.${i + 1}`),
      ),
    );
    assert.deepEqual(
      all.map((r) => r.statusCode),
      all.map(() => 303),
    );
    assert.equal(count('/burst/client.json'), 1);
  });
});
