// Linked sign-ins in the account area, over real SQLite stores (test/fixtures/protocol.ts): the list,
// linking (a recent sign-in, then the redirect with its state), unlinking (own identities only, never
// the last way in, sessions it started elsewhere ended), re-authentication through a linked provider,
// and the account's deletion and data export with its identities.
import { t as english, type Msg } from '../../i18n/catalog.ts';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashPassword } from '../../accounts/passwords.ts';
import type { FactorRecord } from '../../ports/factors.ts';
import type { SessionUpstream } from '../../ports/sessions.ts';
import type { UpstreamIdentity } from '../../ports/upstreams.ts';
import { testProvider, type TestProvider } from '../../../test/fixtures/protocol.ts';
import { chosenUpstream, upstreamRecord } from '../../../test/fixtures/upstream-account.ts';
import { exportData } from '../account/data.ts';
import { submitDelete } from '../account/delete.ts';
import { deleteAccount } from '../account/delete-account.ts';
import { showReauth } from '../account/reauth.ts';
import type { AccountView } from '../account/views.ts';
import { tokenHash } from '../hash.ts';
import { csrfToken, SESSION_COOKIE, startSession } from '../interaction/session.ts';
import type { OAuthResponse, Provider, ProtocolRequest } from '../provider.ts';
import { identityRef, linkUpstream, reauthUpstream, showLinked, unlinkUpstream } from './account.ts';
import { takeState, UPSTREAM_COOKIE } from './state.ts';

type Handler = (p: Provider, req: ProtocolRequest) => Promise<OAuthResponse>;

const accountOf = (r: OAuthResponse): AccountView => {
  assert.equal(r.kind, 'page', `not a page: ${JSON.stringify(r)}`);
  const v = (r as { view: { name: string; account?: AccountView } }).view;
  assert.equal(v.name, 'account-area', `not an account page: ${JSON.stringify(v)}`);
  return v.account!;
};
const linkedOf = (r: OAuthResponse) => {
  const a = accountOf(r);
  assert.equal(a.page, 'linked');
  return a as Extract<AccountView, { page: 'linked' }>;
};
const locationOf = (r: OAuthResponse): string => {
  assert.equal(r.kind, 'redirect', `not a redirect: ${JSON.stringify(r)}`);
  return (r as { location: string }).location;
};
const statusOf = (r: OAuthResponse) => (r as { status?: number }).status;

