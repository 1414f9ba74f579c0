/**
 * The admin console's pages (/admin, issue 20): pure functions over what console/ looked up (the
 * shapes below; ui/ imports nothing of ours). Forms and tables are described as data (console/forms.ts
 * makes them from the action table's schemas), so a new action needs no page code. No script: every
 * action is a plain form with its CSRF token; the chart is an SVG drawn here, with its figures as a
 * table beside it. Usable on a phone (the tables scroll sideways, the navigation wraps).
 */
import { msg, t, type MessageKey, type Msg } from '../i18n/catalog.ts';
import { en as consoleWords } from '../i18n/messages/console.ts';
import type { Locale } from '../i18n/negotiate.ts';
import { html, layout, raw, type Html, type HtmlValue, chromeOf, type PageChrome } from './html.ts';

/**
 * Words a console page shows: a catalog message; a message whose placeholders are themselves texts (a
 * section's title inside "Back to {section}"), each said in the page's language; or words that are not
 * the console's to translate (a record's name, a refusal's reason from the admin layer), shown as they are.
 */
export type Text =
  | Msg
  | { readonly data: string }
  | { readonly msg: Msg; readonly parts: Readonly<Record<string, Text>> };

/** Words that are data, not the console's own (a name, a value, a reason given by the admin layer). */
export const data = (text: string): Text => ({ data: text });
/** `m` with its placeholders `parts` filled by texts in the page's language. */
export const compose = (m: Msg, parts: Readonly<Record<string, Text>>): Text => ({ msg: m, parts });

/** A text in `locale`. */
export function say(locale: Locale, text: Text): string {
  if ('data' in text) return text.data;
  if ('parts' in text) {
    const parts = Object.fromEntries(Object.entries(text.parts).map(([k, v]) => [k, say(locale, v)]));
    return t(locale, text.msg.key, { ...text.msg.params, ...parts });
  }
  return t(locale, text);
}

/** Whether the console's catalog has `key` (keys made from an action's or a member's name). */
export const hasKey = (key: string): key is MessageKey => Object.hasOwn(consoleWords, key);

/**
 * A member's label: the catalog's 'console.field.<name>'. A member the catalog does not know (a result's
 * member; a test proves every input member the forms show is known) gets its name as words.
 */
export function fieldLabel(name: string): Text {
  const key = `console.field.${name}`;
  return hasKey(key) ? msg(key) : data(labelOf(name));
}

export interface ConsoleLink {
  href: string;
  text: Text;
}

/** A field of a generated form. `name` is the action's input member. */
export interface ConsoleField {
  name: string;
  label: Text;
  kind: 'text' | 'password' | 'email' | 'url' | 'number' | 'select' | 'checkboxes' | 'lines' | 'json';
  required: boolean;
  /** The current value (text), or the chosen values (checkboxes). */
  value?: string;
  values?: string[];
  options?: { value: string; label: Text }[];
  hint?: Text;
  /** What is wrong with the value, when the form came back refused (one text per problem). */
  error?: Text[];
}

export interface ConsoleForm {
  /** Unique on the page: the fields' ids start with it. */
  id: string;
  action: string;
  method: 'get' | 'post';
  title?: Text;
  /** The button's text: what the form does ("Rotate key", "Search"). */
  submit: Text;
  hidden: Record<string, string>;
  fields: ConsoleField[];
  /** A destructive change: the button is marked as such. */
  danger?: boolean;
  /** Why the whole form was refused (role=alert). */
  error?: Text;
  /** What the form does, under its title. */
  description?: Text;
  /** A sentence above the fields (e.g. "Needs a recent sign-in"). */
  note?: Text;
  /** The button's accessible name when its text alone is not enough (a button per row: "Retire key-1"). */
  label?: Text;
}

export interface ConsoleTable {
  caption: Text;
  columns: { key: string; label: Text }[];
  rows: { cells: unknown[]; href?: string; forms?: ConsoleForm[] }[];
  /** Shown instead of the table when there are no rows. */
  empty: Text;
}

export interface ConsoleChart {
  title: Text;
  /** Epoch seconds of each bucket's start, oldest first. */
  buckets: number[];
  series: { name: string; label: Text; values: number[] }[];
}

