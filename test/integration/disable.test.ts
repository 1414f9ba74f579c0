// Issue 13, point 3: disabling a client or a user ends what it holds, at once and on every
// instance (the server here caches client records for 5 minutes; the operator acts through a
// separate connection, as the CLI does), and enabling it again brings none of it back.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStores, type App } from '../../src/app.ts';
import { saveClient, setClientDisabled } from '../../src/admin/clients.ts';
import { setDisabled } from '../../src/admin/users.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { Stores } from '../../src/ports/index.ts';
import { applyBootstrap } from '../../src/admin/bootstrap.ts';
import { authorizeWithLogin, backends, basic, FIXTURE, form, Jar, pkce, testApp } from '../fixtures/app.ts';
import { sqliteTempUrl } from '../fixtures/db.ts';

const WEB = { client_id: 'web', redirect_uri: 'https://app.example/cb', response_type: 'code' };

for (const backend of await backends()) {
  describe(`disabling a client or a user (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    let operator: { stores: Stores; handle: { close(): Promise<void> } };
    const url = backend.name === 'sqlite' ? sqliteTempUrl() : backend.url!;
    before(async () => {
      app = await testApp(url, { TESSERA_CLIENT_CACHE_TTL: '300', TESSERA_RATE_LIMITING: 'false' });
      operator = await openStores(loadConfig({ TESSERA_ENV: 'development', DATABASE_URL: url }), { migrate: false });
    });
    after(async () => {
      await operator?.handle.close();
      await app?.close();
      await backend.drop?.();
      if (backend.name === 'sqlite') rmSync(dirname(url.slice('sqlite:'.length)), { recursive: true, force: true });
    });

    const now = () => Math.floor(Date.now() / 1000);
    const introspect = async (token: string) =>
      (await form(app, '/introspect', { token }, { authorization: basic('rs') })).json().active as boolean;
    const userinfo = async (token: string) =>
      (await app.server.inject({ url: '/userinfo', headers: { authorization: `Bearer ${token}` } })).statusCode;
    const cc = async () =>
      (await form(app, '/token', { grant_type: 'client_credentials' }, { authorization: basic('svc') })).json()
        .access_token as string;
    async function userTokens(): Promise<{ access_token: string; refresh_token: string }> {
      const { verifier, challenge } = pkce();
      const redirect = await authorizeWithLogin(app, new Jar(), {
        ...WEB,
        scope: 'openid profile offline_access',
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
          redirect_uri: WEB.redirect_uri,
        },
        { authorization: basic('web') },
      );
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    }
    const refresh = (token: string) =>
      form(app, '/token', { grant_type: 'refresh_token', refresh_token: token }, { authorization: basic('web') });

    it('a deleted client: its client_credentials tokens (no grant behind them) are inactive at once; a client made again under its id starts clean', async () => {
      const secret = 'deleted-client-secret-0123456789-abcdefghij';
      await saveClient(
        operator.stores,
        app.provider.config,
        {
          client_id: 'gone',
          client_secret: secret,
          grant_types: ['client_credentials'],
          scope: 'api:read',
          redirect_uris: [],
        },
        now(),
      );
      const tokenOf = async () =>
        (
          await form(
            app,
            '/token',
            { grant_type: 'client_credentials', scope: 'api:read' },
            { authorization: basic('gone', secret) },
          )
        ).json().access_token as string;
      const token = await tokenOf();
      assert.equal(await introspect(token), true);
      // As `tessera client delete` does.
      assert.equal(await operator.stores.clients.delete('gone'), true);
      await operator.stores.revocations.cutOffHolder('client:gone', now());
      assert.equal(await introspect(token), false, 'inactive at once, although the server still has the client cached');
      await new Promise((r) => setTimeout(r, 1100));
      await saveClient(
        operator.stores,
        app.provider.config,
        {
          client_id: 'gone',
          client_secret: secret,
          grant_types: ['client_credentials'],
          scope: 'api:read',
          redirect_uris: [],
        },
        now(),
      );
      assert.equal(await introspect(token), false, 'the old token stays refused');
      assert.equal(await introspect(await tokenOf()), true, 'a new token of the new client is active');
    });

    it('a disabled client: its client_credentials tokens are inactive at once on an instance that cached it, and stay so after enable', async () => {
      const token = await cc();
      assert.equal(await introspect(token), true);
      await setClientDisabled(operator.stores, 'svc', true, now());
      assert.equal(await introspect(token), false, 'inactive at once, although the server still has the client cached');
      await setClientDisabled(operator.stores, 'svc', false, now());
      await new Promise((r) => setTimeout(r, 1100)); // the next second: tokens issued after the enable count
      assert.equal(await introspect(token), false, 'not resurrected by the enable');
      // The server's cache still says enabled... and after it learns, new tokens work.
      const fresh = await cc();
      assert.equal(await introspect(fresh), true);
    });

    it('a bootstrap file that disables a client does what client disable does', async () => {
      await new Promise((r) => setTimeout(r, 1100)); // a second after the enable above
      const token = await cc();
      assert.equal(await introspect(token), true);
      const svc = FIXTURE.clients!.find((c) => c.client_id === 'svc')!;
      await applyBootstrap(operator.stores, app.provider.config, { clients: [{ ...svc, disabled: true }] }, now());
      assert.equal(await introspect(token), false);
      await applyBootstrap(operator.stores, app.provider.config, { clients: [{ ...svc, disabled: false }] }, now());
      assert.equal(await introspect(token), false, 'not back after the enable');
      assert.equal((await operator.stores.clients.get('svc'))!.disabled, false);
    });

    it("a disabled client: its users' access tokens are refused by introspection and userinfo, its refresh tokens revoked for good", async () => {
      const tokens = await userTokens();
      assert.equal(await introspect(tokens.access_token), true);
      assert.equal(await userinfo(tokens.access_token), 200);
      const revoked = await setClientDisabled(operator.stores, 'web', true, now());
      assert.ok(revoked >= 1);
      assert.equal(await introspect(tokens.access_token), false);
      assert.equal(await userinfo(tokens.access_token), 401);
      assert.equal(await introspect(tokens.refresh_token), false);
      await setClientDisabled(operator.stores, 'web', false, now());
      assert.equal(await introspect(tokens.access_token), false);
      assert.equal(await userinfo(tokens.access_token), 401);
      assert.equal(
        (await refresh(tokens.refresh_token)).json().error,
        'invalid_grant',
        'the refresh token stays revoked',
      );
    });

    it('a disabled user: access tokens refused at once, refresh tokens revoked, nothing back after enable', async () => {
      await new Promise((r) => setTimeout(r, 1100)); // a second after the client's enable above
      const tokens = await userTokens();
      assert.equal(await introspect(tokens.access_token), true);
      await setDisabled(operator.stores, 'alice', true, now());
      assert.equal(await introspect(tokens.access_token), false);
      assert.equal(await userinfo(tokens.access_token), 401);
      assert.equal(await introspect(tokens.refresh_token), false);
      await setDisabled(operator.stores, 'alice', false, now());
      assert.equal(await introspect(tokens.access_token), false);
      assert.equal(await userinfo(tokens.access_token), 401);
      assert.equal((await refresh(tokens.refresh_token)).json().error, 'invalid_grant');
      await new Promise((r) => setTimeout(r, 1100));
      const again = await userTokens();
      assert.equal(await introspect(again.access_token), true, 'the enabled user gets working tokens');
      assert.equal(await userinfo(again.access_token), 200);
    });

    it('a bootstrap file that disables and enables a user does what user disable/enable does', async () => {
      await new Promise((r) => setTimeout(r, 1100));
      const tokens = await userTokens();
      const alice = FIXTURE.users![0]!;
      await applyBootstrap(operator.stores, app.provider.config, { users: [{ ...alice, disabled: true }] }, now());
      assert.equal(await introspect(tokens.access_token), false);
      await applyBootstrap(operator.stores, app.provider.config, { users: [{ ...alice, disabled: false }] }, now());
      assert.equal(await introspect(tokens.access_token), false, 'not back after the enable');
      await new Promise((r) => setTimeout(r, 1100));
      const again = await userTokens();
      assert.equal(await introspect(again.access_token), true, 'the enabled user gets working tokens');
    });

    it('grants created while a user was disabled (a request in flight) are revoked by the enable', async () => {
      const tokens = await userTokens();
      await setDisabled(operator.stores, 'alice', true, now());
      // As if a code exchange that had read the user before the disable committed its grant after the sweep:
      const grant = (await operator.stores.grants.findByAccessToken(
        JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()).jti,
      ))!;
      await operator.stores.grants.create(
        { ...grant, id: `late-${grant.id}`, revokedAt: null, createdAt: now() },
        {
          tokenHash: `late-${grant.id}`,
          grantId: `late-${grant.id}`,
          clientId: 'web',
          scope: grant.scope,
          createdAt: now(),
          expiresAt: now() + 3600,
          usedAt: null,
        },
        { jti: `late-${grant.id}`, expiresAt: now() + 600 },
      );
      await setDisabled(operator.stores, 'alice', false, now());
      assert.notEqual((await operator.stores.grants.get(`late-${grant.id}`))!.revokedAt, null);
    });
  });
}
