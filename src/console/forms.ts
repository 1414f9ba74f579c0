// Forms from the action table: an action's input schema (a zod object) becomes the fields of its form
// (ui/console-pages.ts ConsoleField), and a submitted form becomes the action's input again. The
// schema stays the judge: runAction parses what is built here, and its problems are shown beside the
// fields they name. Nothing here trusts the form: only the schema's own members are read.
import type { z } from 'zod';
import { msg, type Msg } from '../i18n/catalog.ts';
import { en as consoleWords } from '../i18n/messages/console.ts';
import { data, fieldLabel, type ConsoleField, type Text } from '../ui/console-pages.ts';

/** A problem with a member's value: the console's own (a Msg), or the schema's as the admin layer says it. */
export interface Problem {
  field: string;
  message: string | Msg;
}

/**
 * The catalog's hint for a member's description: the 'console.hint.*' message whose English is that
 * description (the action table describes members in English; the console says it in the page's language).
 */
const HINTS = new Map(
  Object.entries(consoleWords)
    .filter(([k]) => k.startsWith('console.hint.'))
    .map(([k, v]) => [v as string, msg(k as keyof typeof consoleWords)]),
);

/** A member's hint in the catalog, else its description as written (a test proves none is left so). */
export const hintOf = (description: string): Text => HINTS.get(description) ?? data(description);

/** What a member of an input schema is, for a form. */
export interface MemberShape {
  name: string;
  kind: ConsoleField['kind'];
  /** A boolean (a yes/no select whose value is sent as a boolean). */
  boolean: boolean;
  /** Numbers (a number field, or lines of numbers). */
  numeric: boolean;
  required: boolean;
  options?: string[];
  description?: string;
  defaultValue?: unknown;
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  options?: z.ZodType[];
  element?: z.ZodType;
  entries?: Record<string, string | number>;
  values?: unknown[];
  format?: string;
  defaultValue?: unknown;
  shape?: Record<string, z.ZodType>;
}
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;
const descriptionOf = (s: z.ZodType): string | undefined => (s as { description?: string }).description;

/** The members of an action's input schema, in order (an input that is not an object has none). */
export function membersOf(schema: z.ZodType): MemberShape[] {
  const d = defOf(schema);
  if (d.type !== 'object' || !d.shape) return [];
  return Object.entries(d.shape).map(([name, s]) => memberOf(name, s));
}

function memberOf(name: string, schema: z.ZodType): MemberShape {
  let s = schema;
  let required = true;
  let description = descriptionOf(s);
  let defaultValue: unknown;
  // Unwrap optional, default, nullable, readonly and pipes (the input side) down to the value's type.
  for (let i = 0; i < 10; i++) {
    const d = defOf(s);
    description ??= descriptionOf(s);
    if (d.type === 'optional' || d.type === 'nullable' || d.type === 'readonly' || d.type === 'nonoptional') {
      if (d.type === 'optional') required = false;
      s = d.innerType!;
    } else if (d.type === 'default' || d.type === 'prefault') {
      required = false;
      defaultValue = d.defaultValue;
      s = d.innerType!;
    } else if (d.type === 'pipe') {
      s = defOf(d.in!).type === 'transform' ? d.out! : d.in!;
    } else break;
  }
  const base = {
    name,
    required,
    ...(description ? { description } : {}),
    ...(defaultValue !== undefined ? { defaultValue } : {}),
  };
  const d = defOf(s);
  if (isBoolean(s)) return { ...base, kind: 'select', boolean: true, numeric: false, options: ['true', 'false'] };
  switch (d.type) {
    case 'string':
      return {
        ...base,
        kind:
          d.format === 'email'
            ? 'email'
            : d.format === 'url'
              ? 'url'
              : /(^|_)(password|secret)$/.test(name)
                ? 'password'
                : 'text',
        boolean: false,
        numeric: false,
      };
    case 'number':
    case 'int':
    case 'bigint':
      return { ...base, kind: 'number', boolean: false, numeric: true };
    case 'enum':
      return {
        ...base,
        kind: 'select',
        boolean: false,
        numeric: false,
        options: Object.values(d.entries ?? {}).map(String),
      };
    case 'literal':
      return { ...base, kind: 'select', boolean: false, numeric: false, options: (d.values ?? []).map(String) };
    case 'array': {
      const e = memberOf(name, d.element!);
      if (e.kind === 'select' && !e.boolean)
        return { ...base, kind: 'checkboxes', boolean: false, numeric: false, options: e.options! };
      if (e.kind === 'text' || e.kind === 'email' || e.kind === 'url' || e.kind === 'number')
        return { ...base, kind: 'lines', boolean: false, numeric: e.numeric };
      return { ...base, kind: 'json', boolean: false, numeric: false };
    }
    default:
      return { ...base, kind: 'json', boolean: false, numeric: false };
  }
}

