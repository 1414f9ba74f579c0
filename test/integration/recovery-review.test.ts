// Attack cases on the password reset page found in review: the second factor there is counted with
// the sign-in's (one shared throttle per account), a reset forgets remembered devices, a link stops
// working once the address it was mailed to is no longer the account's, and a user whose only
// second factor is a passkey can pass the reset page with it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TOTP } from 'otpauth';
import type { App } from '../../src/app.ts';
import { saveUser } from '../../src/admin/users.ts';
import { verifyPassword } from '../../src/accounts/passwords.ts';
import { beginTotp, confirmTotp } from '../../src/accounts/totp.ts';
import type { UserRecord } from '../../src/ports/users.ts';
import { passkeyRegistrationOptions, registerPasskey } from '../../src/protocol/passkeys.ts';
import { requestReset } from '../../src/protocol/interaction/recovery.ts';
import { csrfOf, form, ISSUER, Jar, testApp } from '../fixtures/app.ts';
import { hasOpenssl, makePki, type TestPki } from '../fixtures/certs.ts';
import { startSmtp, type ReceivedMail, type SmtpFixture } from '../fixtures/smtp.ts';
import { softAssert, softRegister } from '../fixtures/soft-authenticator.ts';

const PASSWORD = 'tessellated lanterns glow';
const NEW_PASSWORD = 'quiet harbour at dawn';
let n = 0;
const unique = (p: string) => `${p}${process.pid}r${++n}`;

