// Which words of a page were left in English, or never looked up at all (issue 18), for the tests that
// look at pages as a person sees them. A page in German or French may only show a catalog's English
// text where that language says the same (a brand-neutral '{page} · {brand}', say); an English text
// whose translation differs means the page wrote English instead of calling t(). A catalog key shown as
// text ('interaction.login.title') means a key went through without being looked up, in any language.
import { catalogs } from './catalog.ts';
import type { Locale } from './negotiate.ts';

/** Why a text of a page is untranslated. */
export interface Untranslated {
  /** The text as the page shows it (whitespace collapsed). */
  readonly text: string;
  /**
   * 'english': the English catalog text of `key`; 'key': `key` shown literally; 'words': English words
   * that are in no catalog (a sentence written into a page, never put in a catalog), `key` empty.
   */
  readonly reason: 'english' | 'key' | 'words';
  /** The catalog key (for 'key', the key-shaped text shown; for 'words', the English words found). */
  readonly key: string;
}

/** A text as a person reads it: whitespace runs are one space, none at either end. */
export const normalize = (text: string): string => text.replace(/\s+/g, ' ').trim();

const PLACEHOLDER = /\{[A-Za-z][A-Za-z0-9_]*\}/g;
const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * An English text (normalized) with placeholders as a pattern of the whole text, its values anything but
 * empty. Only when the words around the placeholders hold a few letters: '{page} · {brand}' would match
 * nearly any text with a dot in it, and says nothing in any language.
 */
function templateOf(text: string): RegExp | undefined {
  const literal = text.split(PLACEHOLDER);
  if (literal.length === 1 || (literal.join('').match(/\p{L}/gu)?.length ?? 0) < 3) return undefined;
  return new RegExp(`^${literal.map(escapeRegExp).join('.+?')}$`, 'su');
}

/** The catalogs to compare a page with: English and the page's language, key by key. */
export interface Catalogs {
  readonly en: Readonly<Record<string, string>>;
  readonly mine: Readonly<Record<string, string>>;
}

interface Index {
  /** English texts (normalized) whose translation in the locale differs, to the key they belong to. */
  readonly english: ReadonlyMap<string, string>;
  /** The same for English texts with placeholders, as patterns. */
  readonly templates: ReadonlyArray<readonly [RegExp, string]>;
  /** Every text of the locale's own catalog (normalized): one is never untranslated, even if English has it too. */
  readonly own: ReadonlySet<string>;
  /** The keys, and their areas (the first name of a key). */
  readonly keys: ReadonlySet<string>;
  readonly keyShape: RegExp | undefined;
}

/** The last part of a host name rather than of a key ('mail.example.org' is a mail server, not a key). */
const HOST_ENDING = /\.(?:com|org|net|io|dev|app|example|test|invalid|localhost|local|de|fr|uk|eu)$/;

function indexOf({ en, mine }: Catalogs, translated: boolean): Index {
  const english = new Map<string, string>();
  const templates: [RegExp, string][] = [];
  const own = new Set(Object.values(mine).map(normalize));
  if (translated)
    for (const [key, value] of Object.entries(en)) {
      const text = normalize(value);
      if (mine[key] !== undefined && text === normalize(mine[key])) continue;
      if (own.has(text)) continue;
      const pattern = templateOf(text);
      if (pattern) templates.push([pattern, key]);
      else if (text.split(PLACEHOLDER).length === 1 && !english.has(text)) english.set(text, key);
    }
  const keys = new Set(Object.keys(en));
  const areas = [...new Set([...keys].map((k) => k.split('.')[0]!))];
  // A key written out: an area's name, then names joined by dots, not inside a word, an address or a
  // URL (alice@account.example, https://mail.example.org/ are not keys).
  const keyShape = areas.length
    ? new RegExp(
        `(?<![\\w.@/:-])((?:${areas.map(escapeRegExp).join('|')})(?:\\.[A-Za-z][A-Za-z0-9_-]*)+)(?![\\w@/-]|\\.[A-Za-z0-9])`,
        'g',
      )
    : undefined;
  return { english, templates, own, keys, keyShape };
}

