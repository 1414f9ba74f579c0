// Issue 13, points 10 and 11: unauthenticated requests cannot grow the audit trail at request rate
// nor write text of their choosing into it, and the CSV export opens safely in a spreadsheet.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import { unknownClientRef } from '../../src/observability/audit-events.ts';
import { backends, basic, testApp } from '../fixtures/app.ts';

const ADMIN_TOKEN = 'admin-token-0123456789-abcdefghijklmnopqrstuvwxyz';

for (const backend of await backends()) {
  describe(`audit trail under a flood (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    before(async () => {
      app = await testApp(backend.url!, {
        TESSERA_RATE_LIMITING: 'false',
        TESSERA_REGISTRATION: 'open',
        TESSERA_ADMIN_TOKEN: ADMIN_TOKEN,
      });
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    const rows = async () => {
      await app.audit.flush();
      return app.stores.audit.query({});
    };
    const post = (payload: string, headers: Record<string, string> = {}, remoteAddress = '203.0.113.7') =>
      app.server.inject({
        method: 'POST',
        url: '/token',
        remoteAddress,
        payload,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      });

    it('2,000 failed authentications with distinct unknown client_ids add two rows, with a count and no attacker text', async () => {
      const before = (await rows()).length;
      const ids = Array.from(
        { length: 2000 },
        (_, i) => `=HYPERLINK("http://evil.example/${i}")-attacker-${i}-${'x'.repeat(200)}`,
      );
      for (const [i, id] of ids.entries()) {
        // Both ways of naming a client: Basic credentials, and client_id with client_secret_post.
        const res =
          i % 2
            ? await post('grant_type=client_credentials', {
                authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:wrong`).toString('base64')}`,
              })
            : await post(
                new URLSearchParams({
                  grant_type: 'client_credentials',
                  client_id: id,
                  client_secret: 'wrong',
                }).toString(),
              );
        assert.equal(res.statusCode, 401);
      }
      const after = await rows();
      const added = after.slice(before);
      assert.ok(
        added.length <= 4,
        `${added.length} rows added: ${added
          .map((r) => JSON.stringify(r))
          .slice(0, 5)
          .join('\n')}`,
      );
      const failed = added.filter((r) => r.type === 'client_auth_failed');
      assert.equal(
        failed.reduce((n, r) => n + (r.details.repeated === undefined ? 1 : Number(r.details.repeated)), 0),
        2000,
        'every failure is counted',
      );
      assert.ok(failed.every((r) => r.clientId === null && r.ip === '203.0.113.7'));
      assert.equal(failed[0]!.details.unknown_client, unknownClientRef(ids[0]!));
      const stored = JSON.stringify(after);
      assert.ok(
        !stored.includes('attacker') && !stored.includes('HYPERLINK') && !stored.includes('evil.example'),
        'no attacker text stored',
      );
      assert.deepEqual(await app.stores.audit.verify(), { ok: true, checked: after.length });
    });

    it('a flood from many source addresses adds at most one row per tracked source and window, never one per request', async () => {
      const before = (await rows()).length;
      for (let i = 0; i < 1500; i++) {
        const res = await post(
          'grant_type=client_credentials',
          { authorization: basic('svc', 'wrong-secret') },
          `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        );
        assert.equal(res.statusCode, 401);
      }
      const added = (await rows()).slice(before);
      // 500 sources tracked (written once each), the rest folded into one record and its count.
      assert.ok(added.length <= 502, `${added.length} rows for 1500 requests`);
      assert.equal(
        added.reduce((n, r) => n + (r.details.repeated === undefined ? 1 : Number(r.details.repeated)), 0),
        1500,
      );
      assert.ok(added.some((r) => r.details.overflow === true && r.ip === null));
      // A known client's id is kept as it is.
      assert.ok(added.some((r) => r.clientId === 'svc'));
    });

    it('refused registration management requests store no attacker-chosen client id', async () => {
      const before = (await rows()).length;
      for (let i = 0; i < 300; i++) {
        const res = await app.server.inject({
          method: 'GET',
          url: `/register/attacker-chosen-${i}`,
          remoteAddress: '198.51.100.9',
          headers: { authorization: 'Bearer not-a-token' },
        });
        assert.equal(res.statusCode, 401);
      }
      const added = (await rows()).slice(before);
      assert.ok(added.length <= 2, `${added.length} rows`);
      assert.ok(!JSON.stringify(added).includes('attacker-chosen'));
      assert.equal(added[0]!.details.unknown_client, unknownClientRef('attacker-chosen-0'));
    });

    it('the CSV export neutralises cells a spreadsheet would run as formulas (admin API)', async () => {
      for (const text of ['=1+2', '+SUM(A1)', '-2+3', '@cmd', '\tx', '\rx', 'plain']) {
        await app.stores.audit.append([
          {
            at: Date.now(),
            type: 'csv_probe',
            actor: text,
            clientId: null,
            ip: null,
            outcome: 'success',
            details: { username: text },
          },
        ]);
      }
      const res = await app.server.inject({
        url: '/admin/api/v1/audit/export?format=csv&type=csv_probe',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      assert.equal(res.statusCode, 200);
      const actors = res.body
        .split('\r\n')
        .slice(1, -1)
        .map((line) => line.split(',')[3]);
      assert.deepEqual(actors.slice(0, 4), [`"'=1+2"`, `"'+SUM(A1)"`, `"'-2+3"`, `"'@cmd"`]);
      assert.ok(res.body.includes(`"'\tx"`) && res.body.includes(`"'\rx"`));
      assert.ok(res.body.includes(',plain,'));
      // No cell starts with a formula character once the CSV quoting is removed.
      for (const line of res.body.split('\r\n').slice(1, -1)) assert.doesNotMatch(line, /(^|,)"?[=+\-@]/);
    });
  });
}
