// The steps of /authorize without HTTP: resolveRedirectUri, checkRequest, and authorize() as a whole
// on testProvider (test/fixtures/protocol.ts), one row per case.
import { t as english } from '../../i18n/catalog.ts';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { TEST_ISSUER, testProvider, type TestClient, type TestProvider } from '../../../test/fixtures/protocol.ts';
import type { ClientRecord } from '../../ports/clients.ts';
import { OAuthError } from '../errors.ts';
import type { AuthorizationRequest } from '../interaction/authorization-response.ts';
import { readParams } from '../params.ts';
import { MAX_UI_LOCALES, uiLocalesOf } from './authorize-params.ts';
import type { OAuthResponse } from '../provider.ts';
import {
  authorize,
  checkRequest,
  consentCovers,
  INTERACTION_COOKIE,
  resolveRedirectUri,
  scopeWithinClient,
} from './authorize.ts';
import type { ResourceServerRecord } from '../../ports/resource-servers.ts';
import { AUTHORIZE_LIMITS, AUTHORIZE_PARAMS } from './authorize-params.ts';

const CHALLENGE = createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url');
const WEB_CB = 'https://web.example/cb';

const CLIENTS: TestClient[] = [
  { client_id: 'web', client_secret: 'web-secret-0123456789-abcdefghijklmnop', redirect_uris: [WEB_CB] },
  { client_id: 'two', redirect_uris: ['https://two.example/a', 'https://two.example/b'], scope: 'openid profile' },
  { client_id: 'native', application_type: 'native', redirect_uris: ['http://127.0.0.1/cb'], scope: 'openid' },
  {
    client_id: 'svc',
    client_secret: 'svc-secret-0123456789-abcdefghijklmnop',
    grant_types: ['client_credentials'],
    scope: 'api:read',
  },
  { client_id: 'oidc-only', scope: 'openid' },
  { client_id: 'off', disabled: true },
  {
    client_id: 'selfmade',
    redirect_uris: ['https://selfmade.example/cb'],
    scope: 'openid profile',
    metadata: { registration: { access_token_hash: 'h', mode: 'open' } },
  },
];

/** The parameters of a valid request of `web`; a row overrides some (undefined: left out). */
const BASE: Record<string, string> = {
  client_id: 'web',
  redirect_uri: WEB_CB,
  response_type: 'code',
  scope: 'openid profile',
  state: 'st',
  code_challenge: CHALLENGE,
  code_challenge_method: 'S256',
};

function params(change: Record<string, string | undefined> = {}): Record<string, string> {
  const all: Record<string, string | undefined> = { ...BASE, ...change };
  return Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined));
}
/** What /authorize reads from a query string. */
const read = (p: Record<string, string>) => readParams(new URLSearchParams(p), AUTHORIZE_PARAMS, AUTHORIZE_LIMITS);

async function withClients(env: Record<string, string> = {}): Promise<TestProvider> {
  const t = await testProvider(env);
  for (const c of CLIENTS) await t.addClient(c);
  return t;
}

describe('resolveRedirectUri', () => {
  let t: TestProvider;
  const clients = new Map<string, ClientRecord>();
  before(async () => {
    t = await withClients();
    for (const c of CLIENTS) clients.set(c.client_id, (await t.p.stores.clients.get(c.client_id))!);
  });
  after(() => t.close());
  const MISSING = 'Missing redirect address';
  const UNREGISTERED = 'Unregistered redirect address';
  const rows: { name: string; client: string; change: Record<string, string | undefined>; expect: string }[] = [
    { name: 'a registered redirect_uri', client: 'web', change: {}, expect: WEB_CB },
    {
      name: 'an unregistered one',
      client: 'web',
      change: { redirect_uri: 'https://web.example/other' },
      expect: UNREGISTERED,
    },
    {
      name: 'one differing only by a trailing slash',
      client: 'web',
      change: { redirect_uri: `${WEB_CB}/` },
      expect: UNREGISTERED,
    },
    { name: 'left out by an OpenID request', client: 'web', change: { redirect_uri: undefined }, expect: MISSING },
    {
      name: 'left out by a plain OAuth request of a one-URI client',
      client: 'web',
      change: { redirect_uri: undefined, scope: 'profile' },
      expect: WEB_CB,
    },
    {
      name: 'left out by a plain OAuth request of a two-URI client',
      client: 'two',
      change: { redirect_uri: undefined, scope: 'profile' },
      expect: MISSING,
    },
    {
      name: 'either URI of a two-URI client',
      client: 'two',
      change: { redirect_uri: 'https://two.example/b' },
      expect: 'https://two.example/b',
    },
    {
      name: "a native client's loopback URI on another port",
      client: 'native',
      change: { redirect_uri: 'http://127.0.0.1:51234/cb' },
      expect: 'http://127.0.0.1:51234/cb',
    },
    {
      name: "a native client's loopback URI on another path",
      client: 'native',
      change: { redirect_uri: 'http://127.0.0.1:5/x' },
      expect: UNREGISTERED,
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const got = resolveRedirectUri(clients.get(row.client)!, read(params({ client_id: row.client, ...row.change })));
      assert.equal(typeof got === 'string' ? got : english('en', `${got.problem}.title`), row.expect);
    });
  }
});

