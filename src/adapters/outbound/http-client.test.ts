import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import type { ClientRecord } from '../../ports/clients.ts';
import {
  ClientKeys,
  ClientKeysError,
  fetchJwks as fetchJwksWith,
  MAX_JWKS_BYTES,
  MAX_KEY_CANDIDATES,
  postForm as postFormWith,
  verifyWithClientKeys,
} from '../../protocol/client-auth/client-keys.ts';
import { OutboundError } from '../../ports/outbound.ts';
import { outboundHttp } from './http-client.ts';

// The SSRF-safe client, through the protocol's functions over the port (client-keys.ts), as the
// server uses it: these tests came here with the fetcher from protocol/client-auth and
// protocol/logout, under their names there.
const outbound = outboundHttp();
const fetchJwks = (uri: string, allowLoopback: boolean, timeoutMs?: number) =>
  fetchJwksWith(outbound, uri, allowLoopback, timeoutMs);
const postForm = (uri: string, form: URLSearchParams, allowLoopback: boolean, timeoutMs: number, name: string) =>
  postFormWith(outbound, uri, form, allowLoopback, timeoutMs, name);

async function keyPair(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  return {
    kid,
    privateKey,
    jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } as JWK,
    priv: await exportJWK(privateKey),
  };
}

const reason = (r: ClientKeysError['reason']) => (err: unknown) => err instanceof ClientKeysError && err.reason === r;

