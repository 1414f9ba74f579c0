// Delete my account (/account/delete): the password again, then deleteAccount (delete-account.ts).
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
  type AccountDeps,
  type SignedIn,
} from './common.ts';
import { deleteAccount } from './delete-account.ts';

export type DeleteDeps = AccountDeps &
  DepsOf<typeof deleteAccount> &
  DepsOf<typeof checkLogin> &
  StoreDeps<'adminRoles'>;

const PURPOSE = 'account:delete';

const view = (p: DeleteDeps, s: SignedIn, error?: string, retryAfter?: number): OAuthResponse => ({
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
  if (f.confirm !== 'yes') return view(p, s, 'Tick the box to confirm that you want to delete your account.');
  // The password again, counted with the login throttle. An account without one (made by an upstream
  // sign-in, issue 17) has just signed in again through its provider: accountForm required it.
  if (s.user.passwordHash !== null) {
    const checked = await checkLogin(p, req.ip, s.user.username, f.password ?? '', { page: 'account-delete' });
    if ('error' in checked)
      return view(p, s, checked.retryAfter ? checked.error : 'That is not your password.', checked.retryAfter);
    if (checked.user.id !== s.user.id) return view(p, s, 'That is not your password.');
  }
  // An operator's account is deleted by another operator (the admin action keeps the last owner):
  // deleting it here would leave its role behind, and could leave the deployment without an owner.
  const role = (await p.stores.adminRoles.get(s.user.id))?.role;
  if (role !== undefined)
    return view(
      p,
      s,
      `Your account holds the ${role} admin role: an owner removes the role (or deletes the account) from the admin console.`,
    );
  await deleteAccount(p, s.user.id, 'user', req.ip);
  return {
    kind: 'page',
    status: 200,
    view: {
      name: 'error',
      title: 'Account deleted',
      message: 'Your account was deleted. Applications you used it with have been signed out.',
    },
    cookies: [{ name: SESSION_COOKIE, value: '', maxAge: 0, path: '/' }],
  };
}
