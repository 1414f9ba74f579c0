/**
 * Issue 13 points 2 and 28: failed and throttled sign-ins say which account was targeted (by user
 * id when it exists, never the username typed); sign-in finds the account by its canonical
 * username (RFC 8265), so "ALICE" and "ａｌｉｃｅ" are alice, and they share alice's throttle.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import { backends, loginForm, testApp } from '../fixtures/app.ts';

const PASSWORD = 'correct horse battery';

for (const backend of await backends()) {
  describe(`sign-in audit and canonical usernames (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    let aliceId: string;
    before(async () => {
      app = await testApp(backend.url!, { TESSERA_LOGIN_MAX_FAILURES: '2' });
      aliceId = (await app.stores.users.findByUsername('alice'))!.id;
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    const records = async (type: string, from: number) => {
      await app.audit.flush();
      return app.stores.audit.query({ type, from });
    };

    it('a failed sign-in of an existing account names it by user id; of an unknown one, says so; the typed name is not recorded', async () => {
      const from = Date.now();
      const submit = await loginForm(app, '203.0.113.50');
      assert.equal((await submit('Alice', 'wrong password!')).statusCode, 400);
      assert.equal((await submit('nobody-here', 'wrong password!')).statusCode, 400);
      const failed = await records('login_failed', from);
      assert.equal(failed.length, 2);
      assert.deepEqual(failed[0]!.details, { user_id: aliceId });
      assert.deepEqual(failed[1]!.details, { account: 'unknown' });
      assert.ok(!JSON.stringify(failed).includes('nobody-here'), 'the username typed is not in the audit trail');
    });

    it('a throttled sign-in names the targeted account too', async () => {
      const from = Date.now();
      const submit = await loginForm(app, '203.0.113.51');
      for (let i = 0; i < 2; i++) assert.equal((await submit('alice', 'wrong password!')).statusCode, 400);
      const blocked = await submit('ALICE', PASSWORD); // another form of the same name shares the counters
      assert.equal(blocked.statusCode, 429);
      const throttled = await records('login_throttled', from);
      assert.equal(throttled.length, 1);
      assert.deepEqual(throttled[0]!.details, { user_id: aliceId });
      assert.equal(throttled[0]!.outcome, 'failure');
    });

    it('signs in by the canonical form of the username: case and width do not matter', async () => {
      for (const [i, form] of ['ALICE', '\uFF41\uFF4C\uFF49\uFF43\uFF45'].entries()) {
        const submit = await loginForm(app, `198.51.100.${60 + i}`);
        const res = await submit(form, PASSWORD);
        assert.equal(res.statusCode, 303, `${form}: ${res.body.slice(0, 200)}`);
      }
    });
  });
}
