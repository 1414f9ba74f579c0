// Upstream sign-in through the protocol functions (issue 17): the login page's buttons, the hint,
// the callback and the linking rules, over real stores (testProvider). The upstream is an
// UpstreamClient of the test's own that returns the profile a case needs (the real adapter is
// tested against real servers by its own tests): what is under test here is what Tessera does
// with an answer, and that nothing reaches the upstream without a state this browser started.
import { t as english, type Msg } from '../../i18n/catalog.ts';
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import { beginTotp, confirmTotp } from '../../accounts/totp.ts';
import { testProvider, TEST_ISSUER, type TestProvider } from '../../../test/fixtures/protocol.ts';
import { UpstreamError, type UpstreamProfile } from '../../ports/upstream-client.ts';
import type { UpstreamProvider } from '../../ports/upstreams.ts';
import type { UserRecord } from '../../ports/users.ts';
import { authorize, INTERACTION_COOKIE } from '../endpoints/authorize.ts';
import { tokenHash } from '../hash.ts';
import { ACCOUNT_LOGIN_COOKIE, accountLogin } from '../interaction/account.ts';
import { showAccount } from '../account/overview.ts';
import { showInteraction, submitLogin } from '../interaction/interaction.ts';
import { SIGN_IN_COOKIE, sessionGate } from '../interaction/mfa-policy.ts';
import { secondFactor } from '../interaction/second-factor.ts';
import { csrfToken, SESSION_COOKIE } from '../interaction/session.ts';
import type { OAuthResponse, Provider } from '../provider.ts';
import { BOUNCE, upstreamCallback } from './callback.ts';
import { accountUpstream, interactionUpstream } from './signin.ts';
import { beginUpstream, UPSTREAM_COOKIE } from './state.ts';
import { upstreamRecord } from '../../../test/fixtures/upstream-records.ts';
import { locationOf, queuedUpstream, statusOf, viewOf } from '../../../test/fixtures/upstream-account.ts';

/** A response as JSON with its messages in English (the pages' words are catalog messages). */
const inEnglish = (res: unknown): string =>
  JSON.stringify(res, (_k, v: unknown) =>
    v && typeof v === 'object' && typeof (v as { key?: unknown }).key === 'string' && 'key' in v
      ? english('en', v as Msg)
      : v,
  );

const UP_ISSUER = 'https://up.example';

function providerRecord(id: string, over: Partial<UpstreamProvider> = {}): UpstreamProvider {
  const label = id === 'corp' ? 'Corp ID' : `Provider ${id}`;
  return upstreamRecord(id, { label, issuer: `${UP_ISSUER}/${id}`, createdAt: 0, updatedAt: 0, ...over });
}

