/**
 * The official MCP SDK clients against Tessera, end to end on 127.0.0.1: the example MCP server of the
 * resource-server SDK (packages/resource-server/examples/mcp-server.ts: MCP SDK 1.x McpServer behind
 * the SDK's Express adapter) protected by Tessera, and the SDK clients 1.x
 * (`@modelcontextprotocol/sdk`) and 2.x (`@modelcontextprotocol/client`) connecting through the
 * whole flow: 401 challenge, protected resource metadata (RFC 9728), authorization server metadata
 * (RFC 8414), dynamic registration (RFC 7591) or a Client ID Metadata Document (served over HTTPS by
 * this test with its own CA), PKCE S256 with `resource` (RFC 8707), Tessera's real
 * sign-in and consent pages in headless Chromium, the token, tool calls, refresh on an expired token,
 * a second process sharing the token store, two processes refreshing the same token at once, and
 * step-up on 403 insufficient_scope.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { Browser, BrowserContext } from 'playwright-core';
import { Client as Client1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as Transport1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { auth as auth1, UnauthorizedError as Unauthorized1 } from '@modelcontextprotocol/sdk/client/auth.js';
import {
  Client as Client2,
  StreamableHTTPClientTransport as Transport2,
  UnauthorizedError as Unauthorized2,
} from '@modelcontextprotocol/client';
import { freePort, startServer, type RunningServer } from '../fixtures/server.ts';
import { startExampleServer, type ExampleServer } from '../../packages/resource-server/examples/mcp-server.ts';
import { BrowserUser, FileTokenStore, RefreshBarrier, TestOAuthProvider } from '../fixtures/mcp-client.ts';
import { RequestRecorder, startCimdDocumentServer, type CimdDocumentServer } from '../fixtures/mcp-cimd.ts';
import { hasOpenssl, makePki, type TestPki } from '../fixtures/certs.ts';
import { browserSkip, launchBrowser, startCallbackServer, type CallbackServer } from './support.ts';

// ---- THE ONE PLACE FOR THE MCP PROFILE -----------------------------------------------------------
// Tessera on its defaults plus the profile switch only.
const MCP_PROFILE: Record<string, string> = { TESSERA_MCP_PROFILE: 'latest' };
// What this deployment adds: nothing (the MCP server's scopes come from its registry entry).
const DEPLOYMENT: Record<string, string> = {};

// ---- WHAT ONLY A TEST CAN SET --------------------------------------------------------------------
// The Client ID Metadata Documents are served by this test on 127.0.0.1 over HTTPS with a CA of its
// own: the loopback exception (production refuses it at start-up) and that CA, trusted by the Tessera
// process only (NODE_EXTRA_CA_CERTS).
const testOnly = (caFile: string): Record<string, string> => ({
  TESSERA_CIMD_ALLOW_LOOPBACK: 'true',
  NODE_EXTRA_CA_CERTS: caFile,
});
const cimdSkip = hasOpenssl() ? false : 'openssl not found (the CIMD document server needs a test CA)';

const PASSWORD = 'correct horse battery staple mcp';

/** The example server's scopes (its defaults): every call needs the first, its add_note tool the second too. */
const MCP_SCOPE = 'notes:read';
const MCP_WRITE_SCOPE = 'notes:write';
/** The clock skew the example's resource server tolerates on exp (the SDK's default, set explicitly). */
const SKEW = 30;

/**
 * The MCP server's clock (the resource-server SDK's `now` option): real time until `expire(token)`,
 * which sets it to the instant that token's lifetime has run out at the resource server (its `exp`
 * plus the tolerated skew) and stops it there, as if the MCP server had lived through the token's
 * lifetime. The SDK's exp check is unchanged: the token is refused as expired (401 invalid_token).
 * Every token Tessera issues in a later second expires later, so the refreshed one is accepted. The
 * clock never goes back.
 */
class ResourceServerClock {
  #at: number | undefined;
  now = (): number => this.#at ?? Math.floor(Date.now() / 1000);
  async expire(accessToken: string): Promise<void> {
    const { exp, iat } = decodeJwt(accessToken);
    if (typeof exp !== 'number' || typeof iat !== 'number') throw new Error('the access token has no exp or iat');
    // A token issued within the same second would run out with this one: let that second pass.
    while (Math.floor(Date.now() / 1000) <= iat) await new Promise((r) => setTimeout(r, 50));
    this.#at = Math.max(this.#at ?? 0, this.now(), exp + SKEW);
  }
}

