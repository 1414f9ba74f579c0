// The account area's handlers over real SQLite stores (test/fixtures/protocol.ts): sign-in and CSRF
// on every form, the recent-authentication rule, factors, sessions, export and deletion.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import { hashPassword } from '../../accounts/passwords.ts';
import { beginTotp, confirmTotp } from '../../accounts/totp.ts';
import { createUser } from '../../accounts/users.ts';
import { saveUser } from '../../admin/users.ts';
import type { FactorRecord } from '../../ports/factors.ts';
import type { MailMessage } from '../../ports/mail.ts';
import { testProvider, type TestProvider } from '../../../test/fixtures/protocol.ts';
import { SIGN_IN_COOKIE } from '../interaction/mfa-policy.ts';
import { accountSecondFactor } from '../interaction/second-factor.ts';
import { csrfToken, DEVICE_COOKIE, SESSION_COOKIE, startSession } from '../interaction/session.ts';
import type { OAuthResponse, Provider, ProtocolRequest } from '../provider.ts';
import type { AccountView } from './views.ts';
import { showActivity } from './activity.ts';
import { exportData, showData } from './data.ts';
import { showDelete, submitDelete } from './delete.ts';
import { deleteAccount } from './delete-account.ts';
import { accountLogout, revokeConsent, showAccount } from './overview.ts';
import { changePassword, showPassword } from './password.ts';
import { saveProfile, showProfile } from './profile.ts';
import { showReauth, submitReauth } from './reauth.ts';
import {
  regenerateCodes,
  removeFactor,
  renameFactor,
  showRecoveryCodes,
  showSecurity,
  showTotp,
  submitTotp,
} from './security.ts';
import { endOneSession, endOthers, showSessions } from './sessions.ts';
import { describeUserAgent } from './user-agent.ts';

const PASSWORD = 'correct horse battery staple';
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

type Handler = (p: Provider, req: ProtocolRequest) => Promise<OAuthResponse>;

/** Each POST of the area, with its form's purpose. */
const POSTS: [string, Handler, string][] = [
  ['revoke', revokeConsent, 'account'],
  ['logout', accountLogout, 'account'],
  ['profile', saveProfile, 'account:profile'],
  ['password', changePassword, 'account:password'],
  ['rename', renameFactor, 'account:security'],
  ['remove', removeFactor, 'account:security'],
  ['totp', submitTotp, 'account:totp'],
  ['recovery', regenerateCodes, 'account:recovery'],
  ['end session', endOneSession, 'account:sessions'],
  ['end others', endOthers, 'account:sessions'],
  ['export', exportData, 'account:data'],
  ['delete', submitDelete, 'account:delete'],
  ['reauth', submitReauth, 'account:reauth'],
];
const GETS: [string, Handler][] = [
  ['profile', showProfile],
  ['password', showPassword],
  ['security', showSecurity],
  ['totp', showTotp],
  ['recovery', showRecoveryCodes],
  ['sessions', showSessions],
  ['activity', showActivity],
  ['data', showData],
  ['delete', showDelete],
  ['reauth', showReauth],
];

const accountOf = (r: OAuthResponse): AccountView => {
  assert.equal(r.kind, 'page', `not a page: ${JSON.stringify(r)}`);
  const v = (r as { view: { name: string; account?: AccountView } }).view;
  assert.equal(v.name, 'account-area', `not an account page: ${JSON.stringify(v)}`);
  return v.account!;
};
const locationOf = (r: OAuthResponse): string => {
  assert.equal(r.kind, 'redirect', `not a redirect: ${JSON.stringify(r)}`);
  return (r as { location: string }).location;
};

