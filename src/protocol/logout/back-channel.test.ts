import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { postForm } from '../client-auth/client-keys.ts';
import { retryDelayMs } from './back-channel.ts';

describe('back-channel logout delivery', () => {
  it('postForm refuses private and special addresses before connecting, and plain http off loopback', async () => {
    for (const uri of ['https://10.1.2.3/x', 'https://192.168.0.1/x', 'https://[fe80::1]/x', 'https://169.254.169.254/x', 'https://[::ffff:10.0.0.1]/x', 'https://0.0.0.0/x']) {
      await assert.rejects(postForm(uri, new URLSearchParams({ a: 'b' }), true, 1000, 'backchannel_logout_uri'), (e: Error & { reason?: string }) => e.reason === 'jwks_uri_refused', uri);
    }
    await assert.rejects(postForm('http://127.0.0.1:9/x', new URLSearchParams(), false, 1000, 'backchannel_logout_uri'), /must use https/);
    await assert.rejects(postForm('https://localhost:9/x', new URLSearchParams(), false, 1000, 'backchannel_logout_uri'), (e: Error & { reason?: string }) => e.reason === 'jwks_uri_refused');
  });
  it('postForm posts the form, answers the status, never follows a redirect, and gives up at the timeout', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${req.headers['content-type']} ${body}`);
        if (req.url === '/slow') return; // never answers
        if (req.url === '/redirect') { res.writeHead(307, { location: '/ok' }).end(); return; }
        res.writeHead(200).end('x'.repeat(100_000)); // a large answer is cut off, not read whole
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      assert.equal(await postForm(`${base}/ok`, new URLSearchParams({ logout_token: 't' }), true, 2000, 'backchannel_logout_uri'), 200);
      assert.equal(await postForm(`${base}/redirect`, new URLSearchParams(), true, 2000, 'backchannel_logout_uri'), 307);
      await assert.rejects(postForm(`${base}/slow`, new URLSearchParams(), true, 300, 'backchannel_logout_uri'), /did not answer within 300 ms/);
      assert.deepEqual(seen.slice(0, 2), [`POST /ok application/x-www-form-urlencoded logout_token=t`, 'POST /redirect application/x-www-form-urlencoded ']);
      assert.equal(seen.filter((s) => s.startsWith('POST /ok')).length, 1, 'the redirect was not followed');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
  it('retries back off 1 s, 4 s, 16 s', () => {
    assert.deepEqual([1, 2, 3].map(retryDelayMs), [1000, 4000, 16000]);
  });
});
