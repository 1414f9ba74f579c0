// Forgot password (TESSERA_PASSWORD_RESET). GET/POST /forgot-password takes a username or an email
// address and answers the same page at once, whatever it names: looking the account up, making the
// link and queuing the mail happen after the answer (setImmediate), so neither the words nor the
// time tell whether an account exists. A link goes only to an account's verified address, at most a
// few per account per hour (besides the route's per-address and per-username rate limit).
// GET /reset-password?token= shows the form (nothing used yet); its POST checks the new password
// (accounts/users.ts checkPassword, the one policy) and, for an account with a second factor, a
// TOTP code or a recovery code, then uses the token (once, atomically), sets the password, ends
// every session (telling the clients: back-channel logout) and revokes every grant and access
// token, and mails 'password-changed'. A newer link ends the older ones; a password sign-in ends
// them all (`invalidateResetLinks`).
import { msg, type Msg } from '../../i18n/catalog.ts';
import { passwordProblem } from '../../accounts/registration.ts';
import { waitMsg } from './problem.ts';
import { passwordProblemMsg } from './signup.ts';
import { hashPassword } from '../../accounts/passwords.ts';
import { useRecoveryCode } from '../../accounts/recovery-codes.ts';
import { normalizeTotpCode, verifyUserTotp } from '../../accounts/totp.ts';
import { checkPassword, UserInputError } from '../../accounts/users.ts';
import type { Config } from '../../config/config.ts';
import type { UserRecord } from '../../ports/users.ts';
import { randomToken, tokenHash } from '../hash.ts';
import { mailLocale } from '../mail-language.ts';
import { passkeySecondFactorBlock, verifyPasskeyForUser } from '../passkeys.ts';
import { userSessionsEnded } from '../logout/session-ended.ts';
import type { DepsOf, OAuthResponse, Provider, ProtocolRequest, StoreDeps } from '../provider.ts';
import {
  formExpired,
  mailTime,
  messagePage,
  RECOVERY_COOKIE,
  recoveryForm,
  recoverySecret,
  tokenShape,
} from './email.ts';
import { claimFactorAttempt, factorPassed, type FactorAttemptDeps } from './login-throttle.ts';
import { csrfToken } from './session.ts';

/** Reset mails per account within an idle hour; more are not sent (the page says the same). */
const MAILS_PER_ACCOUNT = 3;
/** Wrong second-factor codes on one reset link before it is ended. */
const CODE_ATTEMPTS = 5;

/** What the forgot-password page and its background work use. */
export type ForgotDeps = Pick<Provider, 'now' | 'mail' | 'events' | 'log'> & {
  readonly config: Pick<Config, 'issuer' | 'passwordResetTtl' | 'secret' | 'secretPrevious' | 'defaultLocale'>;
} & StoreDeps<'users' | 'accountTokens' | 'counters'>;

/** What the reset page uses: the forgot page's, the factors, and ending the user's sessions. */
export type ResetDeps = ForgotDeps & {
  readonly config: Pick<Config, 'keyEncryptionKey' | 'keyEncryptionKeyPrevious'>;
} & StoreDeps<'factors' | 'replay' | 'sessions' | 'grants' | 'revocations' | 'signIns'> &
  DepsOf<typeof userSessionsEnded> &
  FactorAttemptDeps &
  DepsOf<typeof passkeySecondFactorBlock> &
  DepsOf<typeof verifyPasskeyForUser>;

function forgotView(p: ForgotDeps, req: ProtocolRequest, sent: boolean, status = 200): OAuthResponse {
  const { secret, cookie } = recoverySecret(req);
  return {
    kind: 'page',
    status,
    cookies: [cookie],
    view: {
      name: 'forgot-password',
      action: `${p.config.issuer}/forgot-password`,
      csrf: csrfToken(p, 'forgot-password', secret),
      sent,
    },
  };
}

/** GET /forgot-password: the form. */
export async function showForgot(p: ForgotDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  return forgotView(p, req, false);
}

/** POST /forgot-password: the same answer for every name; the work is done after it. */
export async function submitForgot(p: ForgotDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const form = recoveryForm(p, req, 'forgot-password', ['username']);
  if (!form) return formExpired();
  const name = (form.username ?? '').trim();
  if (name.length > 0 && name.length <= 320) {
    const ip = req.ip;
    // The mail is in the language of this request unless the account chose one (mail-language.ts).
    const asked = { headers: req.headers, cookies: req.cookies };
    setImmediate(() => {
      requestReset(p, name, ip, asked).catch((err) =>
        p.log.warn({ event: 'password_reset_request_failed', err: String(err) }, 'password reset request failed'),
      );
    });
  }
  return forgotView(p, req, true);
}

/**
 * The work behind a forgot-password request: the accounts the name designates (a username, or an
 * address verified by one or more accounts), each mailed a new link to its verified address.
 * Exported for tests, which await it instead of the mail. `asked`: the request that asked for it (for the
 * mail's language); none when an operator did.
 */
