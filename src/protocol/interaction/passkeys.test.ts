import assert from 'node:assert/strict';
import { t as english, type Msg } from '../../i18n/catalog.ts';
import { after, before, describe, it } from 'node:test';
import { testProvider, TEST_ISSUER, type TestProvider } from '../../../test/fixtures/protocol.ts';
import { softAssert, softRegister } from '../../../test/fixtures/soft-authenticator.ts';
import type { UserRecord } from '../../ports/users.ts';
import type { OAuthResponse, PasskeysView } from '../provider.ts';
import { ACCOUNT_LOGIN_COOKIE } from './account.ts';
import { showAccount } from '../account/overview.ts';
import { accountPasskey, passkeyRegistrationOptionsEndpoint, passkeysPage } from './passkeys.ts';
import { SESSION_COOKIE } from './session.ts';

/** A response as JSON with its messages in English (the pages' words are catalog messages). */
const inEnglish = (res: unknown): string =>
  JSON.stringify(res, (_k, v: unknown) =>
    v && typeof v === 'object' && typeof (v as { key?: unknown }).key === 'string' && 'key' in v
      ? english('en', v as Msg)
      : v,
  );

const viewOf = (res: OAuthResponse) => {
  assert.equal(res.kind, 'page', JSON.stringify(res));
  return (res as { view: PasskeysView }).view;
};

