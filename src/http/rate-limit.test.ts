import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { memoryRateLimits } from '../adapters/memory/rate-limits.ts';
import { parseRateLimits } from '../config/rate-limits.ts';
import type { Hit, RateLimitStore } from '../ports/rate-limits.ts';
import { createRateLimiter, rateLimitHeaders, reservationSize } from './rate-limit.ts';

// The limiter reads only `ip` and `headers` of a request.
const request = (ip: string, authorization?: string) =>
  ({ ip, headers: authorization ? { authorization } : {} }) as unknown as FastifyRequest;
const basic = (user: string) => `Basic ${Buffer.from(`${user}:secret`).toString('base64')}`;

describe('rate limiter', () => {
  const table = parseRateLimits(['token.ip=100/60s', 'token.client=2/60s', 'login.username=1/60s'], []);

  it('counts the address and a Basic client_id from headers, a form client_id or username from the body', async () => {
    const store = memoryRateLimits();
    const rejected: string[] = [];
    const limiter = createRateLimiter(table, store, { rejected: (p, k) => rejected.push(`${p}.${k}`) });
    const viaHeader = request('192.0.2.1', basic('svc'));
    assert.deepEqual(
      (await limiter.check('token', 'headers', viaHeader)).counted.map((c) => c.name),
      ['token.ip', 'token.client'],
    );
    // Already counted from the header: the body's client_id is not counted again.
    assert.equal(
      (await limiter.check('token', 'body', viaHeader, new URLSearchParams('client_id=svc'))).counted.length,
      2,
    );
    const viaBody = request('192.0.2.1');
    assert.deepEqual(
      (await limiter.check('token', 'headers', viaBody)).counted.map((c) => c.name),
      ['token.ip'],
    );
    const outcome = await limiter.check('token', 'body', viaBody, new URLSearchParams('client_id=svc'));
    assert.equal(outcome.counted.at(-1)!.count, 2);
    const third = await limiter.check('token', 'headers', request('192.0.2.2', basic('svc')));
    assert.ok(third.retryAfter! >= 59 && third.retryAfter! <= 60);
    assert.equal(third.firstRejection?.name, 'token.client');
    assert.deepEqual(rejected, ['token.client']);
    // Usernames are compared without case or surrounding spaces.
    await limiter.check('login', 'body', request('192.0.2.3'), new URLSearchParams('username=Alice'));
    assert.ok(
      (await limiter.check('login', 'body', request('192.0.2.4'), new URLSearchParams('username=%20alice%20')))
        .retryAfter,
    );
    store.close();
  });

  it('ignores malformed Basic headers and empty values rather than failing', async () => {
    const store = memoryRateLimits();
    const limiter = createRateLimiter(table, store, { rejected: () => {} });
    for (const h of [
      'Basic',
      'Basic !!!',
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
      `Basic ${Buffer.from('%E0%A4%A:x').toString('base64')}`,
      `Basic ${Buffer.from(':x').toString('base64')}`,
      'Bearer abc',
    ]) {
      assert.deepEqual(
        (await limiter.check('token', 'headers', request('192.0.2.9', h))).counted
          .map((c) => c.name)
          .filter((n) => n !== 'token.ip'),
        [],
        h,
      );
    }
    assert.deepEqual(
      (
        await limiter.check('login', 'body', request('192.0.2.9'), new URLSearchParams('username=%20%20'))
      ).counted.filter((c) => c.name === 'login.username'),
      [],
    );
    store.close();
  });

  it('decodes each Basic header on its own (nothing carried over from a longer one before it)', async () => {
    const store = memoryRateLimits();
    const limiter = createRateLimiter(table, store, { rejected: () => {} });
    const clientOf = (h: string) =>
      (limiter.check('token', 'headers', request('192.0.2.30', h)) as { counted: { name: string }[] }).counted;
    const long = `Basic ${Buffer.from(`${'a'.repeat(40)}:${'s'.repeat(40)}`).toString('base64')}`;
    assert.deepEqual(
      clientOf(long).map((c) => c.name),
      ['token.ip', 'token.client'],
    );
    // 'ab' decodes into the bytes where the long header's id was: no colon of its own, no client.
    assert.deepEqual(
      clientOf(`Basic ${Buffer.from('ab').toString('base64')}`).map((c) => c.name),
      ['token.ip'],
    );
    // Form-urlencoded ids are decoded; a header longer than the reusable buffer works too.
    const encoded = `Basic ${Buffer.from(`my+app%2F1:${'s'.repeat(1500)}`).toString('base64')}`;
    const viaEncoded = request('192.0.2.31', encoded);
    void limiter.check('token', 'headers', viaEncoded);
    const plain = request('192.0.2.31', `Basic ${Buffer.from('my app/1:x').toString('base64')}`);
    const counted = (limiter.check('token', 'headers', plain) as { counted: { name: string; count: number }[] })
      .counted;
    assert.equal(counted.find((c) => c.name === 'token.client')!.count, 2); // the same client_id both times
    store.close();
  });

  it('reports how many rules a stage added, so unchanged fields are not set again', () => {
    const store = memoryRateLimits();
    const limiter = createRateLimiter(table, store, { rejected: () => {} });
    const req = request('192.0.2.40', basic('svc'));
    const first = limiter.check('token', 'headers', req) as { added: number; counted: unknown[] };
    assert.equal(first.added, 2);
    const second = limiter.check('token', 'body', req, new URLSearchParams('grant_type=client_credentials')) as {
      added: number;
      counted: unknown[];
    };
    assert.equal(second.added, 0);
    assert.equal(second.counted.length, 2);
    const bodyOnly = request('192.0.2.41');
    void limiter.check('token', 'headers', bodyOnly);
    assert.equal(
      (limiter.check('token', 'body', bodyOnly, new URLSearchParams('client_id=svc2')) as { added: number }).added,
      1,
    );
    store.close();
  });

  it('counts in-process stores synchronously and asynchronous stores through a promise, with the same counts', async () => {
    const local = memoryRateLimits();
    const shared = memoryRateLimits();
    // A store with only the asynchronous port method, as the Redis adapter is.
    const remote = { hit: (key: string, windowMs: number) => shared.hit(key, windowMs) };
    const sync = createRateLimiter(table, local, { rejected: () => {} });
    const async = createRateLimiter(table, remote, { rejected: () => {} });
    for (let i = 1; i <= 3; i++) {
      const a = sync.check('token', 'headers', request('192.0.2.20', basic('svc')));
      assert.ok(!(a instanceof Promise));
      const b = async.check('token', 'headers', request('192.0.2.20', basic('svc')));
      assert.ok(b instanceof Promise);
      const [x, y] = [a as Awaited<typeof b>, await b];
      assert.deepEqual(
        x.counted.map((c) => [c.name, c.count]),
        [
          ['token.ip', i],
          ['token.client', i],
        ],
      );
      assert.deepEqual(
        y.counted.map((c) => [c.name, c.count]),
        x.counted.map((c) => [c.name, c.count]),
      );
      assert.equal(x.retryAfter === undefined, i <= 2);
      assert.equal(y.retryAfter === undefined, i <= 2);
    }
    // hit and hitNow count the same windows.
    assert.equal(local.hitNow('k', 60_000).count, 1);
    assert.equal((await local.hit('k', 60_000)).count, 2);
    local.close();
    shared.close();
  });

  it('asks a shared store to reserve 1% of a rule (at most 64), and takes reserved counts without a promise', async () => {
    assert.deepEqual([20, 199, 200, 1200, 6400, 999_999_999].map(reservationSize), [1, 1, 2, 12, 64, 64]);
    // A store that reserves as the port says, over in-process counts: `ahead` hits at once, the
    // first answered, the rest held for `reserved`.
    const counts = memoryRateLimits();
    const held = new Map<string, Hit[]>();
    const asked: [string, number][] = [];
    const store: RateLimitStore = {
      hit: async (key, windowMs, ahead = 1) => {
        asked.push([key.split(':')[0]!, ahead]);
        const got = Array.from({ length: ahead }, () => counts.hitNow(key, windowMs));
        held.set(key, got.slice(1));
        return got[0]!;
      },
      reserved: (key) => held.get(key)?.shift(),
    };
    const limiter = createRateLimiter(parseRateLimits(['token.ip=1000/60s', 'token.client=20000/60s'], []), store, {
      rejected: () => {},
    });
    const check = () => limiter.check('token', 'headers', request('192.0.2.30', basic('svc')));
    const pairs = (o: Awaited<ReturnType<typeof check>>) => o.counted.map((c) => [c.name, c.count]);
    const first = check();
    assert.ok(first instanceof Promise);
    assert.deepEqual(pairs(await first), [
      ['token.ip', 1],
      ['token.client', 1],
    ]);
    assert.deepEqual(asked.splice(0), [
      ['token.ip', 10],
      ['token.client', 64],
    ]);
    for (let i = 2; i <= 10; i++) {
      const o = check();
      assert.ok(!(o instanceof Promise), `check ${i} took its counts from the reservations`);
      assert.deepEqual(pairs(o as Awaited<typeof o>), [
        ['token.ip', i],
        ['token.client', i],
      ]);
    }
    // The address's reservation is spent, the client's is not: only the address is asked for,
    // and the answers keep the rules' order.
    const eleventh = check();
    assert.ok(eleventh instanceof Promise);
    assert.deepEqual(pairs(await eleventh), [
      ['token.ip', 11],
      ['token.client', 11],
    ]);
    assert.deepEqual(asked, [['token.ip', 10]]);
    counts.close();
  });

  it('writes RateLimit-Policy and RateLimit as structured-field lists', () => {
    const rule = { limit: 10, window: 60 };
    assert.deepEqual(rateLimitHeaders([]), {});
    assert.deepEqual(
      rateLimitHeaders([
        { name: 'token.ip', rule, count: 3, resetMs: 41_200 },
        { name: 'token.client', rule, count: 12, resetMs: 999 },
      ]),
      {
        'ratelimit-policy': '"token.ip";q=10;w=60, "token.client";q=10;w=60',
        ratelimit: '"token.ip";r=7;t=42, "token.client";r=0;t=1',
      },
    );
  });
});
