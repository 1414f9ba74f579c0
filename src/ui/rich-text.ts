/**
 * A catalog sentence with markup in it (issue 18): the catalog holds plain text only, so a sentence
 * with a <strong> or a link names the piece as a placeholder, and the page puts its markup there. The
 * text around the placeholders is escaped like any other; the pieces are markup the page built with
 * `html`.
 */
import { PLACEHOLDER, t, type MessageKey, type MessageParams } from '../i18n/catalog.ts';
import type { Locale } from '../i18n/negotiate.ts';
import { html, type Html, type HtmlValue } from './html.ts';

/**
 * The message `key` in `locale`: `pieces` in their placeholders (markup as it is, strings escaped),
 * `params` (plain values, escaped) in theirs; a placeholder named in neither stays as written.
 */
export function rich(
  locale: Locale,
  key: MessageKey,
  pieces: Readonly<Record<string, HtmlValue>>,
  params: MessageParams = {},
): Html {
  // Filled here rather than by t, so that a value holding "{name}" is never taken for a placeholder.
  const text = t(locale, key);
  const out: HtmlValue[] = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    const name = m[1]!;
    const piece = Object.hasOwn(pieces, name)
      ? pieces[name]
      : Object.hasOwn(params, name)
        ? String(params[name])
        : undefined;
    if (piece === undefined) continue;
    out.push(text.slice(last, m.index), piece);
    last = m.index + m[0].length;
  }
  out.push(text.slice(last));
  return html`${out}`;
}

/** `value` in a <strong>, the usual piece. */
export const strong = (value: string): Html => html`<strong>${value}</strong>`;
