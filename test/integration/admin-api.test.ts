/**
 * The admin API (/admin) through inject(), on SQLite and PostgreSQL: off without
 * TESSERA_ADMIN_TOKEN, Bearer authentication (RFC 6750 challenges, never a 500), the key
 * operations, the audit export and check, bad input, and the audit of every admin action.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../../src/app.ts';
import { generateSigningKey } from '../../src/protocol/tokens/keys.ts';
import { backends, testApp } from '../fixtures/app.ts';

const TOKEN = 'admin-token-0123456789-abcdefghijklmnopqrstuvwxyz';

const expectError = (res: LightMyRequestResponse, status: number, error: string, description?: RegExp) => {
  assert.equal(res.statusCode, status, res.body);
  assert.match(res.headers['content-type'] as string, /^application\/json/);
  assert.equal(res.headers['cache-control'], 'no-store');
  const body = res.json();
  assert.equal(body.error, error);
  assert.equal(typeof body.error_description, 'string');
  if (description) assert.match(body.error_description, description);
};

for (const backend of await backends()) {
  describe(`admin API (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    // One signing algorithm: the key operations below follow one key's lifecycle (key-schedule.test.ts has several).
    before(async () => {
      app = await testApp(backend.url!, { TESSERA_ADMIN_TOKEN: TOKEN, TESSERA_SIGNING_ALGS: 'ES256' });
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    const admin = (
      method: 'GET' | 'POST',
      url: string,
      opts: { payload?: string; headers?: Record<string, string> } = {},
    ) =>
      app.server.inject({
        method,
        url,
        payload: opts.payload,
        headers: { authorization: `Bearer ${TOKEN}`, ...opts.headers },
      });
    const keys = async () =>
      (await admin('GET', '/admin/keys')).json().keys as { kid: string; state: string; alg: string }[];

    it('requires the admin token: missing or wrong gives 401 with a Bearer challenge, never a 500', async () => {
      const missing = await app.server.inject({ url: '/admin/keys' });
      expectError(missing, 401, 'invalid_token');
      assert.equal(missing.headers['www-authenticate'], 'Bearer realm="tessera-admin"');
      for (const authorization of [
        `Bearer ${TOKEN}x`,
        `Bearer ${TOKEN.slice(0, -1)}`,
        'Bearer ',
        `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`,
        `Bearer ${TOKEN} extra`,
        'Bearer \u00e9\u00e9',
      ]) {
        for (const [method, url] of [
          ['GET', '/admin/keys'],
          ['POST', '/admin/keys/rotate'],
          ['POST', '/admin/keys/x/retire'],
          ['GET', '/admin/audit'],
          ['GET', '/admin/audit/verify'],
        ] as const) {
          const res = await app.server.inject({ method, url, headers: { authorization } });
          expectError(res, 401, 'invalid_token');
          assert.match(res.headers['www-authenticate'] as string, /^Bearer realm="tessera-admin"/);
        }
      }
      // A refused request changed nothing.
      assert.equal((await keys()).filter((k) => k.state === 'active').length, 1);
      assert.equal((await keys()).length, 1);
    });

    it('GET /admin/keys lists the keys with their schedule, never private material', async () => {
      const res = await admin('GET', '/admin/keys');
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['cache-control'], 'no-store');
      const [k] = res.json().keys;
      assert.deepEqual(Object.keys(k).sort(), [
        'active_from',
        'age_seconds',
        'alg',
        'created_at',
        'kid',
        'published_until',
        'rotates_at',
        'state',
      ]);
      assert.equal(k.state, 'active');
      assert.equal(Date.parse(k.rotates_at) - Date.parse(k.active_from), 90 * 86_400_000);
      const stored = (await app.stores.keys.list())[0]!;
      assert.ok(!res.body.includes(stored.privateJwe) && !/"d"/.test(res.body));
    });

    it('POST /admin/keys/rotate promotes the prepublished key, or makes one of the requested algorithm', async () => {
      const old = (await keys())[0]!.kid;
      const pre = await generateSigningKey(
        'ES256',
        app.provider.config.keyEncryptionKey,
        app.provider.now(),
        app.provider.now() + 86_400,
      );
      await app.stores.keys.prepublish(pre);
      assert.deepEqual((await keys()).find((k) => k.kid === pre.kid)!.state, 'prepublished');
      const res = await admin('POST', '/admin/keys/rotate');
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.deepEqual(res.json(), {
        kid: pre.kid,
        alg: 'ES256',
        previous: old,
        prepublished: true,
        grace_seconds: 3600 + 30 + 60,
        reload_seconds: 30,
      });
      // Only an algorithm Tessera signs with (TESSERA_SIGNING_ALGS) can be rotated.
      expectError(
        await admin('POST', '/admin/keys/rotate', {
          payload: JSON.stringify({ alg: 'EdDSA' }),
          headers: { 'content-type': 'application/json' },
        }),
        400,
        'invalid_request',
        /alg must be one of ES256 \(TESSERA_SIGNING_ALGS\)/,
      );
      const ed = await admin('POST', '/admin/keys/rotate', {
        payload: JSON.stringify({ alg: 'ES256' }),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(ed.statusCode, 200, ed.body);
      assert.equal(ed.json().alg, 'ES256');
      assert.equal(ed.json().prepublished, false);
      assert.deepEqual(
        (await keys())
          .map((k) => [k.kid, k.state])
          .filter(([, s]) => s !== 'retired')
          .sort(),
        [
          [ed.json().kid, 'active'],
          [pre.kid, 'grace'],
          [old, 'grace'],
        ].sort(),
      );
      await app.reloadKeys();
      const [first, ...rest] = (await app.server.inject({ url: '/jwks' }))
        .json()
        .keys.map((k: { kid: string }) => k.kid);
      assert.equal(first, ed.json().kid); // the signing key first, then those in grace
      assert.deepEqual(rest.sort(), [pre.kid, old].sort());
    });

    it('POST /admin/keys/rotate refuses bad bodies with 4xx, changing nothing', async () => {
      const before = await app.stores.keys.list();
      const cases: [string, Record<string, string>, number, RegExp][] = [
        ['{"alg":"HS256"}', { 'content-type': 'application/json' }, 400, /alg must be one of/],
        ['{"alg":"none"}', { 'content-type': 'application/json' }, 400, /alg must be one of/],
        ['{"alg":5}', { 'content-type': 'application/json' }, 400, /alg must be a string/],
        ['{"alg":"ES256","extra":1}', { 'content-type': 'application/json' }, 400, /Unknown field extra/],
        ['{not json', { 'content-type': 'application/json' }, 400, /not valid JSON/],
        ['[1]', { 'content-type': 'application/json' }, 400, /JSON object/],
        ['alg=ES256', { 'content-type': 'application/x-www-form-urlencoded' }, 415, /application\/json/],
      ];
      for (const [payload, headers, status, description] of cases)
        expectError(
          await admin('POST', '/admin/keys/rotate', { payload, headers }),
          status,
          'invalid_request',
          description,
        );
      const big = await admin('POST', '/admin/keys/rotate', {
        payload: JSON.stringify({ alg: 'x'.repeat(70_000) }),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(big.statusCode, 413);
      assert.deepEqual(await app.stores.keys.list(), before);
    });

    it('POST /admin/keys/{kid}/retire: grace keys leave the JWKS; unknown kid 404; the active key 400', async () => {
      const listed = await keys();
      const grace = listed.find((k) => k.state === 'grace')!;
      const active = listed.find((k) => k.state === 'active')!;
      const res = await admin('POST', `/admin/keys/${grace.kid}/retire`);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), { kid: grace.kid, state: 'retired', changed: true });
      assert.deepEqual((await admin('POST', `/admin/keys/${grace.kid}/retire`)).json(), {
        kid: grace.kid,
        state: 'retired',
        changed: false,
      });
      await app.reloadKeys();
      assert.ok(
        !(await app.server.inject({ url: '/jwks' })).json().keys.some((k: { kid: string }) => k.kid === grace.kid),
      );
      expectError(
        await admin('POST', '/admin/keys/no-such-kid/retire'),
        404,
        'invalid_request',
        /no signing key no-such-kid/,
      );
      expectError(await admin('POST', `/admin/keys/${encodeURIComponent('../../etc')}/retire`), 404, 'invalid_request');
      expectError(
        await admin('POST', `/admin/keys/${active.kid}/retire`),
        400,
        'invalid_request',
        /active key: rotate first/,
      );
      assert.equal((await keys()).find((k) => k.kid === active.kid)!.state, 'active');
    });

    it('GET /admin/audit exports the audit trail as JSON or RFC 4180 CSV, filtered; every admin action is in it with actor admin and the source address', async () => {
      await app.audit.flush();
      const res = await admin('GET', '/admin/audit?type=key_rotated');
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      const rotated = res.json() as { actor: string; ip: string; details: Record<string, unknown> }[];
      assert.deepEqual(
        rotated.map((r) => [r.actor, r.ip, r.details.trigger, r.details.prepublished]),
        [
          ['admin', '127.0.0.1', 'manual', true],
          ['admin', '127.0.0.1', 'manual', false],
        ],
      );
      const retired = (await admin('GET', '/admin/audit?type=key_retired')).json() as { actor: string; ip: string }[];
      assert.deepEqual(
        retired.map((r) => [r.actor, r.ip]),
        [['admin', '127.0.0.1']],
      ); // the no-op second retirement is not recorded
      const listedEvents = (await admin('GET', '/admin/audit?type=admin_keys_listed')).json() as unknown[];
      assert.ok(listedEvents.length >= 3);

      const all = (await admin('GET', '/admin/audit')).json() as { seq: number; at: string; type: string }[];
      const latest = (await admin('GET', '/admin/audit?limit=2')).json() as { seq: number }[];
      assert.deepEqual(
        latest.map((r) => r.seq),
        all.slice(-2).map((r) => r.seq),
      );
      assert.deepEqual(
        (
          await admin('GET', `/admin/audit?from=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`)
        ).json(),
        [],
      );
      assert.deepEqual((await admin('GET', `/admin/audit?to=${encodeURIComponent(all[0]!.at)}`)).json(), []);

      const csv = await admin('GET', '/admin/audit?format=csv&type=key_rotated');
      assert.equal(csv.statusCode, 200);
      assert.match(csv.headers['content-type'] as string, /^text\/csv; charset=utf-8/);
      const lines = csv.body.split('\r\n');
      assert.equal(lines[0], 'seq,at,type,actor,client_id,ip,outcome,details,prev_hash,hash');
      assert.equal(lines.length, 2 + 2);
      // The details as stored and hashed: canonical JSON, keys sorted.
      assert.match(
        lines[1]!,
        /,key_rotated,admin,,127\.0\.0\.1,success,"\{""alg"":""ES256"",""kid"":""[^"]+"",""prepublished"":(true|false),""previous"":""[^"]+"",""trigger"":""manual""\}",/,
      );

      await app.audit.flush();
      const exports = (await admin('GET', '/admin/audit?type=audit_exported')).json() as {
        actor: string;
        ip: string;
        details: { format: string };
      }[];
      assert.ok(exports.some((r) => r.details.format === 'csv' && r.actor === 'admin' && r.ip === '127.0.0.1'));
    });

    it('GET /admin/audit refuses bad parameters with 400 JSON', async () => {
      for (const [q, description] of [
        ['from=yesterday', /from must be an ISO 8601 time/],
        ['to=2025-13-45', /to must be an ISO 8601 time/],
        ['limit=0', /limit must be a positive integer/],
        ['limit=-1', /positive integer/],
        ['limit=1.5', /positive integer/],
        ['limit=abc', /positive integer/],
        ['format=xml', /format must be json or csv/],
        ['type=a&type=b', /type must not be repeated/],
      ] as const) {
        expectError(await admin('GET', `/admin/audit?${q}`), 400, 'invalid_request', description);
      }
    });

    it('GET /admin/audit/verify checks the hash chain', async () => {
      await app.audit.flush();
      const res = await admin('GET', '/admin/audit/verify');
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['cache-control'], 'no-store');
      const body = res.json();
      assert.equal(body.ok, true);
      assert.ok(body.checked >= 5);
      await app.audit.flush();
      const verified = (await admin('GET', '/admin/audit?type=audit_verified')).json() as {
        actor: string;
        details: { ok: boolean };
      }[];
      assert.deepEqual(
        verified.map((r) => [r.actor, r.details.ok]),
        [['admin', true]],
      );
    });
  });
}

describe('admin API without TESSERA_ADMIN_TOKEN', () => {
  it('is not served', async () => {
    const app = await testApp('sqlite::memory:');
    try {
      for (const url of ['/admin/keys', '/admin/audit']) {
        const res = await app.server.inject({ url, headers: { authorization: `Bearer ${TOKEN}` } });
        expectError(res, 404, 'invalid_request');
      }
    } finally {
      await app.close();
    }
  });
});
