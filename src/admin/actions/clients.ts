// Clients: list, create, read, update (PATCH with If-Match), delete, disable/enable, rotate the
// secret with an overlap, revoke every token, approve or reject a registration (TESSERA_REGISTRATION
// =admin_approval). The rules a client must meet are the protocol's, applied by admin/clients.ts as
// for the bootstrap file and dynamic registration; the one network step (the document at a client's
// sector_identifier_uri) is fetched in `prepare`, before the transaction, and replayed inside it.
import { z } from 'zod';
import type { ClientRecord } from '../../ports/clients.ts';
import { CLIENT_AUTH_METHODS } from '../../ports/clients.ts';
import { OutboundError, type OutboundHttp } from '../../ports/outbound.ts';
import { fetchClientJson } from '../../protocol/client-auth/client-keys.ts';
import { isMetadataDocumentId } from '../../protocol/clients/metadata-document.ts';
import { isAdminScope } from '../../protocol/admin-scopes.ts';
import { randomId } from '../../protocol/hash.ts';
import {
  ActionRefused,
  defineAction,
  etagOf,
  requireMatch,
  type ActionContext,
  type ActionResult,
  type AdminDeps,
} from '../action.ts';
import {
  deleteClient,
  describeClient,
  revokeClientTokens,
  rotateSecret,
  saveClient,
  setClientDisabled,
  setMetadataDocumentBlocked,
  type ClientInput,
} from '../clients.ts';
import { AdminError, ConflictError, NotFoundError } from '../errors.ts';
import { listAction } from '../list.ts';

const text = (max = 2048) => z.string().max(max);
const list = (max = 100) => z.array(text()).max(max);

/**
 * The client metadata an operator may set (ClientInput, RFC 7591 names), as the bootstrap file takes
 * it. Types only: the rules are buildClient's. `null` removes a setting that can be left unset.
 */
const clientFields = {
  client_name: text(200).optional(),
  client_secret: text(1024).optional(),
  token_endpoint_auth_method: z.enum(CLIENT_AUTH_METHODS).optional(),
  application_type: z.enum(['web', 'native']).optional(),
  redirect_uris: list().optional(),
  post_logout_redirect_uris: list().optional(),
  grant_types: list(10).optional(),
  scope: text(4000).optional(),
  allowed_resources: list().optional(),
  skip_consent: z.boolean().optional(),
  disabled: z.boolean().optional(),
  fapi_profile: z.literal('2.0').nullable().optional(),
  authorization_details_types: list().nullable().optional(),
  dpop_bound_access_tokens: z.boolean().optional(),
  require_pushed_authorization_requests: z.boolean().optional(),
  jwks: z
    .object({ keys: z.array(z.record(z.string(), z.unknown())).max(100) })
    .nullable()
    .optional(),
  jwks_uri: text().nullable().optional(),
  token_endpoint_auth_signing_alg: text(20).nullable().optional(),
  request_object_signing_alg: text(20).nullable().optional(),
  require_signed_request_object: z.boolean().nullable().optional(),
  authorization_signed_response_alg: text(20).nullable().optional(),
  token_exchange: z.record(z.string(), z.unknown()).optional(),
  fapi_message_signing: z.boolean().optional(),
  tls_client_auth_subject_dn: text().nullable().optional(),
  tls_client_auth_san_dns: text().nullable().optional(),
  tls_client_auth_san_uri: text().nullable().optional(),
  tls_client_auth_san_ip: text().nullable().optional(),
  tls_client_auth_san_email: text().nullable().optional(),
  tls_client_certificate_bound_access_tokens: z.boolean().optional(),
  subject_type: z.enum(['public', 'pairwise']).nullable().optional(),
  sector_identifier_uri: text().nullable().optional(),
  resource_scopes: z.record(z.string(), list()).nullable().optional(),
  backchannel_logout_uri: text().nullable().optional(),
  backchannel_logout_session_required: z.boolean().nullable().optional(),
  frontchannel_logout_uri: text().nullable().optional(),
  frontchannel_logout_session_required: z.boolean().nullable().optional(),
  pkce_required: z.boolean().nullable().optional(),
  id_token_signed_response_alg: text(20).nullable().optional(),
  userinfo_signed_response_alg: text(20).nullable().optional(),
  introspection_signed_response_alg: text(20).nullable().optional(),
  id_token_scope_claims: z.boolean().nullable().optional(),
  mfa: z.enum(['off', 'optional', 'required', 'phishing-resistant']).nullable().optional(),
  /** RFC 7591 section 2, shown on the consent page: https URLs (the logo is fetched once and served by Tessera). */
  logo_uri: text().nullable().optional(),
  client_uri: text().nullable().optional(),
  policy_uri: text().nullable().optional(),
  tos_uri: text().nullable().optional(),
  /** An admin client may be issued admin tokens (client_credentials, the admin audience; docs/admin.md). */
  admin_client: z.boolean().optional(),
};