describe('linked sign-ins (account area)', () => {
  let t: TestProvider;
  let p: Provider;
  let client: ReturnType<typeof chosenUpstream>;
  before(async () => {
    t = await testProvider({ TESSERA_MFA: 'optional' });
    client = chosenUpstream({ down: new Set(['downco']) });
    p = { ...t.p, upstream: client };
    await p.stores.upstreams.put(upstreamRecord('acme', { order: 1 }));
    await p.stores.upstreams.put(upstreamRecord('globex', { order: 2 }));
    await p.stores.upstreams.put(upstreamRecord('initech', { enabled: false, order: 3 }));
    await p.stores.upstreams.put(upstreamRecord('downco', { order: 4 }));
  });
  after(() => t.close());

  async function user(password: boolean) {
    return t.addUser(password ? { passwordHash: await hashPassword('correct horse battery staple') } : {});
  }
  async function identity(userId: string, providerId: string, subject: string, email: string | null = null) {
    const i: UpstreamIdentity = {
      providerId,
      issuer: `https://${providerId}.upstream.example`,
      subject,
      userId,
      email,
      createdAt: t.clock.now(),
      lastUsedAt: t.clock.now(),
    };
    assert.equal(await p.stores.upstreamIdentities.link(i), 'linked');
    return i;
  }
  /** A signed-in browser (optionally signed in through an upstream identity) and its forms. */
  async function browser(userId: string, upstream?: SessionUpstream) {
    const started = await startSession(p, t.request({}), userId, upstream ? ['fed'] : ['pwd'], upstream);
    const cookies: Record<string, string> = { [SESSION_COOKIE]: started.cookies[0]!.value };
    return {
      cookies,
      session: started.session,
      get: (h: Handler, params: Record<string, string> = {}) => h(p, t.request(params, { method: 'GET', cookies })),
      post: (h: Handler, purpose: string, params: Record<string, string> = {}) =>
        h(p, t.request({ csrf: csrfToken(p, purpose, cookies[SESSION_COOKIE]!), ...params }, { cookies })),
    };
  }
  const linkedOfUser = async (userId: string) =>
    (await p.stores.upstreamIdentities.listByUser(userId)).map((i) => `${i.providerId}:${i.subject}`).sort();

  it('without a session the page and its forms go to the sign-in page and change nothing', async () => {
    const u = await user(true);
    const i = await identity(u.id, 'acme', 'anon-1');
    const asked = client.asked.length;
    assert.equal(locationOf(await showLinked(p, t.request({}, { method: 'GET' }))), `${t.config.issuer}/account`);
    for (const h of [linkUpstream, unlinkUpstream, reauthUpstream])
      assert.equal(
        locationOf(await h(p, t.request({ csrf: 'x', provider: 'acme', identity: identityRef(i) }))),
        `${t.config.issuer}/account`,
      );
    assert.deepEqual(await linkedOfUser(u.id), ['acme:anon-1']);
    assert.equal(client.asked.length, asked, 'no redirect was started');
  });

  it('lists the identities by label, email and dates, never by subject; offers only enabled providers not linked', async () => {
    const u = await user(true);
    await identity(u.id, 'acme', 'subject-secret-1', 'ann@acme.example');
    const b = await browser(u.id);
    const page = linkedOf(await b.get(showLinked));
    assert.equal(page.identities.length, 1);
    const row = page.identities[0]!;
    assert.equal(row.providerLabel, 'Acme');
    assert.equal(row.email, 'ann@acme.example');
    assert.equal(row.ref.length, 22);
    assert.equal(row.ref, tokenHash('acme\nhttps://acme.upstream.example\nsubject-secret-1').slice(0, 22));
    assert.doesNotMatch(JSON.stringify(page), /subject-secret-1/);
    // acme is linked already, initech is turned off.
    assert.deepEqual(
      page.available.map((x) => x.id),
      ['globex', 'downco'],
    );
    assert.equal(page.csrf, csrfToken(p, 'account:linked', b.cookies[SESSION_COOKIE]!));
    // The Link buttons' redirects go to those providers: the page's CSP form-action allows them, no other.
    assert.deepEqual(((await b.get(showLinked)) as { formActions?: string[] }).formActions, [
      'https://globex.upstream.example',
      'https://downco.upstream.example',
    ]);
  });

  it('shows the notices the callback sends back, refusals as errors, and nothing for other keys', async () => {
    const b = await browser((await user(true)).id);
    const done = async (key: string) => linkedOf(await b.get(showLinked, { done: key }));
    assert.equal((await done('upstream-linked')).notice?.key, 'account.linked.done');
    assert.equal((await done('upstream-exists')).notice?.key, 'account.linked.exists');
    assert.equal((await done('upstream-unlinked')).notice?.key, 'account.linked.unlinked');
    assert.equal((await done('upstream-taken')).error?.key, 'account.linked.taken');
    assert.equal((await done('upstream-last')).error?.key, 'account.linked.last');
    assert.equal((await done('upstream-failed')).error?.key, 'account.linked.failed');
    for (const key of ['constructor', '__proto__', 'toString', 'nope']) {
      const v = await done(key);
      assert.equal(v.notice, undefined, key);
      assert.equal(v.error, undefined, key);
    }
    assert.equal(statusOf(await b.get(showLinked, { done: 'upstream-taken' })), 200);
  });

  it('every form refuses a missing, wrong or other-purpose CSRF token (403), changing nothing', async () => {
    const u = await user(true);
    const i = await identity(u.id, 'acme', 'csrf-1');
    const b = await browser(u.id);
    const forms: [Handler, string][] = [
      [linkUpstream, 'account:linked'],
      [unlinkUpstream, 'account:linked'],
      [reauthUpstream, 'account:reauth'],
    ];
    const asked = client.asked.length;
    for (const [h, purpose] of forms) {
      const other = purpose === 'account:linked' ? 'account:reauth' : 'account:linked';
      for (const csrf of [undefined, 'bad', csrfToken(p, other, b.cookies[SESSION_COOKIE]!)]) {
        const params: Record<string, string> = { provider: 'acme', identity: identityRef(i), return: '/account' };
        if (csrf) params.csrf = csrf;
        assert.equal(statusOf(await h(p, t.request(params, { cookies: b.cookies }))), 403, `${h.name} ${csrf}`);
      }
    }
    // Another browser's token (same purpose, other session) is refused too.
    const other = await browser(u.id);
    const stolen = csrfToken(p, 'account:linked', other.cookies[SESSION_COOKIE]!);
    const r = await unlinkUpstream(p, t.request({ csrf: stolen, identity: identityRef(i) }, { cookies: b.cookies }));
    assert.equal(statusOf(r), 403);
    assert.deepEqual(await linkedOfUser(u.id), ['acme:csrf-1']);
    assert.equal(client.asked.length, asked, 'no redirect was started');
  });

  it('linking needs a recent sign-in, then sends the browser to the provider with a state bound to it and the user', async () => {
    const u = await user(true);
    const b = await browser(u.id);
    t.clock.advance(t.config.recentAuth + 1);
    const asked = client.asked.length;
    const stale = await b.post(linkUpstream, 'account:linked', { provider: 'globex' });
    assert.equal(locationOf(stale), `${t.config.issuer}/account/reauth?return=%2Faccount%2Flinked`);
    assert.equal(client.asked.length, asked, 'no redirect before the sign-in again');

    const fresh = await browser(u.id);
    const r = await fresh.post(linkUpstream, 'account:linked', { provider: 'globex' });
    const location = new URL(locationOf(r));
    assert.equal(location.origin, 'https://globex.upstream.example');
    assert.equal(location.searchParams.get('redirect_uri'), `${t.config.issuer}/upstream/globex/callback`);
    const cookie = (r as { cookies?: { name: string; value: string }[] }).cookies?.find(
      (c) => c.name === UPSTREAM_COOKIE,
    );
    assert.ok(cookie, 'the binding cookie is set');
    const state = location.searchParams.get('state')!;
    // The state is the provider's and this browser's only.
    assert.equal(
      await takeState(p, t.request({ state }, { cookies: { [UPSTREAM_COOKIE]: 'x'.repeat(43) } }), 'globex'),
      undefined,
    );
    assert.equal(
      await takeState(p, t.request({ state }, { cookies: { [UPSTREAM_COOKIE]: cookie.value } }), 'acme'),
      undefined,
    );
    const taken = await takeState(p, t.request({ state }, { cookies: { [UPSTREAM_COOKIE]: cookie.value } }), 'globex');
    assert.equal(taken?.purpose, 'link');
    assert.equal(taken?.userId, u.id);
    assert.equal(taken?.returnTo, '/account/linked');
  });

  it('linking refuses unknown, disabled and malformed providers (404) and shows a 503 page when the provider is down', async () => {
    const b = await browser((await user(true)).id);
    for (const provider of ['nope', 'initech', '../acme', 'ACME', '', 'a'.repeat(40)]) {
      const r = await b.post(linkUpstream, 'account:linked', { provider });
      assert.equal(statusOf(r), 404, provider);
    }
    const before = t.events.length;
    const down = await b.post(linkUpstream, 'account:linked', { provider: 'downco' });
    assert.equal(statusOf(down), 503);
    const view = (down as { view: { name: string; title: Msg; link?: { href: string } } }).view;
    assert.equal(view.name, 'error');
    assert.match(english('en', view.title), /Downco/);
    assert.equal(view.link?.href, `${t.config.issuer}/account/linked`);
    assert.deepEqual(
      t.events.slice(before).map((e) => e.type),
      ['upstream_login_failed'],
    );
  });

  it("unlinks the user's own identity; another user's reference is not found and that identity stays", async () => {
    const ann = await user(true);
    const bob = await user(true);
    const annId = await identity(ann.id, 'acme', 'ann-sub');
    const bobId = await identity(bob.id, 'acme', 'bob-sub');
    const b = await browser(ann.id);
    for (const ref of [identityRef(bobId), 'A'.repeat(22), 'short', 'bob-sub']) {
      const r = await b.post(unlinkUpstream, 'account:linked', { identity: ref });
      assert.equal(statusOf(r), 404, ref);
    }
    assert.deepEqual(await linkedOfUser(bob.id), ['acme:bob-sub']);
    const before = t.events.length;
    const r = await b.post(unlinkUpstream, 'account:linked', { identity: identityRef(annId) });
    assert.equal(locationOf(r), `${t.config.issuer}/account/linked?done=upstream-unlinked`);
    assert.deepEqual(await linkedOfUser(ann.id), []);
    assert.deepEqual(
      t.events.slice(before).filter((e) => e.type === 'upstream_unlinked'),
      [{ type: 'upstream_unlinked', userId: ann.id, provider: 'acme', by: 'user' }],
    );
    // Once more: it is gone.
    assert.equal(statusOf(await b.post(unlinkUpstream, 'account:linked', { identity: identityRef(annId) })), 404);
  });

  it('unlinking needs a recent sign-in', async () => {
    const u = await user(true);
    const i = await identity(u.id, 'acme', 'stale-sub');
    const b = await browser(u.id);
    t.clock.advance(t.config.recentAuth + 1);
    const r = await b.post(unlinkUpstream, 'account:linked', { identity: identityRef(i) });
    assert.equal(locationOf(r), `${t.config.issuer}/account/reauth?return=%2Faccount%2Flinked`);
    assert.deepEqual(await linkedOfUser(u.id), ['acme:stale-sub']);
  });

  it('refuses to unlink the last way in: no password, no passkey, one identity; a second identity or a passkey allows it', async () => {
    const u = await user(false);
    const first = await identity(u.id, 'acme', 'only-1');
    const b = await browser(u.id, { providerId: 'acme', issuer: first.issuer, subject: first.subject });
    const last = await b.post(unlinkUpstream, 'account:linked', { identity: identityRef(first) });
    assert.equal(locationOf(last), `${t.config.issuer}/account/linked?done=upstream-last`);
    assert.deepEqual(await linkedOfUser(u.id), ['acme:only-1']);

    const second = await identity(u.id, 'globex', 'only-2');
    assert.equal(
      locationOf(await b.post(unlinkUpstream, 'account:linked', { identity: identityRef(first) })),
      `${t.config.issuer}/account/linked?done=upstream-unlinked`,
    );
    assert.equal(
      locationOf(await b.post(unlinkUpstream, 'account:linked', { identity: identityRef(second) })),
      `${t.config.issuer}/account/linked?done=upstream-last`,
    );
    assert.deepEqual(await linkedOfUser(u.id), ['globex:only-2']);

    // A passkey is a way in of its own (passkey-first sign-in); an authenticator app is not.
    const factor = (kind: 'totp' | 'passkey'): FactorRecord => ({
      id: `f-${kind}-${Math.random().toString(36).slice(2)}`,
      userId: u.id,
      kind,
      name: kind,
      createdAt: t.clock.now(),
      lastUsedAt: null,
      confirmed: true,
      secret: null,
      credentialId: kind === 'passkey' ? `cred-${Math.random().toString(36).slice(2)}` : null,
      publicKey: null,
      counter: 0,
      transports: [],
      backupEligible: false,
      backedUp: false,
      aaguid: null,
    });
    assert.ok(await p.stores.factors.create(factor('totp')));
    assert.equal(
      locationOf(await b.post(unlinkUpstream, 'account:linked', { identity: identityRef(second) })),
      `${t.config.issuer}/account/linked?done=upstream-last`,
    );
    assert.ok(await p.stores.factors.create(factor('passkey')));
    assert.equal(
      locationOf(await b.post(unlinkUpstream, 'account:linked', { identity: identityRef(second) })),
      `${t.config.issuer}/account/linked?done=upstream-unlinked`,
    );
    assert.deepEqual(await linkedOfUser(u.id), []);
  });

  it('unlinking ends the sessions the identity started in other browsers (their clients told), not this one', async () => {
    const u = await user(true);
    const i = await identity(u.id, 'acme', 'sessions-sub');
    const key = { providerId: 'acme', issuer: i.issuer, subject: i.subject };
    const here = await browser(u.id, key);
    const elsewhere = await browser(u.id, key);
    const byPassword = await browser(u.id);
    const otherIdentity = await browser(u.id, { ...key, subject: 'someone-else' });
    const c = await t.addClient({ client_id: `rp-${Math.random().toString(36).slice(2)}` });
    await p.stores.sessions.addClient({
      sid: elsewhere.session.sid,
      clientId: c.clientId,
      userId: u.id,
      createdAt: t.clock.now(),
      expiresAt: t.clock.now() + 3600,
    });
    const r = await here.post(unlinkUpstream, 'account:linked', { identity: identityRef(i) });
    assert.equal(locationOf(r), `${t.config.issuer}/account/linked?done=upstream-unlinked`);
    const live = (await p.stores.sessions.listByUser(u.id)).map((s) => s.sid).sort();
    assert.deepEqual(live, [here.session.sid, byPassword.session.sid, otherIdentity.session.sid].sort());
    assert.deepEqual(await p.stores.sessions.takeClients(elsewhere.session.sid), [], 'its clients were taken (told)');
  });

  it('the re-authentication page offers linked enabled providers; a user without a password gets no password field', async () => {
    const u = await user(false);
    await identity(u.id, 'globex', 'reauth-1');
    await identity(u.id, 'initech', 'reauth-2');
    const b = await browser(u.id, {
      providerId: 'globex',
      issuer: 'https://globex.upstream.example',
      subject: 'reauth-1',
    });
    const v = accountOf(await b.get(showReauth, { return: '/account/delete' }));
    assert.equal(v.page, 'reauth');
    const reauth = v as Extract<AccountView, { page: 'reauth' }>;
    assert.deepEqual(reauth.providers, [{ id: 'globex', label: 'Globex' }]);
    assert.deepEqual(((await b.get(showReauth)) as { formActions?: string[] }).formActions, [
      'https://globex.upstream.example',
    ]);
    assert.equal(reauth.hasPassword, false);
    assert.equal(reauth.returnTo, '/account/delete');
    const withPassword = await user(true);
    const v2 = accountOf(await (await browser(withPassword.id)).get(showReauth)) as Extract<
      AccountView,
      { page: 'reauth' }
    >;
    assert.deepEqual(v2.providers, []);
    assert.equal(
      ((await (await browser(withPassword.id)).get(showReauth)) as { formActions?: string[] }).formActions,
      undefined,
    );
    assert.equal(v2.hasPassword, true);
  });

  it('re-authenticates through a linked provider only: the state carries the user and a safe way back', async () => {
    const u = await user(false);
    await identity(u.id, 'globex', 'ra-1');
    await identity(u.id, 'initech', 'ra-2');
    const b = await browser(u.id);
    // Not linked, turned off, unknown: refused before any redirect.
    for (const provider of ['acme', 'initech', 'nope']) {
      const r = await b.post(reauthUpstream, 'account:reauth', { provider, return: '/account/delete' });
      assert.equal(statusOf(r), 404, provider);
    }
    for (const [ret, expected] of [
      ['/account/delete', '/account/delete'],
      ['https://evil.example/account', '/account'],
      ['/account/../admin', '/account'],
    ] as const) {
      const r = await b.post(reauthUpstream, 'account:reauth', { provider: 'globex', return: ret });
      const location = new URL(locationOf(r));
      const binding = (r as { cookies: { name: string; value: string }[] }).cookies[0]!.value;
      const state = await takeState(
        p,
        t.request({ state: location.searchParams.get('state')! }, { cookies: { [UPSTREAM_COOKIE]: binding } }),
        'globex',
      );
      assert.equal(state?.purpose, 'reauth');
      assert.equal(state?.userId, u.id);
      assert.equal(state?.returnTo, expected, ret);
    }
  });

  it('deleting the account deletes its identities; the export lists them without anything secret', async () => {
    const u = await user(true);
    await identity(u.id, 'acme', 'export-sub', 'ann@acme.example');
    const b = await browser(u.id);
    const r = await b.post(exportData, 'account:data');
    assert.equal(r.kind, 'raw');
    const body = JSON.parse((r as { body: string }).body) as { linked_sign_ins: Record<string, unknown>[] };
    assert.deepEqual(body.linked_sign_ins, [
      {
        provider: 'acme',
        provider_name: 'Acme',
        issuer: 'https://acme.upstream.example',
        subject: 'export-sub',
        email: 'ann@acme.example',
        linked_at: new Date(t.clock.now() * 1000).toISOString(),
        last_used_at: new Date(t.clock.now() * 1000).toISOString(),
      },
    ]);
    assert.doesNotMatch((r as { body: string }).body, /client_secret|secretWrapped|codeVerifier/);
    assert.equal(await deleteAccount(p, u.id, 'operator'), true);
    assert.deepEqual(await linkedOfUser(u.id), []);
    assert.equal(
      await p.stores.upstreamIdentities.find({
        providerId: 'acme',
        issuer: 'https://acme.upstream.example',
        subject: 'export-sub',
      }),
      undefined,
    );
  });

  it('an account without a password is deleted after a recent sign-in, with the box ticked', async () => {
    const u = await user(false);
    await identity(u.id, 'acme', 'delete-sub');
    const b = await browser(u.id, {
      providerId: 'acme',
      issuer: 'https://acme.upstream.example',
      subject: 'delete-sub',
    });
    const unticked = await b.post(submitDelete, 'account:delete', {});
    assert.equal(statusOf(unticked), 400);
    assert.ok(await p.stores.users.get(u.id));
    t.clock.advance(t.config.recentAuth + 1);
    const stale = await b.post(submitDelete, 'account:delete', { confirm: 'yes' });
    assert.equal(locationOf(stale), `${t.config.issuer}/account/reauth?return=%2Faccount%2Fdelete`);
    assert.ok(await p.stores.users.get(u.id));
    const fresh = await browser(u.id, {
      providerId: 'acme',
      issuer: 'https://acme.upstream.example',
      subject: 'delete-sub',
    });
    const done = await fresh.post(submitDelete, 'account:delete', { confirm: 'yes' });
    assert.equal(statusOf(done), 200);
    assert.equal(await p.stores.users.get(u.id), undefined);
    assert.deepEqual(await linkedOfUser(u.id), []);
  });
});
