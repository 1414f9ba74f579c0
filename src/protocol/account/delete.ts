// Delete my account (/account/delete): the password again, then deleteAccount (delete-account.ts).
import { msg, type Msg } from '../../i18n/catalog.ts';
import type { DepsOf, OAuthResponse, ProtocolRequest, StoreDeps } from '../provider.ts';
import { checkLogin } from '../interaction/login-throttle.ts';
import { SESSION_COOKIE } from '../interaction/session.ts';
import {
  accountForm,
  accountPage,
  formToken,
  isRecent,
  signedIn,
  toLogin,
  toReauth,
  loginRefusal,
  type AccountDeps,
  type SignedIn,
} from './common.ts';
import { deleteAccount } from './delete-account.ts';
import type { Stores } from '../../ports/index.ts';
import { lockAdminRoles } from '../admin-scopes.ts';

export type DeleteDeps = AccountDeps &
  DepsOf<typeof deleteAccount> &
  DepsOf<typeof checkLogin> &
  StoreDeps<'adminRoles' | 'counters'>;

const PURPOSE = 'account:delete';

/** The account was given an admin role while it was being deleted: the deletion stops before the user goes. */
class HoldsAdminRole extends Error {
  readonly role: string;
  constructor(role: string) {
    super('the account holds an admin role');
    this.role = role;
  }
}

const view = (p: DeleteDeps, s: SignedIn, error?: Msg, retryAfter?: number): OAuthResponse => ({
  ...accountPage(
    p,
    s,
    formToken(p, s, PURPOSE),
    { page: 'delete', hasPassword: s.user.passwordHash !== null, ...(error ? { error } : {}) },
    { nav: 'delete' },
  ),
  ...(retryAfter ? { status: 429, headers: { 'retry-after': String(retryAfter) } } : {}),
});

export async function showDelete(p: DeleteDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const s = await signedIn(p, req);
  if (!s) return toLogin(p);
  if (!isRecent(p, s.session)) return toReauth(p, '/account/delete');
  return view(p, s);
}

export async function submitDelete(p: DeleteDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const ok = await accountForm(p, req, PURPOSE, { password: 1024, confirm: 16 }, { back: '/account/delete' });
  if ('response' in ok) return ok.response;
  const { s, f } = ok;
  if (f.confirm !== 'yes') return view(p, s, msg('account.delete.tick'));
  // The password again, counted with the login throttle. An account without one (made by an upstream
  // sign-in, issue 17) has just signed in again through its provider: accountForm required it.
  if (s.user.passwordHash !== null) {
    const checked = await checkLogin(p, req.ip, s.user.username, f.password ?? '', { page: 'account-delete' });
    if ('error' in checked) return view(p, s, loginRefusal(checked.retryAfter), checked.retryAfter);
    if (checked.user.id !== s.user.id) return view(p, s, msg('account.form.wrongPassword'));
  }
  // An operator's account is deleted by another operator (the admin action keeps the last owner):
  // deleting it here would leave its role behind, and could leave the deployment without an owner.
  // Read first for a clear page, and again in the transaction that removes the user, under the lock
  // that giving a role takes: a role given meanwhile is seen, never left on a deleted account.
  const roleOf = async (stores: Pick<Stores, 'adminRoles'>) => (await stores.adminRoles.get(s.user.id))?.role;
  const operatorPage = (role: string) => view(p, s, msg('account.delete.adminRole', { role }));
  const role = await roleOf(p.stores);
  if (role !== undefined) return operatorPage(role);
  try {
    await deleteAccount(
      p,
      s.user.id,
      'user',
      req.ip,
      async (tx) => {
        await lockAdminRoles(tx, p.now());
        const now = await roleOf(tx);
        if (now !== undefined) throw new HoldsAdminRole(now);
      },
      req,
    );
  } catch (err) {
    if (err instanceof HoldsAdminRole) return operatorPage(err.role);
    throw err;
  }
  return {
    kind: 'page',
    status: 200,
    view: {
      name: 'error',
      title: msg('account.deleted.title'),
      message: msg('account.deleted.text'),
    },
    cookies: [{ name: SESSION_COOKIE, value: '', maxAge: 0, path: '/' }],
  };
}
