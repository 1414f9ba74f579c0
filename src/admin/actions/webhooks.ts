// Webhooks (issue 18): endpoints that audit events are delivered to (docs/webhooks.md). List,
// create (the signing secret shown once), read, update (If-Match), delete, rotate the secret (shown
// once), the delivery log (paged, by status), one delivery with its attempts, redeliver one, and a
// test that sends a signed `tessera.ping` at once. A secret is generated here and wrapped under the
// key-encryption key inside the transaction; it is never stored, logged or shown in the clear again,
// nor in an audit record. URLs follow the outbound client's rules (https, public hosts; http on a
// loopback host only under the test allowance), checked again at every delivery's connection.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { WebhookAttempt, WebhookDelivery, WebhookEndpoint } from '../../ports/webhooks.ts';
import { fetchableUriProblem, outboundHostProblem } from '../../protocol/client-auth/public-address.ts';
import {
  newWebhookSecret,
  openWebhookSecret,
  pingMessage,
  sendWebhook,
  wrapWebhookSecret,
  type SendOutcome,
} from '../../webhooks/signing.ts';
import {
  decodeCursor,
  defineAction,
  etagOf,
  pageInput,
  requireMatch,
  type ActionContext,
  type AdminDeps,
} from '../action.ts';
import { AdminError, NotFoundError } from '../errors.ts';
import { listAction, pageOfAll, pageResult } from '../list.ts';

const id = z
  .string()
  .regex(/^wh_[A-Za-z0-9_-]{1,60}$/, 'not a webhook id')
  .describe('the endpoint id (wh_...)');
const deliveryId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^msg_[A-Za-z0-9_-]+$/, 'not a delivery id');
/** An audit type, or a prefix ending in `*`; `tessera.` in front is accepted and dropped. */
const eventFilter = z
  .array(
    z
      .string()
      .max(100)
      .transform((e) => e.replace(/^tessera\./, ''))
      .refine(
        (e) => /^(?:[a-z0-9_.:-]+\*?|\*)$/.test(e),
        'an audit type (login_failed) or a prefix ending in * (admin_*)',
      ),
  )
  .max(100)
  .describe('audit types or prefixes ending in * (admin_*); empty: every event');
const fields = {
  url: z.string().max(2000).describe('https URL the deliveries are POSTed to'),
  description: z.string().max(500).optional(),
  events: eventFilter.optional(),
  enabled: z.boolean().optional(),
};

/** An endpoint as the API and the console show it: never its secret. */
export function describeWebhook(e: WebhookEndpoint) {
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    events: e.events,
    enabled: e.enabled,
    created_at: new Date(e.createdAt * 1000).toISOString(),
    updated_at: new Date(e.updatedAt * 1000).toISOString(),
    last_seq: e.lastSeq,
  };
}

/**
 * A URL as the audit trail keeps it: its origin, and `/…` when it has a path or query. The trail
 * is delivered to every other endpoint, and a receiver's URL may carry a token in its path (chat
 * services' incoming hooks do); the admin API still shows the whole URL to its readers.
 */
export function auditedWebhookUrl(url: string): string {
  try {
    const u = new URL(url);
    return u.pathname.length > 1 || u.search || u.hash ? `${u.origin}/…` : u.origin;
  } catch {
    return '…';
  }
}

/** An endpoint as its audit records' before and after states keep it: the URL cut to its origin. */
function auditedWebhook(e: WebhookEndpoint) {
  return { ...describeWebhook(e), url: auditedWebhookUrl(e.url) };
}

const time = (t: number | null) => (t === null ? null : new Date(t * 1000).toISOString());

function describeDelivery(d: WebhookDelivery) {
  return {
    id: d.id,
    endpoint: d.endpointId,
    type: d.type,
    seq: d.seq,
    status: d.status,
    attempts: d.attempts,
    created_at: time(d.createdAt),
    next_attempt_at: d.status === 'pending' ? time(d.nextAt) : null,
    done_at: time(d.doneAt),
    last_status: d.lastStatus,
    last_error: d.lastError,
  };
}

