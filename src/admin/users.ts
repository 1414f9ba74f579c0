import { randomUUID } from 'node:crypto';
import { hashPassword, verifyPassword } from '../accounts/passwords.ts';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../accounts/registration.ts';
import {
  checkPassword as checkPasswordRule,
  checkUserInput as checkUserInputRule,
  UserInputError,
  type UserInput,
} from '../accounts/users.ts';
import { canonicalUsername, usernameSkeleton } from '../accounts/usernames.ts';
import type { FactorKind } from '../ports/factors.ts';
import type { Stores } from '../ports/index.ts';
import type { SessionRecord } from '../ports/sessions.ts';
import { tokenHash } from '../protocol/hash.ts';
import type { UserRecord } from '../ports/users.ts';
import { AdminError, ConflictError, NotFoundError } from './errors.ts';
import { requireAnotherOwner } from './roles.ts';

export { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH };
export type { UserInput } from '../accounts/users.ts';

/** A user as operators name one: a username (the CLI, the bootstrap file) or `{ id }` (the admin API). */
export type UserKey = string | { id: string };

/** The user `key` names; NotFoundError (404 in the admin API) when there is none. */
export async function findUser(stores: Pick<Stores, 'users'>, key: UserKey): Promise<UserRecord> {
  const user = typeof key === 'string' ? await stores.users.findByUsername(key) : await stores.users.get(key.id);
  if (!user) throw new NotFoundError(`no user ${typeof key === 'string' ? key : key.id}`);
  return user;
}

/** Runs an accounts/users.ts check, refusing with an AdminError (same message) as every operator operation does. */
function asAdmin(check: () => void): void {
  try {
    check();
  } catch (err) {
    throw err instanceof UserInputError ? new AdminError(err.message) : err;
  }
}

const checkPassword = (password: unknown, username: string) => asAdmin(() => checkPasswordRule(password, username));
const checkUserInput = (input: UserInput) => asAdmin(() => checkUserInputRule(input));

const describeOther = (u: UserRecord) =>
  `${u.username} (id ${u.id}, ${u.origin === 'signup' ? 'self-registered' : `created by ${u.origin ?? 'operator'}`} ${new Date(u.createdAt * 1000).toISOString()})`;

