// What every page of the account area shares: the signed-in user, the forms' CSRF tokens (each bound
// to its form's purpose and to the session cookie), the recent-authentication rule, and the answers
// for a missing session or a refused form.
import { msg, type Msg } from '../../i18n/catalog.ts';
import { readFormParams } from '../params.ts';
import type { CookieSpec, DepsOf, OAuthResponse, Provider, ProtocolRequest, StoreDeps } from '../provider.ts';
import type { SessionRecord } from '../../ports/sessions.ts';
import type { UserRecord } from '../../ports/users.ts';
import { checkCsrf, csrfToken, loadSession, SESSION_COOKIE, touchSession } from '../interaction/session.ts';
import type { AccountSection, AccountView } from './views.ts';

/** What finding the signed-in user of an account page uses: the session, the user, the CSRF key, the issuer. */
export type AccountDeps = DepsOf<typeof loadSession> &
  DepsOf<typeof checkCsrf> &
  Pick<Provider, 'now'> & { readonly config: Pick<Provider['config'], 'issuer' | 'recentAuth'> } & StoreDeps<'users'>;

/** The signed-in user of this request, with their session and the session cookie the forms are bound to. */
export interface SignedIn {
  session: SessionRecord;
  user: UserRecord;
  cookie: string;
}

export const forbidden: OAuthResponse = {
  kind: 'page',
  status: 403,
  view: {
    name: 'error',
    title: msg('account.error.formExpired'),
    message: msg('account.error.formExpiredText'),
  },
};

/** What the account area could not find: a factor, a session, an enrolment in progress. */
export const notFound = (what: 'factor' | 'session' | 'enrolment'): OAuthResponse => ({
  kind: 'page',
  status: 404,
  view: {
    name: 'error',
    title: msg('account.error.notFound'),
    message: msg(
      what === 'factor'
        ? 'account.error.factorNotFound'
        : what === 'session'
          ? 'account.error.sessionNotFound'
          : 'account.error.enrolmentNotFound',
    ),
  },
});

export async function signedIn(p: AccountDeps, req: ProtocolRequest): Promise<SignedIn | undefined> {
  const session = await loadSession(p, req);
  if (!session) return undefined;
  const user = await p.stores.users.get(session.userId);
  if (!user) return undefined;
  // Using the account area keeps the session alive (idle timeout), and its "last seen" true to the minute.
  await touchSession(p, session);
  return { session, user, cookie: req.cookies[SESSION_COOKIE]! };
}

/**
 * Why a password typed again (re-authentication, deletion) was refused: the login throttle's wait
 * when it has one (checkLogin's retryAfter), else simply a wrong password.
 */
export function loginRefusal(retryAfter: number | undefined): Msg {
  if (!retryAfter) return msg('account.form.wrongPassword');
  return retryAfter === 1
    ? msg('account.form.tooManyAttemptsOne')
    : msg('account.form.tooManyAttempts', { seconds: retryAfter });
}

/** No session: the account page, which asks to sign in. */
export const toLogin = (p: Pick<AccountDeps, 'config'>): OAuthResponse => ({
  kind: 'redirect',
  location: `${p.config.issuer}/account`,
});

/** A sign-in within TESSERA_RECENT_AUTH seconds: needed to change a factor, the email, the password, or to delete. */
export const isRecent = (p: Pick<AccountDeps, 'config' | 'now'>, s: SessionRecord): boolean =>
  p.now() - s.authTime <= p.config.recentAuth;

/**
 * Where the re-authentication page may send the user back to: a page of the account area (and the
 * TOTP enrolment of a sign-in in progress), or a section of the admin console; anything else is the
 * account page.
 */
const RETURN =
  /^(\/account(\/[a-z-]{1,32}){0,3}(\?continue=\/interaction\/[A-Za-z0-9_-]{1,64})?|\/admin(\/[a-z-]{1,32})?)$/;

/**
 * A page that sent a signed-out browser to the account login (the admin console): the account page
 * goes back there once the browser is signed in (showAccount). Set only by Tessera, read through safeReturn.
 */
export const RETURN_COOKIE = 'tessera_return';

/** The cookie that brings a browser back to `path` after the account login (base64url: cookie values are tokens). */
export const returnCookie = (path: string, maxAge: number): CookieSpec => ({
  name: RETURN_COOKIE,
  value: Buffer.from(safeReturn(path), 'utf8').toString('base64url'),
  maxAge,
  path: '/',
});

/** The page the return cookie names, if it names one safeReturn allows (never the account page itself). */
export function returnPath(req: Pick<ProtocolRequest, 'cookies'>): string | undefined {
  const value = req.cookies[RETURN_COOKIE];
  if (value === undefined) return undefined;
  const path = Buffer.from(value, 'base64url').toString('utf8');
  return safeReturn(path) === path && path !== '/account' ? path : undefined;
}
export const safeReturn = (path: string | undefined): string => (path && RETURN.test(path) ? path : '/account');

export const toReauth = (p: Pick<AccountDeps, 'config'>, returnTo: string): OAuthResponse => ({
  kind: 'redirect',
  location: `${p.config.issuer}/account/reauth?return=${encodeURIComponent(safeReturn(returnTo))}`,
});

export const redirectTo = (p: Pick<AccountDeps, 'config'>, path: string): OAuthResponse => ({
  kind: 'redirect',
  location: `${p.config.issuer}${path}`,
});

/** The form token of `purpose` ('account:password', ...) for this session. */
export const formToken = (p: DepsOf<typeof csrfToken>, s: SignedIn, purpose: string): string =>
  csrfToken(p, purpose, s.cookie);

/** A page of the area. `nav` is the section the navigation marks as current. */
export function accountPage(
  p: Pick<AccountDeps, 'config'>,
  s: SignedIn,
  csrf: string,
  view: DistributiveOmit<AccountView, 'base' | 'username' | 'csrf'>,
  opts: { status?: number; nav?: AccountSection; headers?: Record<string, string> } = {},
): OAuthResponse {
  return {
    kind: 'page',
    status: opts.status ?? (view.error ? 400 : 200),
    view: {
      name: 'account-area',
      nav: opts.nav,
      account: { ...view, base: p.config.issuer, username: s.user.username, csrf } as AccountView,
    },
    // The user's own choice of language (their profile) is what the area speaks, unless this browser
    // picked another from the language links.
    language: { userLocale: s.user.locale ?? null },
    ...(opts.headers ? { headers: opts.headers } : {}),
  };
}
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * A POST of the account area: signed in (else the sign-in page), the form well formed and its CSRF
 * token good for `purpose` and this session (else 403, nothing changed), and, when `recent` is set,
 * a sign-in within TESSERA_RECENT_AUTH (else the re-authentication page, which comes back to `back`).
 */
export async function accountForm(
  p: AccountDeps,
  req: ProtocolRequest,
  purpose: string,
  fields: Readonly<Record<string, number>>,
  recent?: { back: string },
): Promise<{ s: SignedIn; f: Record<string, string | undefined> } | { response: OAuthResponse }> {
  const s = await signedIn(p, req);
  if (!s) return { response: toLogin(p) };
  const f = readFormParams(req.params, new Set([...Object.keys(fields), 'csrf']), { ...fields, csrf: 128 });
  if (!f || !checkCsrf(p, purpose, s.cookie, f.csrf)) return { response: forbidden };
  if (recent && !isRecent(p, s.session)) return { response: toReauth(p, recent.back) };
  return { s, f };
}
