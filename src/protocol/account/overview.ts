// The account page (/account): who is signed in, their profile in short, the applications they have
// let in, which they can revoke (ASVS 10.4.9, 10.7.3: revoking a consent also revokes the tokens the
// application holds), and signing out. Without a session it is the account login page.
import { randomToken } from '../hash.ts';
import type { DepsOf, OAuthResponse, Provider, ProtocolRequest, StoreDeps } from '../provider.ts';
import { ACCOUNT_LOGIN_COOKIE, loginView } from '../interaction/account.ts';
import { endSession } from '../interaction/session.ts';
import { sessionEnded } from '../logout/session-ended.ts';
import {
  RETURN_COOKIE,
  accountForm,
  accountPage,
  formToken,
  redirectTo,
  returnPath,
  signedIn,
  type AccountDeps,
} from './common.ts';

/** What GET /account uses: the session, the user, their consents, factors and the clients' names, or the login page. */
export type ShowAccountDeps = AccountDeps &
  DepsOf<typeof loginView> &
  StoreDeps<'users' | 'consents' | 'clients' | 'factors'>;
/** What POST /account/revoke uses: the signed-in form, the consents and grants stores, the clock, events and log. */
export type RevokeConsentDeps = AccountDeps & Pick<Provider, 'events' | 'log'> & StoreDeps<'consents' | 'grants'>;
/** What POST /account/logout uses: the signed-in form, events, and ending the session (and telling its clients). */
export type AccountLogoutDeps = AccountDeps &
  Pick<Provider, 'events'> &
  DepsOf<typeof endSession> &
  DepsOf<typeof sessionEnded>;

/** The overview's forms (revoke, sign out) share one purpose, as before the account area grew. */
export const OVERVIEW_PURPOSE = 'account';

export async function showAccount(p: ShowAccountDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const s = await signedIn(p, req);
  if (!s) return loginView(p, req.cookies[ACCOUNT_LOGIN_COOKIE] ?? randomToken(32));
  // Signed in after a page elsewhere (the admin console) sent the browser here: back to it, once.
  if (req.cookies[RETURN_COOKIE] !== undefined) {
    const back = returnPath(req);
    const clear = { name: RETURN_COOKIE, value: '', maxAge: 0, path: '/' } as const;
    if (back) return { kind: 'redirect', location: `${p.config.issuer}${back}`, cookies: [clear] };
  }
  const consents = await p.stores.consents.listByUser(s.user.id);
  const names = await Promise.all(
    consents.map(async (c) => (await p.stores.clients.get(c.clientId))?.clientName || c.clientId),
  );
  const factors = (await p.stores.factors.listByUser(s.user.id)).filter((f) => f.confirmed);
  return accountPage(
    p,
    s,
    formToken(p, s, OVERVIEW_PURPOSE),
    {
      page: 'overview',
      name: s.user.name,
      email: s.user.email,
      emailVerified: s.user.emailVerified,
      factorCount: factors.length,
      consents: consents.map((c, i) => ({
        clientId: c.clientId,
        clientName: names[i]!,
        scopes: c.scopes,
        grantedAt: c.grantedAt,
      })),
    },
    { nav: 'overview' },
  );
}

export async function revokeConsent(p: RevokeConsentDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const ok = await accountForm(p, req, OVERVIEW_PURPOSE, { client_id: 255 });
  if ('response' in ok) return ok.response;
  const userId = ok.s.user.id;
  const clientId = ok.f.client_id ?? '';
  await p.stores.consents.revoke(userId, clientId);
  const n = await p.stores.grants.revokeByUserAndClient(userId, clientId, p.now());
  p.events({ type: 'consent_revoked', userId, clientId, ip: req.ip });
  p.log.info({ event: 'consent_revoked', sub: userId, client_id: clientId, grants: n }, 'consent revoked by user');
  return redirectTo(p, '/account');
}

export async function accountLogout(p: AccountLogoutDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const ok = await accountForm(p, req, OVERVIEW_PURPOSE, {});
  if ('response' in ok) return ok.response;
  p.events({ type: 'logout', userId: ok.s.user.id, ip: req.ip });
  const cookies = [await endSession(p, req)];
  const frames = (await sessionEnded(p, ok.s.session.sid)).map((f) => f.src);
  return { kind: 'page', status: 200, view: { name: 'logged-out', frames }, cookies, frameSources: frames };
}
