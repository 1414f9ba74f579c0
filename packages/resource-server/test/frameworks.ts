// The same small API (GET /v1/items needs api:read, POST /v1/items needs api:write) served by each
// framework through its adapter, for tests that run one battery against all of them.
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import * as fastifyAdapter from '../src/adapters/fastify.ts';
import * as expressAdapter from '../src/adapters/express.ts';
import * as honoAdapter from '../src/adapters/hono.ts';
import type { ResourceServer } from '../src/resource-server.ts';

export interface Served {
  /** The local origin the framework listens on (http://127.0.0.1:port). */
  origin: string;
  close(): Promise<void>;
}

export type Framework = { name: string; start(rs: ResourceServer): Promise<Served> };

function body(info: { clientId: string; scopes: string[]; scheme: string; subject?: string }) {
  return { client: info.clientId, scopes: info.scopes, scheme: info.scheme, sub: info.subject };
}

export const FRAMEWORKS: Framework[] = [
  {
    name: 'fastify',
    async start(rs) {
      const app = Fastify();
      await app.register(fastifyAdapter.tesseraPlugin(rs));
      app.get('/v1/items', { preHandler: fastifyAdapter.requireToken(rs, { scopes: ['api:read'] }) }, async (req) =>
        body(req.tessera!),
      );
      app.post('/v1/items', { preHandler: fastifyAdapter.requireToken(rs, { scopes: ['api:write'] }) }, async (req) =>
        body(req.tessera!),
      );
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as AddressInfo;
      return { origin: `http://127.0.0.1:${port}`, close: () => app.close() };
    },
  },
  {
    name: 'express',
    async start(rs) {
      const app = express();
      app.use(expressAdapter.metadataRouter(rs));
      app.get('/v1/items', expressAdapter.requireToken(rs, { scopes: ['api:read'] }), (req, res) => {
        res.json(body(expressAdapter.tokenOf(req)!));
      });
      app.post('/v1/items', expressAdapter.requireToken(rs, { scopes: ['api:write'] }), (req, res) => {
        res.json(body(expressAdapter.tokenOf(req)!));
      });
      const server = await new Promise<import('node:http').Server>((resolve) => {
        const s = app.listen(0, '127.0.0.1', () => resolve(s));
      });
      const { port } = server.address() as AddressInfo;
      return {
        origin: `http://127.0.0.1:${port}`,
        close: () => new Promise<void>((r) => server.close(() => r())),
      };
    },
  },
  {
    name: 'hono',
    async start(rs) {
      const app = new Hono<{ Variables: honoAdapter.TesseraVariables }>();
      app.get(rs.metadataPath, honoAdapter.metadataHandler(rs));
      app.get('/v1/items', honoAdapter.requireToken(rs, { scopes: ['api:read'] }), (c) =>
        c.json(body(c.get('tessera'))),
      );
      app.post('/v1/items', honoAdapter.requireToken(rs, { scopes: ['api:write'] }), (c) =>
        c.json(body(c.get('tessera'))),
      );
      const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
        const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
      });
      const { port } = server.address() as AddressInfo;
      return {
        origin: `http://127.0.0.1:${port}`,
        close: () => new Promise<void>((r) => server.close(() => r())),
      };
    },
  },
];