/**
 * The catalog keys `text` shows: any key of the catalog, and anything shaped like one with at least two
 * names after the area ('interaction.login.titel', a key mistyped somewhere that bypassed the types),
 * unless it ends like a host name.
 */
function keysIn(index: Index, text: string): string[] {
  if (!index.keyShape) return [];
  return [...text.matchAll(index.keyShape)]
    .map((m) => m[1]!)
    .filter((k) => index.keys.has(k) || (k.split('.').length >= 3 && !HOST_ENDING.test(k)));
}

/**
 * English words that are no German or French word (so not "an", "in", "was", "will", "die", "on", "a",
 * "or", "not", "as", "us"): the small words of any English sentence. A text of two words or more with
 * one of them, on a German or French page, is English that no catalog holds. Names of things (a brand,
 * a client, a scope, an address) are not sentences and rarely hold one.
 */
const ENGLISH_ONLY = new Set(
  (
    'the your yours you this that these those with and of to is are be been being has have had for from by ' +
    'at our we they them their its it which when what where who there here should would could must may ' +
    "please than then only any does do did don’t don't can’t can't cannot can isn’t isn't won’t won't yet"
  ).split(' '),
);

/** The English-only words of `text`, when it has two words or more. */
function englishWordsOf(text: string): string[] {
  // Identifiers shown on a page (key ids, client ids, times) hold letters too, and a random one can
  // hold a short English word ("_wE4"): a token with a digit in it, or a long unbroken one, is no word.
  const words =
    text
      .replace(/\S*\d\S*|[\p{L}\p{N}_-]{24,}/gu, ' ')
      .toLowerCase()
      .match(/[\p{L}’']+/gu) ?? [];
  return words.length >= 2 ? [...new Set(words.filter((w) => ENGLISH_ONLY.has(w)))] : [];
}

const indexes = new Map<Locale, Index>();

function shipped(locale: Locale): Index {
  let index = indexes.get(locale);
  if (!index) {
    const all = new Map(catalogs());
    index = indexOf({ en: all.get('en')!, mine: all.get(locale)! }, locale !== 'en');
    indexes.set(locale, index);
  }
  return index;
}

/**
 * The texts of a page in `locale` that are untranslated: in any language, a catalog key shown as text; in a language
 * other than English, a text that is an English catalog text (a whole text, after collapsing whitespace; with
 * placeholders, any values in their place) whose translation in `locale` differs, and that is no text of `locale`'s own
 * catalog; and a text of English words no catalog holds (ENGLISH_ONLY). Each text is reported once, in the order given.
 * `source`: other catalogs than Tessera's (this module's own tests).
 */
export function untranslated(locale: Locale, texts: Iterable<string>, source?: Catalogs): Untranslated[] {
  const index = source ? indexOf(source, locale !== 'en') : shipped(locale);
  const found: Untranslated[] = [];
  const seen = new Set<string>();
  for (const raw of texts) {
    const text = normalize(raw);
    if (!text || seen.has(text)) continue;
    seen.add(text);
    const key = keysIn(index, text)[0];
    if (key !== undefined) {
      found.push({ text, reason: 'key', key });
      continue;
    }
    if (index.own.has(text)) continue;
    const english = index.english.get(text) ?? index.templates.find(([pattern]) => pattern.test(text))?.[1];
    if (english !== undefined) {
      found.push({ text, reason: 'english', key: english });
      continue;
    }
    const words = locale === 'en' ? [] : englishWordsOf(text);
    if (words.length > 0) found.push({ text, reason: 'words', key: words.join(' ') });
  }
  return found;
}

/** One line per untranslated text, for an assertion's message: `"Sign in" (English of interaction.login.title)`. */
export const describeUntranslated = (found: readonly Untranslated[]): string =>
  found
    .map((f) =>
      f.reason === 'key'
        ? `"${f.text}" (shows the key ${f.key})`
        : f.reason === 'english'
          ? `"${f.text}" (English of ${f.key})`
          : `"${f.text}" (English words in no catalog: ${f.key})`,
    )
    .join('\n');
