/**
 * Adversarial review of upstream sign-in over HTTP (issue 17): the real app against real
 * node-oidc-provider upstreams on 127.0.0.1, on every backend (SQLite, and PostgreSQL when reachable).
 * - An upstream whose user's name holds a NUL: PostgreSQL refuses such text, which was a 500.
 * - Pre-hijacking: an upstream the attacker runs vouches for the victim's address; the account it
 *   makes must not be where the victim's first sign-in at the provider authoritative for the
 *   domain (automatic linking) lands.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../../src/app.ts';
import { wrapAccountSecret } from '../../src/accounts/secret-wrap.ts';
import type { UpstreamProvider } from '../../src/ports/upstreams.ts';
import { tokenHash } from '../../src/protocol/hash.ts';
import { backends, csrfOf, form, ISSUER, type Jar, pkce, testApp } from '../fixtures/app.ts';
import { openLoginPage } from '../fixtures/upstream-signin.ts';
import { asRedirect, type OidcUpstream, startOidcUpstream } from '../fixtures/upstream-servers.ts';
import { upstreamRecord } from '../fixtures/upstream-records.ts';

const SECRET = 'upstream-client-secret-0123456789abcdef';
const callbackOf = (id: string) => `${ISSUER}/upstream/${id}/callback`;

async function saveProvider(app: App, id: string, issuer: string, over: Partial<UpstreamProvider> = {}) {
  const now = app.provider.now();
  await app.stores.upstreams.put(
    upstreamRecord(id, {
      label: `Provider ${id}`,
      issuer,
      secretWrapped: await wrapAccountSecret(app.provider.config.keyEncryptionKey, `upstream:${id}`, SECRET),
      privateNetwork: true,
      createdAt: now,
      updatedAt: now,
      ...over,
    }),
  );
  app.provider.upstream.forget(id);
}

for (const backend of await backends()) {
  describe(`upstream sign-in review over HTTP (${backend.name})`, {
    skip: !backend.url && 'PostgreSQL not reachable',
  }, () => {
    let app: App;
    let partner: OidcUpstream;
    let corp: OidcUpstream;
    const { challenge } = pkce();

    before(async () => {
      app = await testApp(backend.url!, { TESSERA_RATE_LIMITING: 'false' });
      // The attacker's upstream: it says whatever address its users claim is verified.
      partner = await startOidcUpstream({
        clientId: 'tessera',
        clientSecret: SECRET,
        redirectUris: [callbackOf('partner')],
        users: [
          { sub: 'u-mallory', preferred_username: 'mallory', email: 'victim@corp.example' },
          { sub: 'u-eve', preferred_username: 'eve', email: 'eve@partner.example', name: 'Eve\u0000Null' },
        ],
        emailVerified: true,
      });
      // The provider authoritative for corp.example, with automatic linking for it.
      corp = await startOidcUpstream({
        clientId: 'tessera',
        clientSecret: SECRET,
        redirectUris: [callbackOf('corp')],
        users: [{ sub: 'u-victim', preferred_username: 'victim', email: 'victim@corp.example' }],
        emailVerified: true,
      });
      await saveProvider(app, 'partner', partner.issuer);
      await saveProvider(app, 'corp', corp.issuer, { autoLinkDomains: ['corp.example'] });
    });
    after(async () => {
      await app?.close();
      await partner?.close();
      await corp?.close();
      await backend.drop?.();
    });

    // The callback's "Continuing" page, when its answer leaves Tessera, is followed as the redirect it is.
    const get = async (url: string, jar: Jar) =>
      asRedirect(
        await app.server.inject({ method: 'GET', url: url.replace(ISSUER, ''), headers: { cookie: jar.header() } }),
      );

    /** A sign-in for the web client in a new browser through `provider` as `user`: the callback's answer. */
    async function signIn(provider: string, upstream: OidcUpstream, user: string) {
      const { jar, uid, page } = await openLoginPage(app, challenge, { scope: 'openid profile', state: 'st' });
      const button = await form(
        app,
        `/interaction/${uid}/upstream/${provider}`,
        { csrf: csrfOf(page.body) },
        { cookie: jar.header() },
      );
      assert.equal(button.statusCode, 303, button.body);
      jar.take(button);
      const out = await upstream.authorize(button.headers.location as string, { user });
      assert.equal(out.kind, 'redirect');
      const back = (out as { url: URL }).url;
      const res: LightMyRequestResponse = await get(back.pathname + back.search, jar);
      jar.take(res);
      return { res, jar };
    }
    const userOf = async (jar: Jar) => {
      const value = jar.cookies.get('tessera_session');
      const session = value ? await app.stores.sessions.get(tokenHash(value)) : undefined;
      return session ? app.stores.users.get(session.userId) : undefined;
    };

    it('a name with a NUL from the upstream signs in without it, never a 500', async () => {
      const { res, jar } = await signIn('partner', partner, 'eve');
      assert.equal(res.statusCode, 303, res.body);
      const user = await userOf(jar);
      assert.equal(user?.username, 'eve');
      // The adapter drops a claim with control characters (adapters/upstream/profile.ts); what would
      // reach the store is cleaned again by the linking rules (linking.ts personName).
      assert.equal(user?.name, null);
    });

    it('pre-hijacking: the victim’s first sign-in at the authoritative provider never lands in the account the attacker’s upstream made', async () => {
      const planted = await signIn('partner', partner, 'mallory');
      assert.equal(planted.res.statusCode, 303, planted.res.body);
      const attackerAccount = (await userOf(planted.jar))!;
      assert.equal(attackerAccount.email, 'victim@corp.example');
      assert.equal(attackerAccount.emailVerified, true);

      const victim = await signIn('corp', corp, 'victim');
      assert.equal(victim.res.statusCode, 409, victim.res.body);
      assert.match(victim.res.body, /Sign in to your account first/);
      assert.equal(victim.jar.cookies.get('tessera_session'), undefined);
      const linked = await app.stores.upstreamIdentities.listByUser(attackerAccount.id);
      assert.deepEqual(
        linked.map((i) => i.providerId),
        ['partner'],
      );
    });
  });
}
