// Tessera's own operators (issue 20): who holds which admin role, and the rule that keeps the
// deployment from losing its last owner. The admin actions (actions/roles.ts), the bootstrap file
// (`admin_role:` on a user) and the CLI (the first owner, on the host) all change roles here.
import { ADMIN_ROLES, type AdminRole, type AdminRoleAssignment } from '../ports/admin.ts';
import type { Stores } from '../ports/index.ts';
import type { UserRecord } from '../ports/users.ts';
import { lockAdminRoles, ROLE_SCOPES } from '../protocol/admin-scopes.ts';
import type { ActionContext } from './action.ts';
import { AdminError, ConflictError, NotFoundError } from './errors.ts';

export { ADMIN_ROLES, type AdminRole };

/**
 * Refuses (409) to take away the last owner: when `userId` is an owner and no other owner who is not
 * disabled remains, whatever is `doing` (demoting, removing the role, disabling, deleting) is refused.
 * Call it in the transaction of the change.
 */
export async function requireAnotherOwner(
  stores: Pick<Stores, 'adminRoles' | 'users' | 'counters'>,
  userId: string,
  now: number,
  doing: string,
): Promise<void> {
  if ((await stores.adminRoles.get(userId))?.role !== 'owner') return;
  await lockAdminRoles(stores, now);
  for (const a of await stores.adminRoles.list()) {
    if (a.role !== 'owner' || a.userId === userId) continue;
    const other = await stores.users.get(a.userId);
    if (other && !other.disabled) return;
  }
  throw new ConflictError(
    `${doing} is refused: this user is the last owner (no other owner who is not disabled); make another user owner first`,
  );
}

/** An admin role as operators see it. */
export function describeRole(a: AdminRoleAssignment, user?: Pick<UserRecord, 'username'>): Record<string, unknown> {
  return {
    user_id: a.userId,
    ...(user ? { username: user.username } : {}),
    role: a.role,
    granted_at: new Date(a.grantedAt * 1000).toISOString(),
    granted_by: a.grantedBy,
  };
}

export interface RoleChange {
  user: UserRecord;
  before: AdminRoleAssignment | undefined;
  after: AdminRoleAssignment | undefined;
  changed: boolean;
}

/**
 * Gives a user an admin role (or another one). An owner made something else must not be the last
 * owner. `by` is who assigned it (a user id, a client id, 'admin', 'cli', 'bootstrap'). This is also
 * the way to the FIRST owner, on the host: `tessera` (the CLI) and the bootstrap file call it with
 * role 'owner'; a deployment without an owner has only the break-glass token otherwise.
 */
export async function setAdminRole(
  stores: Pick<Stores, 'adminRoles' | 'users' | 'counters'>,
  input: { userId: string; role: AdminRole; by: string; now: number },
): Promise<RoleChange> {
  if (!(ADMIN_ROLES as readonly string[]).includes(input.role))
    throw new AdminError(`admin role must be one of ${ADMIN_ROLES.join(', ')}`);
  // Taken before the user is read: an account deleting itself at the same time is then either gone
  // here, or sees this role and is refused (protocol/account/delete.ts).
  await lockAdminRoles(stores, input.now);
  const user = await stores.users.get(input.userId);
  if (!user) throw new NotFoundError(`no user ${input.userId}`);
  const before = await stores.adminRoles.get(user.id);
  if (before?.role === input.role) return { user, before, after: before, changed: false };
  if (before?.role === 'owner')
    await requireAnotherOwner(stores, user.id, input.now, `Making ${user.username} ${input.role}`);
  const after: AdminRoleAssignment = { userId: user.id, role: input.role, grantedAt: input.now, grantedBy: input.by };
  await stores.adminRoles.set(after);
  return { user, before, after, changed: true };
}

/** Takes a user's admin role away (never the last owner's); 404 when they have none. */
export async function removeAdminRole(
  stores: Pick<Stores, 'adminRoles' | 'users' | 'counters'>,
  userId: string,
  now: number,
): Promise<RoleChange> {
  const user = await stores.users.get(userId);
  if (!user) throw new NotFoundError(`no user ${userId}`);
  const before = await stores.adminRoles.get(user.id);
  if (!before) throw new NotFoundError(`${user.username} has no admin role`);
  await requireAnotherOwner(stores, user.id, now, `Removing the owner role of ${user.username}`);
  await stores.adminRoles.remove(user.id);
  return { user, before, after: undefined, changed: true };
}

/** Whether a principal holding `scopes` may give `role`: only a role whose every scope it holds itself. */
export const mayGiveRole = (scopes: ReadonlySet<string>, role: AdminRole): boolean =>
  ROLE_SCOPES[role].every((s) => scopes.has(s));

/**
 * Refuses (403) an action on the account, sessions or grants of someone holding an admin role with a
 * permission the principal lacks: support resetting an owner's factors and mailing the reset link to
 * an address it just set would be a way up to owner, and ending an owner's sessions again and again a
 * way to keep them out. `user` may be given by id alone (its username is then read for the message).
 */
export async function requireOutranks(
  ctx: Pick<ActionContext, 'stores' | 'actor'>,
  user: { id: string; username?: string },
): Promise<void> {
  const role = (await ctx.stores.adminRoles.get(user.id))?.role;
  if (role && !mayGiveRole(ctx.actor.scopes, role)) {
    const name = user.username ?? (await ctx.stores.users.get(user.id))?.username ?? user.id;
    // Loaded here, not at the top: this module is part of the start-up (the bootstrap file) and
    // action.ts brings zod; only an action, which has loaded it already, comes here.
    const { ActionRefused } = await import('./action.ts');
    throw new ActionRefused(
      403,
      'forbidden',
      `${name} holds the ${role} admin role: acting on their account needs every permission of that role.`,
    );
  }
}
