// Resource servers (the RFC 8707 registry) and their scopes: list, create, read, update (PATCH
// with If-Match), delete; validated by admin/resources.ts as the bootstrap file's `resources:` is.
import { z } from 'zod';
import type { ResourceServerRecord } from '../../ports/resource-servers.ts';
import { canonicalResource } from '../../protocol/resources.ts';
import { defineAction, etagOf, requireMatch } from '../action.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { listAction, pageOfAll } from '../list.ts';
import {
  deleteResourceServer,
  describeResourceServer,
  findResourceServer,
  saveResourceServer,
  type ResourceInput,
} from '../resources.ts';

// A scope's description: English text, or the text per language (issue 18: the consent page shows the
// one of its language, else the English).
const description = z.union([
  z.string().max(300),
  z
    .object({ en: z.string().max(300), de: z.string().max(300).optional(), fr: z.string().max(300).optional() })
    .strict(),
]);
const scopeValue = z.union([description, z.object({ description, parent: z.string().max(128).optional() }).strict()]);
const resourceFields = {
  display_name: z.string().max(200),
  scopes: z.record(z.string().max(128), scopeValue),
  access_token_ttl: z.number().int().nullable(),
  signing_alg: z.string().max(20).nullable(),
  dpop: z.enum(['required', 'optional']),
};
const identifier = z.string().min(1).max(2048);

async function storedResource(
  stores: Parameters<typeof findResourceServer>[0],
  id: string,
): Promise<ResourceServerRecord> {
  const r = await findResourceServer(stores, id);
  if (!r) throw new NotFoundError(`no resource ${id}`);
  return r;
}

/** A stored resource server as the input that would store it again. */
function inputOf(r: ResourceServerRecord): ResourceInput {
  const { created_at: _, updated_at: __, ...input } = describeResourceServer(r);
  return input as unknown as ResourceInput;
}

export const resourceActions = [
  listAction({
    name: 'resources.list',
    summary: 'The resource servers of the registry by identifier; search matches the identifier or display name.',
    permission: 'admin:resources:read',
    event: 'admin_resources_listed',
    path: '/resources',
    page: async (ctx, q) =>
      pageOfAll(
        await ctx.stores.resourceServers.list(),
        (r) => r.identifier,
        (r) => [r.identifier, r.displayName],
        q,
      ),
    describe: describeResourceServer,
  }),
  defineAction({
    name: 'resources.create',
    summary: 'Adds a resource server (an RFC 8707 resource: the audience of its tokens) with its scopes.',
    permission: 'admin:resources:write',
    event: 'resource_created',
    input: z
      .object({
        identifier,
        ...resourceFields,
        scopes: resourceFields.scopes.optional(),
        access_token_ttl: resourceFields.access_token_ttl.optional(),
        signing_alg: resourceFields.signing_alg.optional(),
        dpop: resourceFields.dpop.optional(),
      })
      .strict(),
    http: { method: 'POST', path: '/resources', status: 201 },
    async run(ctx, input) {
      if (await findResourceServer(ctx.stores, input.identifier)) {
        const c = canonicalResource(input.identifier);
        throw new ConflictError(`resource ${'canonical' in c ? c.canonical : input.identifier} exists already`);
      }
      const { resource } = await saveResourceServer(ctx.stores, ctx.p.config, input as ResourceInput, ctx.now);
      const after = describeResourceServer(resource);
      return { result: after, after, etag: etagOf(after), details: { identifier: resource.identifier } };
    },
  }),
  defineAction({
    name: 'resources.read',
    summary: 'One resource server (the identifier URL-encoded in the path); the ETag is its version for If-Match.',
    permission: 'admin:resources:read',
    event: 'admin_resource_read',
    input: z.object({ identifier }).strict(),
    http: { method: 'GET', path: '/resources/{identifier}' },
    async run(ctx, input) {
      const shown = describeResourceServer(await storedResource(ctx.stores, input.identifier));
      return { result: shown, etag: etagOf(shown), details: { identifier: String(shown.identifier) } };
    },
  }),
  defineAction({
    name: 'resources.update',
    summary:
      'Changes some of a resource server’s settings (the others stay; `scopes` replaces the whole set). If-Match: the ETag of the version read.',
    permission: 'admin:resources:write',
    event: 'resource_updated',
    input: z
      .object({
        identifier,
        display_name: resourceFields.display_name.optional(),
        scopes: resourceFields.scopes.optional(),
        access_token_ttl: resourceFields.access_token_ttl.optional(),
        signing_alg: resourceFields.signing_alg.optional(),
        dpop: resourceFields.dpop.optional(),
      })
      .strict(),
    http: { method: 'PATCH', path: '/resources/{identifier}' },
    async run(ctx, input) {
      const current = await storedResource(ctx.stores, input.identifier);
      const before = describeResourceServer(current);
      requireMatch(ctx, before);
      const { identifier: _, ...patch } = input;
      const merged = { ...inputOf(current), ...patch, identifier: current.identifier } as ResourceInput;
      const { resource, changed } = await saveResourceServer(ctx.stores, ctx.p.config, merged, ctx.now);
      const after = describeResourceServer(resource);
      return {
        result: after,
        before,
        after,
        etag: etagOf(after),
        details: { identifier: resource.identifier, changed },
      };
    },
  }),
  defineAction({
    name: 'resources.delete',
    summary: 'Removes a resource server from the registry: no new token is issued for it (tokens issued run out).',
    permission: 'admin:resources:write',
    event: 'resource_deleted',
    recentAuth: true,
    input: z.object({ identifier }).strict(),
    http: { method: 'DELETE', path: '/resources/{identifier}', status: 204 },
    async run(ctx, input) {
      const current = await storedResource(ctx.stores, input.identifier);
      const before = describeResourceServer(current);
      requireMatch(ctx, before);
      const deleted = await deleteResourceServer(ctx.stores, current.identifier);
      ctx.after(() => ctx.p.claimMappings.forget()); // its claim mappings went with it
      return { result: undefined, before, details: { identifier: deleted } };
    },
  }),
];
