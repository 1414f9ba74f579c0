// Re-authentication (/account/reauth): changing a factor, the email or the password, or deleting
// the account, needs a sign-in within TESSERA_RECENT_AUTH; past it, the user types the password
// again (counted with the login throttle), gets a new session (same sid) and goes back to the page.
// A user with a second factor passes it too (the second-factor step at /account/mfa, which comes
// back here after): re-authenticating with the password alone would lower the session to one
// factor, and would let a stolen password change the factors.
import { t } from '../../i18n/catalog.ts';
import type { DepsOf, OAuthResponse, Provider, ProtocolRequest } from '../provider.ts';
import { checkLogin } from '../interaction/login-throttle.ts';
import { beginSecondFactor, capabilityOf } from '../interaction/mfa-policy.ts';
import { reauthContinue } from '../interaction/second-factor.ts';
import { startSession } from '../interaction/session.ts';
import type { StoreDeps } from '../provider.ts';
import { reauthButtons } from '../upstream/account.ts';
import {
  accountForm,
  accountPage,
  formToken,
  safeReturn,
  signedIn,
  toLogin,
  type AccountDeps,
  type SignedIn,
} from './common.ts';

export type ReauthDeps = AccountDeps &
  Pick<Provider, 'events' | 'log'> &
  StoreDeps<'factors' | 'upstreams' | 'upstreamIdentities'> &
  DepsOf<typeof checkLogin> &
  DepsOf<typeof beginSecondFactor> &
  DepsOf<typeof startSession>;

const PURPOSE = 'account:reauth';

// The page offers the user's linked providers beside the password (issue 17: the only way back in
// for an account made by an upstream sign-in, which has no password).
const view = async (
  p: ReauthDeps,
  s: SignedIn,
  returnTo: string,
  error?: string,
  retryAfter?: number,
): Promise<OAuthResponse> => {
  const { providers, formActions } = await reauthButtons(p, s.user.id);
  return {
    ...accountPage(p, s, formToken(p, s, PURPOSE), {
      page: 'reauth',
      returnTo,
      providers,
      hasPassword: s.user.passwordHash !== null,
      ...(error ? { error } : {}),
    }),
    ...(formActions.length ? { formActions } : {}),
    ...(retryAfter ? { status: 429, headers: { 'retry-after': String(retryAfter) } } : {}),
  };
};

export async function showReauth(p: ReauthDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const s = await signedIn(p, req);
  if (!s) return toLogin(p);
  return view(p, s, safeReturn(req.params.get('return') ?? undefined));
}

export async function submitReauth(p: ReauthDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const ok = await accountForm(p, req, PURPOSE, { password: 1024, return: 200 });
  if ('response' in ok) return ok.response;
  const { s, f } = ok;
  const returnTo = safeReturn(f.return);
  const checked = await checkLogin(p, req.ip, s.user.username, f.password ?? '', { page: 'account-reauth' });
  if ('error' in checked)
    return view(
      p,
      s,
      returnTo,
      checked.retryAfter ? t('en', checked.error) : 'That is not your password.',
      checked.retryAfter,
    );
  if (checked.user.id !== s.user.id) return view(p, s, returnTo, 'That is not your password.');
  // Confirmed factors: the second factor (or a passkey) before the new session, whatever the policy
  // and whether this browser is remembered; the session then has both (amr pwd, otp or a passkey's, mfa).
  const cap = capabilityOf(await p.stores.factors.listByUser(s.user.id));
  if (cap.totp || cap.passkey) {
    const pending = await beginSecondFactor(p, s.user.id, ['pwd'], reauthContinue(returnTo), false);
    return { kind: 'redirect', location: `${p.config.issuer}/account/mfa`, cookies: [pending.cookie] };
  }
  const { cookies } = await startSession(p, req, s.user.id, ['pwd']);
  return { kind: 'redirect', location: `${p.config.issuer}${returnTo}`, cookies };
}
