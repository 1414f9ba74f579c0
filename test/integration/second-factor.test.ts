/**
 * The second factor in sign-in (issue 16), through the real app (buildApp + inject): password then
 * TOTP (codes computed here from the secret enrolled through accounts/totp.ts), a recovery code, a
 * replayed code refused, attempt limits, the required policy's enrolment prompt and grace skip,
 * step-up with acr_values, max_age, an essential acr that cannot be met, and what the tokens carry.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Secret, TOTP } from 'otpauth';
import type { App } from '../../src/app.ts';
import { regenerateRecoveryCodes } from '../../src/accounts/recovery-codes.ts';
import { beginTotp, confirmTotp } from '../../src/accounts/totp.ts';
import { createUser } from '../../src/accounts/users.ts';
import type { UserRecord } from '../../src/ports/users.ts';
import { tokenHash } from '../../src/protocol/hash.ts';
import { passkeyRegistrationOptions, registerPasskey } from '../../src/protocol/passkeys.ts';
import { startSession } from '../../src/protocol/interaction/session.ts';
import type { ProtocolRequest } from '../../src/protocol/provider.ts';
import { applyBootstrap } from '../../src/admin/bootstrap.ts';
import { saveClient } from '../../src/admin/clients.ts';
import { softAssert, softRegister } from '../fixtures/soft-authenticator.ts';
import { authorizeUrl, basic, csrfOf, form, ISSUER, Jar, pkce, testApp } from '../fixtures/app.ts';

const PASSWORD = 'correct horse battery staple';

describe('second factor in sign-in, step-up and acr', () => {
  let app: App;
  let clock = Math.floor(Date.now() / 1000);
  const tick = (s = 30) => {
    clock += s;
  };

  before(async () => {
    // Many sign-ins from one address: the request rate limits (tested on their own) are off here.
    app = await testApp(
      'sqlite::memory:',
      { TESSERA_FACTOR_MAX_FAILURES: '3', TESSERA_RATE_LIMITING: 'false' },
      { now: () => clock },
    );
  });
  after(async () => {
    await app?.close();
  });

  const newUser = async (username: string): Promise<UserRecord> => {
    const made = await createUser(app.stores, { username, password: PASSWORD }, clock, { origin: 'operator' });
    assert.ok('user' in made);
    return made.user;
  };
  /**
   * Enrols an authenticator app directly on the stores; the secret (base32), the clock moved past the confirming code.
   */
  const enrolTotp = async (user: UserRecord): Promise<string> => {
    const cfg = app.provider.config;
    const e = await beginTotp(app.stores, cfg, user, 'Tessera', clock);
    assert.equal(await confirmTotp(app.stores, cfg, user.id, e.factor.id, codeOf(e.secret), clock), 'ok');
    tick();
    return e.secret;
  };
  const codeOf = (secret: string) =>
    new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({
      timestamp: clock * 1000,
    });

  const records = async (type: string) => {
    await app.audit.flush();
    return app.stores.audit.query({ type, from: 0 });
  };

  const get = (jar: Jar, url: string) =>
    app.server.inject({ method: 'GET', url, headers: { cookie: jar.header() } }).then((r) => {
      jar.take(r);
      return r;
    });
  const post = (jar: Jar, url: string, body: Record<string, string>) =>
    form(app, url, body, { cookie: jar.header() }).then((r) => {
      jar.take(r);
      return r;
    });

  interface Drive {
    jar?: Jar;
    username: string;
    /** The second-factor step: what to type (undefined: stop there and return the page). */
    code?: () => string;
    method?: 'recovery';
    skip?: boolean;
    params?: Record<string, string>;
  }
  /**
   * Drives /authorize and the interaction pages as a browser would; returns the final answer (the
   * redirect to the client, or the page where it stopped) and the steps taken.
   */
  const drive = async (d: Drive) => {
    const jar = d.jar ?? new Jar();
    const { verifier, challenge } = pkce();
    const params = {
      client_id: 'web',
      redirect_uri: 'https://app.example/cb',
      response_type: 'code',
      scope: 'openid profile',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...d.params,
    };
    let res = await get(jar, authorizeUrl(params));
    const steps: string[] = [];
    for (let i = 0; i < 8; i++) {
      if (res.statusCode !== 303) return { res, steps, jar, verifier };
      const location = new URL(res.headers.location as string);
      if (!location.href.startsWith(`${ISSUER}/interaction/`)) return { res, steps, jar, verifier, location };
      const path = location.pathname;
      const page = await get(jar, path + location.search);
      if (page.statusCode === 303) {
        res = page;
        continue;
      }
      if (page.body.includes('name="password"')) {
        steps.push('login');
        res = await post(jar, `${path}/login`, { username: d.username, password: PASSWORD, csrf: csrfOf(page.body) });
      } else if (page.body.includes('value="skip"')) {
        steps.push('enrol');
        if (!d.skip) return { res: page, steps, jar, verifier };
        res = await post(jar, path, { decision: 'skip', csrf: csrfOf(page.body) });
      } else if (path.endsWith('/mfa')) {
        steps.push('mfa');
        if (d.method === 'recovery' && !location.search) {
          res = { statusCode: 303, headers: { location: `${location.href}?method=recovery` } } as typeof res;
          continue;
        }
        if (!d.code) return { res: page, steps, jar, verifier, path };
        res = await post(jar, path, {
          code: d.code(),
          csrf: csrfOf(page.body),
          ...(d.method ? { method: d.method } : {}),
        });
        if (res.statusCode !== 303) return { res, steps, jar, verifier };
      } else {
        steps.push('consent');
        res = await post(jar, `${path}/consent`, { decision: 'allow', csrf: csrfOf(page.body) });
      }
    }
    throw new Error(`too many steps: ${steps.join(', ')}`);
  };
  const tokens = async (location: URL, verifier: string) => {
    const res = await form(
      app,
      '/token',
      {
        grant_type: 'authorization_code',
        code: location.searchParams.get('code')!,
        redirect_uri: 'https://app.example/cb',
        code_verifier: verifier,
      },
      { authorization: basic('web') },
    );
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as { access_token: string; id_token: string };
    return { id: decodeJwt(body.id_token), at: decodeJwt(body.access_token) };
  };

  it('password then TOTP: no session before the code; the ID token and access token carry amr, acr and auth_time', async () => {
    const user = await newUser('tess');
    const secret = await enrolTotp(user);
    const stopped = await drive({ username: 'tess' });
    assert.deepEqual(stopped.steps, ['login', 'mfa']);
    assert.ok(!stopped.jar.cookies.has('tessera_session'), 'no session before the second factor');
    assert.ok(stopped.jar.cookies.has('tessera_sign_in'));
    assert.match(stopped.res.body, /autocomplete="one-time-code"/);
    const wrong = await post(stopped.jar, stopped.path!, {
      code: '000000',
      csrf: csrfOf(stopped.res.body),
    });
    assert.equal(wrong.statusCode, 400);
    assert.match(wrong.body, /not valid/);
    // A forged form (no valid CSRF token) changes nothing, and a code too long is refused as bad input.
    const forged = await post(stopped.jar, stopped.path!, { code: codeOf(secret), csrf: 'forged' });
    assert.equal(forged.statusCode, 403);
    const long = await post(stopped.jar, stopped.path!, { code: '1'.repeat(100), csrf: csrfOf(stopped.res.body) });
    assert.equal(long.statusCode, 403);
    assert.ok(!stopped.jar.cookies.has('tessera_session'));

    const done = await drive({ username: 'tess', code: () => codeOf(secret) });
    assert.deepEqual(done.steps, ['login', 'mfa', 'consent']);
    assert.ok(done.location?.searchParams.get('code'), done.res.body);
    const { id, at } = await tokens(done.location!, done.verifier);
    assert.deepEqual(id.amr, ['pwd', 'otp', 'mfa']);
    assert.equal(id.acr, 'urn:tessera:acr:mfa');
    assert.equal(at.acr, 'urn:tessera:acr:mfa');
    assert.deepEqual(at.amr, ['pwd', 'otp', 'mfa']);
    assert.equal(at.auth_time, clock);
  });

  it('a TOTP code already used is refused (replay), and a recovery code works once', async () => {
    const user = await newUser('rita');
    const secret = await enrolTotp(user);
    const code = codeOf(secret);
    const first = await drive({ username: 'rita', code: () => code });
    assert.ok(first.location?.searchParams.get('code'));
    const again = await drive({ username: 'rita', code: () => code });
    assert.equal(again.res.statusCode, 400);
    assert.match(again.res.body, /used already/);

    const [recovery] = await regenerateRecoveryCodes(app.stores, app.provider.config, user.id, clock);
    const viaRecovery = await drive({ username: 'rita', method: 'recovery', code: () => recovery! });
    assert.ok(viaRecovery.location?.searchParams.get('code'), viaRecovery.res.body);
    const { id } = await tokens(viaRecovery.location!, viaRecovery.verifier);
    assert.deepEqual(id.amr, ['pwd', 'otp', 'mfa']);
    const reused = await drive({ username: 'rita', method: 'recovery', code: () => recovery! });
    assert.equal(reused.res.statusCode, 400);
    assert.match(reused.res.body, /recovery code is not valid/);
  });

  it('wrong codes past TESSERA_FACTOR_MAX_FAILURES make every further attempt wait, even the right code', async () => {
    const user = await newUser('theo');
    const secret = await enrolTotp(user);
    for (let i = 0; i < 3; i++) {
      const r = await drive({ username: 'theo', code: () => '123456' });
      assert.equal(r.res.statusCode, 400);
    }
    const blocked = await drive({ username: 'theo', code: () => codeOf(secret) });
    assert.equal(blocked.res.statusCode, 429);
    assert.ok(Number(blocked.res.headers['retry-after']) >= 1);
    assert.match(blocked.res.body, /Too many wrong codes/);
    tick(3);
    const ok = await drive({ username: 'theo', code: () => codeOf(secret) });
    assert.ok(ok.location?.searchParams.get('code'), ok.res.body);
    // The audit trail names the account of every failure, the throttling and the success.
    const mine = async (type: string) => (await records(type)).filter((r) => r.actor === user.id);
    // (Repeats are folded into one record with a count: the audit writer's flood control.)
    const failed = await mine('second_factor_failed');
    assert.ok(failed.every((r) => r.details.kind === 'totp' && r.details.reason === 'invalid'));
    // Each failure and the throttling carry the request's address.
    for (const r of [...failed, ...(await mine('second_factor_throttled'))]) assert.ok(r.ip, JSON.stringify(r));
    assert.equal(
      failed.reduce((n, r) => n + Number(r.details.repeated ?? 1), 0),
      3,
    );
    assert.equal((await mine('second_factor_throttled')).length, 1);
    assert.deepEqual(
      (await mine('second_factor_succeeded')).map((r) => r.details),
      [{ kind: 'totp' }],
    );
  });

  it('wrong codes sent all at once are checked no more than TESSERA_FACTOR_MAX_FAILURES times (the limit is claimed before the check)', async () => {
    const user = await newUser('quinn');
    await enrolTotp(user);
    const jar = new Jar();
    const login = await get(jar, '/account');
    const res = await post(jar, '/account/login', { username: 'quinn', password: PASSWORD, csrf: csrfOf(login.body) });
    assert.equal(res.headers.location, `${ISSUER}/account/mfa`);
    const mfa = await get(jar, '/account/mfa');
    const csrf = csrfOf(mfa.body);
    const guesses = Array.from({ length: 30 }, (_, i) => String(100000 + i));
    const answers = await Promise.all(guesses.map((code) => post(jar, '/account/mfa', { code, csrf })));
    assert.ok(answers.every((a) => a.statusCode === 400 || a.statusCode === 429));
    const failed = (await records('second_factor_failed')).filter((r) => r.actor === user.id);
    const checked = failed.reduce((n, r) => n + Number(r.details.repeated ?? 1), 0);
    assert.ok(checked <= 3, `${checked} codes were checked`);
  });

  it('acr_values above the session: the signed-in user passes the second factor (step-up); voluntary levels beyond the factors proceed', async () => {
    const user = await newUser('stella');
    const jar = new Jar();
    const plain = await drive({ jar, username: 'stella' });
    assert.deepEqual(plain.steps, ['login', 'consent']);
    const secret = await enrolTotp(user);
    // Asked for phr (passkeys), which this user cannot give: the best level, the TOTP.
    const up = await drive({ jar, username: 'stella', code: () => codeOf(secret), params: { acr_values: 'phr' } });
    assert.deepEqual(up.steps, ['mfa']);
    const { id } = await tokens(up.location!, up.verifier);
    assert.equal(id.acr, 'urn:tessera:acr:mfa');
    const stepUp = (await records('step_up')).filter((r) => r.actor === user.id);
    assert.deepEqual(
      stepUp.map((r) => [r.details, r.clientId]),
      [[{ acr: 'urn:tessera:acr:mfa' }, 'web']],
    );
    // The session is now at mfa: asking for it again needs nothing.
    tick();
    const same = await drive({ jar, username: 'stella', params: { acr_values: 'urn:tessera:acr:mfa' } });
    assert.deepEqual(same.steps, []);
    assert.ok(same.location?.searchParams.get('code'));
    // max_age=0: sign in again, password and second factor.
    const fresh = await drive({ jar, username: 'stella', code: () => codeOf(secret), params: { max_age: '0' } });
    assert.deepEqual(fresh.steps, ['login', 'mfa']);
    assert.ok(fresh.location?.searchParams.get('code'));
  });

  it('prompt=none when a second factor is needed answers interaction_required', async () => {
    const user = await newUser('nora');
    const jar = new Jar();
    await drive({ jar, username: 'nora' });
    await enrolTotp(user);
    const r = await drive({ jar, username: 'nora', params: { prompt: 'none', acr_values: 'urn:tessera:acr:mfa' } });
    assert.equal(r.location?.searchParams.get('error'), 'interaction_required');
  });

  it('the account login asks for the second factor at /account/mfa before the session starts', async () => {
    const user = await newUser('abby');
    const secret = await enrolTotp(user);
    const jar = new Jar();
    const login = await get(jar, '/account');
    let res = await post(jar, '/account/login', { username: 'abby', password: PASSWORD, csrf: csrfOf(login.body) });
    assert.equal(res.headers.location, `${ISSUER}/account/mfa`);
    assert.ok(!jar.cookies.has('tessera_session'));
    const mfa = await get(jar, '/account/mfa');
    assert.equal(mfa.statusCode, 200);
    assert.match(mfa.body, /your Tessera account/);
    res = await post(jar, '/account/mfa', { code: '111111', csrf: 'forged' });
    assert.equal(res.statusCode, 403);
    res = await post(jar, '/account/mfa', { code: codeOf(secret), csrf: csrfOf(mfa.body) });
    assert.equal(res.headers.location, `${ISSUER}/account`);
    assert.ok(jar.cookies.has('tessera_session'));
    const session = await app.stores.sessions.get(tokenHash(jar.cookies.get('tessera_session')!));
    assert.deepEqual(session?.amr, ['pwd', 'otp', 'mfa']);
    // The pending sign-in was used: the page is gone.
    assert.equal((await get(jar, '/account/mfa')).headers.location, `${ISSUER}/account`);
  });

  it("the account area's re-authentication asks a passkey holder for the passkey after the password, and goes back", async () => {
    const user = await newUser('remy');
    const options = await passkeyRegistrationOptions(app.provider, user, 'enrolment-browser');
    const { credential, json } = softRegister(JSON.parse(JSON.stringify(options)), ISSUER);
    assert.ok((await registerPasskey(app.provider, user.id, json, 'enrolment-browser')).ok);
    const jar = new Jar();
    const login = await get(jar, '/account');
    let res = await post(jar, '/account/login', { username: 'remy', password: PASSWORD, csrf: csrfOf(login.body) });
    assert.equal(res.headers.location, `${ISSUER}/account/mfa`);
    const passkeyStep = async () => {
      const page = await get(jar, '/account/mfa');
      assert.equal(page.statusCode, 200, page.body);
      const opts = /data-options="([^"]+)"/.exec(page.body)![1]!.replaceAll('&quot;', '"');
      return { page, answer: softAssert(credential, JSON.parse(opts), ISSUER) };
    };
    const first = await passkeyStep();
    res = await post(jar, '/account/mfa', { csrf: csrfOf(first.page.body), response: first.answer });
    assert.equal(res.headers.location, `${ISSUER}/account`);
    const sid = (await app.stores.sessions.get(tokenHash(jar.cookies.get('tessera_session')!)))!.sid;
    // Later than TESSERA_RECENT_AUTH: adding an app needs the re-authentication, which comes back.
    tick(app.provider.config.recentAuth + 1);
    res = await get(jar, '/account/security/totp');
    const reauth = res.headers.location as string;
    assert.equal(reauth, `${ISSUER}/account/reauth?return=${encodeURIComponent('/account/security/totp')}`);
    const page = await get(jar, new URL(reauth).pathname + new URL(reauth).search);
    res = await post(jar, '/account/reauth', {
      password: PASSWORD,
      return: '/account/security/totp',
      csrf: csrfOf(page.body),
    });
    assert.equal(res.headers.location, `${ISSUER}/account/mfa`, 'the password alone is not enough');
    const again = await passkeyStep();
    assert.ok(!again.page.body.includes('name="remember"'), 'no remembered browser for a re-authentication');
    res = await post(jar, '/account/mfa', { csrf: csrfOf(again.page.body), response: again.answer });
    assert.equal(res.headers.location, `${ISSUER}/account/security/totp`);
    const session = await app.stores.sessions.get(tokenHash(jar.cookies.get('tessera_session')!));
    assert.deepEqual([session?.sid, session?.amr], [sid, ['pwd', 'hwk', 'user', 'mfa']]);
    assert.equal((await get(jar, '/account/security/totp')).statusCode, 200, 'recent again');
  });

  it('acr_values and max_age inside a signed request object (RFC 9101) step up and re-authenticate', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    await saveClient(
      app.stores,
      app.provider.config,
      {
        client_id: 'jar',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', use: 'sig' }] },
        redirect_uris: ['https://jar.example/cb'],
        grant_types: ['authorization_code'],
        scope: 'openid',
        skip_consent: true,
      },
      clock,
    );
    const requestObject = (inner: Record<string, unknown>) =>
      new SignJWT({
        iss: 'jar',
        aud: ISSUER,
        iat: clock,
        exp: clock + 60,
        jti: randomUUID(),
        client_id: 'jar',
        response_type: 'code',
        redirect_uri: 'https://jar.example/cb',
        scope: 'openid',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
        ...inner,
      })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'oauth-authz-req+jwt' })
        .sign(privateKey);
    const user = await newUser('jarvis');
    const jar = new Jar();
    const viaJar = async (inner: Record<string, unknown>, code?: () => string) =>
      drive({ jar, username: 'jarvis', code, params: { client_id: 'jar', request: await requestObject(inner) } });
    assert.deepEqual((await viaJar({})).steps, ['login']);
    const secret = await enrolTotp(user);
    const up = await viaJar({ acr_values: 'urn:tessera:acr:mfa' }, () => codeOf(secret));
    assert.deepEqual(up.steps, ['mfa']);
    assert.equal(up.location?.origin, 'https://jar.example');
    assert.ok(up.location?.searchParams.get('code'));
    tick();
    const again = await viaJar({ max_age: 0 }, () => codeOf(secret));
    assert.deepEqual(again.steps, ['login', 'mfa']);
    assert.ok(again.location?.searchParams.get('code'));
  });

  it('a passkey as the second factor after the password: amr pwd hwk user mfa, acr phrh; an assertion of another user is refused', async () => {
    const pia = await newUser('pia');
    const enrolPasskey = async (user: UserRecord, backupEligible = false) => {
      const options = await passkeyRegistrationOptions(app.provider, user, 'enrolment-browser');
      const { credential, json } = softRegister(JSON.parse(JSON.stringify(options)), ISSUER, { backupEligible });
      const stored = await registerPasskey(app.provider, user.id, json, 'enrolment-browser');
      assert.ok(stored.ok);
      return credential;
    };
    const credential = await enrolPasskey(pia);
    const stopped = await drive({ username: 'pia' });
    assert.deepEqual(stopped.steps, ['login', 'mfa']);
    // No app and no recovery codes: the page offers the passkey only.
    assert.ok(!stopped.res.body.includes('one-time-code'));
    const options = /data-options="([^"]+)"/.exec(stopped.res.body)![1]!.replaceAll('&quot;', '"');
    const csrf = csrfOf(stopped.res.body);
    // Another user's passkey, answering the same challenge, is not this user's factor.
    const other = await enrolPasskey(await newUser('otto'));
    const refused = await post(stopped.jar, stopped.path!, {
      csrf,
      response: softAssert(other, JSON.parse(options), ISSUER),
    });
    assert.equal(refused.statusCode, 400);
    assert.match(refused.body, /passkey could not be verified/);
    const ok = await post(stopped.jar, stopped.path!, {
      csrf,
      response: softAssert(credential, JSON.parse(options), ISSUER),
    });
    assert.equal(ok.statusCode, 303, ok.body);
    assert.equal(new URL(ok.headers.location as string).pathname, stopped.path!.replace(/\/mfa$/, ''));
    const page = await get(stopped.jar, new URL(ok.headers.location as string).pathname);
    const done = await post(stopped.jar, `${new URL(ok.headers.location as string).pathname}/consent`, {
      decision: 'allow',
      csrf: csrfOf(page.body),
    });
    const location = new URL(done.headers.location as string);
    const { id, at } = await tokens(location, stopped.verifier);
    assert.deepEqual(id.amr, ['pwd', 'hwk', 'user', 'mfa']);
    assert.equal(id.acr, 'phrh');
    assert.equal(at.acr, 'phrh');
    // A request that names acr values gets one of them (OIDC Core 5.5.1.1): this session, at phrh,
    // answers an essential request for mfa with mfa, and acr_values password or phr with phr.
    for (const [params, acr] of [
      [
        { claims: JSON.stringify({ id_token: { acr: { essential: true, values: ['urn:tessera:acr:mfa'] } } }) },
        'urn:tessera:acr:mfa',
      ],
      [{ acr_values: 'urn:tessera:acr:password phr' }, 'phr'],
    ] as const) {
      const again = await drive({ jar: stopped.jar, username: 'pia', params });
      assert.ok(again.location?.searchParams.get('code'), again.res.body);
      const t = await tokens(again.location!, again.verifier);
      assert.equal(t.id.acr, acr);
      assert.equal(t.at.acr, acr);
      assert.deepEqual(t.id.amr, ['pwd', 'hwk', 'user', 'mfa']);
    }
  });

  it('an essential acr this user cannot reach answers unmet_authentication_requirements at the redirect URI', async () => {
    await newUser('una');
    const claims = JSON.stringify({ id_token: { acr: { essential: true, values: ['phr'] } } });
    const r = await drive({ username: 'una', params: { claims } });
    assert.equal(r.location?.origin, 'https://app.example');
    assert.equal(r.location?.searchParams.get('error'), 'unmet_authentication_requirements');
    // An essential acr the user can reach is met.
    const ok = await drive({
      username: 'una',
      params: { claims: JSON.stringify({ id_token: { acr: { essential: true, value: 'urn:tessera:acr:password' } } }) },
    });
    assert.ok(ok.location?.searchParams.get('code'), ok.res.body);
  });
});

