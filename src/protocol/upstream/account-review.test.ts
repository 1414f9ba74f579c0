// Review of the account area's linked sign-ins (issue 17), over real SQLite stores: what the first
// tests did not reach. A session signed in through a provider must stay that provider's session when
// the account area replaces it (enrolling an authenticator app or a passkey to finish a sign-in,
// changing the password), or the provider's back-channel logout misses it. And the rule "never the
// last way in" must hold whichever way in is taken away last: an identity, or a passkey.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import { hashPassword } from '../../accounts/passwords.ts';
import type { FactorRecord } from '../../ports/factors.ts';
import type { SessionUpstream } from '../../ports/sessions.ts';
import type { UpstreamLogout } from '../../ports/upstream-client.ts';
import type { UpstreamIdentity } from '../../ports/upstreams.ts';
import { testProvider, type TestProvider } from '../../../test/fixtures/protocol.ts';
import { chosenUpstream, upstreamRecord } from '../../../test/fixtures/upstream-account.ts';
import { changePassword } from '../account/password.ts';
import { removeFactor, showTotp, submitTotp } from '../account/security.ts';
import type { AccountView } from '../account/views.ts';
import { csrfToken, SESSION_COOKIE, startSession } from '../interaction/session.ts';
import type { OAuthResponse, Provider, ProtocolRequest } from '../provider.ts';
import { identityRef, unlinkUpstream } from './account.ts';
import { upstreamBackchannelLogout } from './backchannel.ts';

type Handler = (p: Provider, req: ProtocolRequest) => Promise<OAuthResponse>;
const ACME = 'https://acme.upstream.example';
const PASSWORD = 'correct horse battery staple';