interface Whoami {
  client_id: string;
  sub: string;
  scopes: string[];
}
const whoami = (r: ToolResult): Whoami => JSON.parse(r.content[0]?.text ?? '{}') as Whoami;

// ---- the two SDK generations behind one shape ---------------------------------------------------

interface ToolResult {
  content: { type: string; text?: string }[];
}
interface SdkClient {
  listTools(): Promise<{ tools: { name: string }[] }>;
  callTool(name: string, args?: Record<string, unknown>): Promise<ToolResult>;
  close(): Promise<void>;
}
interface Sdk {
  name: string;
  /** Connects a new client with a new transport; rejects as the SDK does (UnauthorizedError: go to the browser). */
  connect(url: string, provider: TestOAuthProvider, fetch?: typeof globalThis.fetch): Promise<SdkClient>;
  /** The SDK's finishAuth with the callback the browser reached, on a fresh transport. */
  finishAuth(url: string, provider: TestOAuthProvider, callback: URL, fetch?: typeof globalThis.fetch): Promise<void>;
  isUnauthorized(err: unknown): boolean;
}

const sdk1: Sdk = {
  name: 'MCP SDK 1.x (@modelcontextprotocol/sdk)',
  async connect(url, provider, fetch) {
    const client = new Client1({ name: 'tessera-e2e-sdk1', version: '1.0.0' });
    await client.connect(new Transport1(new URL(url), { authProvider: provider, ...(fetch ? { fetch } : {}) }));
    return {
      listTools: () => client.listTools(),
      callTool: async (name, args = {}) => (await client.callTool({ name, arguments: args })) as ToolResult,
      close: () => client.close(),
    };
  },
  async finishAuth(url, provider, callback, fetch) {
    await new Transport1(new URL(url), { authProvider: provider, ...(fetch ? { fetch } : {}) }).finishAuth(
      callback.searchParams.get('code')!,
    );
  },
  isUnauthorized: (err) => err instanceof Unauthorized1,
};

const sdk2: Sdk = {
  name: 'MCP SDK 2.x (@modelcontextprotocol/client)',
  async connect(url, provider, fetch) {
    const client = new Client2({ name: 'tessera-e2e-sdk2', version: '1.0.0' });
    await client.connect(new Transport2(new URL(url), { authProvider: provider, ...(fetch ? { fetch } : {}) }));
    return {
      listTools: () => client.listTools(),
      callTool: async (name, args = {}) => (await client.callTool({ name, arguments: args })) as ToolResult,
      close: () => client.close(),
    };
  },
  async finishAuth(url, provider, callback, fetch) {
    // 2.x takes the whole callback: it checks `iss` (RFC 9207) before redeeming the code.
    await new Transport2(new URL(url), { authProvider: provider, ...(fetch ? { fetch } : {}) }).finishAuth(
      callback.searchParams,
    );
  },
  isUnauthorized: (err) => err instanceof Unauthorized2,
};

// ---- the suite ----------------------------------------------------------------------------------