/** Keys whose removal buildClient reads as "present, undefined" (null is kept for the others, which take it). */
const REMOVED_AS_UNDEFINED = new Set([
  'jwks',
  'jwks_uri',
  'token_endpoint_auth_signing_alg',
  'request_object_signing_alg',
  'require_signed_request_object',
  'subject_type',
  'sector_identifier_uri',
  'tls_client_auth_subject_dn',
  'tls_client_auth_san_dns',
  'tls_client_auth_san_uri',
  'tls_client_auth_san_ip',
  'tls_client_auth_san_email',
]);

/** The input buildClient takes: `null` turned into the removal each key understands. */
function clientInput(clientId: string, fields: Record<string, unknown>): ClientInput {
  const input: Record<string, unknown> = { client_id: clientId };
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined || k === 'client_id') continue;
    input[k] = v === null && REMOVED_AS_UNDEFINED.has(k) ? undefined : v;
  }
  return input as unknown as ClientInput;
}

const clientId = z.string().min(1).max(2048);

/** What `prepare` fetched: the answers of GET requests by URL (a body, or the error thrown). */
type Fetched = Map<string, { body: unknown } | { error: unknown }>;

/**
 * Fetches the sector_identifier_uri document the saved client will name, if any, before the
 * transaction: storeClient then reads it from `replayOutbound`, never from the network.
 */
async function prefetchSector(p: AdminDeps, uri: unknown): Promise<Fetched> {
  const fetched: Fetched = new Map();
  if (typeof uri !== 'string' || uri.length > 2048) return fetched;
  const recording: OutboundHttp = {
    ...p.outbound,
    getJson: (u, request) =>
      p.outbound.getJson(u, request).then(
        (body) => {
          fetched.set(u, { body });
          return body;
        },
        (error: unknown) => {
          fetched.set(u, { error });
          throw error;
        },
      ),
  };
  await fetchClientJson(recording, 'sector_identifier_uri', uri, p.config.clientJwksAllowLoopback).catch(() => {});
  return fetched;
}

/** The outbound port inside the transaction: what `prepare` fetched, and nothing else. */
function replayOutbound(fetched: unknown): OutboundHttp {
  const answers = fetched instanceof Map ? (fetched as Fetched) : new Map();
  const refuse = () => Promise.reject(new OutboundError('failed', 'no network inside an admin transaction'));
  return {
    getJson: (uri: string) => {
      const a = answers.get(uri);
      if (!a) return refuse();
      return 'body' in a ? Promise.resolve(a.body) : Promise.reject(a.error);
    },
    getJsonDocument: refuse,
    postForm: refuse,
    post: refuse,
    fetch: refuse,
  } as unknown as OutboundHttp;
}

async function storedClient(stores: AdminDeps['stores'], id: string): Promise<ClientRecord> {
  // Never resolved here: that would fetch its document while the transaction is open.
  if (isMetadataDocumentId(id))
    throw new NotFoundError(
      `${id} is a client metadata document URL: such a client is never stored (disable, enable and revoke-tokens apply to it)`,
    );
  const client = await stores.clients.get(id);
  if (!client) throw new NotFoundError(`no client ${id}`);
  return client;
}

