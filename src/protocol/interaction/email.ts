// Email verification (TESSERA_EMAIL_VERIFICATION): a single-use link mailed to an address
// (at sign-up, and by the account page when the address changes: `sendVerification`), opened at
// GET /verify-email?token=..., which only shows a button: link scanners that fetch every URL in a
// mail must not use it up. The button's POST uses the token and sets email_verified, provided the
// address is still the account's. In before-sign-in mode an account with an unverified address
// cannot sign in with its password: `emailVerificationRequired` says so, and
// `unverifiedEmailAnswer` is the page to show instead (it offers to send the link again).
import { msg, type Msg } from '../../i18n/catalog.ts';
import type { ProblemKey } from './problem.ts';
import type { Config } from '../../config/config.ts';
import type { UserRecord } from '../../ports/users.ts';
import { keyedHash, randomToken, safeEqual, tokenHash } from '../hash.ts';
import { mailLocale } from '../mail-language.ts';
import { readFormParams } from '../params.ts';
import type { CookieSpec, DepsOf, OAuthResponse, Provider, ProtocolRequest, StoreDeps } from '../provider.ts';
import { checkCsrf, csrfToken } from './session.ts';

/** The browser secret the CSRF tokens of the mail pages (verification, password reset) are bound to. */
export const RECOVERY_COOKIE = 'tessera_recovery';
const COOKIE_AGE = 3600;

/** This browser's secret for the mail pages, and the cookie that keeps it (set again on every page). */
export function recoverySecret(req: ProtocolRequest): { secret: string; cookie: CookieSpec } {
  const have = req.cookies[RECOVERY_COOKIE];
  const secret = have && /^[A-Za-z0-9_-]{20,128}$/.test(have) ? have : randomToken(32);
  return { secret, cookie: { name: RECOVERY_COOKIE, value: secret, maxAge: COOKIE_AGE, path: '/' } };
}

/** A mail page's form as posted: its fields, or undefined when the form or its CSRF token is not valid. */
export function recoveryForm(
  p: DepsOf<typeof checkCsrf>,
  req: ProtocolRequest,
  purpose: string,
  fields: readonly string[],
): Record<string, string | undefined> | undefined {
  const limits: Record<string, number> = {
    csrf: 128,
    token: 128,
    ticket: 256,
    password: 1024,
    confirm: 1024,
    response: 16_384,
  };
  const form = readFormParams(req.params, new Set(['csrf', ...fields]), limits);
  if (!form) return undefined;
  if (!checkCsrf(p, purpose, req.cookies[RECOVERY_COOKIE], form.csrf)) return undefined;
  return form;
}

/** How a mail flow ended: the catalog's `<problem>.title` and `.message`, with a link onwards. */
export const messagePage = (problem: ProblemKey, status = 200, link?: { href: string; text: Msg }): OAuthResponse => ({
  kind: 'page',
  status,
  view: {
    name: 'recovery-done',
    title: msg(`${problem}.title`),
    message: msg(`${problem}.message`),
    ...(link ? { link } : {}),
  },
});

export const formExpired = (): OAuthResponse => messagePage('interaction.mail.formExpired', 403);

/** A token as it appears in a link: 43 base64url characters (32 random bytes). */
export const tokenShape = (t: string | undefined | null): t is string => !!t && /^[A-Za-z0-9_-]{43}$/.test(t);

/** When a mail is sent: a human-readable UTC time for the templates. */
export const mailTime = (now: number) => new Date(now * 1000).toUTCString();

/** What sending a verification link uses: the issuer and link lifetime, the clock, the mailer, events and log. */
export type SendVerificationDeps = Pick<Provider, 'now' | 'mail' | 'events' | 'log'> & {
  readonly config: Pick<Config, 'issuer' | 'emailLinkTtl' | 'emailVerification' | 'defaultLocale'>;
} & StoreDeps<'accountTokens'>;

/**
 * Mails a verification link for `address` to it (sign-up; the account page after a change of
 * address). Earlier verification links of the user end. Throws when the mail could not be queued.
 * `asked` and `uiLocales`: the request that caused it and its sign-in's ui_locales (the mail's language).
 */
export async function sendVerification(
  p: SendVerificationDeps,
  user: Pick<UserRecord, 'id' | 'username' | 'locale'>,
  address: string,
  asked?: Pick<ProtocolRequest, 'headers' | 'cookies'>,
  uiLocales?: string,
): Promise<void> {
  const token = randomToken(32);
  const now = p.now();
  await p.stores.accountTokens.issue(
    {
      tokenHash: tokenHash(token),
      userId: user.id,
      purpose: 'verify_email',
      address,
      createdAt: now,
      expiresAt: now + p.config.emailLinkTtl,
    },
    { replace: true },
  );
  await p.mail.send({
    to: address,
    template: 'verify-email',
    vars: {
      username: user.username,
      address,
      link: `${p.config.issuer}/verify-email?token=${token}`,
      ttl: String(p.config.emailLinkTtl),
    },
    userId: user.id,
    locale: mailLocale(asked, p.config, user, uiLocales),
  });
  p.events({ type: 'email_verification_sent', userId: user.id });
}

