// TESSERA_TRACING=otlp: spans reach an OTLP/HTTP receiver started here (JSON, as a collector
// takes them), with a server span per request, its storage calls and Redis commands as children in
// its trace, an incoming `traceparent` continued, and the trace id in the request's log lines.
// With tracing off, a child process builds and uses the app and no OpenTelemetry module is loaded.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { applyBootstrap } from '../../src/admin/bootstrap.ts';
import { buildApp, loggerOptions, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { FIXTURE, ISSUER, basic } from '../fixtures/app.ts';
import { deletePrefix, sharedRedis, uniquePrefix } from '../fixtures/redis.ts';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: Record<string, unknown> }[];
}

const SERVER = 2;

/** An OTLP/HTTP traces receiver: keeps every span posted to /v1/traces, and each batch's service.name. */
async function startReceiver(): Promise<{ url: string; spans: OtlpSpan[]; services: string[]; server: Server }> {
  const spans: OtlpSpan[] = [];
  const services: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      assert.equal(req.url, '/v1/traces');
      assert.match(req.headers['content-type'] ?? '', /^application\/json/);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const rs of body.resourceSpans ?? []) {
        const name = rs.resource?.attributes?.find((a: { key: string }) => a.key === 'service.name');
        services.push(name?.value?.stringValue);
        for (const ss of rs.scopeSpans ?? []) spans.push(...ss.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, spans, services, server };
}

const attr = (span: OtlpSpan, key: string) => {
  const v = span.attributes?.find((a) => a.key === key)?.value;
  return v === undefined ? undefined : (v.stringValue ?? Number(v.intValue));
};

/** An app listening on a free port, its JSON log lines kept in `lines`. */
async function tracedApp(env: Record<string, string>): Promise<{ app: App; base: string; lines: object[] }> {
  const config = loadConfig({
    TESSERA_ENV: 'development',
    TESSERA_ISSUER: ISSUER,
    DATABASE_URL: 'sqlite::memory:',
    TESSERA_SEED_DEMO: 'false',
    TESSERA_EXTRA_SCOPES: 'api:read api:write',
    TESSERA_LOG_LEVEL: 'info',
    ...env,
  });
  const lines: object[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  const app = await buildApp(config, { logger: pino(loggerOptions(config) as object, stream) });
  await applyBootstrap(app.stores, config, FIXTURE, app.provider.now());
  await app.server.listen({ port: 0, host: '127.0.0.1' });
  return { app, base: `http://127.0.0.1:${(app.server.server.address() as AddressInfo).port}`, lines };
}

const token = (base: string, path = '/token', headers: Record<string, string> = {}) =>
  fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('svc'), ...headers },
    body: 'grant_type=client_credentials',
  });

/** The spans of the trace `traceId` that descend from `root`. */
function descendants(spans: OtlpSpan[], root: OtlpSpan): OtlpSpan[] {
  const ids = new Set([root.spanId]);
  const found: OtlpSpan[] = [];
  for (let grew = true; grew; ) {
    grew = false;
    for (const s of spans)
      if (s.traceId === root.traceId && s.parentSpanId && ids.has(s.parentSpanId) && !ids.has(s.spanId)) {
        ids.add(s.spanId);
        found.push(s);
        grew = true;
      }
  }
  return found;
}

