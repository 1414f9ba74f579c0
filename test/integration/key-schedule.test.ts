/**
 * The signing-key schedule end to end, with a fake clock handed to buildApp(): the next key is in
 * the JWKS a lead time before it signs, a token signed by the old key still verifies (at the
 * server and for a relying party using the JWKS) through the grace period, and the old key leaves
 * the JWKS when its grace ends. Runs on SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import type { App } from '../../src/app.ts';
import { configKeks, rotateSigningKey, runKeySchedule } from '../../src/protocol/tokens/keys.ts';
import { JWKS_MAX_AGE, scheduleSettings } from '../../src/protocol/tokens/key-schedule.ts';
import { authorizeWithLogin, backends, basic, form, ISSUER, Jar, pkce, testApp } from '../fixtures/app.ts';
import { sqliteTempUrl } from '../fixtures/db.ts';

const DAY = 86_400;
const LEAD = 3600;
const SCHEDULE = { TESSERA_KEY_ROTATION_DAYS: '1', TESSERA_KEY_PREPUBLISH_SECONDS: String(LEAD) };
// The single-algorithm lifecycle (as before several algorithms were signed with at once).
const ENV = { ...SCHEDULE, TESSERA_SIGNING_ALGS: 'ES256' };

for (const backend of await backends()) {
  describe(`signing-key schedule (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    let t = Math.floor(Date.now() / 1000);
    const clock = () => t;
    before(async () => {
      app = await testApp(backend.url!, ENV, { now: clock });
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    const token = async () =>
      (await form(app, '/token', { grant_type: 'client_credentials' }, { authorization: basic('svc') })).json()
        .access_token as string;
    const introspected = async (tok: string) =>
      (await form(app, '/introspect', { token: tok }, { authorization: basic('rs') })).json().active as boolean;
    const jwks = async () => {
      const res = await app.server.inject({ url: '/jwks' });
      return {
        set: res.json() as JSONWebKeySet,
        etag: res.headers.etag as string,
        cacheControl: res.headers['cache-control'],
        body: res.body,
      };
    };
    const kids = async () => (await jwks()).set.keys.map((k) => k.kid);
    /** A relying party verifying with a JWKS it fetched (at the fake time). */
    const rpVerifies = async (set: JSONWebKeySet, tok: string, at = t) => {
      try {
        await jwtVerify(tok, createLocalJWKSet(set), { issuer: ISSUER, currentDate: new Date(at * 1000) });
        return true;
      } catch {
        return false;
      }
    };
    const kidOf = (tok: string) => decodeProtectedHeader(tok).kid!;

    it('prepublishes, promotes and retires on schedule, exactly once however many run it', async () => {
      const s = scheduleSettings(app.provider.config);
      assert.equal(s.gracePeriod, 3600 + 30 + 60);
      const first = (await app.stores.keys.list()).find((k) => k.state === 'active')!;
      const a = first.kid;
      assert.deepEqual(await app.runKeySchedule(), []);
      assert.deepEqual(await kids(), [a]);
      const before = await jwks();
      assert.equal(before.cacheControl, `public, max-age=${JWKS_MAX_AGE}`);
      assert.equal(before.etag, `"${createHash('sha256').update(before.body).digest('base64url')}"`);

      // One lead time before the rotation: 20 schedulers at once (processes, instances) make one key.
      t = first.createdAt + DAY - LEAD;
      const raced = await Promise.all(
        Array.from({ length: 20 }, () =>
          runKeySchedule(app.stores.keys, configKeks(app.provider.config), 'ES256', s, t),
        ),
      );
      const made = raced.flat();
      assert.equal(made.length, 1);
      assert.equal(made[0]!.type, 'key_prepublished');
      const b = made[0]!.kid;
      assert.deepEqual(await app.runKeySchedule(), []); // nothing more is due
      assert.deepEqual(
        (await app.stores.keys.list()).filter((k) => k.state === 'prepublished').map((k) => k.kid),
        [b],
      );
      const published = await jwks();
      assert.deepEqual(
        published.set.keys.map((k) => k.kid),
        [a, b],
      ); // in the JWKS before it signs
      assert.notEqual(published.etag, before.etag);
      const oldToken = await token();
      assert.equal(kidOf(oldToken), a); // still signed by the active key

      t = first.createdAt + DAY - 1;
      assert.deepEqual(await app.runKeySchedule(), []);
      const lastOld = await token(); // the last token the old key signs
      assert.equal(kidOf(lastOld), a);
      const lastOldExp = t + app.provider.config.accessTokenTtl;

      // The rotation time: exactly one promotion among 20.
      t = first.createdAt + DAY;
      const promoted = (
        await Promise.all(
          Array.from({ length: 20 }, () =>
            runKeySchedule(app.stores.keys, configKeks(app.provider.config), 'ES256', s, t),
          ),
        )
      ).flat();
      assert.deepEqual(
        promoted.map((x) => [x.type, x.kid]),
        [['key_rotated', b]],
      );
      await app.runKeySchedule();
      assert.deepEqual(await kids(), [b, a]);
      const newToken = await token();
      assert.equal(kidOf(newToken), b);
      const states = Object.fromEntries((await app.stores.keys.list()).map((k) => [k.kid, [k.state, k.retiredAt]]));
      assert.deepEqual(states[a], ['grace', t + s.gracePeriod]);
      assert.deepEqual(states[b], ['active', null]);
      // A relying party that cached the JWKS while B was only prepublished verifies B's tokens.
      assert.equal(await rpVerifies(published.set, newToken), true);

      // Through the grace period the old key's last token verifies until it expires, at the server and for relying
      // parties.
      t = lastOldExp - 1;
      assert.deepEqual(await app.runKeySchedule(), []);
      assert.equal(await introspected(lastOld), true);
      assert.equal(await rpVerifies((await jwks()).set, lastOld), true);
      assert.equal(await rpVerifies((await jwks()).set, oldToken), false); // expired, though its key is still published
      t = first.createdAt + DAY + s.gracePeriod - 1;
      assert.deepEqual(await app.runKeySchedule(), []);
      assert.deepEqual(await kids(), [b, a]);

      // The grace period ends: A is retired and leaves the JWKS.
      t = first.createdAt + DAY + s.gracePeriod;
      const retired = await app.runKeySchedule();
      assert.deepEqual(
        retired.map((x) => [x.type, x.kid]),
        [['key_retired', a]],
      );
      assert.deepEqual(await kids(), [b]);
      // Even at a time when it had not expired, the old key's token no longer verifies: its key is gone.
      assert.equal(await rpVerifies(published.set, lastOld, lastOldExp - 1), true);
      assert.equal(await rpVerifies((await jwks()).set, lastOld, lastOldExp - 1), false);
      assert.equal(await rpVerifies((await jwks()).set, newToken, first.createdAt + DAY), true);

      // The app's own schedule run is audited (the prepublish and promotion above were made by the
      // racing schedulers called directly, outside the app's event sink).
      await app.audit.flush();
      const audited = (await app.stores.audit.query({})).filter((r) => r.type.startsWith('key_'));
      assert.deepEqual(
        audited.map((r) => [r.type, r.actor, r.details.kid, r.details.trigger]),
        [['key_retired', 'system', a, 'scheduled']],
      );

      // Metrics: each key's state, and the time to the next rotation (B's age limit).
      const text = await app.metrics.registry.metrics();
      assert.match(text, new RegExp(`tessera_signing_key_state\\{kid="${b}",alg="ES256",state="active"\\} 1`));
      assert.match(text, new RegExp(`tessera_signing_key_state\\{kid="${a}",alg="ES256",state="retired"\\} 1`));
      assert.match(text, new RegExp(`tessera_signing_key_next_rotation_seconds ${first.createdAt + 2 * DAY - t}\\n`));
    });

    it("the app's own schedule run records the prepublish and the rotation as scheduled, by the system", async () => {
      const active = (await app.stores.keys.list()).find((k) => k.state === 'active')!;
      t = active.activatesAt! + DAY - LEAD;
      const done = await app.runKeySchedule();
      assert.deepEqual(
        done.map((x) => x.type),
        ['key_prepublished'],
      );
      assert.equal((await kids()).includes(done[0]!.kid), true);
      t = active.activatesAt! + DAY;
      assert.deepEqual(
        (await app.runKeySchedule()).map((x) => [x.type, x.kid]),
        [['key_rotated', done[0]!.kid]],
      );
      assert.equal(kidOf(await token()), done[0]!.kid);
      await app.audit.flush();
      const pre = (await app.stores.audit.query({ type: 'key_prepublished' })).at(-1)!;
      assert.equal(pre.actor, 'system');
      assert.deepEqual(pre.details, {
        kid: done[0]!.kid,
        alg: 'ES256',
        trigger: 'scheduled',
        activates_at: new Date((active.activatesAt! + DAY) * 1000).toISOString(),
      });
      const rotated = (await app.stores.audit.query({ type: 'key_rotated' })).at(-1)!;
      assert.deepEqual(
        [rotated.actor, rotated.details],
        ['system', { kid: done[0]!.kid, alg: 'ES256', trigger: 'scheduled', previous: active.kid, prepublished: true }],
      );
      const text = await app.metrics.registry.metrics();
      assert.match(text, /tessera_key_transitions_total\{type="key_prepublished",trigger="scheduled"\} 1/);
      assert.match(text, /tessera_key_transitions_total\{type="key_rotated",trigger="scheduled"\} 1/);
    });
  });
}

