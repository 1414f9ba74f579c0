// Changing the password (/account/password): the current password first (counted with the login
// throttle), the new one under the one password policy (accounts/users.ts checkPassword); then every
// other session of the user ends (their clients are told) and this browser gets a new session.
import { t } from '../../i18n/catalog.ts';
import { hashPassword } from '../../accounts/passwords.ts';
import { passwordProblem } from '../../accounts/registration.ts';
import { checkPassword, UserInputError } from '../../accounts/users.ts';
import type { DepsOf, OAuthResponse, Provider, ProtocolRequest, StoreDeps } from '../provider.ts';
import { checkLogin } from '../interaction/login-throttle.ts';
import { startSession } from '../interaction/session.ts';
import { sessionEnded } from '../logout/session-ended.ts';
import {
  accountForm,
  accountPage,
  formToken,
  isRecent,
  signedIn,
  toLogin,
  toReauth,
  type AccountDeps,
  type SignedIn,
} from './common.ts';

export type PasswordDeps = AccountDeps &
  Pick<Provider, 'events' | 'log' | 'mail'> &
  DepsOf<typeof checkLogin> &
  DepsOf<typeof startSession> &
  DepsOf<typeof sessionEnded> &
  StoreDeps<'users' | 'sessions' | 'signIns'>;

const PURPOSE = 'account:password';

const view = (
  p: PasswordDeps,
  s: SignedIn,
  extra: { error?: string; notice?: string; fieldErrors?: Record<string, string> } = {},
) =>
  accountPage(
    p,
    s,
    formToken(p, s, PURPOSE),
    {
      page: 'password',
      fieldErrors: extra.fieldErrors ?? {},
      ...(extra.error ? { error: extra.error } : {}),
      ...(extra.notice ? { notice: extra.notice } : {}),
    },
    { nav: 'password' },
  );

export async function showPassword(p: PasswordDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const s = await signedIn(p, req);
  if (!s) return toLogin(p);
  if (!isRecent(p, s.session)) return toReauth(p, '/account/password');
  return view(
    p,
    s,
    req.params.get('saved') ? { notice: 'Your password was changed. Your other sessions were ended.' } : {},
  );
}

/** Ends every session of the user but this one: each one's clients are told (back-channel logout). */
export async function endOtherSessions(p: DepsOf<typeof sessionEnded>, s: SignedIn): Promise<number> {
  let n = 0;
  for (const other of await p.stores.sessions.listByUser(s.user.id)) {
    if (other.idHash === s.session.idHash || other.sid === s.session.sid) continue;
    if (await p.stores.sessions.deleteBySid(s.user.id, other.sid)) n++;
    await sessionEnded(p, other.sid);
  }
  return n;
}

export async function changePassword(p: PasswordDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const ok = await accountForm(
    p,
    req,
    PURPOSE,
    { current: 1024, password: 1024, confirm: 1024 },
    { back: '/account/password' },
  );
  if ('response' in ok) return ok.response;
  const { s, f } = ok;
  const password = f.password ?? '';
  if (password !== (f.confirm ?? ''))
    return view(p, s, {
      error: 'Check the fields marked below.',
      fieldErrors: { confirm: 'The two passwords are not the same.' },
    });
  try {
    checkPassword(password, s.user.username);
  } catch (err) {
    if (!(err instanceof UserInputError)) throw err;
    const message = passwordProblem(password, s.user.username) ?? 'Choose another password.';
    return view(p, s, { error: 'Check the fields marked below.', fieldErrors: { password: message } });
  }
  const checked = await checkLogin(p, req.ip, s.user.username, f.current ?? '', { page: 'account-password' });
  if ('error' in checked || checked.user.id !== s.user.id)
    return {
      ...view(p, s, {
        error: 'error' in checked && checked.retryAfter ? t('en', checked.error) : 'Check the fields marked below.',
        fieldErrors: { current: 'This is not your current password.' },
      }),
      ...('error' in checked && checked.retryAfter
        ? { status: 429, headers: { 'retry-after': String(checked.retryAfter) } }
        : {}),
    };
  const now = p.now();
  await p.stores.users.put({ ...s.user, passwordHash: await hashPassword(password), updatedAt: now });
  const ended = await endOtherSessions(p, s);
  // A browser remembered after a second factor was trusted under the old password: it asks again.
  await p.stores.signIns.forgetUser(s.user.id);
  // A new session id, keeping what this session had proved (its second factor too) and the password.
  // A provider's session stays one (its back-channel logout must still find it).
  const { cookies } = await startSession(
    p,
    req,
    s.user.id,
    [...new Set(['pwd', ...s.session.amr])],
    s.session.upstream,
  );
  p.events({ type: 'password_changed', userId: s.user.id, by: 'user', ip: req.ip });
  if (ended) p.events({ type: 'sessions_ended', userId: s.user.id, count: ended, by: 'user', ip: req.ip });
  p.log.info({ event: 'password_changed', sub: s.user.id, sessions_ended: ended }, 'password changed by user');
  return { kind: 'redirect', location: `${p.config.issuer}/account/password?saved=1`, cookies };
}
