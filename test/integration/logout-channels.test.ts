/**
 * OpenID Connect Back-Channel and Front-Channel Logout 1.0 through inject(), on SQLite and
 * PostgreSQL: a relying party (a real HTTP server on 127.0.0.1) receives logout tokens that verify
 * with jose against /jwks; retries, refusals and their audit; front-channel frames and their CSP;
 * refresh tokens of the ended session (section 2.7); bad client metadata.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type { App } from '../../src/app.ts';
import { AdminError, saveClient } from '../../src/admin/clients.ts';
import { saveUser } from '../../src/admin/users.ts';
import { loadConfig } from '../../src/config/config.ts';
import { BACKCHANNEL_LOGOUT_EVENT, logoutDelivery } from '../../src/protocol/logout/back-channel.ts';
import { authorizeWithLogin, backends, basic, form, ISSUER, Jar, pkce, testApp } from '../fixtures/app.ts';

interface Received {
  path: string;
  contentType: string;
  body: URLSearchParams;
}

/** A relying party's back-channel logout endpoint: records each POST; `answers` scripts the statuses. */
async function relyingParty(): Promise<{
  server: Server;
  base: string;
  received: Received[];
  answers: Map<string, number[]>;
}> {
  const received: Received[] = [];
  const answers = new Map<string, number[]>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push({
        path: req.url!,
        contentType: req.headers['content-type'] ?? '',
        body: new URLSearchParams(body),
      });
      const status = answers.get(req.url!)?.shift() ?? 200;
      if (status === 302) res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' });
      else res.writeHead(status, { 'cache-control': 'no-store' });
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, answers };
}