export interface ConsoleBase extends PageChrome {
  /** The signed-in operator's own language choice (the page's language is negotiated with it before rendering). */
  userLocale?: string | null;
  /** The issuer: every link of the console is under it. */
  base: string;
  username: string;
  role: string;
  /** The sections the person may open, in order. */
  nav: { id: string; title: Text }[];
  current?: string;
  title: Text;
  notice?: Text;
  /** CSRF token of the sign-out form. */
  signOutCsrf: string;
}

export type ConsolePage = ConsoleBase &
  (
    | { page: 'dashboard'; facts: [Text, unknown][]; charts: ConsoleChart[]; details: unknown; links: ConsoleLink[] }
    | {
        page: 'list';
        filters?: ConsoleForm;
        table: ConsoleTable;
        next?: string;
        forms: ConsoleForm[];
        links: ConsoleLink[];
        /** A document shown as it is (the signing keys' JWKS). */
        preview?: { title: Text; text: string };
        /** A section whose page is one record, not a list (settings): shown instead of the table. */
        value?: unknown;
      }
    | { page: 'record'; value: unknown; forms: ConsoleForm[]; links: ConsoleLink[]; back: ConsoleLink }
    | {
        page: 'form';
        form: ConsoleForm;
        back: ConsoleLink;
        summary?: Text;
        /** The record the form acts on, shown (its key is also a hidden member of the form). */
        target?: { label: Text; text: Text };
      }
    | { page: 'result'; value: unknown; links: ConsoleLink[]; summary?: Text }
  );

/** A page outside the console's frame: not signed in as an admin, no second factor, refused. */
export interface ConsoleMessage extends PageChrome {
  title: Text;
  message: Text;
  links: ConsoleLink[];
}

const STYLES = `
/* The admin console (ui/console-pages.ts). */
.facts { grid-template-columns: max-content minmax(0, 1fr); }
td pre.json { white-space: pre-wrap; max-width: 32rem; margin: .25rem 0 0; }
main { max-width: 72rem; }
.console-head { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: center; gap: .5rem; margin: 0 0 1rem; }
.console-head p { margin: 0; }
.console-head form { display: inline; }
.table-wrap { overflow-x: auto; margin: 0 0 1rem; border: 1px solid var(--border); border-radius: .5rem; }
table { border-collapse: collapse; width: 100%; font-size: .9375rem; }
caption { text-align: left; font-weight: 650; padding: .5rem .75rem; }
th, td { text-align: left; padding: .5rem .75rem; border-top: 1px solid var(--border); vertical-align: top; white-space: nowrap; }
th.long, td.long { white-space: normal; overflow-wrap: anywhere; min-width: 12rem; max-width: 24rem; }
th { background: var(--subtle); font-weight: 600; }
td form { margin: 0 0 .25rem; }
.console-form { border: 1px solid var(--border); border-radius: .5rem; padding: 1rem; margin: 0 0 1rem; }
.console-form h2 { margin-top: 0; }
.console-form fieldset { border: 0; margin: 0; padding: 0; }
.console-form legend { font-weight: 550; margin-bottom: .375rem; }
.console-form select, .console-form textarea, .console-form input[type="number"], .console-form input[type="url"],
.console-form input[type="password"] {
  display: block; width: 100%; min-height: 2.75rem; padding: .5rem .75rem; font: inherit;
  color: var(--text); background: var(--card); border: 1px solid var(--border); border-radius: .5rem;
}
.console-form textarea { min-height: 5rem; font-family: ui-monospace, monospace; }
.console-form button { width: auto; }
.filters { display: grid; grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr)); gap: 0 1rem; align-items: end; }
.forms .wide { grid-column: 1 / -1; }
.forms { display: grid; grid-template-columns: repeat(auto-fill, minmax(18rem, 1fr)); gap: 0 1rem; }
.counts { display: grid; grid-template-columns: repeat(auto-fill, minmax(9rem, 1fr)); gap: .75rem; margin: 0 0 1.5rem; padding: 0; list-style: none; }
.counts li { border: 1px solid var(--border); border-radius: .5rem; padding: .75rem; }
.counts .n { display: block; font-size: 1.5rem; font-weight: 650; }
.chart { width: 100%; height: auto; max-height: 16rem; }
.chart .axis { stroke: var(--border); stroke-width: 1; }
.chart text { fill: var(--muted); font-size: 11px; }
.chart .s0 { stroke: var(--primary); fill: none; stroke-width: 2; }
.chart .s1 { stroke: #15803d; fill: none; stroke-width: 2; }
.chart .s2 { stroke: var(--danger-text); fill: none; stroke-width: 2; stroke-dasharray: 4 3; }
.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 1rem; font-size: .875rem; }
.legend .key { display: inline-block; width: 1.25rem; height: .25rem; vertical-align: middle; margin-right: .375rem; }
.legend .k0 { background: var(--primary); }
.legend .k1 { background: #15803d; }
.legend .k2 { background: var(--danger-text); }
pre.json { background: var(--code-bg); padding: .75rem; border-radius: .5rem; overflow-x: auto; font-size: .8125rem; }
.pager { display: flex; gap: 1rem; margin: 0 0 1rem; }
.buttons { display: flex; flex-wrap: wrap; gap: .5rem; margin: 0 0 1rem; }
.buttons form { margin: 0; }
`;