export async function requestReset(
  p: ForgotDeps,
  name: string,
  ip?: string,
  asked?: Pick<ProtocolRequest, 'headers' | 'cookies'>,
): Promise<number> {
  let users: UserRecord[];
  if (name.includes('@')) {
    const ids = await p.stores.accountTokens.usersWithVerifiedEmail(name);
    users = (await Promise.all(ids.map((id) => p.stores.users.get(id)))).filter((u) => u !== undefined);
  } else {
    const u = await p.stores.users.findByUsername(name);
    users = u ? [u] : [];
  }
  let sent = 0;
  for (const user of users) {
    if (user.disabled || !user.email || !user.emailVerified) continue;
    const now = p.now();
    const { count } = await p.stores.counters.hit(`reset-mail:${user.id}`, now, 3600);
    if (count > MAILS_PER_ACCOUNT) {
      p.log.info({ event: 'password_reset_limited', sub: user.id }, 'password reset mail not sent: too many asked');
      continue;
    }
    const token = randomToken(32);
    await p.stores.accountTokens.issue(
      {
        tokenHash: tokenHash(token),
        userId: user.id,
        purpose: 'reset_password',
        address: user.email,
        createdAt: now,
        expiresAt: now + p.config.passwordResetTtl,
      },
      { replace: true },
    );
    await p.mail.send({
      to: user.email,
      template: 'password-reset',
      vars: {
        username: user.username,
        link: `${p.config.issuer}/reset-password?token=${token}`,
        ttl: String(p.config.passwordResetTtl),
      },
      userId: user.id,
      locale: mailLocale(asked, p.config, user),
    });
    p.events({ type: 'password_reset_requested', userId: user.id, ...(ip ? { ip } : {}) });
    sent++;
  }
  return sent;
}

/** A password sign-in succeeded: the account's reset links end (call after checkLogin accepts a password). */
export async function invalidateResetLinks(
  p: Pick<Provider, 'now'> & StoreDeps<'accountTokens'>,
  userId: string,
): Promise<void> {
  await p.stores.accountTokens.invalidate(userId, 'reset_password', p.now());
}

const badLink = () => messagePage('interaction.mail.resetLinkInvalid', 400);

/** The user's second factors as the reset page offers them: a code field (an app, recovery codes), passkeys. */
async function secondFactors(p: StoreDeps<'factors'>, userId: string) {
  const factors = await p.stores.factors.listByUser(userId);
  const totp = factors.some((f) => f.kind === 'totp' && f.confirmed);
  const passkey = factors.some((f) => f.kind === 'passkey' && f.confirmed);
  const code = totp || (await p.stores.factors.countRecoveryCodes(userId)) > 0;
  return { any: totp || passkey, code, passkey };
}

async function resetView(
  p: ResetDeps,
  req: ProtocolRequest,
  token: string,
  user: UserRecord,
  opts: { error?: Msg; status?: number } = {},
): Promise<OAuthResponse> {
  const { secret, cookie } = recoverySecret(req);
  const action = `${p.config.issuer}/reset-password`;
  const factors = await secondFactors(p, user.id);
  // The user's passkeys, answering a challenge bound to this browser's secret (the CSRF token's).
  const passkey = factors.passkey ? await passkeySecondFactorBlock(p, action, user.id, secret) : undefined;
  return {
    kind: 'page',
    status: opts.status ?? 200,
    cookies: [cookie],
    ...(user.locale ? { language: { userLocale: user.locale } } : {}),
    view: {
      name: 'reset-password',
      action,
      csrf: csrfToken(p, 'reset-password', secret),
      token,
      username: user.username,
      needsCode: factors.code,
      ...(passkey ? { passkey } : {}),
      ...(opts.error ? { error: opts.error } : {}),
    },
  };
}

async function liveToken(p: ResetDeps, token: string | null | undefined) {
  if (!tokenShape(token)) return undefined;
  const t = await p.stores.accountTokens.peek(tokenHash(token), 'reset_password', p.now());
  const user = t && (await p.stores.users.get(t.userId));
  if (!t || !user || user.disabled) return undefined;
  // The link was mailed to the account's verified address: once that is no longer the account's
  // (changed, or unverified since), whoever reads the old mailbox is not the owner any more.
  if (!user.email || !user.emailVerified || user.email.toLowerCase() !== t.address.toLowerCase()) return undefined;
  return { t, user, token };
}

/** GET /reset-password?token=: the new-password form (the token is not used yet). */
export async function showReset(p: ResetDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const live = await liveToken(p, req.params.get('token'));
  if (!live) {
    p.events({ type: 'password_reset_failed', reason: 'invalid_link', ip: req.ip });
    return badLink();
  }
  return resetView(p, req, live.token, live.user);
}