describe('checkRequest', () => {
  let t: TestProvider;
  before(async () => {
    t = await withClients();
  });
  after(() => t.close());
  type Expect = { error: string } | Partial<AuthorizationRequest>;
  const rows: { name: string; client?: string; change: Record<string, string | undefined>; expect: Expect }[] = [
    {
      name: 'a valid request: its scope, challenge, state and prompt',
      change: { prompt: 'consent', max_age: '60' },
      expect: {
        scope: 'openid profile',
        codeChallenge: CHALLENGE,
        state: 'st',
        prompt: ['consent'],
        maxAge: 60,
        redirectUriSent: true,
      },
    },
    { name: 'no response_type', change: { response_type: undefined }, expect: { error: 'invalid_request' } },
    { name: 'response_type token', change: { response_type: 'token' }, expect: { error: 'unsupported_response_type' } },
    {
      name: 'response_type code id_token',
      change: { response_type: 'code id_token' },
      expect: { error: 'unsupported_response_type' },
    },
    {
      name: 'a client without the authorization_code grant',
      client: 'svc',
      change: {},
      expect: { error: 'unauthorized_client' },
    },
    {
      name: 'no code_challenge (PKCE is required)',
      change: { code_challenge: undefined, code_challenge_method: undefined },
      expect: { error: 'invalid_request' },
    },
    {
      name: 'code_challenge_method plain',
      change: { code_challenge_method: 'plain' },
      expect: { error: 'invalid_request' },
    },
    {
      name: 'code_challenge_method left out',
      change: { code_challenge_method: undefined },
      expect: { error: 'invalid_request' },
    },
    { name: 'a malformed code_challenge', change: { code_challenge: 'abc' }, expect: { error: 'invalid_request' } },
    {
      name: 'a scope the client does not hold',
      change: { scope: 'openid api:read' },
      expect: { error: 'invalid_scope' },
    },
    { name: 'an unknown scope', change: { scope: 'openid unheard' }, expect: { error: 'invalid_scope' } },
    {
      name: "no scope: the client's scopes without openid",
      change: { scope: undefined },
      expect: { scope: 'profile email offline_access' },
    },
    {
      name: 'no scope, and no default for this client',
      client: 'oidc-only',
      change: { scope: undefined },
      expect: { error: 'invalid_scope' },
    },
    { name: 'prompt=none with another value', change: { prompt: 'none login' }, expect: { error: 'invalid_request' } },
    {
      name: 'prompt=create without self-registration',
      change: { prompt: 'create' },
      expect: { error: 'invalid_request' },
    },
    { name: 'a max_age that is not a number', change: { max_age: '-1' }, expect: { error: 'invalid_request' } },
    { name: 'request_uri here', change: { request_uri: 'urn:x' }, expect: { error: 'request_uri_not_supported' } },
    {
      name: 'the registration parameter',
      change: { registration: '{}' },
      expect: { error: 'registration_not_supported' },
    },
    {
      name: 'a resource with a fragment',
      change: { resource: 'https://api.example/#x' },
      expect: { error: 'invalid_target' },
    },
    { name: 'a malformed dpop_jkt', change: { dpop_jkt: 'short' }, expect: { error: 'invalid_request' } },
    { name: 'claims that are not JSON', change: { claims: '{' }, expect: { error: 'invalid_request' } },
  ];
  for (const row of rows) {
    it(row.name, async () => {
      const client = (await t.p.stores.clients.get(row.client ?? 'web'))!;
      const p = read(params({ client_id: client.clientId, ...row.change }));
      let got: AuthorizationRequest | OAuthError;
      try {
        got = checkRequest(t.p, client, p, client.redirectUris[0]!);
      } catch (err) {
        assert.ok(err instanceof OAuthError, String(err));
        got = err;
      }
      if ('error' in row.expect) {
        assert.ok(got instanceof OAuthError, `expected ${row.expect.error}, got ${JSON.stringify(got)}`);
        assert.equal(got.code, row.expect.error, got.description);
        return;
      }
      assert.ok(!(got instanceof OAuthError), got instanceof OAuthError ? `${got.code}: ${got.description}` : '');
      for (const [k, v] of Object.entries(row.expect)) assert.deepEqual(got[k as keyof AuthorizationRequest], v, k);
    });
  }
});

