import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testProvider, TEST_ISSUER, type TestProvider } from '../../test/fixtures/protocol.ts';
import { softAssert, softRegister, type SoftCredential } from '../../test/fixtures/soft-authenticator.ts';
import type { UserRecord } from '../ports/users.ts';
import {
  CHALLENGE_TTL,
  checkChallenge,
  claimChallenge,
  makeChallenge,
  passkeyLoginOptions,
  passkeyRegistrationOptions,
  passkeySecondFactorOptions,
  registerPasskey,
  verifyPasskeyForUser,
  verifyPasskeyLogin,
} from './passkeys.ts';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
const ORIGIN = TEST_ISSUER;

describe('passkey challenges', () => {
  let t: TestProvider;
  before(async () => {
    t = await testProvider({}, {});
  });
  after(() => t.close());

  it('are accepted only for their purpose and browser, under this server secret', () => {
    const c = makeChallenge(t.p, 'login:account', 'browser-a');
    assert.ok(checkChallenge(t.p, 'login:account', 'browser-a', b64(c)));
    assert.equal(checkChallenge(t.p, 'login:ia:x', 'browser-a', b64(c)), undefined, 'another purpose');
    assert.equal(checkChallenge(t.p, 'login:account', 'browser-b', b64(c)), undefined, 'another browser');
    assert.equal(checkChallenge(t.p, 'login:account', undefined, b64(c)), undefined, 'no browser secret');
    const [nonce, exp, mac] = c.split('.');
    assert.equal(
      checkChallenge(t.p, 'login:account', 'browser-a', b64(`${nonce}.${Number(exp) + 600}.${mac}`)),
      undefined,
    );
    assert.equal(checkChallenge(t.p, 'login:account', 'browser-a', b64('not a challenge')), undefined);
    const other = { ...t.p, config: { ...t.p.config, secret: 'another-secret-of-at-least-32-bytes-long!' } };
    assert.equal(checkChallenge(other, 'login:account', 'browser-a', b64(c)), undefined, 'another server secret');
    // During a rotation of TESSERA_SECRET, a challenge made under the previous one still counts.
    const rotated = { ...other, config: { ...other.config, secretPrevious: t.p.config.secret } };
    assert.ok(checkChallenge(rotated, 'login:account', 'browser-a', b64(c)));
  });

  it('expire', () => {
    const c = makeChallenge(t.p, 'p', 'b');
    t.clock.advance(CHALLENGE_TTL - 1);
    assert.ok(checkChallenge(t.p, 'p', 'b', b64(c)));
    t.clock.advance(1);
    assert.equal(checkChallenge(t.p, 'p', 'b', b64(c)), undefined);
  });

  it('are claimed once', async () => {
    const c = checkChallenge(t.p, 'p', 'b', b64(makeChallenge(t.p, 'p', 'b')))!;
    assert.equal(await claimChallenge(t.p, c), true);
    assert.equal(await claimChallenge(t.p, c), false);
  });
});