for (const backend of await backends()) {
  describe(`signing-key schedule, one lifecycle per algorithm (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    let t = Math.floor(Date.now() / 1000);
    const clock = () => t;
    before(async () => {
      app = await testApp(backend.url!, SCHEDULE, { now: clock });
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    const kidOf = (tok: string) => decodeProtectedHeader(tok).kid!;
    const jwks = async () => (await app.server.inject({ url: '/jwks' })).json() as JSONWebKeySet;
    const accessToken = async () =>
      (await form(app, '/token', { grant_type: 'client_credentials' }, { authorization: basic('svc') })).json()
        .access_token as string;
    /** An ID token for `web` (which registered no algorithm: RS256, OpenID Connect Registration 2). */
    const idToken = async () => {
      const { verifier, challenge } = pkce();
      const redirect = await authorizeWithLogin(app, new Jar(), {
        client_id: 'web',
        redirect_uri: 'https://app.example/cb',
        response_type: 'code',
        scope: 'openid profile',
        nonce: 'n',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      const res = await form(
        app,
        '/token',
        {
          grant_type: 'authorization_code',
          code: redirect.searchParams.get('code')!,
          code_verifier: verifier,
          redirect_uri: 'https://app.example/cb',
        },
        { authorization: basic('web') },
      );
      assert.equal(res.statusCode, 200, res.body);
      return res.json().id_token as string;
    };
    const activeOf = async (alg: string) =>
      (await app.stores.keys.list()).find((k) => k.state === 'active' && k.alg === alg)!;
    /** 20 schedulers at once (processes, instances) with the configured algorithms. */
    const race = async () =>
      (
        await Promise.all(
          Array.from({ length: 20 }, () =>
            runKeySchedule(
              app.stores.keys,
              configKeks(app.provider.config),
              app.provider.config.signingAlgs,
              scheduleSettings(app.provider.config),
              t,
            ),
          ),
        )
      ).flat();

    it('ES256 and RS256 each have an active key, in the JWKS and in discovery; access tokens ES256, ID tokens RS256 verified with jose through the JWKS', async () => {
      const es = await activeOf('ES256');
      const rs = await activeOf('RS256');
      assert.ok(es && rs);
      assert.deepEqual(
        (await jwks()).keys.map((k) => [k.kid, k.alg]).sort(),
        [
          [es.kid, 'ES256'],
          [rs.kid, 'RS256'],
        ].sort(),
      );
      const d = (await app.server.inject({ url: '/.well-known/openid-configuration' })).json();
      assert.deepEqual(d.id_token_signing_alg_values_supported, ['ES256', 'RS256']);
      assert.deepEqual(d.userinfo_signing_alg_values_supported, ['ES256', 'RS256']);
      const at = await accessToken();
      assert.deepEqual(decodeProtectedHeader(at), { alg: 'ES256', typ: 'at+jwt', kid: es.kid });
      const id = await idToken();
      assert.deepEqual(decodeProtectedHeader(id), { alg: 'RS256', typ: 'JWT', kid: rs.kid });
      const { payload } = await jwtVerify(id, createLocalJWKSet(await jwks()), {
        issuer: ISSUER,
        audience: 'web',
        algorithms: ['RS256'],
        currentDate: new Date(t * 1000),
      });
      assert.equal(payload.nonce, 'n');
    });

    it('each algorithm prepublishes, promotes and retires on its own schedule, exactly once per transition however many run it', async () => {
      const s = scheduleSettings(app.provider.config);
      const es1 = await activeOf('ES256');
      const rs0 = await activeOf('RS256');
      // RS256 rotated by hand six hours in: its schedule now runs six hours behind ES256's.
      t = es1.createdAt + 6 * 3600;
      const manual = await rotateSigningKey(
        app.stores.keys,
        configKeks(app.provider.config),
        'RS256',
        s.gracePeriod,
        t,
      );
      assert.equal(manual.rotated, true);
      const rs1 = await activeOf('RS256');
      assert.equal(rs1.kid, manual.kid);
      await app.reloadKeys();
      assert.equal((await activeOf('ES256')).kid, es1.kid); // the other algorithm's key is untouched

      // ES256's lead time: one ES256 key is prepublished, nothing for RS256.
      t = es1.createdAt + DAY - LEAD;
      const first = await race();
      // (The RS256 key replaced by hand has come to the end of its grace: retired, once.)
      assert.deepEqual(
        first.filter((x) => x.type === 'key_retired').map((x) => [x.alg, x.kid]),
        [['RS256', rs0.kid]],
      );
      const pre1 = first.filter((x) => x.type !== 'key_retired');
      assert.deepEqual(
        pre1.map((x) => [x.type, x.alg]),
        [['key_prepublished', 'ES256']],
      );
      assert.deepEqual(await race(), []);
      // ES256's rotation: one promotion; access tokens move to the new ES256 key, ID tokens stay on RS256's.
      t = es1.createdAt + DAY;
      assert.deepEqual(
        (await race()).map((x) => [x.type, x.alg, x.kid]),
        [['key_rotated', 'ES256', pre1[0]!.kid]],
      );
      await app.reloadKeys();
      assert.equal(kidOf(await accessToken()), pre1[0]!.kid);
      const idBefore = await idToken();
      assert.equal(kidOf(idBefore), rs1.kid);

      // RS256's lead time, then its rotation: one of each, ES256's keys untouched.
      t = rs1.activatesAt! + DAY - LEAD;
      const second = await race();
      // (ES256's replaced key has come to the end of its grace: retired, once.)
      assert.deepEqual(
        second.filter((x) => x.type === 'key_retired').map((x) => [x.alg, x.kid]),
        [['ES256', es1.kid]],
      );
      const pre2 = second.filter((x) => x.type !== 'key_retired');
      assert.deepEqual(
        pre2.map((x) => [x.type, x.alg]),
        [['key_prepublished', 'RS256']],
      );
      await app.reloadKeys();
      const cached = await jwks(); // a relying party's cache, holding the prepublished RS256 key
      assert.ok(cached.keys.some((k) => k.kid === pre2[0]!.kid));
      t = rs1.activatesAt! + DAY;
      assert.deepEqual(
        (await race()).map((x) => [x.type, x.alg, x.kid]),
        [['key_rotated', 'RS256', pre2[0]!.kid]],
      );
      await app.reloadKeys();
      const idAfter = await idToken();
      assert.equal(kidOf(idAfter), pre2[0]!.kid);
      assert.equal(kidOf(await accessToken()), pre1[0]!.kid);
      // The cached JWKS verifies the new RS256 ID token; the current one still verifies the old one (grace).
      const opts = { issuer: ISSUER, audience: 'web', algorithms: ['RS256'], currentDate: new Date(t * 1000) };
      await jwtVerify(idAfter, createLocalJWKSet(cached), opts);
      // (checked at a time it had not expired: what matters is that its key is still published)
      await jwtVerify(idBefore, createLocalJWKSet(await jwks()), {
        ...opts,
        currentDate: new Date((decodeJwt(idBefore).iat! + 1) * 1000),
      });
      const states = (await app.stores.keys.list()).map((k) => [k.alg, k.state]);
      assert.equal(states.filter(([, st]) => st === 'active').length, 2);
      assert.equal(states.filter(([, st]) => st === 'prepublished').length, 0);
      // RS256's old key leaves the JWKS when its grace ends.
      t += s.gracePeriod;
      assert.ok((await race()).some((x) => x.type === 'key_retired' && x.kid === rs1.kid));
      await app.reloadKeys();
      assert.deepEqual((await jwks()).keys.map((k) => k.kid).sort(), [pre1[0]!.kid, pre2[0]!.kid].sort());
    });
  });
}

describe('JWKS and discovery validators', () => {
  it('are the same on every instance: a hash of the body', async () => {
    const url = sqliteTempUrl();
    const one = await testApp(url);
    const two = await testApp(url);
    try {
      for (const path of ['/jwks', '/.well-known/openid-configuration']) {
        const [r1, r2] = [await one.server.inject({ url: path }), await two.server.inject({ url: path })];
        assert.equal(r1.body, r2.body);
        assert.equal(r1.headers.etag, r2.headers.etag);
        assert.equal(r1.headers.etag, `"${createHash('sha256').update(r1.body).digest('base64url')}"`);
        assert.equal(
          (await two.server.inject({ url: path, headers: { 'if-none-match': r1.headers.etag as string } })).statusCode,
          304,
        );
      }
    } finally {
      await one.close();
      await two.close();
      rmSync(dirname(url.slice('sqlite:'.length)), { recursive: true, force: true });
    }
  });
});

describe('KEK rotation at start-up', () => {
  it('a server unwraps keys stored under either KEK; with neither it refuses to start, naming both settings', async () => {
    const url = sqliteTempUrl();
    const NEW_KEK = 'the-new-key-encryption-key-0123456789abcdef';
    try {
      const old = await testApp(url); // development KEK
      const kid = old.provider.keys().active.kid;
      await old.close();
      const rolled = await testApp(url, {
        TESSERA_KEY_ENCRYPTION_KEY: NEW_KEK,
        TESSERA_KEY_ENCRYPTION_KEY_PREVIOUS: old.provider.config.keyEncryptionKey,
      });
      try {
        assert.equal(rolled.provider.keys().active.kid, kid);
        const res = await form(rolled, '/token', { grant_type: 'client_credentials' }, { authorization: basic('svc') });
        assert.equal(decodeProtectedHeader(res.json().access_token).kid, kid);
      } finally {
        await rolled.close();
      }
      await assert.rejects(
        testApp(url, { TESSERA_KEY_ENCRYPTION_KEY: NEW_KEK }),
        /cannot decrypt signing key .*neither TESSERA_KEY_ENCRYPTION_KEY nor TESSERA_KEY_ENCRYPTION_KEY_PREVIOUS/,
      );
    } finally {
      rmSync(dirname(url.slice('sqlite:'.length)), { recursive: true, force: true });
    }
  });
});
