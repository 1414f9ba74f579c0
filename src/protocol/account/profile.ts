// The profile (/account/profile): the user's name, email address and language. A new address is stored
// unverified (email_verified false until its link is used): the new address gets a verification
// mail and the old one is told of the change. Changing the address needs a recent sign-in. The language
// (issue 18) is one Tessera speaks (i18n/negotiate.ts LOCALES) or none (the browser's): saving a new
// one also sets this browser's language cookie, so that the very next page is in it.
import { isEmailAddress } from '../../accounts/registration.ts';
import { msg, type Msg } from '../../i18n/catalog.ts';
import { isLocale, LANGUAGE_COOKIE } from '../../i18n/negotiate.ts';
import { maskEmail, sendVerification } from '../interaction/email.ts';
import { mailLocale } from '../mail-language.ts';
import type { CookieSpec, DepsOf, OAuthResponse, Provider, ProtocolRequest, StoreDeps } from '../provider.ts';
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

/** How long the language cookie keeps a language saved here: a year, as a pick from the language links. */
const LANGUAGE_COOKIE_MAX_AGE = 365 * 86400;

/** This browser's language cookie for a language saved on the profile; none chosen clears it. */
const languageCookie = (locale: string | null): CookieSpec =>
  locale
    ? { name: LANGUAGE_COOKIE, value: locale, maxAge: LANGUAGE_COOKIE_MAX_AGE, path: '/' }
    : { name: LANGUAGE_COOKIE, value: '', maxAge: 0, path: '/' };

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
      locale: s.user.locale ?? null,
      fieldErrors: {},
      ...(saved === 'email'
        ? { notice: msg('account.profile.savedEmail') }
        : saved
          ? { notice: msg('account.profile.saved') }
          : {}),
    },
    { nav: 'profile' },
  );
}

export async function saveProfile(p: ProfileDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const ok = await accountForm(p, req, PURPOSE, { name: 255, email: 320, locale: 16 });
  if ('response' in ok) return ok.response;
  const { s, f } = ok;
  const name = (f.name ?? '').trim();
  const email = (f.email ?? '').trim();
  // A form without the field (a page from before it) leaves the language as it is; an empty one is "none"
  // (an empty value reads as absent: the request says which it was).
  const asked = req.params.has('locale') ? (f.locale ?? '') : (s.user.locale ?? '');
  const fieldErrors: { name?: Msg; email?: Msg; locale?: Msg } = {};
  if (/[\p{Cc}]/u.test(name)) fieldErrors.name = msg('account.profile.nameControl');
  // Control characters (a NUL is refused by PostgreSQL, others end up in mail headers) as at sign-up.
  if (email && !isEmailAddress(email)) fieldErrors.email = msg('account.profile.emailInvalid');
  if (asked !== '' && !isLocale(asked)) fieldErrors.locale = msg('account.profile.languageInvalid');
  if (fieldErrors.name || fieldErrors.email || fieldErrors.locale)
    return accountPage(
      p,
      s,
      formToken(p, s, PURPOSE),
      {
        page: 'profile',
        name,
        email,
        emailVerified: false,
        // The stored choice stays selected: what was sent is not a language to show again.
        locale: fieldErrors.locale ? (s.user.locale ?? null) : asked || null,
        fieldErrors,
        error: msg('account.form.checkFields'),
      },
      { nav: 'profile' },
    );
  const locale = asked || null;
  const localeChanged = locale !== (s.user.locale ?? null);
  const oldEmail = s.user.email;
  const emailChanged = (email || null) !== oldEmail;
  if (emailChanged && !isRecent(p, s.session)) return toReauth(p, '/account/profile');
  const now = p.now();
  const updated = {
    ...s.user,
    name: name || null,
    ...(emailChanged ? { email: email || null, emailVerified: false } : {}),
    locale,
    updatedAt: now,
  };
  await p.stores.users.put(updated);
  if (emailChanged) {
    // The new address gets a verification link (email.ts), the old one is told (masked new address).
    // Both are queued or the change is undone: an address changed without the old one being told
    // (or without a link to verify the new one) is what an attacker with a session would want.
    try {
      if (email && p.config.emailVerification !== 'off') await sendVerification(p, updated, email, req);
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
          // In the language just chosen, if one was: the mails follow the saved record.
          locale: mailLocale(req, p.config, updated),
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
          locale,
          fieldErrors: {},
          error: msg('account.profile.mailFailed'),
        },
        { nav: 'profile', status: 503 },
      );
    }
    p.events({ type: 'email_changed', userId: s.user.id, ip: req.ip });
    p.log.info({ event: 'email_changed', sub: s.user.id }, 'email address changed by user');
  }
  if (localeChanged)
    p.log.info({ event: 'locale_changed', sub: s.user.id, locale: locale ?? 'none' }, 'language changed by user');
  const back = `/account/profile?saved=${emailChanged && email ? 'email' : '1'}`;
  // The choice shows at once in this browser: the cookie outranks the stored choice (negotiate.ts), so it
  // follows what the form saved (cleared for "browser default"), even when the stored choice did not change
  // but this browser had picked another language from a page's links. A form without the field changes neither.
  if (!req.params.has('locale')) return redirectTo(p, back);
  return { kind: 'redirect', location: `${p.config.issuer}${back}`, cookies: [languageCookie(locale)] };
}
