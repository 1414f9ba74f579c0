// The form lane (src/http/form-lane.ts) answers plain POSTs to the JSON form endpoints over real
// HTTP before Fastify sees them; Fastify's inject() always takes the Fastify routes. Each request
// here is sent both ways to the same server and the answers must match: status, every header
// (but the connection's own and the remaining-count of the rate limits) and the body. A hook on
// the Fastify instance counts what went through Fastify, to show which path each request took.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import { basic, testApp } from '../fixtures/app.ts';

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}
interface Req {
  url: string;
  body: string | Buffer;
  headers?: Record<string, string>;
}

const CONNECTION_FIELDS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

function comparable(status: number, raw: Record<string, unknown>, body: string): Answer {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (CONNECTION_FIELDS.has(k) || v === undefined) continue;
    // Remaining counts differ by the one request in between; the rules and windows must not.
    headers[k] = String(v).replace(/;r=\d+;t=\d+/g, ';r=N;t=T');
  }
  let text = body;
  try {
    const json = JSON.parse(body) as Record<string, unknown>;
    for (const k of [
      'access_token',
      'refresh_token',
      'id_token',
      'request_uri',
      'device_code',
      'user_code',
      'jti',
      'iat',
      'exp',
    ])
      if (k in json) json[k] = '<varies>';
    text = JSON.stringify(json);
    if ('content-length' in headers && body !== text) headers['content-length'] = '<varies>';
  } catch {
    /* not JSON: compared as is */
  }
  return { status, headers, body: text };
}

/** Over a real connection; `chunked`: no Content-Length (Transfer-Encoding: chunked). */
function viaHttp(port: number, r: Req, chunked = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {
      'content-type': 'application/x-www-form-urlencoded',
      ...r.headers,
    };
    if (!chunked) headers['content-length'] = Buffer.byteLength(r.body);
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: r.url, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve(comparable(res.statusCode!, res.headers, body)));
    });
    req.on('error', reject);
    // Node sends a body given whole to end() with a Content-Length; written first, it is chunked.
    if (chunked) req.write(r.body);
    req.end(chunked ? undefined : r.body);
  });
}

async function viaInject(app: App, r: Req): Promise<Answer> {
  const res = await app.server.inject({
    method: 'POST',
    url: r.url,
    payload: r.body,
    remoteAddress: '127.0.0.1',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...r.headers },
  });
  return comparable(res.statusCode, res.headers, res.body);
}

