// Users: the rules of a user's fields and the creation of a new account, for self-registration
// (protocol/interaction/signup.ts) and the operator's provisioning (admin/users.ts) alike.
import { randomUUID } from 'node:crypto';
import type { Stores } from '../ports/index.ts';
import type { UserOrigin, UserRecord } from '../ports/users.ts';
import { hashPassword } from './passwords.ts';
import { isEmailAddress, passwordProblem } from './registration.ts';
import { canonicalUsername, isReservedUsername, usernameSyntaxProblem } from './usernames.ts';

/** A user's fields that break the rules; the message names the user and the problem. */
export class UserInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserInputError';
  }
}

export interface UserInput {
  username: string;
  password?: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  given_name?: string;
  family_name?: string;
  disabled?: boolean;
  /** A second factor is required of this user whatever the policy (absent: left as it is). */
  mfa_required?: boolean;
  /**
   * Take over an existing account of this name that provisioning did not create (self-registered):
   * explicit and audited; the account's sessions end and its grants are revoked. Without it,
   * provisioning refuses such an account.
   */
  adopt?: boolean;
}

/** The one password policy (sign-up, CLI, bootstrap file, set-password): ASVS 6.2, see registration.ts. */
export function checkPassword(password: unknown, username: string): void {
  if (typeof password !== 'string') throw new UserInputError(`user ${username}: password must be a string`);
  const problem = passwordProblem(password, username);
  if (problem)
    throw new UserInputError(
      `user ${username}: ${problem.replace(/^The password/, 'password').replace(/ your username/, ' the username')}`,
    );
}

/** The shape of a user's fields (username syntax, email, flags, names). */
export function checkUserInput(input: UserInput): void {
  if (typeof input.username !== 'string' || input.username.length === 0 || input.username.length > 255)
    throw new UserInputError('username must be 1-255 characters');
  const problem = usernameSyntaxProblem(input.username);
  if (problem) throw new UserInputError(`user ${input.username}: ${problem}`);
  if (input.email !== undefined && (typeof input.email !== 'string' || !isEmailAddress(input.email)))
    throw new UserInputError(`email ${input.email} is not an email address`);
  for (const k of ['email_verified', 'disabled', 'adopt', 'mfa_required'] as const) {
    if (input[k] !== undefined && typeof input[k] !== 'boolean')
      throw new UserInputError(`user ${input.username}: ${k} must be true or false`);
  }
  for (const k of ['name', 'given_name', 'family_name'] as const) {
    if (input[k] !== undefined && typeof input[k] !== 'string')
      throw new UserInputError(`user ${input.username}: ${k} must be a string`);
  }
}

/**
 * Why a new account may not have this name: taken, looks like an existing one, or reserved (only for origins other than
 * operator).
 */
export type NewUsernameRefusal = 'username_taken' | 'username_confusable' | 'username_reserved';

async function newUsernameRefusal(
  stores: Pick<Stores, 'users'>,
  username: string,
  origin: UserOrigin,
  issuer: string | undefined,
  now: number,
): Promise<{ reason: NewUsernameRefusal; other?: UserRecord } | undefined> {
  const same = await stores.users.findByUsername(username);
  if (same) return { reason: 'username_taken', other: same };
  // A deleted account's name stays reserved for TESSERA_USERNAME_RESERVATION, whoever asks.
  if (await stores.users.usernameReserved(username, now)) return { reason: 'username_reserved' };
  if (origin !== 'operator' && isReservedUsername(username, issuer)) return { reason: 'username_reserved' };
  const lookalike = await stores.users.findConfusable(username);
  if (lookalike)
    return {
      reason:
        canonicalUsername(lookalike.username) === canonicalUsername(username)
          ? 'username_taken'
          : 'username_confusable',
      other: lookalike,
    };
  return undefined;
}

/**
 * Creates a new user, never touching an existing one (throws a UserInputError on fields of the wrong
 * shape). Used by self-registration (origin signup)
 * and, later, upstream sign-in: the name must be free in canonical form, not look like an
 * existing one (UTS #39 skeleton) and not be reserved (a reserved word, or a deleted account's
 * name during its reservation: users.usernameReserved). Another creation of the same name winning
 * a race is `username_taken` too.
 */
export async function createUser(
  stores: Pick<Stores, 'users'>,
  input: UserInput,
  now: number,
  opts: { origin: UserOrigin; issuer?: string },
): Promise<{ user: UserRecord } | { refused: NewUsernameRefusal }> {
  checkUserInput(input);
  if (input.password !== undefined) checkPassword(input.password, input.username);
  const refusal = await newUsernameRefusal(stores, input.username, opts.origin, opts.issuer, now);
  if (refusal) return { refused: refusal.reason };
  const user: UserRecord = {
    id: randomUUID(),
    username: input.username,
    passwordHash: input.password !== undefined ? await hashPassword(input.password) : null,
    email: input.email ?? null,
    emailVerified: input.email_verified ?? false,
    name: input.name ?? null,
    givenName: input.given_name ?? null,
    familyName: input.family_name ?? null,
    disabled: input.disabled ?? false,
    createdAt: now,
    updatedAt: now,
    origin: opts.origin,
  };
  return (await stores.users.create(user)) ? { user } : { refused: 'username_taken' };
}