describe('passkey registration in the account area', () => {
  let t: TestProvider;
  let alice: UserRecord;
  before(async () => {
    t = await testProvider();
    alice = await t.addUser({ username: 'alice', email: 'alice@example.com' });
  });
  after(() => t.close());

  it('needs a session, and a sign-in within TESSERA_RECENT_AUTH', async () => {
    const none = await passkeysPage(t.p, t.request({}, { method: 'GET' }));
    assert.deepEqual(none, { kind: 'redirect', location: `${TEST_ISSUER}/account` });
    const cookies = await t.signIn(alice.id);
    assert.equal((await passkeysPage(t.p, t.request({}, { method: 'GET', cookies }))).kind, 'page');
    t.clock.advance(t.p.config.recentAuth + 1);
    // Signed in, but not lately: re-authentication, which comes back here (with the sign-in in progress).
    const stale = await passkeysPage(t.p, t.request({}, { method: 'GET', cookies }));
    assert.deepEqual(stale, {
      kind: 'redirect',
      location: `${TEST_ISSUER}/account/reauth?return=${encodeURIComponent('/account/security/passkeys')}`,
    });
    const staleInSignIn = await passkeysPage(
      t.p,
      t.request({ continue: '/interaction/abc' }, { method: 'GET', cookies }),
    );
    assert.deepEqual(staleInSignIn, {
      kind: 'redirect',
      location: `${TEST_ISSUER}/account/reauth?return=${encodeURIComponent('/account/security/passkeys?continue=/interaction/abc')}`,
    });
    const options = await passkeyRegistrationOptionsEndpoint(t.p, t.request({}, { method: 'GET', cookies }));
    assert.equal(options.kind === 'json' && options.status, 400);
  });

  it('registers with the CSRF token, names the passkey, reports factor_added; refuses a bad form or continue', async () => {
    const cookies = await t.signIn(alice.id);
    const view = viewOf(
      await passkeysPage(t.p, t.request({ continue: '/interaction/abc' }, { method: 'GET', cookies })),
    );
    assert.deepEqual(view.continueTo, { path: '/interaction/abc', url: `${TEST_ISSUER}/interaction/abc` });
    const odd = viewOf(await passkeysPage(t.p, t.request({ continue: '//evil.example' }, { method: 'GET', cookies })));
    assert.equal(odd.continueTo, undefined);
    const { json } = softRegister(JSON.parse(view.options), TEST_ISSUER);
    const post = (fields: Record<string, string>) => passkeysPage(t.p, t.request(fields, { method: 'POST', cookies }));
    assert.equal(((await post({ csrf: 'wrong', response: json })) as { status: number }).status, 403);
    const badContinue = await post({ csrf: view.csrf, response: json, continue: 'https://evil.example/' });
    assert.equal((badContinue as { status: number }).status, 400);
    // A malformed answer (transports not a list) is a 400 page, not a thrown error.
    const untidy = JSON.parse(json);
    untidy.response.transports = 'usb';
    const malformed = await post({ csrf: view.csrf, response: JSON.stringify(untidy) });
    assert.equal(malformed.kind === 'page' && malformed.status, 400);
    assert.equal((await t.p.stores.factors.listByUser(alice.id)).length, 0, 'nothing stored by refused forms');
    const added = viewOf(await post({ csrf: view.csrf, response: json, name: '  Work\u0007 laptop ' }));
    assert.equal(added.added, 'Work laptop');
    const [factor] = await t.p.stores.factors.listByUser(alice.id);
    assert.equal(factor?.name, 'Work laptop');
    assert.ok(t.events.some((e) => e.type === 'factor_added' && e.userId === alice.id && e.factorId === factor!.id));
  });

  it('signs in to the account with a passkey; a failure is the login page with a generic error and an event', async () => {
    const bob = await t.addUser({ username: 'bob' });
    const cookies = await t.signIn(bob.id);
    const view = viewOf(await passkeysPage(t.p, t.request({}, { method: 'GET', cookies })));
    const { credential, json } = softRegister(JSON.parse(view.options), TEST_ISSUER);
    viewOf(await passkeysPage(t.p, t.request({ csrf: view.csrf, response: json }, { method: 'POST', cookies })));
    // The account login page of a new browser: its options and CSRF token.
    const secret = 'a-browser-secret-a-browser-secret-abcdefghi';
    const login = (await showAccount(
      t.p,
      t.request({}, { method: 'GET', cookies: { [ACCOUNT_LOGIN_COOKIE]: secret } }),
    )) as {
      view: { csrf: string; passkey: { options: string } };
    };
    const answer = softAssert(credential, JSON.parse(login.view.passkey.options), TEST_ISSUER);
    const browser = { [ACCOUNT_LOGIN_COOKIE]: secret };
    const ok = await accountPasskey(
      t.p,
      t.request({ csrf: login.view.csrf, response: answer }, { method: 'POST', cookies: browser }),
    );
    assert.equal(ok.kind, 'redirect');
    // The same event and log line as a password sign-in, with the request's address.
    assert.ok(t.events.some((e) => e.type === 'login_succeeded' && e.userId === bob.id && e.ip === '192.0.2.1'));
    const line = t.logs.find((l) => l.msg === 'login succeeded' && (l.obj as { sub?: string }).sub === bob.id);
    assert.deepEqual(line?.obj, {
      event: 'login_succeeded',
      sub: bob.id,
      ip: '192.0.2.1',
      method: 'passkey',
      page: 'account',
    });
    const cookie = (ok as { cookies: { name: string }[] }).cookies[0]!;
    assert.equal(cookie.name, SESSION_COOKIE);
    const again = await accountPasskey(
      t.p,
      t.request({ csrf: login.view.csrf, response: answer }, { method: 'POST', cookies: browser }),
    );
    assert.equal(again.kind === 'page' && again.status, 400);
    assert.match(inEnglish(again), /could not be used to sign you in/);
    assert.equal(again.kind === 'page' && again.view.name === 'login' && again.view.passkeyError, true);
    assert.ok(
      t.events.some(
        (e) =>
          e.type === 'passkey_login_failed' && e.reason === 'replayed' && e.userId === bob.id && e.ip === '192.0.2.1',
      ),
    );
  });
  it('logs and reports no challenge, assertion or attestation of a refused or accepted ceremony', async () => {
    const erin = await t.addUser({ username: 'erin' });
    const cookies = await t.signIn(erin.id);
    const view = viewOf(await passkeysPage(t.p, t.request({}, { method: 'GET', cookies })));
    const options = JSON.parse(view.options);
    const post = (response: string) =>
      passkeysPage(t.p, t.request({ csrf: view.csrf, response }, { method: 'POST', cookies }));
    // Refused (another origin), then accepted.
    const refused = softRegister(options, TEST_ISSUER, { origin: 'https://evil.example' }).json;
    assert.equal(((await post(refused)) as { status: number }).status, 400);
    const { credential, json } = softRegister(options, TEST_ISSUER);
    viewOf(await post(json));
    const secret = 'another-browser-secret-another-browser-secret';
    const browser = { [ACCOUNT_LOGIN_COOKIE]: secret };
    const login = (await showAccount(t.p, t.request({}, { method: 'GET', cookies: browser }))) as {
      view: { csrf: string; passkey: { options: string } };
    };
    const loginOptions = JSON.parse(login.view.passkey.options);
    const bad = softAssert(credential, loginOptions, TEST_ISSUER, { userVerified: false });
    const good = softAssert(credential, loginOptions, TEST_ISSUER);
    for (const answer of [bad, good, good])
      await accountPasskey(
        t.p,
        t.request({ csrf: login.view.csrf, response: answer }, { method: 'POST', cookies: browser }),
      );
    const secrets = [options.challenge, loginOptions.challenge];
    for (const a of [refused, json, bad, good]) {
      const r = JSON.parse(a).response;
      secrets.push(r.clientDataJSON, r.attestationObject ?? r.signature);
    }
    for (const c of [options.challenge, loginOptions.challenge])
      secrets.push(Buffer.from(c, 'base64url').toString('utf8').split('.')[0]!);
    const written = JSON.stringify([t.logs, t.events]);
    assert.ok(
      t.events.some((e) => e.type === 'passkey_login_failed'),
      'the refusals were reported',
    );
    for (const s of secrets) assert.ok(!written.includes(s), `not in logs or events: ${s.slice(0, 16)}...`);
  });
});

