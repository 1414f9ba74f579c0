import { forbidden } from '../account/common.ts';
import type { Msg } from '../../i18n/catalog.ts';
import { readFormParams } from '../params.ts';
import type { OAuthResponse, Provider, ProtocolRequest } from '../provider.ts';
import { checkLogin, loginPageAnswer } from './login-throttle.ts';
import { beginSecondFactor, requirementFor } from './mfa-policy.ts';
import { passkeyLoginBlock } from '../passkeys.ts';
import { checkCsrf, csrfToken, startSession } from './session.ts';
import { emailVerificationRequired, unverifiedEmailAnswer } from './email.ts';
import type { DepsOf } from '../provider.ts';
import type { SessionUpstream } from '../../ports/sessions.ts';
import type { UserRecord } from '../../ports/users.ts';
import { hintedUpstream, unreachable, upstreamButtons } from '../upstream/login-options.ts';
import { beginUpstream, isUpstreamError } from '../upstream/state.ts';

// The account login: the sign-in page of /account (the account area itself is in protocol/account/).

/** What the account login page uses: the issuer and interaction lifetime, and the CSRF token's secret. */
export type LoginViewDeps = Pick<Provider, 'config' | 'now'> &
  DepsOf<typeof csrfToken> &
  DepsOf<typeof upstreamButtons>;
/**
 * What POST /account/login uses: the login page, CSRF, the login check and the new session, and the
 * way to an upstream (home-realm discovery).
 */
export type AccountLoginDeps = LoginViewDeps &
  DepsOf<typeof hintedUpstream> &
  DepsOf<typeof beginUpstream> &
  Pick<Provider, 'events' | 'log'> &
  DepsOf<typeof unverifiedEmailAnswer> &
  DepsOf<typeof requirementFor> &
  DepsOf<typeof beginSecondFactor> &
  DepsOf<typeof checkCsrf> &
  DepsOf<typeof checkLogin> &
  DepsOf<typeof startSession>;
export const ACCOUNT_LOGIN_COOKIE = 'tessera_account_login';
const PARAMS = new Set(['username', 'password', 'csrf']);
const LIMITS = { username: 255, password: 1024, csrf: 128 };

const form = (req: ProtocolRequest) => readFormParams(req.params, PARAMS, LIMITS);

/**
 * The account login page: the password form, the passkey button, and a button per enabled upstream
 * identity provider (POST /account/upstream/:provider, with this form's token). `status`: an
 * upstream's failure (503 unreachable, 404 not offered); the fields, not used, are not marked invalid.
 */
export async function loginView(
  p: LoginViewDeps,
  secret: string,
  error?: Msg,
  username?: string,
  retryAfter?: number,
  status?: number,
): Promise<OAuthResponse> {
  const { buttons: upstreams, formActions } = await upstreamButtons(
    p,
    (id) => `${p.config.issuer}/account/upstream/${id}`,
  );
  return {
    kind: 'page',
    ...(formActions.length ? { formActions } : {}),
    ...loginPageAnswer(error, retryAfter),
    ...(status !== undefined ? { status } : {}),
    view: {
      name: 'login',
      action: `${p.config.issuer}/account/login`,
      csrf: csrfToken(p, 'account-login', secret),
      clientName: 'your Tessera account',
      accountArea: true,
      username,
      error,
      passkey: passkeyLoginBlock(p, `${p.config.issuer}/account/passkey`, 'account', secret),
      ...(p.config.passwordReset ? { forgotUrl: `${p.config.issuer}/forgot-password` } : {}),
      ...(upstreams.length ? { upstreams } : {}),
      ...(status !== undefined ? { upstreamError: true } : {}),
    },
    cookies: [{ name: ACCOUNT_LOGIN_COOKIE, value: secret, maxAge: p.config.interactionTtl, path: '/' }],
  };
}

export async function accountLogin(p: AccountLoginDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const f = form(req);
  const secret = req.cookies[ACCOUNT_LOGIN_COOKIE];
  if (!f || !checkCsrf(p, 'account-login', secret, f.csrf)) return forbidden;
  // Home-realm discovery: an email address typed without a password, in a provider's home realm.
  const typed = (f.username ?? '').trim();
  if (!f.password && typed.includes('@')) {
    const realm = await hintedUpstream(p, { email: typed });
    if (realm) {
      try {
        return await beginUpstream(p, req, realm, { purpose: 'account-login' }, typed);
      } catch (err) {
        if (!isUpstreamError(err)) throw err;
        p.events({ type: 'upstream_login_failed', provider: realm.id, reason: err.reason });
        p.log.warn({ event: 'upstream_unavailable', provider: realm.id, err: err.message }, 'upstream not reached');
        return loginView(p, secret!, unreachable(realm.label), typed, undefined, 503);
      }
    }
  }
  const result = await checkLogin(p, req.ip, f.username ?? '', f.password ?? '', { page: 'account' });
  if ('error' in result) return loginView(p, secret!, result.error, f.username, result.retryAfter);
  return accountAfterFirstFactor(p, req, result.user, ['pwd']);
}

/**
 * The account login once its first factor passed (a password, an upstream identity provider): the
 * same for every first factor. An unverified address held back (before-sign-in); a user with a
 * second factor passes it before the session starts (second-factor.ts, /account/mfa). The policy's
 * enrolment applies to clients: here a user without a factor is signed in, and the account area is
 * where they enrol. `upstream`: the identity an upstream sign-in came through, for the session.
 */
export async function accountAfterFirstFactor(
  p: AccountLoginDeps,
  req: ProtocolRequest,
  user: UserRecord,
  amr: string[],
  upstream?: SessionUpstream,
): Promise<OAuthResponse> {
  if (emailVerificationRequired(p, user)) return unverifiedEmailAnswer(p, req, user);
  const next = await requirementFor(p, req, user, amr);
  if (next.kind === 'factor') {
    const pending = await beginSecondFactor(p, user.id, amr, 'account', false, upstream);
    return { kind: 'redirect', location: `${p.config.issuer}/account/mfa`, cookies: [pending.cookie] };
  }
  const { cookies } = await startSession(p, req, user.id, amr, upstream);
  return { kind: 'redirect', location: `${p.config.issuer}/account`, cookies };
}