describe('fetching a jwks_uri', () => {
  let server: Server;
  let base: string;
  let requests = 0;
  let body: () => string = () => '';
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  before(async () => {
    server = createServer((req, res) => {
      requests++;
      if (handler) return handler(req, res);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('fetches a key set from a loopback host with the development allowance', async () => {
    const k = await keyPair('one');
    body = () => JSON.stringify({ keys: [k.jwk] });
    handler = undefined;
    assert.deepEqual(await fetchJwks(`${base}/jwks`, true), { keys: [k.jwk] });
  });
  it('never connects to a loopback or private address without the allowance: IP literals and names resolving to one', async () => {
    handler = undefined;
    const before = requests;
    await assert.rejects(fetchJwks(`${base}/jwks`, false), reason('jwks_uri_refused'));
    // https passes the scheme rule; the name resolves to loopback, which is refused before any connection.
    const port = (server.address() as AddressInfo).port;
    await assert.rejects(fetchJwks(`https://localhost:${port}/jwks`, false), reason('jwks_uri_refused'));
    for (const uri of [
      'https://127.0.0.1/jwks',
      'https://10.1.2.3/jwks',
      'https://169.254.169.254/latest',
      'https://[::1]/jwks',
      'https://[::ffff:127.0.0.1]/jwks',
      'https://[fd00::1]/jwks',
      'https://0.0.0.0/jwks',
    ]) {
      await assert.rejects(fetchJwks(uri, false), reason('jwks_uri_refused'), uri);
      await assert.rejects(fetchJwks(uri, true), (e) => e instanceof ClientKeysError && e.reason !== undefined, uri);
    }
    await assert.rejects(fetchJwks('https://10.1.2.3/jwks', true), reason('jwks_uri_refused'));
    assert.equal(requests, before, 'the server was never reached');
  });
  it('does not follow redirects', async () => {
    handler = (_req, res) => {
      res.writeHead(302, { location: `${base}/elsewhere` });
      res.end();
    };
    await assert.rejects(
      fetchJwks(`${base}/jwks`, true),
      (e) => e instanceof ClientKeysError && e.reason === 'jwks_fetch_failed' && /redirects/.test(e.message),
    );
  });
  it('refuses documents over 64 KiB, with or without a content-length', async () => {
    const big = JSON.stringify({ keys: [], pad: 'x'.repeat(MAX_JWKS_BYTES) });
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(big) });
      res.end(big);
    };
    await assert.rejects(fetchJwks(`${base}/jwks`, true), reason('jwks_invalid'));
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(big.slice(0, 40000));
      res.end(big.slice(40000));
    };
    await assert.rejects(fetchJwks(`${base}/jwks`, true), reason('jwks_invalid'));
  });
  it('gives up after the timeout', async () => {
    handler = () => {
      /* never answers */
    };
    const t0 = Date.now();
    await assert.rejects(fetchJwks(`${base}/jwks`, true, 300), reason('jwks_fetch_failed'));
    assert.ok(Date.now() - t0 < 3000);
  });
  it('refuses non-JSON, error statuses and key sets with private keys', async () => {
    handler = (_req, res) => {
      res.writeHead(200);
      res.end('<html>');
    };
    await assert.rejects(fetchJwks(`${base}/jwks`, true), reason('jwks_invalid'));
    handler = (_req, res) => {
      res.writeHead(500);
      res.end('{}');
    };
    await assert.rejects(fetchJwks(`${base}/jwks`, true), reason('jwks_fetch_failed'));
    const k = await keyPair('p');
    handler = (_req, res) => {
      res.writeHead(200);
      res.end(JSON.stringify({ keys: [{ ...k.priv, kid: 'p' }] }));
    };
    await assert.rejects(fetchJwks(`${base}/jwks`, true), reason('jwks_invalid'));
    handler = (_req, res) => {
      res.writeHead(200);
      res.end(
        JSON.stringify({
          keys: [{ kty: 'RSA', kid: 'big', e: 'AQAB', n: Buffer.alloc(2048, 0xff).toString('base64url') }],
        }),
      );
    };
    await assert.rejects(
      fetchJwks(`${base}/jwks`, true),
      (err: unknown) => reason('jwks_invalid')(err) && /modulus/.test((err as Error).message),
    );
  });

  it('caches for the TTL, refetches at once on an unknown kid but at most once per interval', async () => {
    handler = undefined;
    const k1 = await keyPair('k1');
    const k2 = await keyPair('k2');
    let published = [k1.jwk];
    body = () => JSON.stringify({ keys: published });
    let clock = 1_000_000;
    let fetches = 0;
    const keys = new ClientKeys({
      cacheTtlSeconds: 300,
      refetchIntervalSeconds: 10,
      allowLoopback: true,
      nowMs: () => clock,
      fetch: (uri) => {
        fetches++;
        return fetchJwks(uri, true);
      },
    });
    const client = { clientId: 'c', metadata: { jwks_uri: `${base}/jwks` } } as unknown as ClientRecord;
    const header = (kid: string) => ({ alg: 'ES256', kid });
    const token = { payload: '', signature: '' };
    await keys.key(client, header('k1'), token);
    await keys.key(client, header('k1'), token);
    assert.equal(fetches, 1, 'cached');
    // The client rotates to k2: the first JWT with k2 within the interval is refused, without a fetch.
    published = [k2.jwk];
    clock += 5_000;
    await assert.rejects(keys.key(client, header('k2'), token), reason('no_matching_key'));
    assert.equal(fetches, 1);
    // After the interval, an unknown kid fetches again and finds the new key.
    clock += 6_000;
    await keys.key(client, header('k2'), token);
    assert.equal(fetches, 2);
    // A kid nobody publishes: refused, and no second fetch within the interval.
    await assert.rejects(keys.key(client, header('nope'), token), reason('no_matching_key'));
    assert.equal(fetches, 2);
    // After the TTL the set is fetched again even for a known kid.
    clock += 301_000;
    await keys.key(client, header('k2'), token);
    assert.equal(fetches, 3);
    // Concurrent callers share one fetch.
    clock += 301_000;
    await Promise.all(Array.from({ length: 10 }, () => keys.key(client, header('k2'), token)));
    assert.equal(fetches, 4);
  });
  it('inline jwks: picks by kid and alg; signs made with that key verify', async () => {
    const k = await keyPair('inline');
    const client = { clientId: 'c', metadata: { jwks: { keys: [k.jwk] } } } as unknown as ClientRecord;
    const keys = new ClientKeys({ cacheTtlSeconds: 300, refetchIntervalSeconds: 10, allowLoopback: false });
    const jwt = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'inline' }).sign(k.privateKey);
    assert.ok(
      await keys.key(
        client,
        { alg: 'ES256', kid: 'inline' },
        { payload: jwt.split('.')[1]!, signature: jwt.split('.')[2]! },
      ),
    );
    await assert.rejects(
      keys.key(client, { alg: 'ES256', kid: 'other' }, { payload: '', signature: '' }),
      reason('no_matching_key'),
    );
    await assert.rejects(
      keys.key(client, { alg: 'RS256', kid: 'inline' }, { payload: '', signature: '' }),
      reason('no_matching_key'),
    );
    await assert.rejects(
      keys.key(
        { clientId: 'x', metadata: {} } as unknown as ClientRecord,
        { alg: 'ES256' },
        { payload: '', signature: '' },
      ),
      reason('no_keys'),
    );
  });
  it('inline jwks stored before the key limits: a key set with an oversized RSA key is refused, never imported', async () => {
    const client = {
      clientId: 'old',
      metadata: {
        jwks: {
          keys: [
            { kty: 'RSA', kid: 'big', alg: 'RS256', e: 'AQAB', n: Buffer.alloc(2048, 0xff).toString('base64url') },
          ],
        },
      },
    } as unknown as ClientRecord;
    const keys = new ClientKeys({ cacheTtlSeconds: 300, refetchIntervalSeconds: 10, allowLoopback: false });
    await assert.rejects(
      keys.key(client, { alg: 'RS256', kid: 'big' }, { payload: '', signature: '' }),
      (err: unknown) => reason('jwks_invalid')(err) && /modulus/.test((err as Error).message),
    );
  });
  it(`several matching keys: at most ${MAX_KEY_CANDIDATES} are tried; with more, the JWT is refused (ambiguous_key) before any signature check`, async () => {
    const pairs = await Promise.all(Array.from({ length: MAX_KEY_CANDIDATES + 1 }, (_, i) => keyPair(`k${i}`)));
    const noKid = pairs.map((k) => {
      const { kid: _kid, ...jwk } = k.jwk;
      return jwk;
    });
    const keys = new ClientKeys({ cacheTtlSeconds: 300, refetchIntervalSeconds: 10, allowLoopback: false });
    const sign = (i: number, kid?: string) =>
      new SignJWT({ iss: 'c' })
        .setProtectedHeader({ alg: 'ES256', ...(kid ? { kid } : {}) })
        .sign(pairs[i]!.privateKey);
    const verify = (client: ClientRecord, jwt: string) =>
      verifyWithClientKeys(keys, client, jwt, { algorithms: ['ES256'] });
    // Up to the bound, each matching key is tried: the last one verifies.
    const few = {
      clientId: 'few',
      metadata: { jwks: { keys: noKid.slice(0, MAX_KEY_CANDIDATES) } },
    } as unknown as ClientRecord;
    assert.equal((await verify(few, await sign(MAX_KEY_CANDIDATES - 1))).payload.iss, 'c');
    await assert.rejects(verify(few, await sign(MAX_KEY_CANDIDATES)), reason('no_matching_key'));
    // One key more and no kid: refused, even with a good signature by one of them.
    const many = { clientId: 'many', metadata: { jwks: { keys: noKid } } } as unknown as ClientRecord;
    await assert.rejects(
      verify(many, await sign(0)),
      (err: unknown) => reason('ambiguous_key')(err) && /without kid/.test((err as Error).message),
    );
    // The same when they share one kid; a kid naming one key still works.
    const shared = {
      clientId: 'shared',
      metadata: { jwks: { keys: pairs.map((k) => ({ ...k.jwk, kid: 'same' })) } },
    } as unknown as ClientRecord;
    await assert.rejects(verify(shared, await sign(0, 'same')), reason('ambiguous_key'));
    const named = {
      clientId: 'named',
      metadata: { jwks: { keys: pairs.map((k) => k.jwk) } },
    } as unknown as ClientRecord;
    assert.equal((await verify(named, await sign(MAX_KEY_CANDIDATES, `k${MAX_KEY_CANDIDATES}`))).payload.iss, 'c');
  });
});

