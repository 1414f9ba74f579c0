// Which language a page or a mail is in (issue 18): the languages the request asked for with
// `ui_locales` (OpenID Connect Core 3.1.2.1, in order of preference), then the one the user chose on
// their account page, then the browser's Accept-Language (RFC 9110 section 12.5.4, by weight), then
// the deployment's default. Only languages Tessera has a complete catalog for are ever chosen; a
// regional tag matches its language (de-CH is served German), never the other way round.

/** The languages with a complete message catalog. */
export const LOCALES = ['en', 'de', 'fr'] as const;
export type Locale = (typeof LOCALES)[number];

const KNOWN: ReadonlySet<string> = new Set(LOCALES);

/** Each language by its own name (the footer's language links show these, whatever the page's language). */
export const LANGUAGE_NAMES: Readonly<Record<Locale, string>> = { en: 'English', de: 'Deutsch', fr: 'Français' };

/** The cookie that keeps the language a person picked from a page's language links (http/language.ts). */
export const LANGUAGE_COOKIE = 'tessera_lang';
/** The query parameter of those links: `?lang=de` on a page sets the cookie and shows the page again without it. */
export const LANGUAGE_PARAM = 'lang';

/** Whether `tag` names a language Tessera speaks exactly (`de`, not `de-CH`). */
export const isLocale = (tag: string): tag is Locale => KNOWN.has(tag);

/** Most entries read from one list: a header or parameter longer than this is cut, never parsed whole. */
const MAX_ENTRIES = 20;
/** A BCP 47 language range as sent: letters, digits and hyphens, or the wildcard. */
const RANGE = /^(?:\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)$/;

/** The language a BCP 47 tag asks for, when Tessera speaks it (`fr-CA` → `fr`). */
export function localeOf(tag: string): Locale | undefined {
  if (!RANGE.test(tag)) return undefined;
  const language = tag.split('-')[0]!.toLowerCase();
  return isLocale(language) ? language : undefined;
}

/** The first language of a space-separated `ui_locales` value that Tessera speaks. */
export function fromUiLocales(value: string | undefined): Locale | undefined {
  if (!value) return undefined;
  for (const tag of value.split(' ').filter(Boolean).slice(0, MAX_ENTRIES)) {
    const locale = localeOf(tag);
    if (locale) return locale;
  }
  return undefined;
}

/**
 * The language of an Accept-Language header that Tessera speaks, by weight (q), the earlier entry
 * first among equals; `q=0` refuses a language. A wildcard takes none in particular (the default
 * follows). Malformed entries are skipped.
 */
export function fromAcceptLanguage(header: string | undefined): Locale | undefined {
  if (!header) return undefined;
  const refused = new Set<string>();
  const ranked: { locale: Locale; q: number; at: number }[] = [];
  header
    .split(',')
    .slice(0, MAX_ENTRIES)
    .forEach((entry, at) => {
      const [tag = '', ...params] = entry.trim().split(';');
      let q = 1;
      for (const param of params) {
        const m = /^\s*q\s*=\s*(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)\s*$/.exec(param);
        if (m) q = Number(m[1]);
        else return; // a parameter that is not a weight: not an entry this parser trusts
      }
      const locale = localeOf(tag.trim());
      if (!locale) return;
      if (q === 0) refused.add(locale);
      else ranked.push({ locale, q, at });
    });
  ranked.sort((a, b) => b.q - a.q || a.at - b.at);
  return ranked.find((r) => !refused.has(r.locale))?.locale;
}

/** What a request and its user say about language. */
export interface LanguageHints {
  /** The language the person picked from a page's language links, in this browser (the cookie). */
  chosen?: string;
  /** The authorization request's ui_locales (kept with the interaction). */
  uiLocales?: string;
  /** The user's own choice (their account), when signed in. */
  userLocale?: string | null;
  /** The request's Accept-Language header. */
  acceptLanguage?: string;
}

/**
 * The language to answer in: the one picked from the language links in this browser (the person's
 * own act, as Keycloak's kc_locale), then ui_locales, then the user's choice on their account page,
 * then Accept-Language, then `fallback`.
 */
export function negotiate(hints: LanguageHints, fallback: Locale = 'en'): Locale {
  return (
    (hints.chosen ? localeOf(hints.chosen) : undefined) ??
    fromUiLocales(hints.uiLocales) ??
    (hints.userLocale ? localeOf(hints.userLocale) : undefined) ??
    fromAcceptLanguage(hints.acceptLanguage) ??
    fallback
  );
}
