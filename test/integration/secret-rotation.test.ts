// Issue 13, point 3 (second part): TESSERA_SECRET can be rotated. A server on the same database
// with TESSERA_SECRET_PREVIOUS keeps stored client secrets verifying (and re-hashes them on use),
// accepts CSRF tokens, DPoP nonces and user codes made under the previous secret, and, with the
// pairwise secret pinned, keeps every pairwise `sub` a relying party knows.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, describe, it } from 'node:test';
import { SignJWT, decodeJwt, exportJWK, generateKeyPair } from 'jose';
import { pino } from 'pino';
import { buildApp, type App } from '../../src/app.ts';
import { applyBootstrap } from '../../src/admin/bootstrap.ts';
import { loadConfig } from '../../src/config/config.ts';
import { hashClientSecret } from '../../src/protocol/client-auth/secret-hash.ts';
import { authorizeWithLogin, backends, basic, csrfOf, form, ISSUER, Jar, pkce, testApp } from '../fixtures/app.ts';
import { sqliteTempUrl } from '../fixtures/db.ts';

const S1 = 'first-server-secret-0123456789-abcdefghijklmnop';
const S2 = 'second-server-secret-0123456789-abcdefghijklmno';
const PW = { client_id: 'pw', redirect_uri: 'https://pw.example/cb', response_type: 'code' };
const PW_SECRET = 'pw-secret-0123456789-abcdefghijklmnopqrstuv';

