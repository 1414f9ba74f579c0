/**
 * Several identical Tessera processes on one PostgreSQL database, as behind a load balancer with
 * no session affinity: one issuer, requests addressed to whichever instance the test picks.
 * Whatever one instance does (codes, sessions, rotations, reuse detection, revocations, signing
 * keys) holds on every other.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import * as client from 'openid-client';
import { createPgDatabase, pgAdminUrlForDisplay } from '../fixtures/db.ts';
import type { RunningServer } from '../fixtures/server.ts';
import {
  Agent,
  authorize,
  base,
  clientCredentials,
  introspect,
  ISSUER,
  login,
  pkce,
  refresh,
  rp,
  runCli,
  startInstance,
  SVC_AUTH,
  until,
  WEB_AUTH,
} from './support.ts';

const pg = await createPgDatabase();

describe('several instances on one PostgreSQL database', {
  skip: pg ? false : `PostgreSQL unreachable at ${pgAdminUrlForDisplay()}`,
  timeout: 120_000,
}, () => {
  let a: RunningServer;
  let b: RunningServer;
  let A: string;
  let B: string;
  const jwks = async (s: string) => (await (await fetch(`${s}/jwks`)).json()) as JSONWebKeySet;
  const kids = async (s: string) => (await jwks(s)).keys.map((k) => k.kid!).sort();

  before(async () => {
    // Both start at once on an empty database: migrations, the bootstrap file and the first
    // signing key must come out the same as from one.
    const started = await Promise.allSettled([startInstance(pg!.url), startInstance(pg!.url)]);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
      throw (failed as PromiseRejectedResult).reason;
    }
    [a, b] = started.map((s) => (s as PromiseFulfilledResult<RunningServer>).value) as [RunningServer, RunningServer];
    A = base(a);
    B = base(b);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await pg?.drop();
  });

  it('start together on an empty database and agree on one signing key per algorithm', async () => {
    for (const s of [A, B]) assert.equal((await fetch(`${s}/ready`)).status, 200);
    const [ka, kb] = [await kids(A), await kids(B)];
    assert.deepEqual(
      (await jwks(A)).keys.map((k) => k.alg).sort(),
      ['ES256', 'RS256'],
      'one key per algorithm, not one per instance',
    );
    assert.deepEqual(ka, kb);
  });

  it('a code issued on A is redeemed on B, and the session made on A signs in silently on B', async () => {
    const agent = new Agent();
    const tokens = await login(A, B, agent);
    assert.ok(tokens.access_token && tokens.refresh_token && tokens.id_token);
    assert.equal(tokens.claims()?.iss, ISSUER);
    // The same browser session on the other instance: a code without a login.
    const p = await pkce();
    const callback = await authorize(B, agent, p, { prompt: 'none' });
    assert.ok(callback.searchParams.get('code'), `expected a code, got ${callback.href}`);
    const again = await client.authorizationCodeGrant(await rp(A), callback, {
      pkceCodeVerifier: p.verifier,
      expectedState: p.state,
    });
    assert.equal(again.claims()?.sub, tokens.claims()?.sub);
    assert.equal(again.claims()?.auth_time, tokens.claims()?.auth_time, 'the same login session');
    // A code is single use across instances too.
    const replay = await fetch(`${B}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: WEB_AUTH },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code')!,
        code_verifier: p.verifier,
        redirect_uri: 'https://app.example/cb',
      }),
    });
    assert.equal(replay.status, 400);
    assert.equal(((await replay.json()) as { error: string }).error, 'invalid_grant');
  });

  it('a refresh token rotated on A and replayed on B revokes the family on both', async () => {
    const first = await login(A, A);
    const rotated = await client.refreshTokenGrant(await rp(A), first.refresh_token!);
    assert.notEqual(rotated.refresh_token, first.refresh_token);
    const replay = await refresh(B, first.refresh_token!);
    assert.equal(replay.status, 400);
    assert.equal(replay.body.error, 'invalid_grant');
    // The whole family is gone, whichever instance is asked.
    for (const s of [A, B]) {
      assert.equal((await refresh(s, rotated.refresh_token!)).body.error, 'invalid_grant');
      assert.equal((await introspect(s, rotated.access_token)).body.active, false);
      assert.equal((await introspect(s, first.access_token)).body.active, false);
    }
  });

  it('24 concurrent refreshes of one token spread over both instances: at most one succeeds', async () => {
    const tokens = await login(A, B);
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) => refresh(i % 2 ? A : B, tokens.refresh_token!)),
    );
    const ok = results.filter((r) => r.status === 200);
    assert.ok(ok.length <= 1, `${ok.length} refreshes succeeded`);
    for (const r of results.filter((x) => x.status !== 200)) {
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.error, 'invalid_grant');
    }
    // The losers were replays: the family is revoked, including the winner's new tokens.
    for (const r of ok) {
      assert.equal((await refresh(A, r.body.refresh_token as string)).body.error, 'invalid_grant');
      assert.equal((await introspect(B, r.body.access_token as string)).body.active, false);
    }
  });

  it('a revocation on A is honoured by introspection and userinfo on B', async () => {
    const tokens = await login(A, A);
    const onB = await rp(B);
    assert.equal(
      (await client.fetchUserInfo(onB, tokens.access_token, tokens.claims()!.sub)).sub,
      tokens.claims()!.sub,
    );
    await client.tokenRevocation(await rp(A), tokens.refresh_token!);
    assert.equal((await client.tokenIntrospection(onB, tokens.access_token)).active, false);
    const ui = await fetch(`${B}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(ui.status, 401);
    assert.match(ui.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    // An access token revoked by itself, on B this time, is inactive on A.
    const cc = (await clientCredentials(B)).body.access_token as string;
    assert.equal((await introspect(A, cc)).body.active, true);
    const revoked = await fetch(`${B}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: SVC_AUTH },
      body: new URLSearchParams({ token: cc }),
    });
    assert.equal(revoked.status, 200);
    assert.equal((await introspect(A, cc)).body.active, false);
  });

  it('a signing key rotated with the CLI is used and published by every instance (TESSERA_KEY_RELOAD_SECONDS=1)', async () => {
    const before = await login(A, A);
    const oldKid = decodeProtectedHeader(before.access_token).kid!;
    const r = await runCli(['keys', 'rotate'], pg!.url);
    assert.equal(r.code, 0, r.out);
    const newKid = /new active signing key (\S+)/.exec(r.out)?.[1];
    assert.ok(newKid && newKid !== oldKid, r.out);
    const started = Date.now();
    for (const s of [A, B]) {
      await until(`the new key on ${s}`, async () => (await kids(s)).includes(newKid!), 5000);
      await until(
        `tokens signed with the new key on ${s}`,
        async () => decodeProtectedHeader((await clientCredentials(s)).body.access_token as string).kid === newKid,
        5000,
      );
    }
    assert.ok(Date.now() - started < 5000, 'picked up within a few reload periods');
    // (ES256 rotated; the RS256 key, on its own lifecycle, is untouched.)
    const es256 = async (s: string) =>
      (await jwks(s)).keys
        .filter((k) => k.alg === 'ES256')
        .map((k) => k.kid!)
        .sort();
    for (const s of [A, B])
      assert.deepEqual(await es256(s), [oldKid, newKid].sort(), 'the old key stays published for its tokens');

    // Tokens signed by the new key on A verify against B's JWKS and are honoured by B, and the
    // other way round; a token signed before the rotation still is.
    const fromA = await client.refreshTokenGrant(await rp(A), before.refresh_token!);
    assert.equal(decodeProtectedHeader(fromA.access_token).kid, newKid);
    await jwtVerify(fromA.access_token, createLocalJWKSet(await jwks(B)), { issuer: ISSUER, typ: 'at+jwt' });
    assert.equal(
      (await client.fetchUserInfo(await rp(B), fromA.access_token, fromA.claims()!.sub)).sub,
      fromA.claims()!.sub,
    );
    const fromB = (await clientCredentials(B)).body.access_token as string;
    assert.equal(decodeProtectedHeader(fromB).kid, newKid);
    await jwtVerify(fromB, createLocalJWKSet(await jwks(A)), { issuer: ISSUER, typ: 'at+jwt' });
    assert.equal((await introspect(A, fromB)).body.active, true);
    assert.equal(decodeProtectedHeader(before.access_token).kid, oldKid);
    await jwtVerify(before.access_token, createLocalJWKSet(await jwks(B)), { issuer: ISSUER, typ: 'at+jwt' });
    assert.equal((await introspect(B, before.access_token)).body.active, true);
  });
});
