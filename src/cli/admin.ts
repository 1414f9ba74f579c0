// The CLI's front over the admin action table (admin/actions/): a command names an action and gives
// its input; `execute` runs it here on the host (admin/action.ts `runAction`, as the principal `cli`
// with every admin scope, its audit record written in the action's transaction) or, in remote mode,
// through the admin API of another Tessera (cli/remote.ts). `tessera admin NAME --field value ...`
// runs any action of the table by name; `tessera admin list` lists them.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { outboxMailer } from '../adapters/mail/mailer.ts';
import { runAction, type AdminAction, type AdminPrincipal } from '../admin/action.ts';
import { ADMIN_ACTIONS, actionNamed } from '../admin/actions/index.ts';
import { AdminError } from '../admin/errors.ts';
import { toAuditEvent } from '../observability/audit-events.ts';
import { ADMIN_SCOPES } from '../protocol/admin-scopes.ts';
import { mailLocale } from '../protocol/mail-language.ts';
import { notificationFor } from '../protocol/notifications.ts';
import type { Provider } from '../protocol/provider.ts';
import { protocolServices } from '../protocol/services.ts';
import { configKeks, loadKeyRing, type KeyRing } from '../protocol/tokens/keys.ts';
import type { operations } from './admin-api.d.ts';
import { print, table, terminalSafe, UsageError, warn, type Command, type Ctx } from './cli.ts';
import { remoteExecute, type Answer } from './remote.ts';

/** The names of the admin API's operations, as the checked-in types generated from the OpenAPI document have them. */
export type OperationName = keyof operations;

/** The CLI on the host acts with every admin scope; the audit trail's actor is `cli`. */
export const cliPrincipal = (): AdminPrincipal => ({
  kind: 'cli',
  id: 'cli',
  scopes: new Set(ADMIN_SCOPES),
  via: 'cli',
  ip: null,
});

const providers = new WeakMap<Ctx, Promise<{ p: Provider; settle: () => Promise<void> }>>();

/**
 * The provider the actions of this command run with: the configured database, the protocol's outbound
 * services, mail queued in the outbox (a running server delivers it), events written to the audit trail
 * unless their action recorded them already. `settle` waits for what the actions left running (back-channel
 * logout deliveries, audit records of their events) before the command ends and the database closes.
 */
export function cliProvider(ctx: Ctx): Promise<{ p: Provider; settle: () => Promise<void> }> {
  let made = providers.get(ctx);
  if (!made) {
    made = (async () => {
      const { stores, now, services } = await ctx.db();
      const config = ctx.config();
      // The key ring signs logout tokens. Loading it makes the keys an algorithm lacks: only the server does
      // that (at start), so without a key for every algorithm there is no ring here.
      let ring: KeyRing | undefined;
      const records = await stores.keys.list();
      if (config.signingAlgs.every((alg) => records.some((r) => r.state === 'active' && r.alg === alg)))
        ring = await loadKeyRing(stores.keys, configKeks(config), config.signingAlgs, now());
      const written: Promise<void>[] = [];
      const p: Provider = {
        config,
        stores,
        keys: () => {
          if (!ring) throw new AdminError('there are no signing keys yet: start the server once');
          return ring;
        },
        now,
        log: {
          info: () => {},
          warn: (o, msg) => warn(`warning: ${msg ?? ''} ${JSON.stringify(o)}`),
          error: (o, msg) => warn(`error: ${msg ?? ''} ${JSON.stringify(o)}`),
        },
        events: (e) => {
          if (!e.audited) written.push(stores.audit.append([toAuditEvent(e, Date.now())]));
          // The security notice the server would mail for it (TESSERA_NOTIFICATIONS), queued before the command ends.
          const n = notificationFor(config.notifications, e);
          if (n) written.push(notify(n).catch((err: unknown) => warn(`warning: notice not queued: ${String(err)}`)));
        },
        ...protocolServices({ stores, now }),
        ...services,
        mail: outboxMailer(stores.mailOutbox, now, () => {}, config),
      };
      const notify = async (n: NonNullable<ReturnType<typeof notificationFor>>): Promise<void> => {
        const user = await stores.users.get(n.userId);
        if (!user?.email || !user.emailVerified) return;
        await p.mail.send({
          to: user.email,
          template: n.template,
          vars: { username: user.username, time: new Date(now() * 1000).toUTCString(), ...n.vars },
          userId: user.id,
          // An operator's command: the user's own language, else the deployment's.
          locale: mailLocale(undefined, config, user),
        });
      };
      return {
        p,
        settle: async () => {
          await p.logoutDelivery.idle();
          await Promise.all(written.splice(0));
        },
      };
    })();
    providers.set(ctx, made);
  }
  return made;
}

/** Runs an action of the table: here, or through the admin API in remote mode. */
export async function executeAction<T = unknown>(
  ctx: Ctx,
  action: AdminAction,
  input: Record<string, unknown>,
  opts: { ifMatch?: string } = {},
): Promise<Answer<T>> {
  if (ctx.remoteMode()) return remoteExecute<T>(action, input, opts);
  const { p, settle } = await cliProvider(ctx);
  try {
    const r = await runAction(p, action, cliPrincipal(), input, opts);
    return {
      result: r.result as T,
      ...(r.etag ? { etag: r.etag } : {}),
      status: r.status ?? action.http?.status ?? 200,
    };
  } finally {
    await settle();
  }
}