for (const backend of await backends()) {
  describe(`TESSERA_SECRET rotation (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    const url = backend.name === 'sqlite' ? sqliteTempUrl() : backend.url!;
    const open: App[] = [];
    after(async () => {
      for (const a of open) await a.close();
      await backend.drop?.();
      if (backend.name === 'sqlite') rmSync(dirname(url.slice('sqlite:'.length)), { recursive: true, force: true });
    });
    /** A server on the shared database without applying the bootstrap file again (which would re-hash every secret). */
    const server = async (env: Record<string, string>) => {
      const config = loadConfig({
        TESSERA_ENV: 'development',
        TESSERA_ISSUER: ISSUER,
        DATABASE_URL: url,
        TESSERA_SEED_DEMO: 'false',
        TESSERA_EXTRA_SCOPES: 'api:read api:write',
        TESSERA_DPOP_REQUIRE_NONCE: 'true',
        ...env,
      });
      const app = await buildApp(config, { logger: pino({ level: 'silent' }) });
      open.push(app);
      return app;
    };
    async function pairwiseSub(app: App): Promise<string> {
      const { verifier, challenge } = pkce();
      const redirect = await authorizeWithLogin(app, new Jar(), {
        ...PW,
        scope: 'openid',
        state: 's',
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
          redirect_uri: PW.redirect_uri,
        },
        { authorization: basic('pw', PW_SECRET) },
      );
      assert.equal(res.statusCode, 200, res.body);
      return decodeJwt(res.json().id_token).sub!;
    }

    it('keeps client secrets, pairwise subjects, pages, DPoP nonces and user codes of the previous secret working, then drops it', async () => {
      const a = await testApp(url, {
        TESSERA_SECRET: S1,
        TESSERA_DPOP_REQUIRE_NONCE: 'true',
        TESSERA_RATE_LIMITING: 'false',
      });
      open.push(a);
      await applyBootstrap(
        a.stores,
        a.provider.config,
        {
          clients: [
            {
              client_id: 'pw',
              client_secret: PW_SECRET,
              redirect_uris: [PW.redirect_uri],
              grant_types: ['authorization_code'],
              scope: 'openid',
              subject_type: 'pairwise',
            },
            {
              client_id: 'idle',
              client_secret: 'idle-secret-0123456789-abcdefghijklmnopqrst',
              grant_types: ['client_credentials'],
              scope: 'api:read',
              redirect_uris: [],
            },
            {
              client_id: 'tv',
              token_endpoint_auth_method: 'none',
              grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
              scope: 'openid',
              redirect_uris: [],
            },
          ],
        },
        a.provider.now(),
      );
      const sub = await pairwiseSub(a);
      // A login page served under the first secret, submitted after the rotation.
      const jar = new Jar();
      const start = await a.server.inject({
        url: `/authorize?${new URLSearchParams({ ...PW, scope: 'openid', state: 's', code_challenge: pkce().challenge, code_challenge_method: 'S256' })}`,
      });
      jar.take(start);
      const loginPath = new URL(start.headers.location as string).pathname;
      const csrf = csrfOf((await a.server.inject({ url: loginPath, headers: { cookie: jar.header() } })).body);
      // A DPoP nonce issued under the first secret.
      const nonce = (
        await form(
          a,
          '/token',
          { grant_type: 'client_credentials' },
          { authorization: basic('svc'), dpop: await proof('/token') },
        )
      ).headers['dpop-nonce'] as string;
      assert.ok(nonce);
      // A user code issued under the first secret (stored as its keyed hash).
      const device = await form(a, '/device_authorization', { client_id: 'tv', scope: 'openid' });
      assert.equal(device.statusCode, 200, device.body);
      const userCode = device.json().user_code as string;
      const svcHashBefore = (await a.stores.clients.get('svc'))!.secretHash;
      assert.equal(svcHashBefore, hashClientSecret(S1, 'svc-secret-0123456789-abcdefghijklmnopq'));

      // Rotation: every instance restarts with the new secret, the previous one, and the pinned pairwise secret.
      const b = await server({ TESSERA_SECRET: S2, TESSERA_SECRET_PREVIOUS: S1, TESSERA_PAIRWISE_SECRET: S1 });
      const cc = await form(
        b,
        '/token',
        { grant_type: 'client_credentials' },
        { authorization: basic('svc'), dpop: await proof('/token', nonce) },
      );
      assert.equal(cc.statusCode, 200, `the old hash verifies and the old nonce is accepted: ${cc.body}`);
      assert.equal(
        (await b.stores.clients.get('svc'))!.secretHash,
        hashClientSecret(S2, 'svc-secret-0123456789-abcdefghijklmnopq'),
        're-hashed under the new secret on use',
      );
      const login = await form(
        b,
        `${loginPath}/login`,
        { username: 'alice', password: 'correct horse battery', csrf },
        { cookie: jar.header() },
      );
      assert.equal(login.statusCode, 303, `the page of the previous secret still submits: ${login.body.slice(0, 200)}`);
      assert.equal(await pairwiseSub(b), sub, 'the pairwise sub is unchanged');
      const deviceJar = new Jar();
      const entry = await b.server.inject({ url: '/device' });
      deviceJar.take(entry);
      const entered = await form(
        b,
        '/device',
        { user_code: userCode, csrf: csrfOf(entry.body) },
        { cookie: deviceJar.header() },
      );
      assert.equal(
        entered.statusCode,
        303,
        `the user code of the previous secret is found: ${entered.body.slice(0, 200)}`,
      );

      // The rotation is over: the previous secret is dropped, the pairwise secret stays pinned.
      const c = await server({ TESSERA_SECRET: S2, TESSERA_PAIRWISE_SECRET: S1 });
      assert.equal(
        (
          await form(
            c,
            '/token',
            { grant_type: 'client_credentials' },
            {
              authorization: basic('svc'),
              dpop: await proof(
                '/token',
                (
                  await form(
                    c,
                    '/token',
                    { grant_type: 'client_credentials' },
                    { authorization: basic('svc'), dpop: await proof('/token') },
                  )
                ).headers['dpop-nonce'] as string,
              ),
            },
          )
        ).statusCode,
        200,
      );
      assert.equal(await pairwiseSub(c), sub);
      // A client that did not authenticate during the overlap kept its old hash: refused, as documented (rotate its
      // secret).
      assert.equal(
        (
          await form(
            c,
            '/token',
            { grant_type: 'client_credentials' },
            { authorization: basic('idle', 'idle-secret-0123456789-abcdefghijklmnopqrst') },
          )
        ).statusCode,
        401,
      );
      // ...and a nonce of the first secret is no longer accepted.
      assert.equal(
        (
          await form(
            c,
            '/token',
            { grant_type: 'client_credentials' },
            { authorization: basic('svc'), dpop: await proof('/token', nonce) },
          )
        ).json().error,
        'use_dpop_nonce',
      );
    });
  });
}

const dpopKey = await generateKeyPair('ES256');
const dpopJwk = await exportJWK(dpopKey.publicKey);
function proof(path: string, nonce?: string): Promise<string> {
  return new SignJWT({
    jti: randomUUID(),
    htm: 'POST',
    htu: `${ISSUER}${path}`,
    iat: Math.floor(Date.now() / 1000),
    ...(nonce ? { nonce } : {}),
  })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: dpopJwk })
    .sign(dpopKey.privateKey);
}
