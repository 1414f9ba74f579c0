import { randomUUID } from 'node:crypto';
import { hashPassword, verifyPassword } from '../accounts/passwords.ts';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, passwordProblem } from '../accounts/registration.ts';
import { canonicalUsername, isReservedUsername, usernameSkeleton, usernameSyntaxProblem } from '../accounts/usernames.ts';
import type { Stores } from '../ports/index.ts';
import type { UserOrigin, UserRecord } from '../ports/users.ts';
import { AdminError } from './clients.ts';

export { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH };

export interface UserInput {
  username: string;
  password?: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  given_name?: string;
  family_name?: string;
  disabled?: boolean;
  /**
   * Take over an existing account of this name that provisioning did not create (self-registered):
   * explicit and audited; the account's sessions end and its grants are revoked. Without it,
   * provisioning refuses such an account.
   */
  adopt?: boolean;
}

/** The one password policy (sign-up, CLI, bootstrap file, set-password): ASVS 6.2, see accounts/registration.ts. */
function checkPassword(password: unknown, username: string): void {
  if (typeof password !== 'string') throw new AdminError(`user ${username}: password must be a string`);
  const problem = passwordProblem(password, username);
  if (problem) throw new AdminError(`user ${username}: ${problem.replace(/^The password/, 'password').replace(/ your username/, ' the username')}`);
}

function checkUserInput(input: UserInput): void {
  if (typeof input.username !== 'string' || input.username.length === 0 || input.username.length > 255) throw new AdminError('username must be 1-255 characters');
  const problem = usernameSyntaxProblem(input.username);
  if (problem) throw new AdminError(`user ${input.username}: ${problem}`);
  if (input.email !== undefined && (typeof input.email !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(input.email))) throw new AdminError(`email ${input.email} is not an email address`);
  for (const k of ['email_verified', 'disabled', 'adopt'] as const) {
    if (input[k] !== undefined && typeof input[k] !== 'boolean') throw new AdminError(`user ${input.username}: ${k} must be true or false`);
  }
  for (const k of ['name', 'given_name', 'family_name'] as const) {
    if (input[k] !== undefined && typeof input[k] !== 'string') throw new AdminError(`user ${input.username}: ${k} must be a string`);
  }
}

/** Why a new account may not have this name: taken, looks like an existing one, or reserved (only for origins other than operator). */
export type NewUsernameRefusal = 'username_taken' | 'username_confusable' | 'username_reserved';

async function newUsernameRefusal(stores: Stores, username: string, origin: UserOrigin, issuer: string | undefined): Promise<{ reason: NewUsernameRefusal; other?: UserRecord } | undefined> {
  const same = await stores.users.findByUsername(username);
  if (same) return { reason: 'username_taken', other: same };
  if (origin !== 'operator' && isReservedUsername(username, issuer)) return { reason: 'username_reserved' };
  const lookalike = await stores.users.findConfusable(username);
  if (lookalike) return { reason: canonicalUsername(lookalike.username) === canonicalUsername(username) ? 'username_taken' : 'username_confusable', other: lookalike };
  return undefined;
}

/**
 * Creates a new user, never touching an existing one. Used by self-registration (origin signup)
 * and, later, upstream sign-in: the name must be free in canonical form, not look like an
 * existing one (UTS #39 skeleton) and not be reserved. Another creation of the same name winning
 * a race is `username_taken` too.
 */
export async function createUser(stores: Stores, input: UserInput, now: number, opts: { origin: UserOrigin; issuer?: string }): Promise<{ user: UserRecord } | { refused: NewUsernameRefusal }> {
  checkUserInput(input);
  if (input.password !== undefined) checkPassword(input.password, input.username);
  const refusal = await newUsernameRefusal(stores, input.username, opts.origin, opts.issuer);
  if (refusal) return { refused: refusal.reason };
  const user: UserRecord = {
    id: randomUUID(), username: input.username, passwordHash: input.password !== undefined ? await hashPassword(input.password) : null,
    email: input.email ?? null, emailVerified: input.email_verified ?? false, name: input.name ?? null,
    givenName: input.given_name ?? null, familyName: input.family_name ?? null, disabled: input.disabled ?? false,
    createdAt: now, updatedAt: now, origin: opts.origin,
  };
  return (await stores.users.create(user)) ? { user } : { refused: 'username_taken' };
}

const describeOther = (u: UserRecord) => `${u.username} (id ${u.id}, ${u.origin === 'signup' ? 'self-registered' : `created by ${u.origin ?? 'operator'}`} ${new Date(u.createdAt * 1000).toISOString()})`;

export interface SaveUserResult {
  user: UserRecord;
  created: boolean;
  changed: boolean;
  /** An account provisioning did not create was taken over (adopt: true): audit it. */
  adopted: boolean;
  /** The password changed on an existing account: its sessions were ended and grants revoked. */
  passwordChanged: boolean;
}

/**
 * Provisioning (bootstrap file, CLI, demo seed): creates a user or updates one that provisioning
 * created, matched by canonical username. The password is re-hashed only when it changed; a change
 * ends the user's sessions and revokes their grants. An account that provisioning did not create
 * (self-registered) is never taken over silently: refused naming it, unless `adopt` is set, which
 * also ends that account's sessions and grants (the caller audits it).
 */
