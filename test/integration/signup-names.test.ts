// Issue 13 point 2 at sign-up: a name equal to an existing one in canonical form (RFC 8265), a
// look-alike of one (UTS #39 skeleton) or a reserved name is refused, and nothing is created.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import { saveUser } from '../../src/admin/users.ts';
import { authorizeUrl, backends, csrfOf, form, Jar, pkce, testApp } from '../fixtures/app.ts';

const PASSWORD = 'tessellated lanterns glow';

for (const backend of await backends()) {
  describe(`sign-up usernames (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    before(async () => {
      app = await testApp(backend.url!, { TESSERA_SELF_REGISTRATION: 'true' });
      // A provisioned account with a Cyrillic letter in its name, which no ASCII sign-up may imitate.
      await saveUser(app.stores, { username: '\u0440aulina', password: 'another pass phrase' }, app.provider.now());
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    async function signup(username: string) {
      const jar = new Jar();
      const start = await app.server.inject({
        url: authorizeUrl({
          client_id: 'web',
          redirect_uri: 'https://app.example/cb',
          response_type: 'code',
          scope: 'openid',
          prompt: 'create',
          code_challenge: pkce().challenge,
          code_challenge_method: 'S256',
        }),
      });
      jar.take(start);
      const ia = new URL(start.headers.location as string).pathname;
      const page = await app.server.inject({ url: ia, headers: { cookie: jar.header() } });
      return form(
        app,
        `${ia}/signup`,
        { username, email: '', name: '', password: PASSWORD, confirm: PASSWORD, csrf: csrfOf(page.body) },
        { cookie: jar.header() },
      );
    }

    it('refuses another case or width of an existing name, look-alikes and reserved names; creates nothing', async () => {
      const before = (await app.stores.users.list()).length;
      for (const [name, message] of [
        ['ALICE', /This username is taken/],
        ['\uFF41lice', /This username is taken/],
        ['a1ice', /looks too much like an existing one/],
        ['paulina', /looks too much like an existing one/],
        ['admin', /reserved/],
        ['Postmaster', /reserved/],
        ['r00t', /reserved/],
        ['localhost', /reserved/],
      ] as const) {
        const res = await signup(name);
        assert.equal(res.statusCode, 400, name);
        assert.match(res.body, message, name);
      }
      assert.equal((await app.stores.users.list()).length, before);
    });

    it('a free name signs up, stored in its canonical form', async () => {
      const res = await signup('  Grace.Hopper ');
      assert.equal(res.statusCode, 303, res.body.slice(0, 300));
      const user = (await app.stores.users.findByUsername('GRACE.HOPPER'))!;
      assert.equal(user.username, 'grace.hopper');
      assert.equal(user.origin, 'signup');
    });
  });
}