describe('form lane: the same answers as the Fastify routes', () => {
  let app: App;
  let port: number;
  let throughFastify = 0;
  before(async () => {
    app = await testApp('sqlite::memory:', {
      TESSERA_RATE_LIMITS: 'token.client=24/60s',
      TESSERA_CORS_ORIGINS: 'https://spa.example',
    });
    app.server.addHook('onRequest', (_req, _reply, done) => {
      throughFastify++;
      done();
    });
    await app.server.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.server.address() as { port: number }).port;
  });
  after(async () => {
    await app?.close();
  });

  /** Sends `r` both ways; returns the lane's answer. `lane`: whether the HTTP request must bypass Fastify. */
  async function both(r: Req, lane = true, chunked = false): Promise<Answer> {
    const expected = await viaInject(app, r);
    const before = throughFastify;
    const actual = await viaHttp(port, r, chunked);
    assert.equal(throughFastify - before, lane ? 0 : 1, lane ? 'took the lane' : 'went through Fastify');
    assert.deepEqual(actual, expected, `${r.url} ${r.body}`);
    return actual;
  }

  const svc = { authorization: basic('svc') };

  it('token: success, client errors and grant errors', async () => {
    const ok = await both({ url: '/token', body: 'grant_type=client_credentials&scope=api%3Aread', headers: svc });
    assert.equal(ok.status, 200);
    assert.match(ok.headers.ratelimit!, /token\.client/);
    assert.equal(
      (
        await both({
          url: '/token',
          body: 'grant_type=client_credentials',
          headers: { authorization: basic('svc', 'wrong-secret-0123456789-abcdefghijkl') },
        })
      ).status,
      401,
    );
    assert.equal((await both({ url: '/token', body: 'scope=x', headers: { authorization: basic('rs') } })).status, 400);
    assert.equal(
      (
        await both({
          url: '/token',
          body: 'grant_type=password&username=a&password=b',
          headers: { authorization: basic('rs') },
        })
      ).status,
      400,
    );
    assert.equal(
      (
        await both({
          url: '/token',
          body: 'grant_type=client_credentials&grant_type=client_credentials',
          headers: { authorization: basic('rs') },
        })
      ).status,
      400,
    );
    assert.equal(
      (
        await both({
          url: '/token',
          body: 'grant_type=authorization_code&code=nope&redirect_uri=https%3A%2F%2Fpost.example%2Fcb&client_id=web-post&client_secret=post-secret-0123456789-abcdefghijklmnop',
        })
      ).status,
      400,
    );
    assert.equal(
      (
        await both({
          url: '/token',
          body: 'grant_type=refresh_token&refresh_token=nope',
          headers: { authorization: basic('web') },
        })
      ).status,
      400,
    );
    assert.equal(
      (
        await both({
          url: '/token',
          body: 'grant_type=client_credentials&scope=openid',
          headers: { authorization: basic('rs') },
        })
      ).status,
      400,
    );
  });

  it('token: CORS for a browser origin, the charset parameter, a percent-encoded body', async () => {
    const cors = await both({
      url: '/token',
      body: 'grant_type=refresh_token&refresh_token=x&client_id=spa',
      headers: { origin: 'https://spa.example' },
    });
    assert.equal(cors.headers['access-control-allow-origin'], 'https://spa.example');
    await both({
      url: '/token',
      body: 'grant_type=refresh_token&refresh_token=x&client_id=spa',
      headers: { origin: 'https://evil.example' },
    });
    await both({
      url: '/token',
      body: 'grant_type=client_credentials&scope=api%3Aread%20api%3Awrite',
      headers: { ...svc, 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' },
    });
  });

  it('bytes that are not UTF-8, and parameters sent twice or without a value', async () => {
    const raw = Buffer.concat([
      Buffer.from('grant_type=client_credentials&scope=api'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('read'),
    ]);
    assert.equal((await both({ url: '/token', body: raw, headers: svc })).status, 400);
    assert.equal(
      (await both({ url: '/token', body: 'grant_type=client_credentials&scope=%FF', headers: svc })).status,
      400,
    );
    assert.equal(
      (await both({ url: '/token', body: 'grant_type=client_credentials&scope=', headers: svc })).status,
      200,
    );
    assert.equal((await both({ url: '/token', body: '', headers: svc })).status, 400);
  });

  it('introspection and revocation', async () => {
    const token = JSON.parse(
      (
        await viaInject(app, {
          url: '/token',
          body: 'grant_type=client_credentials&scope=api%3Aread',
          headers: { authorization: basic('rs') },
        })
      ).body,
    ) as { error?: string };
    assert.ok(token.error);
    const issued = await app.server.inject({
      method: 'POST',
      url: '/token',
      payload: 'grant_type=client_credentials',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('rs') },
    });
    const at = (JSON.parse(issued.body) as { access_token: string }).access_token;
    const active = await both({ url: '/introspect', body: `token=${at}`, headers: { authorization: basic('rs') } });
    assert.equal((JSON.parse(active.body) as { active: boolean }).active, true);
    assert.equal(
      (
        JSON.parse(
          (await both({ url: '/introspect', body: 'token=forged', headers: { authorization: basic('rs') } })).body,
        ) as { active: boolean }
      ).active,
      false,
    );
    assert.equal((await both({ url: '/introspect', body: 'token=x' })).status, 401);
    assert.equal(
      (await both({ url: '/revoke', body: 'token=forged', headers: { authorization: basic('rs') } })).status,
      200,
    );
    assert.equal(
      (await both({ url: '/par', body: 'response_type=code', headers: { authorization: basic('web') } })).status,
      400,
    );
  });

  it('rate limits: the same 429 with Retry-After on both paths', async () => {
    let refused: Answer | undefined;
    for (let i = 0; i < 13 && !refused; i++) {
      const a = await both({
        url: '/token',
        body: 'grant_type=client_credentials',
        headers: { authorization: basic('svc') },
      });
      if (a.status === 429) refused = a;
    }
    assert.ok(refused, 'the client limit was reached');
    assert.equal(JSON.parse(refused.body).error, 'temporarily_unavailable');
    assert.ok(Number(refused.headers['retry-after']) > 0);
  });

  it('anything but a plain form POST goes through Fastify, with its answers', async () => {
    await both(
      { url: '/token?x=1', body: 'grant_type=client_credentials', headers: { authorization: basic('rs') } },
      false,
    );
    await both(
      {
        url: '/token',
        body: 'grant_type=client_credentials',
        headers: { authorization: basic('rs'), 'content-type': 'text/plain' },
      },
      false,
    );
    await both(
      {
        url: '/token',
        body: '{"grant_type":"client_credentials"}',
        headers: { authorization: basic('rs'), 'content-type': 'application/json' },
      },
      false,
    );
    await both({ url: '/token', body: 'x='.padEnd(2_000_000, 'a'), headers: { authorization: basic('rs') } }, false);
    // Chunked (no Content-Length): Fastify reads it; inject cannot send chunked, so compare the answer only.
    const before = throughFastify;
    const chunked = await viaHttp(
      port,
      { url: '/token', body: 'grant_type=client_credentials', headers: { authorization: basic('rs') } },
      true,
    );
    assert.equal(throughFastify - before, 1);
    assert.equal(chunked.status, 200, chunked.body);
  });

  it('a client that goes away before its body arrives leaves the server serving', async () => {
    await new Promise<void>((resolve) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/token',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': 100,
          authorization: basic('rs'),
        },
      });
      req.on('error', () => resolve());
      req.write('grant_type=client', () =>
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 20),
      );
    });
    assert.equal(
      (await both({ url: '/token', body: 'grant_type=client_credentials', headers: { authorization: basic('rs') } }))
        .status,
      200,
    );
  });

  it('a draining server (shutdown begun) answers through Fastify, closing each connection', async () => {
    await app.drain(0);
    const before = throughFastify;
    const res = await new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const body = 'grant_type=client_credentials';
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/token',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': body.length,
            authorization: basic('rs'),
          },
        },
        (r) => {
          r.resume();
          r.on('end', () => resolve({ status: r.statusCode!, connection: r.headers.connection }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(throughFastify - before, 1);
    assert.equal(res.status, 200);
    assert.equal(res.connection, 'close');
  });

  it('the client address behind a trusted proxy is the one Fastify reads (audit trail)', async () => {
    const proxied = await testApp('sqlite::memory:', { TESSERA_TRUST_PROXY: '127.0.0.1' });
    try {
      await proxied.server.listen({ port: 0, host: '127.0.0.1' });
      const at = (proxied.server.server.address() as { port: number }).port;
      const headers = { authorization: basic('svc'), 'x-forwarded-for': '203.0.113.7, 198.51.100.4' };
      assert.equal((await viaHttp(at, { url: '/token', body: 'grant_type=client_credentials', headers })).status, 200);
      const injected = await proxied.server.inject({
        method: 'POST',
        url: '/token',
        payload: 'grant_type=client_credentials',
        remoteAddress: '127.0.0.1',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      });
      assert.equal(injected.statusCode, 200);
      await proxied.audit.flush();
      const issued = await proxied.stores.audit.query({ type: 'token_issued' });
      assert.deepEqual(
        issued.map((e) => e.ip),
        ['198.51.100.4', '198.51.100.4'],
      );
    } finally {
      await proxied.close();
    }
  });
});

