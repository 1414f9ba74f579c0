// The language a mail is written in (issue 18), chosen when it is queued: the worker renders it later,
// with no request at hand (adapters/mail/worker.ts). The user's own choice on their account page comes
// first (a mail reaches the person, whichever browser asked), then what the request that caused it
// says (the language picked from the pages' links, the authorization request's ui_locales on a sign-in,
// Accept-Language), then TESSERA_DEFAULT_LOCALE. A mail an operator causes (CLI, admin API) has no
// request of the user's: the user's choice, else the default.
import type { Config } from '../config/config.ts';
import { LANGUAGE_COOKIE, localeOf, negotiate, type Locale } from '../i18n/negotiate.ts';
import type { UserRecord } from '../ports/users.ts';
import type { ProtocolRequest } from './provider.ts';

export function mailLocale(
  req: Pick<ProtocolRequest, 'headers' | 'cookies'> | undefined,
  config: Pick<Config, 'defaultLocale'>,
  user?: Pick<UserRecord, 'locale'>,
  uiLocales?: string,
): Locale {
  const own = user?.locale ? localeOf(user.locale) : undefined;
  if (own) return own;
  const chosen = req?.cookies[LANGUAGE_COOKIE];
  const accept = req?.headers['accept-language'];
  return negotiate(
    {
      ...(chosen ? { chosen } : {}),
      ...(uiLocales ? { uiLocales } : {}),
      ...(typeof accept === 'string' ? { acceptLanguage: accept } : {}),
    },
    config.defaultLocale,
  );
}
