import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import { backends, loginForm as sharedLoginForm, testApp } from '../fixtures/app.ts';

const PASSWORD = 'correct horse battery';

for (const backend of await backends()) {
  describe(`failed-login throttling (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    before(async () => {
      app = await testApp(backend.url!, { TESSERA_LOGIN_MAX_FAILURES: '3', TESSERA_LOGIN_ACCOUNT_MAX_FAILURES: '6' });
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    /** A login form of alice's from `ip` (test/fixtures/app.ts loginForm). */
    const loginForm = async (ip: string) => {
      const submit = await sharedLoginForm(app, ip);
      return (password: string) => submit('alice', password);
    };

    it('makes further attempts wait once the failures of one account from one address pass the threshold, with a growing wait', async () => {
      const submit = await loginForm('203.0.113.7');
      for (let i = 0; i < 3; i++) assert.equal((await submit('wrong password')).statusCode, 400);
      const blocked = await submit(PASSWORD); // even the right password waits
      assert.equal(blocked.statusCode, 429);
      // A wait of 1 s after a failure within some second S ends when S + 1 has passed: the answer
      // says 2 in second S, 1 if the clock has moved on to S + 1 meanwhile.
      assert.ok(['1', '2'].includes(blocked.headers['retry-after'] as string), String(blocked.headers['retry-after']));
      assert.match(blocked.body, /Too many failed attempts/);
      await new Promise((r) => setTimeout(r, Number(blocked.headers['retry-after']) * 1000 + 50));
      assert.equal((await submit('wrong again')).statusCode, 400);
      const longer = await submit(PASSWORD);
      assert.equal(longer.statusCode, 429);
      assert.ok(['2', '3'].includes(longer.headers['retry-after'] as string), String(longer.headers['retry-after']));
    });

    it('does not lock the owner out from another address, and a success clears the account counters', async () => {
      const submit = await loginForm('198.51.100.20');
      const ok = await submit(PASSWORD);
      assert.equal(ok.statusCode, 303, ok.body);
      // Cleared: three more failures are needed from this address before any wait.
      const again = await loginForm('198.51.100.20');
      for (let i = 0; i < 2; i++) assert.equal((await again('nope')).statusCode, 400);
      assert.equal((await again(PASSWORD)).statusCode, 303);
    });

    it('throttles distributed guessing of one account across addresses', async () => {
      for (let i = 0; i < 6; i++) assert.equal((await (await loginForm(`192.0.2.${i + 1}`))('wrong')).statusCode, 400);
      const fresh = await loginForm('192.0.2.200');
      assert.equal((await fresh(PASSWORD)).statusCode, 429);
    });

    it('counts the addresses of one IPv6 /64 as one source', async () => {
      // Another username (failures count for unknown ones too): alice's counters are used above.
      const attempt = async (ip: string) => (await sharedLoginForm(app, ip))('mallory', 'wrong');
      for (let i = 1; i <= 3; i++) assert.equal((await attempt(`2001:db8:7:7::${i}`)).statusCode, 400);
      assert.equal(
        (await attempt('2001:db8:7:7:abcd::4')).statusCode,
        429,
        'a fourth address of the /64 is the same source',
      );
      assert.equal((await attempt('2001:db8:7:8::1')).statusCode, 400, 'the next /64 is another source');
    });
  });
}
