// Users (issue 20): list, create, read, update, delete, disable/enable, their sessions, second
// factors, lockouts, password-reset mail, email verification, the second-factor requirement and
// linked upstream identities. The logic is admin/users.ts (as the CLI's) and the protocol's own
// functions (deleting an account, ending sessions, the reset link), run in the action's transaction
// through admin/after-commit.ts: what they mail or send waits for the commit.
import { z } from 'zod';
import type { FactorKind } from '../../ports/factors.ts';
import { deleteAccount } from '../../protocol/account/delete-account.ts';
import { requestReset } from '../../protocol/interaction/recovery.ts';
import { bool, defineAction, etagOf, requireMatch, type ActionContext } from '../action.ts';
import { afterCommitDeps, tellUserSessionsEnded } from '../after-commit.ts';
import { AdminError, ConflictError, NotFoundError } from '../errors.ts';
import { countAndSearch, listAction } from '../list.ts';
import { requireAnotherOwner, requireOutranks } from '../roles.ts';
import { describeIdentity, unlinkUserIdentity } from '../upstreams.ts';
import {
  describeSession,
  describeUser,
  describeUserDetail,
  endUserSessions,
  findUser,
  markEmailVerified,
  resetFactors,
  saveUser,
  setDisabled,
  setMfaRequired,
  unlockUser,
  updateUser,
  userSessions,
} from '../users.ts';

const userId = z.string().min(1).max(200).describe('the user id (the `sub` of their ID tokens)');
const text = (max: number) => z.string().max(max);
const byId = (ctx: ActionContext, id: string) => findUser(ctx.stores, { id });

/** The user's description and its ETag, for reads and for the state before/after a change. */
async function shown(ctx: ActionContext, id: string) {
  const user = await byId(ctx, id);
  const described = await describeUserDetail(ctx.stores, user);
  return { user, described, etag: etagOf(described) };
}

/** An event for metrics and the security notifications, after the commit (the action's record is its audit). */
const emitAfter = (ctx: ActionContext, e: Parameters<ActionContext['p']['events']>[0]) =>
  ctx.after(() => ctx.p.events({ ...e, audited: true, ...(ctx.actor.ip ? { ip: ctx.actor.ip } : {}) }));