export async function saveUser(stores: Stores, input: UserInput, now: number, attempt = 1): Promise<SaveUserResult> {
  checkUserInput(input);
  if (input.password !== undefined) checkPassword(input.password, input.username);
  const existing = await stores.users.findByUsername(input.username);
  const adopted = existing !== undefined && (existing.origin ?? 'operator') !== 'operator';
  if (adopted && input.adopt !== true) {
    throw new AdminError(`user ${input.username}: an account with this name exists that provisioning did not create: ${describeOther(existing)}. `
      + 'It is left as it is. To take it over (its sessions end and its grants are revoked), set adopt: true for it in the bootstrap file, or use tessera user create --adopt-existing');
  }
  if (!existing) {
    const lookalike = await stores.users.findConfusable(input.username);
    // The same name, created meanwhile by another process: judge it again as an existing account.
    if (lookalike && canonicalUsername(lookalike.username) === canonicalUsername(input.username) && attempt < 3) return saveUser(stores, input, now, attempt + 1);
    if (lookalike) throw new AdminError(`user ${input.username}: looks like the existing user ${describeOther(lookalike)}; choose a name that cannot be mistaken for it`);
  }
  let passwordHash = existing?.passwordHash ?? null;
  let passwordChanged = false;
  if (input.password !== undefined && !(await verifyPassword(input.password, passwordHash))) {
    passwordHash = await hashPassword(input.password);
    passwordChanged = existing !== undefined;
  }
  const user: UserRecord = {
    id: existing?.id ?? randomUUID(), username: input.username, passwordHash,
    email: input.email ?? existing?.email ?? null, emailVerified: input.email_verified ?? existing?.emailVerified ?? false,
    name: input.name ?? existing?.name ?? null, givenName: input.given_name ?? existing?.givenName ?? null,
    familyName: input.family_name ?? existing?.familyName ?? null, disabled: input.disabled ?? existing?.disabled ?? false,
    createdAt: existing?.createdAt ?? now, updatedAt: now, origin: 'operator',
  };
  if (existing && !adopted && JSON.stringify({ ...existing, updatedAt: 0 }) === JSON.stringify({ ...user, updatedAt: 0 })) {
    return { user: existing, created: false, changed: false, adopted: false, passwordChanged: false };
  }
  if (!existing) {
    // Atomic: another process (or a sign-up) creating the same name meanwhile makes this one lose,
    // and the account is then judged again as an existing one.
    if (!(await stores.users.create(user))) {
      if (attempt >= 3) throw new AdminError(`user ${input.username}: could not be created (its name or id is taken)`);
      return saveUser(stores, input, now, attempt + 1);
    }
    return { user, created: true, changed: true, adopted: false, passwordChanged: false };
  }
  await stores.users.put(user);
  // A credential change or a takeover ends the user's sessions and revokes their grants (ASVS 7.4.3);
  // so does disabling (ASVS 7.4.2).
  if (adopted || passwordChanged || (user.disabled && !existing.disabled)) await endUserAccess(stores, user.id, now);
  if (!user.disabled && existing.disabled) await restoreUserAccess(stores, user.id, now);
  return { user, created: false, changed: true, adopted, passwordChanged };
}

/** Sets a user's password (the policy applies) and ends their sessions and grants (ASVS 7.4.3). */
export async function setPassword(stores: Stores, username: string, password: string, now: number): Promise<UserRecord> {
  const user = await stores.users.findByUsername(username);
  if (!user) throw new AdminError(`no user ${username}`);
  checkPassword(password, user.username);
  await stores.users.put({ ...user, passwordHash: await hashPassword(password), updatedAt: now });
  await endUserAccess(stores, user.id, now);
  return user;
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

/** A username that needs an operator's decision: a canonical duplicate or invalid name kept by migration 0014, or look-alikes. */
export interface UsernameCollision {
  kind: 'duplicate' | 'invalid' | 'confusable';
  username: string;
  id: string;
  /** duplicate, confusable: the other account(s) it collides with. */
  with: { username: string; id: string }[];
}

/**
 * Usernames to resolve, never merged by Tessera: existing accounts whose names are one in canonical
 * form (RFC 8265) or not valid (they sign in by their exact name only), and accounts whose names
 * look alike (UTS #39 skeleton). `withConfusables` reads every user (for the CLI listing).
 */
export async function usernameCollisions(stores: Stores, opts: { withConfusables: boolean }): Promise<UsernameCollision[]> {
  const out: UsernameCollision[] = [];
  for (const u of await stores.users.listUnresolved()) {
    const canonical = canonicalUsername(u.username);
    const holder = canonical === undefined ? undefined : await stores.users.findByCanonical(canonical);
    out.push(canonical === undefined || !holder || holder.id === u.id
      ? { kind: 'invalid', username: u.username, id: u.id, with: [] }
      : { kind: 'duplicate', username: u.username, id: u.id, with: [{ username: holder.username, id: holder.id }] });
  }
  if (opts.withConfusables) {
    const bySkeleton = new Map<string, UserRecord[]>();
    for (const u of await stores.users.list()) {
      const k = usernameSkeleton(u.username);
      bySkeleton.set(k, [...(bySkeleton.get(k) ?? []), u]);
    }
    for (const group of bySkeleton.values()) {
      if (group.length < 2) continue;
      const [first, ...rest] = group.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
      for (const u of rest) {
        if (out.some((c) => c.id === u.id && c.kind === 'duplicate')) continue;
        out.push({ kind: 'confusable', username: u.username, id: u.id, with: [{ username: first!.username, id: first!.id }] });
      }
    }
  }
  return out;
}

/** The start-up warning about usernames left unresolved by migration 0014, or undefined. */
export async function usernameCollisionWarning(stores: Stores): Promise<string | undefined> {
  const found = await usernameCollisions(stores, { withConfusables: false });
  if (found.length === 0) return undefined;
  const list = found.map((c) => c.kind === 'duplicate' ? `${c.username} (id ${c.id}) is the same name as ${c.with[0]!.username} (id ${c.with[0]!.id})` : `${c.username} (id ${c.id}) is not a valid username`);
  return `${found.length} existing username(s) collide or are not valid; they sign in by their exact name only until resolved (tessera user collisions): ${list.join('; ')}`;
}