/** A boolean, or the `bool()` of admin/action.ts: a boolean or the words true/false. */
function isBoolean(s: z.ZodType): boolean {
  const d = defOf(s);
  if (d.type === 'boolean') return true;
  if (d.type !== 'union' || !d.options) return false;
  return d.options.some((o) => defOf(o).type === 'boolean');
}

/** A value as a field shows it (arrays one per line, objects as JSON). */
function asText(m: MemberShape, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (m.kind === 'lines' && Array.isArray(v)) return v.join('\n');
  if (m.kind === 'json') return JSON.stringify(v, null, 2);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/**
 * The fields of a form for `members`: `values` fills them in (a record's current state, or what was
 * typed when the form comes back with problems), `problems` marks the fields they name.
 */
export function fieldsFor(
  members: readonly MemberShape[],
  values: Record<string, unknown> = {},
  problems: readonly Problem[] = [],
): ConsoleField[] {
  return members.map((m) => {
    const v = Object.hasOwn(values, m.name) ? values[m.name] : m.defaultValue;
    const error = problems
      .filter((p) => p.field === m.name || p.field.startsWith(`${m.name}.`))
      .map((p): Text => (typeof p.message === 'string' ? data(p.message) : p.message));
    const field: ConsoleField = {
      name: m.name,
      label: fieldLabel(m.name),
      kind: m.kind,
      required: m.required,
      ...(m.description ? { hint: hintOf(m.description) } : {}),
      ...(error.length ? { error } : {}),
    };
    if (m.kind === 'checkboxes') {
      field.values = Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : [];
      // Enum values are identifiers (grant types, scopes): shown as they are, in every language.
      field.options = (m.options ?? []).map((o) => ({ value: o, label: data(o) }));
    } else {
      const text = asText(m, v);
      if (text !== undefined) field.value = text;
      if (m.options)
        field.options = m.options.map((o) => ({
          value: o,
          label: m.boolean ? msg(o === 'true' ? 'console.form.yes' : 'console.form.no') : data(o),
        }));
    }
    return field;
  });
}

/** The names a form showed: sent back with it, so an unticked set of checkboxes means "none" there. */
export const SHOWN = '_fields';

/**
 * The action's input from a submitted form: only `members` are read, each as its field sends it. An
 * empty optional field is left out (unchanged); problems the form itself has (JSON that does not
 * parse) are returned as the schema's would be.
 */
export function inputFrom(
  members: readonly MemberShape[],
  params: URLSearchParams,
): { input: Record<string, unknown>; problems: Problem[]; typed: Record<string, unknown> } {
  const shown = new Set((params.get(SHOWN) ?? '').split(',').filter(Boolean));
  const input: Record<string, unknown> = {};
  const typed: Record<string, unknown> = {};
  const problems: Problem[] = [];
  for (const m of members) {
    const all = params.getAll(m.name);
    if (m.kind === 'checkboxes') {
      if (all.length || shown.has(m.name)) input[m.name] = typed[m.name] = all;
      continue;
    }
    if (all.length > 1) {
      problems.push({ field: m.name, message: msg('console.problem.twice') });
      continue;
    }
    const raw = all[0];
    if (raw === undefined) continue;
    typed[m.name] = raw;
    const text = m.kind === 'json' || m.kind === 'lines' ? raw : raw.trim();
    if (text.trim() === '') {
      if (m.required && m.kind !== 'lines') input[m.name] = '';
      else if (m.required) input[m.name] = [];
      continue;
    }
    if (m.boolean) input[m.name] = text === 'true' ? true : text === 'false' ? false : text;
    else if (m.numeric && m.kind === 'number') input[m.name] = Number.isFinite(Number(text)) ? Number(text) : text;
    else if (m.kind === 'lines') {
      const lines = text
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter(Boolean);
      input[m.name] = m.numeric ? lines.map((l) => (Number.isFinite(Number(l)) ? Number(l) : l)) : lines;
    } else if (m.kind === 'json') {
      try {
        input[m.name] = JSON.parse(text);
      } catch {
        problems.push({ field: m.name, message: msg('console.problem.json') });
      }
    } else input[m.name] = text;
  }
  return { input, problems, typed };
}