/**
 * before-sign-in mode: whether this account may not sign in yet because its address is unverified
 * (an account without an address is not held back). For the login steps (checkLogin's callers).
 */
export function emailVerificationRequired(
  p: { readonly config: Pick<Config, 'emailVerification'> },
  user: Pick<UserRecord, 'email' | 'emailVerified'>,
): boolean {
  return p.config.emailVerification === 'before-sign-in' && !!user.email && !user.emailVerified;
}

/** A resend ticket: the user id and an expiry under an HMAC of the server secret (no state kept). */
function resendTicket(p: { readonly config: Pick<Config, 'secret'> }, userId: string, exp: number): string {
  const body = Buffer.from(JSON.stringify([userId, exp])).toString('base64url');
  return `${body}.${keyedHash(p.config.secret, `resend-verification:${body}`)}`;
}

function readTicket(p: { readonly config: Pick<Config, 'secret'> }, ticket: string, now: number): string | undefined {
  const [body, mac] = ticket.split('.');
  if (!body || !mac || !safeEqual(keyedHash(p.config.secret, `resend-verification:${body}`), mac)) return undefined;
  try {
    const [userId, exp] = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as [string, number];
    return typeof userId === 'string' && typeof exp === 'number' && exp > now ? userId : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An address as shown to someone who may not own it (the page of a sign-in held back, the old address
 * told of a change): enough to recognise, not enough to harvest (j***@example.com).
 */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  return `${email.slice(0, Math.min(1, at))}***${email.slice(at)}`;
}

/**
 * The page a password sign-in of an account with an unverified address gets in before-sign-in mode
 * (status 403): the address is not verified yet, with a button that mails the link again.
 */
export function unverifiedEmailAnswer(
  p: Pick<Provider, 'now'> & { readonly config: Pick<Config, 'issuer' | 'secret'> },
  req: ProtocolRequest,
  user: Pick<UserRecord, 'id' | 'email' | 'locale'>,
  opts: { sent?: boolean; status?: number } = {},
): OAuthResponse {
  const { secret, cookie } = recoverySecret(req);
  return {
    kind: 'page',
    status: opts.status ?? 403,
    ...(user.locale ? { language: { userLocale: user.locale } } : {}),
    cookies: [cookie],
    view: {
      name: 'email-unverified',
      action: `${p.config.issuer}/verify-email/resend`,
      csrf: csrfToken(p, 'verify-resend', secret),
      ticket: resendTicket(p, user.id, p.now() + 900),
      address: maskEmail(user.email ?? ''),
      sent: opts.sent ?? false,
    },
  };
}

/** What the verification pages use. */
export type VerifyEmailDeps = SendVerificationDeps & {
  readonly config: Pick<Config, 'secret' | 'secretPrevious'>;
} & StoreDeps<'users' | 'counters'>;

const badLink = () => messagePage('interaction.mail.verifyLinkInvalid', 400);

/** GET /verify-email?token=: a page with one button; the token is not used yet. */
export async function showVerifyEmail(p: VerifyEmailDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const token = req.params.get('token');
  if (!tokenShape(token)) return badLink();
  const t = await p.stores.accountTokens.peek(tokenHash(token), 'verify_email', p.now());
  if (!t) return badLink();
  const { secret, cookie } = recoverySecret(req);
  return {
    kind: 'page',
    status: 200,
    cookies: [cookie],
    view: {
      name: 'verify-email',
      action: `${p.config.issuer}/verify-email`,
      csrf: csrfToken(p, 'verify-email', secret),
      token,
      address: t.address,
    },
  };
}

/** POST /verify-email: uses the token (once) and marks the address verified if it is still the account's. */
export async function submitVerifyEmail(p: VerifyEmailDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const form = recoveryForm(p, req, 'verify-email', ['token']);
  if (!form) return formExpired();
  if (!tokenShape(form.token)) return badLink();
  const now = p.now();
  const t = await p.stores.accountTokens.consume(tokenHash(form.token), 'verify_email', now);
  if (!t) return badLink();
  if (!(await p.stores.accountTokens.markEmailVerified(t.userId, t.address, now)))
    return messagePage('interaction.mail.addressChanged', 409);
  p.events({ type: 'email_verified', userId: t.userId, ip: req.ip });
  p.log.info({ event: 'email_verified', sub: t.userId }, 'email address verified');
  return messagePage('interaction.mail.confirmed');
}

/** POST /verify-email/resend: from the page of a sign-in held back; at most 3 mails per account per hour. */
export async function resendVerification(p: VerifyEmailDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const form = recoveryForm(p, req, 'verify-resend', ['ticket']);
  if (!form) return formExpired();
  const now = p.now();
  const userId = readTicket(p, form.ticket ?? '', now);
  const user = userId ? await p.stores.users.get(userId) : undefined;
  if (!user || user.disabled || !user.email) return messagePage('interaction.mail.ticketExpired', 400);
  if (user.emailVerified) return messagePage('interaction.mail.confirmedAlready');
  const { count } = await p.stores.counters.hit(`verify-resend:${user.id}`, now, 3600);
  if (count <= 3) await sendVerification(p, user, user.email, req);
  return unverifiedEmailAnswer(p, req, user, { sent: true, status: 200 });
}
