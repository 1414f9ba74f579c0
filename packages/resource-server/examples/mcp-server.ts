// An MCP server protected by Tessera: the MCP TypeScript SDK 1.x over Streamable HTTP (stateless),
// behind @tessera/resource-server's Express adapter. Two tools: `whoami` needs the base scope,
// `add_note` needs the write scope too, so a client holding only the base scope gets 403
// insufficient_scope naming both and can step up. Serves its RFC 9728 metadata document.
//
// Run it against a local Tessera (see the package README):
//   TESSERA_ISSUER=http://localhost:4000 MCP_RESOURCE=http://localhost:3001/mcp \
//     node packages/resource-server/examples/mcp-server.ts
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import express, { type Request } from 'express';
import { z } from 'zod';
import { metadataRouter, requireToken } from '../src/adapters/express.ts';
import type { FetchLike } from '../src/authorization-server.ts';
import { createResourceServer, type ResourceServer, type ResourceServerOptions } from '../src/index.ts';

export interface ExampleServerOptions {
  /** Tessera's issuer URL. */
  issuer: string;
  /**
   * The MCP server's resource identifier (its public URL, e.g. http://localhost:3001/mcp). Unset: http://HOST:PORT/mcp
   * once listening (handy with port 0, for a Tessera that does not restrict resources).
   */
  resource?: string;
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Listen port (default: the resource URL's, else 0). */
  port?: number;
  /** The scope every call needs (default notes:read; '' for none). */
  readScope?: string;
  /** The scope add_note needs on top (default notes:write). */
  writeScope?: string;
  /** Extra options of the resource server (DPoP mode, introspection, the fetch for Tessera...). */
  resourceServer?: Partial<ResourceServerOptions>;
  fetch?: FetchLike;
}

export interface ExampleServer {
  /** The MCP endpoint (the resource URL). */
  url: string;
  rs: ResourceServer;
  close(): Promise<void>;
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'www-authenticate, dpop-nonce, mcp-protocol-version',
};

/** The JSON-RPC messages of a request body (one or a batch). */
function messages(body: unknown): { method?: unknown; params?: { name?: unknown } }[] {
  return (Array.isArray(body) ? body : [body]).filter((m) => m !== null && typeof m === 'object');
}

function mcpServer(writeScope: string): McpServer {
  const server = new McpServer({ name: 'tessera-example', version: '0.1.0' });
  const notes: string[] = [];
  server.registerTool(
    'whoami',
    { description: 'Who the access token says is calling, and with which scopes.' },
    async (extra) => {
      const auth = extra.authInfo;
      const who = { client_id: auth?.clientId, sub: auth?.extra?.sub, scopes: auth?.scopes };
      return { content: [{ type: 'text', text: JSON.stringify(who) }] };
    },
  );
  server.registerTool(
    'add_note',
    {
      description: `Adds a note (needs the ${writeScope} scope).`,
      inputSchema: { text: z.string().max(1000) },
    },
    async ({ text }) => {
      notes.push(text);
      return { content: [{ type: 'text', text: `noted (${notes.length} in this request)` }] };
    },
  );
  return server;
}

export async function startExampleServer(opts: ExampleServerOptions): Promise<ExampleServer> {
  const host = opts.host ?? '127.0.0.1';
  const readScope = opts.readScope ?? 'notes:read';
  const writeScope = opts.writeScope ?? 'notes:write';
  if (!writeScope) throw new Error('writeScope must name a scope');
  const port = opts.port ?? (opts.resource ? Number(new URL(opts.resource).port || 80) : 0);
  const app = express();
  app.disable('x-powered-by');
  // Routes are added once the resource URL is known (after listening, when it is derived from the port).
  const router = express.Router();
  app.use((req, res, next) => router(req, res, next));
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(port, host, () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const resource = opts.resource ?? `http://${host.includes(':') ? `[${host}]` : host}:${address.port}/mcp`;
  const rs = createResourceServer({
    issuer: opts.issuer,
    resource,
    requiredScopes: readScope ? [readScope] : [],
    scopesSupported: [readScope, writeScope].filter(Boolean),
    resourceName: 'Tessera example MCP server',
    fetch: opts.fetch,
    ...opts.resourceServer,
  });
  const path = new URL(resource).pathname;
  router.use(metadataRouter(rs));
  // CORS for browser-based MCP clients: any origin, no cookies (the token is in a header), and the challenge
  // readable by the page (WWW-Authenticate exposed) so it can find the metadata and step up.
  router.options(path, (_req, res) => {
    res
      .set({
        ...CORS,
        'access-control-allow-methods': 'POST',
        'access-control-allow-headers': 'authorization, content-type, dpop, mcp-protocol-version, last-event-id',
        'access-control-max-age': '600',
      })
      .status(204)
      .end();
  });
  router.use(path, (_req, res, next) => {
    res.set(CORS);
    next();
  });
  router.post(
    path,
    express.json({ limit: '100kb' }),
    requireToken(rs, {
      // Step-up: calling add_note needs the write scope as well.
      scopes: (req: Request) =>
        messages(req.body).some((m) => m.method === 'tools/call' && m.params?.name === 'add_note') ? [writeScope] : [],
    }),
    async (req, res) => {
      // Stateless Streamable HTTP: a fresh server and transport per request; req.auth reaches the tools as authInfo.
      const mcp = mcpServer(writeScope);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => {
        void transport.close();
        void mcp.close();
      });
      await mcp.connect(transport);
      await transport.handleRequest(req, res, req.body);
    },
  );
  // GET (a server-sent event stream) and DELETE (sessions) are not offered by a stateless server.
  router.all(path, requireToken(rs), (_req, res) => {
    res
      .set('allow', 'POST')
      .status(405)
      .json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null });
  });
  return {
    url: resource,
    rs,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

if (import.meta.main) {
  const issuer = process.env.TESSERA_ISSUER ?? 'http://localhost:4000';
  const resource = process.env.MCP_RESOURCE ?? 'http://localhost:3001/mcp';
  const started = await startExampleServer({
    issuer,
    resource,
    host: process.env.MCP_HOST ?? '127.0.0.1',
    readScope: process.env.MCP_READ_SCOPE,
    writeScope: process.env.MCP_WRITE_SCOPE,
  });
  console.log(`MCP server at ${started.url}, protected by ${issuer}`);
  console.log(`protected resource metadata: ${started.rs.metadataUrl}`);
  const stop = () => void started.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
