/**
 * The deployment's branding and clients' logos (issue 18) through inject(), on SQLite and
 * PostgreSQL: the environment's defaults on the pages, the admin API's branding.update (name,
 * colours with their contrast, links, a logo checked by its magic bytes: SVG, oversize and
 * lookalike files refused, nothing changed), GET /branding/logo (type, nosniff, CSP, ETag, 304,
 * 404 once removed), the pages' CSP (img-src 'self' and nothing else new), and the client logo
 * route: fetched from the client's logo_uri (a loopback test server), 404 for an unknown or a
 * disabled client, for an SVG or a dead host, and a hanging host never holding a consent page.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import { applyBootstrap } from '../../src/admin/bootstrap.ts';
import { ROLE_SCOPES } from '../../src/protocol/admin-scopes.ts';
import { authorizeUrl, backends, csrfOf, form, ISSUER, Jar, pkce, testApp } from '../fixtures/app.ts';
import { pngTile, SVG_LOGO } from '../fixtures/images.ts';

const TOKEN = 'admin-token-0123456789-abcdefghijklmnopqrstuvwxyz';
const API = '/admin/api/v1/settings/branding';
const AUTH = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const LOGO = pngTile(48, [11, 83, 148], [255, 255, 255]);

/** The consent page of `clientId` for alice, through authorize and login; with how long it took. */
async function consentPage(app: App, clientId: string): Promise<{ body: string; csp: string; ms: number }> {
  const jar = new Jar();
  let res = await app.server.inject({
    url: authorizeUrl({
      client_id: clientId,
      redirect_uri: 'https://shop.example/cb',
      response_type: 'code',
      scope: 'openid',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    }),
  });
  jar.take(res);
  const path = new URL(res.headers.location as string).pathname;
  const login = await app.server.inject({ url: path, headers: { cookie: jar.header() } });
  res = await form(
    app,
    `${path}/login`,
    { username: 'alice', password: 'correct horse battery', csrf: csrfOf(login.body) },
    { cookie: jar.header() },
  );
  jar.take(res);
  const started = Date.now();
  const page = await app.server.inject({ url: path, headers: { cookie: jar.header() } });
  const ms = Date.now() - started;
  assert.equal(page.statusCode, 200, page.body.slice(0, 300));
  assert.ok(page.body.includes('Allow access?'), page.body.slice(0, 500));
  return { body: page.body, csp: page.headers['content-security-policy'] as string, ms };
}

describe('admin:settings:write', () => {
  it('is held by owners and admins, not by support or auditors', () => {
    assert.ok(ROLE_SCOPES.owner.includes('admin:settings:write'));
    assert.ok(ROLE_SCOPES.admin.includes('admin:settings:write'));
    assert.ok(!ROLE_SCOPES.support.includes('admin:settings:write'));
    assert.ok(!ROLE_SCOPES.auditor.includes('admin:settings:write'));
  });
});