describe('TESSERA_TRACING=otlp', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let app: App;
  let base: string;
  let lines: object[];
  const incomingTrace = randomBytes(16).toString('hex');
  const incomingParent = randomBytes(8).toString('hex');
  const quietTrace = randomBytes(16).toString('hex');

  before(async () => {
    receiver = await startReceiver();
    ({ app, base, lines } = await tracedApp({
      TESSERA_TRACING: 'otlp',
      TESSERA_OTLP_ENDPOINT: receiver.url,
      TESSERA_SERVICE_NAME: 'tessera-test',
    }));
    // The form lane (an exact path), then Fastify (a query string takes it there), then a caller's trace.
    assert.equal((await token(base)).status, 200);
    assert.equal((await token(base, '/token?via=fastify')).status, 200);
    assert.equal(
      (await token(base, '/token', { traceparent: `00-${incomingTrace}-${incomingParent}-01` })).status,
      200,
    );
    // A caller's "not sampled" flag does not keep its request out of the traces.
    assert.equal(
      (await token(base, '/token', { traceparent: `00-${quietTrace}-${randomBytes(8).toString('hex')}-00` })).status,
      200,
    );
    // Closing the app sends the spans still queued.
    await app.close();
  });
  after(() => receiver.server.close());

  const serverSpans = () => receiver.spans.filter((s) => s.kind === SERVER && s.name === 'POST /token');

  it('sends a server span per request, named by its route, with its status', () => {
    assert.equal(serverSpans().length, 4);
    for (const s of serverSpans()) {
      assert.equal(attr(s, 'http.route'), '/token');
      assert.equal(attr(s, 'http.request.method'), 'POST');
      assert.equal(attr(s, 'url.path'), '/token');
      assert.equal(attr(s, 'http.response.status_code'), 200);
      assert.match(s.traceId, /^[0-9a-f]{32}$/);
    }
    assert.ok(receiver.services.every((name) => name === 'tessera-test'));
  });

  it('makes the storage calls of a request children in its trace, through both lanes', () => {
    for (const root of serverSpans()) {
      const children = descendants(receiver.spans, root);
      const names = children.map((s) => s.name);
      assert.ok(
        names.some((n) => n.startsWith('store.clients.')),
        `storage spans under ${root.name}: ${names.join(', ')}`,
      );
      assert.ok(names.every((n) => n.startsWith('store.')));
    }
  });

  it('continues the trace named by an incoming traceparent', () => {
    const continued = serverSpans().filter((s) => s.traceId === incomingTrace);
    assert.equal(continued.length, 1);
    assert.equal(continued[0]!.parentSpanId, incomingParent);
    assert.equal(serverSpans().filter((s) => s.traceId === quietTrace).length, 1, 'traced though marked not sampled');
    // The others start traces of their own.
    assert.equal(new Set(serverSpans().map((s) => s.traceId)).size, 4);
  });

  it('puts the trace id in the log lines of the request', () => {
    const completed = lines.filter((l) => (l as { msg?: string }).msg === 'request completed') as {
      trace_id?: string;
      span_id?: string;
    }[];
    assert.equal(completed.length, 4);
    const traces = new Set(serverSpans().map((s) => s.traceId));
    for (const l of completed) {
      assert.ok(l.trace_id && traces.has(l.trace_id), `log line ${JSON.stringify(l)}`);
      assert.match(l.span_id ?? '', /^[0-9a-f]{16}$/);
    }
    assert.ok(completed.some((l) => l.trace_id === incomingTrace));
    // Lines outside a request carry none.
    const listening = lines.find((l) => /listening/.test((l as { msg?: string }).msg ?? ''));
    assert.ok(listening && !('trace_id' in listening));
  });
});

describe('TESSERA_TRACING=otlp with the collector down', () => {
  it('closes the app within a few seconds all the same, saying the spans were not sent', async () => {
    // Nothing listens there (a receiver started and stopped again).
    const gone = await startReceiver();
    await new Promise((r) => gone.server.close(r));
    const { app, base, lines } = await tracedApp({ TESSERA_TRACING: 'otlp', TESSERA_OTLP_ENDPOINT: gone.url });
    assert.equal((await token(base)).status, 200);
    const started = Date.now();
    await app.close();
    assert.ok(Date.now() - started < 5000, `closed in ${Date.now() - started} ms`);
    const warned = lines.find((l) => /^tracing_flush_/.test((l as { event?: string }).event ?? ''));
    assert.ok(warned, 'a warning that the spans were not sent');
  });
});

const redisUrl = await sharedRedis();

describe('TESSERA_TRACING=otlp with REDIS_URL', {
  skip: redisUrl ? false : 'Redis unreachable (set CI=true to require it)',
}, () => {
  const prefix = uniquePrefix('tracing');
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  before(async () => {
    receiver = await startReceiver();
    const { app, base } = await tracedApp({
      TESSERA_TRACING: 'otlp',
      TESSERA_OTLP_ENDPOINT: receiver.url,
      REDIS_URL: redisUrl!,
      TESSERA_REDIS_PREFIX: prefix,
    });
    assert.equal((await token(base)).status, 200);
    await app.close();
  });
  after(async () => {
    receiver.server.close();
    await deletePrefix(redisUrl!, prefix);
  });

  it('makes each Redis command of a request (its rate-limit counters) a child in its trace', () => {
    const root = receiver.spans.find((s) => s.kind === SERVER && s.name === 'POST /token');
    assert.ok(root);
    const redis = descendants(receiver.spans, root).filter((s) => attr(s, 'db.system.name') === 'redis');
    assert.ok(redis.length > 0, 'Redis spans under the request');
    for (const s of redis) {
      assert.equal(s.name, attr(s, 'db.operation.name'));
      assert.match(s.name, /^[A-Z]+$/);
    }
  });
});