describe('linked sign-ins, reviewed', () => {
  let t: TestProvider;
  let p: Provider;
  const answers = new Map<string, UpstreamLogout>();
  before(async () => {
    t = await testProvider({ TESSERA_MFA: 'optional' });
    p = { ...t.p, upstream: chosenUpstream({ logout: answers }) };
    await p.stores.upstreams.put(upstreamRecord('acme'));
  });
  after(() => t.close());

  let n = 0;
  /** The provider's back-channel logout of this subject; its answer's status. */
  async function upstreamLogout(subject: string): Promise<number> {
    const token = `review-token-${++n}`;
    answers.set(token, { issuer: ACME, subject, jti: `review-jti-${n}`, expiresAt: t.clock.now() + 120 });
    const r = await upstreamBackchannelLogout(p, t.request({ logout_token: token }), '', 'acme');
    return (r as { status: number }).status;
  }

  async function identity(userId: string, subject: string): Promise<UpstreamIdentity> {
    const i: UpstreamIdentity = {
      providerId: 'acme',
      issuer: ACME,
      subject,
      userId,
      email: null,
      createdAt: t.clock.now(),
      lastUsedAt: t.clock.now(),
    };
    assert.equal(await p.stores.upstreamIdentities.link(i), 'linked');
    return i;
  }

  /** A browser signed in through acme as `subject`, its forms, and the cookies responses set. */
  async function browser(userId: string, subject: string) {
    const upstream: SessionUpstream = { providerId: 'acme', issuer: ACME, subject, sid: `up-${subject}` };
    const started = await startSession(p, t.request({}), userId, ['fed'], upstream);
    const cookies: Record<string, string> = { [SESSION_COOKIE]: started.cookies[0]!.value };
    return {
      upstream,
      get: (h: Handler, params: Record<string, string> = {}) => h(p, t.request(params, { method: 'GET', cookies })),
      post: (h: Handler, purpose: string, params: Record<string, string> = {}) =>
        h(p, t.request({ csrf: csrfToken(p, purpose, cookies[SESSION_COOKIE]!), ...params }, { cookies })),
      take(r: OAuthResponse) {
        for (const c of (r as { cookies?: { name: string; value: string }[] }).cookies ?? []) cookies[c.name] = c.value;
      },
    };
  }
  const live = async (userId: string) => p.stores.sessions.listByUser(userId);

  it("an app enrolled to finish a provider sign-in keeps the session the provider's: its back-channel logout ends it", async () => {
    const u = await t.addUser();
    await identity(u.id, 'enrol-sub');
    const b = await browser(u.id, 'enrol-sub');
    const page = (await b.get(showTotp, { continue: '/interaction/abc_123' })) as {
      view: { account: AccountView };
    };
    const totp = page.view.account;
    assert.equal(totp.page, 'totp');
    if (totp.page !== 'totp') return;
    const code = new TOTP({ secret: Secret.fromBase32(totp.secret!), digits: 6, period: 30 }).generate({
      timestamp: t.clock.now() * 1000,
    });
    const done = await b.post(submitTotp, 'account:totp', {
      factor_id: totp.factorId,
      code,
      continue: '/interaction/abc_123',
    });
    b.take(done);
    const [session] = await live(u.id);
    assert.deepEqual(session?.amr, ['fed', 'otp', 'mfa']);
    assert.deepEqual(session?.upstream, b.upstream, 'the new session still records the upstream sign-in');
    assert.equal(await upstreamLogout('enrol-sub'), 200);
    assert.deepEqual(await live(u.id), [], "the provider's logout ended it");
  });

  it("a password changed in a session signed in through a provider leaves it the provider's session", async () => {
    const u = await t.addUser({ passwordHash: await hashPassword(PASSWORD) });
    await identity(u.id, 'pwd-sub');
    const b = await browser(u.id, 'pwd-sub');
    const r = await b.post(changePassword, 'account:password', {
      current: PASSWORD,
      password: 'another long passphrase here',
      confirm: 'another long passphrase here',
    });
    assert.equal(r.kind, 'redirect', JSON.stringify(r));
    b.take(r);
    const [session] = await live(u.id);
    assert.deepEqual(session?.upstream, b.upstream);
    assert.equal(await upstreamLogout('pwd-sub'), 200);
    assert.deepEqual(await live(u.id), []);
  });

  it('never the last way in: an account without a password cannot remove its last passkey once its identity is unlinked', async () => {
    const u = await t.addUser();
    const i = await identity(u.id, 'last-sub');
    const passkey: FactorRecord = {
      id: `passkey-${Math.random().toString(36).slice(2)}`,
      userId: u.id,
      kind: 'passkey',
      name: 'Laptop',
      createdAt: t.clock.now(),
      lastUsedAt: null,
      confirmed: true,
      secret: null,
      credentialId: `cred-${Math.random().toString(36).slice(2)}`,
      publicKey: null,
      counter: 0,
      transports: [],
      backupEligible: false,
      backedUp: false,
      aaguid: null,
    };
    assert.ok(await p.stores.factors.create(passkey));
    const b = await browser(u.id, 'last-sub');
    // The passkey is another way in, so the identity may go.
    const unlinked = await b.post(unlinkUpstream, 'account:linked', { identity: identityRef(i) });
    assert.equal(
      (unlinked as { location: string }).location,
      `${t.config.issuer}/account/linked?done=upstream-unlinked`,
    );
    // Now the passkey is the only way in: removing it would leave an account nobody can enter.
    const r = await b.post(removeFactor, 'account:security', { factor_id: passkey.id });
    assert.equal(r.kind, 'page', JSON.stringify(r));
    assert.match(JSON.stringify(r), /"account\.security\.lastPasskey"/);
    assert.equal((await p.stores.factors.listByUser(u.id)).filter((f) => f.kind === 'passkey').length, 1);

    // With an identity linked again (or a password), the passkey may go.
    await identity(u.id, 'last-sub-2');
    const ok = await b.post(removeFactor, 'account:security', { factor_id: passkey.id });
    assert.equal((ok as { location: string }).location, `${t.config.issuer}/account/security?done=removed`);
  });
});
