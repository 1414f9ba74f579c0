// The tessera commands: one small function each, over the admin functions the bootstrap file uses.
import { readFileSync } from 'node:fs';
import type { ParseArgsOptionsConfig } from 'node:util';
import { applyBootstrap, readBootstrapFile } from '../admin/bootstrap.ts';
import { AdminError, describeClient, rotateClientSecret, saveClient, type ClientInput } from '../admin/clients.ts';
import { describeUser, saveUser, setDisabled, setPassword } from '../admin/users.ts';
import { migrate } from '../adapters/sql/migrations/index.ts';
import { ConfigError, loadConfig } from '../config/config.ts';
import { DEV_KEK, DEV_SECRET, settings, type Setting } from '../config/settings.ts';
import type { AuditEvent, AuditRecord } from '../ports/audit.ts';
import type { ClientAuthMethod, ClientRecord, GrantType } from '../ports/clients.ts';
import type { SigningKeyRecord } from '../ports/keys.ts';
import type { SigningAlg } from '../config/config.ts';
import { retireSigningKey, rotateSigningKey } from '../protocol/tokens/keys.ts';
import type { UserRecord } from '../ports/users.ts';
import { print, printList, readStdinLine, UsageError, warn, type Command, type Ctx } from './cli.ts';

const str = { type: 'string' } as const;
const many = { type: 'string', multiple: true } as const;
const bool = { type: 'boolean' } as const;
const JSON_OPT: ParseArgsOptionsConfig = { json: bool };
const PASSWORD_OPTS: ParseArgsOptionsConfig = { 'password-stdin': bool, password: str };

const iso = (epoch: number) => new Date(epoch * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
const secretLine = (secret: string, clientId?: string) => `Client secret${clientId ? ` of ${clientId}` : ''} (shown only once, store it safely): ${secret}`;

function age(seconds: number): string {
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60]] as const) if (seconds >= size) return `${Math.floor(seconds / size)}${unit}`;
  return `${Math.max(0, seconds)}s`;
}

/** The password of --password-stdin (recommended) or --password; undefined when neither is given and it is optional. */
async function password(ctx: Ctx, required: boolean): Promise<string | undefined> {
  const given = ctx.str('password');
  if (given !== undefined && ctx.flag('password-stdin')) throw new UsageError('give --password-stdin or --password, not both');
  if (ctx.flag('password-stdin')) return readStdinLine('Password: ');
  if (given !== undefined) {
    warn('warning: --password leaves the password in your shell history and the process list; prefer --password-stdin');
    return given;
  }
  if (required) throw new UsageError('no password given: pipe it to --password-stdin (recommended) or use --password');
  return undefined;
}

/** Records an admin change in the audit trail, after the command succeeded. Never a secret or password. */
async function audit(ctx: Ctx, type: string, details: AuditEvent['details'], clientId: string | null = null): Promise<void> {
  const { stores } = await ctx.db();
  await stores.audit.append([{ at: Date.now(), type, actor: 'admin', clientId, ip: null, outcome: 'success', details }]);
}

async function migrateCommand(ctx: Ctx): Promise<void> {
  const applied = await migrate((await ctx.db()).handle.db);
  print(applied.length ? applied.map((m) => `applied migration ${m}`).join('\n') : 'database schema already up to date');
}

