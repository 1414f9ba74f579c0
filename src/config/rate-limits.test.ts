import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from './config.ts';
import { DEFAULT_RATE_LIMITS, parseRateLimits } from './rate-limits.ts';
import { configProblems, PRODUCTION_ENV } from '../../test/fixtures/config.ts';

const problems = configProblems;

describe('rate-limit settings', () => {
  it('are on by default with the default table', () => {
    const c = loadConfig({});
    assert.equal(c.rateLimiting, true);
    assert.deepEqual(c.rateLimits, DEFAULT_RATE_LIMITS);
    assert.equal(c.redisUrl, undefined);
  });

  it('change single rules, in seconds, minutes or hours, and turn rules off', () => {
    const t = parseRateLimits(
      [
        'token.client=10/30s',
        'login.ip=5/2m',
        'introspection.ip=100000/1h',
        'authorization.ip=7/15',
        'login.username=off',
      ],
      [],
    );
    assert.deepEqual(t.token.client, { limit: 10, window: 30 });
    assert.deepEqual(t.token.ip, DEFAULT_RATE_LIMITS.token.ip);
    assert.deepEqual(t.login.ip, { limit: 5, window: 120 });
    assert.deepEqual(t.introspection.ip, { limit: 100000, window: 3600 });
    assert.deepEqual(t.authorization.ip, { limit: 7, window: 15 });
    assert.equal(t.login.username, undefined);
    assert.deepEqual(loadConfig({ TESSERA_RATE_LIMITS: 'token.client=10/30s, token.ip=off' }).rateLimits.token, {
      client: { limit: 10, window: 30 },
    });
  });

  it('name every malformed entry with a clear message', () => {
    const p = problems({
      TESSERA_RATE_LIMITS:
        'tokens.ip=1/60 token.username=1/60 token.ip=0/60 token.ip=5/0 token.ip=5/2d token.client=lots login',
    });
    assert.equal(p.length, 7, p.join('\n'));
    assert.match(p[0]!, /TESSERA_RATE_LIMITS: unknown policy "tokens".*known: login, token/);
    assert.match(p[1]!, /policy "token" counts by ip or client, not "username"/);
    for (const x of p.slice(2, 6)) assert.match(x, /must be LIMIT\/WINDOW/);
    assert.match(p[6]!, /must look like policy.key=LIMIT\/WINDOW/);
    assert.ok(problems({ TESSERA_RATE_LIMITING: 'sometimes' }).some((x) => x.startsWith('TESSERA_RATE_LIMITING')));
    assert.ok(problems({ TESSERA_RATE_LIMITS: 'device.ip=1/90000' }).some((x) => x.includes('from 1 s to 24 h')));
  });

  it('validate REDIS_URL and the cluster list', () => {
    assert.equal(
      loadConfig({ REDIS_URL: 'rediss://:pw@cache.internal:6380/2' }).redisUrl,
      'rediss://:pw@cache.internal:6380/2',
    );
    const bad = problems({ REDIS_URL: 'http://:secret-pw@cache:6379' });
    assert.equal(bad.length, 1);
    assert.match(bad[0]!, /REDIS_URL: .* must be redis:\/\/host:port or rediss:\/\/host:port/);
    assert.doesNotMatch(bad[0]!, /secret-pw/, 'passwords are not echoed');
    assert.match(problems({ REDIS_URL: 'redis://a:6379,redis://b:6379' })[0]!, /needs TESSERA_REDIS_CLUSTER=true/);
    assert.equal(
      loadConfig({ REDIS_URL: 'redis://a:6379, redis://b:6379', TESSERA_REDIS_CLUSTER: 'true' }).redisCluster,
      true,
    );
    assert.ok(
      problems({ REDIS_URL: 'redis://a:6379,nope', TESSERA_REDIS_CLUSTER: 'true' }).some((x) =>
        x.startsWith('REDIS_URL'),
      ),
    );
    assert.ok(problems({ TESSERA_REDIS_TIMEOUT: '5' }).some((x) => x.includes('TESSERA_REDIS_TIMEOUT')));
  });

  it('warn in production about plain redis:// to another host', () => {
    const c = loadConfig({ ...PRODUCTION_ENV, REDIS_URL: 'redis://cache.internal:6379' });
    assert.ok(c.warnings.some((w) => w.includes('rediss://')));
  });
});
