// The command-line framework: argument parsing, lazy configuration and database, output
// helpers and error reporting. The commands themselves are in commands.ts.
import { createInterface } from 'node:readline';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { ActionRefused } from '../admin/action.ts';
import { AdminError } from '../admin/errors.ts';
import { ConfigError, loadConfig, type Config } from '../config/config.ts';
import type { Stores } from '../ports/index.ts';
import type { Provider } from '../protocol/provider.ts';

/** A mistake in how the command was called: exit code 2 with the usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface Command {
  /** Options and arguments, as shown in the usage text. */
  synopsis?: string;
  summary: string;
  options?: ParseArgsOptionsConfig;
  /** Names of the required positional arguments. */
  positionals?: string[];
  /**
   * Runs against a remote Tessera's admin API too (--remote, or TESSERA_REMOTE_URL): the command goes through
   * the admin action table (cli/admin.ts `execute`). Commands without it run on the host only.
   */
  remote?: boolean;
  /** Takes its arguments as they are (positionals, in order), not parsed against `options` (`tessera admin`). */
  raw?: boolean;
  /** Returns the exit code (0 when nothing is returned). */
  run(ctx: Ctx): Promise<number | void>;
}

/** Storage and what else commands need of the application (app.ts), opened on first use. */
interface Database {
  stores: Stores;
  now: () => number;
  /** Applies the pending migrations; returns their names. */
  migrate(): Promise<string[]>;
  /** The protocol's outbound services (sector_identifier_uri checks, back-channel logout, upstream providers). */
  services: Pick<Provider, 'outbound' | 'clientKeys' | 'logoutDelivery' | 'upstream'>;
}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** What a command sees: its parsed arguments, and the configuration and database, opened on first use. */
export class Ctx {
  readonly values: Values;
  readonly positionals: string[];
  #config?: Config;
  #db?: Promise<Database>;

  constructor(values: Values, positionals: string[]) {
    this.values = values;
    this.positionals = positionals;
  }

  config(): Config {
    return (this.#config ??= loadConfig());
  }

  /**
   * The database, not migrated (run `tessera migrate` for that: `migrate()`), the clock and the
   * protocol's outbound services. The application module (and the HTTP layer it brings) is loaded
   * only here, so help and config stay quick.
   */
  db(): Promise<Database> {
    if (this.remoteMode())
      return Promise.reject(
        new AdminError('this command runs on the host only: it has no remote mode (unset TESSERA_REMOTE_URL)'),
      );
    return (this.#db ??= import('../app.ts').then(async (app) => {
      const { handle, stores } = await app.openStores(this.config(), { migrate: false });
      return {
        stores,
        now: app.now,
        migrate: () => app.migrateStorage(handle),
        services: app.outboundServices(this.config(), app.now),
      };
    }));
  }

  async close(): Promise<void> {
    await this.#db?.then(
      (d) => d.stores.close(),
      () => {},
    );
  }

  str(name: string): string | undefined {
    return this.values[name] as string | undefined;
  }

  /** A required option. */
  need(name: string): string {
    const v = this.str(name);
    if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
    return v;
  }

  /** A repeatable option; undefined when absent, so that defaults apply. */
  list(name: string): string[] | undefined {
    return this.values[name] as string[] | undefined;
  }

  flag(name: string): boolean {
    return this.values[name] === true;
  }

  /**
   * Whether the command talks to a remote Tessera's admin API (--remote, or TESSERA_REMOTE_URL set), rather
   * than to the database configured here.
   */
  remoteMode(): boolean {
    return this.values.remote === true || !!process.env.TESSERA_REMOTE_URL;
  }
}

/**
 * Text for a terminal: control characters (terminal escape sequences, carriage returns, line breaks
 * unless `keepNewlines`), the Unicode line separators and the bidirectional formatting characters are
 * written as \uXXXX, so that client names and other values that came from clients cannot move the
 * cursor, rewrite earlier lines or reorder what is shown (a JSON escape: JSON output stays valid).
 */
