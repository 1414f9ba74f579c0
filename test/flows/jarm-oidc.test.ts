/**
 * JARM and the OpenID Connect request features, black-box: openid-client v6 as the relying party
 * (useJwtResponseMode validates the signed responses against the published JWKS), Chromium on the
 * real pages.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as client from 'openid-client';
import { authRequest, browserSkip, browserSuite, decide, rejectsWith, screen, signIn, submit } from './support.ts';

const SECRET = 'flow-test-client-secret-0123456789';
const PASSWORD = 'correct horse battery staple';
const ACR_PASSWORD = 'urn:tessera:acr:password';

describe('JARM and OIDC request features (openid-client, Chromium)', { skip: browserSkip }, () => {
  const env = browserSuite(
    (cb) => ({
      clients: [
        env.webClient('jarm', {
          authorization_signed_response_alg: 'ES256',
          redirect_uris: [cb.url('/callback'), cb.url('/form-post')],
        }),
        env.webClient('oidc'),
      ],
      users: ['alice', 'bob', 'carol', 'dave'].map((u) => ({
        username: u,
        password: PASSWORD,
        email: `${u}@example.com`,
        email_verified: true,
        name: `${u} example`,
      })),
    }),
    { secret: SECRET },
  );

  const jarmConfig = async () => {
    const config = await env.webConfig('jarm');
    client.useJwtResponseMode(config);
    return config;
  };
  const heading = async () => (await env.page.locator('h1').first().textContent())?.trim();

  it('discovery: JWT response modes and their signing algorithms, acr values, claims parameter, select_account (not create)', async () => {
    const meta = (await env.webConfig('oidc')).serverMetadata();
    assert.deepEqual(meta.response_modes_supported, ['query', 'form_post', 'jwt', 'query.jwt', 'form_post.jwt']);
    assert.deepEqual(meta.authorization_signing_alg_values_supported, ['ES256', 'RS256']);
    assert.deepEqual(meta.acr_values_supported, [ACR_PASSWORD, 'urn:tessera:acr:mfa', 'phr', 'phrh']);
    assert.equal(meta.claims_parameter_supported, true);
    assert.ok((meta.prompt_values_supported as string[]).includes('select_account'));
    assert.ok(!(meta.prompt_values_supported as string[]).includes('create'));
  });

  it('response_mode=jwt: openid-client verifies the signed response and redeems the code; the ID token has acr and the claims asked for', async () => {
    await env.fresh();
    const config = await jarmConfig();
    const req = await authRequest(config, {
      redirect_uri: env.cb.url('/callback'),
      claims: JSON.stringify({ id_token: { email: { essential: true } } }),
    });
    assert.equal(req.url.searchParams.get('response_mode'), 'jwt');
    await env.page.goto(req.url.href);
    await signIn(env.page, 'alice', PASSWORD);
    await decide(env.page, 'Allow');
    const hit = await env.cb.next('/callback');
    const callback = new URL(hit.url);
    assert.deepEqual([...callback.searchParams.keys()], ['response'], 'only the signed response in the query');
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: req.verifier,
      expectedState: req.state,
      expectedNonce: req.nonce,
    });
    const id = tokens.claims()!;
    assert.equal(id.acr, ACR_PASSWORD);
    assert.equal(id.email, 'alice@example.com');
    // A tampered response is refused by the relying party.
    const [h, p, s] = callback.searchParams.get('response')!.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const forged = new URL(callback);
    forged.searchParams.set(
      'response',
      `${h}.${Buffer.from(JSON.stringify({ ...payload, state: 'other' })).toString('base64url')}.${s}`,
    );
    await assert.rejects(
      client.authorizationCodeGrant(config, forged, { pkceCodeVerifier: req.verifier, expectedState: 'other' }),
    );
  });

  it('response_mode=form_post.jwt: the signed response is posted to the relying party', async () => {
    await env.fresh();
    const config = await jarmConfig();
    const req = await authRequest(config, { redirect_uri: env.cb.url('/form-post') });
    const url = new URL(req.url);
    url.searchParams.set('response_mode', 'form_post.jwt');
    await env.page.goto(url.href);
    await signIn(env.page, 'bob', PASSWORD);
    await decide(env.page, 'Allow');
    const hit = await env.cb.next('/form-post');
    assert.equal(hit.method, 'POST');
    assert.equal(new URL(hit.url).search, '');
    assert.deepEqual([...new URLSearchParams(hit.body).keys()], ['response']);
    const request = new Request(hit.url, {
      method: 'POST',
      body: hit.body,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const tokens = await client.authorizationCodeGrant(config, request, {
      pkceCodeVerifier: req.verifier,
      expectedState: req.state,
      expectedNonce: req.nonce,
    });
    assert.equal(tokens.claims()?.acr, ACR_PASSWORD);
  });

  it('the user denies: a signed access_denied response that openid-client reports as such', async () => {
    await env.fresh();
    const config = await jarmConfig();
    const req = await authRequest(config, { redirect_uri: env.cb.url('/callback') });
    await env.page.goto(req.url.href);
    await signIn(env.page, 'carol', PASSWORD);
    await decide(env.page, 'Deny');
    const callback = new URL((await env.cb.next('/callback')).url);
    assert.deepEqual([...callback.searchParams.keys()], ['response']);
    await rejectsWith(
      client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: req.verifier, expectedState: req.state }),
      'access_denied',
    );
  });

  it('prompt=select_account shows the account chooser; id_token_hint with prompt=none answers silently for the same user', async () => {
    await env.fresh();
    const config = await env.webConfig('oidc');
    const first = await authRequest(config, { redirect_uri: env.cb.url('/callback') });
    await env.page.goto(first.url.href);
    await signIn(env.page, 'dave', PASSWORD);
    await decide(env.page, 'Allow');
    const tokens = await client.authorizationCodeGrant(config, new URL((await env.cb.next('/callback')).url), {
      pkceCodeVerifier: first.verifier,
      expectedState: first.state,
      expectedNonce: first.nonce,
    });

    const chooser = await authRequest(config, { redirect_uri: env.cb.url('/callback'), prompt: 'select_account' });
    await env.page.goto(chooser.url.href);
    assert.equal(await heading(), 'Choose an account');
    await submit(env.page, () => env.page.getByRole('button', { name: 'Continue as dave' }).click());
    assert.equal(await screen(env.page, env.cb.origin), 'callback');
    const again = await client.authorizationCodeGrant(config, new URL((await env.cb.next('/callback')).url), {
      pkceCodeVerifier: chooser.verifier,
      expectedState: chooser.state,
      expectedNonce: chooser.nonce,
    });
    assert.equal(again.claims()?.sub, tokens.claims()?.sub);

    const silent = await authRequest(config, {
      redirect_uri: env.cb.url('/callback'),
      prompt: 'none',
      id_token_hint: tokens.id_token!,
    });
    await env.page.goto(silent.url.href);
    assert.equal(await screen(env.page, env.cb.origin), 'callback');
    const hinted = await client.authorizationCodeGrant(config, new URL((await env.cb.next('/callback')).url), {
      pkceCodeVerifier: silent.verifier,
      expectedState: silent.state,
      expectedNonce: silent.nonce,
    });
    assert.equal(hinted.claims()?.sub, tokens.claims()?.sub);

    // "Use another account" leads to the login page.
    const other = await authRequest(config, { redirect_uri: env.cb.url('/callback'), prompt: 'select_account' });
    await env.page.goto(other.url.href);
    await submit(env.page, () => env.page.getByRole('button', { name: 'Use another account' }).click());
    assert.equal(await screen(env.page, env.cb.origin), 'login');
  });
});