/**
 * Refuses (403) to make, change or re-key a client that holds an admin scope the principal lacks: an
 * admin (no admin:roles:write) making an automation client with admin:roles:write, or taking over an
 * owner's one by setting or rotating its secret, would hold an owner's power through its tokens; nor
 * take it out of service (disable, delete, revoke its tokens) to keep the owner's automation out.
 */
function requireAdminScopesHeld(ctx: ActionContext, ...clients: (ClientRecord | undefined)[]): void {
  for (const c of clients) {
    const missing = (c?.scopes ?? []).filter((s) => isAdminScope(s) && !ctx.actor.scopes.has(s));
    if (c && missing.length > 0)
      throw new ActionRefused(
        403,
        'forbidden',
        `client ${c.clientId} holds ${missing.join(' ')}: making or changing it needs every admin scope it holds.`,
      );
  }
}

/** A client registered under admin_approval and not yet enabled; refused (409) when it is not one. */
async function waitingForApproval(ctx: ActionContext, id: string): Promise<ClientRecord> {
  const c = await storedClient(ctx.stores, id);
  if (c.metadata.registration?.mode !== 'admin_approval' || !c.disabled)
    throw new ConflictError(`client ${id} is not a registration waiting for approval`);
  return c;
}

export const clientActions = [
  listAction({
    name: 'clients.list',
    summary: 'The clients in client_id order, a page at a time; search matches client_id or client_name.',
    permission: 'admin:clients:read',
    event: 'admin_clients_listed',
    path: '/clients',
    page: (ctx, q) => ctx.stores.clients.page(q),
    describe: describeClient,
  }),
  defineAction({
    name: 'clients.create',
    summary:
      'Creates a client (validated as the bootstrap file and registration are); a generated secret is shown once in the answer.',
    permission: 'admin:clients:write',
    event: 'client_created',
    input: z.object({ client_id: z.string().max(255).optional(), ...clientFields }).strict(),
    http: { method: 'POST', path: '/clients', status: 201 },
    prepare: (p, input) => prefetchSector(p, input.sector_identifier_uri),
    async run(ctx, input) {
      const { client_id: given, ...fields } = input;
      const id = given ?? randomId(16);
      if (isMetadataDocumentId(id))
        throw new AdminError(`${id} is a client metadata document URL: such clients are never stored`);
      if (await ctx.stores.clients.get(id)) throw new ConflictError(`client ${id} exists already`);
      const { client, secret } = await saveClient(
        ctx.stores,
        ctx.p.config,
        clientInput(id, fields),
        ctx.now,
        {},
        replayOutbound(ctx.prepared),
      );
      requireAdminScopesHeld(ctx, client);
      const shown = describeClient(client);
      return {
        result: { ...shown, ...(secret !== undefined ? { client_secret: secret } : {}) },
        details: { client_id: id, secret_generated: secret !== undefined },
        after: shown,
        clientId: id,
        etag: etagOf(shown),
      };
    },
  }),
  defineAction({
    name: 'clients.read',
    summary: 'One client as operators see it (never its secret); the ETag is its version for If-Match.',
    permission: 'admin:clients:read',
    event: 'admin_client_read',
    input: z.object({ client_id: clientId }).strict(),
    http: { method: 'GET', path: '/clients/{client_id}' },
    async run(ctx, input) {
      const shown = describeClient(await storedClient(ctx.stores, input.client_id));
      return { result: shown, etag: etagOf(shown), clientId: input.client_id, details: { client_id: input.client_id } };
    },
  }),
  defineAction({
    name: 'clients.update',
    summary:
      'Changes some of a client’s settings (the others stay as stored; null removes one), validated as the bootstrap file is. If-Match: the ETag of the version read.',
    permission: 'admin:clients:write',
    event: 'client_updated',
    input: z.object({ client_id: clientId, ...clientFields }).strict(),
    http: { method: 'PATCH', path: '/clients/{client_id}' },
    async prepare(p, input) {
      const touches = input.sector_identifier_uri !== undefined || input.redirect_uris !== undefined;
      if (!touches || isMetadataDocumentId(input.client_id)) return new Map();
      const current = await p.stores.clients.get(input.client_id);
      // null removes it: nothing to fetch.
      if (input.sector_identifier_uri === null) return new Map();
      return prefetchSector(p, input.sector_identifier_uri ?? current?.metadata.sector_identifier_uri);
    },
    async run(ctx, input) {
      const { client_id: id, ...fields } = input;
      const current = await storedClient(ctx.stores, id);
      const before = describeClient(current);
      requireMatch(ctx, before);
      requireAdminScopesHeld(ctx, current);
      const saved = await saveClient(
        ctx.stores,
        ctx.p.config,
        clientInput(id, fields),
        ctx.now,
        {},
        replayOutbound(ctx.prepared),
      );
      requireAdminScopesHeld(ctx, saved.client);
      let client = saved.client;
      // A secret set or dropped by the change ends the overlap of the last rotation.
      if (client.metadata.client_secret_previous && client.secretHash !== current.secretHash) {
        const { client_secret_previous: _, ...metadata } = client.metadata;
        client = { ...client, metadata };
        await ctx.stores.clients.put(client);
      }
      const after = describeClient(client);
      return {
        result: { ...after, ...(saved.secret !== undefined ? { client_secret: saved.secret } : {}) },
        details: { client_id: id, changed: saved.changed, fields: Object.keys(fields).sort().join(' ') },
        before,
        after,
        clientId: id,
        etag: etagOf(after),
      };
    },
  }),
  defineAction({
    name: 'clients.delete',
    summary:
      'Deletes a client: its grants are revoked, its consents forgotten, every token it was issued refused at once.',
    permission: 'admin:clients:write',
    event: 'client_deleted',
    recentAuth: true,
    input: z.object({ client_id: clientId }).strict(),
    http: { method: 'DELETE', path: '/clients/{client_id}', status: 204 },
    async run(ctx, input) {
      const current = isMetadataDocumentId(input.client_id)
        ? undefined
        : await storedClient(ctx.stores, input.client_id);
      const before = current && describeClient(current);
      if (current) {
        requireMatch(ctx, before);
        requireAdminScopesHeld(ctx, current);
      }
      await deleteClient(ctx.stores, input.client_id, ctx.now);
      // Its claim mappings went with it: this process's copy of them is dropped.
      ctx.after(() => ctx.p.claimMappings.forget());
      return { result: undefined, before, clientId: input.client_id, details: { client_id: input.client_id } };
    },
  }),
  ...(['disable', 'enable'] as const).map((verb) =>
    defineAction({
      name: `clients.${verb}`,
      summary:
        verb === 'disable'
          ? 'Takes a client out of service: its tokens are refused at once and its grants revoked (an https client_id: its metadata document is blocked).'
          : 'Puts a client back in service (approves a client registered under admin_approval; an https client_id: lifts its block); no earlier token comes back.',
      permission: 'admin:clients:write',
      event: verb === 'disable' ? 'client_disabled' : 'client_enabled',
      input: z.object({ client_id: clientId }).strict(),
      http: { method: 'POST', path: `/clients/{client_id}/${verb}` },
      async run(ctx, input): Promise<ActionResult<Record<string, unknown>>> {
        const id = input.client_id;
        const disabled = verb === 'disable';
        if (isMetadataDocumentId(id)) {
          const r = await setMetadataDocumentBlocked(ctx.stores, id, disabled, ctx.now);
          return {
            result: { client_id: id, disabled, grants_revoked: r.revoked, changed: r.changed },
            details: { client_id: id, metadata_document: true, grants_revoked: r.revoked, changed: r.changed },
            clientId: id,
          };
        }
        const current = await storedClient(ctx.stores, id);
        requireAdminScopesHeld(ctx, current);
        const revoked = await setClientDisabled(ctx.stores, id, disabled, ctx.now);
        const after = describeClient(await storedClient(ctx.stores, id));
        return {
          result: { ...after, grants_revoked: revoked },
          details: { client_id: id, grants_revoked: revoked, changed: current.disabled !== disabled },
          before: describeClient(current),
          after,
          clientId: id,
          etag: etagOf(after),
        };
      },
    }),
  ),
  defineAction({
    name: 'clients.rotate-secret',
    summary:
      'Issues a new client secret, shown once; the previous one keeps working for `overlap` seconds (default TESSERA_CLIENT_SECRET_OVERLAP; 0: none; client_secret_jwt: always none).',
    permission: 'admin:clients:write',
    event: 'client_secret_rotated',
    recentAuth: true,
    input: z
      .object({
        client_id: clientId,
        overlap: z.coerce.number().int().min(0).max(2_592_000).optional(),
      })
      .strict(),
    http: { method: 'POST', path: '/clients/{client_id}/secret' },
    async run(ctx, input) {
      const current = await storedClient(ctx.stores, input.client_id);
      requireAdminScopesHeld(ctx, current);
      const overlap =
        input.overlap ??
        (current.tokenEndpointAuthMethod === 'client_secret_jwt' ? 0 : ctx.p.config.clientSecretOverlap);
      const r = await rotateSecret(ctx.stores, ctx.p.config, input.client_id, ctx.now, overlap);
      const until = r.client.metadata.client_secret_previous?.expires_at;
      const previousUntil = until === undefined ? null : new Date(until * 1000).toISOString();
      const after = describeClient(r.client);
      return {
        result: {
          client_id: input.client_id,
          client_secret: r.secret,
          overlap_seconds: until === undefined ? 0 : overlap,
          previous_secret_expires_at: previousUntil,
        },
        details: {
          client_id: input.client_id,
          overlap_seconds: until === undefined ? 0 : overlap,
          previous_secret_expires_at: previousUntil,
        },
        before: describeClient(r.before),
        after,
        clientId: input.client_id,
        etag: etagOf(after),
      };
    },
  }),
  defineAction({
    name: 'clients.revoke-tokens',
    summary:
      'Revokes every token of a client (its grants, and every token issued to it up to now); the client stays in service.',
    permission: 'admin:clients:write',
    event: 'client_tokens_revoked',
    input: z.object({ client_id: clientId }).strict(),
    http: { method: 'POST', path: '/clients/{client_id}/revoke-tokens' },
    async run(ctx, input) {
      if (!isMetadataDocumentId(input.client_id))
        requireAdminScopesHeld(ctx, await ctx.stores.clients.get(input.client_id));
      const revoked = await revokeClientTokens(ctx.stores, input.client_id, ctx.now);
      return {
        result: { client_id: input.client_id, grants_revoked: revoked },
        details: { client_id: input.client_id, grants_revoked: revoked },
        clientId: input.client_id,
      };
    },
  }),
  defineAction({
    name: 'clients.approve',
    summary: 'Approves a client registered under TESSERA_REGISTRATION=admin_approval that waits for it (enables it).',
    permission: 'admin:clients:write',
    event: 'client_approved',
    input: z.object({ client_id: clientId }).strict(),
    http: { method: 'POST', path: '/clients/{client_id}/approve' },
    async run(ctx, input) {
      const current = await waitingForApproval(ctx, input.client_id);
      await setClientDisabled(ctx.stores, input.client_id, false, ctx.now);
      const after = describeClient(await storedClient(ctx.stores, input.client_id));
      return {
        result: after,
        details: { client_id: input.client_id },
        before: describeClient(current),
        after,
        clientId: input.client_id,
        etag: etagOf(after),
      };
    },
  }),
  defineAction({
    name: 'clients.reject',
    summary:
      'Rejects a client registered under TESSERA_REGISTRATION=admin_approval that waits for approval (deletes it).',
    permission: 'admin:clients:write',
    event: 'client_rejected',
    input: z.object({ client_id: clientId }).strict(),
    http: { method: 'POST', path: '/clients/{client_id}/reject' },
    async run(ctx, input) {
      const current = await waitingForApproval(ctx, input.client_id);
      await deleteClient(ctx.stores, input.client_id, ctx.now);
      return {
        result: { client_id: input.client_id, rejected: true },
        details: { client_id: input.client_id },
        before: describeClient(current),
        clientId: input.client_id,
      };
    },
  }),
];
