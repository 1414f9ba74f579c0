// Sessions and consents (issue 20): every live session, ending one (its applications told by
// back-channel logout after the commit, as the account page's ending does), and the consents and
// grants users gave applications: listed by user or by client, revoked one by one.
import { z } from 'zod';
import type { ConsentRecord } from '../../ports/consents.ts';
import type { GrantRecord } from '../../ports/grants.ts';
import type { UserRecord } from '../../ports/users.ts';
import { defineAction, type ActionContext } from '../action.ts';
import { tellSessionEnded } from '../after-commit.ts';
import { AdminError, NotFoundError } from '../errors.ts';
import { countAndSearch, listAction } from '../list.ts';
import { requireOutranks } from '../roles.ts';
import { describeSession, findUser } from '../users.ts';

const iso = (t: number | null) => (t === null ? null : new Date(t * 1000).toISOString());

/** The usernames of these users (one read each, at most a page's worth), for lists that show people. */
async function usernames(ctx: ActionContext, ids: Iterable<string>): Promise<Map<string, UserRecord | undefined>> {
  const out = new Map<string, UserRecord | undefined>();
  for (const id of ids) if (!out.has(id)) out.set(id, await ctx.stores.users.get(id));
  return out;
}

export function describeConsent(c: ConsentRecord, user?: UserRecord): Record<string, unknown> {
  return {
    user_id: c.userId,
    ...(user ? { username: user.username } : {}),
    client_id: c.clientId,
    scopes: c.scopes,
    resources: c.resources,
    granted_at: iso(c.grantedAt),
  };
}

/** A grant as operators see it: never a token or its hash. */
export function describeGrant(g: GrantRecord): Record<string, unknown> {
  return {
    id: g.id,
    user_id: g.userId,
    client_id: g.clientId,
    scope: g.scope,
    resource: g.resource,
    sid: g.sid,
    created_at: iso(g.createdAt),
    expires_at: iso(g.expiresAt),
    revoked_at: iso(g.revokedAt),
  };
}

const sid = z.string().min(1).max(64);
const clientId = z.string().min(1).max(2000);
const userId = z.string().min(1).max(200);