export const userActions = [
  listAction({
    name: 'users.list',
    summary: 'The users, a page at a time in id order; `search` matches username, email or name.',
    permission: 'admin:users:read',
    event: 'admin_users_listed',
    path: '/users',
    page: (ctx, q) => ctx.stores.users.page(q),
    describe: describeUser,
    details: countAndSearch,
  }),
  defineAction({
    name: 'users.create',
    summary:
      'Creates a user (as the bootstrap file and the CLI do); without a password the account cannot sign in with one.',
    permission: 'admin:users:write',
    event: 'user_created',
    input: z
      .object({
        username: text(255).min(1),
        password: text(1024).optional(),
        email: text(320).optional(),
        email_verified: bool().optional(),
        name: text(200).optional(),
        given_name: text(200).optional(),
        family_name: text(200).optional(),
        mfa_required: bool().optional(),
        disabled: bool().optional(),
      })
      .strict(),
    http: { method: 'POST', path: '/users', status: 201 },
    async run(ctx, input) {
      const existing = await ctx.stores.users.findByUsername(input.username);
      if (existing) throw new ConflictError(`user ${input.username} exists already (id ${existing.id})`);
      const r = await saveUser(ctx.stores, input, ctx.now);
      if (!r.created) throw new ConflictError(`user ${input.username} exists already (id ${r.user.id})`);
      const { described, etag } = await shown(ctx, r.user.id);
      return {
        result: described,
        details: { user_id: r.user.id, username: r.user.username, has_password: r.user.passwordHash !== null },
        after: described,
        etag,
      };
    },
  }),
  defineAction({
    name: 'users.get',
    summary: 'One user: profile, origin, second-factor state, linked identities, admin role.',
    permission: 'admin:users:read',
    event: 'admin_user_read',
    input: z.object({ user_id: userId }).strict(),
    http: { method: 'GET', path: '/users/{user_id}' },
    async run(ctx, input) {
      const { user, described, etag } = await shown(ctx, input.user_id);
      return { result: described, details: { user_id: user.id }, etag };
    },
  }),
  defineAction({
    name: 'users.update',
    summary:
      'Changes username, email (a new one is unverified unless email_verified says so), names or mfa_required (If-Match: its ETag).',
    permission: 'admin:users:write',
    event: 'user_updated',
    input: z
      .object({
        user_id: userId,
        username: text(255).min(1).optional(),
        email: text(320).nullable().optional(),
        email_verified: z.boolean().optional(),
        name: text(200).nullable().optional(),
        given_name: text(200).nullable().optional(),
        family_name: text(200).nullable().optional(),
        mfa_required: z.boolean().optional(),
      })
      .strict(),
    http: { method: 'PATCH', path: '/users/{user_id}' },
    async run(ctx, { user_id, ...patch }) {
      const before = await shown(ctx, user_id);
      requireMatch(ctx, before.described);
      await requireOutranks(ctx, before.user);
      const r = await updateUser(ctx.stores, { id: user_id }, patch, ctx.now);
      const after = r.changed ? await shown(ctx, user_id) : before;
      if (r.changed && (r.before.mfaRequired ?? false) !== (r.user.mfaRequired ?? false))
        emitAfter(ctx, {
          type: 'mfa_required_set',
          userId: r.user.id,
          required: r.user.mfaRequired === true,
          actor: 'admin',
        });
      return {
        result: after.described,
        details: { user_id, changed: r.changed, fields: Object.keys(patch).sort().join(' ') },
        before: before.described,
        after: after.described,
        etag: after.etag,
      };
    },
  }),
  defineAction({
    name: 'users.delete',
    summary:
      'Deletes a user: grants and consents revoked, sessions ended (clients told), factors and linked identities removed; the id is never issued again, the username stays reserved a while.',
    permission: 'admin:users:write',
    event: 'account_deleted',
    recentAuth: true,
    input: z.object({ user_id: userId }).strict(),
    http: { method: 'DELETE', path: '/users/{user_id}' },
    async run(ctx, input) {
      const { user, described } = await shown(ctx, input.user_id);
      requireMatch(ctx, described);
      await requireOutranks(ctx, user);
      await requireAnotherOwner(ctx.stores, user.id, ctx.now, `Deleting ${user.username}`);
      await ctx.stores.adminRoles.remove(user.id);
      if (!(await deleteAccount(afterCommitDeps(ctx), user.id, 'operator')))
        throw new NotFoundError(`no user ${user.id}`);
      return {
        result: { id: user.id, username: user.username, deleted: true },
        details: { user_id: user.id, username: user.username, by: 'operator' },
        before: described,
      };
    },
  }),
  ...(['disable', 'enable'] as const).map((verb) =>
    defineAction({
      name: `users.${verb}`,
      summary:
        verb === 'disable'
          ? 'Disables a user: sessions end (clients told), grants are revoked, access tokens are refused at introspection and userinfo at once.'
          : 'Enables a user again; nothing they held before comes back.',
      permission: 'admin:users:write',
      event: verb === 'disable' ? 'user_disabled' : 'user_enabled',
      input: z.object({ user_id: userId }).strict(),
      http: { method: 'POST', path: `/users/{user_id}/${verb}` },
      async run(ctx, input) {
        const before = await shown(ctx, input.user_id);
        await requireOutranks(ctx, before.user);
        const r = await setDisabled(ctx.stores, { id: input.user_id }, verb === 'disable', ctx.now);
        const clients = verb === 'disable' ? await tellUserSessionsEnded(ctx, r.user.id) : 0;
        const after = await shown(ctx, input.user_id);
        return {
          result: after.described,
          details: { user_id: r.user.id, username: r.user.username, changed: r.changed, clients_told: clients },
          before: before.described,
          after: after.described,
          etag: after.etag,
        };
      },
    }),
  ),
  defineAction({
    name: 'users.sessions',
    summary: "A user's live sessions, most recently seen first (never the cookie).",
    permission: 'admin:sessions:read',
    event: 'admin_user_sessions_listed',
    input: z.object({ user_id: userId }).strict(),
    http: { method: 'GET', path: '/users/{user_id}/sessions' },
    async run(ctx, input) {
      const { user, sessions } = await userSessions(ctx.stores, { id: input.user_id }, ctx.now);
      return {
        result: { items: sessions.map((s) => ({ ...describeSession(s), user_id: user.id })) },
        details: { user_id: user.id, count: sessions.length },
      };
    },
  }),
  defineAction({
    name: 'users.end-sessions',
    summary:
      'Ends every session of a user (the applications are told by back-channel logout); their offline grants stay.',
    permission: 'admin:sessions:write',
    event: 'sessions_ended',
    input: z.object({ user_id: userId }).strict(),
    http: { method: 'DELETE', path: '/users/{user_id}/sessions' },
    async run(ctx, input) {
      await requireOutranks(ctx, { id: input.user_id });
      const r = await endUserSessions(ctx.stores, { id: input.user_id });
      const clients = await tellUserSessionsEnded(ctx, r.user.id);
      return {
        result: { user_id: r.user.id, ended: r.count },
        details: { user_id: r.user.id, count: r.count, by: 'operator', clients_told: clients },
      };
    },
  }),
  defineAction({
    name: 'users.factors',
    summary: "A user's second factors and how many recovery codes are left (never a secret or key).",
    permission: 'admin:users:read',
    event: 'admin_user_factors_listed',
    input: z.object({ user_id: userId }).strict(),
    http: { method: 'GET', path: '/users/{user_id}/factors' },
    async run(ctx, input) {
      const user = await byId(ctx, input.user_id);
      const factors = await ctx.stores.factors.listByUser(user.id);
      const iso = (t: number | null) => (t === null ? null : new Date(t * 1000).toISOString());
      return {
        result: {
          items: factors.map((f) => ({
            id: f.id,
            kind: f.kind,
            name: f.name,
            confirmed: f.confirmed,
            created_at: iso(f.createdAt),
            last_used_at: iso(f.lastUsedAt),
            ...(f.kind === 'passkey'
              ? { backup_eligible: f.backupEligible, backed_up: f.backedUp, aaguid: f.aaguid, transports: f.transports }
              : {}),
          })),
          recovery_codes: await ctx.stores.factors.countRecoveryCodes(user.id),
        },
        details: { user_id: user.id, count: factors.length },
      };
    },
  }),
  defineAction({
    name: 'users.reset-factors',
    summary:
      "Removes a user's second factors and recovery codes, forgets their remembered browsers and ends their sessions (for a lost phone or key).",
    permission: 'admin:users:credentials',
    event: 'mfa_reset',
    recentAuth: true,
    input: z.object({ user_id: userId }).strict(),
    http: { method: 'DELETE', path: '/users/{user_id}/factors' },
    async run(ctx, input) {
      await requireOutranks(ctx, await byId(ctx, input.user_id));
      const r = await resetFactors(ctx.stores, { id: input.user_id });
      const clients = await tellUserSessionsEnded(ctx, r.user.id);
      // One notice per kind removed (TESSERA_NOTIFICATIONS factor-changed), as the CLI sends.
      const kinds = new Map<FactorKind, string>();
      for (const f of r.removed) if (!kinds.has(f.kind)) kinds.set(f.kind, f.id);
      for (const [kind, factorId] of kinds)
        emitAfter(ctx, { type: 'factor_removed', userId: r.user.id, kind, factorId, by: 'operator' });
      return {
        result: { user_id: r.user.id, factors: r.factors, devices: r.devices, sessions: r.sessions },
        details: {
          user_id: r.user.id,
          factors: r.factors,
          factor_ids: r.removed.map((f) => `${f.kind}:${f.id}`).join(' '),
          devices: r.devices,
          sessions: r.sessions,
          clients_told: clients,
        },
      };
    },
  }),
  defineAction({
    name: 'users.unlock',
    summary: "Clears a user's password and second-factor failure counters: they may sign in again at once.",
    permission: 'admin:users:credentials',
    event: 'user_unlocked',
    input: z.object({ user_id: userId }).strict(),
    http: { method: 'POST', path: '/users/{user_id}/unlock' },
    async run(ctx, input) {
      await requireOutranks(ctx, { id: input.user_id });
      const r = await unlockUser(ctx.stores, { id: input.user_id });
      return {
        result: { user_id: r.user.id, counters: r.counters },
        details: { user_id: r.user.id, counters: r.counters },
      };
    },
  }),
  defineAction({
    name: 'users.send-password-reset',
    summary:
      "Mails a password-reset link to the user's verified address (the link of the forgot-password page; earlier links end).",
    permission: 'admin:users:credentials',
    event: 'password_reset_requested',
    input: z.object({ user_id: userId }).strict(),
    http: { method: 'POST', path: '/users/{user_id}/password-reset' },
    async run(ctx, input) {
      const user = await byId(ctx, input.user_id);
      await requireOutranks(ctx, user);
      if (!ctx.p.config.passwordReset)
        throw new ConflictError('password reset is off (TESSERA_PASSWORD_RESET): a link would lead nowhere');
      if (user.disabled) throw new ConflictError(`${user.username} is disabled: enable the account first`);
      if (!user.email || !user.emailVerified)
        throw new ConflictError(`${user.username} has no verified email address to mail a reset link to`);
      // The forgot-password page's own work: the token (earlier links end), the mail and its limit per account.
      const sent = await requestReset(afterCommitDeps(ctx), user.username);
      if (sent === 0)
        throw new ConflictError(`too many reset mails were sent to ${user.username} within the hour; try again later`);
      return { result: { user_id: user.id, sent: true }, details: { user_id: user.id } };
    },
  }),
  defineAction({
    name: 'users.verify-email',
    summary: "Marks a user's email address verified (the operator checked it).",
    permission: 'admin:users:write',
    event: 'email_verified',
    input: z.object({ user_id: userId }).strict(),
    http: { method: 'POST', path: '/users/{user_id}/verify-email' },
    async run(ctx, input) {
      await requireOutranks(ctx, await byId(ctx, input.user_id));
      const r = await markEmailVerified(ctx.stores, { id: input.user_id }, ctx.now);
      return {
        result: { user_id: r.user.id, email_verified: true, changed: r.changed },
        details: { user_id: r.user.id, by: 'operator', changed: r.changed },
      };
    },
  }),
  defineAction({
    name: 'users.require-mfa',
    summary:
      'Requires a second factor of a user whatever the policy (`required: false` stops requiring it); without one they enrol at their next sign-in.',
    permission: 'admin:users:credentials',
    event: 'mfa_required_set',
    input: z.object({ user_id: userId, required: bool().default(true) }).strict(),
    http: { method: 'POST', path: '/users/{user_id}/require-mfa' },
    async run(ctx, input) {
      await requireOutranks(ctx, await byId(ctx, input.user_id));
      const r = await setMfaRequired(ctx.stores, { id: input.user_id }, input.required, ctx.now);
      if (r.changed)
        emitAfter(ctx, { type: 'mfa_required_set', userId: r.user.id, required: input.required, actor: 'admin' });
      return {
        result: { user_id: r.user.id, mfa_required: input.required, changed: r.changed },
        details: { user_id: r.user.id, required: input.required, changed: r.changed },
      };
    },
  }),
  defineAction({
    name: 'users.identities',
    summary: 'The upstream identities (sign-ins through other providers) linked to a user.',
    permission: 'admin:users:read',
    event: 'admin_user_identities_listed',
    input: z.object({ user_id: userId }).strict(),
    http: { method: 'GET', path: '/users/{user_id}/identities' },
    async run(ctx, input) {
      const user = await byId(ctx, input.user_id);
      const providers = new Map((await ctx.stores.upstreams.list()).map((p) => [p.id, p]));
      const identities = await ctx.stores.upstreamIdentities.listByUser(user.id);
      return {
        result: { items: identities.map((i) => describeIdentity(i, providers.get(i.providerId))) },
        details: { user_id: user.id, count: identities.length },
      };
    },
  }),
  defineAction({
    name: 'users.unlink',
    summary:
      "Unlinks a user's identity with a provider (`subject` chooses among several); never their last way to sign in (409).",
    permission: 'admin:users:credentials',
    event: 'upstream_unlinked',
    recentAuth: true,
    input: z.object({ user_id: userId, provider: text(200).min(1), subject: text(1000).min(1).optional() }).strict(),
    http: { method: 'DELETE', path: '/users/{user_id}/identities/{provider}' },
    async run(ctx, input) {
      const user = await byId(ctx, input.user_id);
      await requireOutranks(ctx, user);
      const mine = (await ctx.stores.upstreamIdentities.listByUser(user.id)).filter(
        (i) => i.providerId === input.provider && (input.subject === undefined || i.subject === input.subject),
      );
      if (mine.length === 0)
        throw new NotFoundError(
          `${user.username} has no identity linked through ${input.provider}${input.subject !== undefined ? ` with subject ${input.subject}` : ''}`,
        );
      if (mine.length > 1)
        throw new AdminError(
          `${user.username} has ${mine.length} identities linked through ${input.provider} (subjects ${mine.map((i) => i.subject).join(', ')}): name one with subject`,
        );
      // admin/upstreams.ts has the rule (never the last way in, decided by the store in one statement).
      const r = await unlinkUserIdentity(
        { stores: ctx.stores, events: (e) => emitAfter(ctx, e) },
        user.username,
        input.provider,
        input.subject,
      ).catch((err: unknown) => {
        // The identity exists (checked above): what is left is the last way in, or an unlink meanwhile.
        throw err instanceof AdminError && !(err instanceof NotFoundError) ? new ConflictError(err.message) : err;
      });
      return {
        result: { user_id: user.id, provider: input.provider, subject: r.identity.subject, unlinked: true },
        details: { user_id: user.id, provider: input.provider, by: 'operator' },
      };
    },
  }),
];
