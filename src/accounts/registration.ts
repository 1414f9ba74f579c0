// Self-registration (sign-up) input rules. Pure checks, no storage: the caller asks the user store
// whether the username is free. Password rules follow ASVS 6.2: at least 8 characters, long
// passphrases allowed (up to 1024), no composition rules, no passwords from a list of common
// ones, none equal to the username.
import { readFileSync } from 'node:fs';
import { canonicalUsername } from './usernames.ts';

/** The form's fields, as submitted (missing ones empty). */
export interface SignupInput {
  username: string;
  email: string;
  name: string;
  password: string;
  confirm: string;
}

export type SignupField = keyof SignupInput;
/** One message per field that is wrong; empty when the input is acceptable. */
export type SignupProblems = Partial<Record<SignupField, string>>;

/** Sign-up usernames: 3–32 characters, lower-case letters, digits and . _ - (starting with a letter or digit). */
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._-]{2,31}$/;
export const MAX_NAME_LENGTH = 128;
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 1024;
export const MAX_EMAIL_LENGTH = 254;

/**
 * One mailbox, as a user gives it: local part (1 to 64 characters) @ a domain with a dot, at most 254
 * characters, without white space, control characters or the characters that make a mail header
 * say more than one bare address (`,;:<>()[]"\`: a list, a display name, a group), so that a mail
 * to it can only go to it.
 */
export function isEmailAddress(s: string): boolean {
  return (
    s.length <= MAX_EMAIL_LENGTH &&
    /^[^\s@,;:<>()[\]"\\]{1,64}@[^\s@,;:<>()[\]"\\]+\.[^\s@,;:<>()[\]"\\]+$/u.test(s) &&
    !/[\p{Cc}\u2028\u2029]/u.test(s)
  );
}

const COMMON = new Set(
  readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8')
    .split('\n')
    .map((l) => l.trim().toLowerCase())
    .filter((l) => l && !l.startsWith('#')),
);

/** Whether a password is on the built-in list of common passwords (case-insensitive). */
export function isCommonPassword(password: string): boolean {
  return COMMON.has(password.toLowerCase());
}

/**
 * A sign-up username as typed, in its canonical form (RFC 8265 PRECIS UsernameCaseMapped: case
 * folded, width mapped, NFC), so "Alice", "alice" and "ａｌｉｃｅ" are one name; surrounding spaces
 * dropped. A name with no canonical form is returned trimmed, for validateSignup to refuse.
 */
export function normalizeUsername(username: string): string {
  const trimmed = username.trim();
  return canonicalUsername(trimmed) ?? trimmed;
}

/**
 * Why a password is not acceptable for this username, or undefined (ASVS 6.2.1, 6.2.2, 6.2.4, 6.2.5, 6.2.9, 6.2.11).
 */
export function passwordProblem(password: string, username: string): string | undefined {
  const length = [...password].length;
  if (length === 0) return 'Choose a password.';
  if (length < MIN_PASSWORD_LENGTH) return `The password must be at least ${MIN_PASSWORD_LENGTH} characters long.`;
  if (password.length > MAX_PASSWORD_LENGTH)
    return `The password must be at most ${MAX_PASSWORD_LENGTH} characters long.`;
  if (
    username !== '' &&
    (password.toLowerCase() === username.toLowerCase() ||
      (canonicalUsername(password) ?? password) === (canonicalUsername(username) ?? username))
  )
    return 'The password must not be your username.';
  if (isCommonPassword(password))
    return 'This password is too common and easy to guess. Choose another one; a few unrelated words make a good one.';
  return undefined;
}

// Control characters (C0, DEL, C1) and the Unicode line and paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Checks a sign-up form. The username is expected normalized (normalizeUsername). */
export function validateSignup(input: SignupInput, opts: { emailRequired: boolean }): SignupProblems {
  const problems: SignupProblems = {};
  if (input.username === '') problems.username = 'Choose a username.';
  else if (!USERNAME_PATTERN.test(input.username))
    problems.username =
      'The username must be 3 to 32 characters: letters, digits, dots, dashes or underscores, starting with a letter or digit.';
  if (input.email === '') {
    if (opts.emailRequired) problems.email = 'Enter your email address.';
  } else if (!isEmailAddress(input.email)) {
    problems.email = 'Enter a valid email address, like name@example.com.';
  }
  if ([...input.name].length > MAX_NAME_LENGTH)
    problems.name = `The name must be at most ${MAX_NAME_LENGTH} characters long.`;
  else if (CONTROL.test(input.name)) problems.name = 'The name contains characters that are not allowed.';
  const pw = passwordProblem(input.password, input.username);
  if (pw) problems.password = pw;
  else if (input.confirm !== input.password) problems.confirm = 'The two passwords do not match.';
  return problems;
}
