// Upstream identity providers (issue 17): list, read, add or replace (PUT, If-Match), remove,
// enable, disable; validated by admin/upstreams.ts as the bootstrap file's `upstreams:` is. A
// secret or key given here is wrapped under the key-encryption key inside the transaction (local
// cryptography only; saving a provider fetches nothing). The API never reads the server's
// environment: client_secret_env and private_key_env are the bootstrap file's and the CLI's, since
// a provider pointed at a token endpoint of the caller's choosing would carry any variable there.
import { z } from 'zod';
import type { UpstreamProvider } from '../../ports/upstreams.ts';
import { defineAction, etagOf, requireMatch, type ActionContext } from '../action.ts';
import { NotFoundError } from '../errors.ts';
import { listAction, pageOfAll } from '../list.ts';
import {
  deleteUpstream,
  describeUpstream,
  saveUpstream,
  setUpstreamEnabled,
  type UpstreamDeps,
  type UpstreamInput,
} from '../upstreams.ts';

const str = (max = 2048) => z.string().max(max).optional();
const strs = () => z.array(z.string().max(253)).max(50).optional();
const upstreamFields = {
  preset: str(32),
  kind: z.enum(['oidc', 'oauth2']).optional(),
  label: str(64),
  order: z.number().int().optional(),
  enabled: z.boolean().optional(),
  base_url: str(),
  api_base_url: str(),
  tenant: str(64),
  issuer: str(),
  discovery_url: str(),
  authorization_endpoint: str(),
  token_endpoint: str(),
  userinfo_endpoint: str(),
  jwks_uri: str(),
  emails_endpoint: str(),
  client_id: z.string().max(255),
  client_auth: z.enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']).optional(),
  client_secret: str(4096),
  private_key: str(16_384),
  apple_key_id: str(10),
  apple_team_id: str(10),
  scopes: z.union([z.array(z.string().max(128)).max(50), z.string().max(4000)]).optional(),
  response_mode: z.enum(['query', 'form_post']).optional(),
  claims: z.record(z.string(), z.string().max(256)).optional(),
  allowed_domains: strs(),
  allowed_tenants: strs(),
  create_users: z.boolean().optional(),
  auto_link_domains: strs(),
  trust_amr: z.boolean().optional(),
  acr_map: z.record(z.string().max(256), z.string().max(100)).optional(),
  home_realm_domains: strs(),
  private_network: z.boolean().optional(),
};
const id = z.string().min(1).max(64);

/** What admin/upstreams.ts uses, over the action's transaction; its events are the action's own record. */
const deps = (ctx: ActionContext): UpstreamDeps => ({
  stores: ctx.stores,
  config: ctx.p.config,
  now: () => ctx.now,
  env: {},
});

async function stored(ctx: ActionContext, providerId: string): Promise<UpstreamProvider> {
  const p = await ctx.stores.upstreams.get(providerId);
  if (!p) throw new NotFoundError(`no upstream ${providerId}`);
  return p;
}

export const upstreamActions = [
  listAction({
    name: 'upstreams.list',
    summary: 'The upstream identity providers (never their secrets), by id; search matches id, label or issuer.',
    permission: 'admin:upstreams:read',
    event: 'admin_upstreams_listed',
    path: '/upstreams',
    page: async (ctx, q) =>
      pageOfAll(
        await ctx.stores.upstreams.list(),
        (p) => p.id,
        (p) => [p.id, p.label, p.issuer],
        q,
      ),
    describe: describeUpstream,
  }),
  defineAction({
    name: 'upstreams.read',
    summary: 'One upstream provider (its secret only as stored or not); the ETag is its version for If-Match.',
    permission: 'admin:upstreams:read',
    event: 'admin_upstream_read',
    input: z.object({ id }).strict(),
    http: { method: 'GET', path: '/upstreams/{id}' },
    async run(ctx, input) {
      const shown = describeUpstream(await stored(ctx, input.id));
      return { result: shown, etag: etagOf(shown), details: { provider: input.id } };
    },
  }),
  defineAction({
    name: 'upstreams.put',
    summary:
      'Adds a provider or replaces it whole (a preset fills in what is left out; a secret left out is kept). If-Match: the ETag of the version read.',
    permission: 'admin:upstreams:write',
    event: 'upstream_saved',
    recentAuth: true,
    input: z.object({ id, ...upstreamFields }).strict(),
    http: { method: 'PUT', path: '/upstreams/{id}' },
    async run(ctx, input) {
      const existing = await ctx.stores.upstreams.get(input.id);
      const before = existing ? describeUpstream(existing) : undefined;
      if (before) requireMatch(ctx, before);
      else if (ctx.ifMatch !== undefined && ctx.ifMatch !== '*') requireMatch(ctx, null);
      const r = await saveUpstream(deps(ctx), input as UpstreamInput, 'admin');
      const after = describeUpstream(r.provider);
      return {
        result: after,
        before,
        after,
        etag: etagOf(after),
        status: r.created ? 201 : 200,
        details: { provider: input.id, created: r.created, changed: r.changed },
      };
    },
  }),
  defineAction({
    name: 'upstreams.remove',
    summary:
      'Removes a provider and every identity linked through it (users stay; sessions signed in through it run until they end).',
    permission: 'admin:upstreams:write',
    event: 'upstream_deleted',
    recentAuth: true,
    input: z.object({ id }).strict(),
    http: { method: 'DELETE', path: '/upstreams/{id}', status: 204 },
    async run(ctx, input) {
      const before = describeUpstream(await stored(ctx, input.id));
      requireMatch(ctx, before);
      await deleteUpstream(deps(ctx), input.id, 'admin');
      return { result: undefined, before, details: { provider: input.id } };
    },
  }),
  ...(['enable', 'disable'] as const).map((verb) =>
    defineAction({
      name: `upstreams.${verb}`,
      summary:
        verb === 'enable'
          ? 'Puts a provider back in service: its button is on the login page again.'
          : 'Takes a provider out of service: its button goes, its callbacks are refused; its identities stay linked.',
      permission: 'admin:upstreams:write',
      event: 'upstream_saved',
      input: z.object({ id }).strict(),
      http: { method: 'POST', path: `/upstreams/{id}/${verb}` },
      async run(ctx, input) {
        const before = describeUpstream(await stored(ctx, input.id));
        const changed = await setUpstreamEnabled(deps(ctx), input.id, verb === 'enable');
        const after = describeUpstream(await stored(ctx, input.id));
        return {
          result: after,
          before,
          after,
          etag: etagOf(after),
          details: { provider: input.id, enabled: verb === 'enable', changed },
        };
      },
    }),
  ),
];
