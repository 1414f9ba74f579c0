/**
 * `tessera selftest`, run for real (the CLI as a child process) against a real Tessera over HTTPS
 * (its own test CA, trusted by the CLI through NODE_EXTRA_CA_CERTS) with the server's configuration,
 * from outside only, with broken dependencies (database, Redis), and against a fake authorization
 * server that breaks every outside rule, each making its row fail.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { hasOpenssl, makePki, type TestPki } from '../fixtures/certs.ts';
import { runCli, type CliResult } from '../fixtures/cli.ts';
import { sqliteTempUrl } from '../fixtures/db.ts';
import { privateRedisSkip, startPrivateRedis, type PrivateRedis } from '../fixtures/private-redis.ts';
import { startServer, type RunningServer } from '../fixtures/server.ts';
import { browserSkip, decide, launchBrowser, screen, signIn } from '../flows/support.ts';
import { Agent, fetch as undiciFetch } from 'undici';

interface Row {
  id: string;
  level: 'MUST' | 'SHOULD';
  outcome: 'pass' | 'fail' | 'skip';
  section: string;
  reason: string;
}

const REDIRECT = 'https://app.selftest.test/callback';
const PASSWORD = 'correct horse battery staple 42';

function parse(res: CliResult): Row[] {
  try {
    return (JSON.parse(res.out) as { rows: Row[] }).rows;
  } catch {
    return assert.fail(`not JSON (exit ${res.code}):\n${res.out}\n${res.err}`);
  }
}
function row(rows: Row[], id: string): Row {
  const found = rows.find((r) => r.id === id);
  assert.ok(found, `no row ${id} in ${rows.map((r) => r.id).join(', ')}`);
  return found;
}
const outcome = (rows: Row[], id: string) => row(rows, id).outcome;

const skipTls = hasOpenssl() ? false : 'openssl not installed';

describe('tessera selftest', { skip: skipTls }, () => {
  let pki: TestPki;
  let tessera: RunningServer;
  const db = sqliteTempUrl();
  /** The server's own configuration, as the CLI on its host would have it. */
  let env: Record<string, string>;

  before(async () => {
    pki = makePki();
    tessera = await startServer({
      databaseUrl: db,
      https: { ca: pki.ca.certPem },
      env: {
        TESSERA_TLS_CERT_FILE: pki.server.certFile,
        TESSERA_TLS_KEY_FILE: pki.server.keyFile,
        TESSERA_COOKIE_SECURE: 'true',
      },
      bootstrap: {
        clients: [
          {
            client_id: 'spa',
            token_endpoint_auth_method: 'none',
            grant_types: ['authorization_code', 'refresh_token'],
            redirect_uris: [REDIRECT],
            scope: 'openid profile offline_access',
          },
        ],
        users: [{ username: 'alice', password: PASSWORD, email: 'alice@example.com' }],
      },
    });
    env = { TESSERA_ISSUER: tessera.issuer, DATABASE_URL: db, NODE_EXTRA_CA_CERTS: pki.caFile };
  });
  after(async () => {
    await tessera?.stop();
    pki?.cleanup();
  });

  const selftest = (args: string[], extra: Record<string, string> = {}) =>
    runCli(['selftest', '--json', ...args], { ...env, ...extra });

  it('passes every MUST against a healthy Tessera over HTTPS, with its configuration', async () => {
    const res = await selftest([]);
    const rows = parse(res);
    assert.deepEqual(
      rows.filter((r) => r.outcome === 'fail'),
      [],
    );
    assert.equal(res.code, 0, res.err);
    for (const id of [
      'https-issuer',
      'tls-certificate',
      'tls-certificate-renewal',
      'grant-types-advertised',
      'client-auth-unknown',
      'discovery',
      'discovery-rfc8414',
      'endpoint-authorization',
      'endpoint-token',
      'endpoint-userinfo',
      'endpoint-jwks',
      'endpoint-introspection',
      'endpoint-revocation',
      'endpoint-end-session',
      'jwks-keys',
      'grant-unknown',
      'no-ropc',
      'no-implicit',
      'pkce-plain-refused',
      'pkce-required',
      'iss-in-response',
      'redirect-uri-exact',
      'cookies-secure',
      'cookies-httponly-samesite',
      'ready',
      'database',
      'key-age',
    ])
      assert.equal(outcome(rows, id), 'pass', `${id}: ${row(rows, id).reason}`);
    // Registration is off by default: not advertised, so not probed. No Redis configured.
    assert.equal(outcome(rows, 'endpoint-registration'), 'skip');
    assert.equal(outcome(rows, 'redis'), 'skip');
    // HSTS is sent in production only (the broken server below fails this row).
    assert.equal(outcome(rows, 'hsts'), 'skip');
    assert.match(row(rows, 'cookies-secure').reason, /all Secure __Host- with Path=\//);
    assert.match(row(rows, 'no-implicit').reason, /unsupported_response_type/);

    // The table form names the client it probed with (found in the database) and sums up.
    const text = await runCli(['selftest'], env);
    assert.equal(text.code, 0, text.out + text.err);
    assert.match(text.out, /with its configuration\), probing with client spa/);
    assert.match(text.out, /^PASS\s+MUST\s+redirect-uri-exact\s+RFC 9700 §2\.1, §4\.1\.3\s+altered redirect URIs/m);
    assert.match(text.out, /every MUST passed/);
  });

  it('checks from outside only when the configuration names another issuer', async () => {
    const res = await runCli(['selftest', '--json', '--url', tessera.issuer], {
      NODE_EXTRA_CA_CERTS: pki.caFile,
      TESSERA_ISSUER: 'https://elsewhere.example',
    });
    const rows = parse(res);
    for (const id of ['database', 'redis', 'key-age', 'pkce-required', 'redirect-uri-exact', 'iss-in-response'])
      assert.equal(outcome(rows, id), 'skip', id);
    // What discovery says is still checked without a client.
    assert.equal(outcome(rows, 'pkce-plain-refused'), 'pass');
    assert.equal(outcome(rows, 'no-implicit'), 'pass');
    assert.equal(res.code, 0);
  });

  it('fails the inside rows: unreachable database and Redis, rotation off, an algorithm without a key', async () => {
    let res = await selftest([], {
      DATABASE_URL: 'postgres://tessera@127.0.0.1:1/none',
      REDIS_URL: 'redis://127.0.0.1:1',
    });
    let rows = parse(res);
    assert.equal(outcome(rows, 'database'), 'fail');
    assert.match(row(rows, 'database').reason, /unreachable/);
    assert.equal(outcome(rows, 'redis'), 'fail');
    assert.equal(outcome(rows, 'key-age'), 'fail');
    assert.match(row(rows, 'key-age').reason, /could not be read/);
    assert.equal(outcome(rows, 'ready'), 'pass'); // the server itself is fine
    assert.equal(res.code, 1);

    res = await selftest([], { TESSERA_KEY_ROTATION_DAYS: '0' });
    rows = parse(res);
    assert.equal(outcome(rows, 'key-age'), 'fail');
    assert.match(row(rows, 'key-age').reason, /rotation is off/);
    assert.equal(res.code, 0); // a SHOULD

    res = await selftest([], { TESSERA_SIGNING_ALGS: 'ES256,RS256,PS256' });
    rows = parse(res);
    assert.equal(outcome(rows, 'key-age'), 'fail');
    assert.match(row(rows, 'key-age').reason, /no active key for PS256/);
  });

  it('fails https-issuer for plain http off loopback', async () => {
    const res = await runCli(['selftest', '--json', '--url', `http://127.0.0.2:${tessera.port}`], {});
    const rows = parse(res);
    assert.equal(outcome(rows, 'https-issuer'), 'fail');
    assert.equal(outcome(rows, 'discovery'), 'fail');
    assert.equal(res.code, 1);
  });

  it('refuses bad usage with exit code 2', async () => {
    let res = await runCli(['selftest', '--url', 'ftp://x'], {});
    assert.equal(res.code, 2);
    assert.match(res.err, /--url must be an http\(s\) URL/);
    res = await runCli(['selftest', '--redirect-uri', REDIRECT], env);
    assert.equal(res.code, 2);
    assert.match(res.err, /--redirect-uri needs --client-id/);
  });

  it('passes refresh-rotation with a refresh token from a real sign-in, and fails it for a used one', {
    skip: browserSkip,
  }, async () => {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const browser = await launchBrowser();
    let code: string | null = null;
    try {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      // The redirect URI's host does not exist: the code is read from the browser's request to it.
      page.on('request', (req) => {
        if (req.url().startsWith(`${REDIRECT}?`)) code = new URL(req.url()).searchParams.get('code');
      });
      const query = new URLSearchParams({
        client_id: 'spa',
        redirect_uri: REDIRECT,
        response_type: 'code',
        scope: 'openid offline_access',
        state: 'st',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      await page.goto(`${tessera.issuer}/authorize?${query}`);
      await signIn(page, 'alice', PASSWORD);
      if ((await screen(page, new URL(REDIRECT).origin)) === 'consent') await decide(page, 'Allow');
    } finally {
      await browser.close();
    }
    assert.ok(code, 'the browser came back with a code');
    const agent = new Agent({ connect: { ca: pki.ca.certPem } });
    const res = await undiciFetch(`${tessera.issuer}/token`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        client_id: 'spa',
        code_verifier: verifier,
      }).toString(),
    });
    const tokens = (await res.json()) as { refresh_token?: string };
    await agent.close();
    assert.ok(tokens.refresh_token, JSON.stringify(tokens));

    let out = await selftest(['--client-id', 'spa', '--refresh-token', tokens.refresh_token]);
    let rows = parse(out);
    assert.equal(outcome(rows, 'refresh-rotation'), 'pass', row(rows, 'refresh-rotation').reason);
    assert.equal(out.code, 0, out.out);
    // The same refresh token again: already rotated, so refused (and its family revoked).
    out = await selftest(['--client-id', 'spa', '--refresh-token', tokens.refresh_token]);
    rows = parse(out);
    assert.equal(outcome(rows, 'refresh-rotation'), 'fail');
    assert.match(row(rows, 'refresh-rotation').reason, /refused: HTTP 400 invalid_grant/);
    assert.equal(out.code, 1);
  });

  describe('with Redis', { skip: privateRedisSkip() }, () => {
    let redis: PrivateRedis;
    let withRedis: RunningServer;
    const redisDb = sqliteTempUrl();
    before(async () => {
      redis = await startPrivateRedis({ persist: false });
      withRedis = await startServer({ databaseUrl: redisDb, env: { REDIS_URL: redis.url } });
    });
    after(async () => {
      await withRedis?.stop();
      await redis?.stop();
    });

    it('passes the Redis row while Redis answers, and fails it and readiness when it is down', async () => {
      const cliEnv = { TESSERA_ISSUER: withRedis.issuer, DATABASE_URL: redisDb, REDIS_URL: redis.url };
      let res = await runCli(['selftest', '--json'], cliEnv);
      let rows = parse(res);
      assert.equal(outcome(rows, 'redis'), 'pass', row(rows, 'redis').reason);
      assert.match(row(rows, 'ready').reason, /redis/);
      assert.equal(outcome(rows, 'ready'), 'pass');

      await redis.stop();
      res = await runCli(['selftest', '--json'], cliEnv);
      rows = parse(res);
      assert.equal(outcome(rows, 'redis'), 'fail');
      assert.equal(outcome(rows, 'ready'), 'fail');
      assert.match(row(rows, 'ready').reason, /HTTP 503: redis unreachable/);
      assert.equal(res.code, 1);
    });
  });

  describe('against a broken authorization server', () => {
    let fake: Server;
    let origin: string;
    /** Set per test: the issuer its discovery names. */
    let claimedIssuer: string | undefined;
    before(async () => {
      fake = createHttpsServer({ cert: pki.server.certPem, key: pki.server.keyPem }, (req, res) => {
        const url = new URL(req.url ?? '/', origin);
        const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
          res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
        req.resume();
        switch (url.pathname) {
          case '/.well-known/openid-configuration':
          case '/.well-known/oauth-authorization-server':
            // No HSTS; implicit and plain PKCE advertised; ROPC listed; a userinfo endpoint that is not there.
            return json(200, {
              issuer: claimedIssuer ?? origin,
              authorization_endpoint: `${origin}/authorize`,
              token_endpoint: `${origin}/token`,
              userinfo_endpoint: `${origin}/missing`,
              jwks_uri: `${origin}/jwks`,
              response_types_supported: ['code', 'token'],
              grant_types_supported: ['authorization_code', 'password'],
              code_challenge_methods_supported: ['S256', 'plain'],
              id_token_signing_alg_values_supported: ['ES256'],
              authorization_response_iss_parameter_supported: true,
            });
          case '/jwks':
            // A private key published, and no ES256 key.
            return json(200, { keys: [{ kty: 'oct', kid: 'k', k: 'c2VjcmV0', alg: 'HS256' }] });
          case '/token':
            // Anything goes, and the refresh token never rotates.
            return json(200, { access_token: 'at', token_type: 'Bearer', refresh_token: 'rt-static' });
          case '/authorize': {
            // Redirects to whatever redirect_uri it is given; errors without iss; no PKCE needed.
            const to = new URL(url.searchParams.get('redirect_uri') ?? 'https://nowhere.example/');
            if (url.searchParams.get('code_challenge_method') === 'plain')
              to.searchParams.set('error', 'invalid_request');
            else to.searchParams.set('code', 'c');
            return res.writeHead(302, { location: to.href, 'set-cookie': 'flow=1; Path=/' }).end();
          }
          case '/account':
            return res.writeHead(200, { 'set-cookie': 'sid=1; Path=/; HttpOnly' }).end('account');
          case '/ready':
            return json(503, { status: 'unavailable', checks: { database: 'unreachable' } });
          default:
            return res.writeHead(404).end();
        }
      });
      await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
      origin = `https://localhost:${(fake.address() as AddressInfo).port}`;
    });
    after(async () => {
      fake.closeAllConnections();
      await new Promise((r) => fake.close(r));
    });

    it('fails each outside row it breaks', async () => {
      claimedIssuer = undefined;
      const res = await runCli(
        [
          'selftest',
          '--json',
          '--url',
          origin,
          '--client-id',
          'x',
          '--redirect-uri',
          REDIRECT,
          '--refresh-token',
          'rt-static',
        ],
        { NODE_EXTRA_CA_CERTS: pki.caFile },
      );
      const rows = parse(res);
      const expectFail = {
        hsts: /no Strict-Transport-Security/,
        'endpoint-userinfo': /HTTP 404, expected 401/,
        'endpoint-token': /HTTP 200, expected 400 or 401/,
        'jwks-keys': /private or symmetric members/,
        'grant-unknown': /HTTP 200/,
        'grant-types-advertised': /authorization_code: HTTP 200/,
        'client-auth-unknown': /HTTP 200, no Basic challenge/,
        'no-ropc': /lists password/,
        'no-implicit': /lists token/,
        'pkce-plain-refused': /lists plain/,
        'pkce-required': /without an error redirect/,
        'iss-in-response': /has no iss/,
        'redirect-uri-exact': /was not refused/,
        'refresh-rotation': /same refresh token back/,
        'cookies-secure': /not a Secure __Host- cookie: (flow|sid)/,
        'cookies-httponly-samesite': /without HttpOnly or SameSite/,
        ready: /HTTP 503: database unreachable/,
      };
      for (const [id, reason] of Object.entries(expectFail)) {
        assert.equal(outcome(rows, id), 'fail', `${id}: ${row(rows, id).reason}`);
        assert.match(row(rows, id).reason, reason, id);
      }
      assert.equal(outcome(rows, 'discovery'), 'pass');
      assert.equal(outcome(rows, 'https-issuer'), 'pass');
      assert.equal(outcome(rows, 'tls-certificate'), 'pass');
      assert.equal(res.code, 1);
    });

    it('fails tls-certificate for an expired certificate', async () => {
      const expired = createHttpsServer({ cert: pki.expired.certPem, key: pki.expired.keyPem }, (_req, res) =>
        res.writeHead(404).end(),
      );
      await new Promise<void>((r) => expired.listen(0, '127.0.0.1', r));
      try {
        const url = `https://localhost:${(expired.address() as AddressInfo).port}`;
        const res = await runCli(['selftest', '--json', '--url', url], { NODE_EXTRA_CA_CERTS: pki.caFile });
        const rows = parse(res);
        assert.equal(outcome(rows, 'tls-certificate'), 'fail');
        assert.match(row(rows, 'tls-certificate').reason, /not trusted: CERT_HAS_EXPIRED|certificate has expired/);
        assert.equal(outcome(rows, 'discovery'), 'fail');
        assert.equal(res.code, 1);
      } finally {
        expired.closeAllConnections();
        await new Promise((r) => expired.close(r));
      }
    });

    it('fails discovery when it names another issuer', async () => {
      claimedIssuer = 'https://impostor.example';
      const res = await runCli(['selftest', '--json', '--url', origin], { NODE_EXTRA_CA_CERTS: pki.caFile });
      const rows = parse(res);
      assert.equal(outcome(rows, 'discovery'), 'fail');
      assert.match(row(rows, 'discovery').reason, /names the issuer "https:\/\/impostor.example"/);
      assert.equal(outcome(rows, 'discovery-rfc8414'), 'fail');
      assert.equal(res.code, 1);
    });
  });
});