describe('account area', () => {
  let t: TestProvider;
  let sent: MailMessage[];
  let p: Provider;
  before(async () => {
    t = await testProvider({ TESSERA_MFA: 'optional' });
    sent = [];
    p = { ...t.p, mail: { send: async (m) => void sent.push(m) } };
  });
  after(() => t.close());

  async function user(extra: Parameters<TestProvider['addUser']>[0] = {}) {
    return t.addUser({
      passwordHash: await hashPassword(PASSWORD),
      email: 'old@example.com',
      emailVerified: true,
      ...extra,
    });
  }
  /** A signed-in browser: its cookies, and a POST/GET of the area with the right CSRF token. */
  async function browser(userId: string, amr = ['pwd']) {
    const {
      cookies: [cookie, deviceCookie],
    } = await startSession(p, t.request({}, { headers: { 'user-agent': UA } }), userId, amr);
    const cookies: Record<string, string> = { [SESSION_COOKIE]: cookie.value, [DEVICE_COOKIE]: deviceCookie.value };
    return {
      cookies,
      get: (h: Handler, params: Record<string, string> = {}) =>
        h(p, t.request(params, { method: 'GET', cookies, headers: { 'user-agent': UA } })),
      post: (h: Handler, purpose: string, params: Record<string, string> = {}) =>
        h(
          p,
          t.request(
            { csrf: csrfToken(p, purpose, cookies[SESSION_COOKIE]!), ...params },
            { cookies, headers: { 'user-agent': UA } },
          ),
        ),
      /** Takes the cookies a response set (a new session). */
      take(r: OAuthResponse) {
        for (const c of (r as { cookies?: { name: string; value: string }[] }).cookies ?? []) cookies[c.name] = c.value;
      },
    };
  }
  async function totpFactor(userId: string, name = 'Phone'): Promise<FactorRecord> {
    const f: FactorRecord = {
      id: `f-${Math.random().toString(36).slice(2)}`,
      userId,
      kind: 'totp',
      name,
      createdAt: t.clock.now(),
      lastUsedAt: null,
      confirmed: true,
      secret: null,
      credentialId: null,
      publicKey: null,
      counter: 0,
      transports: [],
      backupEligible: false,
      backedUp: false,
      aaguid: null,
    };
    assert.ok(await t.p.stores.factors.create(f));
    return f;
  }

  /** An authenticator app enrolled for real (accounts/totp.ts); its current code, and the clock moved past it. */
  async function realTotp(u: { id: string; username: string }): Promise<() => string> {
    const e = await beginTotp(t.p.stores, t.config, u, 'Tessera', t.clock.now());
    const code = () =>
      new TOTP({ secret: Secret.fromBase32(e.secret), digits: 6, period: 30 }).generate({
        timestamp: t.clock.now() * 1000,
      });
    assert.equal(await confirmTotp(t.p.stores, t.config, u.id, e.factor.id, code(), t.clock.now()), 'ok');
    t.clock.advance(30);
    return code;
  }
  /** The account area's second-factor step of this browser's pending sign-in (its cookie): GET, or POST a code. */
  function secondFactorStep(cookies: Record<string, string>, code?: string) {
    const secret = cookies[SIGN_IN_COOKIE]!;
    return code === undefined
      ? accountSecondFactor(p, t.request({}, { method: 'GET', cookies }))
      : accountSecondFactor(p, t.request({ csrf: csrfToken(p, 'account-mfa', secret), code }, { cookies }));
  }

  /** A browser remembered after a second factor (TESSERA_MFA_REMEMBER_DEVICE); whether it still is. */
  async function rememberedBrowser(userId: string): Promise<() => Promise<boolean>> {
    const idHash = `remembered-${Math.random().toString(36).slice(2)}`;
    const now = t.clock.now();
    await t.p.stores.signIns.rememberDevice({ idHash, userId, createdAt: now, expiresAt: now + 86400 });
    assert.equal(await t.p.stores.signIns.isRememberedDevice(idHash, userId, now), true);
    return () => t.p.stores.signIns.isRememberedDevice(idHash, userId, t.clock.now());
  }

  it('without a session: the pages go to the sign-in page and the forms change nothing', async () => {
    const login = await showAccount(p, t.request({}, { method: 'GET' }));
    assert.equal((login as { view: { name: string } }).view.name, 'login');
    for (const [name, h] of GETS)
      assert.equal(locationOf(await h(p, t.request({}, { method: 'GET' }))), `${t.config.issuer}/account`, name);
    for (const [name, h] of POSTS)
      assert.equal(locationOf(await h(p, t.request({ csrf: 'x' }))), `${t.config.issuer}/account`, name);
  });

  it('every form refuses a missing, wrong or other-purpose CSRF token (403), changing nothing', async () => {
    const u = await user();
    const f = await totpFactor(u.id);
    const b = await browser(u.id);
    for (const [name, h, purpose] of POSTS) {
      const other = purpose === 'account:data' ? 'account:delete' : 'account:data';
      for (const csrf of [undefined, 'bad', csrfToken(p, other, b.cookies[SESSION_COOKIE]!)]) {
        const params: Record<string, string> = {
          factor_id: f.id,
          password: PASSWORD,
          current: PASSWORD,
          confirm: 'yes',
        };
        if (csrf) params.csrf = csrf;
        const r = await h(p, t.request(params, { cookies: b.cookies }));
        assert.equal((r as { status?: number }).status, 403, `${name} with csrf ${csrf}`);
      }
    }
    assert.ok(await t.p.stores.users.get(u.id));
    assert.ok(await t.p.stores.factors.get(f.id));
  });

  it('a change needs a recent sign-in: else the re-authentication page, which comes back after the password', async () => {
    const u = await user();
    const code = await realTotp(u);
    const [f] = await t.p.stores.factors.listByUser(u.id);
    const b = await browser(u.id);
    t.clock.advance(t.config.recentAuth + 1);
    const back = locationOf(await b.post(removeFactor, 'account:security', { factor_id: f!.id }));
    assert.equal(back, `${t.config.issuer}/account/reauth?return=${encodeURIComponent('/account/security')}`);
    assert.ok(await t.p.stores.factors.get(f!.id), 'nothing removed');
    for (const h of [showPassword, showDelete, showTotp])
      assert.match(locationOf(await b.get(h)), /\/account\/reauth\?return=/);
    assert.match(
      locationOf(
        await b.post(changePassword, 'account:password', {
          current: PASSWORD,
          password: 'another long passphrase',
          confirm: 'another long passphrase',
        }),
      ),
      /reauth/,
    );
    // A wrong password: refused, counted as a failed login.
    const wrong = accountOf(
      await b.post(submitReauth, 'account:reauth', { password: 'nope', return: '/account/security' }),
    );
    assert.equal(wrong.error?.key, 'account.form.wrongPassword');
    assert.ok(t.events.some((e) => e.type === 'login_failed'));
    // An outside return address is not followed.
    const pwd = await b.post(submitReauth, 'account:reauth', { password: PASSWORD, return: 'https://evil.example/' });
    assert.equal(locationOf(pwd), `${t.config.issuer}/account/mfa`, 'the second factor too');
    b.take(pwd);
    const ok = await secondFactorStep(b.cookies, code());
    assert.equal(locationOf(ok), `${t.config.issuer}/account`);
    const sid = (await t.p.stores.sessions.listByUser(u.id))[0]!.sid;
    b.take(ok);
    const sessions = await t.p.stores.sessions.listByUser(u.id);
    assert.equal(sessions.length, 1, 'the old session was replaced');
    assert.equal(sessions[0]!.sid, sid, 'same sid');
    assert.equal(
      locationOf(await b.post(removeFactor, 'account:security', { factor_id: f!.id })),
      `${t.config.issuer}/account/security?done=removed`,
    );
    assert.equal(await t.p.stores.factors.get(f!.id), undefined);
    assert.ok(t.events.some((e) => e.type === 'factor_removed' && e.userId === u.id));
  });

  it('re-authentication keeps the second factor: with one, the password then the factor, back to the page; without, the password', async () => {
    const u = await user();
    const code = await realTotp(u);
    const b = await browser(u.id);
    // The session had two factors; then it grew old.
    const mfa = await startSession(p, t.request({}, { cookies: b.cookies }), u.id, ['pwd', 'otp', 'mfa']);
    b.take({ kind: 'redirect', location: '', cookies: mfa.cookies });
    const sid = mfa.session.sid;
    t.clock.advance(t.config.recentAuth + 1);
    const back = '/account/security/totp?continue=/interaction/abc_123';
    assert.equal(
      locationOf(await b.get(showTotp, { continue: '/interaction/abc_123' })),
      `${t.config.issuer}/account/reauth?return=${encodeURIComponent(back)}`,
    );
    const pwd = await b.post(submitReauth, 'account:reauth', { password: PASSWORD, return: back });
    assert.equal(locationOf(pwd), `${t.config.issuer}/account/mfa`);
    assert.deepEqual(
      (pwd as { cookies?: { name: string }[] }).cookies?.map((c) => c.name),
      [SIGN_IN_COOKIE],
      'no new session yet',
    );
    b.take(pwd);
    const sessions = await t.p.stores.sessions.listByUser(u.id);
    assert.deepEqual(
      sessions.map((x) => x.amr),
      [['pwd', 'otp', 'mfa']],
      'the old session is untouched until the factor',
    );
    // The challenge page, without "remember this browser" (a remembered browser is not enough here).
    const challenge = (await secondFactorStep(b.cookies)) as { view: { name: string; remember: boolean } };
    assert.equal(challenge.view.name, 'second-factor');
    assert.equal(challenge.view.remember, false);
    // A wrong code: the page again, counted, no session.
    const wrong = (await secondFactorStep(b.cookies, '000000')) as { status: number };
    assert.equal(wrong.status, 400);
    assert.ok(t.events.some((e) => e.type === 'second_factor_failed' && e.userId === u.id && e.ip === '192.0.2.1'));
    // The right code: a new session (same sid) with both factors, back to the page that asked.
    const pendingCookies = { ...b.cookies };
    const ok = await secondFactorStep(b.cookies, code());
    assert.equal(locationOf(ok), `${t.config.issuer}${back}`);
    b.take(ok);
    const after = await t.p.stores.sessions.listByUser(u.id);
    assert.deepEqual(
      after.map((x) => [x.sid, x.amr, x.authTime]),
      [[sid, ['pwd', 'otp', 'mfa'], t.clock.now()]],
    );
    assert.equal(accountOf(await b.get(showTotp)).page, 'totp', 'recent again');
    // The pending sign-in is used once: its cookie again leads to the account page, nothing started.
    t.clock.advance(30);
    assert.equal(locationOf(await secondFactorStep(pendingCookies, code())), `${t.config.issuer}/account`);
    assert.equal((await t.p.stores.sessions.listByUser(u.id)).length, 1);

    // A user without a factor: the password alone, as before.
    const plain = await user();
    const c = await browser(plain.id);
    t.clock.advance(t.config.recentAuth + 1);
    const direct = await c.post(submitReauth, 'account:reauth', { password: PASSWORD, return: '/account/password' });
    assert.equal(locationOf(direct), `${t.config.issuer}/account/password`);
    c.take(direct);
    assert.deepEqual(
      (await t.p.stores.sessions.listByUser(plain.id)).map((x) => x.amr),
      [['pwd']],
    );
  });

  it("another user's factor or session is not found, and is left alone", async () => {
    const [me, other] = [await user(), await user()];
    const theirs = await totpFactor(other.id);
    const them = await browser(other.id);
    const b = await browser(me.id);
    for (const [h, params] of [
      [removeFactor, { factor_id: theirs.id }],
      [renameFactor, { factor_id: theirs.id, name: 'Mine now' }],
    ] as const)
      assert.equal(((await b.post(h, 'account:security', params)) as { status: number }).status, 404);
    assert.equal((await t.p.stores.factors.get(theirs.id))!.name, 'Phone');
    const theirSid = (await t.p.stores.sessions.listByUser(other.id))[0]!.sid;
    assert.equal(
      ((await b.post(endOneSession, 'account:sessions', { sid: theirSid })) as { status: number }).status,
      404,
    );
    assert.equal((await them.get(showSessions)).kind, 'page', 'their session lives on');
    assert.equal(accountOf(await them.get(showSessions)).page, 'sessions');
  });

  it('removing the last factor is refused when one is required (policy or per user), allowed otherwise', async () => {
    const required = await user({ mfaRequired: true });
    const only = await totpFactor(required.id);
    const b = await browser(required.id);
    const remembered = await rememberedBrowser(required.id);
    const refused = await b.post(removeFactor, 'account:security', { factor_id: only.id });
    assert.equal((refused as { status: number }).status, 409);
    assert.equal(accountOf(refused).error?.key, 'account.security.lastFactor');
    assert.ok(await t.p.stores.factors.get(only.id));
    assert.equal(await remembered(), true, 'a refused removal forgets nothing');
    // A second one: then the first may go, and the browsers remembered after a factor are forgotten.
    await totpFactor(required.id, 'Tablet');
    assert.match(locationOf(await b.post(removeFactor, 'account:security', { factor_id: only.id })), /done=removed/);
    assert.equal(await remembered(), false, 'remembered browsers forgotten');

    const policy = await testProvider({ TESSERA_MFA: 'required' });
    try {
      const u = await policy.addUser({ passwordHash: await hashPassword(PASSWORD) });
      const f = { ...only, id: 'policy-factor', userId: u.id };
      await policy.p.stores.factors.create(f);
      const cookies = await policy.signIn(u.id);
      const r = await removeFactor(
        policy.p,
        policy.request(
          { factor_id: f.id, csrf: csrfToken(policy.p, 'account:security', cookies[SESSION_COOKIE]!) },
          { cookies },
        ),
      );
      assert.equal((r as { status: number }).status, 409);
    } finally {
      await policy.close();
    }
    const free = await user();
    const last = await totpFactor(free.id);
    assert.match(
      locationOf(await (await browser(free.id)).post(removeFactor, 'account:security', { factor_id: last.id })),
      /removed/,
    );
  });

  it('the security page shows only its own notices: ?done=constructor or __proto__ is no notice', async () => {
    const b = await browser((await user()).id);
    assert.equal(accountOf(await b.get(showSecurity, { done: 'removed' })).notice?.key, 'account.security.removed');
    for (const done of ['constructor', '__proto__', 'toString'])
      assert.equal(accountOf(await b.get(showSecurity, { done })).notice, undefined, done);
  });

  it('an app enrolled for a sign-in after a passkey: the new session keeps the passkey and claims no password', async () => {
    const u = await user();
    const b = await browser(u.id, ['swk', 'user', 'mfa']);
    const page = accountOf(await b.get(showTotp, { continue: '/interaction/abc_123' }));
    assert.equal(page.page, 'totp');
    if (page.page !== 'totp') return;
    const code = new TOTP({ secret: Secret.fromBase32(page.secret!), digits: 6, period: 30 }).generate({
      timestamp: t.clock.now() * 1000,
    });
    const done = await b.post(submitTotp, 'account:totp', {
      factor_id: page.factorId,
      code,
      continue: '/interaction/abc_123',
    });
    b.take(done);
    const sessions = await t.p.stores.sessions.listByUser(u.id);
    assert.deepEqual(
      sessions.map((s) => s.amr),
      [['swk', 'user', 'otp', 'mfa']],
    );
  });

  it('enrols an authenticator app: QR code and key shown, a code confirms it, recovery codes shown once; back to a sign-in', async () => {
    const u = await user();
    const b = await browser(u.id);
    const outside = accountOf(await b.get(showTotp, { continue: 'https://evil.example/' }));
    assert.equal(outside.page === 'totp' && outside.continueTo, undefined, 'only /interaction/<uid> is followed');
    const page = accountOf(await b.get(showTotp, { continue: '/interaction/abc_123' }));
    assert.equal(page.page, 'totp');
    if (page.page !== 'totp') return;
    assert.match(page.qrSvg!, /^<svg /);
    assert.equal(page.continueTo, '/interaction/abc_123');
    const wrong = accountOf(await b.post(submitTotp, 'account:totp', { factor_id: page.factorId, code: '000000' }));
    assert.equal(wrong.error?.key, 'account.totp.wrong');
    const code = new TOTP({ secret: Secret.fromBase32(page.secret!), digits: 6, period: 30 }).generate({
      timestamp: t.clock.now() * 1000,
    });
    const done = await b.post(submitTotp, 'account:totp', {
      factor_id: page.factorId,
      code,
      name: 'My phone',
      continue: '/interaction/abc_123',
    });
    const codes = accountOf(done);
    assert.equal(codes.page, 'recovery-codes');
    if (codes.page !== 'recovery-codes') return;
    assert.equal(codes.codes!.length, 10);
    assert.equal(codes.continueTo, '/interaction/abc_123');
    b.take(done);
    const sessions = await t.p.stores.sessions.listByUser(u.id);
    assert.deepEqual(
      sessions.map((s) => s.amr),
      [['pwd', 'otp', 'mfa']],
    );
    const [factor] = await t.p.stores.factors.listByUser(u.id);
    assert.equal(factor!.confirmed, true);
    assert.equal(factor!.name, 'My phone');
    assert.ok(t.events.some((e) => e.type === 'factor_added' && e.userId === u.id));
    assert.ok(t.events.some((e) => e.type === 'recovery_codes_generated' && e.userId === u.id));
    assert.equal(
      ((await b.post(submitTotp, 'account:totp', { factor_id: page.factorId, code })) as { status: number }).status,
      404,
      'confirmed once',
    );
    // The recovery codes page shows the count; regenerating shows new ones once.
    const left = accountOf(await b.get(showRecoveryCodes));
    assert.equal(left.page === 'recovery-codes' && left.left, 10);
    assert.equal(left.page === 'recovery-codes' && left.codes, undefined);
    const again = accountOf(await b.post(regenerateCodes, 'account:recovery'));
    assert.equal(again.page === 'recovery-codes' && again.codes!.length, 10);
    // The security page lists the factor, renamed through its form.
    assert.match(
      locationOf(await b.post(renameFactor, 'account:security', { factor_id: factor!.id, name: 'Work phone' })),
      /renamed/,
    );
    const security = accountOf(await b.get(showSecurity));
    assert.deepEqual(security.page === 'security' && security.factors.map((f) => f.name), ['Work phone']);
  });

  it('changes the password: the current one is required, other sessions end, this browser gets a new session', async () => {
    const u = await user();
    const other = await browser(u.id);
    const b = await browser(u.id, ['pwd', 'otp', 'mfa']);
    const remembered = await rememberedBrowser(u.id);
    const bad = accountOf(
      await b.post(changePassword, 'account:password', {
        current: 'wrong',
        password: 'a brand new passphrase',
        confirm: 'a brand new passphrase',
      }),
    );
    assert.ok(bad.page === 'password' && bad.fieldErrors.current);
    const weak = accountOf(
      await b.post(changePassword, 'account:password', { current: PASSWORD, password: 'short', confirm: 'short' }),
    );
    assert.ok(weak.page === 'password' && weak.fieldErrors.password);
    assert.equal(await remembered(), true, 'a refused change forgets nothing');
    const r = await b.post(changePassword, 'account:password', {
      current: PASSWORD,
      password: 'a brand new passphrase',
      confirm: 'a brand new passphrase',
    });
    assert.match(locationOf(r), /saved=1/);
    b.take(r);
    assert.equal(accountOf(await b.get(showPassword, { saved: '1' })).notice !== undefined, true, 'still signed in');
    assert.match(locationOf(await other.get(showSecurity)), /\/account$/, 'the other session ended');
    assert.equal((await t.p.stores.sessions.listByUser(u.id)).length, 1);
    assert.ok(t.events.some((e) => e.type === 'password_changed' && e.userId === u.id && e.by === 'user'));
    assert.ok(t.events.some((e) => e.type === 'sessions_ended' && e.userId === u.id && e.count === 1));
    assert.equal(await remembered(), false, 'the remembered browser asks for the second factor again');
    // This browser's new session keeps what it had proved: the password and the second factor.
    const [mine] = await t.p.stores.sessions.listByUser(u.id);
    assert.deepEqual(mine!.amr, ['pwd', 'otp', 'mfa']);
  });

  it('changes the email: stored unverified, the new address gets a verification mail, the old one is told', async () => {
    const u = await user();
    const b = await browser(u.id);
    sent.length = 0;
    const bad = accountOf(await b.post(saveProfile, 'account:profile', { name: 'Ann', email: 'not an address' }));
    assert.ok(bad.page === 'profile' && bad.fieldErrors.email);
    assert.match(
      locationOf(await b.post(saveProfile, 'account:profile', { name: 'Ann', email: 'new@example.com' })),
      /saved=email/,
    );
    const saved = (await t.p.stores.users.get(u.id))!;
    assert.deepEqual([saved.name, saved.email, saved.emailVerified], ['Ann', 'new@example.com', false]);
    assert.deepEqual(
      sent.map((m) => [m.to, m.template]),
      [
        ['new@example.com', 'verify-email'],
        ['old@example.com', 'email-changed'],
      ],
    );
    // The name alone needs no recent sign-in; the address does.
    t.clock.advance(t.config.recentAuth + 1);
    assert.match(
      locationOf(await b.post(saveProfile, 'account:profile', { name: 'Anne', email: 'new@example.com' })),
      /saved=1/,
    );
    assert.match(
      locationOf(await b.post(saveProfile, 'account:profile', { name: 'Anne', email: 'x@example.com' })),
      /reauth/,
    );
  });

  it('saves the language: a language Tessera speaks or none, the cookie follows it, every page says the user chose it', async () => {
    const u = await user();
    const b = await browser(u.id);
    const page = await b.get(showProfile);
    assert.deepEqual((page as { language?: unknown }).language, { userLocale: null });
    const shown = accountOf(page);
    assert.ok(shown.page === 'profile' && shown.locale === null);
    const saved = await b.post(saveProfile, 'account:profile', { name: 'Ann', email: 'old@example.com', locale: 'de' });
    assert.match(locationOf(saved), /saved=1/);
    assert.deepEqual((saved as { cookies?: unknown }).cookies, [
      { name: 'tessera_lang', value: 'de', maxAge: 365 * 86400, path: '/' },
    ]);
    assert.equal((await t.p.stores.users.get(u.id))!.locale, 'de');
    for (const get of [showAccount, showProfile, showSecurity, showSessions, showActivity, showData, showReauth])
      assert.deepEqual(((await b.get(get)) as { language?: unknown }).language, { userLocale: 'de' }, get.name);
    const again = accountOf(await b.get(showProfile));
    assert.ok(again.page === 'profile' && again.locale === 'de');
    // Anything else is refused with the form again (400), nothing stored and no cookie.
    for (const locale of ['xx', 'de-CH', 'DE', 'en ', '__proto__']) {
      const bad = await b.post(saveProfile, 'account:profile', { name: 'Bob', email: 'old@example.com', locale });
      assert.equal((bad as { status: number }).status, 400, locale);
      assert.equal((bad as { cookies?: unknown }).cookies, undefined, locale);
      const v = accountOf(bad);
      assert.ok(v.page === 'profile' && v.fieldErrors.locale?.key === 'account.profile.languageInvalid', locale);
      assert.equal(v.locale, 'de', 'the stored choice stays selected');
      const kept = (await t.p.stores.users.get(u.id))!;
      assert.deepEqual([kept.locale, kept.name], ['de', 'Ann'], locale);
    }
    // Saving the same choice again sets the cookie again: this browser may have picked another language
    // from a page's links since, and the person just said which one they want.
    const same = await b.post(saveProfile, 'account:profile', { name: 'Ann', email: 'old@example.com', locale: 'de' });
    assert.deepEqual((same as { cookies?: unknown }).cookies, [
      { name: 'tessera_lang', value: 'de', maxAge: 365 * 86400, path: '/' },
    ]);
    // A form without the field (an older page) keeps the choice and the cookie; "browser default" clears both.
    const older = await b.post(saveProfile, 'account:profile', { name: 'Ann', email: 'old@example.com' });
    assert.equal((older as { cookies?: unknown }).cookies, undefined);
    assert.equal((await t.p.stores.users.get(u.id))!.locale, 'de');
    const cleared = await b.post(saveProfile, 'account:profile', { name: 'Ann', email: 'old@example.com', locale: '' });
    assert.deepEqual((cleared as { cookies?: unknown }).cookies, [
      { name: 'tessera_lang', value: '', maxAge: 0, path: '/' },
    ]);
    assert.equal((await t.p.stores.users.get(u.id))!.locale ?? null, null);
  });

  it('lists sessions with browser, address and this device; ends one and all others; a new device is reported once', async () => {
    const u = await user();
    const before = t.events.length;
    const newDevices = () =>
      t.events.slice(before).filter((e) => e.type === 'new_device_sign_in' && e.userId === u.id).length;
    // The account's very first sign-in is from a new browser by necessity: not reported.
    const a = await browser(u.id);
    assert.equal(newDevices(), 0, 'not the first browser');
    const b = await browser(u.id);
    const c = await browser(u.id);
    assert.equal(newDevices(), 2);
    // The same browser signing in again is not new.
    const again = await startSession(p, t.request({}, { cookies: a.cookies }), u.id, ['pwd']);
    a.take({ kind: 'redirect', location: '', cookies: again.cookies });
    assert.equal(newDevices(), 2);
    const page = accountOf(await a.get(showSessions));
    assert.ok(page.page === 'sessions');
    if (page.page !== 'sessions') return;
    assert.equal(page.sessions.length, 3);
    assert.equal(page.sessions.filter((s) => s.current).length, 1);
    assert.deepEqual(
      [page.sessions[0]!.browser, page.sessions[0]!.os, page.sessions[0]!.ip],
      ['Chrome', 'Linux', '192.0.2.1'],
    );
    const notCurrent = page.sessions.filter((s) => !s.current);
    assert.match(locationOf(await a.post(endOneSession, 'account:sessions', { sid: notCurrent[0]!.sid })), /ended=1/);
    assert.equal(
      (
        (await a.post(endOneSession, 'account:sessions', { sid: page.sessions.find((s) => s.current)!.sid })) as {
          status: number;
        }
      ).status,
      404,
      'not this one',
    );
    assert.match(locationOf(await a.post(endOthers, 'account:sessions')), /ended=1/);
    for (const x of [b, c]) assert.match(locationOf(await x.get(showSessions)), /\/account$/);
    assert.equal((await t.p.stores.sessions.listByUser(u.id)).length, 1);
  });

  it('shows the recent activity and downloads the data as JSON without secrets', async () => {
    const u = await user();
    const f = await totpFactor(u.id);
    await t.p.stores.factors.rename(u.id, f.id, 'Phone');
    await t.p.stores.audit.append([
      {
        at: Date.now(),
        type: 'factor_added',
        actor: u.id,
        clientId: null,
        ip: '192.0.2.9',
        outcome: 'success',
        details: {},
      },
      { at: Date.now(), type: 'token_issued', actor: u.id, clientId: 'x', ip: null, outcome: 'success', details: {} },
      {
        at: Date.now(),
        type: 'factor_added',
        actor: 'someone-else',
        clientId: null,
        ip: null,
        outcome: 'success',
        details: {},
      },
    ]);
    const b = await browser(u.id);
    const activity = accountOf(await b.get(showActivity));
    assert.deepEqual(activity.page === 'activity' && activity.records.map((r) => r.type), ['factor_added']);
    const r = await b.post(exportData, 'account:data');
    assert.equal(r.kind, 'raw');
    if (r.kind !== 'raw') return;
    assert.match(r.headers!['content-disposition']!, /attachment/);
    const data = JSON.parse(r.body);
    assert.equal(data.profile.sub, u.id);
    assert.equal(data.factors.length, 1);
    assert.equal(data.factors[0].name, 'Phone');
    assert.equal(JSON.stringify(data).includes('secret'), false);
    assert.equal(data.sessions.length, 1);
    assert.ok(t.events.some((e) => e.type === 'account_exported' && e.userId === u.id));
  });

  it('deletes the account: the password again, then everything goes and the username stays reserved', async () => {
    await t.addClient({ client_id: 'rp-del', client_secret: 'rp-del-secret-0123456789-abcdefghijk' });
    const u = await user({ username: 'Deleted.User' });
    await t.consent(u.id, 'rp-del', 'openid');
    await totpFactor(u.id);
    const b = await browser(u.id);
    const other = await browser(u.id);
    const remembered = await rememberedBrowser(u.id);
    sent.length = 0;
    const wrong = accountOf(await b.post(submitDelete, 'account:delete', { password: 'nope', confirm: 'yes' }));
    assert.equal(wrong.error?.key, 'account.form.wrongPassword');
    const unticked = accountOf(await b.post(submitDelete, 'account:delete', { password: PASSWORD }));
    assert.equal(unticked.error?.key, 'account.delete.tick');
    const done = await b.post(submitDelete, 'account:delete', { password: PASSWORD, confirm: 'yes' });
    assert.equal((done as { status: number }).status, 200);
    assert.equal(await t.p.stores.users.get(u.id), undefined);
    assert.deepEqual(await t.p.stores.factors.listByUser(u.id), []);
    assert.deepEqual(await t.p.stores.sessions.listByUser(u.id), []);
    assert.deepEqual(await t.p.stores.consents.listByUser(u.id), []);
    assert.equal(await remembered(), false, 'remembered browsers forgotten');
    assert.match(locationOf(await other.get(showSecurity)), /\/account$/);
    assert.deepEqual(
      sent.map((m) => [m.to, m.template]),
      [['old@example.com', 'account-deleted']],
    );
    assert.ok(t.events.some((e) => e.type === 'account_deleted' && e.userId === u.id && e.by === 'user'));
    const tomb = (await t.p.stores.users.tombstone(u.id))!;
    assert.equal(tomb.reservedUntil, t.clock.now() + t.config.usernameReservation);
    // The name (in any case) is refused to sign-up and to operators until the reservation ends.
    const again = await createUser(t.p.stores, { username: 'deleted.user', password: PASSWORD }, t.clock.now(), {
      origin: 'signup',
    });
    assert.deepEqual(again, { refused: 'username_reserved' });
    await assert.rejects(saveUser(t.p.stores, { username: 'Deleted.User' }, t.clock.now()), /reserved/);
    // The id is never issued again.
    assert.equal(await t.p.stores.users.create({ ...u, username: 'someone-new' }), false);
    const later = t.clock.now() + t.config.usernameReservation + 1;
    assert.ok(
      'user' in
        (await createUser(t.p.stores, { username: 'deleted.user', password: PASSWORD }, later, { origin: 'signup' })),
    );
    // deleteAccount of an unknown user: false.
    assert.equal(await deleteAccount(p, 'nobody', 'operator'), false);
  });

  it('names browsers and systems from User-Agent strings', () => {
    assert.deepEqual(describeUserAgent(UA), { browser: 'Chrome', os: 'Linux' });
    assert.deepEqual(
      describeUserAgent(
        'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
      ),
      { browser: 'Safari', os: 'iOS' },
    );
    assert.deepEqual(describeUserAgent('Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0'), {
      browser: 'Firefox',
      os: 'Android',
    });
    assert.deepEqual(
      describeUserAgent(
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
      ),
      { browser: 'Edge', os: 'Windows' },
    );
    assert.deepEqual(describeUserAgent(undefined), { browser: 'Unknown browser', os: 'unknown system' });
  });
});
