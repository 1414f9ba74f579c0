/**
 * The real server process at its edges: what it writes to stdout (JSON log lines only, so log
 * shippers parse every line), what it says when its port is taken, and how it refuses a body or
 * header fields that are too large to a client that is still sending them (413 / 431 with
 * Connection: close, then a close in stages, RFC 9112 section 9.6, so the client reads the
 * answer instead of a connection reset).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort, startServer, type RunningServer } from '../fixtures/server.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SECRET = 'process-edge-client-secret-0123456789';

/** The parent's environment without Tessera's settings or the test runner's. */
function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (
      v === undefined ||
      k.startsWith('TESSERA_') ||
      k === 'DATABASE_URL' ||
      k === 'REDIS_URL' ||
      k.startsWith('NODE_TEST') ||
      k === 'NODE_OPTIONS' ||
      k === 'NODE_ENV'
    )
      continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** Runs src/main.ts with `env` until it exits or `whileRunning` is done (then SIGTERM); stdout and stderr apart. */
async function runMain(
  env: Record<string, string>,
  whileRunning?: (port: number) => Promise<void>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  try {
    if (whileRunning) {
      const port = Number(env.TESSERA_PORT);
      let up = false;
      for (let i = 0; i < 150 && !up && child.exitCode === null; i++) {
        try {
          up = (await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) })).ok;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert.ok(up, `the server started:\n${stderr}\n${stdout}`);
      await whileRunning(port);
      child.kill('SIGTERM');
    }
    return { code: await exited, stdout, stderr };
  } finally {
    clearTimeout(killer);
    child.kill('SIGKILL');
  }
}

describe('stdout and start-up messages', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-edge-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('stdout carries only JSON lines: warnings, the banner and the start-up text go to stderr', {
    timeout: 60_000,
  }, async () => {
    const port = await freePort();
    const { stdout, stderr } = await runMain(
      cleanEnv({
        TESSERA_PORT: String(port),
        TESSERA_HOST: '127.0.0.1',
        TESSERA_ISSUER: `http://localhost:${port}`,
        DATABASE_URL: `sqlite:${join(dir, 'json.db')}`,
        TESSERA_SEED_DEMO: 'true',
        TESSERA_LOG_LEVEL: 'info',
        TESSERA_SHUTDOWN_DRAIN_SECONDS: '0',
      }),
      async (p) => {
        for (const path of ['/health', '/ready', '/nowhere', '/.well-known/openid-configuration'])
          await (await fetch(`http://127.0.0.1:${p}${path}`)).text();
        await (
          await fetch(`http://127.0.0.1:${p}/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: 'grant_type=client_credentials',
          })
        ).text();
      },
    );
    const lines = stdout.split('\n').filter((l) => l !== '');
    assert.ok(lines.length > 5, `the server logged to stdout:\n${stdout}`);
    for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `not a JSON line on stdout: ${line}`);
    assert.ok(
      lines.some((l) => JSON.parse(l).event === 'listening'),
      'start-up is a log record too',
    );
    assert.ok(
      lines.some((l) => JSON.parse(l).event === 'config_warning'),
      'warnings are log records too',
    );
    // For the person starting it: on stderr.
    assert.match(stderr, /Tessera is running \(development mode\)/);
    assert.match(stderr, /WARNING \(development default\): TESSERA_SECRET/);
    assert.match(stderr, /demo/i, 'the demo banner');
    assert.doesNotMatch(stderr, /\x1b\[/, 'no colour codes when stderr is not a terminal');
  });

  it('a port already in use ends start-up with a message naming TESSERA_PORT, not a stack trace', {
    timeout: 60_000,
  }, async () => {
    const taken: Server = createServer();
    await new Promise<void>((res) => taken.listen(0, '127.0.0.1', res));
    const port = (taken.address() as { port: number }).port;
    try {
      const { code, stdout, stderr } = await runMain(
        cleanEnv({
          TESSERA_PORT: String(port),
          TESSERA_HOST: '127.0.0.1',
          TESSERA_ISSUER: `http://localhost:${port}`,
          DATABASE_URL: `sqlite:${join(dir, 'port.db')}`,
          TESSERA_SEED_DEMO: 'false',
          TESSERA_LOG_LEVEL: 'warn',
        }),
      );
      assert.equal(code, 1);
      assert.match(
        stderr,
        new RegExp(
          `Tessera cannot start: port ${port} on 127\\.0\\.0\\.1 is already in use \\(TESSERA_PORT=${port}\\)`,
        ),
      );
      assert.doesNotMatch(stderr + stdout, /\n\s+at /, 'no stack trace');
    } finally {
      taken.close();
    }
  });
});

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * node:http client POST of `total` bytes (in 64 KiB writes) to `path`, with a Content-Length or
 * chunked; resolves with the answer however much of the body was sent, rejects on a reset.
 */
