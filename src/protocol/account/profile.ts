// The profile (/account/profile): the user's name and email address. A new address is stored
// unverified (email_verified false until its link is used): the new address gets a verification
// mail and the old one is told of the change. Changing the address needs a recent sign-in.
import { isEmailAddress } from '../../accounts/registration.ts';
import { maskEmail, sendVerification } from '../interaction/email.ts';
import { mailLocale } from '../mail-language.ts';
import type { DepsOf, OAuthResponse, Provider, ProtocolRequest, StoreDeps } from '../provider.ts';
import {
  accountForm,
  accountPage,
  formToken,
  isRecent,
  redirectTo,
  signedIn,
  toLogin,
  toReauth,
  type AccountDeps,
} from './common.ts';

export type ProfileDeps = AccountDeps &
  Pick<Provider, 'events' | 'log' | 'mail'> &
  StoreDeps<'users'> &
  DepsOf<typeof sendVerification>;

const PURPOSE = 'account:profile';

export async function showProfile(p: ProfileDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const s = await signedIn(p, req);
  if (!s) return toLogin(p);
  const saved = req.params.get('saved');
  return accountPage(
    p,
    s,
    formToken(p, s, PURPOSE),
    {
      page: 'profile',
      name: s.user.name ?? '',
      email: s.user.email ?? '',
      emailVerified: s.user.emailVerified,
      fieldErrors: {},
      ...(saved === 'email'
        ? { notice: 'Saved. We sent a link to your new address: open it to verify the address.' }
        : saved
          ? { notice: 'Saved.' }
          : {}),
    },
    { nav: 'profile' },
  );
}

export async function saveProfile(p: ProfileDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const ok = await accountForm(p, req, PURPOSE, { name: 255, email: 320 });
  if ('response' in ok) return ok.response;
  const { s, f } = ok;
  const name = (f.name ?? '').trim();
  const email = (f.email ?? '').trim();
  const fieldErrors: { name?: string; email?: string } = {};
  if (/[\p{Cc}]/u.test(name)) fieldErrors.name = 'The name cannot contain control characters.';
  // Control characters (a NUL is refused by PostgreSQL, others end up in mail headers) as at sign-up.
  if (email && !isEmailAddress(email)) fieldErrors.email = 'Enter an email address such as name@example.com.';
  if (fieldErrors.name || fieldErrors.email)
    return accountPage(
      p,
      s,
      formToken(p, s, PURPOSE),
      { page: 'profile', name, email, emailVerified: false, fieldErrors, error: 'Check the fields marked below.' },
      { nav: 'profile' },
    );
  const oldEmail = s.user.email;
  const emailChanged = (email || null) !== oldEmail;
  if (emailChanged && !isRecent(p, s.session)) return toReauth(p, '/account/profile');
  const now = p.now();
  const updated = {
    ...s.user,
    name: name || null,
    ...(emailChanged ? { email: email || null, emailVerified: false } : {}),
    updatedAt: now,
  };
  await p.stores.users.put(updated);
  if (emailChanged) {
    // The new address gets a verification link (email.ts), the old one is told (masked new address).
    // Both are queued or the change is undone: an address changed without the old one being told
    // (or without a link to verify the new one) is what an attacker with a session would want.
    try {
      if (email && p.config.emailVerification !== 'off') await sendVerification(p, s.user, email, req);
      if (oldEmail)
        await p.mail.send({
          to: oldEmail,
          template: 'email-changed',
          vars: {
            username: s.user.username,
            // No new address: the mail says the address was removed, in its own language.
            ...(email ? { address: maskEmail(email) } : {}),
            time: new Date(p.now() * 1000).toUTCString(),
          },
          userId: s.user.id,
          locale: mailLocale(req, p.config, s.user),
        });
    } catch (err) {
      await p.stores.users.put({
        ...updated,
        email: oldEmail,
        emailVerified: s.user.emailVerified,
        updatedAt: p.now(),
      });
      p.log.warn(
        { event: 'mail_not_queued', sub: s.user.id, err: String(err) },
        'email change undone: mail not queued',
      );
      return accountPage(
        p,
        s,
        formToken(p, s, PURPOSE),
        {
          page: 'profile',
          name,
          email,
          emailVerified: false,
          fieldErrors: {},
          error: 'Your email address could not be changed just now (its mails could not be queued). Try again later.',
        },
        { nav: 'profile', status: 503 },
      );
    }
    p.events({ type: 'email_changed', userId: s.user.id, ip: req.ip });
    p.log.info({ event: 'email_changed', sub: s.user.id }, 'email address changed by user');
  }
  return redirectTo(p, `/account/profile?saved=${emailChanged && email ? 'email' : '1'}`);
}
