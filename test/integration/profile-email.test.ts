// The profile's email address (account/profile.ts): malformed input gets a clear 400 and changes nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import { saveUser } from '../../src/admin/users.ts';
import { backends, csrfOf, form, Jar, testApp } from '../fixtures/app.ts';

const PASSWORD = 'tessellated lanterns glow';
for (const backend of await backends()) {
  describe(`profile email (${backend.name})`, { skip: backend.url ? false : 'PostgreSQL unreachable' }, () => {
    let app: App;
    before(async () => {
      app = await testApp(backend.url!, { TESSERA_RATE_LIMITING: 'false' });
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });
    it('an address with a control character is refused with a clear 400, nothing changed', async () => {
      const now = Math.floor(Date.now() / 1000);
      await saveUser(
        app.stores,
        { username: 'ctl', password: PASSWORD, email: 'ctl@example.net', email_verified: true },
        now,
      );
      const jar = new Jar();
      const get = (url: string) => app.server.inject({ method: 'GET', url, headers: { cookie: jar.header() } });
      const home = await get('/account');
      jar.take(home);
      const login = await form(
        app,
        '/account/login',
        { csrf: csrfOf(home.body), username: 'ctl', password: PASSWORD },
        { cookie: jar.header() },
      );
      jar.take(login);
      const page = await get('/account/profile');
      jar.take(page);
      assert.equal(page.statusCode, 200, page.body.slice(0, 300));
      for (const email of ['a\u0000b@example.net', 'a\u0007b@example.net']) {
        const res = await form(
          app,
          '/account/profile',
          { csrf: csrfOf(page.body), name: '', email },
          { cookie: jar.header() },
        );
        assert.equal(res.statusCode, 400, `${JSON.stringify(email)}: ${res.statusCode} ${res.body.slice(0, 200)}`);
      }
      assert.equal((await app.stores.users.findByUsername('ctl'))!.email, 'ctl@example.net');
    });
  });
}
