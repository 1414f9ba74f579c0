import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { LATENCY_BUCKETS, httpRequestMetrics, plainCounter } from './http-metrics.ts';

/** The same requests recorded by httpRequestMetrics and by prom-client's own Counter and Histogram. */
function both(requests: [string, string, number, number][]) {
  const ours = new Registry();
  const record = httpRequestMetrics(ours);
  const theirs = new Registry();
  const counter = new Counter({
    name: 'tessera_http_requests_total',
    help: 'HTTP requests by route, method and status class.',
    labelNames: ['route', 'method', 'status'],
    registers: [theirs],
  });
  const histogram = new Histogram({
    name: 'tessera_http_request_duration_seconds',
    help: 'HTTP request latency by route.',
    labelNames: ['route'],
    buckets: [...LATENCY_BUCKETS],
    registers: [theirs],
  });
  for (const [route, method, status, seconds] of requests) {
    record(route, method, status, seconds);
    counter.inc({ route, method, status: `${Math.floor(status / 100)}xx` });
    histogram.observe({ route }, seconds);
  }
  return { ours, theirs };
}

describe('HTTP request metrics', () => {
  const requests: [string, string, number, number][] = [
    ['/token', 'POST', 200, 0.0004],
    ['/token', 'POST', 200, 0.001],
    ['/token', 'POST', 400, 0.0031],
    ['/jwks', 'GET', 200, 0.00002],
    ['/jwks', 'GET', 304, 0.7],
    ['/jwks', 'HEAD', 200, 3.5],
    ['unmatched', 'GET', 404, 0.01],
    ['/token', 'POST', 503, 0.0025],
    ['/token', 'OPTIONS', 204, 0],
  ];

  it("exposes exactly what prom-client's Counter and Histogram expose for the same requests", async () => {
    const { ours, theirs } = both(requests);
    assert.equal(await ours.metrics(), await theirs.metrics());
    // As JSON, as it is served (prom-client leaves some fields undefined rather than absent).
    const json = async (r: Registry) => JSON.parse(JSON.stringify(await r.getMetricsAsJSON())) as unknown;
    assert.deepEqual(await json(ours), await json(theirs));
  });

  it('counts a value on a bucket bound into that bucket (le), and keeps counting after a scrape', async () => {
    const registry = new Registry();
    const record = httpRequestMetrics(registry);
    record('/jwks', 'GET', 200, 0.001);
    assert.match(
      await registry.metrics(),
      /tessera_http_request_duration_seconds_bucket\{le="0.001",route="\/jwks"\} 1\n/,
    );
    record('/jwks', 'GET', 201, 0.002);
    const text = await registry.metrics();
    assert.match(text, /tessera_http_request_duration_seconds_bucket\{le="0.001",route="\/jwks"\} 1\n/);
    assert.match(text, /tessera_http_request_duration_seconds_bucket\{le="0.0025",route="\/jwks"\} 2\n/);
    assert.match(text, /tessera_http_requests_total\{route="\/jwks",method="GET",status="2xx"\} 2\n/);
  });

  it('starts again from zero when the registry is reset', async () => {
    const { ours } = both(requests);
    ours.resetMetrics();
    assert.doesNotMatch(await ours.metrics(), /route=/);
  });
});

describe('plain counters', () => {
  it("expose exactly what prom-client's Counter exposes for the same counts, and start again after a reset", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const count = plainCounter(ours, 'tessera_tokens_issued_total', 'Token responses by grant type.', 'grant_type');
    const counter = new Counter({
      name: 'tessera_tokens_issued_total',
      help: 'Token responses by grant type.',
      labelNames: ['grant_type'],
      registers: [theirs],
    });
    for (const g of [
      'client_credentials',
      'refresh_token',
      'client_credentials',
      'authorization_code',
      'client_credentials',
    ]) {
      count(g);
      counter.inc({ grant_type: g });
    }
    assert.equal(await ours.metrics(), await theirs.metrics());
    assert.match(await ours.metrics(), /tessera_tokens_issued_total\{grant_type="client_credentials"\} 3\n/);
    const json = async (r: Registry) => JSON.parse(JSON.stringify(await r.getMetricsAsJSON())) as unknown;
    assert.deepEqual(await json(ours), await json(theirs));
    ours.resetMetrics();
    assert.doesNotMatch(await ours.metrics(), /grant_type=/);
  });
});