/**
 * Runs the action `name` (an operation of the generated admin API types: a command naming an action the
 * table no longer has fails the type check, and the types' test fails when they are out of date).
 */
export function execute<T = unknown>(
  ctx: Ctx,
  name: OperationName,
  input: Record<string, unknown>,
  opts: { ifMatch?: string } = {},
): Promise<Answer<T>> {
  const action = actionNamed(name);
  if (!action) throw new Error(`no admin action ${name}`);
  return executeAction<T>(ctx, action, input, opts);
}

/** Fetches every page of a list action (`{ items, next_cursor }`), showing progress on a terminal. */
export async function executeAll<T>(
  ctx: Ctx,
  name: OperationName,
  input: Record<string, unknown>,
  show: { update(text: string): void; done(): void },
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  try {
    do {
      const { result } = await execute<{ items: T[]; next_cursor?: string }>(ctx, name, {
        ...input,
        limit: 200,
        ...(cursor ? { cursor } : {}),
      });
      items.push(...result.items);
      cursor = result.next_cursor;
      if (cursor) show.update(`fetched ${items.length}...`);
    } while (cursor);
  } finally {
    show.done();
  }
  return items;
}

// ---- tessera admin NAME [--field value ...] [--json '{...}'] ------------------------------------------------

type Schema = {
  type?: string | string[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  items?: Schema;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  description?: string;
  default?: unknown;
};

/** The input schema of an action as JSON Schema (what the OpenAPI document shows of it too). */
export function inputSchema(action: AdminAction): Schema {
  return z.toJSONSchema(action.input, { io: 'input', unrepresentable: 'any' }) as Schema;
}

/** The JSON types a property takes (`anyOf` members included). */
function typesOf(s: Schema | undefined): Set<string> {
  const out = new Set<string>();
  if (!s) return out;
  if (Array.isArray(s.type)) for (const t of s.type) out.add(t);
  else if (s.type) out.add(s.type);
  for (const m of [...(s.anyOf ?? []), ...(s.oneOf ?? [])]) for (const t of typesOf(m)) out.add(t);
  if (!s.type && !s.anyOf && !s.oneOf && s.enum) for (const v of s.enum) out.add(v === null ? 'null' : typeof v);
  return out;
}

/** A value from the command line as the property's schema takes it (a number, a boolean, JSON, a string). */
function coerce(field: string, text: string, s: Schema | undefined): unknown {
  const types = typesOf(s);
  // A field that may be null (removed) takes the word null for it.
  if (types.has('null') && text === 'null') return null;
  if (types.has('string') || types.size === 0) return text;
  if ((types.has('integer') || types.has('number')) && /^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (types.has('boolean') && (text === 'true' || text === 'false')) return text === 'true';
  if (types.has('object') || types.has('array')) {
    try {
      return JSON.parse(text);
    } catch {
      throw new UsageError(`--${field} takes JSON here`);
    }
  }
  return text;
}

/** `client-id` and `client_id` both name the input `client_id`. */
const fieldName = (flag: string) => flag.replace(/-/g, '_');

/** The input of `tessera admin NAME ...` from its arguments, against the action's input schema. */
export function parseActionArgs(
  action: AdminAction,
  args: string[],
  stdin: () => string,
): { input: Record<string, unknown>; ifMatch?: string } {
  const schema = inputSchema(action);
  const props = schema.properties ?? {};
  const fromFlags: Record<string, unknown> = {};
  let json: Record<string, unknown> = {};
  let ifMatch: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--') || arg === '--') throw new UsageError(`unexpected argument ${arg}`);
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const next = () => {
      if (inline !== undefined) return inline;
      const v = args[i + 1];
      if (v === undefined) throw new UsageError(`--${flag} needs a value`);
      i++;
      return v;
    };
    if (flag === 'json') {
      const text = next();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text === '-' ? stdin() : text);
      } catch {
        throw new UsageError('--json takes a JSON object (or - to read it from standard input)');
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
        throw new UsageError('--json takes a JSON object');
      json = parsed as Record<string, unknown>;
      continue;
    }
    if (flag === 'if-match') {
      ifMatch = next();
      continue;
    }
    // A list field may be named in the singular, once per item (--redirect-uri A --redirect-uri B).
    const plural = `${fieldName(flag)}s`;
    const name = !props[fieldName(flag)] && typesOf(props[plural]).has('array') ? plural : fieldName(flag);
    const prop = props[name];
    if (!prop) {
      const known = Object.keys(props);
      throw new UsageError(
        `${action.name} has no input ${name}${known.length ? ` (it takes ${known.join(', ')})` : ' (it takes none)'}`,
      );
    }
    const types = typesOf(prop);
    // A boolean input may be given alone (--skip-consent), or with true/false.
    const alone =
      types.has('boolean') &&
      inline === undefined &&
      (args[i + 1] === undefined || args[i + 1]!.startsWith('--') || !/^(true|false)$/.test(args[i + 1]!));
    const value = alone ? true : coerce(flag, next(), types.has('array') ? undefined : prop);
    if (types.has('array') && !alone) {
      // Repeat the option for each item (--redirect-uri A --redirect-uri B), or give the list as JSON.
      const v = value as string;
      const item = /^\s*\[/.test(v) ? (coerce(flag, v, { type: 'array' }) as unknown[]) : [coerce(flag, v, prop.items)];
      fromFlags[name] = [...((fromFlags[name] as unknown[] | undefined) ?? []), ...item];
    } else {
      if (Object.hasOwn(fromFlags, name)) throw new UsageError(`--${flag} is given more than once`);
      fromFlags[name] = value;
    }
  }
  for (const k of Object.keys(fromFlags))
    if (Object.hasOwn(json, k)) throw new UsageError(`${k} is given both in --json and as --${k.replace(/_/g, '-')}`);
  return { input: { ...json, ...fromFlags }, ...(ifMatch !== undefined ? { ifMatch } : {}) };
}

/** Prints an action's answer: JSON, or a raw body (an export) as it is. */
export function printAnswer(answer: Answer): void {
  const r = answer.result as { contentType?: unknown; body?: unknown } | undefined;
  if (r && typeof r === 'object' && typeof r.contentType === 'string' && typeof r.body === 'string') {
    process.stdout.write(process.stdout.isTTY ? terminalSafe(r.body, true, '\r\n') : r.body);
    return;
  }
  if (answer.result !== undefined) print(JSON.stringify(answer.result, null, 2));
  if (answer.etag) warn(`ETag: ${answer.etag}`);
}

/** The text of `tessera admin NAME --help`: what the action does and takes. */
function describeAction(action: AdminAction): string {
  const schema = inputSchema(action);
  const required = new Set(schema.required ?? []);
  const lines = [
    `${action.name}: ${action.summary}`,
    `  permission: ${action.permission}${action.recentAuth ? ' (a recent sign-in, for a person)' : ''}`,
    `  audit event: ${action.event}`,
    action.http
      ? `  admin API: ${action.http.method} /admin/api/v1${action.http.path}`
      : `  console only: ${action.consoleOnly ?? ''}`,
  ];
  const props = Object.entries(schema.properties ?? {});
  lines.push(props.length ? '  input:' : '  input: none');
  for (const [name, s] of props) {
    const types = [...typesOf(s)].join('|') || 'any';
    const enumText = s.enum ? ` one of ${s.enum.map(String).join(', ')}` : '';
    lines.push(
      `    --${name.replace(/_/g, '-')} (${types}${required.has(name) ? ', required' : ''})${enumText}${
        s.description ? `: ${s.description}` : ''
      }`,
    );
  }
  lines.push("  also: --json '{...}' (or --json - to read it from standard input), --if-match ETAG, --remote");
  return lines.join('\n');
}

async function adminCommand(ctx: Ctx): Promise<number> {
  const [name, ...rest] = ctx.positionals;
  if (name === 'list') {
    const rows = ADMIN_ACTIONS.map((a) => ({
      name: a.name,
      permission: a.permission,
      recent_sign_in: a.recentAuth === true,
      http: a.http ? `${a.http.method} ${a.http.path}` : null,
      summary: a.summary,
    }));
    if (rest.length && !(rest.length === 1 && rest[0] === '--json'))
      throw new UsageError(`unexpected argument ${rest.find((r) => r !== '--json')}`);
    if (rest[0] === '--json') print(JSON.stringify(rows, null, 2));
    else
      print(
        table([
          ['ACTION', 'PERMISSION', 'ADMIN API', 'SUMMARY'],
          ...rows.map((r) => [r.name, r.permission, r.http ?? 'console only', r.summary]),
        ]),
      );
    return 0;
  }
  const action = name === undefined ? undefined : actionNamed(name);
  if (!action) throw new UsageError(`no admin action ${name ?? ''} (tessera admin list shows them)`.replace('  ', ' '));
  if (rest.includes('--help') || rest.includes('-h')) {
    print(describeAction(action));
    return 0;
  }
  if (ctx.remoteMode() && !action.http)
    throw new AdminError(`${action.name} is not served by the admin API (${action.consoleOnly ?? 'console only'})`);
  const { input, ifMatch } = parseActionArgs(action, rest, () => readFileSync(0, 'utf8'));
  printAnswer(await executeAction(ctx, action, input, ifMatch !== undefined ? { ifMatch } : {}));
  return 0;
}

export const adminCommands: Record<string, Command> = {
  admin: {
    synopsis: "list [--json] | ACTION [--field value]... [--json '{...}' | --json -] [--if-match ETAG] [--remote]",
    summary:
      'Run any admin action by name (the same table the admin API and the console serve; audited as every action): `tessera admin list` lists them, `tessera admin ACTION --help` shows what one takes. Options are its input fields (--client-id or --client_id); a list field is repeated or given as JSON.',
    raw: true,
    run: adminCommand,
  },
};