const timeLike = (key: string) => /(^|_)(at|time|since|until|expires|created|updated|seen|from|to)$/.test(key);

/** A value as text: an epoch-seconds time as UTC ISO, booleans as yes/no (in `locale`). */
export function cellText(key: string, v: unknown, locale: Locale = 'en'): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return t(locale, v ? 'console.value.yes' : 'console.value.no');
  if (typeof v === 'number' && timeLike(key) && v > 1e8 && v < 1e11) return isoMinute(v);
  if (typeof v === 'number' && timeLike(key) && v >= 1e11 && v < 1e14) return isoMinute(Math.floor(v / 1000));
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x !== 'object' || x === null)) return v.join(', ');
  return JSON.stringify(v);
}

const isoMinute = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ') + ' UTC';

/** A member's name as words (`client_name` → "Client name"): the label of a member the catalog does not know. */
export function labelOf(name: string): string {
  const words = name.replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isRows = (v: unknown): v is Record<string, unknown>[] => Array.isArray(v) && v.length > 0 && v.every(isRecord);

/** Any JSON value as markup: an object as a list of facts, a list of objects as a table, scalars as text. */
export function valueView(v: unknown, key = '', depth = 0, L: Locale = 'en'): Html {
  if (isRows(v)) {
    const keys = [...new Set(v.flatMap((r) => Object.keys(r)))].slice(0, 12);
    return tableView(
      {
        caption: key ? fieldLabel(key) : msg('console.value.items'),
        columns: keys.map((k) => ({ key: k, label: fieldLabel(k) })),
        rows: v.map((r) => ({ cells: keys.map((k) => r[k]) })),
        empty: msg('console.value.none'),
      },
      L,
    );
  }
  if (isRecord(v)) {
    if (depth > 3) return html`<pre class="json">${JSON.stringify(v, null, 2)}</pre>`;
    const entries = Object.entries(v);
    if (entries.length === 0) return html`<p class="muted">${t(L, 'console.value.none')}</p>`;
    // On a page's record itself, lists of records get a heading and the page's width of their own.
    const apart = depth === 0 ? entries.filter(([, x]) => isRows(x)) : [];
    const inline = entries.filter((e) => !apart.includes(e));
    return html`${
      inline.length
        ? html`<dl class="facts">${inline.map(
            ([k, x]) =>
              html`<dt>${say(L, fieldLabel(k))}</dt><dd>${
                isRecord(x) || isRows(x) ? valueView(x, k, depth + 1, L) : cellText(k, x, L)
              }</dd>`,
          )}</dl>`
        : ''
    }${apart.map(([k, x]) => html`<h2>${say(L, fieldLabel(k))}</h2>${valueView(x, k, depth + 1, L)}`)}`;
  }
  if (Array.isArray(v) && v.length === 0) return html`<span class="muted">${t(L, 'console.value.empty')}</span>`;
  return html`${cellText(key, v, L)}`;
}

/** A cell whose text is long wraps (anywhere); the others keep to one line, and the table scrolls sideways. */
const long = (v: unknown) => (cellText('', v).length > 32 ? raw(' class="long"') : '');

function tableView(tb: ConsoleTable, L: Locale): Html {
  if (tb.rows.length === 0) return html`<p class="empty">${say(L, tb.empty)}</p>`;
  const hasForms = tb.rows.some((r) => r.forms?.length);
  const caption = say(L, tb.caption);
  return html`<div class="table-wrap" role="region" aria-label="${caption}" tabindex="0"><table>
<caption>${caption}</caption>
<thead><tr>${tb.columns.map((c) => html`<th scope="col">${say(L, c.label)}</th>`)}${
    hasForms ? html`<th scope="col">${t(L, 'console.table.actions')}</th>` : ''
  }</tr></thead>
<tbody>${tb.rows.map(
    (r) =>
      html`<tr>${r.cells.map((c, i) =>
        i === 0 && r.href
          ? html`<th scope="row"${long(c)}><a href="${r.href}">${
              cellText(tb.columns[i]!.key, c, L) || t(L, 'console.table.unnamed')
            }</a></th>`
          : i === 0
            ? html`<th scope="row"${long(c)}>${cellText(tb.columns[i]!.key, c, L)}</th>`
            : isRecord(c) || isRows(c)
              ? html`<td><details><summary>${t(L, 'console.table.show')}</summary><pre class="json">${JSON.stringify(c, null, 2)}</pre></details></td>`
              : html`<td${long(c)}>${cellText(tb.columns[i]!.key, c, L)}</td>`,
      )}${hasForms ? html`<td>${(r.forms ?? []).map((f) => formView(f, L, true))}</td>` : ''}</tr>`,
  )}</tbody>
</table></div>`;
}

function fieldView(form: ConsoleForm, f: ConsoleField, L: Locale): Html {
  const id = `${form.id}-${f.name}`;
  const describedBy = [f.hint ? `${id}-hint` : '', f.error ? `${id}-error` : ''].filter(Boolean).join(' ');
  const aria = html`${f.required ? raw(' required') : ''}${f.error ? raw(' aria-invalid="true"') : ''}${
    describedBy ? html` aria-describedby="${describedBy}"` : ''
  }`;
  const after = html`${f.hint ? html`<p class="hint small" id="${id}-hint">${say(L, f.hint)}</p>` : ''}${
    f.error ? html`<p class="field-error small" id="${id}-error">${f.error.map((e) => say(L, e)).join(' ')}</p>` : ''
  }`;
  const label = say(L, f.label);
  if (f.kind === 'checkboxes') {
    const chosen = new Set(f.values ?? []);
    return html`<fieldset class="field"><legend>${label}</legend>${(f.options ?? []).map(
      (o, i) =>
        html`<div class="check"><input type="checkbox" id="${id}-${i}" name="${f.name}" value="${o.value}"${
          chosen.has(o.value) ? raw(' checked') : ''
        }><label for="${id}-${i}">${say(L, o.label)}</label></div>`,
    )}${after}</fieldset>`;
  }
  let control: Html;
  if (f.kind === 'select') {
    // A required choice with no value yet starts at an empty option the person must change (a browser
    // would otherwise preselect the first option: `owner` of a role).
    const chosen = (f.options ?? []).some((o) => o.value === f.value);
    const empty = !f.required
      ? html`<option value="">${t(L, 'console.form.notSet')}</option>`
      : chosen
        ? ''
        : html`<option value="">${t(L, 'console.form.choose')}</option>`;
    control = html`<select id="${id}" name="${f.name}"${aria}>${empty}${(f.options ?? []).map(
      (o) => html`<option value="${o.value}"${o.value === f.value ? raw(' selected') : ''}>${say(L, o.label)}</option>`,
    )}</select>`;
  } else if (f.kind === 'lines' || f.kind === 'json') {
    control = html`<textarea id="${id}" name="${f.name}" rows="4"${aria}>${f.value ?? ''}</textarea>`;
  } else {
    const type = f.kind;
    control = html`<input type="${type}" id="${id}" name="${f.name}" value="${f.value ?? ''}"${
      f.kind === 'password'
        ? raw(' autocomplete="new-password"')
        : f.kind === 'text' || f.kind === 'email'
          ? raw(' autocomplete="off"')
          : ''
    }${aria}>`;
  }
  return html`<div class="field"><label for="${id}">${label}${
    f.required ? '' : html` <span class="muted small">${t(L, 'console.form.optional')}</span>`
  }</label>${control}${after}</div>`;
}

function formView(f: ConsoleForm, L: Locale, compact = false): Html {
  const hidden = Object.entries(f.hidden).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`);
  const button = html`<button type="submit" class="${compact ? 'compact' : ''}${f.danger ? ' danger' : compact ? ' secondary' : ''}"${
    f.label ? html` aria-label="${say(L, f.label)}"` : ''
  }>${say(L, f.submit)}</button>`;
  if (compact && f.fields.length === 0)
    return html`<form method="${f.method}" action="${f.action}">${hidden}${button}</form>`;
  // A form of many fields (a client's settings) takes the page's width, its fields in columns.
  const wide = f.fields.length > 6;
  return html`<form method="${f.method}" action="${f.action}" class="console-form${wide ? ' wide' : ''}"${f.title ? html` aria-labelledby="${f.id}-title"` : ''}>
${f.title ? html`<h2 id="${f.id}-title">${say(L, f.title)}</h2>` : ''}${f.title && f.description ? html`<p>${say(L, f.description)}</p>` : ''}${
  f.note ? html`<p class="muted small">${say(L, f.note)}</p>` : ''
}${f.error ? html`<p class="alert" role="alert">${say(L, f.error)}</p>` : ''}${hidden}<div class="${
    f.method === 'get' || wide ? 'filters' : ''
  }">${f.fields.map((x) => fieldView(f, x, L))}</div>${button}</form>`;
}