/** POST /reset-password: new password (and second factor), then the token is used and the account's access ends. */
export async function submitReset(p: ResetDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const form = recoveryForm(p, req, 'reset-password', ['token', 'password', 'confirm', 'code', 'response']);
  if (!form) return formExpired();
  const live = await liveToken(p, form.token);
  if (!live) {
    p.events({ type: 'password_reset_failed', reason: 'invalid_link', ip: req.ip });
    return badLink();
  }
  const { t, user, token } = live;
  const password = form.password ?? '';
  try {
    checkPassword(password, user.username);
  } catch (err) {
    if (!(err instanceof UserInputError)) throw err;
    return resetView(p, req, token, user, {
      error: passwordProblemMsg(passwordProblem(password, user.username) ?? ''),
      status: 400,
    });
  }
  if (password !== (form.confirm ?? ''))
    return resetView(p, req, token, user, { error: msg('interaction.error.passwordsDiffer'), status: 400 });

  // A second factor, when the account has one: the link alone (a mailbox) is not enough.
  if ((await secondFactors(p, user.id)).any) {
    const code = (form.code ?? '').trim();
    const now = p.now();
    const keks = p.config;
    // The sign-in's attempt limit for this account, shared with it (claimed before the check).
    const wait = await claimFactorAttempt(p, user.id);
    if (wait > 0) {
      p.events({ type: 'second_factor_throttled', userId: user.id, ip: req.ip });
      const page = await resetView(p, req, token, user, {
        error: waitMsg('interaction.error.tooManyCodes', wait),
        status: 429,
      });
      return page.kind === 'page' ? { ...page, headers: { 'retry-after': String(wait) } } : page;
    }
    let ok = false;
    let kind: 'totp' | 'recovery' | 'passkey' = 'totp';
    if (form.response !== undefined) {
      // A passkey of this user, answering the challenge this page made for this browser.
      kind = 'passkey';
      ok = (await verifyPasskeyForUser(p, user.id, form.response, req.cookies[RECOVERY_COOKIE])).ok;
    } else if (normalizeTotpCode(code))
      ok = (await verifyUserTotp(p.stores, keks, user.id, code, now)).verdict === 'ok';
    else if (code) {
      kind = 'recovery';
      ok = await useRecoveryCode(p.stores, keks, user.id, code, now);
    }
    if (!ok) {
      p.events({ type: 'second_factor_failed', userId: user.id, kind, reason: 'invalid', ip: req.ip });
      p.events({ type: 'password_reset_failed', reason: 'second_factor', userId: user.id, ip: req.ip });
      const { count } = await p.stores.counters.hit(`reset-code:${t.tokenHash}`, now, p.config.passwordResetTtl);
      if (count >= CODE_ATTEMPTS) {
        await p.stores.accountTokens.consume(t.tokenHash, 'reset_password', now);
        return messagePage('interaction.mail.linkEnded', 429);
      }
      return resetView(p, req, token, user, {
        error: msg(kind === 'passkey' ? 'interaction.error.passkeyNotVerified' : 'interaction.error.resetCodeInvalid'),
        status: 400,
      });
    }
    await factorPassed(p, user.id);
    p.events({ type: 'second_factor_succeeded', userId: user.id, kind, ip: req.ip });
  }

  const now = p.now();
  if (!(await p.stores.accountTokens.consume(t.tokenHash, 'reset_password', now))) return badLink();
  const hash = await hashPassword(password);
  const current = (await p.stores.users.get(user.id)) ?? user;
  await p.stores.users.put({ ...current, passwordHash: hash, updatedAt: now });
  // Everything the old password let in ends (ASVS 6.4.3 / 7.4.3): the clients of every session are
  // told, the sessions end, every grant and access token of the account is refused from now on.
  await p.stores.accountTokens.invalidate(user.id, 'reset_password', now);
  await userSessionsEnded(p, user.id);
  const sessions = await p.stores.sessions.deleteByUser(user.id);
  await p.stores.grants.revokeByUser(user.id, now);
  await p.stores.revocations.cutOffHolder(`user:${user.id}`, now);
  // So do the browsers remembered after a second factor: the next sign-in asks for it again.
  await p.stores.signIns.forgetUser(user.id);
  p.events({ type: 'password_changed', userId: user.id, by: 'reset', ip: req.ip });
  p.events({ type: 'sessions_ended', userId: user.id, count: sessions, by: 'user', ip: req.ip });
  p.log.info({ event: 'password_reset', sub: user.id, sessions }, 'password reset by link');
  if (current.email)
    await p.mail
      .send({
        to: current.email,
        template: 'password-changed',
        vars: { username: current.username, time: mailTime(now), reset: 'true' },
        userId: user.id,
        locale: mailLocale(req, p.config, current),
      })
      .catch((err) => p.log.warn({ event: 'mail_not_queued', err: String(err) }, 'password-changed mail not queued'));
  return messagePage('interaction.mail.passwordChanged', 200, {
    href: `${p.config.issuer}/account`,
    text: msg('interaction.mail.toAccount'),
  });
}
