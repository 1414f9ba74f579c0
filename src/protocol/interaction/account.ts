import { forbidden } from '../account/common.ts';
import { readFormParams } from '../params.ts';
import type { OAuthResponse, Provider, ProtocolRequest } from '../provider.ts';
import { checkLogin, loginPageAnswer } from './login-throttle.ts';
import { beginSecondFactor, requirementFor } from './mfa-policy.ts';
import { passkeyLoginBlock } from '../passkeys.ts';
import { checkCsrf, csrfToken, startSession } from './session.ts';
import { emailVerificationRequired, unverifiedEmailAnswer } from './email.ts';
import type { DepsOf } from '../provider.ts';

// The account login: the sign-in page of /account (the account area itself is in protocol/account/).

/** What the account login page uses: the issuer and interaction lifetime, and the CSRF token's secret. */
export type LoginViewDeps = Pick<Provider, 'config' | 'now'> & DepsOf<typeof csrfToken>;
/** What POST /account/login uses: the login page, CSRF, the login check and the new session. */
export type AccountLoginDeps = LoginViewDeps &
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

export function loginView(
  p: LoginViewDeps,
  secret: string,
  error?: string,
  username?: string,
  retryAfter?: number,
): OAuthResponse {
  return {
    kind: 'page',
    ...loginPageAnswer(error, retryAfter),
    view: {
      name: 'login',
      action: `${p.config.issuer}/account/login`,
      csrf: csrfToken(p, 'account-login', secret),
      clientName: 'your Tessera account',
      username,
      error,
      passkey: passkeyLoginBlock(p, `${p.config.issuer}/account/passkey`, 'account', secret),
      ...(p.config.passwordReset ? { forgotUrl: `${p.config.issuer}/forgot-password` } : {}),
    },
    cookies: [{ name: ACCOUNT_LOGIN_COOKIE, value: secret, maxAge: p.config.interactionTtl, path: '/' }],
  };
}

export async function accountLogin(p: AccountLoginDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const f = form(req);
  const secret = req.cookies[ACCOUNT_LOGIN_COOKIE];
  if (!f || !checkCsrf(p, 'account-login', secret, f.csrf)) return forbidden;
  const result = await checkLogin(p, req.ip, f.username ?? '', f.password ?? '', { page: 'account' });
  if ('error' in result) return loginView(p, secret!, result.error, f.username, result.retryAfter);
  if (emailVerificationRequired(p, result.user)) return unverifiedEmailAnswer(p, req, result.user);
  // A user with a second factor passes it before the session starts (second-factor.ts, /account/mfa).
  // The policy's enrolment applies to clients: here a user without a factor is signed in, and the
  // account area is where they enrol.
  const next = await requirementFor(p, req, result.user, ['pwd']);
  if (next.kind === 'factor') {
    const pending = await beginSecondFactor(p, result.user.id, ['pwd'], 'account', false);
    return { kind: 'redirect', location: `${p.config.issuer}/account/mfa`, cookies: [pending.cookie] };
  }
  const { cookies } = await startSession(p, req, result.user.id, ['pwd']);
  return { kind: 'redirect', location: `${p.config.issuer}/account`, cookies };
}
