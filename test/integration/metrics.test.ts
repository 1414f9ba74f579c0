import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import { basic, form, testApp } from '../fixtures/app.ts';

const TOKEN = 'metrics-token-0123456789-abcdefghijklmnop';

function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

describe('Prometheus metrics', () => {
  let app: App;
  before(async () => {
    app = await testApp('sqlite::memory:', { TESSERA_METRICS_TOKEN: TOKEN });
  });
  after(async () => {
    await app?.close();
  });
  const scrape = async () => {
    const res = await app.server.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /text\/plain/);
    return res.body;
  };

  it('needs the metrics token', async () => {
    const none = await app.server.inject({ url: '/metrics' });
    assert.equal(none.statusCode, 401);
    assert.match(none.headers['www-authenticate'] as string, /^Bearer/);
    assert.equal(
      (await app.server.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong' } })).statusCode,
      401,
    );
  });

  it('counts tokens by grant, failed client authentication, revocations and HTTP traffic', async () => {
    const before = await scrape();
    const token = (
      await form(app, '/token', { grant_type: 'client_credentials' }, { authorization: basic('svc') })
    ).json().access_token;
    await form(app, '/token', { grant_type: 'client_credentials' }, { authorization: basic('svc', 'wrong') });
    await form(app, '/revoke', { token }, { authorization: basic('svc') });
    const text = await scrape();
    const delta = (series: string) => value(text, series) - value(before, series);
    assert.equal(delta('tessera_tokens_issued_total{grant_type="client_credentials"}'), 1);
    assert.equal(delta('tessera_client_auth_failures_total'), 1);
    assert.equal(delta('tessera_revocations_total{token_type="access_token"}'), 1);
    assert.equal(delta('tessera_http_requests_total{route="/token",method="POST",status="2xx"}'), 1);
    assert.equal(delta('tessera_http_requests_total{route="/token",method="POST",status="4xx"}'), 1);
    assert.ok(value(text, 'tessera_http_request_duration_seconds_count{route="/token"}') >= 2);
    assert.match(text, /tessera_signing_key_age_seconds\{kid="[^"]+",alg="ES256",state="active"\} \d+/);
    assert.doesNotMatch(text, new RegExp(token.slice(0, 20)));
  });

  it('is not served on the main listener without a configured token', async () => {
    const plain = await testApp('sqlite::memory:');
    assert.equal((await plain.server.inject({ url: '/metrics' })).statusCode, 404);
    await plain.close();
  });
});
