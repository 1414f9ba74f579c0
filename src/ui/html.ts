/**
 * Minimal, dependency-free HTML helpers for the server-rendered pages.
 *
 * Safety model: every dynamic value goes through `escapeHtml`, either directly or via
 * the `html` tagged template, which escapes every interpolation unless it is an `Html`
 * value (markup produced by this module). Attribute values are always double-quoted, so
 * escaping `&<>"'` is sufficient for both text and attribute contexts. Never build markup
 * by string concatenation of unescaped input.
 */
import { t } from '../i18n/catalog.ts';
import { LANGUAGE_NAMES, type Locale } from '../i18n/negotiate.ts';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes a string for use in HTML text and in (quoted) attribute values. */
export function escapeHtml(s: string): string {
  return String(s).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** A fragment of trusted markup. Only `html`, `raw` and `layout` create these. */
export class Html {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

/** Values accepted inside an `html` template. Strings and numbers are escaped. */
export type HtmlValue = Html | string | number | null | undefined | false | readonly HtmlValue[];

function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

/** Tagged template: escapes every interpolated value unless it is already `Html`. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}

/** Marks a string as trusted markup. Only for compile-time constants (e.g. the stylesheet). */
export function raw(s: string): Html {
  return new Html(s);
}

const STYLES = `
:root {
  color-scheme: light dark;
  --bg: #f3f4f6;
  --card: #ffffff;
  --text: #111827;
  --muted: #4b5563;
  --border: #d1d5db;
  --subtle: #f9fafb;
  --primary: #1d4ed8;
  --primary-hover: #1e40af;
  --on-primary: #ffffff;
  --focus: #2563eb;
  --danger-bg: #fef2f2;
  --danger-border: #fca5a5;
  --danger-text: #991b1b;
  --code-bg: #eef2f7;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0b0f14;
    --card: #151a21;
    --text: #e5e7eb;
    --muted: #a1a9b6;
    --border: #323a46;
    --subtle: #1b212a;
    --primary: #7aa7ff;
    --primary-hover: #9dbcff;
    --on-primary: #0b1220;
    --focus: #93b4ff;
    --danger-bg: #2a1215;
    --danger-border: #7f1d1d;
    --danger-text: #fecaca;
    --code-bg: #222a35;
  }
}
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0;
  min-height: 100vh;
  background: var(--bg);
  color: var(--text);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  display: flex;
  flex-direction: column;
  align-items: center;
  padding: 2rem 1rem;
}
.brand {
  display: flex;
  align-items: center;
  gap: .5rem;
  margin: 0 0 1.25rem;
  font-weight: 650;
  font-size: 1.125rem;
  letter-spacing: .01em;
}
.brand-mark {
  width: 1.75rem;
  height: 1.75rem;
  border-radius: .45rem;
  background:
    linear-gradient(var(--card), var(--card)) 50% 50% / 2px 100% no-repeat,
    linear-gradient(var(--card), var(--card)) 50% 50% / 100% 2px no-repeat,
    var(--primary);
  flex: none;
}
main {
  width: 100%;
  max-width: 26rem;
  background: var(--card);
  border: 1px solid var(--border);
  border-radius: .875rem;
  padding: 2rem 1.5rem;
  box-shadow: 0 1px 2px rgba(0,0,0,.04), 0 8px 24px rgba(0,0,0,.06);
}
@media (min-width: 480px) { main { padding: 2.25rem 2rem; } }
h1 { font-size: 1.5rem; line-height: 1.25; margin: 0 0 .375rem; font-weight: 650; }
h2 { font-size: 1rem; margin: 1.5rem 0 .5rem; font-weight: 650; }
p { margin: 0 0 1rem; }
main > :last-child { margin-bottom: 0; }
h1 + .user-code { font-family: ui-monospace, monospace; font-size: 1.6rem; letter-spacing: 0.15em; margin: 0.5rem 0; }
.alert { margin-top: 1rem; }
.lead { color: var(--muted); margin-bottom: 1.5rem; overflow-wrap: anywhere; }
.muted { color: var(--muted); }
.small { font-size: .875rem; }
strong { font-weight: 650; color: var(--text); overflow-wrap: anywhere; }
code {
  font: .875em/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  background: var(--code-bg);
  border-radius: .3rem;
  padding: .1em .35em;
  overflow-wrap: anywhere;
}
form { margin: 0; }
.field { margin-bottom: 1rem; }
label { display: block; font-weight: 550; margin-bottom: .375rem; }
input[type="text"], input[type="password"], input[type="email"] {
  display: block;
  width: 100%;
  min-height: 2.875rem;
  padding: .625rem .75rem;
  font: inherit;
  color: var(--text);
  background: var(--card);
  border: 1px solid var(--border);
  border-radius: .5rem;
}
input[aria-invalid="true"] { border-color: var(--danger-text); }
button {
  display: inline-flex;
  align-items: center;
  justify-content: center;
  width: 100%;
  min-height: 2.875rem;
  padding: .625rem 1rem;
  font: inherit;
  font-weight: 600;
  border-radius: .5rem;
  border: 1px solid transparent;
  cursor: pointer;
  background: var(--primary);
  color: var(--on-primary);
}
button:hover { background: var(--primary-hover); }
button.secondary {
  background: transparent;
  color: var(--text);
  border-color: var(--border);
}
button.secondary:hover { background: var(--subtle); }
button.compact { width: auto; min-height: 2.75rem; padding: .5rem .875rem; font-size: .9375rem; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
input:focus-visible { outline-offset: 0; border-color: var(--focus); }
.actions { display: flex; gap: .75rem; margin-top: 1.5rem; }
.actions > * { flex: 1 1 0; }
.alert {
  background: var(--danger-bg);
  border: 1px solid var(--danger-border);
  color: var(--danger-text);
  border-radius: .5rem;
  padding: .75rem .875rem;
  margin: 0 0 1.25rem;
  overflow-wrap: anywhere;
}
.scopes, .apps { list-style: none; margin: 0; padding: 0; }
.scopes li {
  padding: .75rem 0;
  border-top: 1px solid var(--border);
}
.scopes li:last-child { border-bottom: 1px solid var(--border); }
.scope-desc { display: block; }
.scope-name { display: inline-block; margin-top: .25rem; color: var(--muted); }
.scope-releases { display: block; margin-top: .25rem; color: var(--muted); }
.authorization-details { list-style: none; padding: 0; margin: 0; }
.authorization-details li { padding: .75rem 0; border-top: 1px solid var(--border); }
.authorization-details dl { margin: .5rem 0 0; display: grid; grid-template-columns: max-content 1fr; gap: .25rem .75rem; }
.authorization-details dt { color: var(--muted); }
.authorization-details dd { margin: 0; overflow-wrap: anywhere; }
.resource {
  margin: 1.25rem 0 0;
  padding: .75rem .875rem;
  background: var(--subtle);
  border: 1px solid var(--border);
  border-radius: .5rem;
  overflow-wrap: anywhere;
}
.apps li {
  display: flex;
  gap: 1rem;
  align-items: flex-start;
  justify-content: space-between;
  padding: 1rem 0;
  border-top: 1px solid var(--border);
}
.app-info { min-width: 0; flex: 1 1 auto; }
.app-name { display: block; font-weight: 650; overflow-wrap: anywhere; }
.app-meta { display: block; margin: .375rem 0 0; }
.app-meta code { display: inline-block; margin: 0 0 .25rem; }
.empty {
  padding: 1rem;
  border: 1px dashed var(--border);
  border-radius: .5rem;
  color: var(--muted);
  text-align: center;
}
.divider { border: 0; border-top: 1px solid var(--border); margin: 1.75rem 0 1.25rem; }
.note { margin-top: 1.25rem; }
.field-error { color: var(--danger-text); margin: .375rem 0 0; }
.hint { color: var(--muted); margin: .375rem 0 0; }
a { color: var(--primary); }
.status { margin-bottom: 0; }
.noscript-hint { margin: 1rem 0 0; }
@media (prefers-reduced-motion: no-preference) {
  button, input { transition: background-color .12s ease, border-color .12s ease; }
}
.logout-frame { display: block; width: 0; height: 0; border: 0; visibility: hidden; }
[hidden] { display: none !important; }
.passkey-signin { margin-top: 1rem; }
.upstream-signin form { margin-top: .5rem; }
.alert.notice { background: var(--subtle); border-color: var(--border); color: var(--text); }
/* The account area (ui/account-pages.ts). */
/* The account area's and the console's navigation (ui/account-pages.ts, ui/console-pages.ts). */
.account-nav, .console-nav { margin: 0 0 1.5rem; }
.account-nav ul, .console-nav ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: .375rem; }
.account-nav a, .console-nav a {
  display: inline-block;
  padding: .375rem .625rem;
  min-height: 2.25rem;
  border: 1px solid var(--border);
  border-radius: 999px;
  text-decoration: none;
  font-size: .875rem;
}
.account-nav a[aria-current="page"],
.console-nav a[aria-current="page"] { background: var(--primary); color: var(--on-primary); border-color: var(--primary); }
.notice {
  background: var(--subtle);
  border: 1px solid var(--border);
  border-radius: .5rem;
  padding: .75rem .875rem;
  margin: 0 0 1.25rem;
}
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .375rem .75rem; margin: 0 0 1rem; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.links { padding-left: 1.25rem; }
.links li { margin: .375rem 0; }
.qr { max-width: 14rem; margin: 0 auto 1rem; background: #fff; padding: .25rem; border-radius: .5rem; }
.qr svg { display: block; width: 100%; height: auto; }
.secret { display: inline-block; font-size: 1rem; letter-spacing: .05em; margin-top: .25rem; }
.codes { list-style: none; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: .5rem; }
.codes code { font-size: 1rem; }
.badge {
  display: inline-block;
  font-size: .75rem;
  font-weight: 600;
  padding: .1rem .45rem;
  border-radius: 999px;
  background: var(--code-bg);
  vertical-align: middle;
}
.inline-form { display: flex; flex-wrap: wrap; align-items: flex-end; gap: .5rem; margin-top: .5rem; }
.inline-form label { width: 100%; margin: 0; font-weight: 400; }
.inline-form input[type="text"] { flex: 1 1 8rem; width: auto; min-height: 2.75rem; }
.check { display: flex; align-items: center; gap: .5rem; }
.check label { margin: 0; }
.check input { width: 1.25rem; height: 1.25rem; }
button.danger { background: var(--danger-text); color: var(--card); }
.activity { padding-left: 1.25rem; }
.activity li { margin: .375rem 0; overflow-wrap: anywhere; }
.brand-logo { display: block; height: 2rem; width: auto; max-width: 12rem; object-fit: contain; }
.site-footer { margin-top: 1.5rem; font-size: .875rem; }
.site-footer ul { list-style: none; display: flex; flex-wrap: wrap; justify-content: center; gap: .5rem 1.25rem; margin: 0; padding: 0; }
.site-footer a { color: var(--muted); }
.site-footer nav + nav { margin-top: .5rem; }
.client-logo { display: block; width: 4rem; height: 4rem; object-fit: contain; margin: 0 0 1rem; border-radius: .5rem; }
.client-links { margin-top: 1rem; }
.button-link {
  display: block;
  text-align: center;
  padding: .625rem 1rem;
  border-radius: .5rem;
  background: var(--primary);
  color: var(--on-primary);
  font-weight: 600;
  text-decoration: none;
}
`;

/**
 * The deployment's branding as a page shows it (http/render-page.ts makes it from the branding in
 * effect): its name, its logo's URL on Tessera's own origin, its primary colour and the text on it
 * (CSS hex colours, checked again here so that nothing else can reach the style element), its
 * footer links (http or https, checked again here too).
 */
export interface PageBrand {
  name: string;
  logoUrl?: string;
  primaryColor?: string;
  primaryTextColor?: string;
  privacyUrl?: string;
  termsUrl?: string;
  supportUrl?: string;
}

/** Tessera's own branding: its name, its colours, no logo, no footer links. */
export const DEFAULT_BRAND: PageBrand = { name: 'Tessera' };

/** The deployment's name, for the pages' own sentences ("your <name> account"). */
export const brandName = (brand: PageBrand | undefined): string => (brand ?? DEFAULT_BRAND).name;

/** A link of the footer's language switcher: a language, and the page again in it. */
export interface LanguageLink {
  locale: Locale;
  href: string;
}

/**
 * What every page is rendered with besides its own content: the CSP nonce of its style and
 * scripts, the deployment's branding, the language (negotiated by the HTTP layer, http/language.ts)
 * and the links to the same page in the other languages (only on pages reached by GET).
 */
export interface PageChrome {
  nonce: string;
  brand?: PageBrand;
  locale?: Locale;
  languages?: readonly LanguageLink[];
}

/** The chrome of a page's parameters (what `layout` takes of them). */
export const chromeOf = (p: PageChrome): PageChrome => ({
  nonce: p.nonce,
  brand: p.brand,
  locale: p.locale,
  languages: p.languages,
});

const HEX_COLOR = /^#[0-9a-fA-F]{6}$/;

/** An http(s) URL as given, or undefined for anything else (no javascript: or data: link, whatever was stored). */
export function webLink(uri: string | undefined): string | undefined {
  if (uri === undefined) return undefined;
  try {
    const u = new URL(uri);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The brand's colours as custom properties for the light colour scheme (the dark scheme keeps
 * Tessera's own palette, whose contrast is known); nothing unless both are plain hex colours.
 */
function brandStyles(b: PageBrand): string {
  const primary = b.primaryColor;
  const text = b.primaryTextColor;
  if (!primary || !text || !HEX_COLOR.test(primary) || !HEX_COLOR.test(text)) return '';
  return (
    `@media not all and (prefers-color-scheme: dark) { :root { --primary: ${primary}; ` +
    `--primary-hover: color-mix(in srgb, ${primary} 82%, #000000); --on-primary: ${text}; --focus: ${primary}; } }`
  );
}

/** The footer: the brand's links, and the other languages' links, when there are any. */
function footer(b: PageBrand, locale: Locale, languages: readonly LanguageLink[]): Html | '' {
  const links = (
    [
      [webLink(b.privacyUrl), t(locale, 'layout.privacy')],
      [webLink(b.termsUrl), t(locale, 'layout.terms')],
      [webLink(b.supportUrl), t(locale, 'layout.support')],
    ] as const
  ).filter((l): l is readonly [string, string] => l[0] !== undefined);
  const others = languages.filter((l) => l.locale !== locale);
  if (!links.length && !others.length) return '';
  const brandLinks = links.length
    ? html`<nav aria-label="${t(locale, 'layout.footer')}"><ul>${links.map(
        ([href, label]) => html`<li><a href="${href}" rel="noopener noreferrer">${label}</a></li>`,
      )}</ul></nav>`
    : '';
  // Each language by its own name, marked as being in it (WCAG 3.1.2), the link relative to this page.
  const languageLinks = others.length
    ? html`<nav class="languages" aria-label="${t(locale, 'layout.languages')}"><ul>${others.map(
        (l) =>
          html`<li><a href="${l.href}" lang="${l.locale}" hreflang="${l.locale}">${LANGUAGE_NAMES[l.locale]}</a></li>`,
      )}</ul></nav>`
    : '';
  return html`<footer class="site-footer">${brandLinks}${languageLinks}</footer>`;
}

/**
 * Wraps a page body in a complete HTML document with the brand header (the logo or the brand mark,
 * and the name), the brand's colours, the footer links and inline styles. `styles`: more rules after
 * the shared ones (a compile-time constant of the pages' module, e.g. the console's). `brand`:
 * the deployment's branding; Tessera's own without it.
 */
export function layout(
  p: {
    title: string;
    body: Html | string;
    styles?: string;
  } & PageChrome,
): string {
  const locale = p.locale ?? 'en';
  // A plain string body is treated as text, never as markup.
  const body = p.body instanceof Html ? p.body : html`<p>${p.body}</p>`;
  const brand = p.brand ?? DEFAULT_BRAND;
  const mark = brand.logoUrl
    ? html`<img class="brand-logo" src="${brand.logoUrl}" alt="${brand.name}" height="32">`
    : html`<span class="brand-mark" aria-hidden="true"></span>`;
  return html`<!doctype html>
<html lang="${locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>${t(locale, 'layout.title', { page: p.title, brand: brand.name })}</title>
<style nonce="${p.nonce}">${raw(STYLES)}${raw(p.styles ?? '')}${raw(brandStyles(brand))}</style>
</head>
<body>
<header class="brand">${mark}<span>${brand.name}</span></header>
<main>
${body}
</main>
${footer(brand, locale, p.languages ?? [])}
</body>
</html>
`.value;
}