describe('upstream sign-in: buttons, callback and linking rules', () => {
  let t: TestProvider;
  let up: ReturnType<typeof queuedUpstream>;
  let p: Provider;
  let n = 0;

  before(async () => {
    t = await testProvider();
    up = queuedUpstream(UP_ISSUER);
    p = { ...t.p, upstream: up.client };
    await t.addClient({ client_id: 'app', skip_consent: true });
    await t.p.stores.upstreams.put(providerRecord('corp', { order: 1 }));
    await t.p.stores.upstreams.put(providerRecord('other', { order: 2 }));
    await t.p.stores.upstreams.put(providerRecord('off', { enabled: false }));
  });
  after(() => t.close());
  beforeEach(() => {
    t.events.length = 0;
  });

  /** A browser: its cookies, taken from every answer. */
  function browser(initial: Record<string, string> = {}) {
    const cookies: Record<string, string> = { ...initial };
    return {
      cookies,
      take(r: OAuthResponse) {
        for (const c of (r as { cookies?: { name: string; value: string; maxAge: number }[] }).cookies ?? []) {
          if (c.maxAge === 0) delete cookies[c.name];
          else cookies[c.name] = c.value;
        }
        return r;
      },
    };
  }

  /** /authorize for the app in this browser: the interaction's uid. */
  async function startAuthorization(b: ReturnType<typeof browser>, extra: Record<string, string> = {}) {
    const res = b.take(
      await authorize(
        p,
        t.request(
          {
            client_id: 'app',
            redirect_uri: 'https://app.example/cb',
            response_type: 'code',
            scope: 'openid',
            state: 'client-state',
            code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGUSMJ-cM0'.padEnd(43, 'A').slice(0, 43),
            code_challenge_method: 'S256',
            ...extra,
          },
          { method: 'GET', cookies: b.cookies },
        ),
      ),
    );
    const uid = new URL(locationOf(res)).pathname.split('/').pop()!;
    return uid;
  }

  /** The login page, then its button for `provider`: the state the upstream was sent. */
  async function clickProvider(b: ReturnType<typeof browser>, uid: string, provider = 'corp') {
    const login = viewOf(await showInteraction(p, t.request({}, { method: 'GET', cookies: b.cookies }), uid));
    assert.equal(login.name, 'login');
    const csrf = (login as { csrf: string }).csrf;
    const res = b.take(await interactionUpstream(p, t.request({ csrf }, { cookies: b.cookies }), uid, provider));
    assert.match(locationOf(res), /^https:\/\/up\.example\/authorize\?state=/);
    return up.asked.at(-1)!.state;
  }

  const callback = (b: ReturnType<typeof browser>, state: string, provider = 'corp', method = 'GET', extra = {}) =>
    upstreamCallback(p, t.request({ code: 'the-code', state, ...extra }, { method, cookies: b.cookies }), '', provider);

  /** A profile of a new upstream identity (unique subject), with these fields. */
  const profile = (over: Partial<UpstreamProfile> = {}): UpstreamProfile => ({
    issuer: `${UP_ISSUER}/corp`,
    subject: `sub-${++n}`,
    emailVerified: false,
    ...over,
  });

  /** A whole sign-in for the app: authorize, the button, the callback with this profile. */
  async function signInWith(prof: UpstreamProfile, b = browser(), provider = 'corp') {
    const uid = await startAuthorization(b);
    const state = await clickProvider(b, uid, provider);
    up.answer(prof);
    const res = b.take(await callback(b, state, provider));
    return { res, b, uid, state };
  }

  const codeReached = (r: OAuthResponse) => {
    const url = new URL(locationOf(r));
    assert.equal(url.origin + url.pathname, 'https://app.example/cb', url.href);
    assert.ok(url.searchParams.get('code'));
  };
  const sessionOf = async (b: ReturnType<typeof browser>) => {
    const v = b.cookies[SESSION_COOKIE];
    return v ? t.p.stores.sessions.get(tokenHash(v)) : undefined;
  };

  it('lists the enabled providers as buttons, in order, with the login form token', async () => {
    const b = browser();
    const uid = await startAuthorization(b);
    const login = viewOf(await showInteraction(p, t.request({}, { method: 'GET', cookies: b.cookies }), uid));
    assert.deepEqual((login as { upstreams?: unknown }).upstreams, [
      { id: 'corp', label: 'Corp ID', action: `${TEST_ISSUER}/interaction/${uid}/upstream/corp` },
      { id: 'other', label: 'Provider other', action: `${TEST_ISSUER}/interaction/${uid}/upstream/other` },
    ]);
    // A wrong token, or a disabled or unknown provider, goes nowhere.
    const bad = await interactionUpstream(p, t.request({ csrf: 'nope' }, { cookies: b.cookies }), uid, 'corp');
    assert.equal(statusOf(bad), 403);
    const csrf = (login as { csrf: string }).csrf;
    for (const id of ['off', 'nosuch', '../x']) {
      const r = await interactionUpstream(p, t.request({ csrf }, { cookies: b.cookies }), uid, id);
      assert.equal(statusOf(r), 404);
      assert.equal(viewOf(r).name, 'login');
    }
  });

  it('first sign-in creates a user just in time, links the identity, and the session records it (amr fed)', async () => {
    const prof = profile({
      username: 'Dana.Scully',
      email: 'dana@fbi.example',
      emailVerified: true,
      sid: 'up-sid-1',
      name: 'Dana Scully',
    });
    const { res, b, state } = await signInWith(prof);
    codeReached(res);
    // The upstream was asked with this redirect's own nonce and PKCE verifier, and the state it sent.
    const sent = up.asked.at(-1)!;
    const got = up.callbacks.at(-1)!;
    assert.deepEqual([got.state, got.nonce, got.codeVerifier], [state, sent.nonce, sent.codeVerifier]);
    assert.equal(sent.redirectUri, `${TEST_ISSUER}/upstream/corp/callback`);
    const session = await sessionOf(b);
    assert.deepEqual(session?.amr, ['fed']);
    assert.deepEqual(session?.upstream, {
      providerId: 'corp',
      issuer: `${UP_ISSUER}/corp`,
      subject: prof.subject,
      sid: 'up-sid-1',
    });
    const user = (await t.p.stores.users.get(session!.userId))!;
    assert.equal(user.username, 'dana.scully');
    assert.equal(user.origin, 'upstream');
    assert.equal(user.passwordHash, null);
    assert.equal(user.email, 'dana@fbi.example');
    assert.equal(user.emailVerified, true);
    assert.equal(user.name, 'Dana Scully');
    const identity = await t.p.stores.upstreamIdentities.find({
      providerId: 'corp',
      issuer: prof.issuer,
      subject: prof.subject,
    });
    assert.equal(identity?.userId, user.id);
    assert.ok(t.events.some((e) => e.type === 'upstream_linked' && e.by === 'created' && e.userId === user.id));
    assert.ok(
      t.events.some(
        (e) => e.type === 'upstream_login_succeeded' && e.created && e.userId === user.id && e.clientId === 'app',
      ),
    );

    // The second sign-in with the same identity is the same user; no new account.
    const count = (await t.p.stores.users.list()).length;
    t.clock.advance(60);
    const again = await signInWith({ ...prof, email: 'dana@new.example' });
    codeReached(again.res);
    assert.equal((await sessionOf(again.b))?.userId, user.id);
    assert.equal((await t.p.stores.users.list()).length, count);
    const touched = await t.p.stores.upstreamIdentities.find({
      providerId: 'corp',
      issuer: prof.issuer,
      subject: prof.subject,
    });
    assert.equal(touched?.lastUsedAt, t.clock.now());
    assert.equal(touched?.email, 'dana@new.example');
    assert.ok(t.events.some((e) => e.type === 'upstream_login_succeeded' && !e.created && e.userId === user.id));
  });

  it('refuses a replayed callback, another browser’s state and another provider’s state (mix-up), burning nothing it refuses', async () => {
    const b = browser();
    const uid = await startAuthorization(b);
    const state = await clickProvider(b, uid);
    // Another browser (the attacker's, or a stolen callback URL): no binding cookie of this redirect.
    const thief = browser({ [UPSTREAM_COOKIE]: 'x'.repeat(43) });
    const stolen = await callback(thief, state);
    assert.equal(statusOf(stolen), 400);
    assert.equal(viewOf(stolen).name, 'upstream-problem');
    // The same state at another provider's callback URL (mix-up): refused, not burnt.
    const mixed = await callback(b, state, 'other');
    assert.equal(statusOf(mixed), 400);
    const asked = up.callbacks.length;
    // The right browser at the right URL: signed in.
    up.answer(profile());
    codeReached(b.take(await callback(b, state)));
    assert.equal(up.callbacks.length, asked + 1);
    // Replayed: the state is used.
    up.answer(profile());
    const replay = await callback(b, state);
    assert.equal(statusOf(replay), 400);
    assert.match(inEnglish(replay), /expired, was already used/);
    assert.equal(up.callbacks.length, asked + 1, 'the upstream is not asked for a refused state');
    assert.ok(t.events.some((e) => e.type === 'upstream_login_failed' && e.reason === 'state'));
    // A callback with no state at all, and one with the state twice.
    assert.equal(
      statusOf(await upstreamCallback(p, t.request({ code: 'c' }, { method: 'GET', cookies: b.cookies }), '', 'corp')),
      400,
    );
    const twice = await upstreamCallback(
      p,
      t.request({ code: 'c', state: [state, state] }, { method: 'GET', cookies: b.cookies }),
      '',
      'corp',
    );
    assert.equal(statusOf(twice), 400);
    // An unknown or disabled provider's callback.
    assert.equal(statusOf(await callback(b, state, 'off')), 404);
    assert.equal(statusOf(await callback(b, state, 'No/Such')), 404);
  });

  it('bounces a cross-site form_post once to the same URL, same-site, so the binding cookie comes along', async () => {
    const b = browser();
    const uid = await startAuthorization(b);
    const state = await clickProvider(b, uid);
    // The provider's cross-site form_post: the browser sent none of our Lax cookies.
    const crossSite = await upstreamCallback(
      p,
      t.request(
        { code: 'the-code', state, iss: UP_ISSUER, user: '{"name":{}}', junk: 'dropped' },
        { method: 'POST', headers: { origin: 'https://appleid.apple.com' } },
      ),
      '',
      'corp',
    );
    assert.deepEqual(crossSite, {
      kind: 'form_post',
      action: `${TEST_ISSUER}/upstream/corp/callback`,
      fields: { code: 'the-code', state, iss: UP_ISSUER, user: '{"name":{}}', [BOUNCE]: '1' },
    });
    // Bounced already, still no cookie: refused, not bounced again (no loop).
    const noCookie = await upstreamCallback(
      p,
      t.request({ code: 'the-code', state, [BOUNCE]: '1' }, { method: 'POST' }),
      '',
      'corp',
    );
    assert.equal(statusOf(noCookie), 400);
    assert.equal(viewOf(noCookie).name, 'upstream-problem');
    // The re-post, same-site, with the cookies: signed in; the upstream got the fields without the bounce marker.
    up.answer(profile());
    const fields = (crossSite as { fields: Record<string, string> }).fields;
    const res = b.take(
      await upstreamCallback(p, t.request(fields, { method: 'POST', cookies: b.cookies }), '', 'corp'),
    );
    // On to the application by a page, not a redirect: the bounce page's form-action is Tessera
    // only, and a browser holds the redirects after a form submission to it. The session cookie is set.
    const view = viewOf(res) as { name: string; location: string };
    assert.equal(view.name, 'upstream-continue');
    codeReached({ kind: 'redirect', location: view.location });
    assert.ok(b.cookies[SESSION_COOKIE]);
    const params = up.callbacks.at(-1)!.params;
    assert.equal(params.get(BOUNCE), null);
    assert.equal(params.get('user'), '{"name":{}}');
    assert.equal(params.get('junk'), null);
  });

  it('an upstream that is down, refuses, or answers wrongly: a page with the way back, 503 when unreachable, no session', async () => {
    const cases: [UpstreamError, number, RegExp][] = [
      [new UpstreamError('unavailable', 'connect ECONNREFUSED'), 503, /Corp ID cannot be reached/],
      [new UpstreamError('denied', 'access_denied', 'access_denied'), 400, /did not sign you in \(access_denied\)/],
      [new UpstreamError('invalid', 'iss mismatch'), 400, /could not be verified/],
    ];
    for (const [err, status, message] of cases) {
      const b = browser();
      const uid = await startAuthorization(b);
      const state = await clickProvider(b, uid);
      up.answer(err);
      const res = b.take(await callback(b, state));
      assert.equal(statusOf(res), status);
      const view = viewOf(res) as { name: string; message: Msg; link?: { href: string } };
      assert.equal(view.name, 'upstream-problem');
      assert.match(english('en', view.message), message);
      assert.equal(view.link?.href, `${TEST_ISSUER}/interaction/${uid}?hint=off`);
      assert.equal(b.cookies[SESSION_COOKIE], undefined);
      assert.ok(t.events.some((e) => e.type === 'upstream_login_failed' && e.reason === err.reason));
      assert.ok(!JSON.stringify(t.logs).includes(state), 'the state value is never logged');
    }
    // Down before the redirect (discovery): the login page again, 503, saying so.
    const b = browser();
    const uid = await startAuthorization(b);
    const login = viewOf(await showInteraction(p, t.request({}, { method: 'GET', cookies: b.cookies }), uid));
    up.setDown(true);
    try {
      const res = await interactionUpstream(
        p,
        t.request({ csrf: (login as { csrf: string }).csrf }, { cookies: b.cookies }),
        uid,
        'corp',
      );
      assert.equal(statusOf(res), 503);
      const error = (viewOf(res) as { error?: Msg }).error;
      assert.match(error ? english('en', error) : '', /Corp ID cannot be reached/);
    } finally {
      up.setDown(false);
    }
  });

  describe('linking rules', () => {
    let victim: UserRecord;
    before(async () => {
      victim = await t.addUser({ username: 'victim', email: 'victim@corp.example', emailVerified: true });
    });

    it('an unverified upstream email matching an account never links to it: a new account, or none', async () => {
      const { res, b } = await signInWith(
        profile({ email: 'victim@corp.example', emailVerified: false, username: 'victim' }),
      );
      codeReached(res);
      const session = await sessionOf(b);
      assert.notEqual(session?.userId, victim.id);
      const made = (await t.p.stores.users.get(session!.userId))!;
      // Not the victim's name either (taken): a random suffix; the email is not copied as verified.
      assert.match(made.username, /^victim-[a-z0-9]{6}$/);
      assert.equal(made.emailVerified, false);
      assert.deepEqual(await t.p.stores.upstreamIdentities.listByUser(victim.id), []);
      // With just-in-time creation off: refused.
      await t.p.stores.upstreams.put(providerRecord('strict', { createUsers: false }));
      const strict = await signInWith(
        profile({ issuer: `${UP_ISSUER}/strict`, email: 'victim@corp.example' }),
        browser(),
        'strict',
      );
      assert.equal(statusOf(strict.res), 403);
      assert.match(inEnglish(strict.res), /No account is linked to this Provider strict sign-in/);
      assert.ok(t.events.some((e) => e.type === 'upstream_login_failed' && e.reason === 'not_linked'));
    });

    it('a verified email matching an account is not linked automatically: sign in to it first', async () => {
      const before = (await t.p.stores.users.list()).length;
      const prof = profile({ email: 'VICTIM@corp.example', emailVerified: true });
      const { res, b } = await signInWith(prof);
      assert.equal(statusOf(res), 409);
      const view = viewOf(res) as { message: Msg; link?: { href: string } };
      assert.match(
        english('en', view.message),
        /An account with this email exists. Sign in to it with your password or passkey, then link Corp ID/,
      );
      assert.ok(view.link);
      assert.equal(b.cookies[SESSION_COOKIE], undefined);
      assert.equal((await t.p.stores.users.list()).length, before);
      assert.equal(
        await t.p.stores.upstreamIdentities.find({ providerId: 'corp', issuer: prof.issuer, subject: prof.subject }),
        undefined,
      );
      assert.ok(
        t.events.some((e) => e.type === 'upstream_login_failed' && e.reason === 'email_in_use' && e.clientId === 'app'),
      );
    });

    it('links automatically only in autoLinkDomains, with email_verified true and a verified local address; never for Microsoft', async () => {
      await t.p.stores.upstreams.put(providerRecord('auto', { autoLinkDomains: ['corp.example'] }));
      const owner = await t.addUser({ username: 'owner', email: 'owner@corp.example', emailVerified: true });
      const prof = profile({ issuer: `${UP_ISSUER}/auto`, email: 'owner@corp.example', emailVerified: true });
      const ok = await signInWith(prof, browser(), 'auto');
      codeReached(ok.res);
      assert.equal((await sessionOf(ok.b))?.userId, owner.id);
      assert.ok(t.events.some((e) => e.type === 'upstream_linked' && e.by === 'auto' && e.userId === owner.id));
      // Unverified upstream email in the domain: no link (a new account instead).
      const unverified = await signInWith(
        profile({ issuer: `${UP_ISSUER}/auto`, email: 'owner@corp.example' }),
        browser(),
        'auto',
      );
      assert.notEqual((await sessionOf(unverified.b))?.userId, owner.id);
      // The local account's address unverified: nothing matches, so no link.
      const loose = await t.addUser({ username: 'loose', email: 'loose@corp.example', emailVerified: false });
      const l = await signInWith(
        profile({ issuer: `${UP_ISSUER}/auto`, email: 'loose@corp.example', emailVerified: true }),
        browser(),
        'auto',
      );
      assert.notEqual((await sessionOf(l.b))?.userId, loose.id);
      // Outside the listed domains: refused as email in use.
      const other = await t.addUser({ username: 'other-owner', email: 'x@else.example', emailVerified: true });
      const o = await signInWith(
        profile({ issuer: `${UP_ISSUER}/auto`, email: 'x@else.example', emailVerified: true }),
        browser(),
        'auto',
      );
      assert.equal(statusOf(o.res), 409);
      assert.deepEqual(await t.p.stores.upstreamIdentities.listByUser(other.id), []);
      // A Microsoft preset never links automatically, whatever its list says.
      await t.p.stores.upstreams.put(providerRecord('ms', { preset: 'microsoft', autoLinkDomains: ['corp.example'] }));
      const owner2 = await t.addUser({ username: 'owner2', email: 'owner2@corp.example', emailVerified: true });
      const ms = await signInWith(
        profile({ issuer: `${UP_ISSUER}/ms`, email: 'owner2@corp.example', emailVerified: true }),
        browser(),
        'ms',
      );
      assert.equal(statusOf(ms.res), 409);
      assert.deepEqual(await t.p.stores.upstreamIdentities.listByUser(owner2.id), []);
      // An account holding an admin role is never linked on a provider's word, in a listed domain or not.
      const operator = await t.addUser({ username: 'op', email: 'op@corp.example', emailVerified: true });
      await t.p.stores.adminRoles.set({ userId: operator.id, role: 'support', grantedAt: 0, grantedBy: 'cli' });
      const op = await signInWith(
        profile({ issuer: `${UP_ISSUER}/auto`, email: 'op@corp.example', emailVerified: true }),
        browser(),
        'auto',
      );
      assert.equal(statusOf(op.res), 409);
      assert.deepEqual(await t.p.stores.upstreamIdentities.listByUser(operator.id), []);
    });

    it('Microsoft-shaped: the same email from another tenant is another identity; allowedTenants refuses other tenants', async () => {
      const tenantA = 'aaaaaaaa-0000-0000-0000-000000000001';
      const tenantB = 'bbbbbbbb-0000-0000-0000-000000000002';
      await t.p.stores.upstreams.put(
        providerRecord('entra', { preset: 'microsoft', issuer: 'https://login.example/{tenantid}/v2.0' }),
      );
      const first = await signInWith(
        profile({
          issuer: `https://login.example/${tenantA}/v2.0`,
          subject: 'oid-1',
          tenant: tenantA,
          email: 'boss@corp.example',
        }),
        browser(),
        'entra',
      );
      const alice = (await sessionOf(first.b))!.userId;
      // Another tenant, the same email (unverified, as Microsoft's always is), even the same oid: not alice.
      const second = await signInWith(
        profile({
          issuer: `https://login.example/${tenantB}/v2.0`,
          subject: 'oid-1',
          tenant: tenantB,
          email: 'boss@corp.example',
        }),
        browser(),
        'entra',
      );
      assert.notEqual((await sessionOf(second.b))?.userId, alice);
      await t.p.stores.upstreams.put(
        providerRecord('entra', {
          preset: 'microsoft',
          issuer: 'https://login.example/{tenantid}/v2.0',
          allowedTenants: [tenantA],
        }),
      );
      const refused = await signInWith(
        profile({ issuer: `https://login.example/${tenantB}/v2.0`, subject: 'oid-1', tenant: tenantB }),
        browser(),
        'entra',
      );
      assert.equal(statusOf(refused.res), 403);
      assert.ok(t.events.some((e) => e.type === 'upstream_login_failed' && e.reason === 'tenant'));
      const allowed = await signInWith(
        profile({ issuer: `https://login.example/${tenantA}/v2.0`, subject: 'oid-1', tenant: tenantA }),
        browser(),
        'entra',
      );
      assert.equal((await sessionOf(allowed.b))?.userId, alice);
    });

    it('allowedDomains: a verified email or Google hosted domain in the list; an unverified email does not count', async () => {
      await t.p.stores.upstreams.put(providerRecord('g', { allowedDomains: ['corp.example'] }));
      const g = (over: Partial<UpstreamProfile>) =>
        signInWith(profile({ issuer: `${UP_ISSUER}/g`, ...over }), browser(), 'g');
      assert.equal(statusOf((await g({ email: 'a1@corp.example', emailVerified: false })).res), 403);
      assert.equal(statusOf((await g({ email: 'a2@evil.example', emailVerified: true })).res), 403);
      codeReached((await g({ email: 'a3@corp.example', emailVerified: true })).res);
      codeReached((await g({ email: 'a4@gmail.example', emailVerified: true, hostedDomain: 'corp.example' })).res);
      assert.ok(t.events.some((e) => e.type === 'upstream_login_failed' && e.reason === 'domain'));
    });

    it('an identity linked to a disabled account does not sign in', async () => {
      const prof = profile();
      const first = await signInWith(prof);
      const userId = (await sessionOf(first.b))!.userId;
      const user = (await t.p.stores.users.get(userId))!;
      await t.p.stores.users.put({ ...user, disabled: true });
      const again = await signInWith(prof);
      assert.equal(statusOf(again.res), 403);
      assert.equal(again.b.cookies[SESSION_COOKIE], undefined);
      assert.ok(t.events.some((e) => e.type === 'upstream_login_failed' && e.reason === 'disabled'));
    });

    it('a just-in-time name never takes an existing or reserved name', async () => {
      await t.addUser({ username: 'mulder' });
      const a = await signInWith(profile({ username: 'Mulder' }));
      const made = (await t.p.stores.users.get((await sessionOf(a.b))!.userId))!;
      assert.match(made.username, /^mulder-[a-z0-9]{6}$/);
      const r = await signInWith(profile({ username: 'admin' }));
      assert.match((await t.p.stores.users.get((await sessionOf(r.b))!.userId))!.username, /^admin-[a-z0-9]{6}$/);
      const e = await signInWith(profile({ email: 'Ünïcode.Person+tag@x.example' }));
      assert.equal((await t.p.stores.users.get((await sessionOf(e.b))!.userId))!.username, 'unicode.person-tag');
      const none = await signInWith(profile({}));
      assert.match((await t.p.stores.users.get((await sessionOf(none.b))!.userId))!.username, /^user-[a-z0-9]{6}$/);
    });
  });

  describe('the hint and home-realm discovery', () => {
    it('tessera_idp_hint goes straight to an enabled provider, with login_hint passed on; ?hint=off shows the login page', async () => {
      const b = browser();
      const uid = await startAuthorization(b, { tessera_idp_hint: 'other', login_hint: 'dana' });
      const res = await showInteraction(p, t.request({}, { method: 'GET', cookies: b.cookies }), uid);
      assert.match(locationOf(res), /^https:\/\/up\.example\/authorize/);
      assert.equal(up.asked.at(-1)!.loginHint, 'dana');
      const off = await showInteraction(p, t.request({ hint: 'off' }, { method: 'GET', cookies: b.cookies }), uid);
      assert.equal(viewOf(off).name, 'login');
      // Unknown or disabled: ignored.
      for (const hint of ['off', 'nosuch']) {
        const b2 = browser();
        const u2 = await startAuthorization(b2, { tessera_idp_hint: hint });
        assert.equal(
          viewOf(await showInteraction(p, t.request({}, { method: 'GET', cookies: b2.cookies }), u2)).name,
          'login',
        );
      }
    });

    it('a login_hint or a username typed without a password in a provider’s home realm goes to that provider', async () => {
      await t.p.stores.upstreams.put(providerRecord('realm', { homeRealmDomains: ['realm.example'] }));
      const b = browser();
      const uid = await startAuthorization(b, { login_hint: 'someone@realm.example' });
      const res = await showInteraction(p, t.request({}, { method: 'GET', cookies: b.cookies }), uid);
      assert.match(locationOf(res), /^https:\/\/up\.example\/authorize/);
      assert.equal(up.asked.at(-1)!.loginHint, 'someone@realm.example');
      const b2 = browser();
      const u2 = await startAuthorization(b2);
      const login = viewOf(await showInteraction(p, t.request({}, { method: 'GET', cookies: b2.cookies }), u2)) as {
        csrf: string;
      };
      const typed = await submitLogin(
        p,
        t.request({ csrf: login.csrf, username: 'me@REALM.example', password: '' }, { cookies: b2.cookies }),
        u2,
      );
      assert.match(locationOf(typed), /^https:\/\/up\.example\/authorize/);
      // Another domain: the password check as ever.
      const other = await submitLogin(
        p,
        t.request({ csrf: login.csrf, username: 'me@else.example', password: '' }, { cookies: b2.cookies }),
        u2,
      );
      assert.equal(viewOf(other).name, 'login');
    });
  });

  it('amr: fed, then trusted RFC 8176 values, then what acrMap adds; acr mfa meets a policy without a second factor', async () => {
    await t.p.stores.upstreams.put(
      providerRecord('amr', {
        trustAmr: true,
        acrMap: { 'urn:up:strong': 'phrh', 'urn:up:mfa': 'urn:tessera:acr:mfa' },
      }),
    );
    const s = await signInWith(
      profile({ issuer: `${UP_ISSUER}/amr`, amr: ['pwd', 'otp', 'made-up'], acr: 'urn:up:strong' }),
      browser(),
      'amr',
    );
    assert.deepEqual((await sessionOf(s.b))?.amr, ['fed', 'pwd', 'otp', 'mfa', 'hwk']);
    await t.p.stores.upstreams.put(providerRecord('amr', { acrMap: { 'urn:up:mfa': 'urn:tessera:acr:mfa' } }));
    const m = await signInWith(
      profile({ issuer: `${UP_ISSUER}/amr`, amr: ['hwk'], acr: 'urn:up:mfa' }),
      browser(),
      'amr',
    );
    assert.deepEqual((await sessionOf(m.b))?.amr, ['fed', 'mfa']);
  });

  describe('after the first factor: exactly as after a password', () => {
    it('a user with an authenticator app passes it; the session made after it records the upstream identity', async () => {
      const prof = profile({ sid: 'up-sid-mfa' });
      const first = await signInWith(prof);
      const user = (await t.p.stores.users.get((await sessionOf(first.b))!.userId))!;
      const e = await beginTotp(t.p.stores, t.config, user, 'Tessera', t.clock.now());
      const code = () =>
        new TOTP({ secret: Secret.fromBase32(e.secret), digits: 6, period: 30 }).generate({
          timestamp: t.clock.now() * 1000,
        });
      assert.equal(await confirmTotp(t.p.stores, t.config, user.id, e.factor.id, code(), t.clock.now()), 'ok');
      t.clock.advance(30);
      const b = browser();
      const { res, uid } = await signInWith(prof, b);
      assert.equal(locationOf(res), `${TEST_ISSUER}/interaction/${uid}/mfa`);
      assert.equal(b.cookies[SESSION_COOKIE], undefined, 'no session before the second factor');
      const pending = await t.p.stores.signIns.getPending(tokenHash(b.cookies[SIGN_IN_COOKIE]!), t.clock.now());
      assert.deepEqual(pending?.amr, ['fed']);
      assert.equal(pending?.upstream?.subject, prof.subject);
      const csrf = csrfToken(p, `ia:${uid}:mfa`, b.cookies[INTERACTION_COOKIE]!);
      const done = b.take(await secondFactor(p, t.request({ csrf, code: code() }, { cookies: b.cookies }), uid));
      codeReached(done);
      const session = await sessionOf(b);
      assert.deepEqual(session?.amr, ['fed', 'otp', 'mfa']);
      // Two factors: a policy that requires a second factor lets this session through (no loop back to /mfa).
      const strict = { ...p, config: { ...p.config, mfa: 'required' as const } };
      assert.equal(await sessionGate(strict, t.request({}), session!, undefined, undefined), 'ok');
      assert.deepEqual(session?.upstream, {
        providerId: 'corp',
        issuer: prof.issuer,
        subject: prof.subject,
        sid: 'up-sid-mfa',
      });
    });

    it('TESSERA_EMAIL_VERIFICATION=before-sign-in holds back an account whose address is not verified', async () => {
      const held = await testProvider({
        TESSERA_EMAIL_VERIFICATION: 'before-sign-in',
        TESSERA_SMTP_URL: 'smtp://127.0.0.1:1',
      }).catch(() => testProvider({ TESSERA_EMAIL_VERIFICATION: 'before-sign-in' }));
      try {
        const u2 = queuedUpstream(UP_ISSUER);
        const hp: Provider = { ...held.p, upstream: u2.client };
        await held.addClient({ client_id: 'app', skip_consent: true });
        await held.p.stores.upstreams.put(providerRecord('corp'));
        const b = browser();
        const res0 = b.take(
          await authorize(
            hp,
            held.request(
              {
                client_id: 'app',
                redirect_uri: 'https://app.example/cb',
                response_type: 'code',
                scope: 'openid',
                code_challenge: 'A'.repeat(43),
                code_challenge_method: 'S256',
              },
              { method: 'GET', cookies: b.cookies },
            ),
          ),
        );
        const uid = new URL(locationOf(res0)).pathname.split('/').pop()!;
        const login = viewOf(
          await showInteraction(hp, held.request({}, { method: 'GET', cookies: b.cookies }), uid),
        ) as { csrf: string };
        b.take(await interactionUpstream(hp, held.request({ csrf: login.csrf }, { cookies: b.cookies }), uid, 'corp'));
        u2.answer(profile({ email: 'new@x.example', emailVerified: false }));
        const res = await upstreamCallback(
          hp,
          held.request({ code: 'c', state: u2.asked[0]!.state }, { method: 'GET', cookies: b.cookies }),
          '',
          'corp',
        );
        assert.equal(statusOf(res), 403);
        assert.equal(viewOf(res).name, 'email-unverified');
        // A verified upstream address signs in.
        const b2 = browser();
        const r2 = b2.take(
          await authorize(
            hp,
            held.request(
              {
                client_id: 'app',
                redirect_uri: 'https://app.example/cb',
                response_type: 'code',
                scope: 'openid',
                code_challenge: 'A'.repeat(43),
                code_challenge_method: 'S256',
              },
              { method: 'GET', cookies: b2.cookies },
            ),
          ),
        );
        const uid2 = new URL(locationOf(r2)).pathname.split('/').pop()!;
        const login2 = viewOf(
          await showInteraction(hp, held.request({}, { method: 'GET', cookies: b2.cookies }), uid2),
        ) as { csrf: string };
        b2.take(
          await interactionUpstream(hp, held.request({ csrf: login2.csrf }, { cookies: b2.cookies }), uid2, 'corp'),
        );
        u2.answer(profile({ email: 'ok@x.example', emailVerified: true }));
        const ok = await upstreamCallback(
          hp,
          held.request({ code: 'c', state: u2.asked[1]!.state }, { method: 'GET', cookies: b2.cookies }),
          '',
          'corp',
        );
        codeReached(ok);
      } finally {
        await held.close();
      }
    });
  });

  describe('the account area: account login, link, reauth', () => {
    it('the account login page lists the providers; its button and callback sign in to the account', async () => {
      const secret = 'an-account-login-secret-an-account-login-sec';
      const b = browser({ [ACCOUNT_LOGIN_COOKIE]: secret });
      const csrf = csrfToken(p, 'account-login', secret);
      assert.equal(
        statusOf(await accountUpstream(p, t.request({ csrf: 'x' }, { cookies: b.cookies }), '', 'corp')),
        403,
      );
      b.take(await accountUpstream(p, t.request({ csrf }, { cookies: b.cookies }), '', 'corp'));
      const prof = profile();
      up.answer(prof);
      const res = b.take(await callback(b, up.asked.at(-1)!.state));
      assert.equal(locationOf(res), `${TEST_ISSUER}/account`);
      assert.equal((await sessionOf(b))?.upstream?.subject, prof.subject);
      // The account login page's buttons, and home-realm discovery by a typed address with no password.
      const page = viewOf(
        await showAccount(p, t.request({}, { method: 'GET', cookies: { [ACCOUNT_LOGIN_COOKIE]: secret } })),
      );
      const actions = (page as { upstreams?: { action: string }[] }).upstreams?.map((u) => u.action);
      assert.ok(actions?.includes(`${TEST_ISSUER}/account/upstream/corp`), String(actions));
      await t.p.stores.upstreams.put(providerRecord('realm2', { homeRealmDomains: ['realm2.example'] }));
      const typed = await accountLogin(
        p,
        t.request(
          { csrf, username: 'me@realm2.example', password: '' },
          { cookies: { [ACCOUNT_LOGIN_COOKIE]: secret } },
        ),
      );
      assert.match(locationOf(typed), /^https:\/\/up\.example\/authorize/);
      assert.equal(up.asked.at(-1)!.loginHint, 'me@realm2.example');
    });

    it('link: for the signed-in user who started it; linked, exists, taken by another account', async () => {
      const alice = await t.addUser({ username: 'alice-link' });
      const mallory = await t.addUser({ username: 'mallory-link' });
      const b = browser(await t.signIn(alice.id));
      const startLink = async (userId: string) => {
        b.take(
          await beginUpstream(p, t.request({}, { cookies: b.cookies }), (await t.p.stores.upstreams.get('corp'))!, {
            purpose: 'link',
            userId,
            returnTo: '/account/linked',
          }),
        );
        return up.asked.at(-1)!.state;
      };
      const prof = profile({ email: 'alice@corp.example' });
      up.answer(prof);
      const linked = await callback(b, await startLink(alice.id));
      assert.equal(locationOf(linked), `${TEST_ISSUER}/account/linked?done=upstream-linked`);
      assert.ok(t.events.some((e) => e.type === 'upstream_linked' && e.by === 'user' && e.userId === alice.id));
      up.answer(prof);
      assert.equal(
        locationOf(await callback(b, await startLink(alice.id))),
        `${TEST_ISSUER}/account/linked?done=upstream-exists`,
      );
      // Mallory links an identity that is alice's: refused, alice keeps it.
      const mb = browser(await t.signIn(mallory.id));
      b.take(
        await beginUpstream(p, t.request({}, { cookies: mb.cookies }), (await t.p.stores.upstreams.get('corp'))!, {
          purpose: 'link',
          userId: mallory.id,
          returnTo: '/account/linked',
        }),
      );
      mb.cookies[UPSTREAM_COOKIE] = b.cookies[UPSTREAM_COOKIE]!;
      up.answer(prof);
      const taken = await callback(mb, up.asked.at(-1)!.state);
      assert.equal(locationOf(taken), `${TEST_ISSUER}/account/linked?done=upstream-taken`);
      assert.equal(
        (await t.p.stores.upstreamIdentities.find({ providerId: 'corp', issuer: prof.issuer, subject: prof.subject }))
          ?.userId,
        alice.id,
      );
      // A link started for alice, completed in a browser now signed in as mallory: refused.
      const s = await startLink(alice.id);
      b.cookies[SESSION_COOKIE] = mb.cookies[SESSION_COOKIE]!;
      up.answer(profile());
      const other = await callback(b, s);
      assert.equal(statusOf(other), 403);
      assert.equal((viewOf(other) as { link?: { href: string } }).link?.href, `${TEST_ISSUER}/account/linked`);
    });

    it('reauth: the identity must be this user’s; a new session with the same sid, or the second factor first', async () => {
      const prof = profile();
      const first = await signInWith(prof);
      const session = (await sessionOf(first.b))!;
      const b = first.b;
      const startReauth = async () => {
        b.take(
          await beginUpstream(p, t.request({}, { cookies: b.cookies }), (await t.p.stores.upstreams.get('corp'))!, {
            purpose: 'reauth',
            userId: session.userId,
            returnTo: '/account/security',
          }),
        );
        return up.asked.at(-1)!.state;
      };
      t.clock.advance(3600);
      up.answer(prof);
      const res = b.take(await callback(b, await startReauth()));
      assert.equal(locationOf(res), `${TEST_ISSUER}/account/security`);
      const renewed = (await sessionOf(b))!;
      assert.notEqual(renewed.idHash, session.idHash);
      assert.equal(renewed.sid, session.sid);
      assert.equal(renewed.authTime, t.clock.now());
      // Another identity (not linked to this user): refused.
      up.answer(profile());
      const wrong = await callback(b, await startReauth());
      assert.equal(statusOf(wrong), 403);
      assert.match(inEnglish(wrong), /not linked to your account/);
    });
  });
});