describe('form lane: TESSERA_CORS_ANY_ORIGIN gives the same CORS fields as the Fastify routes', () => {
  let app: App;
  let port: number;
  before(async () => {
    app = await testApp('sqlite::memory:', {
      TESSERA_CORS_ANY_ORIGIN: 'true',
      TESSERA_RATE_LIMITS: 'token.client=6/60s',
    });
    await app.server.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.server.address() as { port: number }).port;
  });
  after(async () => {
    await app?.close();
  });

  async function both(r: Req): Promise<Answer> {
    const expected = await viaInject(app, r);
    const actual = await viaHttp(port, r);
    assert.deepEqual(actual, expected, `${r.url} ${r.body}`);
    return actual;
  }

  it('token and revocation, answered, refused and rate limited: `*`, never credentials', async () => {
    const origin = { origin: 'https://any-browser-client.example' };
    const answers = [
      await both({
        url: '/token',
        body: 'grant_type=client_credentials',
        headers: { ...origin, authorization: basic('svc') },
      }),
      await both({ url: '/token', body: 'grant_type=refresh_token&refresh_token=x&client_id=spa', headers: origin }),
      await both({ url: '/revoke', body: 'token=forged', headers: { ...origin, authorization: basic('rs') } }),
    ];
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 400, 200],
    );
    let limited: Answer | undefined;
    for (let i = 0; i < 6 && !limited; i++) {
      const a = await both({
        url: '/token',
        body: 'grant_type=client_credentials',
        headers: { ...origin, authorization: basic('svc') },
      });
      if (a.status === 429) limited = a;
    }
    assert.ok(limited, 'the client limit was reached');
    for (const a of [...answers, limited]) {
      assert.equal(a.headers['access-control-allow-origin'], '*');
      assert.equal(a.headers['access-control-allow-credentials'], undefined);
      assert.match(a.headers['access-control-expose-headers']!, /WWW-Authenticate, DPoP-Nonce/);
    }
  });
});