function postLarge(
  port: number,
  path: string,
  total: number,
  chunked: boolean,
): Promise<Answer & { sent: number; errorAfter?: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(chunked ? {} : { 'content-length': String(total) }),
      },
    });
    const chunk = Buffer.alloc(65536, 'a');
    let sent = 0;
    let answered = false;
    const pump = () => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    req.on('response', (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolvePromise({ status: res.statusCode!, headers: res.headers, body, sent }));
      res.on('error', reject);
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    pump();
  });
}

/** Raw bytes over node:net: a request whose header fields never end, written until the server answers. */
function hugeHeaders(port: number): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let sent = 0;
    socket.setEncoding('utf8').on('data', (d: string) => {
      received += d;
    });
    socket.on('end', () => resolvePromise(received));
    socket.on('error', (err) => reject(Object.assign(err, { received })));
    socket.write('GET /health HTTP/1.1\r\nhost: localhost\r\n');
    const line = `x-filler: ${'b'.repeat(8000)}\r\n`;
    const pump = () => {
      while (received === '' && sent < 4_000_000) {
        sent += line.length;
        if (!socket.write(line)) return void socket.once('drain', pump);
      }
    };
    pump();
  });
}

describe('413 and 431 to a client still sending', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({
      bootstrap: {
        clients: [{ client_id: 'svc', client_secret: SECRET, grant_types: ['client_credentials'], redirect_uris: [] }],
      },
    });
  });
  after(async () => {
    await server?.stop();
  });

  for (const [what, path, chunked] of [
    ['/token with a Content-Length over the limit (the form lane hands it to Fastify on its headers)', '/token', false],
    ['/token with a chunked body that grows over the limit', '/token', true],
    ['/authorize (a Fastify page route) with a chunked body over the limit', '/authorize', true],
  ] as const) {
    it(`${what}: 413 with Connection: close, read by the client`, { timeout: 30_000 }, async () => {
      for (let i = 0; i < 5; i++) {
        const res = await postLarge(server.port, path, 8 * 1024 * 1024, chunked);
        assert.equal(res.status, 413, res.body);
        assert.equal(res.headers.connection, 'close');
        if (path === '/token')
          assert.deepEqual(JSON.parse(res.body), {
            error: 'invalid_request',
            error_description: 'The request body is too large.',
          });
        else assert.match(res.body, /The request body is too large/);
      }
      // The server is fine afterwards.
      assert.equal((await fetch(`http://127.0.0.1:${server.port}/health`)).status, 200);
    });
  }

  it('header fields that never end: 431 with Connection: close, read by the client', { timeout: 30_000 }, async () => {
    for (let i = 0; i < 5; i++) {
      const answer = await hugeHeaders(server.port);
      assert.match(answer, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
      assert.match(answer, /\r\nconnection: close\r\n/i);
      assert.match(
        answer,
        /\r\n\r\n\{"error":"invalid_request","error_description":"The request header fields are too large\."\}$/,
      );
    }
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/health`)).status, 200);
  });
});