async function clientCreate(ctx: Ctx): Promise<void> {
  const id = ctx.need('id');
  let method = ctx.str('auth-method') as ClientAuthMethod | undefined;
  if (ctx.flag('public')) {
    if (method && method !== 'none') throw new UsageError(`--public conflicts with --auth-method ${method}`);
    method = 'none';
  }
  const { stores, now } = await ctx.db();
  if (await stores.clients.get(id)) throw new AdminError(`client ${id} already exists`);
  const input: ClientInput = {
    client_id: id, client_name: ctx.str('name'), token_endpoint_auth_method: method,
    application_type: ctx.flag('native') ? 'native' : undefined, redirect_uris: ctx.list('redirect-uri'),
    post_logout_redirect_uris: ctx.list('post-logout-redirect-uri'), grant_types: ctx.list('grant') as GrantType[] | undefined,
    scope: ctx.str('scope'), allowed_resources: ctx.list('resource'), skip_consent: ctx.flag('skip-consent'),
  };
  const jwksFile = ctx.str('jwks-file');
  if (jwksFile !== undefined) input.jwks = readJwksFile(jwksFile);
  if (ctx.str('jwks-uri') !== undefined) input.jwks_uri = ctx.str('jwks-uri');
  if (ctx.str('auth-signing-alg') !== undefined) input.token_endpoint_auth_signing_alg = ctx.str('auth-signing-alg');
  if (ctx.str('request-object-alg') !== undefined) input.request_object_signing_alg = ctx.str('request-object-alg');
  if (ctx.flag('require-signed-request-object')) input.require_signed_request_object = true;
  const { client, secret } = await saveClient(stores, ctx.config(), input, now());
  await audit(ctx, 'client_created', { auth_method: client.tokenEndpointAuthMethod, grant_types: client.grantTypes.join(' ') }, client.clientId);
  print(JSON.stringify(describeClient(client), null, 2));
  if (secret) print(secretLine(secret));
}

/** A JSON file holding a JWK set ({"keys": [...]}) of public keys. */
function readJwksFile(path: string): { keys: Record<string, unknown>[] } {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as { keys: Record<string, unknown>[] };
  } catch (err) {
    throw new AdminError(`--jwks-file: cannot read ${path} as JSON: ${(err as Error).message}`);
  }
}

async function clientList(ctx: Ctx): Promise<void> {
  printList<ClientRecord>(ctx, await (await ctx.db()).stores.clients.list(), describeClient, {
    CLIENT_ID: (c) => c.clientId,
    NAME: (c) => c.clientName,
    TYPE: (c) => `${c.tokenEndpointAuthMethod === 'none' ? 'public' : 'confidential'} ${c.applicationType}`,
    AUTH_METHOD: (c) => c.tokenEndpointAuthMethod,
    GRANTS: (c) => c.grantTypes.join(','),
    STATUS: (c) => (c.disabled ? 'disabled' : 'enabled'),
  }, '(no clients)');
}

async function getClient(ctx: Ctx): Promise<ClientRecord> {
  const client = await (await ctx.db()).stores.clients.get(ctx.positionals[0]!);
  if (!client) throw new AdminError(`no client ${ctx.positionals[0]}`);
  return client;
}

async function clientShow(ctx: Ctx): Promise<void> {
  print(JSON.stringify(describeClient(await getClient(ctx)), null, 2));
}

async function clientDelete(ctx: Ctx): Promise<void> {
  const id = ctx.positionals[0]!;
  if (!(await (await ctx.db()).stores.clients.delete(id))) throw new AdminError(`no client ${id}`);
  await audit(ctx, 'client_deleted', {}, id);
  print(`deleted client ${id}; its grants are revoked and its consents forgotten`);
}

async function clientRotateSecret(ctx: Ctx): Promise<void> {
  const id = ctx.positionals[0]!;
  const { stores, now } = await ctx.db();
  const secret = await rotateClientSecret(stores, ctx.config(), id, now());
  await audit(ctx, 'client_secret_rotated', {}, id);
  print(secretLine(secret, id));
  warn(`the previous secret of ${id} no longer works`);
}

async function userCreate(ctx: Ctx): Promise<void> {
  const username = ctx.need('username');
  const { stores, now } = await ctx.db();
  if (await stores.users.findByUsername(username)) throw new AdminError(`user ${username} already exists`);
  const { user } = await saveUser(stores, { username, email: ctx.str('email'), name: ctx.str('name'), password: await password(ctx, false) }, now());
  await audit(ctx, 'user_created', { user_id: user.id, username });
  print(JSON.stringify(describeUser(user), null, 2));
}