describe('required policy: enrolment at sign-in, skip within the grace period', () => {
  let app: App;
  const clock = Math.floor(Date.now() / 1000);
  before(async () => {
    app = await testApp(
      'sqlite::memory:',
      { TESSERA_MFA: 'required', TESSERA_MFA_ENROL_GRACE: '86400' },
      {
        now: () => clock,
      },
    );
  });
  after(async () => {
    await app?.close();
  });

  const signIn = async (username: string, skip: boolean) => {
    const jar = new Jar();
    const { challenge } = pkce();
    let res = await app.server.inject({
      url: authorizeUrl({
        client_id: 'web',
        redirect_uri: 'https://app.example/cb',
        response_type: 'code',
        scope: 'openid',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }),
    });
    jar.take(res);
    const path = new URL(res.headers.location as string).pathname;
    const login = await app.server.inject({ url: path, headers: { cookie: jar.header() } });
    res = await form(
      app,
      `${path}/login`,
      { username, password: PASSWORD, csrf: csrfOf(login.body) },
      { cookie: jar.header() },
    );
    jar.take(res);
    assert.equal(res.headers.location, `${ISSUER}${path}/mfa`);
    assert.ok(jar.cookies.has('tessera_session'), 'signed in with the password');
    const prompt = await app.server.inject({ url: `${path}/mfa`, headers: { cookie: jar.header() } });
    if (!skip) return { prompt, path, jar };
    const skipped = await form(
      app,
      `${path}/mfa`,
      { decision: 'skip', csrf: csrfOf(prompt.body) },
      { cookie: jar.header() },
    );
    return { prompt, skipped, path, jar };
  };

  it('a user without a factor is asked to enrol, may skip within the grace period, and must enrol after it', async () => {
    const made = await createUser(app.stores, { username: 'gina', password: PASSWORD }, clock, { origin: 'operator' });
    assert.ok('user' in made);
    const { prompt, skipped, path } = await signIn('gina', true);
    assert.equal(prompt.statusCode, 200);
    assert.match(prompt.body, /Skip for now/);
    assert.ok(prompt.body.includes(`action="${ISSUER}/account/security/totp"`));
    assert.ok(prompt.body.includes(`name="continue" value="/interaction/${path.split('/')[2]}"`));
    const user = await app.stores.users.get(made.user.id);
    assert.equal(user?.mfaEnrolBy, clock + 86400);
    assert.equal(skipped!.statusCode, 303);
    assert.equal(new URL(skipped!.headers.location as string).pathname, path, 'on to consent');

    await app.stores.users.put({ ...user!, mfaEnrolBy: clock - 1 });
    const late = await signIn('gina', false);
    assert.equal(late.prompt.statusCode, 303);
    assert.equal(
      late.prompt.headers.location,
      `${ISSUER}/account/security/totp?continue=/interaction/${late.path.split('/')[2]}`,
    );
    // What the account area's enrolment does: the app confirmed, a new session (pwd otp mfa) replaces
    // the password's; back at the interaction, the sign-in goes on with it.
    const e = await beginTotp(app.stores, app.provider.config, user!, 'Tessera', clock);
    const code = new TOTP({ secret: Secret.fromBase32(e.secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({
      timestamp: clock * 1000,
    });
    assert.equal(await confirmTotp(app.stores, app.provider.config, user!.id, e.factor.id, code, clock), 'ok');
    const {
      cookies: [cookie],
    } = await startSession(
      app.provider,
      { cookies: Object.fromEntries(late.jar.cookies), headers: {}, ip: '127.0.0.1' } as unknown as ProtocolRequest,
      user!.id,
      ['pwd', 'otp', 'mfa'],
    );
    late.jar.cookies.set('tessera_session', cookie!.value);
    const back = await app.server.inject({ url: late.path, headers: { cookie: late.jar.header() } });
    assert.equal(back.statusCode, 200, back.body);
    assert.match(back.body, /name="decision" value="allow"/);
    const done = await form(
      app,
      `${late.path}/consent`,
      { decision: 'allow', csrf: csrfOf(back.body) },
      {
        cookie: late.jar.header(),
      },
    );
    assert.equal(new URL(done.headers.location as string).origin, 'https://app.example');
    assert.ok(new URL(done.headers.location as string).searchParams.get('code'));
  });
});

describe('remembered devices and a client that requires a second factor', () => {
  let app: App;
  let clock = Math.floor(Date.now() / 1000);
  before(async () => {
    app = await testApp('sqlite::memory:', { TESSERA_MFA_REMEMBER_DEVICE: '3600' }, { now: () => clock });
  });
  after(async () => {
    await app?.close();
  });

  /** Signs in to `client_id` in `jar` (password, then `code` when asked); the steps and the last answer. */
  const signIn = async (jar: Jar, username: string, extra: Record<string, string> = {}, code?: string) => {
    const steps: string[] = [];
    let res = await app.server.inject({
      url: authorizeUrl({
        client_id: 'web',
        redirect_uri: 'https://app.example/cb',
        response_type: 'code',
        scope: 'openid',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
        ...extra,
      }),
      headers: { cookie: jar.header() },
    });
    jar.take(res);
    for (let i = 0; i < 6 && res.statusCode === 303; i++) {
      const loc = new URL(res.headers.location as string);
      if (!loc.href.startsWith(`${ISSUER}/interaction/`)) break;
      const page = await app.server.inject({ url: loc.pathname, headers: { cookie: jar.header() } });
      jar.take(page);
      if (page.statusCode === 303) {
        res = page;
        continue;
      }
      const csrf = csrfOf(page.body);
      let body: Record<string, string>;
      let url = loc.pathname;
      if (page.body.includes('name="password"')) {
        steps.push('login');
        url += '/login';
        body = { username, password: PASSWORD, csrf };
      } else if (page.body.includes('value="skip"')) {
        steps.push('enrol');
        return { steps, res: page };
      } else if (loc.pathname.endsWith('/mfa')) {
        steps.push('mfa');
        if (!code) return { steps, res: page };
        body = { code, csrf, remember: 'on' };
      } else {
        steps.push('consent');
        url += '/consent';
        body = { decision: 'allow', csrf };
      }
      res = await form(app, url, body, { cookie: jar.header() });
      jar.take(res);
    }
    return { steps, res };
  };

  it('a remembered browser is asked for the password only, but not when the client asks for an acr', async () => {
    const made = await createUser(app.stores, { username: 'remy', password: PASSWORD }, clock, { origin: 'operator' });
    assert.ok('user' in made);
    const e = await beginTotp(app.stores, app.provider.config, made.user, 'Tessera', clock);
    const code = (t: number) =>
      new TOTP({ secret: Secret.fromBase32(e.secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({
        timestamp: t * 1000,
      });
    assert.equal(
      await confirmTotp(app.stores, app.provider.config, made.user.id, e.factor.id, code(clock), clock),
      'ok',
    );
    clock += 30;
    const jar = new Jar();
    const first = await signIn(jar, 'remy', {}, code(clock));
    assert.deepEqual(first.steps, ['login', 'mfa', 'consent']);
    assert.ok(jar.cookies.has('tessera_remember'));
    jar.cookies.delete('tessera_session');
    const again = await signIn(jar, 'remy');
    assert.deepEqual(again.steps, ['login']);
    assert.ok(new URL(again.res.headers.location as string).searchParams.get('code'));
    jar.cookies.delete('tessera_session');
    const asked = await signIn(jar, 'remy', { acr_values: 'urn:tessera:acr:mfa' });
    assert.deepEqual(asked.steps, ['login', 'mfa']);
    // Another browser is not remembered.
    const other = await signIn(new Jar(), 'remy');
    assert.deepEqual(other.steps, ['login', 'mfa']);
  });

  it("a client's mfa metadata makes the policy stricter for its sign-ins", async () => {
    await applyBootstrap(
      app.stores,
      app.provider.config,
      {
        clients: [
          {
            client_id: 'strict',
            client_secret: 'strict-secret-0123456789-abcdefghijklmnop',
            redirect_uris: ['https://strict.example/cb'],
            grant_types: ['authorization_code'],
            scope: 'openid',
            mfa: 'required',
          },
        ],
      },
      clock,
    );
    const made = await createUser(app.stores, { username: 'cleo', password: PASSWORD }, clock, { origin: 'operator' });
    assert.ok('user' in made);
    const plain = await signIn(new Jar(), 'cleo');
    assert.deepEqual(plain.steps, ['login', 'consent']);
    const strict = await signIn(new Jar(), 'cleo', { client_id: 'strict', redirect_uri: 'https://strict.example/cb' });
    assert.deepEqual(strict.steps, ['login', 'enrol']);
  });

  it('a client that wants passkeys: a user with only an app passes its code before the session, then enrols', async () => {
    await applyBootstrap(
      app.stores,
      app.provider.config,
      {
        clients: [
          {
            client_id: 'keys',
            client_secret: 'keys-secret-0123456789-abcdefghijklmnopq',
            redirect_uris: ['https://keys.example/cb'],
            grant_types: ['authorization_code'],
            scope: 'openid',
            mfa: 'phishing-resistant',
          },
        ],
      },
      clock,
    );
    const made = await createUser(app.stores, { username: 'pia', password: PASSWORD }, clock, { origin: 'operator' });
    assert.ok('user' in made);
    const e = await beginTotp(app.stores, app.provider.config, made.user, 'Tessera', clock);
    const code = (t: number) =>
      new TOTP({ secret: Secret.fromBase32(e.secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({
        timestamp: t * 1000,
      });
    assert.equal(
      await confirmTotp(app.stores, app.provider.config, made.user.id, e.factor.id, code(clock), clock),
      'ok',
    );
    clock += 30;
    const keys = { client_id: 'keys', redirect_uri: 'https://keys.example/cb' };
    const jar = new Jar();
    const asked = await signIn(jar, 'pia', keys);
    assert.deepEqual(asked.steps, ['login', 'mfa']);
    assert.ok(!jar.cookies.has('tessera_session'), 'no session with the password alone');
    const done = await signIn(new Jar(), 'pia', keys, code(clock));
    assert.deepEqual(done.steps, ['login', 'mfa', 'enrol']);
  });
});
