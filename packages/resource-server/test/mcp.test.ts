/**
 * The MCP SDKs with the resource-server SDK, against a real Tessera: the example server (SDK 1.x,
 * Streamable HTTP, Express adapter) called by the SDK 1.x client with Bearer and DPoP-bound tokens
 * and refused a tool that needs the write scope (step-up); the 1.x SDK's own requireBearerAuth and
 * mcpAuthMetadataRouter with our verifier; the 2.x server's createMcpHandler behind our fetch gate,
 * its requireBearerAuth with our verifier and its per-tool scope challenge, called by the 2.x client.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { mcpAuthMetadataRouter } from '@modelcontextprotocol/sdk/server/auth/router.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import * as v2 from '@modelcontextprotocol/server';
import express from 'express';
import * as z from 'zod';
import type { RunningServer } from '../../../test/fixtures/server.ts';
import { startExampleServer, type ExampleServer } from '../examples/mcp-server.ts';
import * as mcpV1 from '../src/adapters/mcp-sdk-v1.ts';
import * as mcpV2 from '../src/adapters/mcp-sdk-v2.ts';
import { createResourceServer } from '../src/index.ts';
import { dpopKey, proof, startTessera, type DpopKey } from './support.ts';

const SCOPES = 'notes:read notes:write';

let tessera: RunningServer;
before(async () => {
  tessera = await startTessera({ TESSERA_EXTRA_SCOPES: `api:read api:write ${SCOPES}` }, [
    {
      client_id: 'agent',
      client_secret: 'agent-secret-0123456789-abcdefghijklmn',
      grant_types: ['client_credentials'],
      scope: SCOPES,
      redirect_uris: [],
    },
  ]);
});
after(async () => {
  await tessera?.stop();
});

/** A client_credentials token of `agent` for `resource`. */
async function agentToken(resource: string, scope: string, key?: DpopKey): Promise<string> {
  const headers: Record<string, string> = {
    authorization: `Basic ${Buffer.from('agent:agent-secret-0123456789-abcdefghijklmn').toString('base64')}`,
    'content-type': 'application/x-www-form-urlencoded',
  };
  if (key) headers.dpop = await proof(key, 'POST', `${tessera.issuer}/token`);
  const res = await fetch(`${tessera.issuer}/token`, {
    method: 'POST',
    headers,
    body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope }),
  });
  const json = (await res.json()) as { access_token: string };
  assert.equal(res.status, 200, JSON.stringify(json));
  return json.access_token;
}

function text(result: unknown): string {
  return (result as { content: { text: string }[] }).content[0]!.text;
}