describe('passkey sign-in under TESSERA_EMAIL_VERIFICATION=before-sign-in', () => {
  let t: TestProvider;
  before(async () => {
    t = await testProvider({ TESSERA_EMAIL_VERIFICATION: 'before-sign-in' });
  });
  after(() => t.close());

  it('holds back an account whose address is not verified, as a password sign-in is', async () => {
    const carol = await t.addUser({ username: 'carol', email: 'carol@example.com' });
    const cookies = await t.signIn(carol.id);
    const view = viewOf(await passkeysPage(t.p, t.request({}, { method: 'GET', cookies })));
    const { credential, json } = softRegister(JSON.parse(view.options), TEST_ISSUER);
    viewOf(await passkeysPage(t.p, t.request({ csrf: view.csrf, response: json }, { method: 'POST', cookies })));
    const signInWithPasskey = async () => {
      const secret = `browser-secret-${Math.random().toString(36).slice(2)}-abcdefghijklmnop`;
      const login = (await showAccount(
        t.p,
        t.request({}, { method: 'GET', cookies: { [ACCOUNT_LOGIN_COOKIE]: secret } }),
      )) as { view: { csrf: string; passkey: { options: string } } };
      const answer = softAssert(credential, JSON.parse(login.view.passkey.options), TEST_ISSUER);
      return accountPasskey(
        t.p,
        t.request(
          { csrf: login.view.csrf, response: answer },
          { method: 'POST', cookies: { [ACCOUNT_LOGIN_COOKIE]: secret } },
        ),
      );
    };
    const held = await signInWithPasskey();
    assert.equal(held.kind === 'page' && held.status, 403);
    assert.equal(held.kind === 'page' && held.view.name, 'email-unverified');
    // Verified, the passkey signs in.
    await t.p.stores.users.put({ ...(await t.p.stores.users.get(carol.id))!, emailVerified: true });
    assert.equal((await signInWithPasskey()).kind, 'redirect');
  });
});