describe('back-channel logout delivery', () => {
  it('postForm refuses private and special addresses before connecting, and plain http off loopback', async () => {
    for (const uri of [
      'https://10.1.2.3/x',
      'https://192.168.0.1/x',
      'https://[fe80::1]/x',
      'https://169.254.169.254/x',
      'https://[::ffff:10.0.0.1]/x',
      'https://0.0.0.0/x',
    ]) {
      await assert.rejects(
        postForm(uri, new URLSearchParams({ a: 'b' }), true, 1000, 'backchannel_logout_uri'),
        (e: Error & { reason?: string }) => e.reason === 'jwks_uri_refused',
        uri,
      );
    }
    await assert.rejects(
      postForm('http://127.0.0.1:9/x', new URLSearchParams(), false, 1000, 'backchannel_logout_uri'),
      /must use https/,
    );
    await assert.rejects(
      postForm('https://localhost:9/x', new URLSearchParams(), false, 1000, 'backchannel_logout_uri'),
      (e: Error & { reason?: string }) => e.reason === 'jwks_uri_refused',
    );
  });
  it('postForm posts the form, answers the status, never follows a redirect, and gives up at the timeout', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${req.headers['content-type']} ${body}`);
        if (req.url === '/slow') return; // never answers
        if (req.url === '/redirect') {
          res.writeHead(307, { location: '/ok' }).end();
          return;
        }
        res.writeHead(200).end('x'.repeat(100_000)); // a large answer is cut off, not read whole
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      assert.equal(
        await postForm(`${base}/ok`, new URLSearchParams({ logout_token: 't' }), true, 2000, 'backchannel_logout_uri'),
        200,
      );
      assert.equal(
        await postForm(`${base}/redirect`, new URLSearchParams(), true, 2000, 'backchannel_logout_uri'),
        307,
      );
      await assert.rejects(
        postForm(`${base}/slow`, new URLSearchParams(), true, 300, 'backchannel_logout_uri'),
        /did not answer within 300 ms/,
      );
      assert.deepEqual(seen.slice(0, 2), [
        `POST /ok application/x-www-form-urlencoded logout_token=t`,
        'POST /redirect application/x-www-form-urlencoded ',
      ]);
      assert.equal(seen.filter((s) => s.startsWith('POST /ok')).length, 1, 'the redirect was not followed');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('post for webhook deliveries', () => {
  const request = (timeoutMs = 2000, allowLoopback = true) => ({
    name: 'webhook url',
    allowLoopback,
    timeoutMs,
    keepBytes: 1024,
  });
  it('sends the body and fields, keeps the first bytes of the answer, follows no redirect, gives up at the timeout', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        seen.push(`${req.url} ${req.headers['content-type']} ${req.headers['webhook-id']} ${req.headers.host} ${body}`);
        if (req.url === '/slow') return; // never answers
        if (req.url === '/redirect') {
          res.writeHead(302, { location: '/ok' }).end();
          return;
        }
        res.writeHead(200).end('y'.repeat(100_000)); // read up to a limit, then cut off
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const init = {
      headers: { 'content-type': 'application/json', 'webhook-id': 'msg_1', host: 'evil.example' },
      body: '{"a":1}',
    };
    try {
      const ok = await outbound.post(`${base}/ok`, init, request());
      assert.equal(ok.status, 200);
      assert.equal(ok.body, 'y'.repeat(1024));
      assert.equal((await outbound.post(`${base}/redirect`, init, request())).status, 302);
      await assert.rejects(outbound.post(`${base}/slow`, init, request(300)), /did not answer within 300 ms/);
      assert.equal(seen.filter((x) => x.startsWith('/ok')).length, 1, 'the redirect was not followed');
      // The caller's Host field is dropped: node names the URL's host.
      assert.equal(seen[0], `/ok application/json msg_1 ${base.slice(7)} {"a":1}`);
      // Loopback without the allowance, private addresses always: refused before connecting.
      for (const uri of [`${base}/ok`, 'https://10.1.2.3/x', 'https://[::1]/x', 'http://example.com/x'])
        await assert.rejects(outbound.post(uri, init, request(2000, false)), (e: unknown) => {
          assert.ok(e instanceof OutboundError && e.reason === 'refused', `${uri}: ${String(e)}`);
          return true;
        });
      assert.equal(seen.length, 3);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('fetch for upstream identity providers', () => {
  let server: Server;
  let base: string;
  let port: number;
  let seen: string[] = [];
  let handler: (req: IncomingMessage, res: ServerResponse, body: string) => void = (_q, res) => res.end('{}');
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        seen.push(
          `${req.method} ${req.url} ${req.headers['content-type'] ?? '-'} ${req.headers.accept ?? '-'} ${body}`,
        );
        handler(req, res, body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  const opts = (
    o: Partial<{ privateNetwork: boolean; allowLoopback: boolean; timeoutMs: number; maxBytes: number }> = {},
  ) => ({
    name: 'upstream test',
    allowLoopback: false,
    privateNetwork: true,
    timeoutMs: 2000,
    maxBytes: 4096,
    ...o,
  });
  const get = { method: 'GET' as const, headers: { accept: 'application/json' } };

  it('GETs and POSTs, resolving with the status, fields and body of any answer', async () => {
    seen = [];
    handler = (req, res, body) => {
      if (req.url === '/token') {
        res.writeHead(400, { 'content-type': 'application/json', 'x-two': ['a', 'b'] });
        res.end(JSON.stringify({ error: 'invalid_grant', got: body }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    };
    const ok = await outbound.fetch(`${base}/doc`, get, opts());
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('content-type'), 'application/json');
    assert.deepEqual(await ok.json(), { ok: true });
    const bad = await outbound.fetch(
      `${base}/token`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', host: 'evil.example', 'content-length': '1' },
        body: 'grant_type=authorization_code&code=x',
      },
      opts(),
    );
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('x-two'), 'a, b');
    assert.deepEqual(await bad.json(), { error: 'invalid_grant', got: 'grant_type=authorization_code&code=x' });
    assert.deepEqual(seen, [
      'GET /doc - application/json ',
      'POST /token application/x-www-form-urlencoded - grant_type=authorization_code&code=x',
    ]);
  });
  it('never follows a redirect: a 3xx is returned as it is', async () => {
    seen = [];
    handler = (req, res) => {
      if (req.url === '/moved') res.writeHead(302, { location: '/doc' }).end();
      else res.end('{}');
    };
    const res = await outbound.fetch(`${base}/moved`, get, opts());
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/doc');
    assert.equal(seen.length, 1);
  });
  it('refuses an answer larger than maxBytes, declared or streamed', async () => {
    const big = 'x'.repeat(5000);
    handler = (req, res) => {
      if (req.url === '/declared') res.writeHead(200, { 'content-length': big.length }).end(big);
      else {
        res.writeHead(200);
        res.write(big.slice(0, 3000));
        setTimeout(() => res.end(big.slice(3000)), 20);
      }
    };
    for (const path of ['/declared', '/streamed'])
      await assert.rejects(
        outbound.fetch(`${base}${path}`, get, opts()),
        (e: unknown) => e instanceof OutboundError && e.reason === 'invalid' && /larger than 4096/.test(e.message),
        path,
      );
  });
  it('gives up at the timeout when the upstream accepts and never answers, or stops halfway', async () => {
    handler = (req, res) => {
      if (req.url === '/half') {
        res.writeHead(200);
        res.write('{"a":');
      }
    };
    for (const path of ['/hang', '/half']) {
      const t0 = Date.now();
      await assert.rejects(
        outbound.fetch(`${base}${path}`, get, opts({ timeoutMs: 300 })),
        (e: unknown) => e instanceof OutboundError && e.reason === 'failed' && /within 300 ms/.test(e.message),
      );
      assert.ok(Date.now() - t0 < 2000, path);
    }
  });
  it('without privateNetwork: the rules of every other request (no loopback or http without the allowance)', async () => {
    handler = (_q, res) => res.end('{}');
    await assert.rejects(
      outbound.fetch(`${base}/doc`, get, opts({ privateNetwork: false })),
      (e: unknown) => e instanceof OutboundError && e.reason === 'refused',
    );
    await assert.rejects(
      outbound.fetch(`https://localhost:${port}/doc`, get, opts({ privateNetwork: false })),
      (e: unknown) => e instanceof OutboundError && e.reason === 'refused',
    );
    assert.equal(
      (await outbound.fetch(`${base}/doc`, get, opts({ privateNetwork: false, allowLoopback: true }))).status,
      200,
    );
    await assert.rejects(
      outbound.fetch('http://10.0.0.1/doc', get, opts({ privateNetwork: false, allowLoopback: true })),
      (e: unknown) => e instanceof OutboundError && e.reason === 'refused',
    );
  });
  it('privateNetwork: private and loopback addresses and http, but never link-local, unspecified or multicast', async () => {
    const named = outboundHttp({
      resolve: (host, _family, cb) =>
        cb(null, [{ address: host === 'idp.corp' ? '127.0.0.1' : '169.254.169.254', family: 4 }]),
    });
    handler = (_q, res) => res.end('{}');
    assert.equal((await named.fetch(`http://idp.corp:${port}/doc`, get, opts())).status, 200);
    seen = [];
    await assert.rejects(
      named.fetch(`http://metadata.corp:${port}/doc`, get, opts()),
      (e: unknown) => e instanceof OutboundError && e.reason === 'refused' && /169\.254\.169\.254/.test(e.message),
    );
    for (const uri of [
      'http://169.254.169.254/latest',
      'http://[fe80::1]/x',
      'http://0.0.0.0/x',
      'http://224.0.0.1/x',
      'http://[::ffff:169.254.169.254]/x',
      'http://255.255.255.255/x',
      'ftp://10.0.0.1/x',
      'http://user:pw@10.0.0.1/x',
    ])
      await assert.rejects(
        outbound.fetch(uri, get, opts()),
        (e: unknown) => e instanceof OutboundError && e.reason === 'refused',
        uri,
      );
    assert.deepEqual(seen, [], 'nothing was sent');
  });
});