describe('the official MCP SDK clients through Tessera', { skip: browserSkip }, () => {
  let tessera: RunningServer;
  /** The example MCP server, on the clock below. */
  let mcp: ExampleServer;
  const clock = new ResourceServerClock();
  /** The example MCP server declaring no scopes at all (none needed, no scopes_supported). */
  let bare: ExampleServer;
  let cb: CallbackServer;
  let browser: Browser;
  let dir: string;
  /** The test CA and the HTTPS server of the Client ID Metadata Documents (undefined: no openssl). */
  let pki: TestPki | undefined;
  let docs: CimdDocumentServer;
  /** Where the authorization server metadata says registration is (RFC 8414 `registration_endpoint`). */
  let registrationEndpoint: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-mcp-sdk-'));
    if (!cimdSkip) pki = makePki();
    // The MCP servers need Tessera's issuer, and Tessera their URLs (its registry): their ports first.
    const [mcpPort, barePort] = await Promise.all([freePort(), freePort()]);
    const mcpUrl = `http://127.0.0.1:${mcpPort}/mcp`;
    const bareUrl = `http://127.0.0.1:${barePort}/mcp`;
    [cb, browser] = await Promise.all([startCallbackServer(), launchBrowser()]);
    if (pki) docs = await startCimdDocumentServer(pki);
    tessera = await startServer({
      env: { ...MCP_PROFILE, ...DEPLOYMENT, ...(pki ? testOnly(pki.caFile) : {}) },
      bootstrap: {
        users: [{ username: 'mcp-user', password: PASSWORD }],
        // The registry of resource servers: the MCP server, its scopes as users see them on consent.
        resources: [
          {
            identifier: mcpUrl,
            display_name: 'E2E MCP server',
            scopes: { [MCP_SCOPE]: 'Read your notes', [MCP_WRITE_SCOPE]: 'Add notes' },
          },
          // Its tokens are RS256 (the registry's signing_alg); the other server's, ES256 (the default).
          { identifier: bareUrl, display_name: 'E2E MCP server without scopes', signing_alg: 'RS256' },
        ],
      },
    });
    [mcp, bare] = await Promise.all([
      startExampleServer({
        issuer: tessera.issuer,
        resource: mcpUrl,
        readScope: MCP_SCOPE,
        writeScope: MCP_WRITE_SCOPE,
        resourceServer: { clockSkew: SKEW, now: clock.now },
      }),
      startExampleServer({
        issuer: tessera.issuer,
        resource: bareUrl,
        // No scope needed for a call (whoami), and none declared: scopes_supported left out of the metadata.
        readScope: '',
        resourceServer: { scopesSupported: undefined },
      }),
    ]);
    assert.equal(mcp.url, mcpUrl);
    const discovery = await fetch(`${tessera.issuer}/.well-known/oauth-authorization-server`);
    registrationEndpoint = String(((await discovery.json()) as Record<string, unknown>).registration_endpoint);
  });
  after(async () => {
    await browser?.close();
    await tessera?.stop();
    await mcp?.close();
    await bare?.close();
    await cb?.close();
    await docs?.close();
    pki?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const sdk of [sdk1, sdk2]) {
    describe(sdk.name, () => {
      let context: BrowserContext;
      let user: BrowserUser;
      let store: FileTokenStore;
      let provider: TestOAuthProvider;
      const tag = sdk === sdk1 ? 'sdk1' : 'sdk2';
      const newProvider = (s: FileTokenStore, withBrowser: boolean, name = `E2E ${tag}`) =>
        new TestOAuthProvider({
          store: s,
          redirectUrl: cb.url(`/${tag}/callback`),
          clientName: name,
          ...(withBrowser ? { user } : {}),
        });

      /** The SDK's interactive connect: UnauthorizedError, the browser step, finishAuth, connect again. */
      async function authorizeAndConnect(
        p: TestOAuthProvider,
        url = mcp.url,
        fetch?: typeof globalThis.fetch,
      ): Promise<SdkClient> {
        await assert.rejects(sdk.connect(url, p, fetch), (err) => sdk.isUnauthorized(err));
        await sdk.finishAuth(url, p, p.lastCallback(), fetch);
        return sdk.connect(url, p, fetch);
      }
      /** The requests to the registration endpoint among those recorded. */
      const registrations = (rec: RequestRecorder) =>
        rec.requests.filter((r) => r.url.href.split('?')[0] === registrationEndpoint);

      before(async () => {
        context = await browser.newContext();
        context.setDefaultTimeout(10_000);
        user = new BrowserUser(await context.newPage(), cb, 'mcp-user', PASSWORD);
        store = new FileTokenStore(join(dir, `${tag}-store.json`));
        provider = newProvider(store, true);
      });
      after(async () => {
        await context?.close();
      });

      it('discovers, registers, authorizes in the browser with PKCE and resource, lists tools and calls one', async () => {
        const rec = new RequestRecorder();
        const client = await authorizeAndConnect(provider, mcp.url, rec.fetch);
        try {
          const { tools } = await client.listTools();
          assert.deepEqual(tools.map((t) => t.name).sort(), ['add_note', 'whoami']);
          const who = whoami(await client.callTool('whoami'));
          assert.equal(who.client_id, store.read().client?.client_id, 'the tool saw the registered client');
          assert.equal(typeof who.sub, 'string');
          assert.ok(who.scopes.includes(MCP_SCOPE), `the tool saw the scope ${MCP_SCOPE}: ${who.scopes}`);
        } finally {
          await client.close();
        }
        // The first request had no token: 401 with the metadata URL and the scope every call needs.
        const first = rec.requests.find((r) => r.url.href === mcp.url)!;
        assert.equal(first.status, 401);
        assert.match(first.challenge ?? '', new RegExp(`^Bearer scope="${MCP_SCOPE}", resource_metadata="`));
        assert.ok(first.challenge?.includes(mcp.rs.metadataUrl), `the challenge names ${mcp.rs.metadataUrl}`);
        assert.ok(
          rec.requests.some((r) => r.url.href === mcp.rs.metadataUrl && r.status === 200),
          'the SDK read the protected resource metadata',
        );

        // Dynamic registration happened, once, as a public client with the loopback redirect URI.
        assert.deepEqual(
          registrations(rec).map((r) => r.method),
          ['POST'],
        );
        const stored = store.read();
        assert.equal(typeof stored.client?.client_id, 'string');
        assert.equal(stored.client?.token_endpoint_auth_method, 'none');
        // The browser went through Tessera's sign-in and consent pages to the loopback callback.
        const run = provider.runs[0]!;
        assert.deepEqual(run.screens, ['login', 'consent', 'callback']);
        const q = run.authorizationUrl.searchParams;
        assert.equal(q.get('code_challenge_method'), 'S256');
        assert.equal(q.get('resource'), mcp.url);
        assert.ok(q.get('scope')?.split(' ').includes(MCP_SCOPE), `scope ${q.get('scope')} names ${MCP_SCOPE}`);
        // RFC 9207: the response names the issuer.
        assert.equal(run.callback.searchParams.get('iss'), tessera.issuer);
        // The token is for this MCP server only, for this client, with the scope it asked for.
        const at = decodeJwt(String(stored.tokens?.access_token));
        assert.equal(decodeProtectedHeader(String(stored.tokens?.access_token)).alg, 'ES256');
        assert.equal(at.aud, mcp.url);
        assert.equal(at.client_id, stored.client?.client_id);
        // The example offers DPoP beside Bearer; neither SDK client uses it (a Bearer token, no cnf).
        assert.equal(at.cnf, undefined);
        assert.ok(String(at.scope).split(' ').includes(MCP_SCOPE));
        assert.equal(typeof stored.tokens?.refresh_token, 'string', 'a public client with refresh_token gets one');
      });

      it('refreshes when the MCP server answers 401 invalid_token, and goes on', async () => {
        const before = store.read().tokens!;
        await clock.expire(String(before.access_token));
        const rec = new RequestRecorder();
        const client = await sdk.connect(mcp.url, newProvider(store, false), rec.fetch);
        try {
          const result = await client.callTool('whoami');
          assert.ok(whoami(result).scopes.includes(MCP_SCOPE));
        } finally {
          await client.close();
        }
        const refused = rec.requests.find((r) => r.url.href === mcp.url && r.status === 401);
        assert.match(
          refused?.challenge ?? '',
          /^Bearer error="invalid_token", error_description="The access token has expired\."/,
        );
        const now = store.read().tokens!;
        assert.notEqual(now.access_token, before.access_token, 'a new access token');
        assert.notEqual(now.refresh_token, before.refresh_token, 'the refresh token was rotated');
        assert.equal(decodeJwt(String(now.access_token)).aud, mcp.url, 'still for this MCP server only');
      });

      it('a second process sharing the token store goes on with the stored tokens, no browser', async () => {
        const runs = provider.runs.length;
        const second = newProvider(new FileTokenStore(store.path), false, `E2E ${tag} (second process)`);
        const client = await sdk.connect(mcp.url, second);
        try {
          assert.equal((await client.listTools()).tools.length, 2);
          assert.equal(whoami(await client.callTool('whoami')).client_id, store.read().client?.client_id);
        } finally {
          await client.close();
        }
        assert.equal(provider.runs.length, runs, 'no browser step');
        assert.equal(second.runs.length, 0);
      });

      it('two processes refresh the same refresh token at once: both go on (refresh reuse grace window)', async () => {
        const barrier = new RefreshBarrier();
        barrier.arm(2);
        const a = newProvider(new FileTokenStore(store.path), false, `E2E ${tag} (process A)`);
        const b = newProvider(new FileTokenStore(store.path), false, `E2E ${tag} (process B)`);
        const [ca, cb2] = await Promise.all([
          sdk.connect(mcp.url, a, barrier.fetch),
          sdk.connect(mcp.url, b, barrier.fetch),
        ]);
        try {
          await clock.expire(String(store.read().tokens!.access_token));
          const results = await Promise.allSettled([ca.callTool('whoami'), cb2.callTool('whoami')]);
          assert.deepEqual(
            barrier.results.map((r) => r.status),
            [200, 200],
            `both refreshes answered 200: ${JSON.stringify(barrier.results.map((r) => r.body.error ?? 'ok'))}`,
          );
          assert.equal(barrier.results[0]!.body.refresh_token, barrier.results[1]!.body.refresh_token);
          for (const r of results) assert.equal(r.status, 'fulfilled', String((r as PromiseRejectedResult).reason));
        } finally {
          await Promise.all([ca.close(), cb2.close()]);
        }
        // The family still lives: one more refresh works.
        await clock.expire(String(store.read().tokens!.access_token));
        const client = await sdk.connect(mcp.url, newProvider(store, false));
        try {
          await client.callTool('whoami');
        } finally {
          await client.close();
        }
      });

      it('an MCP server that declares no scopes: the SDK sends none, the default scope applies, the call works', async () => {
        const s = new FileTokenStore(join(dir, `${tag}-bare.json`));
        const p = newProvider(s, true, `E2E ${tag} (no scopes)`);
        // What the SDK sees: a challenge and a metadata document that name no scope.
        const metadata = (await (await fetch(bare.rs.metadataUrl)).json()) as Record<string, unknown>;
        assert.equal(metadata.resource, bare.url);
        assert.equal(metadata.scopes_supported, undefined);
        const challenge = (await fetch(bare.url, { method: 'POST' })).headers.get('www-authenticate') ?? '';
        assert.match(challenge, /^Bearer resource_metadata="[^"]+", DPoP /);
        const client = await authorizeAndConnect(p, bare.url);
        try {
          assert.equal(whoami(await client.callTool('whoami')).client_id, s.read().client?.client_id);
        } finally {
          await client.close();
        }
        const run = p.runs[0]!;
        assert.equal(run.authorizationUrl.searchParams.get('scope'), null, 'the SDK sent no scope');
        assert.equal(run.authorizationUrl.searchParams.get('resource'), bare.url);
        const token = String(s.read().tokens!.access_token);
        assert.equal(decodeJwt(token).aud, bare.url);
        assert.equal(decodeProtectedHeader(token).alg, 'RS256');
      });

      /**
       * Step-up on 403 insufficient_scope. `preregister`: the client is registered (RFC 7591, by the
       * test) for every scope of the MCP server before the SDK starts, as the SDK itself never does
       * (it registers with the scope of the first challenge only).
       */
      async function stepUp(t: TestContext, name: string, preregister: boolean): Promise<void> {
        const s = new FileTokenStore(join(dir, `${tag}-${name}.json`));
        const p = newProvider(s, true, `E2E ${tag} (${name})`);
        if (preregister) {
          const res = await fetch(`${tessera.issuer}/register`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ ...p.clientMetadata, scope: `${MCP_SCOPE} ${MCP_WRITE_SCOPE} offline_access` }),
          });
          assert.equal(res.status, 201, await res.clone().text());
          // Stamped with the issuer, as the SDKs store what they register (SEP-2352).
          p.saveClientInformation({ ...((await res.json()) as object), issuer: tessera.issuer });
        }
        const rec = new RequestRecorder();
        const client = await authorizeAndConnect(p, mcp.url, rec.fetch);
        try {
          const first = decodeJwt(String(s.read().tokens!.access_token));
          assert.ok(!String(first.scope).split(' ').includes(MCP_WRITE_SCOPE), 'the first token lacks the write scope');
          const noted = { text: 'a note' };
          const runs = p.runs.length;
          let result: ToolResult;
          if (sdk === sdk1) {
            // SDK 1.x answers the 403 by refreshing (it sends no scope on refresh, so the new token has
            // the old scope), gets the same 403 and gives up: the application re-authorizes with the
            // SDK's auth() for the scope of the challenge.
            await assert.rejects(client.callTool('add_note', noted), /403 after trying upscoping/);
            const challenge = rec.requests.findLast((r) => r.url.href === mcp.url)?.challenge ?? '';
            assert.match(challenge, /^Bearer error="insufficient_scope"/);
            // The example names the scopes the call needs with those the token has (so no scope is lost).
            const scope = /scope="([^"]*)"/.exec(challenge)?.[1];
            assert.deepEqual(
              new Set(scope?.split(' ')),
              new Set([...String(first.scope).split(' '), MCP_WRITE_SCOPE]),
              `the challenge's scope: ${scope}`,
            );
            p.invalidateCredentials('tokens');
            assert.equal(await auth1(p, { serverUrl: mcp.url, scope }), 'REDIRECT');
            const code = p.lastCallback().searchParams.get('code')!;
            assert.equal(await auth1(p, { serverUrl: mcp.url, scope, authorizationCode: code }), 'AUTHORIZED');
            result = await client.callTool('add_note', noted);
          } else {
            // SDK 2.x re-authorizes by itself (forceReauthorization) for the union of the scopes it
            // has and the challenge's, then needs finishAuth like any interactive authorization.
            await assert.rejects(client.callTool('add_note', noted), (err) => sdk.isUnauthorized(err));
            assert.ok(
              rec.requests.some(
                (r) => r.status === 403 && /^Bearer error="insufficient_scope"/.test(r.challenge ?? ''),
              ),
              'the example answered 403 insufficient_scope',
            );
            await sdk.finishAuth(mcp.url, p, p.lastCallback());
            result = await client.callTool('add_note', noted);
          }
          assert.match(result.content[0]?.text ?? '', /^noted \(/);
          const run = p.runs[runs]!;
          const asked = new Set(run.authorizationUrl.searchParams.get('scope')?.split(' '));
          assert.ok(asked.has(MCP_SCOPE) && asked.has(MCP_WRITE_SCOPE), `asked for the union: ${[...asked]}`);
          // The user is signed in already: the consent page, and back.
          assert.deepEqual(run.screens, ['consent', 'callback']);
          // The first consent named the MCP server by its registry name; the step-up one, the new scope.
          assert.deepEqual(p.runs[0]!.consents[0]?.resources, [mcp.url]);
          assert.deepEqual(p.runs[0]!.consents[0]?.resourceNames, ['E2E MCP server']);
          const consent = run.consents[0]!;
          assert.ok(
            consent.scopes.includes(MCP_WRITE_SCOPE),
            `the consent lists ${MCP_WRITE_SCOPE}: ${consent.scopes}`,
          );
          await t.test('the step-up consent asks only for the scope not granted yet', () =>
            assert.deepEqual(consent.scopes, [MCP_WRITE_SCOPE]),
          );
          const at = decodeJwt(String(s.read().tokens!.access_token));
          const scopes = String(at.scope).split(' ');
          assert.ok(scopes.includes(MCP_SCOPE) && scopes.includes(MCP_WRITE_SCOPE), `token scope ${at.scope}`);
          assert.equal(at.aud, mcp.url);
        } finally {
          await client.close();
        }
      }

      it('step-up on 403 insufficient_scope, for a client registered for every scope of the MCP server', (t) =>
        stepUp(t, 'stepup-preregistered', true));

      it('step-up on 403 insufficient_scope, for the client as the SDK registers it (scope of the first challenge)', (t) =>
        stepUp(t, 'stepup', false));

      /**
       * Client ID Metadata Documents: the client's document is served by this test over HTTPS (its own
       * CA), and its URL is the provider's `clientMetadataUrl`, which the SDKs take as the client_id
       * instead of registering when the discovery says client_id_metadata_document_supported.
       */
      describe('a client known by its Client ID Metadata Document', { skip: cimdSkip }, () => {
        const docPath = `/${tag}/oauth-client.json`;
        const redirect = () => cb.url(`/${tag}/cimd/callback`);
        let clientId: string;
        let cimdStore: FileTokenStore;
        const cimdProvider = (s: FileTokenStore, withBrowser: boolean) =>
          new TestOAuthProvider({
            store: s,
            redirectUrl: redirect(),
            clientName: `E2E ${tag} CIMD agent (ignored: the document names the client)`,
            clientMetadataUrl: clientId,
            ...(withBrowser ? { user } : {}),
          });

        before(() => {
          clientId = docs.serve(docPath, {
            client_name: `E2E ${tag} CIMD agent`,
            client_uri: 'https://agent.example.com/',
            redirect_uris: [redirect()],
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
            token_endpoint_auth_method: 'none',
          });
          cimdStore = new FileTokenStore(join(dir, `${tag}-cimd.json`));
        });

        it('no registration: the document URL is the client_id, the consent shows its host, tool call works', async () => {
          const p = cimdProvider(cimdStore, true);
          const rec = new RequestRecorder();
          const client = await authorizeAndConnect(p, mcp.url, rec.fetch);
          try {
            const who = whoami(await client.callTool('whoami'));
            assert.equal(who.client_id, clientId, 'the tool saw the document URL as the client');
          } finally {
            await client.close();
          }
          // The SDK read the AS metadata and went to the token endpoint through the recorded fetch,
          // and never to the registration endpoint.
          assert.ok(
            rec.requests.some((r) => r.url.pathname === '/.well-known/oauth-authorization-server'),
            'the recorder saw the discovery',
          );
          assert.ok(
            rec.requests.some((r) => r.method === 'POST' && r.url.origin === new URL(tessera.issuer).origin),
            'the recorder saw the token request',
          );
          assert.deepEqual(registrations(rec), [], 'no request reached the registration endpoint');
          const stored = cimdStore.read();
          assert.equal(stored.client?.client_id, clientId, 'the SDK took the document URL as its client_id');

          // Through Tessera's pages: the consent names the client as its document does, and says who
          // vouches for it (the document's host), that the user has not allowed it before, and that it
          // returns to the user's own device.
          const run = p.runs[0]!;
          assert.equal(run.screens.at(-1), 'callback');
          assert.equal(run.authorizationUrl.searchParams.get('client_id'), clientId);
          assert.equal(run.authorizationUrl.searchParams.get('code_challenge_method'), 'S256');
          assert.equal(run.authorizationUrl.searchParams.get('resource'), mcp.url);
          assert.equal(run.authorizationUrl.searchParams.get('redirect_uri'), redirect());
          assert.equal(run.callback.searchParams.get('iss'), tessera.issuer);
          assert.equal(run.consents.length, 1);
          const consent = run.consents[0]!;
          assert.match(consent.lead, new RegExp(`E2E ${tag} CIMD agent`));
          assert.ok(!consent.lead.includes('ignored'), 'the name comes from the document, not the SDK');
          assert.ok(consent.scopes.includes(MCP_SCOPE), `the consent lists ${MCP_SCOPE}: ${consent.scopes}`);
          assert.deepEqual(consent.resourceNames, ['E2E MCP server']);
          const about = consent.about ?? '';
          assert.ok(about.includes(`identified by ${new URL(clientId).host}`), `the client_id host: ${about}`);
          assert.match(about, /You have not allowed this application before/);
          assert.ok(about.includes(`sent to ${new URL(redirect()).host}`), `the redirect host: ${about}`);
          assert.match(about, /Any program on your device could claim to be it/);

          // The token is for this MCP server only, for the client the document URL names.
          const at = decodeJwt(String(stored.tokens?.access_token));
          assert.equal(at.aud, mcp.url);
          assert.equal(at.client_id, clientId);
          assert.ok(String(at.scope).split(' ').includes(MCP_SCOPE), `token scope ${at.scope}`);
          assert.equal(typeof stored.tokens?.refresh_token, 'string', 'a public CIMD client gets a refresh token');
        });

        it('refreshes when the MCP server answers 401 invalid_token, with no registration and no browser', async () => {
          const before = cimdStore.read().tokens!;
          await clock.expire(String(before.access_token));
          const rec = new RequestRecorder();
          const p = cimdProvider(new FileTokenStore(cimdStore.path), false);
          const client = await sdk.connect(mcp.url, p, rec.fetch);
          try {
            assert.equal(whoami(await client.callTool('whoami')).client_id, clientId);
          } finally {
            await client.close();
          }
          assert.ok(
            rec.requests.some(
              (r) => r.url.href === mcp.url && r.status === 401 && /invalid_token/.test(r.challenge ?? ''),
            ),
            'the MCP server refused the expired token',
          );
          assert.deepEqual(registrations(rec), [], 'no request reached the registration endpoint');
          assert.equal(p.runs.length, 0, 'no browser step');
          const now = cimdStore.read().tokens!;
          assert.notEqual(now.access_token, before.access_token, 'a new access token');
          assert.notEqual(now.refresh_token, before.refresh_token, 'the refresh token was rotated');
          const at = decodeJwt(String(now.access_token));
          assert.equal(at.client_id, clientId);
          assert.equal(at.aud, mcp.url);
          // Authorization, consent, code and refresh: Tessera fetched the document once and kept it
          // for its max-age (10 minutes).
          assert.equal(docs.fetches(docPath), 1, `the document was fetched ${docs.fetches(docPath)} times`);
        });
      });
    });
  }
});