/**
 * What authorize() answered, in one string: `page <status>` (nothing went to the client),
 * `code` or `error <code>` (sent to the redirect URI, with state and iss), `interaction` (on to the
 * login or consent page, with the interaction cookie).
 */
function answerOf(res: OAuthResponse): string {
  if (res.kind === 'page') return `page ${res.status}`;
  assert.equal(res.kind, 'redirect', JSON.stringify(res));
  const location = new URL((res as { location: string }).location);
  if (location.href.startsWith(`${TEST_ISSUER}/interaction/`)) {
    assert.ok((res as { cookies?: { name: string }[] }).cookies?.some((c) => c.name === INTERACTION_COOKIE));
    return 'interaction';
  }
  assert.equal(location.searchParams.get('state'), 'st');
  assert.equal(location.searchParams.get('iss'), TEST_ISSUER);
  const error = location.searchParams.get('error');
  if (error) return `error ${error}`;
  assert.ok(location.searchParams.get('code'));
  return 'code';
}

describe('authorize()', () => {
  /** How the browser arrives: no session, or signed in, with or without a remembered consent. */
  type Browser = 'anonymous' | 'signed in' | 'signed in, consented';
  type Row = {
    name: string;
    env?: Record<string, string>;
    browser: Browser;
    /** What happens after the sign-in (and the consent), before the request: a role given, time passing. */
    meanwhile?: (t: TestProvider, userId: string) => Promise<void>;
    /** The session's amr (default: a password). */
    amr?: string[];
    change: Record<string, string | undefined>;
    expect: string;
  };
  const operator = (t: TestProvider, userId: string) =>
    t.p.stores.adminRoles.set({ userId, role: 'support', grantedAt: t.clock.now(), grantedBy: 'cli' });
  const later = (seconds: number) => async (t: TestProvider) => t.clock.advance(seconds);
  const rows: Row[] = [
    { name: 'an unknown client: a page', browser: 'anonymous', change: { client_id: 'nobody' }, expect: 'page 400' },
    { name: 'a disabled client: a page', browser: 'anonymous', change: { client_id: 'off' }, expect: 'page 400' },
    {
      name: 'an unregistered redirect_uri: a page',
      browser: 'anonymous',
      change: { redirect_uri: 'https://evil.example/cb' },
      expect: 'page 400',
    },
    {
      name: 'no redirect_uri in an OpenID request: a page',
      browser: 'anonymous',
      change: { redirect_uri: undefined },
      expect: 'page 400',
    },
    {
      name: 'a bad response_type goes to the client',
      browser: 'anonymous',
      change: { response_type: 'token' },
      expect: 'error unsupported_response_type',
    },
    {
      name: 'no PKCE goes to the client',
      browser: 'anonymous',
      change: { code_challenge: undefined },
      expect: 'error invalid_request',
    },
    {
      name: 'a scope not allowed goes to the client',
      browser: 'anonymous',
      change: { scope: 'openid api:read' },
      expect: 'error invalid_scope',
    },
    {
      name: 'a client without the grant: unauthorized_client',
      browser: 'anonymous',
      change: { client_id: 'svc', redirect_uri: 'https://svc.example/cb' },
      expect: 'error unauthorized_client',
    },
    {
      name: "a self-registered client's error is shown, not redirected",
      browser: 'anonymous',
      change: { client_id: 'selfmade', redirect_uri: 'https://selfmade.example/cb', response_type: 'token' },
      expect: 'page 400',
    },
    {
      name: 'prompt=none without a session: login_required',
      browser: 'anonymous',
      change: { prompt: 'none' },
      expect: 'error login_required',
    },
    {
      name: 'prompt=none without consent: consent_required',
      browser: 'signed in',
      change: { prompt: 'none' },
      expect: 'error consent_required',
    },
    {
      name: 'prompt=none with session and consent: a code',
      browser: 'signed in, consented',
      change: { prompt: 'none' },
      expect: 'code',
    },
    { name: 'session and consent: a code at once', browser: 'signed in, consented', change: {}, expect: 'code' },
    { name: 'no session: the login interaction', browser: 'anonymous', change: {}, expect: 'interaction' },
    {
      name: 'a session without consent: the consent interaction',
      browser: 'signed in',
      change: {},
      expect: 'interaction',
    },
    {
      name: 'prompt=login despite a session',
      browser: 'signed in, consented',
      change: { prompt: 'login' },
      expect: 'interaction',
    },
    {
      name: 'max_age=0 despite a session',
      browser: 'signed in, consented',
      change: { max_age: '0' },
      expect: 'interaction',
    },
    {
      name: 'a scope beyond the remembered consent',
      browser: 'signed in, consented',
      change: { scope: 'openid email' },
      expect: 'interaction',
    },
    // What the session's one read (sessions.getForClient) brings beside it is judged as each read alone was.
    {
      name: "a consent of the user's to another client only: the consent interaction",
      browser: 'signed in',
      meanwhile: (t, userId) => t.consent(userId, 'two', 'openid profile'),
      change: { prompt: 'none' },
      expect: 'error consent_required',
    },
    {
      name: "another user's consent to this client: the consent interaction",
      browser: 'signed in',
      meanwhile: async (t) => t.consent((await t.addUser()).id, 'web', 'openid profile'),
      change: { prompt: 'none' },
      expect: 'error consent_required',
    },
    {
      name: 'a consent revoked since: the consent interaction',
      browser: 'signed in, consented',
      meanwhile: async (t, userId) => void (await t.p.stores.consents.revoke(userId, 'web')),
      change: { prompt: 'none' },
      expect: 'error consent_required',
    },
    {
      name: 'a user disabled since: login_required',
      browser: 'signed in, consented',
      meanwhile: async (t, userId) =>
        t.p.stores.users.put({ ...(await t.p.stores.users.get(userId))!, disabled: true }),
      change: { prompt: 'none' },
      expect: 'error login_required',
    },
    {
      name: 'a session idle past TESSERA_SESSION_IDLE_TTL: login_required',
      env: { TESSERA_SESSION_IDLE_TTL: '600' },
      browser: 'signed in, consented',
      meanwhile: later(600),
      change: { prompt: 'none' },
      expect: 'error login_required',
    },
    {
      name: 'a session just within TESSERA_SESSION_IDLE_TTL: a code',
      env: { TESSERA_SESSION_IDLE_TTL: '600' },
      browser: 'signed in, consented',
      meanwhile: later(599),
      change: { prompt: 'none' },
      expect: 'code',
    },
    {
      name: 'a session past its absolute end: the login interaction',
      env: { TESSERA_SESSION_ABSOLUTE_TTL: '3600', TESSERA_SESSION_IDLE_TTL: '3600' },
      browser: 'signed in, consented',
      // Used (touched) at 3000 s, so only its absolute end is past at 3600 s.
      meanwhile: async (t, userId) => {
        t.clock.advance(3000);
        const [session] = await t.p.stores.sessions.listByUser(userId);
        await t.p.stores.sessions.touch(session!.idHash, t.clock.now());
        t.clock.advance(600);
      },
      change: {},
      expect: 'interaction',
    },
    {
      name: "an operator's password-only session (a role given after the sign-in): the second-factor step",
      browser: 'signed in, consented',
      meanwhile: operator,
      change: {},
      expect: 'interaction',
    },
    {
      name: "an operator's password-only session with prompt=none: interaction_required",
      browser: 'signed in, consented',
      meanwhile: operator,
      change: { prompt: 'none' },
      expect: 'error interaction_required',
    },
    {
      name: "an operator's session with a second factor: a code",
      browser: 'signed in, consented',
      amr: ['pwd', 'otp', 'mfa'],
      meanwhile: operator,
      change: { prompt: 'none' },
      expect: 'code',
    },
    {
      name: 'a role removed since: a password is enough again',
      browser: 'signed in, consented',
      meanwhile: async (t, userId) => {
        await operator(t, userId);
        await t.p.stores.adminRoles.remove(userId);
      },
      change: { prompt: 'none' },
      expect: 'code',
    },
    {
      name: 'TESSERA_REQUIRE_PAR: a request not pushed',
      env: { TESSERA_REQUIRE_PAR: 'true' },
      browser: 'anonymous',
      change: {},
      expect: 'error invalid_request',
    },
    {
      name: 'a request_uri this server did not issue: a page',
      browser: 'anonymous',
      change: { request_uri: 'urn:example:x' },
      expect: 'page 400',
    },
    {
      name: 'request objects disabled: request_not_supported to the client',
      env: { TESSERA_FEATURES_DISABLED: 'request_object' },
      browser: 'anonymous',
      change: { request: 'e30.e30.' },
      expect: 'error request_not_supported',
    },
  ];
  for (const row of rows) {
    it(row.name, async () => {
      const t = await withClients(row.env);
      try {
        const cookies: Record<string, string> = {};
        if (row.browser !== 'anonymous') {
          const user = await t.addUser();
          Object.assign(cookies, await t.signIn(user.id, row.amr));
          if (row.browser === 'signed in, consented') await t.consent(user.id, 'web', 'openid profile');
          await row.meanwhile?.(t, user.id);
        }
        const res = await authorize(t.p, t.request(params(row.change), { method: 'GET', cookies }));
        assert.equal(answerOf(res), row.expect);
      } finally {
        await t.close();
      }
    });
  }
});

