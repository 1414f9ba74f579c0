// Message catalogs (issue 18): every sentence a page or a mail shows, by key, in each language of
// negotiate.ts. English is the source of the keys; each area of the product has its own module in
// messages/ (so people can work on areas apart), and the type of every other language is "every
// English key", so a missing translation does not compile. Texts take {name} placeholders, filled by
// `t`; the renderer escapes the result like any other text (a catalog never holds markup).
import { LOCALES, type Locale } from './negotiate.ts';
import * as account from './messages/account.ts';
import * as consoleArea from './messages/console.ts';
import * as interaction from './messages/interaction.ts';
import * as layout from './messages/layout.ts';
import * as mail from './messages/mail.ts';
import * as scopes from './messages/scopes.ts';

const AREAS = [layout, interaction, account, mail, scopes, consoleArea] as const;

const en = {
  ...layout.en,
  ...interaction.en,
  ...account.en,
  ...mail.en,
  ...scopes.en,
  ...consoleArea.en,
} as const;

/** A message's key: a key of the English catalog. */
export type MessageKey = keyof typeof en;

/** Values for a message's placeholders. */
export type MessageParams = Readonly<Record<string, string | number>>;

const merged = (l: Exclude<Locale, 'en'>): Record<MessageKey, string> =>
  Object.assign({}, ...AREAS.map((a) => a[l])) as Record<MessageKey, string>;

const CATALOGS: Readonly<Record<Locale, Readonly<Record<MessageKey, string>>>> = {
  en,
  de: merged('de'),
  fr: merged('fr'),
};

declare const MESSAGE: unique symbol;

/**
 * A message to show, not yet in a language: made only by `msg`, so a field typed Msg cannot be given a
 * sentence written out in English by mistake.
 */
export interface Msg {
  readonly key: MessageKey;
  readonly params?: MessageParams;
  readonly [MESSAGE]: true;
}

/** The message `key` with the values of its placeholders. */
export const msg = (key: MessageKey, params?: MessageParams): Msg => ({ key, ...(params ? { params } : {}) }) as Msg;

/** A {placeholder} of a catalog text (its name in group 1). */
export const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9_]*)\}/g;

/** The placeholders a text names, sorted (for the catalogs' test). */
export const placeholdersOf = (text: string): string[] => [...text.matchAll(PLACEHOLDER)].map((m) => m[1]!).sort();

/**
 * The text of a message in `locale`, its placeholders filled in. A placeholder without a value stays
 * as it is written (a test of the catalogs catches the mistake; a page never breaks on it).
 */
export function t(locale: Locale, message: Msg | MessageKey, params?: MessageParams): string {
  const key = typeof message === 'string' ? message : message.key;
  const values = typeof message === 'string' ? params : message.params;
  const text = CATALOGS[locale][key];
  return text.replace(PLACEHOLDER, (whole, name: string) =>
    values !== undefined && Object.hasOwn(values, name) ? String(values[name]) : whole,
  );
}

/**
 * A text written by an operator rather than by Tessera (a custom scope's description, from a resource
 * server's record or TESSERA_EXTRA_SCOPES): English, and any other language they gave.
 */
export interface OperatorText {
  readonly en: string;
  readonly de?: string;
  readonly fr?: string;
}

/** Words a page shows: a catalog message, or an operator's text. */
export type Words = Msg | { readonly operator: OperatorText };

/** Words in `locale`: the catalog's, or the operator's in that language (else their English). */
export function say(locale: Locale, words: Words): string {
  return 'operator' in words ? (words.operator[locale] ?? words.operator.en) : t(locale, words);
}

/** Every language's catalog, for the tests that compare them. */
export function catalogs(): ReadonlyArray<[Locale, Readonly<Record<MessageKey, string>>]> {
  return LOCALES.map((l) => [l, CATALOGS[l]]);
}
