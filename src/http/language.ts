// The language of a page on the HTTP side (issue 18): what the request says (the language picked from
// a page's language links, kept in a cookie, and Accept-Language), added to what the endpoint knows
// (the authorization request's ui_locales, the user's own choice; OAuthResponse's `language`), then
// negotiated (i18n/negotiate.ts) over TESSERA_DEFAULT_LOCALE. Every page goes through here, so none
// can forget its language. The footer's links go to the same page with `?lang=<locale>`: that
// request only sets the cookie and sends the browser back to the page without the parameter.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LANGUAGE_COOKIE, LANGUAGE_PARAM, LOCALES, localeOf, negotiate, type Locale } from '../i18n/negotiate.ts';
import type { PageLanguage } from '../protocol/provider.ts';
import type { LanguageLink } from '../ui/html.ts';
import { parseCookies, serializeCookie } from './cookies.ts';
import type { CookieOptions } from './reply.ts';

/** How long the picked language is kept (a year, as Keycloak keeps its locale cookie for a session at most). */
const LANGUAGE_COOKIE_MAX_AGE = 365 * 86400;

/** What a page's request says about its language (a getter server.ts decorates Fastify's replies with). */
export interface RequestLanguage {
  /** The language negotiated with what the endpoint knows. */
  localeFor(known: PageLanguage | undefined): Locale;
  /**
   * The page in each language: GET pages only (a page answering a form has no address to come back
   * to), and not a page whose address used something up (`once`: loading it again would not show it again).
   */
  links(known: PageLanguage | undefined): readonly LanguageLink[];
}

/**
 * A request's own address, split into its path exactly as sent and its query, when the path is a
 * plain one: one slash, then no slash or backslash, and no backslash or dot segment anywhere (a URL
 * parser would turn `/x/..\host` into `//host`, and a browser reads `/\host` as another host). The
 * links and the switch's redirect reuse the path as sent, never a parsed one, so they cannot lead
 * anywhere but where this request came.
 */
function ownUrl(url: string): { path: string; query: URLSearchParams } | undefined {
  const at = url.indexOf('?');
  const path = at < 0 ? url : url.slice(0, at);
  if (!/^\/(?:[^/\\]|$)/.test(path) || path.includes('\\') || /(?:^|\/)\.\.?(?:\/|$)/.test(path)) return undefined;
  // `%2e` is a dot to a URL parser (`/x/%2e%2e/` climbs too); an encoded slash or backslash stays encoded.
  if (/%2e/i.test(path)) return undefined;
  return { path, query: new URLSearchParams(at < 0 ? '' : url.slice(at + 1)) };
}

/** The address's path and query, with `lang` set to `locale` (or left out). */
function relative(u: { path: string; query: URLSearchParams }, locale?: Locale): string {
  const q = new URLSearchParams(u.query);
  q.delete(LANGUAGE_PARAM);
  if (locale) q.set(LANGUAGE_PARAM, locale);
  const query = q.toString();
  return u.path + (query ? `?${query}` : '');
}

/**
 * The language of a request's page. `fallback`: TESSERA_DEFAULT_LOCALE. `secure`: cookies are
 * Secure (only __Host- names are read).
 */
export function requestLanguage(req: FastifyRequest, fallback: Locale, secure: boolean): RequestLanguage {
  const accept = req.headers['accept-language'];
  const chosen = parseCookies(req.headers.cookie, secure)[LANGUAGE_COOKIE];
  return {
    localeFor: (known) =>
      negotiate(
        {
          ...(chosen ? { chosen } : {}),
          ...(known?.uiLocales ? { uiLocales: known.uiLocales } : {}),
          ...(known?.userLocale ? { userLocale: known.userLocale } : {}),
          ...(typeof accept === 'string' ? { acceptLanguage: accept } : {}),
        },
        fallback,
      ),
    links: (known) => {
      if (req.method !== 'GET' || known?.once) return [];
      const u = ownUrl(req.url);
      return u ? LOCALES.map((locale) => ({ locale, href: relative(u, locale) })) : [];
    },
  };
}

/**
 * `?lang=<locale>` on a GET page: keep the language in the cookie and show the page again without
 * the parameter (so that no endpoint ever sees it). Not a redirect elsewhere: the location is this
 * request's own path. An unknown language is ignored (the page is shown as asked). Attached to the
 * page routes only (kind `page`, registered after this), so no other route pays for it.
 */
export function mountLanguageSwitch(app: FastifyInstance, cookieOpts: CookieOptions): void {
  const languageSwitch = (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
    if (req.method !== 'GET' || !req.url.includes(`${LANGUAGE_PARAM}=`)) return done();
    const u = ownUrl(req.url);
    const asked = u?.query.get(LANGUAGE_PARAM);
    const locale = asked ? localeOf(asked) : undefined;
    if (!u || !locale) return done();
    const cookie = serializeCookie(
      { name: LANGUAGE_COOKIE, value: locale, maxAge: LANGUAGE_COOKIE_MAX_AGE, path: '/' },
      cookieOpts,
    );
    reply
      .code(303)
      .headers({ 'cache-control': 'no-store', location: relative(u), 'set-cookie': cookie })
      .send();
  };
  app.addHook('onRoute', (route) => {
    if ((route.config as { kind?: string } | undefined)?.kind !== 'page') return;
    const own = route.onRequest;
    route.onRequest = [languageSwitch, ...(own === undefined ? [] : Array.isArray(own) ? own : [own])];
  });
}