for (const backend of await backends()) {
  describe(`branding and client logos (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    let logos: Server;
    const hits: Record<string, number> = {};
    const hanging: import('node:http').ServerResponse[] = [];
    let origin = '';
    before(async () => {
      logos = createServer((req, res) => {
        hits[req.url ?? ''] = (hits[req.url ?? ''] ?? 0) + 1;
        if (req.url === '/logo.png' || req.url === '/fresh.png' || req.url === '/self.png')
          res.writeHead(200, { 'content-type': 'image/png' }).end(LOGO);
        // An SVG declared as a PNG: the magic bytes decide.
        else if (req.url === '/sneaky.png') res.writeHead(200, { 'content-type': 'image/png' }).end(SVG_LOGO);
        else if (req.url === '/big.png')
          res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.concat([LOGO, Buffer.alloc(200 * 1024)]));
        else if (req.url === '/hang.png') hanging.push(res);
        else res.writeHead(404).end();
      });
      await new Promise<void>((r) => logos.listen(0, '127.0.0.1', r));
      origin = `http://127.0.0.1:${(logos.address() as AddressInfo).port}`;
      app = await testApp(backend.url!, {
        TESSERA_ADMIN_TOKEN: TOKEN,
        TESSERA_CLIENT_JWKS_ALLOW_LOOPBACK: 'true',
        TESSERA_BRAND_NAME: 'Acme Env',
        TESSERA_BRAND_PRIVACY_URL: 'https://acme.example/privacy',
        TESSERA_REGISTRATION: 'open',
      });
      const shop = (id: string, extra: Record<string, unknown>) => ({
        client_id: id,
        client_name: `Shop ${id}`,
        client_secret: 'shop-secret-0123456789-abcdefghijklmnop',
        redirect_uris: ['https://shop.example/cb'],
        scope: 'openid',
        ...extra,
      });
      await applyBootstrap(
        app.stores,
        app.provider.config,
        {
          clients: [
            shop('shop', {
              logo_uri: `${origin}/logo.png`,
              client_uri: 'https://shop.example/',
              policy_uri: 'https://shop.example/privacy',
              tos_uri: 'https://shop.example/terms',
            }),
            shop('sneaky', { logo_uri: `${origin}/sneaky.png` }),
            shop('big', { logo_uri: `${origin}/big.png` }),
            shop('hang', { logo_uri: `${origin}/hang.png` }),
            shop('gone', { logo_uri: `${origin}/logo.png`, disabled: true }),
            shop('plain', {}),
            shop('fresh', { logo_uri: `${origin}/fresh.png` }),
          ],
        },
        app.provider.now(),
      );
    });
    after(async () => {
      for (const res of hanging) res.destroy();
      await app?.close();
      logos.closeAllConnections();
      await new Promise<void>((r) => logos.close(() => r()));
      await backend.drop?.();
    });

    it("the pages carry the environment's defaults: name in the header and title, footer link", async () => {
      const { body, csp } = await consentPage(app, 'plain');
      assert.match(body, /<title>[^<]* · Acme Env<\/title>/);
      assert.ok(body.includes('<span>Acme Env</span></header>'));
      assert.ok(body.includes('<a href="https://acme.example/privacy" rel="noopener noreferrer">Privacy</a>'));
      assert.ok(!body.includes('<img'), 'no logo anywhere');
      assert.match(csp, /img-src 'self';/);
      assert.doesNotMatch(csp, /img-src [^;]*(https?:|data:|\*)/);
    });

    it('branding.update sets the name, colours, links and logo; the logo is served with its type, nosniff, a CSP and an ETag', async () => {
      const read = await app.server.inject({ url: API, headers: AUTH });
      assert.equal(read.statusCode, 200, read.body);
      assert.equal(read.json().name, null);
      assert.equal(read.json().effective.name, 'Acme Env');
      const res = await app.server.inject({
        method: 'PATCH',
        url: API,
        headers: { ...AUTH, 'if-match': read.headers.etag as string },
        payload: {
          name: 'Acme Sign-in',
          primary_color: '#0B5394',
          terms_url: 'https://acme.example/terms',
          logo: LOGO.toString('base64'),
        },
      });
      assert.equal(res.statusCode, 200, res.body);
      const view = res.json();
      assert.equal(view.name, 'Acme Sign-in');
      assert.equal(view.primary_color, '#0b5394');
      assert.equal(view.effective.primary_text_color, '#ffffff');
      assert.equal(view.logo.type, 'image/png');
      assert.equal(view.logo.size, LOGO.length);
      // The audit record keeps the logo as its size and hash, never the bytes.
      const [record] = await app.stores.audit.query({ type: 'branding_updated', limit: 1 });
      assert.ok(record, 'an audit record');
      assert.match(JSON.stringify(record.details), /image\/png/);
      assert.ok(!JSON.stringify(record).includes(LOGO.toString('base64').slice(0, 40)));

      const logo = await app.server.inject({ url: '/branding/logo' });
      assert.equal(logo.statusCode, 200);
      assert.equal(logo.headers['content-type'], 'image/png');
      assert.equal(logo.headers['x-content-type-options'], 'nosniff');
      assert.match(logo.headers['content-security-policy'] as string, /^default-src 'none'/);
      assert.deepEqual(logo.rawPayload, LOGO);
      const again = await app.server.inject({
        url: '/branding/logo',
        headers: { 'if-none-match': logo.headers.etag as string },
      });
      assert.equal(again.statusCode, 304);

      const { body, csp } = await consentPage(app, 'plain');
      assert.match(body, /<title>[^<]* · Acme Sign-in<\/title>/);
      assert.match(body, /<img class="brand-logo" src="\/branding\/logo\?v=[A-Za-z0-9_-]{16}" alt="Acme Sign-in"/);
      assert.match(body, /--primary: #0b5394; [^}]*--on-primary: #ffffff;/);
      assert.ok(body.includes('<a href="https://acme.example/terms" rel="noopener noreferrer">Terms</a>'));
      assert.ok(body.includes('<a href="https://acme.example/privacy" rel="noopener noreferrer">Privacy</a>'));
      assert.match(csp, /img-src 'self';/);
    });

    it('refuses SVG, lookalike and oversize logos, low contrast, CSS in a colour and non-https links: nothing changes', async () => {
      const before = (await app.server.inject({ url: API, headers: AUTH })).json();
      const refused = async (payload: Record<string, unknown>, pattern: RegExp) => {
        const res = await app.server.inject({ method: 'PATCH', url: API, headers: AUTH, payload });
        assert.equal(res.statusCode, 400, res.body);
        assert.match(res.json().detail, pattern);
      };
      await refused({ logo: SVG_LOGO.toString('base64') }, /PNG, JPEG, WebP or GIF/);
      await refused({ logo: Buffer.from('<!doctype html><p>hi').toString('base64') }, /PNG, JPEG, WebP or GIF/);
      await refused({ logo: 'not base64!' }, /base64/);
      await refused(
        { logo: Buffer.concat([LOGO, Buffer.alloc(256 * 1024)]).toString('base64') },
        /at most 262144|Too big/,
      );
      await refused({ primary_color: '#ffff00' }, /contrast/);
      await refused({ primary_color: '#0b5394', primary_text_color: '#1a1a1a' }, /contrast/);
      await refused({ primary_color: 'red;}body{display:none' }, /hex colour|Too big/);
      await refused({ primary_color: 'url(x)' }, /hex colour/);
      await refused({ privacy_url: 'http://acme.example/privacy' }, /https/);
      await refused({ support_url: 'javascript:alert(1)' }, /https|URL/);
      await refused({ name: 'Acme\u202EdI' }, /control|formatting|invisible|bidirectional/);
      const after = (await app.server.inject({ url: API, headers: AUTH })).json();
      assert.deepEqual(after, before);
    });

    it('branding.remove-logo: /branding/logo is 404 and the pages show the brand mark; null returns a value to its default', async () => {
      const res = await app.server.inject({ method: 'DELETE', url: `${API}/logo`, headers: AUTH });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().logo, null);
      assert.equal((await app.server.inject({ url: '/branding/logo' })).statusCode, 404);
      const reset = await app.server.inject({ method: 'PATCH', url: API, headers: AUTH, payload: { name: null } });
      assert.equal(reset.json().effective.name, 'Acme Env');
      const { body } = await consentPage(app, 'plain');
      assert.ok(body.includes('<span class="brand-mark" aria-hidden="true"></span><span>Acme Env</span>'));
    });

    it('a change without a valid admin token is refused (401)', async () => {
      const res = await app.server.inject({
        method: 'PATCH',
        url: API,
        headers: { ...AUTH, authorization: 'Bearer wrong' },
        payload: { name: 'x' },
      });
      assert.equal(res.statusCode, 401);
    });

    it("the raised body limit is an authenticated caller's: an anonymous upload is refused before its body is read", async () => {
      // A body read only as the server pulls it: how much was read tells whether it was parsed.
      const streamed = (size: number) => {
        const body = { read: 0 };
        let left = size;
        const stream = new Readable({
          read() {
            if (left <= 0) return this.push(null);
            const n = Math.min(16 * 1024, left);
            left -= n;
            body.read += n;
            this.push(Buffer.alloc(n, 0x20));
          },
        });
        return { body, stream };
      };
      for (const headers of [
        { 'content-type': 'application/json' },
        { 'content-type': 'application/json', authorization: 'Bearer wrong' },
      ]) {
        const { body, stream } = streamed(300 * 1024);
        const res = await app.server.inject({ method: 'PATCH', url: API, headers, payload: stream });
        assert.equal(res.statusCode, 401, res.body);
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
        assert.ok(body.read < 300 * 1024, `${body.read} bytes of the anonymous body were read`);
        // Over the raised limit too: still 401, not 413.
        const big = streamed(500 * 1024);
        const over = await app.server.inject({ method: 'PATCH', url: API, headers, payload: big.stream });
        assert.equal(over.statusCode, 401, over.body);
      }
      // An authenticated caller over the action's own limit: 413 naming that limit.
      const res = await app.server.inject({
        method: 'PATCH',
        url: API,
        headers: AUTH,
        payload: JSON.stringify({ logo: 'A'.repeat(410 * 1024) }),
      });
      assert.equal(res.statusCode, 413, res.body);
      assert.match(res.json().detail, new RegExp(`limit of ${400 * 1024} bytes`));
    });

    it("the consent page shows the client's logo from Tessera's origin, its name linking home, and its policies", async () => {
      const { body } = await consentPage(app, 'shop');
      assert.ok(body.includes(`<img class="client-logo" src="${ISSUER}/clients/shop/logo" alt=""`), body);
      assert.ok(
        body.includes('<a href="https://shop.example/" rel="noopener noreferrer"><strong>Shop shop</strong></a>'),
      );
      assert.ok(body.includes('<a href="https://shop.example/privacy" rel="noopener noreferrer">privacy policy</a>'));
      assert.ok(body.includes('<a href="https://shop.example/terms" rel="noopener noreferrer">terms of service</a>'));
      assert.ok(!body.includes(origin), "the page never points at the client's server");
      const logo = await app.server.inject({ url: '/clients/shop/logo' });
      assert.equal(logo.statusCode, 200);
      assert.equal(logo.headers['content-type'], 'image/png');
      assert.equal(logo.headers['x-content-type-options'], 'nosniff');
      assert.match(logo.headers['content-security-policy'] as string, /^default-src 'none'/);
      assert.ok(logo.headers.etag);
      assert.deepEqual(logo.rawPayload, LOGO);
      assert.equal(
        (
          await app.server.inject({
            url: '/clients/shop/logo',
            headers: { 'if-none-match': logo.headers.etag as string },
          })
        ).statusCode,
        304,
      );
      // Fetched once, then served from the cache.
      await app.server.inject({ url: '/clients/shop/logo' });
      assert.equal(hits['/logo.png'], 1);
    });

    it('the client logo route is 404 for unknown and disabled clients, SVG, oversize and clients without a logo; never a proxy', async () => {
      for (const id of [
        'nobody',
        'gone',
        'sneaky',
        'big',
        'plain',
        encodeURIComponent('https://evil.example/x.json'),
      ]) {
        const res = await app.server.inject({ url: `/clients/${id}/logo` });
        assert.equal(res.statusCode, 404, id);
        assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8', id);
      }
      assert.equal(hits['/logo.png'], 1, "a disabled client's logo is not fetched");
      const res = await app.server.inject({ url: `/clients/shop/logo?url=${encodeURIComponent(`${origin}/big.png`)}` });
      assert.deepEqual(res.rawPayload, LOGO, 'a query names nothing');
      // The consent page of a client whose logo failed has no image element.
      const { body } = await consentPage(app, 'sneaky');
      assert.ok(!body.includes('<img class="client-logo"'));
      await consentPage(app, 'sneaky');
      assert.equal(hits['/sneaky.png'], 1, 'a failure is kept: the host is not asked again');
    });

    it('the anonymous logo route never starts a fetch: only a consent page does; it is rate limited by address', async () => {
      for (let i = 0; i < 3; i++) {
        const res = await app.server.inject({ url: '/clients/fresh/logo' });
        assert.equal(res.statusCode, 404);
        assert.equal(res.headers['ratelimit-policy'], '"authorization.ip";q=300;w=60');
      }
      assert.equal(hits['/fresh.png'], undefined, 'nothing fetched for an anonymous request');
      const { body } = await consentPage(app, 'fresh');
      assert.ok(body.includes(`<img class="client-logo" src="${ISSUER}/clients/fresh/logo" alt=""`));
      const res = await app.server.inject({ url: '/clients/fresh/logo' });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.rawPayload, LOGO);
      assert.equal(hits['/fresh.png'], 1);
    });

    it("a self-registered client's logo is neither fetched nor shown; its links stay, beside the warning", async () => {
      const reg = await app.server.inject({
        method: 'POST',
        url: '/register',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({
          client_name: 'Shop (official)',
          redirect_uris: ['https://shop.example/cb'],
          token_endpoint_auth_method: 'none',
          scope: 'openid',
          logo_uri: `${origin}/self.png`,
          client_uri: 'https://self.example/',
          policy_uri: 'https://self.example/privacy',
        }),
      });
      assert.equal(reg.statusCode, 201, reg.body);
      const clientId = reg.json().client_id as string;
      const { body } = await consentPage(app, clientId);
      assert.ok(!body.includes('<img class="client-logo"'), 'no logo for a self-registered client');
      assert.ok(body.includes('<div class="alert unverified" role="note">'));
      assert.ok(
        body.includes('<a href="https://self.example/" rel="noopener noreferrer"><strong>Shop (official)</strong></a>'),
      );
      assert.ok(body.includes('<a href="https://self.example/privacy" rel="noopener noreferrer">privacy policy</a>'));
      const res = await app.server.inject({ url: `/clients/${encodeURIComponent(clientId)}/logo` });
      assert.equal(res.statusCode, 404);
      assert.equal(hits['/self.png'], undefined, 'its logo_uri is never fetched');
    });

    if (backend.name === 'postgres')
      it('another instance on the same database shows a change within the cache time (5 s)', async () => {
        const other = await testApp(backend.url!, { TESSERA_BRAND_NAME: 'Acme Env' });
        try {
          const title = async () =>
            /<title>[^<]* · ([^<]*)<\/title>/.exec((await consentPage(other, 'plain')).body)?.[1];
          const res = await app.server.inject({
            method: 'PATCH',
            url: API,
            headers: AUTH,
            payload: { name: 'Acme Two' },
          });
          assert.equal(res.statusCode, 200, res.body);
          const started = Date.now();
          let seen = await title();
          while (seen !== 'Acme Two' && Date.now() - started < 7000) {
            await new Promise((r) => setTimeout(r, 250));
            seen = await title();
          }
          assert.equal(seen, 'Acme Two');
          assert.ok(Date.now() - started < 6500, `seen after ${Date.now() - started} ms`);
        } finally {
          await other.close();
        }
      });

    it('a hanging logo host does not hold the consent page, which then shows no logo', async () => {
      const { body, ms } = await consentPage(app, 'hang');
      assert.ok(ms < 2500, `the consent page took ${ms} ms`);
      assert.ok(!body.includes('<img class="client-logo"'));
    });
  });
}
