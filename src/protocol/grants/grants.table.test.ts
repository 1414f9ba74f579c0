// Each grant through the token endpoint function, without HTTP: one row per case, each on a fresh
// provider (test/fixtures/protocol.ts), so a row's clock and tokens touch no other row.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import {
  answered,
  assertOutcome,
  refused,
  testProvider,
  type Expected,
  type Outcome,
  type TestProvider,
} from '../../../test/fixtures/protocol.ts';
import type { GrantType } from '../../ports/clients.ts';
import { deviceAuthorization } from '../endpoints/device-authorization.ts';
import { randomToken, timeOrderedKey, tokenHash } from '../hash.ts';
import { newGrantId } from '../tokens/access-token.ts';
import { DEVICE_CODE_GRANT } from './device-code.ts';
import { ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from './token-exchange.ts';

const SECRET = {
  web: 'web-secret-0123456789-abcdefghijklmnop',
  web2: 'web2-secret-0123456789-abcdefghijklmno',
  post: 'post-secret-0123456789-abcdefghijklmn',
  svc: 'svc-secret-0123456789-abcdefghijklmnop',
  gateway: 'gw-secret-0123456789-abcdefghijklmnopq',
};
type Id = keyof typeof SECRET;
type As = { clientId: string; secret?: string };
const as = (id: Id): As => ({ clientId: id, secret: SECRET[id] });
const ORDERS = 'https://orders.example/';
const ALL_TOKENS = ['access_token', 'refresh_token', 'id_token'];

/** The clients every row may use. */
async function bed(env: Record<string, string> = {}): Promise<TestProvider> {
  const t = await testProvider(env);
  const webScope = 'openid profile email offline_access api:read';
  await t.addClient({ client_id: 'web', client_secret: SECRET.web, scope: webScope });
  // Holds the refresh_token grant too: a refresh token of `web` presented by it fails on the client binding alone.
  await t.addClient({ client_id: 'web2', client_secret: SECRET.web2 });
  await t.addClient({ client_id: 'post', client_secret: SECRET.post, grant_types: ['authorization_code'] });
  await t.addClient({ client_id: 'spa' });
  await t.addClient({
    client_id: 'svc',
    client_secret: SECRET.svc,
    grant_types: ['client_credentials'],
    scope: 'api:read api:write',
    redirect_uris: [],
    allowed_resources: [ORDERS],
  });
  const cc: GrantType[] = ['client_credentials'];
  await t.addClient({ client_id: 'pub-svc', grant_types: cc, scope: 'api:read', redirect_uris: [] });
  await t.addClient({ client_id: 'tv', grant_types: [DEVICE_CODE_GRANT, 'refresh_token'], redirect_uris: [] });
  await t.addClient({ client_id: 'tv2', grant_types: [DEVICE_CODE_GRANT], redirect_uris: [] });
  await t.addClient({
    client_id: 'gateway',
    client_secret: SECRET.gateway,
    grant_types: [TOKEN_EXCHANGE_GRANT],
    scope: 'openid profile api:read',
    redirect_uris: [],
    metadata: { token_exchange: { audiences: [ORDERS], subject_clients: ['web', 'spa'] } },
  });
  await t.addClient({
    client_id: 'no-policy',
    client_secret: SECRET.gateway,
    grant_types: [TOKEN_EXCHANGE_GRANT],
    redirect_uris: [],
  });
  return t;
}

interface Row<S> {
  name: string;
  env?: Record<string, string>;
  setup?: (t: TestProvider) => Promise<S>;
  /** The token request's parameters, and who sends it. */
  request: (s: S) => [Record<string, string>, As];
  expect: Expected;
  /** More to check once the row's request has been answered. */
  check?: (t: TestProvider, s: S, o: Outcome) => Promise<void>;
}

function table<S>(rows: Row<S>[]): void {
  for (const row of rows) {
    it(row.name, async () => {
      const t = await bed(row.env);
      try {
        const s = (await row.setup?.(t)) as S;
        const o = await t.token(...row.request(s));
        assertOutcome(o, row.expect);
        await row.check?.(t, s, o);
      } finally {
        await t.close();
      }
    });
  }
}

const bodyOf = (o: Outcome): Record<string, unknown> => {
  assert.equal(o.error, undefined, o.error && o.description);
  return (o as { body: Record<string, unknown> }).body;
};
const claimsOf = (o: Outcome) => decodeJwt(bodyOf(o).access_token as string);

type Code = Awaited<ReturnType<TestProvider['codeFor']>>;
/** A setup: a code of `client` for a new user, ready to redeem. */
const codeOf =
  (client: Id | 'spa' = 'web') =>
  (t: TestProvider) =>
    t.codeFor(client);
const redeem = (c: Code, extra: Record<string, string> = {}): Record<string, string> => ({
  grant_type: 'authorization_code',
  code: c.code,
  code_verifier: c.verifier,
  redirect_uri: c.redirectUri,
  ...extra,
});
const without = (params: Record<string, string>, name: string) => {
  const { [name]: _, ...rest } = params;
  return rest;
};
/** The clock moved by `seconds` (a config field's value, plus `plus`) after `setup`. */
const later =
  <S>(setup: (t: TestProvider) => Promise<S>, seconds: (t: TestProvider) => number, plus = 0) =>
  async (t: TestProvider) => {
    const s = await setup(t);
    t.clock.advance(seconds(t) + plus);
    return s;
  };
const disableUser = async (t: TestProvider, userId: string, disabled = true) =>
  t.p.stores.users.put({ ...(await t.p.stores.users.get(userId))!, disabled });

/** Tokens of a user's grant for `client` (web unless named): a code redeemed at once. */
async function tokensOf(t: TestProvider, client: 'web' | 'web2' | 'spa' = 'web') {
  const c = await t.codeFor(client);
  const body = bodyOf(await t.token(redeem(c), client === 'spa' ? { clientId: 'spa' } : as(client)));
  return { ...c, accessToken: body.access_token as string, refreshToken: body.refresh_token as string };
}
type Tokens = Awaited<ReturnType<typeof tokensOf>>;

describe('authorization_code grant, through token()', () => {
  table<Code>([
    {
      name: 'redeems a code with its verifier: access, refresh and ID token, the scope granted',
      setup: codeOf(),
      request: (c) => [redeem(c), as('web')],
      expect: answered({ token_type: 'Bearer', scope: 'openid profile' }, ALL_TOKENS),
      check: async (t, c, o) => {
        // Codes and refresh tokens are time-ordered (protocol/hash.ts timeOrderedToken).
        assert.match(c.code, /^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
        assert.match(bodyOf(o).refresh_token as string, /^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
        assert.equal(claimsOf(o).sub, c.userId);
        assert.equal(claimsOf(o).client_id, 'web');
        const issued = t.events.filter((e) => e.type === 'token_issued');
        assert.deepEqual(
          issued.map((e) => e.type === 'token_issued' && e.grantType),
          ['authorization_code'],
        );
      },
    },
    {
      name: 'a public client redeems with its client_id and verifier',
      setup: codeOf('spa'),
      request: (c) => [redeem(c), { clientId: 'spa' }],
      expect: answered({}, ['access_token', 'refresh_token']),
    },
    {
      name: 'a client without the refresh_token grant gets no refresh token',
      setup: codeOf('post'),
      request: (c) => [redeem(c), as('post')],
      expect: answered({}, ['access_token', 'id_token'], ['refresh_token']),
    },
    {
      name: 'PKCE: another verifier fails',
      setup: codeOf(),
      request: (c) => [redeem(c, { code_verifier: 'x'.repeat(43) }), as('web')],
      expect: refused('invalid_grant'),
    },
    {
      name: 'PKCE: no verifier is refused before the code is used',
      setup: codeOf(),
      request: (c) => [without(redeem(c), 'code_verifier'), as('web')],
      expect: refused('invalid_request'),
      check: async (t, c) => assertOutcome(await t.token(redeem(c), as('web')), answered({}, ['access_token'])),
    },
    {
      name: 'PKCE: a malformed verifier (too short)',
      setup: codeOf(),
      request: (c) => [redeem(c, { code_verifier: 'short' }), as('web')],
      expect: refused('invalid_request'),
    },
    {
      name: 'a code redeemed twice: the second fails and revokes what the first issued',
      setup: async (t) => {
        const c = await t.codeFor('web');
        const first = bodyOf(await t.token(redeem(c), as('web')));
        return { ...c, refreshToken: first.refresh_token as string };
      },
      request: (c) => [redeem(c), as('web')],
      expect: refused('invalid_grant'),
      check: async (t, c) => {
        assert.ok(t.events.some((e) => e.type === 'code_reuse'));
        const refreshToken = (c as Code & { refreshToken: string }).refreshToken;
        const refresh = await t.token({ grant_type: 'refresh_token', refresh_token: refreshToken }, as('web'));
        assertOutcome(refresh, refused('invalid_grant'));
      },
    },
    {
      name: "redirect_uri other than the authorization request's",
      setup: codeOf(),
      request: (c) => [redeem(c, { redirect_uri: 'https://web.example/other' }), as('web')],
      expect: refused('invalid_grant'),
    },
    {
      name: 'redirect_uri left out when the authorization request sent it',
      setup: codeOf(),
      request: (c) => [without(redeem(c), 'redirect_uri'), as('web')],
      expect: refused('invalid_grant'),
    },
    {
      name: 'another client (holding the grant) presents the code',
      setup: codeOf(),
      request: (c) => [redeem(c), as('web2')],
      expect: refused('invalid_grant'),
    },
    {
      name: 'a client without the authorization_code grant',
      setup: codeOf(),
      request: (c) => [redeem(c), as('svc')],
      expect: refused('unauthorized_client'),
    },
    {
      name: 'a wrong client secret',
      setup: codeOf(),
      request: (c) => [redeem(c), { clientId: 'web', secret: 'not-the-secret' }],
      expect: refused('invalid_client', 401),
    },
    {
      name: "expired: the clock moved to the end of the code's lifetime",
      setup: later(codeOf(), (t) => t.config.codeTtl),
      request: (c) => [redeem(c), as('web')],
      expect: refused('invalid_grant'),
    },
    {
      name: 'still good one second before it expires',
      setup: later(codeOf(), (t) => t.config.codeTtl, -1),
      request: (c) => [redeem(c), as('web')],
      expect: answered({}, ['access_token']),
    },
    {
      name: 'an unknown code',
      setup: codeOf(),
      request: (c) => [redeem(c, { code: 'A'.repeat(43) }), as('web')],
      expect: refused('invalid_grant'),
    },
    {
      name: 'no code',
      setup: codeOf(),
      request: (c) => [without(redeem(c), 'code'), as('web')],
      expect: refused('invalid_request'),
    },
    {
      name: 'a user disabled since the code was issued',
      setup: async (t) => {
        const c = await t.codeFor('web');
        await disableUser(t, c.userId);
        return c;
      },
      request: (c) => [redeem(c), as('web')],
      expect: refused('invalid_grant'),
    },
    {
      name: 'a user deleted since the code was issued',
      setup: async (t) => {
        const c = await t.codeFor('web');
        assert.ok(await t.p.stores.users.deleteWithTombstone(c.userId, t.clock.now(), t.clock.now() + 60));
        return c;
      },
      request: (c) => [redeem(c), as('web')],
      expect: refused('invalid_grant'),
    },
    {
      name: "the ID token has the user's claims as they are when the code is redeemed, not when it was issued",
      setup: async (t) => {
        const c = await t.codeFor('web');
        await t.p.stores.users.put({ ...(await t.p.stores.users.get(c.userId))!, name: 'Renamed Since' });
        return c;
      },
      request: (c) => [redeem(c), as('web')],
      expect: answered(
        { scope: 'openid profile' },
        ALL_TOKENS.filter((n) => n !== 'refresh_token'),
      ),
      check: async (_t, _c, o) => assert.equal(decodeJwt(bodyOf(o).id_token as string).name, 'Renamed Since'),
    },
  ]);
});

describe('refresh_token grant, through token()', () => {
  const refresh = (s: Tokens, extra: Record<string, string> = {}) => ({
    grant_type: 'refresh_token',
    refresh_token: s.refreshToken,
    ...extra,
  });
  /** The refresh token is still good for its own client (the refused request left it unused). */
  const stillGood = async (t: TestProvider, s: Tokens) =>
    assertOutcome(await t.token(refresh(s), as('web')), answered({}, ['refresh_token']));
  const tokens = (t: TestProvider) => tokensOf(t);
  table<Tokens>([
    {
      name: 'rotates: a new refresh token and access token, the same scope, an ID token',
      setup: tokens,
      request: (s) => [refresh(s), as('web')],
      expect: answered({ token_type: 'Bearer', scope: 'openid profile' }, ALL_TOKENS),
      check: async (_t, s, o) => assert.notEqual(bodyOf(o).refresh_token, s.refreshToken),
    },
    {
      name: 'reuse of a rotated token revokes the family: the successor fails too',
      setup: async (t) => {
        const s = await tokensOf(t);
        const next = bodyOf(await t.token(refresh(s), as('web')));
        return { ...s, next: next.refresh_token as string };
      },
      request: (s) => [refresh(s), as('web')],
      expect: refused('invalid_grant'),
      check: async (t, s) => {
        assert.ok(t.events.some((e) => e.type === 'refresh_reuse'));
        const next = (s as Tokens & { next: string }).next;
        const successor = await t.token({ grant_type: 'refresh_token', refresh_token: next }, as('web'));
        assertOutcome(successor, refused('invalid_grant'));
      },
    },
    {
      name: 'a refresh token of the earlier form (32 random bytes, stored by its SHA-256 alone) still rotates, and its successor is time-ordered',
      setup: async (t) => {
        // A grant as a release before time-ordered tokens stored it: copied from a fresh one under a new id.
        const s = await tokensOf(t);
        const found = (await t.p.stores.grants.getRefresh(timeOrderedKey(s.refreshToken)))!;
        const grant = { ...found.grant, id: newGrantId() };
        const legacy = randomToken(32);
        const refreshRecord = { ...found.refresh, grantId: grant.id, tokenHash: tokenHash(legacy) };
        await t.p.stores.grants.create(grant, refreshRecord, { jti: newGrantId(), expiresAt: found.refresh.expiresAt });
        return { ...s, refreshToken: legacy };
      },
      request: (s) => [refresh(s), as('web')],
      expect: answered({ scope: 'openid profile' }, ALL_TOKENS),
      check: async (t, s, o) => {
        const successor = bodyOf(o).refresh_token as string;
        assert.match(successor, /^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
        assert.equal((await t.p.stores.grants.getRefresh(tokenHash(s.refreshToken)))!.refresh.usedAt !== null, true);
        assertOutcome(await t.token(refresh({ ...s, refreshToken: successor }), as('web')), answered({}));
      },
    },
    {
      name: 'downscoping narrows this access token; the family keeps what was granted',
      setup: tokens,
      request: (s) => [refresh(s, { scope: 'openid' }), as('web')],
      expect: answered({ scope: 'openid' }),
      check: async (t, _s, o) => {
        const successor = bodyOf(o).refresh_token as string;
        const next = await t.token({ grant_type: 'refresh_token', refresh_token: successor }, as('web'));
        assertOutcome(next, answered({ scope: 'openid profile' }));
      },
    },
    {
      name: 'a scope beyond the grant (one the client holds) is refused and leaves the token unused',
      setup: tokens,
      request: (s) => [refresh(s, { scope: 'openid email' }), as('web')],
      expect: refused('invalid_scope'),
      check: stillGood,
    },
    {
      name: 'another client that holds the refresh_token grant: refused by the client binding, the token left unused',
      setup: tokens,
      request: (s) => [refresh(s), as('web2')],
      expect: refused('invalid_grant'),
      check: stillGood,
    },
    {
      name: 'another client without the refresh_token grant: refused before the token is looked at',
      setup: tokens,
      request: (s) => [refresh(s), as('post')],
      expect: refused('unauthorized_client'),
      check: stillGood,
    },
    {
      name: 'expired: the clock moved to the end of its idle lifetime',
      setup: later(tokens, (t) => t.config.refreshIdleTtl),
      request: (s) => [refresh(s), as('web')],
      expect: refused('invalid_grant'),
    },
    {
      name: 'still good one second before its idle lifetime ends',
      setup: later(tokens, (t) => t.config.refreshIdleTtl, -1),
      request: (s) => [refresh(s), as('web')],
      expect: answered({}, ['refresh_token']),
    },
    {
      name: 'a disabled user: refused, and the family ends (enabling the user again does not revive it)',
      setup: async (t) => {
        const s = await tokensOf(t);
        await disableUser(t, s.userId);
        return s;
      },
      request: (s) => [refresh(s), as('web')],
      expect: refused('invalid_grant'),
      check: async (t, s) => {
        await disableUser(t, s.userId, false);
        assertOutcome(await t.token(refresh(s), as('web')), refused('invalid_grant'));
      },
    },
    {
      name: 'a public client refreshes with its client_id',
      setup: (t) => tokensOf(t, 'spa'),
      request: (s) => [refresh(s), { clientId: 'spa' }],
      expect: answered({}, ['refresh_token']),
    },
    {
      name: 'an unknown refresh token',
      setup: tokens,
      request: (s) => [refresh(s, { refresh_token: 'A'.repeat(43) }), as('web')],
      expect: refused('invalid_grant'),
    },
    {
      name: 'no refresh_token',
      setup: tokens,
      request: (s) => [without(refresh(s), 'refresh_token'), as('web')],
      expect: refused('invalid_request'),
    },
  ]);
});

describe('client_credentials grant, through token()', () => {
  const cc = (extra: Record<string, string> = {}) => ({ grant_type: 'client_credentials', ...extra });
  table<undefined>([
    {
      name: 'no scope asked: every scope of the client; no refresh or ID token',
      request: () => [cc(), as('svc')],
      expect: answered(
        { token_type: 'Bearer', scope: 'api:read api:write' },
        ['access_token'],
        ['refresh_token', 'id_token'],
      ),
      check: async (_t, _s, o) => {
        assert.equal(claimsOf(o).sub, 'svc');
        assert.equal(claimsOf(o).client_id, 'svc');
      },
    },
    {
      name: 'a narrower scope',
      request: () => [cc({ scope: 'api:read' }), as('svc')],
      expect: answered({ scope: 'api:read' }),
    },
    {
      name: 'a user scope is not for this grant',
      request: () => [cc({ scope: 'openid' }), as('svc')],
      expect: refused('invalid_scope'),
    },
    {
      name: 'a scope the client does not hold',
      request: () => [cc({ scope: 'api:read api:admin' }), as('svc')],
      expect: refused('invalid_scope'),
    },
    {
      name: 'an allowed resource becomes the audience',
      request: () => [cc({ resource: ORDERS }), as('svc')],
      expect: answered({}, ['access_token']),
      check: async (_t, _s, o) => assert.equal(claimsOf(o).aud, ORDERS),
    },
    {
      name: 'a resource the client may not ask for',
      request: () => [cc({ resource: 'https://elsewhere.example/' }), as('svc')],
      expect: refused('invalid_target'),
    },
    {
      name: 'a public client, even one registered for the grant',
      request: () => [cc(), { clientId: 'pub-svc' }],
      expect: refused('unauthorized_client'),
    },
    {
      name: 'a client not registered for the grant',
      request: () => [cc(), as('web')],
      expect: refused('unauthorized_client'),
    },
    {
      name: 'an unknown grant type',
      request: () => [{ grant_type: 'password', username: 'u', password: 'p' }, as('svc')],
      expect: refused('unsupported_grant_type'),
    },
    { name: 'no grant type', request: () => [{}, as('svc')], expect: refused('invalid_request') },
    {
      name: 'a grant type whose feature is disabled',
      env: { TESSERA_FEATURES_DISABLED: 'device_flow' },
      request: () => [{ grant_type: DEVICE_CODE_GRANT, device_code: 'x' }, { clientId: 'tv' }],
      expect: refused('unsupported_grant_type'),
    },
  ]);
});

describe('device_code grant, through token()', () => {
  type S = { deviceCode: string };
  /** A device code of `tv` from the device authorization endpoint function. */
  const started = async (t: TestProvider): Promise<S> => {
    const o = await t.outcome(() => deviceAuthorization(t.p, t.request({ client_id: 'tv', scope: 'openid profile' })));
    return { deviceCode: bodyOf(o).device_code as string };
  };
  const decided = (decide: (t: TestProvider, hash: string) => Promise<boolean>) => async (t: TestProvider) => {
    const s = await started(t);
    assert.ok(await decide(t, tokenHash(s.deviceCode)));
    return s;
  };
  const approved = decided(async (t, hash) => {
    const user = await t.addUser();
    const approval = { userId: user.id, sid: 'sid-1', authTime: t.clock.now(), amr: ['pwd'] };
    return t.p.stores.deviceCodes.approve(hash, approval, t.clock.now());
  });
  const poll = (s: S, client = 'tv'): [Record<string, string>, As] => [
    { grant_type: DEVICE_CODE_GRANT, device_code: s.deviceCode },
    { clientId: client },
  ];
  /** `setup`, then one poll answered authorization_pending. */
  const polled = (setup: (t: TestProvider) => Promise<S>) => async (t: TestProvider) => {
    const s = await setup(t);
    assertOutcome(await t.token(...poll(s)), refused('authorization_pending'));
    return s;
  };
  table<S>([
    { name: 'pending: authorization_pending', setup: started, request: poll, expect: refused('authorization_pending') },
    {
      name: 'polled again within the interval: slow_down',
      setup: polled(started),
      request: poll,
      expect: refused('slow_down'),
    },
    {
      name: 'polled again after the interval: still pending',
      setup: later(polled(started), (t) => t.config.devicePollInterval),
      request: poll,
      expect: refused('authorization_pending'),
    },
    {
      name: "expired: the clock moved to the end of the code's lifetime",
      setup: later(started, (t) => t.config.deviceCodeTtl),
      request: poll,
      expect: refused('expired_token'),
    },
    {
      name: 'approved: tokens for the user, once',
      setup: approved,
      request: poll,
      expect: answered({ token_type: 'Bearer', scope: 'openid profile' }, ALL_TOKENS),
      check: async (t, s) => assertOutcome(await t.token(...poll(s)), refused('invalid_grant')),
    },
    {
      name: 'denied: access_denied',
      setup: decided((t, hash) => t.p.stores.deviceCodes.deny(hash, t.clock.now())),
      request: poll,
      expect: refused('access_denied'),
    },
    {
      name: 'another client (holding the grant) polls an approved code, which stays for its own client',
      setup: approved,
      request: (s) => poll(s, 'tv2'),
      expect: refused('invalid_grant'),
      check: async (t, s) => assertOutcome(await t.token(...poll(s)), answered({}, ['access_token'])),
    },
    {
      name: 'a client without the device_code grant',
      setup: approved,
      request: (s) => poll(s, 'spa'),
      expect: refused('unauthorized_client'),
    },
    {
      name: 'an unknown device code',
      setup: started,
      request: () => poll({ deviceCode: 'A'.repeat(43) }),
      expect: refused('invalid_grant'),
    },
  ]);
});

describe('token exchange grant, through token()', () => {
  const exchange = (s: Tokens, extra: Record<string, string> = {}) => ({
    grant_type: TOKEN_EXCHANGE_GRANT,
    subject_token: s.accessToken,
    subject_token_type: ACCESS_TOKEN_TYPE,
    audience: ORDERS,
    ...extra,
  });
  const tokens = (t: TestProvider) => tokensOf(t);
  table<Tokens>([
    {
      name: 'an access token of a listed subject client: a new token for the audience, the same user',
      setup: tokens,
      request: (s) => [exchange(s), as('gateway')],
      expect: answered(
        { issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', scope: 'openid profile' },
        [],
        ['refresh_token'],
      ),
      check: async (_t, s, o) => {
        assert.equal(claimsOf(o).aud, ORDERS);
        assert.equal(claimsOf(o).client_id, 'gateway');
        assert.equal(claimsOf(o).sub, s.userId);
      },
    },
    {
      name: 'an audience outside the policy',
      setup: tokens,
      request: (s) => [exchange(s, { audience: 'https://other.example/' }), as('gateway')],
      expect: refused('invalid_target'),
    },
    {
      name: 'a scope beyond the subject token',
      setup: tokens,
      request: (s) => [exchange(s, { scope: 'api:read' }), as('gateway')],
      expect: refused('invalid_scope'),
    },
    {
      name: 'a subject token whose grant was revoked',
      setup: async (t) => {
        const s = await tokensOf(t);
        const grant = await t.p.stores.grants.findByAccessToken(decodeJwt(s.accessToken).jti!);
        await t.p.stores.grants.revoke(grant!.id, t.clock.now());
        return s;
      },
      request: (s) => [exchange(s), as('gateway')],
      expect: refused('invalid_request'),
      check: async (t) =>
        assert.ok(t.events.some((e) => e.type === 'token_exchange_refused' && e.reason === 'revoked')),
    },
    {
      name: 'a subject token of a client the policy does not list',
      setup: (t) => tokensOf(t, 'web2'),
      request: (s) => [exchange(s), as('gateway')],
      expect: refused('invalid_request'),
    },
    {
      name: 'a client registered for the grant without a policy',
      setup: tokens,
      request: (s) => [exchange(s), { clientId: 'no-policy', secret: SECRET.gateway }],
      expect: refused('unauthorized_client'),
    },
  ]);
});
