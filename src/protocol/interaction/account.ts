import { randomToken } from '../hash.ts';
import { readFormParams } from '../params.ts';
import type { OAuthResponse, Provider, ProtocolRequest } from '../provider.ts';
import { checkLogin, loginPageAnswer } from './login-throttle.ts';
import { sessionEnded } from '../logout/session-ended.ts';
import { checkCsrf, csrfToken, endSession, loadSession, SESSION_COOKIE, startSession } from './session.ts';
import type { DepsOf, StoreDeps } from '../provider.ts';

// The account page: where users review the applications they have let in, and revoke them
// (ASVS 10.4.9, 10.7.3). Revoking a consent also revokes the tokens the application holds.

/** What the account login page uses: the issuer and interaction lifetime, and the CSRF token's secret. */
type LoginViewDeps = Pick<Provider, 'config'> & DepsOf<typeof csrfToken>;
/** What a form of the signed-in account page is checked with: the session, and the CSRF token. */
type SessionFormDeps = DepsOf<typeof loadSession> & DepsOf<typeof checkCsrf>;
/** What GET /account uses: the session, the user, their consents and the clients' names, or the login page. */
export type ShowAccountDeps = LoginViewDeps & DepsOf<typeof loadSession> & StoreDeps<'users' | 'consents' | 'clients'>;
/** What POST /account/login uses: the login page, CSRF, the login check and the new session. */
export type AccountLoginDeps = LoginViewDeps &
  DepsOf<typeof checkCsrf> &
  DepsOf<typeof checkLogin> &
  DepsOf<typeof startSession>;
/** What POST /account/revoke uses: the signed-in form, the consents and grants stores, the clock, events and log. */
export type RevokeConsentDeps = SessionFormDeps &
  Pick<Provider, 'config' | 'now' | 'events' | 'log'> &
  StoreDeps<'consents' | 'grants'>;
/** What POST /account/logout uses: the signed-in form, events, and ending the session (and telling its clients). */
export type AccountLogoutDeps = SessionFormDeps &
  Pick<Provider, 'events'> &
  DepsOf<typeof endSession> &
  DepsOf<typeof sessionEnded>;

const ACCOUNT_LOGIN_COOKIE = 'tessera_account_login';
const PARAMS = new Set(['username', 'password', 'csrf', 'client_id']);
const LIMITS = { username: 255, password: 1024, csrf: 128, client_id: 255 };
const forbidden: OAuthResponse = {
  kind: 'page',
  status: 403,
  view: {
    name: 'error',
    title: 'Form expired',
    message: 'The form could not be verified. Reload the page and try again.',
  },
};

const form = (req: ProtocolRequest) => readFormParams(req.params, PARAMS, LIMITS);

function loginView(
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
      ...(p.config.passwordReset ? { forgotUrl: `${p.config.issuer}/forgot-password` } : {}),
    },
    cookies: [{ name: ACCOUNT_LOGIN_COOKIE, value: secret, maxAge: p.config.interactionTtl, path: '/' }],
  };
}

export async function showAccount(p: ShowAccountDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const session = await loadSession(p, req);
  if (!session) return loginView(p, req.cookies[ACCOUNT_LOGIN_COOKIE] ?? randomToken(32));
  const user = (await p.stores.users.get(session.userId))!;
  const consents = await p.stores.consents.listByUser(user.id);
  const names = await Promise.all(
    consents.map(async (c) => (await p.stores.clients.get(c.clientId))?.clientName || c.clientId),
  );
  return {
    kind: 'page',
    status: 200,
    view: {
      name: 'account',
      csrf: csrfToken(p, 'account', req.cookies[SESSION_COOKIE]!),
      username: user.username,
      consents: consents.map((c, i) => ({
        clientId: c.clientId,
        clientName: names[i]!,
        scopes: c.scopes,
        grantedAt: c.grantedAt,
      })),
      revokeAction: `${p.config.issuer}/account/revoke`,
      logoutAction: `${p.config.issuer}/account/logout`,
    },
  };
}

export async function accountLogin(p: AccountLoginDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const f = form(req);
  const secret = req.cookies[ACCOUNT_LOGIN_COOKIE];
  if (!f || !checkCsrf(p, 'account-login', secret, f.csrf)) return forbidden;
  const result = await checkLogin(p, req.ip, f.username ?? '', f.password ?? '', { page: 'account' });
  if ('error' in result) return loginView(p, secret!, result.error, f.username, result.retryAfter);
  const { cookie } = await startSession(p, req, result.user.id, ['pwd']);
  return { kind: 'redirect', location: `${p.config.issuer}/account`, cookies: [cookie] };
}

async function withSessionForm(p: SessionFormDeps, req: ProtocolRequest) {
  const session = await loadSession(p, req);
  const f = form(req);
  if (!session || !f || !checkCsrf(p, 'account', req.cookies[SESSION_COOKIE], f.csrf)) return undefined;
  return { session, f };
}

export async function revokeConsent(p: RevokeConsentDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const ok = await withSessionForm(p, req);
  if (!ok) return forbidden;
  const clientId = ok.f.client_id ?? '';
  await p.stores.consents.revoke(ok.session.userId, clientId);
  const n = await p.stores.grants.revokeByUserAndClient(ok.session.userId, clientId, p.now());
  p.events({ type: 'consent_revoked', userId: ok.session.userId, clientId, ip: req.ip });
  p.log.info(
    { event: 'consent_revoked', sub: ok.session.userId, client_id: clientId, grants: n },
    'consent revoked by user',
  );
  return { kind: 'redirect', location: `${p.config.issuer}/account` };
}

export async function accountLogout(p: AccountLogoutDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const ok = await withSessionForm(p, req);
  if (!ok) return forbidden;
  p.events({ type: 'logout', userId: ok.session.userId, ip: req.ip });
  const cookies = [await endSession(p, req)];
  const frames = (await sessionEnded(p, ok.session.sid)).map((f) => f.src);
  return { kind: 'page', status: 200, view: { name: 'logged-out', frames }, cookies, frameSources: frames };
}
