// Email verification, forgot password and security notifications over the real server (inject)
// and a real SMTP server (test/fixtures/smtp.ts): each link is read from the mail as received.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { TOTP } from 'otpauth';
import type { App } from '../../src/app.ts';
import { saveUser } from '../../src/admin/users.ts';
import { verifyPassword } from '../../src/accounts/passwords.ts';
import { beginTotp, confirmTotp } from '../../src/accounts/totp.ts';
import { regenerateRecoveryCodes } from '../../src/accounts/recovery-codes.ts';
import { emailVerificationRequired } from '../../src/protocol/interaction/email.ts';
import { invalidateResetLinks, requestReset } from '../../src/protocol/interaction/recovery.ts';
import {
  authorizeUrl,
  authorizeWithLogin,
  backends,
  basic,
  csrfOf,
  form,
  ISSUER,
  Jar,
  pkce,
  testApp,
} from '../fixtures/app.ts';
import { hasOpenssl, makePki, type TestPki } from '../fixtures/certs.ts';
import { startSmtp, type ReceivedMail, type SmtpFixture } from '../fixtures/smtp.ts';

const PASSWORD = 'tessellated lanterns glow';
const NEW_PASSWORD = 'quiet harbour at dawn';
let n = 0;
const unique = (p: string) => `${p}${process.pid}x${++n}`;