/** The same account, whatever the order of the fields and the time of the last update. */
const sameUser = (a: UserRecord, b: UserRecord) => {
  const norm = (u: UserRecord) =>
    JSON.stringify(Object.entries({ ...u, updatedAt: 0 }).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  return norm(a) === norm(b);
};

export interface SaveUserResult {
  user: UserRecord;
  created: boolean;
  changed: boolean;
  /** An account provisioning did not create was taken over (adopt: true): audit it. */
  adopted: boolean;
  /** The password changed on an existing account: its sessions were ended and grants revoked. */
  passwordChanged: boolean;
  /** Whether a second factor is required of the user changed (a new user: when it is required). */
  mfaRequiredChanged: boolean;
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
    throw new AdminError(
      `user ${input.username}: an account with this name exists that provisioning did not create: ${describeOther(existing)}. ` +
        'It is left as it is. To take it over (its sessions end and its grants are revoked), set adopt: true for it in the bootstrap file, or use tessera user create --adopt-existing',
    );
  }
  if (!existing) {
    // A deleted account's name stays reserved (TESSERA_USERNAME_RESERVATION), for operators too.
    if (await stores.users.usernameReserved(input.username, now))
      throw new AdminError(
        `user ${input.username}: this username belonged to a deleted account and is still reserved (TESSERA_USERNAME_RESERVATION)`,
      );
    const lookalike = await stores.users.findConfusable(input.username);
    // The same name, created meanwhile by another process: judge it again as an existing account.
    if (lookalike && canonicalUsername(lookalike.username) === canonicalUsername(input.username) && attempt < 3)
      return saveUser(stores, input, now, attempt + 1);
    if (lookalike)
      throw new AdminError(
        `user ${input.username}: looks like the existing user ${describeOther(lookalike)}; choose a name that cannot be mistaken for it`,
      );
  }
  let passwordHash = existing?.passwordHash ?? null;
  let passwordChanged = false;
  if (input.password !== undefined && !(await verifyPassword(input.password, passwordHash))) {
    passwordHash = await hashPassword(input.password);
    passwordChanged = existing !== undefined;
  }
  const user: UserRecord = {
    id: existing?.id ?? randomUUID(),
    username: input.username,
    passwordHash,
    email: input.email ?? existing?.email ?? null,
    emailVerified: input.email_verified ?? existing?.emailVerified ?? false,
    name: input.name ?? existing?.name ?? null,
    givenName: input.given_name ?? existing?.givenName ?? null,
    familyName: input.family_name ?? existing?.familyName ?? null,
    disabled: input.disabled ?? existing?.disabled ?? false,
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
    origin: 'operator',
    // Set by operators (tessera user require-mfa) and by the enrolment policy: kept as they are (a
    // user read back carries them only when set, so the record stays equal to the one stored).
    ...((input.mfa_required ?? existing?.mfaRequired) ? { mfaRequired: true } : {}),
    ...(existing?.mfaEnrolBy != null ? { mfaEnrolBy: existing.mfaEnrolBy } : {}),
    // The user's own choice on their profile: provisioning never takes it away.
    ...(existing?.locale ? { locale: existing.locale } : {}),
  };
  if (existing && !adopted && sameUser(existing, user)) {
    return {
      user: existing,
      created: false,
      changed: false,
      adopted: false,
      passwordChanged: false,
      mfaRequiredChanged: false,
    };
  }
  if (!existing) {
    // Atomic: another process (or a sign-up) creating the same name meanwhile makes this one lose,
    // and the account is then judged again as an existing one.
    if (!(await stores.users.create(user))) {
      if (attempt >= 3) throw new AdminError(`user ${input.username}: could not be created (its name or id is taken)`);
      return saveUser(stores, input, now, attempt + 1);
    }
    return {
      user,
      created: true,
      changed: true,
      adopted: false,
      passwordChanged: false,
      mfaRequiredChanged: user.mfaRequired === true,
    };
  }
  if (user.disabled && !existing.disabled)
    await requireAnotherOwner(stores, existing.id, now, `Disabling ${existing.username}`);
  await stores.users.put(user);
  // A credential change or a takeover ends the user's sessions and revokes their grants (ASVS 7.4.3);
  // so does disabling (ASVS 7.4.2).
  if (adopted || passwordChanged || (user.disabled && !existing.disabled)) await endUserAccess(stores, user.id, now);
  if (!user.disabled && existing.disabled) await restoreUserAccess(stores, user.id, now);
  return {
    user,
    created: false,
    changed: true,
    adopted,
    passwordChanged,
    mfaRequiredChanged: (user.mfaRequired ?? false) !== (existing.mfaRequired ?? false),
  };
}

/** Sets a user's password (the policy applies) and ends their sessions and grants (ASVS 7.4.3). */
export async function setPassword(
  stores: Stores,
  username: UserKey,
  password: string,
  now: number,
): Promise<UserRecord> {
  const user = await findUser(stores, username);
  checkPassword(password, user.username);
  await stores.users.put({ ...user, passwordHash: await hashPassword(password), updatedAt: now });
  await endUserAccess(stores, user.id, now);
  return user;
}

/**
 * Ends every session and revokes every grant of a user (ASVS 7.4.2), forgets their remembered
 * browsers, and refuses their access
 * tokens at introspection and userinfo at once (the user's cut-off in revoked_tokens).
 */
async function endUserAccess(stores: Stores, userId: string, now: number): Promise<void> {
  await stores.revocations.setHolderDisabled(`user:${userId}`, true, now);
  await stores.sessions.deleteByUser(userId);
  await stores.grants.revokeByUser(userId, now);
  // A browser remembered after a second factor was trusted by whoever held the account until now.
  await stores.signIns.forgetUser(userId);
}

/**
 * Disables a user (ending what they hold: sessions, grants, access tokens) or enables them again.
 * Enabling first revokes any grant created while they were disabled (a request in flight at the
 * time), then moves their cut-off to now: nothing issued before comes back. The last owner is never
 * disabled (409). The user before and after; `changed` false when it was so already (nothing done).
 * The caller tells the clients of the ended sessions (back-channel logout: takeClientsByUser).
 */
