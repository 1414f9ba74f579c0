// The console's routes under <base>/admin. Fastify needs them before it listens; the console itself
// (console.ts: its pages, forms and the admin action table it runs, with every action's input
// schema) is loaded by the first request to one of them, as most instances are never administered
// through their console. A failed load is tried again by the next request.
import type { FastifyInstance } from 'fastify';
import type { OAuthResponse, Provider, ProtocolRequest } from '../protocol/provider.ts';
import type { Console, ConsoleIO } from './console.ts';

/**
 * Mounts the console under `<base>/admin`. Every route is a page route (its errors as error pages);
 * the admin API's routes under /admin/api/v1 are its own.
 */
export function registerConsole(app: FastifyInstance, p: Provider, basePath: string, io: ConsoleIO): void {
  let made: Promise<Console> | undefined;
  const loaded = () => {
    made ??= import('./console.ts').then(
      (m) => new m.Console(p),
      (err: unknown) => {
        made = undefined;
        throw err;
      },
    );
    return made;
  };
  const root = `${basePath}/admin`;
  const route = (
    method: 'GET' | 'POST',
    url: string,
    handler: (c: Console, req: ProtocolRequest, params: Record<string, string>) => Promise<OAuthResponse>,
  ) =>
    app.route({
      method,
      url,
      config: { kind: 'page' },
      handler: async (req, reply) => {
        const request = io.request(req);
        return io.send(reply, await handler(await loaded(), request, req.params as Record<string, string>));
      },
    });
  route('GET', root, (c, req) => c.dashboard(req));
  route('GET', `${root}/do/:action`, (c, req, x) => c.showAction(req, x.action!));
  route('POST', `${root}/do/:action`, (c, req, x) => c.submitAction(req, x.action!));
  route('GET', `${root}/:section`, (c, req, x) => c.list(req, x.section!));
  route('GET', `${root}/:section/:key`, (c, req, x) => c.record(req, x.section!, x.key!));
}
