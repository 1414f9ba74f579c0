/**
 * Graceful shutdown: on SIGTERM the server stops accepting connections, lets the requests it has
 * already begun finish, writes the queued audit records and exits 0.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../fixtures/server.ts';
import { BOOTSTRAP, clientCredentials, introspect, ISSUER, runCli, SVC_AUTH, until } from './support.ts';
import { sqliteTempUrl } from '../fixtures/db.ts';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });

describe('graceful shutdown', () => {
  const url = sqliteTempUrl();
  let server: RunningServer | undefined;
  after(async () => {
    await server?.stop();
    rmSync(dirname(url.slice('sqlite:'.length)), { recursive: true, force: true });
  });

  it('SIGTERM under load: a drain period, then in-flight requests complete, new connections are refused, exit code 0', {
    timeout: 30_000,
  }, async () => {
    server = await startServer({
      databaseUrl: url,
      bootstrap: BOOTSTRAP,
      env: { TESSERA_ISSUER: ISSUER, TESSERA_SHUTDOWN_DRAIN_SECONDS: '1', TESSERA_RATE_LIMITING: 'false' },
    });
    const b = `http://127.0.0.1:${server.port}`;
    assert.equal((await clientCredentials(b)).status, 200);

    // A request the server has begun: headers and half of the body sent, the rest withheld.
    const body = 'grant_type=client_credentials&scope=api';
    const slow = request({
      host: '127.0.0.1',
      port: server.port,
      method: 'POST',
      path: '/token',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': body.length,
        authorization: SVC_AUTH,
      },
    });
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      slow.on('response', (res) => {
        let text = '';
        res
          .setEncoding('utf8')
          .on('data', (d: string) => {
            text += d;
          })
          .on('end', () => resolve({ status: res.statusCode!, text }));
      });
      slow.on('error', reject);
    });
    slow.flushHeaders();
    slow.write(body.slice(0, 12));

    // And a load of complete requests, sent as a load balancer would: until /ready says the
    // instance is going away.
    let running = true;
    const statuses: (number | string)[] = [];
    const load = Array.from({ length: 4 }, async () => {
      while (running) {
        try {
          statuses.push((await clientCredentials(b)).status);
        } catch (err) {
          statuses.push(String((err as Error).cause ?? err));
        }
      }
    });
    await new Promise((r) => setTimeout(r, 300));

    server.signal('SIGTERM');
    const signalledAt = Date.now();
    let ready: Response | undefined;
    await until(
      '/ready to report the drain',
      async () => {
        ready = await fetch(`${b}/ready`);
        return ready.status === 503;
      },
      5000,
    );
    assert.deepEqual(((await ready!.json()) as { checks: Record<string, string> }).checks.shutdown, 'draining');
    assert.equal(ready!.headers.get('connection'), 'close', 'no connection is kept alive while draining');
    running = false;
    await Promise.all(load);
    // Still serving during the drain period (TESSERA_SHUTDOWN_DRAIN_SECONDS=1).
    assert.equal((await clientCredentials(b)).status, 200);
    assert.equal(await refused(server.port), false);
    await until('the listener to close', () => refused(server!.port), 5000);
    assert.ok(Date.now() - signalledAt >= 900, 'the listener stayed open for the drain period');

    // The begun request is still being served: finish its body and get the token.
    slow.end(body.slice(12));
    const res = await answer;
    assert.equal(res.status, 200, res.text);
    const token = (JSON.parse(res.text) as { access_token: string }).access_token;
    assert.ok(token);
    assert.deepEqual(await server.exited(), { code: 0, signal: null });

    // Every request of the load was answered: none reset, none refused.
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
    );
    assert.ok(statuses.length > 10);

    // The audit records queued at shutdown were written, and the token issued while draining is valid.
    const audit = await runCli(['audit', 'list', '--type', 'token_issued', '--format', 'json'], url);
    assert.equal(audit.code, 0, audit.out);
    assert.equal((JSON.parse(audit.out) as unknown[]).length, statuses.length + 3);
    await server.start();
    assert.equal((await introspect(b, token)).body.active, true);
  });
});