describe('passkey ceremonies (software authenticator)', () => {
  let t: TestProvider;
  let alice: UserRecord;
  let bob: UserRecord;
  before(async () => {
    t = await testProvider();
    alice = await t.addUser({ username: 'alice' });
    bob = await t.addUser({ username: 'bob' });
  });
  after(() => t.close());

  async function enrol(user: UserRecord, binding: string, backupEligible = false): Promise<SoftCredential> {
    const options = await passkeyRegistrationOptions(t.p, user, binding);
    assert.equal(options.rp.id, 'id.test.example');
    assert.deepEqual(options.authenticatorSelection, {
      residentKey: 'required',
      requireResidentKey: true,
      userVerification: 'required',
    });
    const { credential, json } = softRegister(options, ORIGIN, { backupEligible });
    const result = await registerPasskey(t.p, user.id, json, binding, 'My key');
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.factor.name, 'My key');
    assert.equal(result.factor.backupEligible, backupEligible);
    // The same answer again: its challenge is used.
    assert.deepEqual(await registerPasskey(t.p, user.id, json, binding), { ok: false, reason: 'replayed' });
    return credential;
  }

  it('registers a passkey, excludes it next time, and refuses registration answers made elsewhere', async () => {
    const key = await enrol(alice, 'session-a');
    const next = await passkeyRegistrationOptions(t.p, alice, 'session-a');
    assert.deepEqual(
      next.excludeCredentials?.map((c) => c.id),
      [key.id],
    );
    // Another browser's challenge, another origin, no user verification.
    const elsewhere = softRegister(await passkeyRegistrationOptions(t.p, alice, 'session-b'), ORIGIN);
    assert.equal((await registerPasskey(t.p, alice.id, elsewhere.json, 'session-a')).ok, false);
    const phished = softRegister(await passkeyRegistrationOptions(t.p, alice, 'session-a'), ORIGIN, {
      origin: 'https://evil.example',
    });
    assert.equal((await registerPasskey(t.p, alice.id, phished.json, 'session-a')).ok, false);
    const noUv = softRegister(await passkeyRegistrationOptions(t.p, alice, 'session-a'), ORIGIN, {
      userVerified: false,
    });
    assert.equal((await registerPasskey(t.p, alice.id, noUv.json, 'session-a')).ok, false);
    assert.equal((await t.p.stores.factors.listByUser(alice.id)).length, 1);
  });

  it('refuses, without throwing, a registration whose transports are not a list of names; keeps known ones once', async () => {
    const carol = await t.addUser({ username: 'carol-transports' });
    const answer = async (transports: unknown) => {
      const { json } = softRegister(await passkeyRegistrationOptions(t.p, carol, 'session-t'), ORIGIN);
      const parsed = JSON.parse(json);
      parsed.response.transports = transports;
      return registerPasskey(t.p, carol.id, JSON.stringify(parsed), 'session-t');
    };
    for (const odd of ['usb', { 0: 'usb' }, 7, [['usb']]])
      assert.deepEqual(await answer(odd), { ok: false, reason: 'invalid' }, JSON.stringify(odd));
    const ok = await answer(['usb', 'usb', 'warp-drive', 'internal', ...Array(500).fill('usb')]);
    assert.ok(ok.ok);
    assert.deepEqual(ok.factor.transports, ['usb', 'internal']);
  });

  it('refuses a credential ID longer than 1023 bytes (WebAuthn 7.1: it could not be stored or used)', async () => {
    const erin = await t.addUser({ username: 'erin-long-id' });
    const register = async (credentialIdLength: number) => {
      const options = await passkeyRegistrationOptions(t.p, erin, 'session-e');
      return registerPasskey(t.p, erin.id, softRegister(options, ORIGIN, { credentialIdLength }).json, 'session-e');
    };
    assert.deepEqual(await register(1024), { ok: false, reason: 'invalid' });
    assert.deepEqual(await register(4000), { ok: false, reason: 'invalid' });
    assert.equal((await t.p.stores.factors.listByUser(erin.id)).length, 0);
    assert.ok((await register(1023)).ok);
  });

  it('signs in passkey-first with amr hwk or swk from the backup-eligible flag; a replay is refused', async () => {
    const device = await enrol(bob, 'session-bob');
    const synced = await enrol(bob, 'session-bob', true);
    const opts = passkeyLoginOptions(t.p, 'ia:uid1', 'browser');
    assert.deepEqual(opts.allowCredentials, []);
    assert.equal(opts.userVerification, 'required');
    const answer = softAssert(device, opts, ORIGIN);
    const ok = await verifyPasskeyLogin(t.p, answer, 'ia:uid1', 'browser');
    assert.ok(ok.ok);
    assert.equal(ok.userId, bob.id);
    assert.deepEqual(ok.amr, ['hwk', 'user', 'mfa']);
    assert.deepEqual(await verifyPasskeyLogin(t.p, answer, 'ia:uid1', 'browser'), {
      ok: false,
      reason: 'replayed',
      userId: bob.id,
    });
    const s = await verifyPasskeyLogin(
      t.p,
      softAssert(synced, passkeyLoginOptions(t.p, 'account', 'x'), ORIGIN),
      'account',
      'x',
    );
    assert.ok(s.ok);
    assert.deepEqual(s.amr, ['swk', 'user', 'mfa']);
    // Made for another sign-in, or another browser.
    const other = softAssert(device, passkeyLoginOptions(t.p, 'ia:uid2', 'browser'), ORIGIN);
    assert.equal((await verifyPasskeyLogin(t.p, other, 'ia:uid1', 'browser')).ok, false);
  });

  it('refuses a user handle of another user, another origin, no user verification, a counter going back', async () => {
    const key = await enrol(alice, 'session-a2');
    const opts = () => passkeyLoginOptions(t.p, 'account', 'b');
    const handle = Buffer.from(bob.id).toString('base64url');
    const failures = [
      [softAssert(key, opts(), ORIGIN, { userHandle: handle }), 'wrong_user'],
      [softAssert(key, opts(), ORIGIN, { origin: 'https://evil.example' }), 'invalid'],
      [softAssert(key, opts(), 'https://sub.id.test.example'), 'invalid'],
      [softAssert(key, opts(), ORIGIN, { userVerified: false }), 'user_not_verified'],
    ] as const;
    for (const [answer, reason] of failures) {
      const v = await verifyPasskeyLogin(t.p, answer, 'account', 'b');
      assert.equal(v.ok ? 'ok' : v.reason, reason);
    }
    // A counting authenticator: 5, then 7, then 6 (a clone) is refused.
    assert.ok((await verifyPasskeyLogin(t.p, softAssert(key, opts(), ORIGIN, { counter: 5 }), 'account', 'b')).ok);
    assert.ok((await verifyPasskeyLogin(t.p, softAssert(key, opts(), ORIGIN, { counter: 7 }), 'account', 'b')).ok);
    const clone = await verifyPasskeyLogin(t.p, softAssert(key, opts(), ORIGIN, { counter: 6 }), 'account', 'b');
    assert.equal(clone.ok, false);
    // Malformed answers.
    for (const junk of ['', '{}', 'null', '[1]', '{"id":"x","rawId":"x","type":"public-key","response":{}}'])
      assert.equal((await verifyPasskeyLogin(t.p, junk, 'account', 'b')).ok, false);
  });

  it('refuses an assertion whose backup-eligible flag differs from registration (WebAuthn 7.2: it names hwk or swk)', async () => {
    const frank = await t.addUser({ username: 'frank-be' });
    const bound = await enrol(frank, 'session-f');
    const synced = await enrol(frank, 'session-f', true);
    const opts = () => passkeyLoginOptions(t.p, 'account', 'b');
    // A device-bound passkey now saying it may be synced would still be called hardware-bound (hwk).
    bound.backupEligible = true;
    const up = await verifyPasskeyLogin(t.p, softAssert(bound, opts(), ORIGIN), 'account', 'b');
    assert.deepEqual(up, { ok: false, reason: 'invalid', userId: frank.id });
    synced.backupEligible = false;
    const down = await verifyPasskeyLogin(t.p, softAssert(synced, opts(), ORIGIN), 'account', 'b');
    assert.deepEqual(down, { ok: false, reason: 'invalid', userId: frank.id });
    bound.backupEligible = false;
    assert.ok((await verifyPasskeyLogin(t.p, softAssert(bound, opts(), ORIGIN), 'account', 'b')).ok);
  });

  it("refuses a disabled user's passkey", async () => {
    const carol = await t.addUser({ username: 'carol' });
    const key = await enrol(carol, 'session-c');
    await t.p.stores.users.put({ ...carol, disabled: true });
    const v = await verifyPasskeyLogin(
      t.p,
      softAssert(key, passkeyLoginOptions(t.p, 'account', 'b'), ORIGIN),
      'account',
      'b',
    );
    assert.deepEqual(v, { ok: false, reason: 'disabled', userId: carol.id });
  });

  it('verifies a passkey as the second factor of its own user only', async () => {
    const dave = await t.addUser({ username: 'dave' });
    const key = await enrol(dave, 'session-d');
    const opts = await passkeySecondFactorOptions(t.p, dave.id, 'ia-secret');
    assert.deepEqual(
      opts.allowCredentials?.map((c) => c.id),
      [key.id],
    );
    const answer = softAssert(key, opts, ORIGIN);
    assert.deepEqual(await verifyPasskeyForUser(t.p, alice.id, answer, 'ia-secret'), {
      ok: false,
      reason: 'wrong_user',
    });
    // A user handle that is there must be the user's, even when the passkey is (WebAuthn 7.2 step 6).
    for (const userHandle of ['!!not-base64url!!', 'x'.repeat(200), Buffer.from(alice.id).toString('base64url')])
      assert.deepEqual(
        await verifyPasskeyForUser(t.p, dave.id, softAssert(key, opts, ORIGIN, { userHandle }), 'ia-secret'),
        { ok: false, reason: 'wrong_user' },
        userHandle,
      );
    const v = await verifyPasskeyForUser(t.p, dave.id, answer, 'ia-secret');
    assert.ok(v.ok);
    assert.deepEqual(v.amr, ['hwk', 'user', 'mfa']);
    // A passkey-first challenge is not a second factor's.
    const first = softAssert(key, passkeyLoginOptions(t.p, 'account', 'ia-secret'), ORIGIN);
    assert.equal((await verifyPasskeyForUser(t.p, dave.id, first, 'ia-secret')).ok, false);
    const factor = (await t.p.stores.factors.listByUser(dave.id))[0]!;
    assert.equal(factor.lastUsedAt, t.clock.now());
  });
});