/** The figures per bucket as lines over time, with the same figures as a table for screen readers and no-SVG. */
export function chartView(c: ConsoleChart, L: Locale = 'en'): Html {
  const w = 640;
  const h = 200;
  const left = 40;
  const bottom = 24;
  const top = 10;
  const max = Math.max(1, ...c.series.flatMap((s) => s.values));
  const n = c.buckets.length;
  const x = (i: number) => left + (n <= 1 ? 0 : (i * (w - left - 10)) / (n - 1));
  const y = (v: number) => top + (h - top - bottom) * (1 - v / max);
  const title = say(L, c.title);
  // The ids come from the English title: the same in every language, and only ASCII.
  const id = say('en', c.title)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-');
  const hour = (s: number) => new Date(s * 1000).toISOString().slice(11, 16);
  const ticks = [...new Set(n ? [0, Math.floor((n - 1) / 2), n - 1] : [])];
  const lines = c.series.map(
    (s, k) =>
      html`<polyline class="s${k % 3}" points="${s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`,
  );
  const desc = c.series
    .map((s) => t(L, 'console.chart.total', { series: say(L, s.label), total: s.values.reduce((a, b) => a + b, 0) }))
    .join('; ');
  const svg = html`<svg class="chart" viewBox="0 0 ${w} ${h}" role="img" aria-labelledby="${id}-t ${id}-d" xmlns="http://www.w3.org/2000/svg">
<title id="${id}-t">${title}</title>
<desc id="${id}-d">${desc}</desc>
<line class="axis" x1="${left}" y1="${h - bottom}" x2="${w - 10}" y2="${h - bottom}"/>
<line class="axis" x1="${left}" y1="${top}" x2="${left}" y2="${h - bottom}"/>
<text x="${left - 6}" y="${top + 8}" text-anchor="end">${max}</text>
<text x="${left - 6}" y="${h - bottom}" text-anchor="end">0</text>
${ticks.map((i) => html`<text x="${x(i).toFixed(1)}" y="${h - 6}" text-anchor="middle">${hour(c.buckets[i]!)}</text>`)}
${lines}
</svg>`;
  const legend = html`<ul class="legend">${c.series.map(
    (s, k) => html`<li><span class="key k${k % 3}" aria-hidden="true"></span>${say(L, s.label)}</li>`,
  )}</ul>`;
  const table = tableView(
    {
      caption: compose(msg('console.chart.caption'), { title: c.title }),
      columns: [
        { key: 'at', label: msg('console.chart.from') },
        ...c.series.map((s) => ({ key: s.name, label: s.label })),
      ],
      rows: c.buckets.map((b, i) => ({ cells: [isoMinute(b), ...c.series.map((s) => s.values[i] ?? 0)] })),
      empty: msg('console.chart.empty'),
    },
    L,
  );
  return html`<section aria-labelledby="${id}-h"><h2 id="${id}-h">${title}</h2>${svg}${legend}<details><summary>${t(
    L,
    'console.chart.asTable',
  )}</summary>${table}</details></section>`;
}