for (const backend of await backends()) {
  describe(`email verification, password reset, notifications (${backend.name})`, {
    skip: !hasOpenssl()
      ? 'openssl not installed'
      : backend.url
        ? false
        : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let pki: TestPki;
    let smtp: SmtpFixture;
    let app: App;
    let clock = Math.floor(Date.now() / 1000);
    before(async () => {
      pki = makePki();
      smtp = await startSmtp({ cert: pki.server });
      app = await testApp(
        backend.url!,
        { TESSERA_SMTP_URL: smtp.url, TESSERA_SELF_REGISTRATION: 'true', TESSERA_RATE_LIMITING: 'false' },
        { now: () => clock, mail: { tlsCa: pki.ca.certPem } },
      );
    });
    after(async () => {
      await app?.close();
      await smtp?.stop();
      pki?.cleanup();
      await backend.drop?.();
    });

    const get = (url: string, jar?: Jar) =>
      app.server.inject({ method: 'GET', url, headers: jar ? { cookie: jar.header() } : {} });
    const mailTo = (to: string, subject: RegExp, from = 0) =>
      smtp.waitFor((m) => m.to.includes(to) && subject.test(m.subject), 10_000, from);
    const pathOf = (m: ReceivedMail) => {
      const u = new URL(m.links[0]!);
      assert.equal(u.origin, ISSUER);
      return u.pathname + u.search;
    };
    async function newUser(opts: { verified?: boolean } = {}) {
      const username = unique('user');
      const email = `${username}@example.net`;
      await saveUser(app.stores, { username, password: PASSWORD, email, email_verified: opts.verified ?? true }, clock);
      return { ...(await app.stores.users.findByUsername(username))!, email };
    }
    /** Opens a mail page, then posts its form (CSRF from the page, cookies kept). */
    async function openAndPost(path: string, fields: Record<string, string>, jar = new Jar()) {
      const page = await get(path, jar);
      jar.take(page);
      assert.equal(page.statusCode, 200, page.body);
      const action = new URL(/<form method="post" action="([^"]+)"/.exec(page.body)![1]!.replace(/&amp;/g, '&'))
        .pathname;
      const token = /name="token" value="([^"]+)"/.exec(page.body)?.[1];
      const res = await form(
        app,
        action,
        { csrf: csrfOf(page.body), ...(token ? { token } : {}), ...fields },
        { cookie: jar.header() },
      );
      jar.take(res);
      return { page, res, jar };
    }
    const forgot = (name: string) => openAndPost('/forgot-password', { username: name });

    it('sign-up mails a link; opening it only shows a button; the button verifies the address, once', async () => {
      const username = unique('new');
      const email = `${username}@example.org`;
      const jar = new Jar();
      const { challenge } = pkce();
      const start = await get(
        authorizeUrl({
          client_id: 'web',
          redirect_uri: 'https://app.example/cb',
          response_type: 'code',
          scope: 'openid',
          prompt: 'create',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }),
        jar,
      );
      jar.take(start);
      const ia = new URL(start.headers.location as string).pathname;
      const page = await get(ia, jar);
      const res = await form(
        app,
        `${ia}/signup`,
        { username, email, password: PASSWORD, confirm: PASSWORD, csrf: csrfOf(page.body) },
        { cookie: jar.header() },
      );
      assert.equal(res.statusCode, 303, res.body);
      const mail = await mailTo(email, /Confirm your email address/);
      assert.match(mail.text, new RegExp(`Hello ${username},`));
      const link = pathOf(mail);
      assert.match(link, /^\/verify-email\?token=[A-Za-z0-9_-]{43}$/);
      const user = () => app.stores.users.findByUsername(username);
      // A link scanner's GET confirms nothing.
      assert.equal((await get(link)).statusCode, 200);
      assert.equal((await get(link)).statusCode, 200);
      assert.equal((await user())!.emailVerified, false);
      const { page: shown, res: done } = await openAndPost(link, {});
      assert.match(shown.body, /<h1>Confirm your email address<\/h1>/);
      assert.equal(done.statusCode, 200, done.body);
      assert.match(done.body, /Email address confirmed/);
      assert.equal((await user())!.emailVerified, true);
      // Used: refused the second time.
      assert.equal((await get(link)).statusCode, 400);
      // A form without its CSRF token changes nothing.
      const forged = await form(app, '/verify-email', { token: link.split('=')[1]!, csrf: 'x' });
      assert.equal(forged.statusCode, 403);
    });

    it('forgot password: mail, link, new password; every session ends, every grant is revoked, a notice is mailed', async () => {
      const u = await newUser();
      // A signed-in browser with tokens.
      const jar = new Jar();
      const { verifier, challenge } = pkce();
      const back = await authorizeWithLogin(
        app,
        jar,
        {
          client_id: 'web',
          redirect_uri: 'https://app.example/cb',
          response_type: 'code',
          scope: 'openid offline_access',
          prompt: 'consent',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        },
        { username: u.username, password: PASSWORD },
      );
      const tokens = await form(
        app,
        '/token',
        {
          grant_type: 'authorization_code',
          code: back.searchParams.get('code')!,
          code_verifier: verifier,
          redirect_uri: 'https://app.example/cb',
        },
        { authorization: basic('web') },
      );
      assert.equal(tokens.statusCode, 200, tokens.body);
      const refresh = tokens.json().refresh_token as string;
      assert.match((await get('/account', jar)).body, new RegExp(u.username));
      // A browser remembered after a second factor (TESSERA_MFA_REMEMBER_DEVICE).
      await app.stores.signIns.rememberDevice({
        idHash: `remembered-${u.id}`,
        userId: u.id,
        createdAt: clock,
        expiresAt: clock + 86400,
      });
      assert.equal(await app.stores.signIns.isRememberedDevice(`remembered-${u.id}`, u.id, clock), true);

      const from = smtp.messages.length;
      const { res } = await forgot(u.username);
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /Check your mail/);
      const link = pathOf(await mailTo(u.email, /Reset your Tessera password/, from));
      assert.match(link, /^\/reset-password\?token=/);
      // The policy applies; mismatched confirmation refused; nothing used yet.
      const short = await openAndPost(link, { password: 'short', confirm: 'short' });
      assert.equal(short.res.statusCode, 400);
      assert.doesNotMatch(short.page.body, /name="code"/);
      const differ = await openAndPost(link, { password: NEW_PASSWORD, confirm: `${NEW_PASSWORD}!` });
      assert.equal(differ.res.statusCode, 400);
      assert.match(differ.res.body, /differ/);
      const done = await openAndPost(link, { password: NEW_PASSWORD, confirm: NEW_PASSWORD });
      assert.equal(done.res.statusCode, 200, done.res.body);
      assert.match(done.res.body, /Password changed/);

      const after = (await app.stores.users.get(u.id))!;
      assert.ok(await verifyPassword(NEW_PASSWORD, after.passwordHash));
      assert.equal(await app.stores.sessions.deleteByUser(u.id), 0, 'no session left');
      assert.equal(await app.stores.signIns.isRememberedDevice(`remembered-${u.id}`, u.id, clock), false, 'forgotten');
      assert.doesNotMatch((await get('/account', jar)).body, new RegExp(`>${u.username}<`));
      const refreshed = await form(
        app,
        '/token',
        { grant_type: 'refresh_token', refresh_token: refresh },
        { authorization: basic('web') },
      );
      assert.equal(refreshed.statusCode, 400);
      assert.equal(refreshed.json().error, 'invalid_grant');
      await mailTo(u.email, /password was changed/, from);
      // The link was used: refused from now on, and the password stays.
      assert.equal((await get(link)).statusCode, 400);
      const token = link.split('=')[1]!;
      const jar2 = new Jar();
      const formPage = await get('/forgot-password', jar2);
      jar2.take(formPage);
      const replay = await form(
        app,
        '/reset-password',
        { token, password: PASSWORD, confirm: PASSWORD, csrf: 'forged' },
        { cookie: jar2.header() },
      );
      assert.equal(replay.statusCode, 403);
      assert.ok(await verifyPassword(NEW_PASSWORD, (await app.stores.users.get(u.id))!.passwordHash));
    });

    it('a reset link expires, a newer link ends older ones, a sign-in ends them all', async () => {
      const u = await newUser();
      const from = smtp.messages.length;
      assert.equal(await requestReset(app.provider, u.username), 1);
      const first = pathOf(await mailTo(u.email, /Reset/, from));
      assert.equal((await get(first)).statusCode, 200);
      const from2 = smtp.messages.length;
      assert.equal(await requestReset(app.provider, u.email.toUpperCase()), 1, 'by address, in any case');
      const second = pathOf(await mailTo(u.email, /Reset/, from2));
      assert.equal((await get(first)).statusCode, 400, 'replaced by the newer link');
      assert.equal((await get(second)).statusCode, 200);
      clock += 901;
      assert.equal((await get(second)).statusCode, 400, 'expired after 15 minutes');
      const from3 = smtp.messages.length;
      assert.equal(await requestReset(app.provider, u.username), 1);
      const third = pathOf(await mailTo(u.email, /Reset/, from3));
      await invalidateResetLinks(app.provider, u.id);
      assert.equal((await get(third)).statusCode, 400, 'a sign-in ends it');
      // At most three mails per account within an idle hour.
      assert.equal(await requestReset(app.provider, u.username), 0);
    });

    it('unknown account, unverified address: the same answer in about the same time, and no mail', async () => {
      const known = await newUser();
      const unverified = await newUser({ verified: false });
      const strip = (r: LightMyRequestResponse) => r.body.replace(/(value|nonce)="[^"]+"/g, '');
      const time = async (name: string) => {
        const t = performance.now();
        const { res } = await forgot(name);
        return { res, ms: performance.now() - t };
      };
      const a = await time(known.username);
      const b = await time(unique('nobody'));
      const c = await time(unverified.email);
      assert.equal(a.res.statusCode, 200);
      assert.equal(b.res.statusCode, a.res.statusCode);
      assert.equal(c.res.statusCode, a.res.statusCode);
      assert.equal(strip(b.res), strip(a.res));
      assert.equal(strip(c.res), strip(a.res));
      // Timing: the account lookup and the mail happen after the answer.
      const samples = { known: [] as number[], unknown: [] as number[] };
      for (let i = 0; i < 8; i++) {
        samples.known.push((await time(known.email)).ms);
        samples.unknown.push((await time(`${unique('none')}@example.net`)).ms);
      }
      const median = (xs: number[]) => xs.sort((x, y) => x - y)[xs.length >> 1]!;
      const diff = Math.abs(median(samples.known) - median(samples.unknown));
      assert.ok(diff < 40, `medians differ by ${diff} ms`);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(smtp.messages.filter((m) => m.to.includes(unverified.email)).length, 0);
      assert.ok(smtp.messages.filter((m) => m.to.includes(known.email)).length <= 3, 'per-account limit');
    });

    it('an account with a second factor must pass it after the link: TOTP or a recovery code', async () => {
      const u = await newUser();
      const keks = app.provider.config;
      const enrol = await beginTotp(app.stores, keks, u, 'Tessera', clock);
      const totp = new TOTP({ secret: enrol.secret, digits: 6, period: 30, algorithm: 'SHA1' });
      assert.equal(
        await confirmTotp(app.stores, keks, u.id, enrol.factor.id, totp.generate({ timestamp: clock * 1000 }), clock),
        'ok',
      );
      const codes = await regenerateRecoveryCodes(app.stores, keks, u.id, clock);
      const from = smtp.messages.length;
      await requestReset(app.provider, u.username);
      const link = pathOf(await mailTo(u.email, /Reset/, from));
      const missing = await openAndPost(link, { password: NEW_PASSWORD, confirm: NEW_PASSWORD });
      assert.match(missing.page.body, /name="code"/);
      assert.equal(missing.res.statusCode, 400);
      const wrong = await openAndPost(link, { password: NEW_PASSWORD, confirm: NEW_PASSWORD, code: '000000' });
      assert.equal(wrong.res.statusCode, 400);
      assert.match(wrong.res.body, /code is not valid/);
      assert.ok(await verifyPassword(PASSWORD, (await app.stores.users.get(u.id))!.passwordHash), 'unchanged');
      clock += 30;
      const ok = await openAndPost(link, {
        password: NEW_PASSWORD,
        confirm: NEW_PASSWORD,
        code: totp.generate({ timestamp: clock * 1000 }),
      });
      assert.equal(ok.res.statusCode, 200, ok.res.body);
      assert.ok(await verifyPassword(NEW_PASSWORD, (await app.stores.users.get(u.id))!.passwordHash));
      // A recovery code works too (once).
      clock += 3600 * 2;
      const from2 = smtp.messages.length;
      await requestReset(app.provider, u.username);
      const link2 = pathOf(await mailTo(u.email, /Reset/, from2));
      const rc = await openAndPost(link2, { password: PASSWORD, confirm: PASSWORD, code: codes[0]! });
      assert.equal(rc.res.statusCode, 200, rc.res.body);
    });

    it("the reset page's code counts with the sign-in's attempt limit (shared, claimed before the check)", async () => {
      const u = await newUser();
      const keks = app.provider.config;
      const enrol = await beginTotp(app.stores, keks, u, 'Tessera', clock);
      const totp = new TOTP({ secret: enrol.secret, digits: 6, period: 30, algorithm: 'SHA1' });
      assert.equal(
        await confirmTotp(app.stores, keks, u.id, enrol.factor.id, totp.generate({ timestamp: clock * 1000 }), clock),
        'ok',
      );
      clock += 30;
      const from = smtp.messages.length;
      await requestReset(app.provider, u.username);
      const link = pathOf(await mailTo(u.email, /Reset/, from));
      const jar = new Jar();
      const page = await get(link, jar);
      jar.take(page);
      const token = /name="token" value="([^"]+)"/.exec(page.body)![1]!;
      const action = new URL(/<form method="post" action="([^"]+)"/.exec(page.body)![1]!.replace(/&amp;/g, '&'))
        .pathname;
      const csrf = csrfOf(page.body);
      // Wrong codes sent at once: no more are checked than the attempt limit (5 by default).
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          form(
            app,
            action,
            { csrf, token, password: NEW_PASSWORD, confirm: NEW_PASSWORD, code: String(200000 + i) },
            { cookie: jar.header() },
          ),
        ),
      );
      assert.ok(answers.every((a) => a.statusCode >= 400 && a.statusCode < 500));
      await app.audit.flush();
      const failed = (await app.stores.audit.query({ type: 'second_factor_failed', from: 0 })).filter(
        (r) => r.actor === u.id,
      );
      const checked = failed.reduce((n, r) => n + Number(r.details.repeated ?? 1), 0);
      assert.ok(checked <= 5, `${checked} codes were checked`);
      // The sign-in's limit is the same counter: the account waits there too.
      assert.ok((await app.stores.counters.get(`factor:${u.id}`, clock))!.count >= 5);
    });

    it('notifications: factor changes and password changes are mailed to verified addresses only', async () => {
      const verified = await newUser();
      const unverified = await newUser({ verified: false });
      const from = smtp.messages.length;
      app.provider.events({ type: 'factor_added', userId: verified.id, kind: 'passkey', factorId: 'f1' });
      app.provider.events({ type: 'factor_added', userId: unverified.id, kind: 'totp', factorId: 'f2' });
      app.provider.events({
        type: 'new_device_sign_in',
        userId: verified.id,
        userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
      });
      app.provider.events({ type: 'password_changed', userId: verified.id, by: 'user' });
      app.provider.events({ type: 'factor_removed', userId: verified.id, kind: 'totp', factorId: 'f3', by: 'user' });
      const added = await mailTo(verified.email, /sign-in method was added/, from);
      assert.match(added.text, /A passkey was added/);
      const device = await mailTo(verified.email, /New sign-in/, from);
      assert.match(device.text, /Firefox on Linux/);
      await mailTo(verified.email, /password was changed/, from);
      await mailTo(verified.email, /was removed/, from);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(smtp.messages.slice(from).filter((m) => m.to.includes(unverified.email)).length, 0);
    });
  });
}