describe('password reset page: attack cases', { skip: hasOpenssl() ? false : 'openssl not installed' }, () => {
  let pki: TestPki;
  let smtp: SmtpFixture;
  let app: App;
  let clock = Math.floor(Date.now() / 1000);
  before(async () => {
    pki = makePki();
    smtp = await startSmtp({ cert: pki.server });
    app = await testApp(
      'sqlite::memory:',
      { TESSERA_SMTP_URL: smtp.url, TESSERA_RATE_LIMITING: 'false' },
      { now: () => clock, mail: { tlsCa: pki.ca.certPem } },
    );
  });
  after(async () => {
    await app?.close();
    await smtp?.stop();
    pki?.cleanup();
  });

  const get = (url: string, jar?: Jar) =>
    app.server.inject({ method: 'GET', url, headers: jar ? { cookie: jar.header() } : {} });
  const pathOf = (m: ReceivedMail) => {
    const u = new URL(m.links[0]!);
    assert.equal(u.origin, ISSUER);
    return u.pathname + u.search;
  };
  async function newUser(): Promise<UserRecord & { email: string }> {
    const username = unique('user');
    const email = `${username}@example.net`;
    await saveUser(app.stores, { username, password: PASSWORD, email, email_verified: true }, clock);
    return { ...(await app.stores.users.findByUsername(username))!, email };
  }
  async function resetLink(u: { username: string; email: string }): Promise<string> {
    const from = smtp.messages.length;
    assert.equal(await requestReset(app.provider, u.username), 1);
    return pathOf(await smtp.waitFor((m) => m.to.includes(u.email) && /Reset/.test(m.subject), 10_000, from));
  }
  async function open(link: string, jar = new Jar()) {
    const page = await get(link, jar);
    jar.take(page);
    return { page, jar, csrf: csrfOf(page.body), token: /name="token" value="([^"]+)"/.exec(page.body)?.[1] ?? '' };
  }
  async function submit(o: Awaited<ReturnType<typeof open>>, fields: Record<string, string>) {
    return form(
      app,
      '/reset-password',
      { csrf: o.csrf, token: o.token, password: NEW_PASSWORD, confirm: NEW_PASSWORD, ...fields },
      { cookie: o.jar.header() },
    );
  }
  async function withTotp(u: UserRecord) {
    const keks = app.provider.config;
    const enrol = await beginTotp(app.stores, keks, u, 'Tessera', clock);
    const totp = new TOTP({ secret: enrol.secret, digits: 6, period: 30, algorithm: 'SHA1' });
    const code = totp.generate({ timestamp: clock * 1000 });
    assert.equal(await confirmTotp(app.stores, keks, u.id, enrol.factor.id, code, clock), 'ok');
    return totp;
  }
  const unchanged = async (u: UserRecord) =>
    assert.ok(await verifyPassword(PASSWORD, (await app.stores.users.get(u.id))!.passwordHash), 'password unchanged');

  it("wrong codes on the reset page count with the sign-in's, and a throttled account's right code waits", async () => {
    const u = await newUser();
    const totp = await withTotp(u);
    clock += 60;
    const o = await open(await resetLink(u));
    const wrong = await submit(o, { code: '000000' });
    assert.equal(wrong.statusCode, 400);
    assert.equal((await app.stores.counters.get(`factor:${u.id}`, clock))?.count, 1, 'counted per account');
    // Four more failures, as a sign-in's second-factor page would count them.
    for (let i = 0; i < 4; i++) await app.stores.counters.hit(`factor:${u.id}`, clock, 900);
    const right = await submit(o, { code: totp.generate({ timestamp: clock * 1000 }) });
    assert.equal(right.statusCode, 429, right.body);
    assert.match(right.body, /Too many wrong codes/);
    assert.match(String(right.headers['retry-after']), /^[1-9]\d*$/, 'the wait, as the sign-in page says it');
    await unchanged(u);
  });

  it('wrong codes sent at once on one link: at most five are checked, then the link is ended', async () => {
    const u = await newUser();
    await withTotp(u);
    clock += 60;
    const o = await open(await resetLink(u));
    const codes = Array.from({ length: 12 }, (_, i) => String(100000 + i));
    const answers = await Promise.all(codes.map((code) => submit(o, { code })));
    assert.ok(answers.every((r) => r.statusCode === 400 || r.statusCode === 429));
    // Five are checked (wrong: the fifth ends the link); every other one waits unchecked.
    const unchecked = answers.filter((r) => /Too many wrong codes\. Try again in/.test(r.body)).length;
    assert.ok(unchecked >= codes.length - 5, `${codes.length - unchecked} codes were checked`);
    assert.equal((await get(`/reset-password?token=${o.token}`)).statusCode, 400, 'link ended');
    await unchanged(u);
  });

  it('a reset forgets the remembered devices of the account', async () => {
    const u = await newUser();
    await app.stores.signIns.rememberDevice({
      idHash: 'device-hash',
      userId: u.id,
      createdAt: clock,
      expiresAt: clock + 86400,
    });
    const o = await open(await resetLink(u));
    const done = await submit(o, {});
    assert.equal(done.statusCode, 200, done.body);
    assert.equal(await app.stores.signIns.isRememberedDevice('device-hash', u.id, clock), false);
  });

  it('a reset ends the sign-ins waiting for their second factor (their password was the old one)', async () => {
    const u = await newUser();
    const waiting = {
      idHash: `pending-${u.id}`,
      userId: u.id,
      amr: ['pwd'],
      continueTo: 'account',
      stepUp: false,
      createdAt: clock,
      expiresAt: clock + 600,
    };
    await app.stores.signIns.createPending(waiting);
    const o = await open(await resetLink(u));
    const done = await submit(o, {});
    assert.equal(done.statusCode, 200, done.body);
    assert.equal(await app.stores.signIns.getPending(waiting.idHash, clock), undefined);
  });

  it('a reset link ends when the address it was mailed to is no longer the account’s', async () => {
    const u = await newUser();
    const link = await resetLink(u);
    const current = (await app.stores.users.get(u.id))!;
    await app.stores.users.put({ ...current, email: `moved-${u.email}`, emailVerified: false, updatedAt: clock });
    assert.equal((await get(link)).statusCode, 400);
    // Nor can the form be posted with it (the form's CSRF token taken from another account's live link).
    const o = await open(await resetLink(await newUser()));
    const posted = await submit({ ...o, token: link.split('=')[1]! }, {});
    assert.equal(posted.statusCode, 400, posted.body);
    await unchanged(u);
  });

  it('a user whose only second factor is a passkey passes the reset page with it (and not with another user’s)', async () => {
    const enrol = async (user: UserRecord) => {
      const options = await passkeyRegistrationOptions(app.provider, user, 'enrolment-browser');
      const { credential, json } = softRegister(JSON.parse(JSON.stringify(options)), ISSUER);
      assert.ok((await registerPasskey(app.provider, user.id, json, 'enrolment-browser')).ok);
      return credential;
    };
    const u = await newUser();
    const credential = await enrol(u);
    const other = await enrol(await newUser());
    const o = await open(await resetLink(u));
    assert.equal(o.page.statusCode, 200);
    assert.doesNotMatch(o.page.body, /name="code"/, 'no code field: no app, no recovery codes');
    const options = JSON.parse(/data-options="([^"]+)"/.exec(o.page.body)![1]!.replaceAll('&quot;', '"'));
    assert.equal(options.allowCredentials?.[0]?.id, credential.id);
    // Nothing posted, or another user's passkey: refused, counted.
    const none = await submit(o, {});
    assert.equal(none.statusCode, 400);
    const foreign = await submit(o, { response: softAssert(other, options, ISSUER) });
    assert.equal(foreign.statusCode, 400);
    await unchanged(u);
    const ok = await submit(o, { response: softAssert(credential, options, ISSUER) });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.match(ok.body, /Password changed/);
    assert.ok(await verifyPassword(NEW_PASSWORD, (await app.stores.users.get(u.id))!.passwordHash));
    assert.equal((await app.stores.counters.get(`factor:${u.id}`, clock))?.count ?? 0, 0, 'success resets the counter');
  });
});
