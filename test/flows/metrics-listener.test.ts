import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort, startServer, type RunningServer } from '../fixtures/server.ts';

describe('separate metrics listener (TESSERA_METRICS_PORT)', () => {
  let server: RunningServer;
  let port: number;
  before(async () => {
    port = await freePort();
    server = await startServer({ env: { TESSERA_METRICS_PORT: String(port) } });
  });
  after(async () => {
    await server?.stop();
  });

  it('serves /metrics on its own port, and not on the main one', async () => {
    await fetch(`${server.issuer}/jwks`);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /tessera_http_requests_total\{route="\/jwks",method="GET",status="2xx"\} [1-9]/);
    assert.match(text, /tessera_process_/);
    assert.equal((await fetch(`${server.issuer}/metrics`)).status, 404);
  });
});