const describeAttempt = (a: WebhookAttempt) => ({
  attempt: a.attempt,
  at: time(a.at),
  status: a.status,
  error: a.error,
  duration_ms: a.durationMs,
  response: a.response,
});

/** Why a webhook URL is refused (the outbound client's rules, judged on the literal), or undefined. */
export function webhookUrlProblem(url: string, allowLoopback: boolean): string | undefined {
  const problem = fetchableUriProblem('url', url, allowLoopback);
  if (problem) return problem;
  const host = outboundHostProblem(new URL(url).hostname, allowLoopback);
  return host ? `url: ${host}` : undefined;
}

function checkUrl(ctx: ActionContext, url: string): void {
  const problem = webhookUrlProblem(url, ctx.p.config.clientJwksAllowLoopback);
  if (problem) throw new AdminError(problem);
}

async function stored(ctx: ActionContext, endpointId: string): Promise<WebhookEndpoint> {
  const e = await ctx.stores.webhooks.get(endpointId);
  if (!e) throw new NotFoundError(`no webhook ${endpointId}`);
  return e;
}

async function ofEndpoint(ctx: ActionContext, endpointId: string, delivery: string): Promise<WebhookDelivery> {
  const d = await ctx.stores.webhooks.getDelivery(delivery);
  if (!d || d.endpointId !== endpointId) throw new NotFoundError(`no delivery ${delivery} of webhook ${endpointId}`);
  return d;
}

/** What the test action's `prepare` did: the ping sent (outside the transaction), or why not. */
interface Ping {
  deliveryId: string;
  type: string;
  payload: string;
  at: number;
  outcome: SendOutcome;
}