export function terminalSafe(text: string, keepNewlines = true, keep = keepNewlines ? '\n' : ''): string {
  return text.replace(/[\p{Cc}\u2028\u2029\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu, (c) =>
    keep.includes(c) ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export const print = (text: string): void => void process.stdout.write(`${terminalSafe(text)}\n`);
export const warn = (text: string): void => void process.stderr.write(`${terminalSafe(text)}\n`);

/**
 * Progress of a long command (paging through a remote list, waiting for a device sign-in, migrating), on one
 * line of standard error that each update rewrites; only when standard error is a terminal, so that scripts and
 * pipes see nothing of it. `done()` clears the line.
 */
export function progress(): { update(text: string): void; done(): void } {
  const tty = process.stderr.isTTY === true;
  let shown = false;
  return {
    update(text) {
      if (!tty) return;
      process.stderr.write(`\r\x1b[2K${terminalSafe(text, false)}`);
      shown = true;
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[2K');
      shown = false;
    },
  };
}

/** Left-aligned columns; the first row is the header. Cells are one line each (terminalSafe). */
export function table(rows: string[][]): string {
  rows = rows.map((r) => r.map((c) => terminalSafe(c, false)));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** Prints records as JSON (--json) or as a table of the given columns. */
export function printList<T>(
  ctx: Ctx,
  items: T[],
  json: (item: T) => unknown,
  columns: Record<string, (item: T) => string>,
  empty: string,
): void {
  if (ctx.flag('json')) print(JSON.stringify(items.map(json), null, 2));
  else if (!items.length) print(empty);
  else print(table([Object.keys(columns), ...items.map((it) => Object.values(columns).map((f) => f(it)))]));
}

/** Reads one line from standard input (the password of --password-stdin). */
export async function readStdinLine(prompt: string): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write(prompt);
  const rl = createInterface({ input: process.stdin, terminal: false });
  try {
    for await (const line of rl) return line;
  } finally {
    rl.close();
    process.stdin.destroy();
  }
  throw new AdminError('nothing to read on standard input');
}

/** Text of the usage: every command with its synopsis and summary. */
export function usage(commands: Record<string, Command>, only?: string): string {
  const entries = Object.entries(commands).filter(([name]) => !only || name === only);
  const lines = entries.map(
    ([name, c]) =>
      `  tessera ${name}${c.synopsis ? ` ${c.synopsis}` : ''}${c.remote ? ' [--remote]' : ''}\n      ${c.summary}`,
  );
  if (only) return `Usage:\n${lines.join('\n')}`;
  return [
    'Usage: tessera <command> [options]',
    '',
    'Commands:',
    ...lines,
    '  tessera help',
    '      Show this text (also --help, or --help after a command).',
    '',
    'Configuration comes from the same environment variables (or TESSERA_CONFIG_FILE) as the server;',
    'see `tessera config docs`. The CLI never starts the HTTP server.',
    'Commands marked [--remote] call the admin API of the Tessera you signed in to with',
    '`tessera login --remote URL` instead of the database configured here (also when TESSERA_REMOTE_URL is set).',
  ].join('\n');
}

/**
 * A group named in the plural (`tessera upstreams list`, `tessera users identities`) is the group of
 * that name in the singular, when only that one exists: both spellings are common in other tools.
 */
function singularGroup(word: string | undefined, commands: Record<string, Command>): string | undefined {
  const names = Object.keys(commands);
  const isGroup = (w: string) => names.some((n) => n === w || n.startsWith(`${w} `));
  if (word === undefined || !word.endsWith('s') || isGroup(word)) return word;
  return isGroup(word.slice(0, -1)) ? word.slice(0, -1) : word;
}

/** Runs the command line; returns the exit code. */
export async function run(argv: string[], commands: Record<string, Command>): Promise<number> {
  const [second, third] = argv.slice(1);
  const first = singularGroup(argv[0], commands);
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    (first === undefined ? warn : print)(usage(commands));
    return first === undefined ? 2 : 0;
  }
  const name =
    third !== undefined && commands[`${first} ${second} ${third}`]
      ? `${first} ${second} ${third}`
      : second !== undefined && commands[`${first} ${second}`]
        ? `${first} ${second}`
        : first;
  const command = commands[name];
  if (!command) {
    const group = Object.keys(commands).some((n) => n.startsWith(`${first} `));
    const what = !group
      ? `unknown command "${first}"`
      : second === undefined
        ? `"${first}" needs a subcommand`
        : `unknown command "${first} ${second}"`;
    warn(`tessera: ${what}\n\n${usage(commands)}`);
    return 2;
  }
  let ctx: Ctx | undefined;
  try {
    const args = argv.slice(name.split(' ').length);
    if (command.raw) {
      // Only --remote and --help are the framework's; the rest is the command's to read.
      const remote = args.includes('--remote');
      if (args.length === 0 || args[0] === '--help' || args[0] === '-h') {
        (args.length ? print : warn)(usage(commands, name));
        return args.length ? 0 : 2;
      }
      ctx = new Ctx(
        remote ? { remote: true } : {},
        args.filter((a) => a !== '--remote'),
      );
      return (await command.run(ctx)) ?? 0;
    }
    const { values, positionals } = parseArgs({
      args,
      options: {
        ...command.options,
        ...(command.remote ? { remote: { type: 'boolean' } } : {}),
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    });
    if (values.help) {
      print(usage(commands, name));
      return 0;
    }
    const wanted = command.positionals ?? [];
    if (positionals.length !== wanted.length) {
      throw new UsageError(
        wanted.length
          ? `expected ${wanted.join(' ')}, got ${positionals.length} argument(s)`
          : `unexpected argument ${positionals[0]}`,
      );
    }
    ctx = new Ctx(values, positionals);
    return (await command.run(ctx)) ?? 0;
  } catch (err) {
    return report(err, name, commands);
  } finally {
    await ctx?.close();
  }
}

function report(err: unknown, name: string, commands: Record<string, Command>): number {
  const code = (err as { code?: string } | undefined)?.code;
  if (err instanceof UsageError || code?.startsWith('ERR_PARSE_ARGS')) {
    warn(`tessera ${name}: ${(err as Error).message.split('. To specify')[0]}\n${usage(commands, name)}`);
    return 2;
  }
  if (err instanceof ActionRefused) {
    // The action's own checks (its input schema): a mistake in how the command was called.
    warn(`tessera ${name}: ${err.message}`);
    return err.code === 'invalid_input' ? 2 : 1;
  }
  if (err instanceof ConfigError) {
    warn(`tessera: invalid configuration: ${err.problems.join('; ')} (see \`tessera config check\`)`);
    return 1;
  }
  if (err instanceof AdminError) {
    warn(`tessera: ${err.message}`);
    return 1;
  }
  // Unexpected: still one line, unless a debug log level asks for the stack.
  const message = err instanceof Error ? err.message : String(err);
  const hint = /no such table|relation .* does not exist/i.test(message)
    ? ' (is the database migrated? run `tessera migrate`)'
    : '';
  warn(`tessera: ${message}${hint}`);
  if (/^(debug|trace)$/.test(process.env.TESSERA_LOG_LEVEL ?? '') && err instanceof Error) warn(err.stack ?? '');
  return 1;
}
