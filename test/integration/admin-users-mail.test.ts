/**
 * The mail the admin API's user actions send, through a real SMTP server (test/fixtures/smtp.ts),
 * on SQLite and PostgreSQL: an operator's password-reset mail carries a working link (the
 * forgot-password page's) and never shows it to the operator; the refusals (no verified address,
 * disabled) send nothing; a deleted account's verified address is told.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import { saveUser } from '../../src/admin/users.ts';
import { backends, ISSUER, testApp } from '../fixtures/app.ts';
import { hasOpenssl, makePki, type TestPki } from '../fixtures/certs.ts';
import { startSmtp, type SmtpFixture } from '../fixtures/smtp.ts';

const TOKEN = 'break-glass-0123456789-abcdefghijklmnopqrstuvwxyz';
let n = 0;
const unique = (p: string) => `${p}${process.pid}m${++n}`;

for (const backend of await backends()) {
  describe(`admin API user mail (${backend.name})`, {
    skip: !hasOpenssl() ? 'openssl not installed' : backend.url ? false : 'PostgreSQL unreachable',
  }, () => {
    let pki: TestPki;
    let smtp: SmtpFixture;
    let app: App;
    before(async () => {
      pki = makePki();
      smtp = await startSmtp({ cert: pki.server });
      app = await testApp(
        backend.url!,
        { TESSERA_ADMIN_TOKEN: TOKEN, TESSERA_SMTP_URL: smtp.url, TESSERA_RATE_LIMITING: 'false' },
        { mail: { tlsCa: pki.ca.certPem } },
      );
    });
    after(async () => {
      await app?.close();
      await smtp?.stop();
      pki?.cleanup();
      await backend.drop?.();
    });

    const api = (method: string, path: string) =>
      app.server.inject({
        method: method as 'POST',
        url: `/admin/api/v1${path}`,
        headers: { authorization: `Bearer ${TOKEN}` },
      });
    const newUser = async (extra: { email_verified?: boolean; disabled?: boolean } = {}) => {
      const username = unique('m');
      const email = `${username}@example.net`;
      const r = await saveUser(app.stores, { username, email, email_verified: true, ...extra }, app.provider.now());
      return { ...r.user, email };
    };

    it('mails a working reset link to the verified address; the operator never sees it', async () => {
      const u = await newUser();
      const from = smtp.messages.length;
      const res = await api('POST', `/users/${u.id}/password-reset`);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), { user_id: u.id, sent: true });
      const mail = await smtp.waitFor((m) => m.to.includes(u.email) && /Reset/.test(m.subject), 10_000, from);
      const link = new URL(mail.links[0]!);
      assert.equal(link.origin, ISSUER);
      assert.equal(link.pathname, '/reset-password');
      assert.ok(!res.body.includes(link.searchParams.get('token')!));
      const page = await app.server.inject({ url: link.pathname + link.search });
      assert.equal(page.statusCode, 200, 'the link opens the reset form');
      assert.match(page.body, /name="password"/);
      const record = (await app.stores.audit.query({ types: ['password_reset_requested'], limit: 1000 })).at(-1);
      assert.equal(record?.actor, 'admin');
      assert.equal(record?.details.user_id, u.id);
      assert.ok(!JSON.stringify(record).includes(link.searchParams.get('token')!));
    });

    it('refuses (409) an unverified address or a disabled account, sending nothing; 404 for no user', async () => {
      const unverified = await newUser({ email_verified: false });
      const disabled = await newUser({ disabled: true });
      const from = smtp.messages.length;
      for (const u of [unverified, disabled]) {
        const res = await api('POST', `/users/${u.id}/password-reset`);
        assert.equal(res.statusCode, 409, res.body);
      }
      assert.equal((await api('POST', '/users/nobody/password-reset')).statusCode, 404);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(smtp.messages.length, from);
    });

    it('deleting a user tells their verified address', async () => {
      const u = await newUser();
      const from = smtp.messages.length;
      assert.equal((await api('DELETE', `/users/${u.id}`)).statusCode, 200);
      const mail = await smtp.waitFor((m) => m.to.includes(u.email), 10_000, from);
      assert.match(mail.subject, /deleted/i);
    });
  });
}
