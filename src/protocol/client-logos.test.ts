/**
 * protocol/client-logos.ts against a real loopback HTTP server through the real outbound client:
 * only `ready` (the consent page) fetches, `known` (the anonymous route) never does; one entry per
 * client, replaced when its logo_uri changes; the least recently used goes first, never one being
 * fetched; and a cap on fetches at once (over it: no logo this time, nothing fetched).
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { outboundHttp } from '../adapters/outbound/http-client.ts';
import { pngTile } from '../../test/fixtures/images.ts';
import { clientLogos, MAX_CONCURRENT_LOGO_FETCHES } from './client-logos.ts';

const LOGO = pngTile(16, [11, 83, 148]);

describe('client logos', () => {
  let server: Server;
  let origin = '';
  const hits: Record<string, number> = {};
  const held: ServerResponse[] = [];
  let maxAtOnce = 0;
  let atOnce = 0;
  before(async () => {
    server = createServer((req, res) => {
      const url = req.url ?? '';
      hits[url] = (hits[url] ?? 0) + 1;
      atOnce++;
      maxAtOnce = Math.max(maxAtOnce, atOnce);
      res.on('close', () => atOnce--);
      if (url.startsWith('/hold/')) held.push(res);
      else res.writeHead(200, { 'content-type': 'image/png' }).end(LOGO);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const res of held) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  const release = () => {
    for (const res of held.splice(0)) res.writeHead(200, { 'content-type': 'image/png' }).end(LOGO);
  };
  const make = (opts: { maxEntries?: number; maxConcurrent?: number } = {}) =>
    clientLogos({ outbound: outboundHttp(), allowLoopback: true, now: () => Math.floor(Date.now() / 1000), ...opts });

  it('known() never fetches; ready() fetches once and known() then serves it', async () => {
    const logos = make();
    const uri = `${origin}/a.png`;
    assert.equal(logos.known('a', uri), undefined);
    assert.equal(hits['/a.png'], undefined, 'the anonymous route starts no fetch');
    assert.equal(await logos.ready('a', uri), true);
    assert.deepEqual(logos.known('a', uri)?.bytes, LOGO);
    assert.equal(await logos.ready('a', uri), true);
    assert.equal(hits['/a.png'], 1);
    // Another logo_uri for the same client: the old logo is not served for it, and a consent replaces it.
    assert.equal(logos.known('a', `${origin}/a2.png`), undefined);
    assert.equal(await logos.ready('a', `${origin}/a2.png`), true);
    assert.equal(logos.known('a', uri), undefined, 'one entry per client: the old URL is gone');
    assert.ok(logos.known('a', `${origin}/a2.png`));
  });

  it('a hit makes an entry the most recent: the least recently used is evicted', async () => {
    const logos = make({ maxEntries: 2 });
    await logos.ready('x', `${origin}/x.png`);
    await logos.ready('y', `${origin}/y.png`);
    assert.ok(logos.known('x', `${origin}/x.png`)); // x is now more recent than y
    await logos.ready('z', `${origin}/z.png`);
    assert.ok(logos.known('x', `${origin}/x.png`), 'the recently used one stays');
    assert.equal(logos.known('y', `${origin}/y.png`), undefined, 'the least recently used went');
    assert.ok(logos.known('z', `${origin}/z.png`));
  });

  it('an entry being fetched is never evicted, so it is not fetched again', async () => {
    const logos = make({ maxEntries: 2 });
    assert.equal(await logos.ready('slow', `${origin}/hold/slow.png`, 20), false);
    await logos.ready('p', `${origin}/p.png`);
    await logos.ready('q', `${origin}/q.png`); // room made by evicting p, not the fetch under way
    assert.equal(await logos.ready('slow', `${origin}/hold/slow.png`, 20), false);
    assert.equal(hits['/hold/slow.png'], 1);
    release();
    assert.equal(await logos.ready('slow', `${origin}/hold/slow.png`), true);
    assert.equal(hits['/hold/slow.png'], 1);
    assert.equal(logos.known('p', `${origin}/p.png`), undefined);
  });

  it(`at most ${MAX_CONCURRENT_LOGO_FETCHES} fetches at once: over that, no logo and no fetch`, async () => {
    const logos = make();
    maxAtOnce = 0;
    const n = MAX_CONCURRENT_LOGO_FETCHES + 5;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => logos.ready(`c${i}`, `${origin}/hold/c${i}.png`, 50)),
    );
    assert.deepEqual(results, Array(n).fill(false));
    const fetched = Array.from({ length: n }, (_, i) => hits[`/hold/c${i}.png`] ?? 0);
    assert.equal(
      fetched.reduce((a, b) => a + b, 0),
      MAX_CONCURRENT_LOGO_FETCHES,
    );
    assert.ok(maxAtOnce <= MAX_CONCURRENT_LOGO_FETCHES, `${maxAtOnce} at once`);
    release();
    // Once they are done, a skipped client is fetched at its next consent.
    assert.equal(await logos.ready('c0', `${origin}/hold/c0.png`), true);
    await new Promise((r) => setTimeout(r, 50));
    const skipped = `c${n - 1}`;
    const p = logos.ready(skipped, `${origin}/hold/${skipped}.png`, 2000);
    while (held.length === 0) await new Promise((r) => setTimeout(r, 10));
    release();
    assert.equal(await p, true);
  });

  it("the review's thrash: 1005 anonymous logo requests over 201 clients fetch nothing", async () => {
    const logos = make();
    const before = Object.values(hits).reduce((a, b) => a + b, 0);
    for (let round = 0; round < 5; round++)
      for (let i = 0; i < 201; i++) logos.known(`client${i}`, `${origin}/victim.png`);
    assert.equal(
      Object.values(hits).reduce((a, b) => a + b, 0),
      before,
    );
  });
});
