// The benchmark scenarios: what each one sends, and how each server's answers are validated
// before anything is measured.
import type { JSONWebKeySet } from 'jose';
import type { Workload } from '../load/types.ts';
import {
  basicAuth,
  FLOW_SCOPE,
  REDIRECT_URI,
  RESOURCE,
  RESOURCE_SCOPE,
  USER_SCOPE,
  type Fixtures,
} from './fixtures.ts';
import { CookieJar, codeFlow, codeFlows, type FlowTarget } from './flow.ts';
import { enrolBenchPasskey } from './passkey.ts';
import type { ServerHandle, ServerKind } from './servers.ts';
import { check, checkJwks, fetchJwks, getJson, verifyAccessToken, verifyIdToken } from './validate.ts';

export type ScenarioId =
  | 'client_credentials'
  | 'introspection'
  | 'jwks'
  | 'discovery'
  | 'refresh'
  | 'userinfo'
  | 'authcode_flow'
  | 'sso_flow'
  | 'passkey_flow'
  | 'floor_json'
  | 'floor_token'
  | 'floor_token_node'
  | 'floor_token_raw';

export interface ScenarioContext {
  server: ServerHandle;
  fixtures: Fixtures;
  connections: number;
  flowConcurrency: number;
}

export interface Scenario {
  id: ScenarioId;
  title: string;
  /** What one unit of throughput is. */
  unit: 'request' | 'flow';
  servers: readonly ServerKind[];
  /**
   * Validates the server with real requests (throws a ValidationError on any surprise) and
   * returns a factory of workloads, one per run (fresh tokens where runs consume them).
   */
  prepare(ctx: ScenarioContext): Promise<() => Promise<Workload>>;
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const BOTH = ['tessera', 'oidc-provider'] as const;

function flowTarget(ctx: ScenarioContext): FlowTarget {
  const { server, fixtures } = ctx;
  return {
    issuer: server.issuer,
    authorizationEndpoint: server.endpoints.authorization,
    tokenEndpoint: server.endpoints.token,
    client: fixtures.web,
    redirectUri: REDIRECT_URI,
    user: fixtures.user,
  };
}

async function postForm(url: string, authorization: string, body: Record<string, string>) {
  return getJson(url, {
    method: 'POST',
    headers: { ...FORM, authorization },
    body: new URLSearchParams(body).toString(),
  });
}

/** The token with its last characters changed: same shape, not valid. */
const forge = (token: string) => token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');

/** An access token for the user's own data (userinfo, introspection), from a real code flow. */
async function userAccessToken(ctx: ScenarioContext): Promise<string> {
  return (await codeFlow(flowTarget(ctx), USER_SCOPE)).tokens.access_token;
}

const clientCredentials: Scenario = {
  id: 'client_credentials',
  title: 'client_credentials token (Basic auth)',
  unit: 'request',
  servers: BOTH,
  async prepare(ctx) {
    const { server, fixtures } = ctx;
    const body = { grant_type: 'client_credentials', scope: RESOURCE_SCOPE };
    const jwks = await fetchJwks(server.endpoints.jwks);
    const r = await postForm(server.endpoints.token, basicAuth(fixtures.cc), body);
    check(r.status === 200, `token: status ${r.status}: ${JSON.stringify(r.body)}`);
    check(String(r.body.token_type).toLowerCase() === 'bearer', `token_type ${String(r.body.token_type)}`);
    check(r.headers.get('cache-control')?.includes('no-store'), 'token response without Cache-Control: no-store');
    await verifyAccessToken(r.body.access_token, jwks, {
      issuer: server.issuer,
      audience: RESOURCE,
      clientId: fixtures.cc.id,
      scope: RESOURCE_SCOPE,
      sub: fixtures.cc.id,
    });
    const wrong = await postForm(
      server.endpoints.token,
      basicAuth({ id: fixtures.cc.id, secret: `${fixtures.cc.secret}x` }),
      body,
    );
    check(
      wrong.status === 401 && wrong.body.error === 'invalid_client',
      `a wrong secret got ${wrong.status} ${JSON.stringify(wrong.body)}`,
    );
    const w: Workload = {
      kind: 'http',
      method: 'POST',
      url: server.endpoints.token,
      headers: { ...FORM, authorization: basicAuth(fixtures.cc) },
      body: new URLSearchParams(body).toString(),
      expectStatus: 200,
    };
    return async () => w;
  },
};

const introspection: Scenario = {
  id: 'introspection',
  title: 'introspection of a valid user access token (RS client, Basic auth)',
  unit: 'request',
  servers: BOTH,
  async prepare(ctx) {
    const { server, fixtures } = ctx;
    const auth = basicAuth(fixtures.rs);
    const token = await userAccessToken(ctx);
    const r = await postForm(server.endpoints.introspection, auth, { token, token_type_hint: 'access_token' });
    check(r.status === 200 && r.body.active === true, `introspection: ${r.status} ${JSON.stringify(r.body)}`);
    check(r.body.client_id === fixtures.web.id, `introspection client_id ${String(r.body.client_id)}`);
    check(typeof r.body.sub === 'string' && typeof r.body.exp === 'number', 'introspection without sub or exp');
    const bogus = await postForm(server.endpoints.introspection, auth, {
      token: forge(token),
      token_type_hint: 'access_token',
    });
    check(
      bogus.status === 200 && bogus.body.active === false,
      `a forged token got ${bogus.status} ${JSON.stringify(bogus.body)}`,
    );
    return async () => ({
      kind: 'http',
      method: 'POST',
      url: server.endpoints.introspection,
      headers: { ...FORM, authorization: auth },
      body: new URLSearchParams({ token: await userAccessToken(ctx), token_type_hint: 'access_token' }).toString(),
      expectStatus: 200,
    });
  },
};

const jwks: Scenario = {
  id: 'jwks',
  title: 'JWKS',
  unit: 'request',
  servers: BOTH,
  async prepare(ctx) {
    const r = await getJson(ctx.server.endpoints.jwks);
    check(r.status === 200, `jwks: status ${r.status}`);
    checkJwks(r.body);
    const w: Workload = { kind: 'http', method: 'GET', url: ctx.server.endpoints.jwks, headers: {}, expectStatus: 200 };
    return async () => w;
  },
};

const discovery: Scenario = {
  id: 'discovery',
  title: 'discovery document',
  unit: 'request',
  servers: BOTH,
  async prepare(ctx) {
    const { server } = ctx;
    const r = await getJson(server.endpoints.discovery);
    check(
      r.status === 200 && r.body.issuer === server.issuer,
      `discovery: ${r.status}, issuer ${String(r.body.issuer)}`,
    );
    check(
      r.body.token_endpoint === server.endpoints.token && r.body.jwks_uri === server.endpoints.jwks,
      'discovery endpoints changed',
    );
    check(
      (r.body.code_challenge_methods_supported as string[] | undefined)?.includes('S256'),
      'discovery does not list S256',
    );
    const w: Workload = {
      kind: 'http',
      method: 'GET',
      url: server.endpoints.discovery,
      headers: {},
      expectStatus: 200,
    };
    return async () => w;
  },
};

const refresh: Scenario = {
  id: 'refresh',
  title: 'refresh-token rotation (chained per connection)',
  unit: 'request',
  servers: BOTH,
  async prepare(ctx) {
    const { server, fixtures } = ctx;
    const auth = basicAuth(fixtures.web);
    const jwks = await fetchJwks(server.endpoints.jwks);
    const first = (await codeFlow(flowTarget(ctx), FLOW_SCOPE)).tokens.refresh_token!;
    const r = await postForm(server.endpoints.token, auth, { grant_type: 'refresh_token', refresh_token: first });
    check(r.status === 200, `refresh: ${r.status} ${JSON.stringify(r.body)}`);
    check(
      typeof r.body.refresh_token === 'string' && r.body.refresh_token !== first,
      'refresh did not rotate the refresh token',
    );
    await verifyAccessToken(r.body.access_token, jwks, {
      issuer: server.issuer,
      audience: RESOURCE,
      clientId: fixtures.web.id,
      scope: RESOURCE_SCOPE,
    });
    await verifyIdToken(r.body.id_token, jwks, { issuer: server.issuer, clientId: fixtures.web.id });
    const replay = await postForm(server.endpoints.token, auth, { grant_type: 'refresh_token', refresh_token: first });
    check(
      replay.status === 400 && replay.body.error === 'invalid_grant',
      `a replayed refresh token got ${replay.status} ${JSON.stringify(replay.body)}`,
    );
    return async () => ({
      kind: 'refresh',
      url: server.endpoints.token,
      headers: { ...FORM, authorization: auth },
      tokens: (await codeFlows(flowTarget(ctx), FLOW_SCOPE, ctx.connections)).map((f) => f.tokens.refresh_token!),
    });
  },
};

const userinfo: Scenario = {
  id: 'userinfo',
  title: 'userinfo (Bearer user access token)',
  unit: 'request',
  servers: BOTH,
  async prepare(ctx) {
    const { server, fixtures } = ctx;
    const token = await userAccessToken(ctx);
    const r = await getJson(server.endpoints.userinfo, { headers: { authorization: `Bearer ${token}` } });
    check(r.status === 200, `userinfo: ${r.status} ${JSON.stringify(r.body)}`);
    check(
      typeof r.body.sub === 'string' && r.body.email === fixtures.user.email,
      `userinfo claims ${JSON.stringify(r.body)}`,
    );
    const bad = await fetch(server.endpoints.userinfo, { headers: { authorization: `Bearer ${forge(token)}` } });
    await bad.body?.cancel();
    check(bad.status === 401, `a forged token got ${bad.status} at userinfo`);
    return async () => ({
      kind: 'http',
      method: 'GET',
      url: server.endpoints.userinfo,
      headers: { authorization: `Bearer ${await userAccessToken(ctx)}` },
      expectStatus: 200,
    });
  },
};

const authcodeFlow: Scenario = {
  id: 'authcode_flow',
  title: 'complete code + PKCE flow (authorize, login, consent, token)',
  unit: 'flow',
  servers: BOTH,
  async prepare(ctx) {
    const { server, fixtures } = ctx;
    const jwks = await fetchJwks(server.endpoints.jwks);
    const r = await codeFlow(flowTarget(ctx), FLOW_SCOPE);
    await verifyAccessToken(r.tokens.access_token, jwks, {
      issuer: server.issuer,
      audience: RESOURCE,
      clientId: fixtures.web.id,
      scope: RESOURCE_SCOPE,
    });
    await verifyIdToken(r.tokens.id_token, jwks, { issuer: server.issuer, clientId: fixtures.web.id, nonce: r.nonce });
    check(typeof r.tokens.refresh_token === 'string', 'the flow issued no refresh token');
    const w: Workload = { kind: 'flow', target: flowTarget(ctx), scope: FLOW_SCOPE, concurrency: ctx.flowConcurrency };
    return async () => w;
  },
};

// Single sign-on: a browser that has a session and has consented signs in to the app again:
// authorize with the session cookie (no page), the code, the token request with an ID token. The
// same ID-token algorithm on both servers (ES256 for Tessera's web client, as the peer's default
// key). Each browser signs in and consents once before the measurement (not counted).
const ssoFlow: Scenario = {
  id: 'sso_flow',
  title: 'single sign-on: authorize with a session and remembered consent, code, token (ID token)',
  unit: 'flow',
  servers: BOTH,
  async prepare(ctx) {
    const { server, fixtures } = ctx;
    const jwks = await fetchJwks(server.endpoints.jwks);
    const target = flowTarget(ctx);
    const jar = new CookieJar();
    await codeFlow(target, USER_SCOPE, { jar });
    const r = await codeFlow(target, USER_SCOPE, { jar, sso: true });
    check(r.requests <= 3, `a single sign-on flow took ${r.requests} requests`);
    // ES256 only (validate.ts): both servers sign the ID token with the same algorithm.
    await verifyIdToken(r.tokens.id_token, jwks, { issuer: server.issuer, clientId: fixtures.web.id, nonce: r.nonce });
    const w: Workload = {
      kind: 'flow',
      target,
      scope: USER_SCOPE,
      concurrency: ctx.flowConcurrency,
      sso: true,
    };
    return async () => w;
  },
};

// The same flow signed in with a passkey (Tessera only): the login page's passkey form, answered by
// a software authenticator (ES256), verified by @simplewebauthn/server.
const passkeyFlow: Scenario = {
  id: 'passkey_flow',
  title: 'complete code + PKCE flow with a passkey instead of the password',
  unit: 'flow',
  servers: ['tessera'],
  async prepare(ctx) {
    const { server, fixtures } = ctx;
    const passkey = await enrolBenchPasskey(server.issuer, fixtures.passkeyUser);
    const target = { ...flowTarget(ctx), passkey };
    const jwks = await fetchJwks(server.endpoints.jwks);
    const r = await codeFlow(target, FLOW_SCOPE);
    await verifyIdToken(r.tokens.id_token, jwks, { issuer: server.issuer, clientId: fixtures.web.id, nonce: r.nonce });
    const amr = JSON.parse(Buffer.from(r.tokens.id_token!.split('.')[1]!, 'base64url').toString()).amr as string[];
    check(amr.includes('hwk') && !amr.includes('pwd'), `the passkey flow's amr is ${JSON.stringify(amr)}`);
    const w: Workload = { kind: 'flow', target, scope: FLOW_SCOPE, concurrency: ctx.flowConcurrency };
    return async () => w;
  },
};

const floorJson: Scenario = {
  id: 'floor_json',
  title: 'floor: bare Fastify route, small JSON',
  unit: 'request',
  servers: ['floor'],
  async prepare(ctx) {
    const url = ctx.server.endpoints.json!;
    const r = await getJson(url);
    check(r.status === 200 && r.body.status === 'ok', `floor json: ${r.status}`);
    const w: Workload = { kind: 'http', method: 'GET', url, headers: {}, expectStatus: 200 };
    return async () => w;
  },
};

/**
 * The token floors: jose (WebCrypto) signing at /token, node:crypto signing at /token-node, and
 * the same on plain node:http with no Fastify at /token-raw (responses finished at the end of the
 * event loop's turn, as Tessera's lanes do).
 */
function floorTokenScenario(
  id: 'floor_token' | 'floor_token_node' | 'floor_token_raw',
  path: string,
  how: string,
): Scenario {
  return {
    id,
    title: `floor: ${how}`,
    unit: 'request',
    servers: ['floor'],
    async prepare(ctx) {
      const { server, fixtures } = ctx;
      const url = new URL(path, server.endpoints.token).href;
      const body = { grant_type: 'client_credentials', scope: RESOURCE_SCOPE };
      const keys: JSONWebKeySet = await fetchJwks(server.endpoints.jwks);
      const r = await postForm(url, basicAuth(fixtures.cc), body);
      check(r.status === 200, `floor token: ${r.status} ${JSON.stringify(r.body)}`);
      await verifyAccessToken(r.body.access_token, keys, {
        issuer: server.issuer,
        audience: RESOURCE,
        clientId: fixtures.cc.id,
        scope: RESOURCE_SCOPE,
      });
      const wrong = await postForm(url, basicAuth({ id: fixtures.cc.id, secret: 'wrong' }), body);
      check(wrong.status === 401, `floor: a wrong secret got ${wrong.status}`);
      const w: Workload = {
        kind: 'http',
        method: 'POST',
        url,
        headers: { ...FORM, authorization: basicAuth(fixtures.cc) },
        body: new URLSearchParams(body).toString(),
        expectStatus: 200,
      };
      return async () => w;
    },
  };
}
const floorToken = floorTokenScenario(
  'floor_token',
  '/token',
  'Fastify form + Basic (HMAC) + ES256 JWT signed with jose',
);
const floorTokenNode = floorTokenScenario('floor_token_node', '/token-node', 'the same, signed with node:crypto');
const floorTokenRaw = floorTokenScenario(
  'floor_token_raw',
  '/token-raw',
  'the same on node:http, without Fastify, responses finished at the end of the loop turn',
);

export const SCENARIOS: readonly Scenario[] = [
  clientCredentials,
  introspection,
  jwks,
  discovery,
  refresh,
  userinfo,
  authcodeFlow,
  ssoFlow,
  passkeyFlow,
  floorJson,
  floorToken,
  floorTokenNode,
  floorTokenRaw,
];

/** Which floor a scenario is compared with in the summary. */
export const FLOOR_FOR: Partial<Record<ScenarioId, ScenarioId>> = {
  discovery: 'floor_json',
  jwks: 'floor_json',
  client_credentials: 'floor_token',
};
