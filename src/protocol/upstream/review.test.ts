// Adversarial review of upstream sign-in (issue 17): cases found by trying to break the callback and
// the linking rules, on every store backend (in-memory SQLite, and PostgreSQL when reachable, which
// is stricter about what text it stores). The upstream is an UpstreamClient of the test's own that
// returns the profile a case needs, as in callback.test.ts: what is under test is what Tessera does
// with an upstream's answer, whatever that upstream (possibly the attacker's) puts in it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPgDatabase } from '../../../test/fixtures/db.ts';
import { testProvider, type TestProvider } from '../../../test/fixtures/protocol.ts';
import type { UpstreamError, UpstreamProfile } from '../../ports/upstream-client.ts';
import type { UpstreamProvider } from '../../ports/upstreams.ts';
import { authorize } from '../endpoints/authorize.ts';
import { tokenHash } from '../hash.ts';
import { showInteraction } from '../interaction/interaction.ts';
import { SESSION_COOKIE } from '../interaction/session.ts';
import type { OAuthResponse, Provider } from '../provider.ts';
import { upstreamCallback } from './callback.ts';
import { interactionUpstream } from './signin.ts';
import { upstreamRecord } from '../../../test/fixtures/upstream-records.ts';
import { locationOf, queuedUpstream, statusOf, viewOf } from '../../../test/fixtures/upstream-account.ts';

const UP = 'https://up.example';

function providerRecord(id: string, over: Partial<UpstreamProvider> = {}): UpstreamProvider {
  return upstreamRecord(id, { label: `Provider ${id}`, issuer: `${UP}/${id}`, createdAt: 0, updatedAt: 0, ...over });
}

async function backendsToTest(): Promise<{ name: string; url?: string; drop?: () => Promise<void> }[]> {
  const pg = await createPgDatabase();
  return [{ name: 'sqlite' }, ...(pg ? [{ name: 'postgres', url: pg.url, drop: pg.drop }] : [])];
}