describe('scopeWithinClient (step-up)', () => {
  it("an operator-made client's registered scope is its ceiling; a self-registered client's is a hint", () => {
    const operator = { scopes: ['openid', 'mcp:read'], metadata: {} } as unknown as ClientRecord;
    const registered = {
      scopes: ['openid', 'mcp:read'],
      metadata: { registration: { access_token_hash: 'h', mode: 'open' } },
    } as unknown as ClientRecord;
    assert.equal(scopeWithinClient(operator, 'mcp:read'), true);
    assert.equal(scopeWithinClient(operator, 'mcp:write'), false);
    // Its ceiling is checked elsewhere (TESSERA_REGISTRATION_SCOPES, the resource's scopes: resources.ts).
    assert.equal(scopeWithinClient(registered, 'mcp:write'), true);
  });
});

describe('consentCovers: a remembered consent and the scope hierarchy of the registry', () => {
  const R = 'https://files.example/mcp';
  const entry = {
    identifier: R,
    scopes: [
      { name: 'files', description: 'All your files' },
      { name: 'files:read', description: 'Read your files', parent: 'files' },
    ],
  } as unknown as ResourceServerRecord;
  const registry = new Map([[R, entry]]);
  const consent = { userId: 'u', clientId: 'c', scopes: ['files'], resources: { [R]: ['files'] }, grantedAt: 0 };

  it('a parent granted at a resource covers its children there, never elsewhere or the other way round', () => {
    assert.ok(consentCovers(consent, ['files:read'], [R], registry));
    assert.ok(consentCovers(consent, ['files', 'files:read'], [R], registry));
    assert.ok(!consentCovers(consent, ['files:read'], ['https://other.example/mcp'], registry));
    assert.ok(!consentCovers(consent, ['files:read'], [R]), 'without the registry: exact names only');
    const child = { ...consent, scopes: ['files:read'], resources: { [R]: ['files:read'] } };
    assert.ok(!consentCovers(child, ['files'], [R], registry));
  });
});

describe('ui_locales as an interaction keeps it', () => {
  it('valid language tags, in order, at most 20; anything else dropped, never an error', () => {
    assert.equal(uiLocalesOf(undefined), undefined);
    assert.equal(uiLocalesOf('de'), 'de');
    assert.equal(uiLocalesOf('fr-CA de en'), 'fr-CA de en');
    assert.equal(uiLocalesOf('<script> de_DE!! ../x'), undefined);
    assert.equal(uiLocalesOf('x de  zh-Hant-TW a-very-long-subtag'), 'de zh-Hant-TW');
    const many = Array.from({ length: 30 }, (_, i) => `l${'abcdefghijklmnopqrstuvwxyz'[i % 26]}`).join(' ');
    assert.equal(uiLocalesOf(many)?.split(' ').length, MAX_UI_LOCALES);
  });
});