describe('the example MCP server (SDK 1.x, Express adapter)', () => {
  let server: ExampleServer;
  before(async () => {
    server = await startExampleServer({ issuer: tessera.issuer, port: 0 });
  });
  after(async () => {
    await server?.close();
  });

  async function connect(init: { token?: string; fetch?: typeof fetch }) {
    const client = new Client({ name: 'test', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(server.url), {
      requestInit: init.token ? { headers: { authorization: `Bearer ${init.token}` } } : undefined,
      fetch: init.fetch,
    });
    await client.connect(transport);
    return client;
  }

  it('challenges a call without a token with its metadata, which names Tessera', async () => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(res.status, 401);
    const challenge = res.headers.get('www-authenticate')!;
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)![1]!;
    assert.equal(metadataUrl, server.rs.metadataUrl);
    const doc = (await (await fetch(metadataUrl)).json()) as Record<string, unknown>;
    assert.equal(doc.resource, server.url);
    assert.deepEqual(doc.authorization_servers, [tessera.issuer]);
    assert.deepEqual(doc.scopes_supported, ['notes:read', 'notes:write']);
    await assert.rejects(connect({}));
    // Browser-based clients: the challenge is readable cross-origin, and the preflight allows the headers they send.
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(res.headers.get('access-control-expose-headers')!, /www-authenticate/);
    const preflight = await fetch(server.url, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, dpop',
      },
    });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers.get('access-control-allow-headers')!, /authorization.*dpop/);
  });

  it('lets the 1.x client call whoami with the read scope, and refuses add_note with 403 naming both scopes', async () => {
    const read = await agentToken(server.url, 'notes:read');
    const client = await connect({ token: read });
    const tools = await client.listTools();
    assert.deepEqual(tools.tools.map((t) => t.name).sort(), ['add_note', 'whoami']);
    const who = JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} })));
    assert.deepEqual(who, { client_id: 'agent', sub: 'agent', scopes: ['notes:read'] });
    await assert.rejects(client.callTool({ name: 'add_note', arguments: { text: 'hi' } }), /insufficient_scope/);
    await client.close();

    const res = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${read}`,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'add_note', arguments: {} },
      }),
    });
    assert.equal(res.status, 403);
    const challenge = res.headers.get('www-authenticate')!;
    assert.match(challenge, /^Bearer error="insufficient_scope"/);
    assert.ok(challenge.includes('scope="notes:read notes:write"'), challenge);

    // Step-up: a token with both scopes.
    const both = await connect({ token: await agentToken(server.url, SCOPES) });
    assert.match(text(await both.callTool({ name: 'add_note', arguments: { text: 'hi' } })), /^noted/);
    await both.close();
  });

  it('takes DPoP-bound tokens from a 1.x client whose fetch adds a proof to each request', async () => {
    const key = await dpopKey();
    const token = await agentToken(server.url, SCOPES, key);
    const dpopFetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = String(input instanceof Request ? input.url : input);
      const method = init?.method ?? 'GET';
      const headers = new Headers(init?.headers);
      headers.set('authorization', `DPoP ${token}`);
      headers.set('dpop', await proof(key, method, url, token));
      return fetch(input, { ...init, headers });
    }) as typeof fetch;
    const client = await connect({ fetch: dpopFetch });
    const who = JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} })));
    assert.equal(who.client_id, 'agent');
    await client.close();
    // The same token as a Bearer token is refused (RFC 9449 section 7.2).
    await assert.rejects(connect({ token }));
  });

  it('refuses a token for another resource', async () => {
    const other = await agentToken('https://elsewhere.example/mcp', 'notes:read');
    await assert.rejects(connect({ token: other }), /invalid_token/);
  });
});

describe("the 1.x SDK's own requireBearerAuth and mcpAuthMetadataRouter with our verifier", () => {
  let url: string;
  let close: () => Promise<void>;
  before(async () => {
    const app = express();
    const listening = await new Promise<import('node:http').Server>((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    url = `http://127.0.0.1:${(listening.address() as AddressInfo).port}/mcp`;
    const rs = createResourceServer({ issuer: tessera.issuer, resource: url, scopesSupported: ['notes:read'] });
    app.use(mcpAuthMetadataRouter(await mcpV1.metadataRouterOptions(rs)));
    app.post(
      '/mcp',
      express.json(),
      requireBearerAuth({
        verifier: mcpV1.tokenVerifier(rs),
        requiredScopes: ['notes:read'],
        resourceMetadataUrl: rs.metadataUrl,
        expectedResource: new URL(url),
      }),
      async (req, res) => {
        const mcp = new McpServer({ name: 'v1', version: '1.0.0' });
        mcp.registerTool('client', { description: 'the client id' }, async (extra) => ({
          content: [{ type: 'text', text: extra.authInfo?.clientId ?? '' }],
        }));
        const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
        res.on('close', () => void transport.close());
        await mcp.connect(transport);
        await transport.handleRequest(req, res, req.body);
      },
    );
    close = () => new Promise<void>((r) => listening.close(() => r()));
  });
  after(async () => {
    await close?.();
  });

  it('serves the metadata, accepts a token for the resource and refuses the rest', async () => {
    const doc = (await (await fetch(new URL('/.well-known/oauth-protected-resource/mcp', url))).json()) as Record<
      string,
      unknown
    >;
    assert.equal(doc.resource, url);
    assert.deepEqual(doc.authorization_servers, [tessera.issuer]);

    const client = new Client({ name: 'test', version: '1.0.0' });
    const good = await agentToken(url, 'notes:read');
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { authorization: `Bearer ${good}` } },
      }),
    );
    assert.equal(text(await client.callTool({ name: 'client', arguments: {} })), 'agent');
    await client.close();

    const call = (authorization: string) =>
      fetch(url, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
    const wrongScope = await call(`Bearer ${await agentToken(url, 'notes:write')}`);
    assert.equal(wrongScope.status, 403);
    const other = await call(`Bearer ${await agentToken('https://elsewhere.example/mcp', 'notes:read')}`);
    assert.equal(other.status, 401);
    assert.ok(other.headers.get('www-authenticate')!.includes('resource_metadata='));
    const key = await dpopKey();
    const bound = await call(`Bearer ${await agentToken(url, 'notes:read', key)}`);
    assert.equal(bound.status, 401, 'a DPoP-bound token is not a Bearer token');
    assert.equal((await call('Bearer not.a.token')).status, 401);
  });
});