for (const backend of await backends()) {
  describe(`back- and front-channel logout (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    let rp: Awaited<ReturnType<typeof relyingParty>>;
    const SECRET = 'bc-secret-0123456789-abcdefghijklmnopqr';
    before(async () => {
      rp = await relyingParty();
      app = await testApp(backend.url!);
      const now = app.provider.now();
      const client = (id: string, extra: Record<string, unknown>) =>
        saveClient(
          app.stores,
          app.provider.config,
          {
            client_id: id,
            client_secret: SECRET,
            redirect_uris: [`https://${id}.example/cb`],
            grant_types: ['authorization_code', 'refresh_token'],
            scope: 'openid offline_access',
            ...extra,
          },
          now,
        );
      await client('bc', {
        backchannel_logout_uri: `${rp.base}/bc`,
        backchannel_logout_session_required: true,
        frontchannel_logout_uri: 'https://bc.example/fc?x=1',
        frontchannel_logout_session_required: true,
      });
      await client('bc2', {
        backchannel_logout_uri: `${rp.base}/bc2`,
        frontchannel_logout_uri: 'https://bc2.example/front',
        id_token_signed_response_alg: 'ES256',
      });
      await client('plain', {});
    });
    after(async () => {
      await logoutDelivery(app.provider).idle();
      await app?.close();
      rp.server.close();
      await backend.drop?.();
    });

    async function tokensFor(clientId: string, jar: Jar, scope = 'openid') {
      const { verifier, challenge } = pkce();
      const redirect = await authorizeWithLogin(app, jar, {
        client_id: clientId,
        redirect_uri: `https://${clientId}.example/cb`,
        response_type: 'code',
        scope,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        ...(scope.includes('offline_access') ? { prompt: 'consent' } : {}),
      });
      const res = await form(
        app,
        '/token',
        {
          grant_type: 'authorization_code',
          code: redirect.searchParams.get('code')!,
          code_verifier: verifier,
          redirect_uri: `https://${clientId}.example/cb`,
        },
        { authorization: basic(clientId, SECRET) },
      );
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as { access_token: string; refresh_token?: string; id_token: string };
    }
    const refresh = (clientId: string, rt: string) =>
      form(
        app,
        '/token',
        { grant_type: 'refresh_token', refresh_token: rt },
        { authorization: basic(clientId, SECRET) },
      );
    const sidOf = (idToken: string) =>
      JSON.parse(Buffer.from(idToken.split('.')[1]!, 'base64url').toString()).sid as string;

    it('discovery advertises back- and front-channel logout with session support', async () => {
      const doc = (await app.server.inject('/.well-known/openid-configuration')).json();
      for (const k of [
        'backchannel_logout_supported',
        'backchannel_logout_session_supported',
        'frontchannel_logout_supported',
        'frontchannel_logout_session_supported',
      ])
        assert.equal(doc[k], true, k);
    });

    it('RP-initiated logout sends each client of the session a logout token that verifies against /jwks; frames carry iss and sid under a CSP naming exactly their origins', async () => {
      rp.received.length = 0;
      const jar = new Jar();
      const a = await tokensFor('bc', jar);
      const b = await tokensFor('bc2', jar, 'openid offline_access');
      const p = await tokensFor('plain', jar);
      const sid = sidOf(a.id_token);
      assert.equal(sidOf(b.id_token), sid);
      const out = await app.server.inject({
        url: `/logout?${new URLSearchParams({ id_token_hint: a.id_token })}`,
        headers: { cookie: jar.header() },
      });
      assert.equal(out.statusCode, 200);
      const csp = out.headers['content-security-policy'] as string;
      assert.match(
        csp,
        /; frame-src https:\/\/bc\.example https:\/\/bc2\.example$|; frame-src https:\/\/bc2\.example https:\/\/bc\.example$/,
      );
      const frames = [...out.body.matchAll(/<iframe class="logout-frame" src="([^"]+)"/g)].map(
        (m) => new URL(m[1]!.replaceAll('&amp;', '&')),
      );
      assert.equal(frames.length, 2);
      for (const f of frames) {
        assert.equal(f.searchParams.get('iss'), ISSUER);
        assert.equal(f.searchParams.get('sid'), sid);
      }
      assert.equal(frames.find((f) => f.hostname === 'bc.example')!.searchParams.get('x'), '1');

      await logoutDelivery(app.provider).idle();
      await app.audit.flush();
      assert.deepEqual(rp.received.map((r) => r.path).sort(), ['/bc', '/bc2']);
      const jwks = createLocalJWKSet((await app.server.inject('/jwks')).json());
      for (const r of rp.received) {
        assert.equal(r.contentType, 'application/x-www-form-urlencoded');
        const token = r.body.get('logout_token')!;
        const clientId = r.path.slice(1);
        const { payload } = await jwtVerify(token, jwks, {
          issuer: ISSUER,
          audience: clientId,
          typ: 'logout+jwt',
          maxTokenAge: 120,
        });
        assert.equal(decodeProtectedHeader(token).typ, 'logout+jwt');
        // Signed like the client's ID tokens: bc registered no algorithm (RS256), bc2 ES256.
        assert.equal(decodeProtectedHeader(token).alg, clientId === 'bc2' ? 'ES256' : 'RS256');
        assert.equal(
          decodeProtectedHeader(token).alg,
          decodeProtectedHeader(clientId === 'bc2' ? b.id_token : a.id_token).alg,
        );
        assert.equal(payload.sid, sid);
        assert.equal(typeof payload.sub, 'string');
        assert.equal(typeof payload.jti, 'string');
        assert.deepEqual(payload.events, { [BACKCHANNEL_LOGOUT_EVENT]: {} });
        assert.equal(payload.nonce, undefined);
        assert.ok(payload.exp! > payload.iat!);
      }
      // Section 2.7: the refresh token without offline_access is revoked, the one with it lives on.
      assert.equal((await refresh('bc2', b.refresh_token!)).statusCode, 200);
      assert.equal((await refresh('bc', a.refresh_token!)).json().error, 'invalid_grant');
      assert.equal(
        (await form(app, '/introspect', { token: a.access_token }, { authorization: basic('rs') })).json().active,
        false,
      );
      assert.equal(
        (await form(app, '/introspect', { token: p.access_token }, { authorization: basic('rs') })).json().active,
        false,
      );
      // The audit trail records the deliveries, never the token.
      const audit = await app.stores.audit.query({ type: 'backchannel_logout_delivered' });
      assert.ok(audit.some((e) => e.clientId === 'bc') && audit.some((e) => e.clientId === 'bc2'));
      for (const r of rp.received) assert.ok(!JSON.stringify(audit).includes(r.body.get('logout_token')!));
      // The session's clients are notified once: a second logout of the same (ended) session sends nothing.
      const again = await app.server.inject({
        url: `/logout?${new URLSearchParams({ id_token_hint: a.id_token })}`,
        headers: { cookie: jar.header() },
      });
      assert.equal(again.statusCode, 200);
      await logoutDelivery(app.provider).idle();
      await app.audit.flush();
      assert.equal(rp.received.length, 2);
    });

    it('with front-channel frames, post_logout_redirect_uri is followed from the page (link and refresh), not by a bare redirect', async () => {
      await saveClient(
        app.stores,
        app.provider.config,
        { client_id: 'bc', post_logout_redirect_uris: ['https://bc.example/bye'] },
        app.provider.now(),
      );
      const jar = new Jar();
      const a = await tokensFor('bc', jar);
      const out = await app.server.inject({
        url: `/logout?${new URLSearchParams({ id_token_hint: a.id_token, post_logout_redirect_uri: 'https://bc.example/bye', state: 's1' })}`,
        headers: { cookie: jar.header() },
      });
      assert.equal(out.statusCode, 200);
      assert.match(out.body, /<a href="https:\/\/bc\.example\/bye\?state=s1">/);
      assert.match(out.body, /http-equiv="refresh" content="2;url=https:\/\/bc\.example\/bye\?state=s1"/);
      assert.match(out.headers['content-security-policy'] as string, /; frame-src https:\/\/bc\.example$/);
      await logoutDelivery(app.provider).idle();
      await app.audit.flush();
    });

    it('account logout notifies the clients too; a 5xx is retried, a 4xx is not, and the failure is audited', async () => {
      rp.received.length = 0;
      rp.answers.set('/bc', [503]); // first attempt fails, the retry (after 1 s) succeeds
      rp.answers.set('/bc2', [400]); // refused: not retried
      const jar = new Jar();
      await tokensFor('bc', jar);
      await tokensFor('bc2', jar);
      const page = await app.server.inject({ url: '/account', headers: { cookie: jar.header() } });
      const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
      const out = await form(app, '/account/logout', { csrf }, { cookie: jar.header() });
      assert.equal(out.statusCode, 200, out.body);
      assert.match(out.body, /logout-frame/);
      await logoutDelivery(app.provider).idle();
      await app.audit.flush();
      assert.deepEqual(rp.received.map((r) => r.path).sort(), ['/bc', '/bc', '/bc2']);
      const failed = await app.stores.audit.query({ type: 'backchannel_logout_failed' });
      const last = failed.at(-1)!;
      assert.equal(last.clientId, 'bc2');
      assert.equal(last.outcome, 'failure');
      assert.deepEqual(last.details, { attempts: 1, reason: 'status_4xx' });
      const ok = (await app.stores.audit.query({ type: 'backchannel_logout_delivered' })).at(-1)!;
      assert.equal(ok.clientId, 'bc');
      assert.equal(ok.details.attempts, 2);
      const series = await app.metrics.registry.getSingleMetricAsString('tessera_backchannel_logouts_total');
      assert.match(series, /tessera_backchannel_logouts_total\{outcome="failed"\} [1-9]/);
      assert.match(series, /tessera_backchannel_logouts_total\{outcome="delivered"\} [1-9]/);
    });

    it('signing in again keeps the sid for the same user; another user signing in ends the previous session for its clients', async () => {
      rp.received.length = 0;
      await saveUser(app.stores, { username: 'bob', password: 'another correct horse' }, app.provider.now());
      const jar = new Jar();
      const first = await tokensFor('bc', jar);
      const sid = sidOf(first.id_token);
      const again = await tokensFor('bc2', jar, 'openid'); // same browser session: the same sid
      assert.equal(sidOf(again.id_token), sid);
      const { verifier, challenge } = pkce();
      const relogin = await authorizeWithLogin(app, jar, {
        client_id: 'plain',
        redirect_uri: 'https://plain.example/cb',
        response_type: 'code',
        scope: 'openid',
        prompt: 'login',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      const t = (
        await form(
          app,
          '/token',
          {
            grant_type: 'authorization_code',
            code: relogin.searchParams.get('code')!,
            code_verifier: verifier,
            redirect_uri: 'https://plain.example/cb',
          },
          { authorization: basic('plain', SECRET) },
        )
      ).json();
      assert.equal(sidOf(t.id_token), sid, 'same user: the sid the clients know stays');
      await logoutDelivery(app.provider).idle();
      assert.equal(rp.received.length, 0);
      // Bob signs in in the same browser: Alice's session is over for her clients.
      const p2 = pkce();
      const bobCode = await authorizeWithLogin(
        app,
        jar,
        {
          client_id: 'plain',
          redirect_uri: 'https://plain.example/cb',
          response_type: 'code',
          scope: 'openid',
          prompt: 'login',
          code_challenge: p2.challenge,
          code_challenge_method: 'S256',
        },
        { username: 'bob', password: 'another correct horse' },
      );
      assert.ok(bobCode.searchParams.get('code'));
      await logoutDelivery(app.provider).idle();
      assert.deepEqual(rp.received.map((r) => r.path).sort(), ['/bc', '/bc2']);
      const jwks = createLocalJWKSet((await app.server.inject('/jwks')).json());
      for (const r of rp.received)
        assert.equal(
          (await jwtVerify(r.body.get('logout_token')!, jwks, { issuer: ISSUER, typ: 'logout+jwt' })).payload.sid,
          sid,
        );
      assert.equal((await refresh('bc', first.refresh_token!)).json().error, 'invalid_grant');
    });

    it('a redirect from the logout endpoint is not followed', async () => {
      rp.received.length = 0;
      rp.answers.set('/bc', [302]);
      const jar = new Jar();
      const a = await tokensFor('bc', jar);
      await app.server.inject({
        url: `/logout?${new URLSearchParams({ id_token_hint: a.id_token })}`,
        headers: { cookie: jar.header() },
      });
      await logoutDelivery(app.provider).idle();
      await app.audit.flush();
      assert.deepEqual(
        rp.received.map((r) => r.path),
        ['/bc'],
      );
      const failed = (await app.stores.audit.query({ type: 'backchannel_logout_failed' })).at(-1)!;
      assert.deepEqual(failed.details, { attempts: 1, reason: 'redirect' });
    });

    it('refuses logout URIs at private or special addresses, plain http off loopback, and front-channel URIs off the redirect origins', async () => {
      const now = app.provider.now();
      const bad: [Record<string, unknown>, RegExp][] = [
        [{ backchannel_logout_uri: 'https://10.0.0.7/logout' }, /not a public address/],
        [{ backchannel_logout_uri: 'https://169.254.169.254/latest' }, /not a public address/],
        [{ backchannel_logout_uri: 'https://[fd00::1]/logout' }, /not a public address/],
        [{ backchannel_logout_uri: 'https://[::ffff:192.168.1.1]/logout' }, /not a public address/],
        [{ backchannel_logout_uri: 'http://rp.example/logout' }, /must use https/],
        [{ backchannel_logout_uri: 'https://user:pw@rp.example/logout' }, /credentials/],
        [{ backchannel_logout_uri: 'https://rp.example/logout#f' }, /fragment/],
        [{ backchannel_logout_uri: 'not a url' }, /absolute URL/],
        [{ backchannel_logout_uri: 42 }, /must be a string/],
        [{ backchannel_logout_session_required: 'yes' }, /true or false/],
        [{ frontchannel_logout_uri: 'https://other.example/fc' }, /registered redirect URI/],
        [{ frontchannel_logout_uri: 'javascript:alert(1)' }, /must use https/],
      ];
      for (const [extra, message] of bad) {
        await assert.rejects(
          saveClient(
            app.stores,
            app.provider.config,
            {
              client_id: 'bad-logout',
              client_secret: SECRET,
              redirect_uris: ['https://bad.example/cb'],
              ...extra,
            } as never,
            now,
          ),
          (err: Error) => err instanceof AdminError && message.test(err.message),
          JSON.stringify(extra),
        );
      }
      assert.equal(await app.stores.clients.get('bad-logout'), undefined);
      // Production refuses loopback too.
      const prod = loadConfig({
        TESSERA_ENV: 'production',
        TESSERA_ISSUER: 'https://id.example',
        DATABASE_URL: 'sqlite::memory:',
        TESSERA_SECRET: 's'.repeat(40),
        TESSERA_KEY_ENCRYPTION_KEY: 'k'.repeat(40),
        TESSERA_SMTP_URL: 'smtp://mail.example:587',
      });
      await assert.rejects(
        saveClient(
          app.stores,
          prod,
          {
            client_id: 'bad-logout',
            client_secret: SECRET,
            redirect_uris: ['https://bad.example/cb'],
            backchannel_logout_uri: 'http://127.0.0.1:9/x',
          },
          now,
        ),
        /must use https/,
      );
      await assert.rejects(
        saveClient(
          app.stores,
          prod,
          {
            client_id: 'bad-logout',
            client_secret: SECRET,
            redirect_uris: ['https://bad.example/cb'],
            backchannel_logout_uri: 'https://127.0.0.1:9/x',
          },
          now,
        ),
        /not a public address/,
      );
    });
  });
}