async function userSetPassword(ctx: Ctx): Promise<void> {
  const username = ctx.positionals[0]!;
  const pw = (await password(ctx, true))!;
  const { stores, now } = await ctx.db();
  await setPassword(stores, username, pw, now());
  await audit(ctx, 'user_password_set', { username });
  print(`password of ${username} changed; their sessions are ended`);
}

const userSetDisabled = (disabled: boolean) => async (ctx: Ctx): Promise<void> => {
  const username = ctx.positionals[0]!;
  const { stores, now } = await ctx.db();
  await setDisabled(stores, username, disabled, now());
  await audit(ctx, disabled ? 'user_disabled' : 'user_enabled', { username });
  print(disabled ? `user ${username} disabled; their sessions are ended and grants revoked` : `user ${username} enabled`);
};

async function userList(ctx: Ctx): Promise<void> {
  printList<UserRecord>(ctx, await (await ctx.db()).stores.users.list(), describeUser, {
    USERNAME: (u) => u.username,
    EMAIL: (u) => u.email ?? '',
    NAME: (u) => u.name ?? '',
    PASSWORD: (u) => (u.passwordHash ? 'set' : 'none'),
    STATUS: (u) => (u.disabled ? 'disabled' : 'enabled'),
    CREATED: (u) => iso(u.createdAt),
  }, '(no users)');
}

async function keysList(ctx: Ctx): Promise<void> {
  const { stores, now } = await ctx.db();
  const t = now();
  // Only public facts: never the wrapped private key, nor even the public JWK.
  const keys = (await stores.keys.list()).sort((a, b) => b.createdAt - a.createdAt);
  printList<SigningKeyRecord>(ctx, keys, (k) => ({ kid: k.kid, alg: k.alg, state: k.state, created_at: iso(k.createdAt), retired_at: k.retiredAt === null ? null : iso(k.retiredAt) }), {
    KID: (k) => k.kid,
    ALG: (k) => k.alg,
    STATE: (k) => k.state,
    CREATED: (k) => iso(k.createdAt),
    AGE: (k) => age(t - k.createdAt),
  }, '(no signing keys yet: the server creates one when it starts)');
}

async function keysRotate(ctx: Ctx): Promise<void> {
  const config = ctx.config();
  const alg = (ctx.values.alg as string | undefined) ?? config.signingAlg;
  if (!['ES256', 'RS256', 'PS256', 'EdDSA'].includes(alg)) throw new UsageError('--alg must be ES256, RS256, PS256 or EdDSA');
  const { stores, now } = await ctx.db();
  const lifetime = Math.max(config.accessTokenTtl, config.idTokenTtl);
  const r = await rotateSigningKey(stores.keys, config.keyEncryptionKey, alg as SigningAlg, lifetime, now());
  if (!r.rotated) throw new AdminError('another rotation happened at the same time; run keys list and try again if needed');
  await audit(ctx, 'key_rotated', { kid: r.kid, alg });
  print(`new active signing key ${r.kid} (${alg}); the previous one stays published for ${lifetime + 60} s. Running servers switch within ${config.keyReloadSeconds} s.`);
}

async function keysRetire(ctx: Ctx): Promise<void> {
  const kid = ctx.positionals[0]!;
  const { stores, now } = await ctx.db();
  try {
    await retireSigningKey(stores.keys, kid, now());
  } catch (err) {
    throw new AdminError((err as Error).message);
  }
  await audit(ctx, 'key_retired', { kid });
  print(`retired signing key ${kid}: it leaves the JWKS, and tokens it signed stop verifying`);
}

async function bootstrap(ctx: Ctx): Promise<void> {
  const file = readBootstrapFile(ctx.positionals[0]!);
  const { stores, now } = await ctx.db();
  const r = await applyBootstrap(stores, ctx.config(), file, now());
  if (r.clients || r.users) await audit(ctx, 'bootstrap_applied', { clients_changed: r.clients, users_changed: r.users });
  print(`clients changed: ${r.clients}\nusers changed: ${r.users}`);
  for (const [id, secret] of Object.entries(r.generatedSecrets)) print(secretLine(secret, id));
}