describe('the 2.x server (createMcpHandler) behind our fetch gate, and its requireBearerAuth with our verifier', () => {
  let url: string;
  let close: () => Promise<void>;
  before(async () => {
    let handlerFetch: (request: Request) => Promise<Response> = async () => new Response(null, { status: 503 });
    const server = await new Promise<ReturnType<typeof serve>>((r) => {
      const s = serve({ fetch: (request: Request) => handlerFetch(request), port: 0, hostname: '127.0.0.1' }, () =>
        r(s),
      );
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
    const rs = createResourceServer({ issuer: tessera.issuer, resource: url, requiredScopes: ['notes:read'] });
    const factory = () => {
      const mcp = new v2.McpServer({ name: 'v2', version: '1.0.0' });
      mcp.registerTool('whoami', { description: 'the client id' }, async (ctx) => ({
        content: [{ type: 'text', text: ctx.http?.authInfo?.clientId ?? '' }],
      }));
      mcp.registerTool(
        'add_note',
        {
          description: 'needs notes:write',
          inputSchema: z.object({ text: z.string() }),
          scopeChallenge: v2.requireScopes('notes:read', 'notes:write'),
        },
        async () => ({ content: [{ type: 'text', text: 'noted' }] }),
      );
      return mcp;
    };
    const handler = v2.createMcpHandler(factory);
    const gate = mcpV2.fetchGate(rs);
    const sdkGate = v2.requireBearerAuth({
      verifier: mcpV2.tokenVerifier(rs),
      resourceMetadataUrl: rs.metadataUrl,
      expectedResource: new URL(url),
    });
    handlerFetch = async (request) => {
      const meta = mcpV2.metadataResponse(rs, request);
      if (meta) return meta;
      // /mcp: our gate (DPoP too); /sdk-gate/mcp: the SDK's own bearer gate with our verifier.
      const viaSdk = new URL(request.url).pathname.startsWith('/sdk-gate');
      const auth = viaSdk ? await sdkGate(request) : await gate(request);
      if (auth instanceof Response) return auth;
      return handler.fetch(request, { authInfo: auth });
    };
    close = () => new Promise<void>((r) => server.close(() => r()));
  });
  after(async () => {
    await close?.();
  });

  it('lets the 2.x client call a tool, and the per-tool scope challenge names our metadata', async () => {
    const token = await agentToken(url, 'notes:read');
    const client = new ClientV2({ name: 'test', version: '1.0.0' });
    await client.connect(new TransportV2(new URL(url), { authProvider: { token: async () => token } }));
    assert.equal(text(await client.callTool({ name: 'whoami', arguments: {} })), 'agent');
    await client.close();

    const res = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'add_note', arguments: { text: 'x' } },
      }),
    });
    assert.equal(res.status, 403);
    const challenge = res.headers.get('www-authenticate')!;
    assert.ok(challenge.includes('insufficient_scope'), challenge);
    assert.ok(
      challenge.includes(`resource_metadata="${new URL('/.well-known/oauth-protected-resource/mcp', url).href}"`),
      challenge,
    );
  });

  it('refuses without a token (401 and challenge) and takes DPoP-bound tokens through our gate', async () => {
    const bare = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(bare.status, 401);
    assert.ok(bare.headers.get('www-authenticate')!.includes('resource_metadata='));
    const key = await dpopKey();
    const token = await agentToken(url, 'notes:read', key);
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'whoami', arguments: {} },
    });
    const headers = async () => ({
      authorization: `DPoP ${token}`,
      dpop: await proof(key, 'POST', url, token),
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-06-18',
    });
    const res = await fetch(url, { method: 'POST', headers: await headers(), body });
    assert.equal(res.status, 200, await res.clone().text());
    assert.ok((await res.text()).includes('agent'));
  });

  it("the SDK's own gate with our verifier: accepts a Bearer token, refuses another resource's", async () => {
    const sdkUrl = url.replace('/mcp', '/sdk-gate/mcp');
    const good = await agentToken(url, 'notes:read');
    const client = new ClientV2({ name: 'test', version: '1.0.0' });
    await client.connect(new TransportV2(new URL(sdkUrl), { authProvider: { token: async () => good } }));
    assert.equal(text(await client.callTool({ name: 'whoami', arguments: {} })), 'agent');
    await client.close();
    const other = await agentToken('https://elsewhere.example/mcp', 'notes:read');
    const res = await fetch(sdkUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${other}`, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(res.status, 401);
  });
});
