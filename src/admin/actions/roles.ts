// Admin roles (issue 20): who operates Tessera with which role (owner, admin, support, auditor:
// protocol/admin-scopes.ts ROLE_SCOPES), giving one and taking it away. Only `admin:roles:write`
// (owners) changes roles; no one gives a role holding a permission they do not hold themselves; the
// last owner is never demoted nor loses the role (admin/roles.ts).
import { z } from 'zod';
import { ADMIN_ROLES } from '../../ports/admin.ts';
import { ActionRefused, defineAction } from '../action.ts';
import { describeRole, mayGiveRole, removeAdminRole, setAdminRole } from '../roles.ts';

const userId = z.string().min(1).max(200);

export const roleActions = [
  defineAction({
    name: 'roles.list',
    summary: 'The users who hold an admin role, and which.',
    permission: 'admin:users:read',
    event: 'admin_roles_listed',
    input: z.object({}).strict(),
    http: { method: 'GET', path: '/roles' },
    async run(ctx) {
      const items: Record<string, unknown>[] = [];
      for (const a of await ctx.stores.adminRoles.list()) {
        const user = await ctx.stores.users.get(a.userId);
        items.push({ ...describeRole(a, user), disabled: user?.disabled ?? null });
      }
      return { result: { items }, details: { count: items.length } };
    },
  }),
  defineAction({
    name: 'roles.set',
    summary:
      'Gives a user an admin role (or another one); an owner is never demoted when no other owner is left (409). Requires a recent sign-in.',
    permission: 'admin:roles:write',
    event: 'admin_role_set',
    recentAuth: true,
    input: z.object({ user_id: userId, role: z.enum(ADMIN_ROLES) }).strict(),
    http: { method: 'PUT', path: '/users/{user_id}/role' },
    async run(ctx, input) {
      if (!mayGiveRole(ctx.actor.scopes, input.role))
        throw new ActionRefused(403, 'forbidden', `Giving the ${input.role} role needs every permission it holds.`);
      const r = await setAdminRole(ctx.stores, {
        userId: input.user_id,
        role: input.role,
        by: ctx.actor.id,
        now: ctx.now,
      });
      const after = describeRole(r.after!, r.user);
      return {
        result: after,
        details: {
          user_id: r.user.id,
          username: r.user.username,
          role: input.role,
          previous: r.before?.role ?? null,
          changed: r.changed,
        },
        before: r.before ? describeRole(r.before, r.user) : null,
        after,
      };
    },
  }),
  defineAction({
    name: 'roles.remove',
    summary: "Takes a user's admin role away (never the last owner's: 409). Requires a recent sign-in.",
    permission: 'admin:roles:write',
    event: 'admin_role_removed',
    recentAuth: true,
    input: z.object({ user_id: userId }).strict(),
    http: { method: 'DELETE', path: '/users/{user_id}/role' },
    async run(ctx, input) {
      const r = await removeAdminRole(ctx.stores, input.user_id, ctx.now);
      return {
        result: { user_id: r.user.id, role: null, removed: r.before!.role },
        details: { user_id: r.user.id, username: r.user.username, previous: r.before!.role },
        before: describeRole(r.before!, r.user),
        after: null,
      };
    },
  }),
];