/** An ISO 8601 time as epoch ms, for --from and --to. */
function isoOption(ctx: Ctx, name: string): number | undefined {
  const v = ctx.str(name);
  if (v === undefined) return undefined;
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new UsageError(`--${name} must be an ISO 8601 time, e.g. 2025-01-31 or 2025-01-31T12:00:00Z`);
  return ms;
}

const AUDIT_COLUMNS = ['seq', 'at', 'type', 'actor', 'client_id', 'ip', 'outcome', 'details', 'prev_hash', 'hash'] as const;

const auditJson = (r: AuditRecord) => ({
  seq: r.seq, at: new Date(r.at).toISOString(), type: r.type, actor: r.actor, client_id: r.clientId, ip: r.ip,
  outcome: r.outcome, details: r.details, prev_hash: r.prevHash, hash: r.hash,
});

/** One RFC 4180 field: quoted (quotes doubled) when it holds a comma, quote or line break. */
const csvField = (v: unknown): string => {
  const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

async function auditList(ctx: Ctx): Promise<void> {
  const format = ctx.str('format') ?? 'json';
  if (format !== 'json' && format !== 'csv') throw new UsageError('--format must be json or csv');
  const limitText = ctx.str('limit');
  const limit = limitText === undefined ? undefined : Number(limitText);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new UsageError('--limit must be a positive integer');
  const records = await (await ctx.db()).stores.audit.query({ from: isoOption(ctx, 'from'), to: isoOption(ctx, 'to'), type: ctx.str('type'), limit });
  if (format === 'json') return print(JSON.stringify(records.map(auditJson), null, 2));
  const rows = records.map((r) => { const j = auditJson(r); return AUDIT_COLUMNS.map((c) => csvField(j[c])).join(','); });
  process.stdout.write([AUDIT_COLUMNS.join(','), ...rows].map((line) => `${line}\r\n`).join(''));
}

async function auditVerify(ctx: Ctx): Promise<number> {
  const r = await (await ctx.db()).stores.audit.verify();
  if (r.ok) {
    print(`audit chain intact: ${r.checked} records`);
    return 0;
  }
  warn(`audit chain broken at record ${r.firstBroken}: ${r.reason} (${r.checked} records before it are intact)`);
  return 1;
}

const redact = (url: string) => url.replace(/^(\w+:\/\/[^:/@]*:)[^@]*@/, '$1***@');

async function configCheck(): Promise<number> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    print(`The configuration has ${err.problems.length} problem(s):\n${err.problems.map((p) => `  - ${p}`).join('\n')}`);
    return 2;
  }
  for (const w of config.warnings) print(`warning: ${w}`);
  print(`configuration OK (${config.env} mode)\n  issuer    ${config.issuer}\n  database  ${redact(config.databaseUrl)}`);
  return 0;
}

/** The Markdown table of every setting, for the README. */
export function settingsMarkdown(): string {
  const show = (v: unknown): string => v === undefined ? 'not set'
    : v === DEV_SECRET || v === DEV_KEK ? 'built-in development value'
    : Array.isArray(v) ? (v.length ? `\`${v.join(' ')}\`` : 'empty') : `\`${String(v)}\``;
  const byMode = (s: Setting) => {
    if (typeof s.default !== 'function') return show(s.default);
    const [dev, prod] = [show(s.default('development')), show(s.default('production'))];
    return dev === prod ? dev : `development: ${dev}; production: ${prod}`;
  };
  const details = (s: Setting) => s.values ? ` One of ${s.values.map((v) => `\`${v}\``).join(', ')}.`
    : s.min !== undefined ? (s.max !== undefined ? ` Range ${s.min}–${s.max}.` : ` At least ${s.min}.`) : '';
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
  return [
    '| Variable | File key | Default | Description |',
    '| --- | --- | --- | --- |',
    ...settings.map((s) => `| \`${s.env}\` | \`${s.key}\` | ${cell(byMode(s))} | ${cell(s.description + details(s))} |`),
  ].join('\n');
}