export const webhookActions = [
  listAction({
    name: 'webhooks.list',
    summary: 'The webhook endpoints (never their secrets), by id; search matches id, URL or description.',
    permission: 'admin:webhooks:read',
    event: 'admin_webhooks_listed',
    path: '/webhooks',
    page: async (ctx, q) =>
      pageOfAll(
        await ctx.stores.webhooks.list(),
        (e) => e.id,
        (e) => [e.id, e.url, e.description],
        q,
      ),
    describe: describeWebhook,
  }),
  defineAction({
    name: 'webhooks.create',
    summary:
      'Registers an endpoint: audit events its filter takes (all when empty) are POSTed to it from now on, signed as Standard Webhooks specifies. The signing secret is shown once.',
    permission: 'admin:webhooks:write',
    event: 'webhook_created',
    recentAuth: true,
    input: z.object(fields).strict(),
    http: { method: 'POST', path: '/webhooks', status: 201 },
    async run(ctx, input) {
      checkUrl(ctx, input.url);
      const endpointId = `wh_${randomBytes(12).toString('base64url')}`;
      const secret = newWebhookSecret();
      const endpoint: WebhookEndpoint = {
        id: endpointId,
        url: input.url,
        description: input.description ?? '',
        events: input.events ?? [],
        enabled: input.enabled ?? true,
        secretWrapped: await wrapWebhookSecret(ctx.p.config.keyEncryptionKey, endpointId, secret),
        createdAt: ctx.now,
        updatedAt: ctx.now,
        // No backlog: the cursor starts at the audit trail's head.
        lastSeq: await ctx.stores.webhooks.auditHead(),
      };
      await ctx.stores.webhooks.create(endpoint);
      const shown = describeWebhook(endpoint);
      return {
        result: { ...shown, secret },
        after: auditedWebhook(endpoint),
        etag: etagOf(shown),
        details: { webhook: endpointId },
      };
    },
  }),
  defineAction({
    name: 'webhooks.read',
    summary: 'One webhook endpoint (never its secret); the ETag is its version for If-Match.',
    permission: 'admin:webhooks:read',
    event: 'admin_webhook_read',
    input: z.object({ id }).strict(),
    http: { method: 'GET', path: '/webhooks/{id}' },
    async run(ctx, input) {
      const e = await stored(ctx, input.id);
      const shown = describeWebhook(e);
      return {
        result: { ...shown, pending: await ctx.stores.webhooks.pendingCount(e.id) },
        etag: etagOf(shown),
        details: { webhook: input.id },
      };
    },
  }),
  defineAction({
    name: 'webhooks.update',
    summary:
      'Changes an endpoint: its URL, description, event filter, or whether it is enabled (a disabled one queues nothing and sends nothing; enabled again, it goes on from where its cursor stopped). If-Match: the ETag of the version read.',
    permission: 'admin:webhooks:write',
    event: 'webhook_updated',
    recentAuth: true,
    input: z.object({ id, ...fields, url: fields.url.optional() }).strict(),
    http: { method: 'PATCH', path: '/webhooks/{id}' },
    async run(ctx, input) {
      const current = await stored(ctx, input.id);
      requireMatch(ctx, describeWebhook(current));
      if (input.url !== undefined) checkUrl(ctx, input.url);
      const next: WebhookEndpoint = {
        ...current,
        url: input.url ?? current.url,
        description: input.description ?? current.description,
        events: input.events ?? current.events,
        enabled: input.enabled ?? current.enabled,
        updatedAt: ctx.now,
      };
      await ctx.stores.webhooks.update(next);
      const shown = describeWebhook(next);
      return {
        result: shown,
        before: auditedWebhook(current),
        after: auditedWebhook(next),
        etag: etagOf(shown),
        details: { webhook: input.id },
      };
    },
  }),
  defineAction({
    name: 'webhooks.delete',
    summary: 'Removes an endpoint with its queue and its delivery log.',
    permission: 'admin:webhooks:write',
    event: 'webhook_deleted',
    input: z.object({ id }).strict(),
    http: { method: 'DELETE', path: '/webhooks/{id}', status: 204 },
    async run(ctx, input) {
      const current = await stored(ctx, input.id);
      requireMatch(ctx, describeWebhook(current));
      await ctx.stores.webhooks.delete(input.id);
      return { result: undefined, before: auditedWebhook(current), details: { webhook: input.id } };
    },
  }),
  defineAction({
    name: 'webhooks.rotate-secret',
    summary:
      'Issues a new signing secret, shown once; deliveries from now on are signed with it (the previous one stops at once).',
    permission: 'admin:webhooks:write',
    event: 'webhook_secret_rotated',
    recentAuth: true,
    input: z.object({ id }).strict(),
    http: { method: 'POST', path: '/webhooks/{id}/secret' },
    async run(ctx, input) {
      const current = await stored(ctx, input.id);
      const secret = newWebhookSecret();
      const next = {
        ...current,
        secretWrapped: await wrapWebhookSecret(ctx.p.config.keyEncryptionKey, current.id, secret),
        updatedAt: ctx.now,
      };
      await ctx.stores.webhooks.update(next);
      return {
        result: { id: current.id, secret },
        after: auditedWebhook(next),
        etag: etagOf(describeWebhook(next)),
        details: { webhook: input.id },
      };
    },
  }),
  defineAction({
    name: 'webhooks.deliveries',
    summary:
      'The delivery log of an endpoint, newest first: each delivery with its status, attempts and the last answer; status filters (pending, delivered, failed).',
    permission: 'admin:webhooks:read',
    event: 'admin_webhook_deliveries_listed',
    input: z
      .object({
        id,
        status: z.enum(['pending', 'delivered', 'failed']).optional(),
        cursor: pageInput.cursor,
        limit: pageInput.limit,
      })
      .strict(),
    http: { method: 'GET', path: '/webhooks/{id}/deliveries' },
    async run(ctx, input) {
      await stored(ctx, input.id);
      const after = decodeCursor(input.cursor);
      const page = await ctx.stores.webhooks.deliveries({
        endpointId: input.id,
        limit: input.limit,
        ...(input.status ? { status: input.status } : {}),
        ...(after !== undefined ? { after } : {}),
      });
      return {
        result: pageResult(page, describeDelivery),
        details: { webhook: input.id, count: page.items.length, ...(input.status ? { status: input.status } : {}) },
      };
    },
  }),
  defineAction({
    name: 'webhooks.delivery',
    summary:
      'One delivery with the body sent and every attempt: when, the status or error, how long, and the first KiB of the answer.',
    permission: 'admin:webhooks:read',
    event: 'admin_webhook_delivery_read',
    input: z.object({ id, delivery_id: deliveryId }).strict(),
    http: { method: 'GET', path: '/webhooks/{id}/deliveries/{delivery_id}' },
    async run(ctx, input) {
      const d = await ofEndpoint(ctx, input.id, input.delivery_id);
      const attempts = await ctx.stores.webhooks.attempts(d.id);
      return {
        result: { ...describeDelivery(d), payload: d.payload, attempt_log: attempts.map(describeAttempt) },
        details: { webhook: input.id, delivery: d.id },
      };
    },
  }),
  defineAction({
    name: 'webhooks.redeliver',
    summary:
      'Queues a delivery again, due now, with a fresh round of attempts (the same message id, so receivers can tell a repeat).',
    permission: 'admin:webhooks:write',
    event: 'webhook_redelivered',
    input: z.object({ id, delivery_id: deliveryId }).strict(),
    http: { method: 'POST', path: '/webhooks/{id}/deliveries/{delivery_id}/redeliver' },
    async run(ctx, input) {
      const d = await ofEndpoint(ctx, input.id, input.delivery_id);
      if (!(await ctx.stores.webhooks.redeliver(d.id, ctx.now)))
        throw new AdminError('The delivery is being sent right now; try again in a moment.');
      return {
        result: describeDelivery((await ctx.stores.webhooks.getDelivery(d.id))!),
        details: { webhook: input.id, delivery: d.id },
      };
    },
  }),
  defineAction({
    name: 'webhooks.test',
    summary:
      'Sends a signed tessera.ping to the endpoint now and answers with the outcome; the attempt is kept in the delivery log.',
    permission: 'admin:webhooks:write',
    event: 'webhook_tested',
    input: z.object({ id }).strict(),
    http: { method: 'POST', path: '/webhooks/{id}/test' },
    // The network exchange happens here, before the transaction (none may wait on the network).
    async prepare(p: AdminDeps, input): Promise<Ping | undefined> {
      const e = await p.stores.webhooks.get(input.id);
      if (!e) return undefined;
      const at = p.now();
      const m = pingMessage(e.id, at);
      const delivery = `msg_ping_${randomBytes(12).toString('base64url')}`;
      let secret: string;
      try {
        secret = await openWebhookSecret(p.config, e.id, e.secretWrapped);
      } catch {
        return {
          deliveryId: delivery,
          ...m,
          at,
          outcome: { status: null, error: 'secret', durationMs: 0, response: null },
        };
      }
      const outcome = await sendWebhook(
        { outbound: p.outbound, allowLoopback: p.config.clientJwksAllowLoopback, timeoutMs: p.config.webhookTimeoutMs },
        { id: delivery, url: e.url, payload: m.payload, secret, timestamp: at },
      );
      return { deliveryId: delivery, ...m, at, outcome };
    },
    async run(ctx, input) {
      await stored(ctx, input.id);
      const ping = ctx.prepared as Ping | undefined;
      if (!ping) throw new NotFoundError(`no webhook ${input.id}`);
      const delivered = ping.outcome.error === null;
      const delivery: WebhookDelivery = {
        id: ping.deliveryId,
        endpointId: input.id,
        seq: null,
        type: ping.type,
        payload: ping.payload,
        status: delivered ? 'delivered' : 'failed',
        attempts: 1,
        nextAt: ping.at,
        createdAt: ping.at,
        doneAt: ping.at,
        lastStatus: ping.outcome.status,
        lastError: ping.outcome.error,
      };
      const attempt: WebhookAttempt = { deliveryId: ping.deliveryId, attempt: 1, at: ping.at, ...ping.outcome };
      await ctx.stores.webhooks.addAttempted(delivery, attempt);
      return {
        result: { ...describeDelivery(delivery), attempt_log: [describeAttempt(attempt)] },
        details: {
          webhook: input.id,
          delivery: ping.deliveryId,
          delivered,
          status: ping.outcome.status,
          error: ping.outcome.error,
        },
      };
    },
  }),
];