for (const backend of await backendsToTest()) {
  describe(`upstream sign-in review (${backend.name})`, () => {
    let t: TestProvider;
    let up: ReturnType<typeof queuedUpstream>;
    let p: Provider;
    let n = 0;

    before(async () => {
      t = await testProvider(backend.url ? { DATABASE_URL: backend.url } : {});
      up = queuedUpstream(UP);
      p = { ...t.p, upstream: up.client };
      await t.addClient({ client_id: 'app', skip_consent: true });
      await t.p.stores.upstreams.put(providerRecord('corp'));
    });
    after(async () => {
      await t.close();
      await backend.drop?.();
    });

    function browser() {
      const cookies: Record<string, string> = {};
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
    type Browser = ReturnType<typeof browser>;

    async function startAuthorization(b: Browser, extra: Record<string, string> = {}) {
      const res = b.take(
        await authorize(
          p,
          t.request(
            {
              ...extra,
              client_id: 'app',
              redirect_uri: 'https://app.example/cb',
              response_type: 'code',
              scope: 'openid',
              state: 'client-state',
              code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGUSMJ-cM0',
              code_challenge_method: 'S256',
            },
            { method: 'GET', cookies: b.cookies },
          ),
        ),
      );
      return new URL(locationOf(res)).pathname.split('/').pop()!;
    }

    /** A whole sign-in for the app through `provider`, the upstream answering `answer`. */
    async function signInWith(answer: UpstreamProfile | UpstreamError, b = browser(), provider = 'corp') {
      const uid = await startAuthorization(b);
      const login = viewOf(await showInteraction(p, t.request({}, { method: 'GET', cookies: b.cookies }), uid));
      const csrf = (login as { csrf: string }).csrf;
      b.take(await interactionUpstream(p, t.request({ csrf }, { cookies: b.cookies }), uid, provider));
      const state = up.asked.at(-1)!.state;
      up.answer(answer);
      const res = b.take(
        await upstreamCallback(p, t.request({ code: 'c', state }, { method: 'GET', cookies: b.cookies }), '', provider),
      );
      return { res, b };
    }
    const sessionOf = async (b: Browser) => {
      const v = b.cookies[SESSION_COOKIE];
      return v ? t.p.stores.sessions.get(tokenHash(v)) : undefined;
    };
    const profile = (over: Partial<UpstreamProfile> = {}): UpstreamProfile => ({
      issuer: `${UP}/corp`,
      subject: `review-${++n}`,
      emailVerified: false,
      ...over,
    });

    it('names with control characters from the upstream are cleaned as sign-up requires, never a 500', async () => {
      const { res, b } = await signInWith(
        profile({
          username: 'ctl',
          name: 'Eve\u0000 \u202eNull\u2028Line\n',
          givenName: '\u0000',
          familyName: 'Fam\u0007ily',
          sid: 'sid-ok',
        }),
      );
      assert.equal(statusOf(res), 303, JSON.stringify(res));
      const user = (await t.p.stores.users.get((await sessionOf(b))!.userId))!;
      for (const v of [user.name, user.givenName, user.familyName])
        assert.doesNotMatch(v ?? '', /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
      assert.equal(user.name, 'Eve \u202eNull Line');
      assert.equal(user.familyName, 'Fam ily');
      assert.equal(user.givenName, null);
    });

    it('a name cut to the longest allowed keeps whole characters (no lone surrogate)', async () => {
      const { res, b } = await signInWith(profile({ username: 'long', name: `${'a'.repeat(127)}😀😀` }));
      assert.equal(statusOf(res), 303, JSON.stringify(res));
      const user = (await t.p.stores.users.get((await sessionOf(b))!.userId))!;
      // 128 characters as sign-up counts them: the first emoji whole, not half of it.
      assert.equal(user.name, `${'a'.repeat(127)}😀`);
    });

    it('pre-hijacking: an account whose verified email only another upstream vouched for is never linked automatically', async () => {
      // The attacker runs (or administers) an upstream the operator added with just-in-time accounts,
      // and has it say the victim's address is verified: an account is made with that address.
      await t.p.stores.upstreams.put(providerRecord('partner', { issuer: `${UP}/partner` }));
      await t.p.stores.upstreams.put(
        providerRecord('corpauto', { issuer: `${UP}/corpauto`, autoLinkDomains: ['corp.example'] }),
      );
      const planted = await signInWith(
        profile({ issuer: `${UP}/partner`, username: 'victim', email: 'victim@corp.example', emailVerified: true }),
        browser(),
        'partner',
      );
      const attackerAccount = (await sessionOf(planted.b))!.userId;
      // The victim's first sign-in at the provider authoritative for corp.example must not land in it.
      const victim = await signInWith(
        profile({ issuer: `${UP}/corpauto`, email: 'victim@corp.example', emailVerified: true }),
        browser(),
        'corpauto',
      );
      assert.equal(statusOf(victim.res), 409, JSON.stringify(victim.res));
      assert.equal(victim.b.cookies[SESSION_COOKIE], undefined);
      const linked = await t.p.stores.upstreamIdentities.listByUser(attackerAccount);
      assert.deepEqual(
        linked.map((i) => i.providerId),
        ['partner'],
      );
      // An account the operator (or sign-up, by mail) verified still links automatically.
      const owner = await t.addUser({ username: 'owner', email: 'owner@corp.example', emailVerified: true });
      const ok = await signInWith(
        profile({ issuer: `${UP}/corpauto`, email: 'owner@corp.example', emailVerified: true }),
        browser(),
        'corpauto',
      );
      assert.equal((await sessionOf(ok.b))?.userId, owner.id);
    });

    it('a subject or sid with a NUL or other control character is refused as an invalid answer, not a 500', async () => {
      for (const over of [{ subject: 'sub\u0000x' }, { sid: 'sid\u0000x' }, { subject: 'sub\nx' }]) {
        const { res, b } = await signInWith(profile({ username: 'nul', ...over }));
        assert.equal(statusOf(res), 400, JSON.stringify(over));
        assert.equal(viewOf(res).name, 'upstream-problem');
        assert.equal(b.cookies[SESSION_COOKIE], undefined);
      }
    });

    it('TESSERA_COOKIE_SAMESITE=strict: a cross-site redirect back without the session cookie is re-posted once, same-site', async () => {
      const strict = { ...p, config: { ...p.config, cookieSameSite: 'strict' as const } };
      const b = browser();
      const uid = await startAuthorization(b);
      const login = viewOf(await showInteraction(p, t.request({}, { method: 'GET', cookies: b.cookies }), uid));
      const csrf = (login as { csrf: string }).csrf;
      b.take(await interactionUpstream(p, t.request({ csrf }, { cookies: b.cookies }), uid, 'corp'));
      const state = up.asked.at(-1)!.state;
      const crossSite = { 'sec-fetch-site': 'cross-site' };
      const first = await upstreamCallback(
        strict,
        t.request({ code: 'c', state }, { method: 'GET', cookies: b.cookies, headers: crossSite }),
        '',
        'corp',
      );
      assert.equal(first.kind, 'form_post', JSON.stringify(first));
      const fields = (first as { fields: Record<string, string> }).fields;
      assert.equal(fields.tessera_bounce, '1');
      assert.equal(fields.state, state, 'the state was not taken by the bounce');
      up.answer(profile({ username: 'strict-bounce' }));
      const second = b.take(
        await upstreamCallback(
          strict,
          t.request(fields, { method: 'POST', cookies: b.cookies, headers: { 'sec-fetch-site': 'same-origin' } }),
          '',
          'corp',
        ),
      );
      assert.ok(second.kind === 'redirect' || second.kind === 'page', JSON.stringify(second));
      assert.ok(await sessionOf(b), 'signed in after the bounce');
      // Lax (the default) needs no bounce for a redirect back.
      const lax = await upstreamCallback(
        p,
        t.request({ code: 'c', state: 'unknown' }, { method: 'GET', cookies: b.cookies, headers: crossSite }),
        '',
        'corp',
      );
      assert.notEqual(lax.kind, 'form_post');
    });

    it('an identity left linked to an account that is gone signs in as a new account, not refused forever', async () => {
      const subject = `orphan-${++n}`;
      await t.p.stores.upstreamIdentities.link({
        providerId: 'corp',
        issuer: `${UP}/corp`,
        subject,
        userId: 'deleted-user-id',
        email: null,
        createdAt: 0,
        lastUsedAt: 0,
      });
      const { res, b } = await signInWith(profile({ subject, username: 'orphan' }));
      assert.equal(statusOf(res), 303, JSON.stringify(res));
      const session = (await sessionOf(b))!;
      assert.notEqual(session.userId, 'deleted-user-id');
      const now = await t.p.stores.upstreamIdentities.find({ providerId: 'corp', issuer: `${UP}/corp`, subject });
      assert.equal(now?.userId, session.userId);
    });

    it('prompt=login and max_age of the application go on to the upstream; re-authentication asks prompt=login', async () => {
      for (const [extra, want] of [
        [{ prompt: 'login' }, { prompt: 'login', maxAge: 0 }],
        [{ max_age: '300' }, { maxAge: 300 }],
        [{}, {}],
      ] as const) {
        const b = browser();
        const uid = await startAuthorization(b, extra);
        const login = viewOf(await showInteraction(p, t.request({}, { method: 'GET', cookies: b.cookies }), uid));
        const csrf = (login as { csrf: string }).csrf;
        b.take(await interactionUpstream(p, t.request({ csrf }, { cookies: b.cookies }), uid, 'corp'));
        const asked = up.asked.at(-1)!;
        assert.deepEqual(
          { prompt: asked.prompt, maxAge: asked.maxAge },
          { prompt: undefined, maxAge: undefined, ...want },
        );
        // The state keeps the max_age, which the callback hands to the upstream client to check.
        const state = await t.p.stores.upstreamStates.consume(
          tokenHash(asked.state),
          'corp',
          tokenHash(b.cookies.tessera_upstream!),
          t.p.now(),
        );
        assert.equal(state?.maxAge, 'maxAge' in want ? want.maxAge : undefined);
      }
    });

    it('a disabled account with the verified email: no second account is made for its owner, under auto-link or not', async () => {
      const email = `disabled-${n}@corp.example`;
      const disabled = await t.addUser({ email, emailVerified: true, disabled: true });
      const before = (await t.p.stores.users.list()).length;
      const { res, b } = await signInWith(profile({ username: 'disabled-again', email, emailVerified: true }));
      assert.equal(statusOf(res), 409, JSON.stringify(res));
      assert.equal(b.cookies[SESSION_COOKIE], undefined);
      await t.p.stores.upstreams.put(providerRecord('corp', { autoLinkDomains: ['corp.example'] }));
      try {
        const auto = await signInWith(profile({ username: 'disabled-auto', email, emailVerified: true }));
        assert.equal(statusOf(auto.res), 403, JSON.stringify(auto.res));
        assert.equal(auto.b.cookies[SESSION_COOKIE], undefined);
      } finally {
        await t.p.stores.upstreams.put(providerRecord('corp'));
      }
      assert.equal((await t.p.stores.users.list()).length, before, 'no account was made');
      assert.deepEqual(await t.p.stores.upstreamIdentities.listByUser(disabled.id), []);
    });
  });
}