export async function setDisabled(
  stores: Stores,
  username: UserKey,
  disabled: boolean,
  now: number,
): Promise<{ before: UserRecord; user: UserRecord; changed: boolean }> {
  const before = await findUser(stores, username);
  if (before.disabled === disabled) {
    // Disabled already: what they hold is ended again all the same (fail closed); nothing else changes.
    if (disabled) await endUserAccess(stores, before.id, now);
    return { before, user: before, changed: false };
  }
  const user = { ...before, disabled, updatedAt: now };
  if (disabled) {
    await requireAnotherOwner(stores, before.id, now, `Disabling ${before.username}`);
    await stores.users.put(user);
    await endUserAccess(stores, user.id, now);
    return { before, user, changed: true };
  }
  await restoreUserAccess(stores, user.id, now);
  await stores.users.put(user);
  return { before, user, changed: true };
}

/** Before a user is enabled again: grants made while disabled are revoked, tokens issued up to now stay refused. */
async function restoreUserAccess(stores: Stores, userId: string, now: number): Promise<void> {
  await stores.grants.revokeByUser(userId, now);
  await stores.revocations.setHolderDisabled(`user:${userId}`, false, now);
}

export function describeUser(u: UserRecord): Record<string, unknown> {
  return {
    id: u.id,
    username: u.username,
    email: u.email,
    email_verified: u.emailVerified,
    name: u.name,
    disabled: u.disabled,
    has_password: u.passwordHash !== null,
    mfa_required: u.mfaRequired ?? false,
    created_at: new Date(u.createdAt * 1000).toISOString(),
  };
}

/**
 * A username that needs an operator's decision: a canonical duplicate or invalid name kept by migration 0014, or
 * look-alikes.
 */
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
export async function usernameCollisions(
  stores: Stores,
  opts: { withConfusables: boolean },
): Promise<UsernameCollision[]> {
  const out: UsernameCollision[] = [];
  for (const u of await stores.users.listUnresolved()) {
    const canonical = canonicalUsername(u.username);
    const holder = canonical === undefined ? undefined : await stores.users.findByCanonical(canonical);
    out.push(
      canonical === undefined || !holder || holder.id === u.id
        ? { kind: 'invalid', username: u.username, id: u.id, with: [] }
        : { kind: 'duplicate', username: u.username, id: u.id, with: [{ username: holder.username, id: holder.id }] },
    );
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
        out.push({
          kind: 'confusable',
          username: u.username,
          id: u.id,
          with: [{ username: first!.username, id: first!.id }],
        });
      }
    }
  }
  return out;
}

/** The start-up warning about usernames left unresolved by migration 0014, or undefined. */
export async function usernameCollisionWarning(stores: Stores): Promise<string | undefined> {
  const found = await usernameCollisions(stores, { withConfusables: false });
  if (found.length === 0) return undefined;
  const list = found.map((c) =>
    c.kind === 'duplicate'
      ? `${c.username} (id ${c.id}) is the same name as ${c.with[0]!.username} (id ${c.with[0]!.id})`
      : `${c.username} (id ${c.id}) is not a valid username`,
  );
  return `${found.length} existing username(s) collide or are not valid; they sign in by their exact name only until resolved (tessera user collisions): ${list.join('; ')}`;
}

// ---- operators' actions on an account (tessera user ...; the admin API later) ---------------------

/**
 * Removes every second factor (authenticator apps, passkeys) and recovery code of a user, forgets
 * the browsers remembered after a second factor (TESSERA_MFA_REMEMBER_DEVICE) and ends their
 * sessions: for someone who lost their phone or key. Under a policy that requires a second factor
 * they enrol one again at their next sign-in. How many factors were removed.
 */
export async function resetFactors(
  stores: Stores,
  username: UserKey,
): Promise<{
  user: UserRecord;
  factors: number;
  /** The factors removed (id and kind only), for their factor_removed events and notices. */
  removed: { id: string; kind: FactorKind }[];
  devices: number;
  sessions: number;
}> {
  const user = await findUser(stores, username);
  const removed = (await stores.factors.listByUser(user.id)).map((f) => ({ id: f.id, kind: f.kind }));
  const factors = await stores.factors.deleteByUser(user.id);
  const devices = await stores.signIns.forgetUser(user.id);
  const sessions = await stores.sessions.deleteByUser(user.id);
  return { user, factors, removed, devices, sessions };
}

/**
 * The key of a user's second-factor failure counter (wrong TOTP codes, recovery codes and passkeys,
 * counted by protocol/interaction/second-factor.ts): `factor:<user id>`. `tessera user unlock` clears
 * it and any counter under `factor:<user id>:` (per-kind counters, should there be some).
 */