describe('before-sign-in verification', { skip: hasOpenssl() ? false : 'openssl not installed' }, () => {
  let pki: TestPki;
  let smtp: SmtpFixture;
  let app: App;
  before(async () => {
    pki = makePki();
    smtp = await startSmtp({ cert: pki.server });
    app = await testApp(
      'sqlite::memory:',
      {
        TESSERA_SMTP_URL: smtp.url,
        TESSERA_SELF_REGISTRATION: 'true',
        TESSERA_EMAIL_VERIFICATION: 'before-sign-in',
        TESSERA_RATE_LIMITING: 'false',
      },
      { mail: { tlsCa: pki.ca.certPem } },
    );
  });
  after(async () => {
    await app?.close();
    await smtp?.stop();
    pki?.cleanup();
  });

  it('a new account signs in only after its address is confirmed; the page offers to send the link again', async () => {
    const username = unique('early');
    const email = `${username}@example.org`;
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
    const res = await form(
      app,
      `${ia}/signup`,
      { username, email, password: PASSWORD, confirm: PASSWORD, csrf: csrfOf(page.body) },
      { cookie: jar.header() },
    );
    jar.take(res);
    assert.equal(res.statusCode, 200, res.body);
    assert.match(res.body, /Confirm your email address first/);
    assert.ok(![...jar.cookies.keys()].some((k) => k.includes('session')), 'not signed in');
    await smtp.waitFor((m) => m.to.includes(email));
    const user = (await app.stores.users.findByUsername(username))!;
    assert.equal(emailVerificationRequired(app.provider, user), true);
    const resend = await form(
      app,
      '/verify-email/resend',
      { csrf: csrfOf(res.body), ticket: /name="ticket" value="([^"]+)"/.exec(res.body)![1]! },
      { cookie: jar.header() },
    );
    assert.equal(resend.statusCode, 200, resend.body);
    assert.match(resend.body, /A new link is on its way<\/strong>/);
    await smtp.waitFor(() => smtp.messages.filter((m) => m.to.includes(email)).length === 2);
    assert.equal(emailVerificationRequired(app.provider, { ...user, emailVerified: true }), false);
    assert.equal(emailVerificationRequired(app.provider, { ...user, email: null }), false);
  });
});
