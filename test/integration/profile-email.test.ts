// The profile's email address (account/profile.ts): malformed input gets a clear 400 and changes nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import { saveUser } from '../../src/admin/users.ts';
import { DatabaseSync } from 'node:sqlite';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { backends, csrfOf, form, Jar, testApp } from '../fixtures/app.ts';
import { sqliteTempUrl } from '../fixtures/db.ts';

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

describe('profile email: the mails cannot be queued', () => {
  const url = sqliteTempUrl();
  const file = url.slice('sqlite:'.length);
  let app: App;
  let db: DatabaseSync;
  before(async () => {
    app = await testApp(url, { TESSERA_RATE_LIMITING: 'false', TESSERA_EMAIL_VERIFICATION: 'after-sign-in' });
    db = new DatabaseSync(file);
  });
  after(async () => {
    db?.close();
    await app?.close();
    rmSync(dirname(file), { recursive: true, force: true });
  });
  it("the address is not changed without its verification mail and the old address's notice", async () => {
    const now = Math.floor(Date.now() / 1000);
    await saveUser(
      app.stores,
      { username: 'mover', password: PASSWORD, email: 'old@example.net', email_verified: true },
      now,
    );
    const jar = new Jar();
    const get = (u: string) => app.server.inject({ method: 'GET', url: u, headers: { cookie: jar.header() } });
    const home = await get('/account');
    jar.take(home);
    jar.take(
      await form(
        app,
        '/account/login',
        { csrf: csrfOf(home.body), username: 'mover', password: PASSWORD },
        { cookie: jar.header() },
      ),
    );
    const page = await get('/account/profile');
    jar.take(page);
    const save = () =>
      form(
        app,
        '/account/profile',
        { csrf: csrfOf(page.body), name: '', email: 'new@example.net' },
        { cookie: jar.header() },
      );
    // The database refuses every new mail.
    db.exec("CREATE TRIGGER refuse_mail BEFORE INSERT ON mail_outbox BEGIN SELECT RAISE(ABORT, 'refused'); END");
    const refused = await save();
    assert.equal(refused.statusCode, 503, refused.body);
    assert.match(refused.body, /could not be changed just now/);
    const user = (await app.stores.users.findByUsername('mover'))!;
    assert.equal(user.email, 'old@example.net', 'unchanged');
    assert.equal(user.emailVerified, true);
    db.exec('DROP TRIGGER refuse_mail');
    const saved = await save();
    assert.equal(saved.statusCode, 303, saved.body);
    assert.equal((await app.stores.users.findByUsername('mover'))!.email, 'new@example.net');
    const queued = db.prepare('SELECT template, recipient FROM mail_outbox ORDER BY created_at').all();
    assert.ok(queued.some((m) => m.template === 'verify-email' && m.recipient === 'new@example.net'));
    assert.ok(queued.some((m) => m.template === 'email-changed' && m.recipient === 'old@example.net'));
  });
});
