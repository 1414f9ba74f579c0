import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStores, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { AuditRecord } from '../../src/ports/audit.ts';
import { authorizeWithLogin, backends, basic, form, Jar, pkce, SECRETS, testApp } from '../fixtures/app.ts';
import { sqliteTempUrl } from '../fixtures/db.ts';

const WEB = { client_id: 'web', redirect_uri: 'https://app.example/cb', response_type: 'code' };

for (const backend of await backends()) {
  describe(`audit trail (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    before(async () => {
      app = await testApp(backend.url!);
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    it('records logins, consent, tokens, failed client authentication and revocation, chained and without secrets', async () => {
      const started = Date.now();
      const jar = new Jar();
      // A failed login first, then the real one.
      const { verifier, challenge } = pkce();
      const params = {
        ...WEB,
        scope: 'openid profile offline_access',
        state: 's',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      };
      await assert.rejects(
        authorizeWithLogin(app, new Jar(), params, { username: 'alice', password: 'wrong password!' }),
      );
      const redirect = await authorizeWithLogin(app, jar, params);
      const code = redirect.searchParams.get('code')!;
      const tokens = (
        await form(
          app,
          '/token',
          { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: WEB.redirect_uri },
          { authorization: basic('web') },
        )
      ).json();
      assert.ok(tokens.access_token && tokens.refresh_token);
      const failed = await form(
        app,
        '/token',
        { grant_type: 'client_credentials' },
        { authorization: basic('svc', 'not-the-secret-0123456789') },
      );
      assert.equal(failed.statusCode, 401);
      assert.equal(
        (await form(app, '/revoke', { token: tokens.refresh_token }, { authorization: basic('web') })).statusCode,
        200,
      );

      await app.audit.flush();
      const records = await app.stores.audit.query({ from: started });
      const of = (type: string) => records.filter((r) => r.type === type);
      const one = (type: string): AuditRecord => {
        assert.equal(of(type).length, 1, `one ${type} record in ${records.map((r) => r.type).join(', ')}`);
        return of(type)[0]!;
      };

      const loginFailed = one('login_failed');
      assert.equal(loginFailed.outcome, 'failure');
      assert.equal(loginFailed.clientId, 'web');
      const login = one('login_succeeded');
      assert.equal(login.outcome, 'success');
      assert.equal(login.clientId, 'web');
      assert.ok(login.actor, 'the user is the actor');
      const consent = one('consent_granted');
      assert.equal(consent.actor, login.actor);
      assert.equal(consent.details.scope, 'openid profile offline_access');
      const issued = one('token_issued');
      assert.deepEqual(
        [issued.clientId, issued.outcome, issued.details.grant_type],
        ['web', 'success', 'authorization_code'],
      );
      const authFailed = one('client_auth_failed');
      assert.equal(authFailed.outcome, 'failure');
      const revoked = one('token_revoked');
      assert.deepEqual([revoked.clientId, revoked.details.token_type], ['web', 'refresh_token']);
      for (const r of [loginFailed, login, consent, issued, authFailed, revoked])
        assert.ok(r.ip, `${r.type} has the source address`);
      for (const r of records) assert.ok(Math.abs(r.at - Date.now()) < 60_000, 'times are epoch ms');

      const all = JSON.stringify(await app.stores.audit.query({}));
      for (const secret of [
        tokens.access_token,
        tokens.refresh_token,
        tokens.id_token,
        code,
        verifier,
        ...Object.values(SECRETS),
        'correct horse battery',
        'wrong password!',
      ]) {
        assert.ok(!all.includes(secret), 'no token, code, secret or password in the audit trail');
      }
      assert.deepEqual(await app.stores.audit.verify(), { ok: true, checked: JSON.parse(all).length });
    });

    it('records the start-up configuration warnings once', async () => {
      const warnings = await app.stores.audit.query({ type: 'config_warning' });
      assert.ok(warnings.length > 0, 'development defaults warn');
      assert.equal(warnings.length, app.provider.config.warnings.length);
      assert.deepEqual(
        warnings.map((w) => w.details.message),
        [...app.provider.config.warnings],
      );
    });

    it('close() writes what is still queued', async () => {
      // a second process's view needs a shared database
      const url = backend.name === 'sqlite' ? sqliteTempUrl() : backend.url!;
      const count = async () => {
        const { stores } = await openStores(loadConfig({ TESSERA_ENV: 'development', DATABASE_URL: url }), {
          migrate: true,
        });
        try {
          return {
            issued: (await stores.audit.query({ type: 'token_issued', from: started })).length,
            verify: await stores.audit.verify(),
          };
        } finally {
          await stores.close();
        }
      };
      const started = Date.now();
      const other = await testApp(url, { TESSERA_CLIENT_CACHE_TTL: '0' });
      const before = (await count()).issued;
      await form(other, '/token', { grant_type: 'client_credentials' }, { authorization: basic('svc') });
      await other.close(); // well within the 200 ms flush delay
      const afterClose = await count();
      assert.equal(afterClose.issued, before + 1);
      assert.equal(afterClose.verify.ok, true);
      if (url !== backend.url) rmSync(dirname(url.slice('sqlite:'.length)), { recursive: true, force: true });
    });
  });
}