export const commands: Record<string, Command> = {
  migrate: { summary: 'Apply the pending database migrations.', run: migrateCommand },
  'client create': {
    synopsis: '--id ID [--name N] [--public] [--auth-method client_secret_basic|client_secret_post|client_secret_jwt|private_key_jwt|none] [--native] [--redirect-uri URI]... [--post-logout-redirect-uri URI]... [--grant TYPE]... [--scope "a b"] [--resource URI]... [--skip-consent] [--jwks-file FILE | --jwks-uri URI] [--auth-signing-alg ALG] [--request-object-alg ALG] [--require-signed-request-object]',
    summary: 'Register a client; prints it as JSON and its generated secret once (only a hash is stored).',
    options: {
      id: str, name: str, public: bool, 'auth-method': str, native: bool, 'redirect-uri': many, 'post-logout-redirect-uri': many,
      grant: many, scope: str, resource: many, 'skip-consent': bool,
      'jwks-file': str, 'jwks-uri': str, 'auth-signing-alg': str, 'request-object-alg': str, 'require-signed-request-object': bool,
    },
    run: clientCreate,
  },
  'client list': { synopsis: '[--json]', summary: 'List the clients.', options: JSON_OPT, run: clientList },
  'client show': { synopsis: 'ID', summary: 'Show a client as JSON (never its secret).', positionals: ['ID'], run: clientShow },
  'client delete': { synopsis: 'ID', summary: 'Delete a client, revoking its grants.', positionals: ['ID'], run: clientDelete },
  'client rotate-secret': { synopsis: 'ID', summary: 'Replace the secret of a client; prints the new one once.', positionals: ['ID'], run: clientRotateSecret },
  'user create': {
    synopsis: '--username U [--email E] [--name N] [--password-stdin | --password P]',
    summary: 'Create a user. Pipe the password to --password-stdin; --password lands in shell history.',
    options: { username: str, email: str, name: str, ...PASSWORD_OPTS },
    run: userCreate,
  },
  'user set-password': {
    synopsis: 'USERNAME [--password-stdin | --password P]', summary: 'Set the password of a user and end their sessions.',
    options: PASSWORD_OPTS, positionals: ['USERNAME'], run: userSetPassword,
  },
  'user disable': { synopsis: 'USERNAME', summary: 'Disable a user, ending their sessions and revoking their grants.', positionals: ['USERNAME'], run: userSetDisabled(true) },
  'user enable': { synopsis: 'USERNAME', summary: 'Enable a disabled user.', positionals: ['USERNAME'], run: userSetDisabled(false) },
  'user list': { synopsis: '[--json]', summary: 'List the users.', options: JSON_OPT, run: userList },
  'keys rotate': { synopsis: '[--alg ALG]', summary: 'Make a new active signing key now; the old one stays published until its tokens expire.', options: { alg: str }, run: keysRotate },
  'keys retire': { synopsis: 'KID', summary: 'Take a key that no longer signs out of the JWKS now.', positionals: ['KID'], run: keysRetire },
  'keys list': { synopsis: '[--json]', summary: 'List the signing keys: kid, algorithm, state and age (never private material).', options: JSON_OPT, run: keysList },
  bootstrap: { synopsis: 'FILE', summary: 'Apply a bootstrap file of clients and users (idempotent, as at start-up).', positionals: ['FILE'], run: bootstrap },
  'audit list': {
    synopsis: '[--from ISO] [--to ISO] [--type TYPE] [--limit N] [--format json|csv]',
    summary: 'Export audit records (oldest first; with --limit, the latest N) as JSON or CSV.',
    options: { from: str, to: str, type: str, limit: str, format: str },
    run: auditList,
  },
  'audit verify': { summary: 'Check the audit trail\'s hash chain; exit code 1 naming the first broken record.', run: auditVerify },
  'config check': { summary: 'Validate the configuration; exit code 2 when it has problems.', run: configCheck },
  'config docs': { summary: 'Print the Markdown table of every setting.', run: async () => print(settingsMarkdown()) },
};