export const secondFactorCounterKey = (userId: string) => `factor:${userId}`;

/**
 * Clears the failure counters of an account, as a successful sign-in would and more: the password
 * counters of the account (alone, and with every source address: protocol/interaction/login-throttle.ts)
 * and its second-factor counters. The per-address counters of other accounts stay. How many counters.
 */
export async function unlockUser(stores: Stores, username: UserKey): Promise<{ user: UserRecord; counters: number }> {
  const user = await findUser(stores, username);
  // The login counters are named by the hash of the canonical username (as login-throttle.ts names them).
  const name = tokenHash(canonicalUsername(user.username) ?? user.username.toLowerCase());
  let counters = 0;
  if (await stores.counters.get(`login:user:${name}`, 0)) counters++;
  await stores.counters.reset(`login:user:${name}`);
  counters += await stores.counters.resetPrefix(`login:pair:${name}:`);
  const factor = secondFactorCounterKey(user.id);
  if (await stores.counters.get(factor, 0)) counters++;
  await stores.counters.reset(factor);
  counters += await stores.counters.resetPrefix(`${factor}:`);
  return { user, counters };
}

/** Marks a user's email address verified (the operator checked it); false when it was already. */
export async function markEmailVerified(
  stores: Stores,
  username: UserKey,
  now: number,
): Promise<{ user: UserRecord; changed: boolean }> {
  const user = await findUser(stores, username);
  if (!user.email) throw new ConflictError(`user ${user.username} has no email address to verify`);
  if (user.emailVerified) return { user, changed: false };
  const updated = { ...user, emailVerified: true, updatedAt: now };
  await stores.users.put(updated);
  return { user: updated, changed: true };
}

/**
 * Requires a second factor of this user whatever the deployment's policy (or stops requiring it).
 * A user without one enrols at their next sign-in. False when nothing changed.
 */
export async function setMfaRequired(
  stores: Stores,
  username: UserKey,
  required: boolean,
  now: number,
): Promise<{ user: UserRecord; changed: boolean }> {
  const user = await findUser(stores, username);
  if ((user.mfaRequired ?? false) === required) return { user, changed: false };
  const updated = { ...user, mfaRequired: required, updatedAt: now };
  await stores.users.put(updated);
  return { user: updated, changed: true };
}

/** A user's live sessions (not yet expired at `now`), most recently seen first. */
export async function userSessions(
  stores: Stores,
  username: UserKey,
  now: number,
): Promise<{ user: UserRecord; sessions: SessionRecord[] }> {
  const user = await findUser(stores, username);
  return { user, sessions: (await stores.sessions.listByUser(user.id)).filter((s) => s.expiresAt > now) };
}

/**
 * A session as operators see it: never the cookie's hash. The address and browser appear when the
 * session recorded them.
 */
export function describeSession(s: SessionRecord): Record<string, unknown> {
  return {
    sid: s.sid,
    created_at: new Date(s.createdAt * 1000).toISOString(),
    last_seen_at: new Date(s.lastSeenAt * 1000).toISOString(),
    auth_time: new Date(s.authTime * 1000).toISOString(),
    amr: s.amr,
    expires_at: new Date(s.expiresAt * 1000).toISOString(),
    ...(s.ip ? { ip: s.ip } : {}),
    ...(s.userAgent ? { user_agent: s.userAgent } : {}),
  };
}

/**
 * Ends every session of a user (they sign in again everywhere) and forgets the browsers remembered
 * after a second factor (each asks for it again); their grants stay (apps keep their refresh
 * tokens: tessera user disable or set-password revoke those). The caller tells the clients of those
 * sessions (back-channel logout). How many sessions.
 */
export async function endUserSessions(stores: Stores, username: UserKey): Promise<{ user: UserRecord; count: number }> {
  const user = await findUser(stores, username);
  const count = await stores.sessions.deleteByUser(user.id);
  await stores.signIns.forgetUser(user.id);
  return { user, count };
}

/** The fields of a user an operator changes (the admin API's PATCH); absent: left as they are, null: removed. */
export interface UserPatch {
  username?: string;
  email?: string | null;
  email_verified?: boolean;
  name?: string | null;
  given_name?: string | null;
  family_name?: string | null;
  mfa_required?: boolean;
}

