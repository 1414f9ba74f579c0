import { randomUUID } from 'node:crypto';
import { hashPassword, verifyPassword } from '../accounts/passwords.ts';
import type { Stores } from '../ports/index.ts';
import type { UserRecord } from '../ports/users.ts';
import { AdminError } from './clients.ts';

export interface UserInput {
  username: string;
  password?: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  given_name?: string;
  family_name?: string;
  disabled?: boolean;
}

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 1024;

function checkPassword(password: string): void {
  if (typeof password !== 'string' || [...password].length < MIN_PASSWORD_LENGTH) throw new AdminError(`password must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH) throw new AdminError(`password must be at most ${MAX_PASSWORD_LENGTH} characters`);
}

function checkUserInput(input: UserInput): void {
  if (typeof input.username !== 'string' || !/^[^\s]{1,255}$/u.test(input.username)) throw new AdminError('username must be 1-255 characters without spaces');
  if (input.email !== undefined && !/^[^\s@]+@[^\s@]+$/.test(input.email)) throw new AdminError(`email ${input.email} is not an email address`);
}

/**
 * Creates a new user, never touching an existing one: undefined when the username is taken (also
 * when another creation of the same name wins a race). Used by self-registration.
 */
export async function createUser(stores: Stores, input: UserInput, now: number): Promise<UserRecord | undefined> {
  checkUserInput(input);
  if (input.password !== undefined) checkPassword(input.password);
  const user: UserRecord = {
    id: randomUUID(), username: input.username, passwordHash: input.password !== undefined ? await hashPassword(input.password) : null,
    email: input.email ?? null, emailVerified: input.email_verified ?? false, name: input.name ?? null,
    givenName: input.given_name ?? null, familyName: input.family_name ?? null, disabled: input.disabled ?? false,
    createdAt: now, updatedAt: now,
  };
  return (await stores.users.create(user)) ? user : undefined;
}

/** Creates or updates a user by username. The password is re-hashed only when it changed. */
export async function saveUser(stores: Stores, input: UserInput, now: number): Promise<{ user: UserRecord; created: boolean; changed: boolean }> {
  checkUserInput(input);
  const existing = await stores.users.findByUsername(input.username);
  let passwordHash = existing?.passwordHash ?? null;
  if (input.password !== undefined) {
    checkPassword(input.password);
    if (!(await verifyPassword(input.password, passwordHash))) passwordHash = await hashPassword(input.password);
  }
  const user: UserRecord = {
    id: existing?.id ?? randomUUID(), username: input.username, passwordHash,
    email: input.email ?? existing?.email ?? null, emailVerified: input.email_verified ?? existing?.emailVerified ?? false,
    name: input.name ?? existing?.name ?? null, givenName: input.given_name ?? existing?.givenName ?? null,
    familyName: input.family_name ?? existing?.familyName ?? null, disabled: input.disabled ?? existing?.disabled ?? false,
    createdAt: existing?.createdAt ?? now, updatedAt: now,
  };
  if (existing && JSON.stringify({ ...existing, updatedAt: 0 }) === JSON.stringify({ ...user, updatedAt: 0 })) return { user: existing, created: false, changed: false };
  await stores.users.put(user);
  if (user.disabled && !existing?.disabled) await endUserAccess(stores, user.id, now);
  if (!user.disabled && existing?.disabled) await restoreUserAccess(stores, user.id, now);
  return { user, created: !existing, changed: true };
}

export async function setPassword(stores: Stores, username: string, password: string, now: number): Promise<void> {
  const user = await stores.users.findByUsername(username);
  if (!user) throw new AdminError(`no user ${username}`);
  checkPassword(password);
  await stores.users.put({ ...user, passwordHash: await hashPassword(password), updatedAt: now });
  // A credential change ends the user's other sessions (ASVS 7.4.3).
  await stores.sessions.deleteByUser(user.id);
}

/**
 * Ends every session and revokes every grant of a user (ASVS 7.4.2), and refuses their access
 * tokens at introspection and userinfo at once (the user's cut-off in revoked_tokens).
 */
async function endUserAccess(stores: Stores, userId: string, now: number): Promise<void> {
  await stores.revocations.setHolderDisabled(`user:${userId}`, true, now);
  await stores.sessions.deleteByUser(userId);
  await stores.grants.revokeByUser(userId, now);
}

/**
 * Disables a user (ending what they hold: sessions, grants, access tokens) or enables them again.
 * Enabling first revokes any grant created while they were disabled (a request in flight at the
 * time), then moves their cut-off to now: nothing issued before comes back.
 */
export async function setDisabled(stores: Stores, username: string, disabled: boolean, now: number): Promise<void> {
  const user = await stores.users.findByUsername(username);
  if (!user) throw new AdminError(`no user ${username}`);
  if (disabled) {
    await stores.users.put({ ...user, disabled, updatedAt: now });
    await endUserAccess(stores, user.id, now);
    return;
  }
  await restoreUserAccess(stores, user.id, now);
  await stores.users.put({ ...user, disabled, updatedAt: now });
}

/** Before a user is enabled again: grants made while disabled are revoked, tokens issued up to now stay refused. */
async function restoreUserAccess(stores: Stores, userId: string, now: number): Promise<void> {
  await stores.grants.revokeByUser(userId, now);
  await stores.revocations.setHolderDisabled(`user:${userId}`, false, now);
}

export function describeUser(u: UserRecord): Record<string, unknown> {
  return {
    id: u.id, username: u.username, email: u.email, email_verified: u.emailVerified, name: u.name, disabled: u.disabled,
    has_password: u.passwordHash !== null, created_at: new Date(u.createdAt * 1000).toISOString(),
  };
}