export const sessionActions = [
  listAction({
    name: 'sessions.list',
    summary: "Every user's live sessions, a page at a time by sid; `search` matches the user id or address.",
    permission: 'admin:sessions:read',
    event: 'admin_sessions_listed',
    path: '/sessions',
    async page(ctx, q) {
      const page = await ctx.stores.sessions.page(q, ctx.now);
      const users = await usernames(
        ctx,
        page.items.map((s) => s.userId),
      );
      const items = page.items.map((s) => ({
        ...describeSession(s),
        user_id: s.userId,
        username: users.get(s.userId)?.username ?? null,
      }));
      return { ...page, items };
    },
    describe: (item) => item,
    details: countAndSearch,
  }),
  defineAction({
    name: 'sessions.end',
    summary:
      'Ends one session (the user signs in again in that browser); the applications signed in under it are told by back-channel logout.',
    permission: 'admin:sessions:write',
    event: 'sessions_ended',
    input: z
      .object({ sid, user_id: userId.optional().describe('whose session it is (found by sid when absent)') })
      .strict(),
    http: { method: 'DELETE', path: '/sessions/{sid}' },
    async run(ctx, input) {
      let owner = input.user_id;
      if (owner === undefined) {
        // The session's owner, by its sid (the sessions list matches sids too).
        const found = (await ctx.stores.sessions.page({ limit: 200, search: input.sid }, ctx.now)).items.find(
          (s) => s.sid === input.sid,
        );
        if (!found) throw new NotFoundError(`no live session ${input.sid}`);
        owner = found.userId;
      }
      await requireOutranks(ctx, { id: owner });
      const ended = await ctx.stores.sessions.deleteBySid(owner, input.sid);
      if (!ended) throw new NotFoundError(`no session ${input.sid}${input.user_id ? ` of user ${input.user_id}` : ''}`);
      const clients = await tellSessionEnded(ctx, input.sid);
      return {
        result: { sid: input.sid, user_id: ended.userId, ended: true },
        details: { user_id: ended.userId, sid: input.sid, count: 1, by: 'operator', clients_told: clients },
      };
    },
  }),
  defineAction({
    name: 'consents.list',
    summary:
      'The consents users gave, of one user (`user_id`) or to one client (`client_id`, with its active grants); exactly one of them.',
    permission: 'admin:sessions:read',
    event: 'admin_consents_listed',
    input: z.object({ user_id: userId.optional(), client_id: clientId.optional() }).strict(),
    http: { method: 'GET', path: '/consents' },
    async run(ctx, input) {
      if ((input.user_id === undefined) === (input.client_id === undefined))
        throw new AdminError('name exactly one of user_id and client_id');
      let consents: ConsentRecord[];
      let grants: GrantRecord[];
      if (input.user_id !== undefined) {
        const user = await findUser(ctx.stores, { id: input.user_id });
        consents = await ctx.stores.consents.listByUser(user.id);
        grants = await ctx.stores.grants.listActiveByUser(user.id, ctx.now);
      } else {
        if (!(await ctx.stores.clients.get(input.client_id!))) throw new NotFoundError(`no client ${input.client_id}`);
        consents = await ctx.stores.consents.listByClient(input.client_id!);
        grants = await ctx.stores.grants.listActiveByClient(input.client_id!, ctx.now, 500);
      }
      const users = await usernames(
        ctx,
        consents.map((c) => c.userId),
      );
      return {
        result: {
          items: consents.map((c) => describeConsent(c, users.get(c.userId))),
          grants: grants.map(describeGrant),
        },
        details: {
          ...(input.user_id !== undefined ? { user_id: input.user_id } : { client_id: input.client_id! }),
          count: consents.length,
          grants: grants.length,
        },
        ...(input.client_id !== undefined ? { clientId: input.client_id } : {}),
      };
    },
  }),
  defineAction({
    name: 'consents.revoke',
    summary:
      "Revokes a user's consent to a client and every grant it holds for them (refresh and access tokens); the client asks again next time.",
    permission: 'admin:sessions:write',
    event: 'consent_revoked',
    input: z.object({ user_id: userId, client_id: clientId }).strict(),
    http: { method: 'DELETE', path: '/users/{user_id}/consents/{client_id}' },
    async run(ctx, input) {
      const user = await findUser(ctx.stores, { id: input.user_id });
      await requireOutranks(ctx, user);
      const consent = await ctx.stores.consents.get(user.id, input.client_id);
      const grants = await ctx.stores.grants.revokeByUserAndClient(user.id, input.client_id, ctx.now);
      if (!consent && grants === 0)
        throw new NotFoundError(`${user.username} has no consent or grant for client ${input.client_id}`);
      if (consent) await ctx.stores.consents.revoke(user.id, input.client_id);
      return {
        result: { user_id: user.id, client_id: input.client_id, consent: consent !== undefined, grants },
        details: { user_id: user.id, grants },
        ...(consent ? { before: describeConsent(consent) } : {}),
        clientId: input.client_id,
      };
    },
  }),
  defineAction({
    name: 'grants.revoke',
    summary: 'Revokes one grant: its refresh tokens and the access tokens issued from it.',
    permission: 'admin:sessions:write',
    event: 'grant_revoked',
    input: z.object({ grant_id: z.string().min(1).max(200) }).strict(),
    http: { method: 'DELETE', path: '/grants/{grant_id}' },
    async run(ctx, input) {
      const grant = await ctx.stores.grants.get(input.grant_id);
      if (!grant) throw new NotFoundError(`no grant ${input.grant_id}`);
      await requireOutranks(ctx, { id: grant.userId });
      const revoked = grant.revokedAt === null && (await ctx.stores.grants.revoke(grant.id, ctx.now));
      return {
        result: { ...describeGrant(grant), revoked_at: iso(revoked ? ctx.now : grant.revokedAt), changed: revoked },
        details: { grant_id: grant.id, user_id: grant.userId, changed: revoked },
        before: describeGrant(grant),
        clientId: grant.clientId,
      };
    },
  }),
];
