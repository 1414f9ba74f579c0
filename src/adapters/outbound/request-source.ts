// The address of the request being served, for the per-source budget of Client ID Metadata
// Document fetches (protocol/clients/metadata-document.ts): the composition root runs each request
// step in `withSource` (http/pipeline.ts RequestScope), and the fetcher reads `currentSource`.
import { AsyncLocalStorage } from 'node:async_hooks';

const sources = new AsyncLocalStorage<string>();

/** Runs `fn` as the work of a request from `ip` (as Fastify's request.ip has it: trusted proxies honoured). */
export function withSource<T>(ip: string | undefined, fn: () => T): T {
  return ip === undefined ? fn() : sources.run(ip, fn);
}

/** The address of the request whose work is running, if any. */
export function currentSource(): string | undefined {
  return sources.getStore();
}