/**
 * Changes a user's fields. A new username follows the rules of a new one (syntax; not another
 * account's, nor looking like one, nor reserved by a deleted account: 409). A new email address is
 * unverified unless `email_verified` says otherwise, and the reset and verification links mailed to
 * the old one end. `changed` false when the patch changes nothing (nothing written).
 */
export async function updateUser(
  stores: Stores,
  key: UserKey,
  patch: UserPatch,
  now: number,
): Promise<{ before: UserRecord; user: UserRecord; changed: boolean; emailChanged: boolean }> {
  const before = await findUser(stores, key);
  const username = patch.username ?? before.username;
  const email = patch.email === undefined ? before.email : patch.email;
  const pick = (v: string | null | undefined, old: string | null) => (v === undefined ? old : v);
  const name = pick(patch.name, before.name);
  const givenName = pick(patch.given_name, before.givenName);
  const familyName = pick(patch.family_name, before.familyName);
  checkUserInput({
    username,
    ...(email !== null ? { email } : {}),
    ...(name !== null ? { name } : {}),
    ...(givenName !== null ? { given_name: givenName } : {}),
    ...(familyName !== null ? { family_name: familyName } : {}),
  });
  if (username !== before.username) {
    const holder = await stores.users.findByUsername(username);
    if (holder && holder.id !== before.id)
      throw new ConflictError(`username ${username} is another account's: ${describeOther(holder)}`);
    if (!holder) {
      if (await stores.users.usernameReserved(username, now))
        throw new ConflictError(
          `username ${username} belonged to a deleted account and is still reserved (TESSERA_USERNAME_RESERVATION)`,
        );
      const lookalike = await stores.users.findConfusable(username);
      if (lookalike && lookalike.id !== before.id)
        throw new ConflictError(`username ${username} looks like the existing user ${describeOther(lookalike)}`);
    }
  }
  const emailChanged = (email ?? '').toLowerCase() !== (before.email ?? '').toLowerCase();
  if (email === null && patch.email_verified === true)
    throw new AdminError('email_verified cannot be true without an email address');
  const emailVerified =
    email === null ? false : (patch.email_verified ?? (emailChanged ? false : before.emailVerified));
  const { mfaRequired: _, ...rest } = before;
  const mfaRequired = patch.mfa_required ?? before.mfaRequired;
  const user: UserRecord = {
    ...rest,
    username,
    email,
    emailVerified,
    name,
    givenName,
    familyName,
    // Absent stays absent (false), as the store reads it back.
    ...(mfaRequired === true || (mfaRequired === false && before.mfaRequired !== undefined) ? { mfaRequired } : {}),
    updatedAt: now,
  };
  if (sameUser(before, user)) return { before, user: before, changed: false, emailChanged: false };
  await stores.users.put(user);
  if (emailChanged) {
    // Links mailed to the old address must not work for the new one's owner's account.
    await stores.accountTokens.invalidate(user.id, 'reset_password', now);
    await stores.accountTokens.invalidate(user.id, 'verify_email', now);
  }
  return { before, user, changed: true, emailChanged };
}

/**
 * A user as the admin API shows one: describeUser's fields and where the account came from, its
 * second factors (counts, never a secret), linked sign-ins and admin role.
 */
export async function describeUserDetail(stores: Stores, u: UserRecord): Promise<Record<string, unknown>> {
  const factors = (await stores.factors.listByUser(u.id)).filter((f) => f.confirmed);
  const role = await stores.adminRoles.get(u.id);
  return {
    ...describeUser(u),
    given_name: u.givenName,
    family_name: u.familyName,
    origin: u.origin ?? 'operator',
    // The language the user chose on their profile, null for none (their browser's).
    locale: u.locale ?? null,
    updated_at: new Date(u.updatedAt * 1000).toISOString(),
    mfa: {
      required: u.mfaRequired ?? false,
      enrolled: factors.length > 0,
      enrol_by: u.mfaEnrolBy ? new Date(u.mfaEnrolBy * 1000).toISOString() : null,
      totp: factors.filter((f) => f.kind === 'totp').length,
      passkeys: factors.filter((f) => f.kind === 'passkey').length,
      recovery_codes: await stores.factors.countRecoveryCodes(u.id),
    },
    linked_identities: (await stores.upstreamIdentities.listByUser(u.id)).length,
    admin_role: role?.role ?? null,
  };
}