describe('TESSERA_TRACING=off (the default)', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  // A process that records every module resolved (static and dynamic imports, and requires), builds
  // the app, serves a token request and closes; it prints the OpenTelemetry modules it saw (and
  // tracing-otel.ts), each with the module that asked for it.
  const script = `
    import { registerHooks } from 'node:module';
    const seen = [];
    registerHooks({
      resolve(specifier, context, next) {
        const r = next(specifier, context);
        if (r.url.includes('@opentelemetry') || r.url.endsWith('/tracing-otel.ts'))
          seen.push({ url: r.url, parent: context.parentURL ?? '' });
        return r;
      },
    });
    const { testApp, basic } = await import('./test/fixtures/app.ts');
    const app = await testApp('sqlite::memory:', JSON.parse(process.argv[1]));
    const res = await app.server.inject({
      method: 'POST',
      url: '/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('svc') },
      payload: 'grant_type=client_credentials',
    });
    await app.close();
    console.log(JSON.stringify({ status: res.statusCode, seen }));
  `;
  const run = async (env: Record<string, string>) => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', script, JSON.stringify(env)],
      {
        cwd: root,
      },
    );
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as { status: number; seen: { url: string; parent: string }[] };
  };

  it('loads no OpenTelemetry module (but the API prom-client requires for its exemplars)', async () => {
    const off = await run({});
    assert.equal(off.status, 200);
    // prom-client requires @opentelemetry/api itself, tracing or not (its default process metrics).
    const outside = off.seen.filter((m) => !m.parent.includes('/node_modules/@opentelemetry/'));
    assert.deepEqual(
      outside.filter((m) => !m.parent.includes('/node_modules/prom-client/')),
      [],
      'nothing of Tessera loads OpenTelemetry',
    );
    assert.deepEqual(
      off.seen.filter((m) => !m.url.includes('/node_modules/@opentelemetry/api/')),
      [],
      'no OpenTelemetry module but the API',
    );
  });

  it('(the same process with tracing on does load them: the check sees imports)', async () => {
    const on = await run({ TESSERA_TRACING: 'otlp', TESSERA_OTLP_ENDPOINT: 'http://127.0.0.1:9/v1/traces' });
    assert.equal(on.status, 200);
    assert.ok(on.seen.some((m) => m.url.includes('@opentelemetry/sdk-trace')));
    assert.ok(on.seen.some((m) => m.url.endsWith('/tracing-otel.ts')));
  });
});

describe('TESSERA_OTLP_ENDPOINT', () => {
  const endpoint = (env: Record<string, string>) =>
    loadConfig({ TESSERA_ENV: 'development', DATABASE_URL: 'sqlite::memory:', ...env }).otlpEndpoint;

  it("defaults to the OpenTelemetry SDK's variables, then to a collector on this host", () => {
    assert.equal(endpoint({}), 'http://localhost:4318/v1/traces');
    assert.equal(
      endpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example:4318/' }),
      'https://otel.example:4318/v1/traces',
    );
    assert.equal(
      endpoint({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/ingest',
      }),
      'https://traces.example/ingest',
    );
    assert.equal(
      endpoint({
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/ingest',
        TESSERA_OTLP_ENDPOINT: 'http://127.0.0.1:4318/v1/traces',
      }),
      'http://127.0.0.1:4318/v1/traces',
    );
    assert.equal(loadConfig({ TESSERA_ENV: 'development', DATABASE_URL: 'sqlite::memory:' }).tracing, 'off');
  });

  it('refuses an endpoint that is not an http or https URL', () => {
    assert.throws(
      () => endpoint({ TESSERA_OTLP_ENDPOINT: 'grpc://collector:4317' }),
      /TESSERA_OTLP_ENDPOINT: "grpc:\/\/collector:4317" must be an http or https URL/,
    );
    assert.throws(() => endpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }), /OTEL_EXPORTER_OTLP_ENDPOINT/);
  });
});