/** Forms with fields side by side; one-button forms in a row of their own. */
function formsView(forms: ConsoleForm[], L: Locale): Html | '' {
  if (forms.length === 0) return '';
  const buttons = forms.filter((f) => f.fields.length === 0);
  const others = forms.filter((f) => f.fields.length > 0);
  return html`${buttons.length ? html`<div class="buttons">${buttons.map((f) => formView(f, L, true))}</div>` : ''}${
    others.length ? html`<div class="forms">${others.map((f) => formView(f, L))}</div>` : ''
  }`;
}

const linksView = (links: ConsoleLink[], L: Locale) =>
  links.length
    ? html`<ul class="links">${links.map((l) => html`<li><a href="${l.href}">${say(L, l.text)}</a></li>`)}</ul>`
    : '';

function frame(p: ConsoleBase, body: HtmlValue): string {
  const L = p.locale ?? 'en';
  // "Signed in as {user}" with the name in <strong>: the sentence split around its placeholder.
  const [before = '', after = ''] = t(L, 'console.head.signedIn').split('{user}');
  const head = html`<div class="console-head"><p>${before}<strong>${p.username}</strong>${after} <span class="badge">${p.role}</span></p>
<form method="post" action="${p.base}/account/logout"><input type="hidden" name="csrf" value="${p.signOutCsrf}"><button type="submit" class="compact secondary">${t(
    L,
    'console.head.signOut',
  )}</button></form></div>`;
  const nav = html`<nav class="console-nav" aria-label="${t(L, 'console.nav.label')}"><ul>${p.nav.map(
    (s) =>
      html`<li><a href="${p.base}/admin${s.id === 'dashboard' ? '' : `/${s.id}`}"${
        s.id === p.current ? raw(' aria-current="page"') : ''
      }>${say(L, s.title)}</a></li>`,
  )}</ul></nav>`;
  const notice = p.notice ? html`<p class="notice" role="status">${say(L, p.notice)}</p>` : '';
  const title = say(L, p.title);
  const page = html`${head}${nav}<h1>${title}</h1>${notice}${body}`;
  // STYLES make the console's <main> wider than the sign-in pages'.
  return layout({ title: t(L, 'console.window.title', { title }), ...chromeOf(p), body: page, styles: STYLES });
}

