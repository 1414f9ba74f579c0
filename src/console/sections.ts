// The console's sections, read off the action table: a section per first segment of the actions'
// paths (`/clients`, `/keys`, ...), its list (GET /<section>), its record page (GET /<section>/{key})
// and the actions on the collection and on one record. A new action appears where its path puts it;
// only the titles and the order are written here.
import type { AdminAction } from '../admin/action.ts';
import { msg } from '../i18n/catalog.ts';
import { data, hasKey, type Text } from '../ui/console-pages.ts';

export interface Section {
  id: string;
  title: Text;
  /** One record of the section ("User"), naming the record a form acts on. */
  one?: Text;
  /** GET /<id>: the section's page. */
  list?: AdminAction;
  /** GET /<id>/{key}: one record's page. */
  get?: AdminAction;
  /** The path parameter naming one record (`client_id`, `sid`, `kid`, ...). */
  key?: string;
  /** Actions on the collection: any path under /<id> without a parameter, but the list. */
  collection: AdminAction[];
  /** Actions on one record: paths under /<id>/{key}, but the record's read. */
  item: AdminAction[];
}

/** The sections in the order of the navigation (their titles: the catalog's 'console.section.<id>'). */
const ORDER = [
  'dashboard',
  'clients',
  'users',
  'sessions',
  'consents',
  'resources',
  'keys',
  'audit',
  'settings',
  'groups',
  'app-roles',
  'claim-mappings',
  'upstreams',
  'webhooks',
];

/** A section's title from the catalog; a section the catalog does not know yet is named by its id. */
export function sectionTitle(id: string): Text {
  const key = `console.section.${id}`;
  return hasKey(key) ? msg(key) : msg('console.section.other', { name: idTitle(id) });
}

/** One record of a section ("User"), from the catalog. */
function oneOf(id: string): Text | undefined {
  const key = `console.one.${id}`;
  return hasKey(key) ? msg(key) : undefined;
}

/** Segments that are the console's own routes (the dashboard is /admin itself), never a section. */
const RESERVED = new Set(['api', 'do', 'dashboard']);

/** The action's path (consoleOnly actions: `/<area>` from the name's first part). */
export const pathOf = (a: AdminAction): string => a.http?.path ?? `/${a.name.split('.')[0]}/-${a.name}`;
/** Whether running the action only reads (GET in the admin API). */
export const isRead = (a: AdminAction): boolean => a.http?.method === 'GET';

export function sectionsOf(actions: readonly AdminAction[]): Section[] {
  const byId = new Map<string, Section>();
  for (const a of actions) {
    const parts = pathOf(a).split('/').slice(1);
    const id = parts[0]!;
    if (!/^[a-z][a-z-]{0,31}$/.test(id) || RESERVED.has(id)) continue;
    let s = byId.get(id);
    if (!s) {
      const one = oneOf(id);
      byId.set(id, (s = { id, title: sectionTitle(id), ...(one ? { one } : {}), collection: [], item: [] }));
    }
    const param = /^\{([a-z_]+)\}$/.exec(parts[1] ?? '')?.[1];
    if (parts.length === 1 && isRead(a) && !s.list) s.list = a;
    else if (param) {
      s.key ??= param;
      if (param !== s.key) continue; // another key in the same section (never in the table today)
      if (parts.length === 2 && isRead(a) && !s.get) s.get = a;
      else s.item.push(a);
    } else s.collection.push(a);
  }
  const rank = (id: string) => (ORDER.includes(id) ? ORDER.indexOf(id) : ORDER.length);
  return [...byId.values()].filter((s) => s.list).sort((a, b) => rank(a.id) - rank(b.id) || (a.id < b.id ? -1 : 1));
}

const idTitle = (id: string) => id.charAt(0).toUpperCase() + id.slice(1).replace(/-/g, ' ');

/** An action's title ("Create user") and summary in the console: the catalog's, else made from the table. */
export function titleOf(a: AdminAction): Text {
  const key = `console.action.${a.name}.title`;
  return hasKey(key) ? msg(key) : data(verbOf(a));
}
export function summaryOf(a: AdminAction): Text {
  const key = `console.action.${a.name}.summary`;
  return hasKey(key) ? msg(key) : data(a.summary);
}

/**
 * A button's text from the action's name (for an action the catalog does not know yet): a change of one word names what
 * it changes (`users.create` → "Create user", `roles.set` → "Set role"); longer ones say it already
 * (`clients.revoke-tokens` → "Revoke tokens"); a read is its area and its name (`users.sessions` → "Users: sessions").
 */
export function verbOf(a: AdminAction): string {
  const [area = '', ...rest] = a.name.split('.');
  const verb = rest.join(' ').replace(/[-_]+/g, ' ');
  const noun = area.replace(/[-_]+/g, ' ');
  if (isRead(a)) return `${cap(noun)}: ${verb}`;
  return verb.includes(' ') ? cap(verb) : `${cap(verb)} ${noun.endsWith('s') ? noun.slice(0, -1) : noun}`;
}
const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** Whether the action destroys or takes away (its button is marked so). */
export const isDestructive = (a: AdminAction): boolean =>
  a.http?.method === 'DELETE' || /\.(delete|remove|revoke|reject|retire|disable|end|reset)/.test(a.name);