/** A page of the console. */
export function consolePage(p: ConsolePage): string {
  const L = p.locale ?? 'en';
  switch (p.page) {
    case 'dashboard':
      return frame(
        p,
        html`<ul class="counts">${p.facts.map(
          ([label, v]) => html`<li><span class="n">${cellText('', v, L)}</span>${say(L, label)}</li>`,
        )}</ul>${p.charts.map((c) => chartView(c, L))}${
          p.details === undefined ? '' : valueView(p.details, '', 0, L)
        }${linksView(p.links, L)}`,
      );
    case 'list':
      return frame(
        p,
        html`${p.filters ? formView(p.filters, L) : ''}${
          p.value !== undefined ? valueView(p.value, '', 0, L) : tableView(p.table, L)
        }${
          p.next ? html`<p class="pager"><a href="${p.next}" rel="next">${t(L, 'console.list.next')}</a></p>` : ''
        }${formsView(p.forms, L)}${linksView(p.links, L)}${
          p.preview
            ? html`<section aria-labelledby="preview-h"><h2 id="preview-h">${say(L, p.preview.title)}</h2><pre class="json" tabindex="0">${p.preview.text}</pre></section>`
            : ''
        }`,
      );
    case 'record':
      return frame(
        p,
        html`${valueView(p.value, '', 0, L)}${formsView(p.forms, L)}${linksView(
          p.links,
          L,
        )}<p><a href="${p.back.href}">${say(L, p.back.text)}</a></p>`,
      );
    case 'form':
      return frame(
        p,
        html`${p.summary ? html`<p class="lead">${say(L, p.summary)}</p>` : ''}${
          p.target
            ? html`<dl class="facts target"><dt>${say(L, p.target.label)}</dt><dd>${say(L, p.target.text)}</dd></dl>`
            : ''
        }${formView(p.form, L)}<p><a href="${p.back.href}">${say(L, p.back.text)}</a></p>`,
      );
    case 'result':
      return frame(
        p,
        html`${p.summary ? html`<p class="lead">${say(L, p.summary)}</p>` : ''}${valueView(
          p.value,
          '',
          0,
          L,
        )}${linksView(p.links, L)}`,
      );
  }
}

/** A page outside the console's frame (sign-in needed elsewhere, refusals). */
export function consoleMessagePage(m: ConsoleMessage): string {
  const L = m.locale ?? 'en';
  const title = say(L, m.title);
  return layout({
    title,
    ...chromeOf(m),
    body: html`<h1>${title}</h1><p>${say(L, m.message)}</p>${linksView(m.links, L)}`,
  });
}
