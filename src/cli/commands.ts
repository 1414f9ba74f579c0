// The tessera commands: one small function each. Those with an admin action (clients, resources, users, upstream
// providers, keys) name it and print its answer through cli/admin.ts `execute`: the action checks, changes and
// audits in one transaction, here or (--remote) on another Tessera. The host-only commands below have no action
// (initial access tokens, set-password, taking over a self-registered account, keys rewrap, bootstrap, the
// audit export and check) and write their records through `audit`.
import { outboxMailer } from '../adapters/mail/mailer.ts';
import { readFileSync } from 'node:fs';
import type { ParseArgsOptionsConfig } from 'node:util';
import { applyBootstrap, parseUpstreamsDocument, readBootstrapFile } from '../admin/bootstrap.ts';
import { AdminError } from '../admin/clients.ts';
import { describeUser, saveUser, setPassword, usernameCollisions, type UsernameCollision } from '../admin/users.ts';
import { findResourceServer, isScopeInput, type ResourceInput } from '../admin/resources.ts';
import { checkUpstreams, rewrapUpstreamSecrets, type UpstreamInput } from '../admin/upstreams.ts';
import { rewrapWebhookSecrets } from '../admin/webhooks.ts';
import { isMetadataDocumentId } from '../protocol/clients/metadata-document.ts';
import { canonicalResource, REGISTRY_CACHE_MS } from '../protocol/resources.ts';
import { protocolServices } from '../protocol/services.ts';
import { createInitialAccessToken, describeInitialAccessToken } from '../admin/registration.ts';
import type { InitialAccessTokenRecord } from '../ports/registration-tokens.ts';
import { ConfigError, effectiveSettings, loadConfig, maskUrl, mcpProfileLines } from '../config/config.ts';
import { DEV_KEK, DEV_SECRET, settings, type Setting } from '../config/settings.ts';
import type { AuditEvent } from '../ports/audit.ts';
import type { ClientBlock } from '../ports/client-blocks.ts';
import type { Config, SigningAlg } from '../config/config.ts';
import { AuditInputError, exportAudit } from '../admin/audit.ts';
import { rewrapKeys, SIGNING_ALGS, type KeyDescription } from '../admin/keys.ts';
import { toAuditEvent } from '../observability/audit-events.ts';
import { logoutDelivery } from '../protocol/logout/back-channel.ts';
import { endSessions } from '../protocol/logout/session-ended.ts';
import type { Provider } from '../protocol/provider.ts';
import { configKeks, loadKeyRing } from '../protocol/tokens/keys.ts';
import {
  print,
  printList,
  progress,
  readStdinLine,
  terminalSafe,
  UsageError,
  warn,
  type Command,
  type Ctx,
} from './cli.ts';
import { adminCommands, execute, executeAll } from './admin.ts';
import { mcpDoctorCommand } from './mcp-doctor.ts';
import { operateCommands, userOf } from './operate.ts';
import { describeLogin, login, logout, remoteTarget } from './remote.ts';
import { selftestCommand } from './selftest.ts';

const str = { type: 'string' } as const;
const many = { type: 'string', multiple: true } as const;
const bool = { type: 'boolean' } as const;
const JSON_OPT: ParseArgsOptionsConfig = { json: bool };

/** An object of an action's answer. */
type Described = Record<string, unknown>;
const PASSWORD_OPTS: ParseArgsOptionsConfig = { 'password-stdin': bool, password: str };

/** A time as the tables show it (whole seconds): epoch seconds, or an ISO 8601 time of an action's answer. */
const iso = (t: number | string) =>
  (typeof t === 'number' ? new Date(t * 1000).toISOString() : t).replace(/\.\d+Z$/, 'Z');
const secretLine = (secret: string, clientId?: string) =>
  `Client secret${clientId ? ` of ${clientId}` : ''} (shown only once, store it safely): ${secret}`;

function age(seconds: number): string {
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
  ] as const)
    if (seconds >= size) return `${Math.floor(seconds / size)}${unit}`;
  return `${Math.max(0, seconds)}s`;
}

/** The password of --password-stdin (recommended) or --password; undefined when neither is given and it is optional. */
async function password(ctx: Ctx, required: boolean): Promise<string | undefined> {
  const given = ctx.str('password');
  if (given !== undefined && ctx.flag('password-stdin'))
    throw new UsageError('give --password-stdin or --password, not both');
  if (ctx.flag('password-stdin')) return readStdinLine('Password: ');
  if (given !== undefined) {
    warn('warning: --password leaves the password in your shell history and the process list; prefer --password-stdin');
    return given;
  }
  if (required) throw new UsageError('no password given: pipe it to --password-stdin (recommended) or use --password');
  return undefined;
}

/**
 * Records a change made by a host-only command (one no admin action does) in the audit trail, after it succeeded:
 * the one way those commands write their records. Never a secret or password.
 */
async function audit(
  ctx: Ctx,
  type: string,
  details: AuditEvent['details'],
  clientId: string | null = null,
): Promise<void> {
  const { stores } = await ctx.db();
  await stores.audit.append([
    { at: Date.now(), type, actor: 'admin', clientId, ip: null, outcome: 'success', details },
  ]);
}

async function migrateCommand(ctx: Ctx): Promise<void> {
  const applied = await (await ctx.db()).migrate();
  print(
    applied.length ? applied.map((m) => `applied migration ${m}`).join('\n') : 'database schema already up to date',
  );
}

async function clientCreate(ctx: Ctx): Promise<void> {
  const id = ctx.need('id');
  let method = ctx.str('auth-method');
  if (ctx.flag('public')) {
    if (method && method !== 'none') throw new UsageError(`--public conflicts with --auth-method ${method}`);
    method = 'none';
  }
  const input: Record<string, unknown> = {
    client_id: id,
    client_name: ctx.str('name'),
    token_endpoint_auth_method: method,
    application_type: ctx.flag('native') ? 'native' : undefined,
    redirect_uris: ctx.list('redirect-uri'),
    post_logout_redirect_uris: ctx.list('post-logout-redirect-uri'),
    grant_types: ctx.list('grant'),
    scope: ctx.str('scope'),
    allowed_resources: ctx.list('resource'),
    skip_consent: ctx.flag('skip-consent'),
  };
  const jwksFile = ctx.str('jwks-file');
  if (jwksFile !== undefined) input.jwks = readJwksFile(jwksFile);
  if (ctx.str('jwks-uri') !== undefined) input.jwks_uri = ctx.str('jwks-uri');
  if (ctx.str('auth-signing-alg') !== undefined) input.token_endpoint_auth_signing_alg = ctx.str('auth-signing-alg');
  if (ctx.str('request-object-alg') !== undefined) input.request_object_signing_alg = ctx.str('request-object-alg');
  if (ctx.flag('require-signed-request-object')) input.require_signed_request_object = true;
  if (ctx.flag('fapi')) input.fapi_profile = '2.0';
  if (ctx.flag('fapi-message-signing')) input.fapi_message_signing = true;
  if (ctx.flag('pkce-optional')) input.pkce_required = false;
  for (const k of Object.keys(input)) if (input[k] === undefined) delete input[k];
  // On the host, the refusal names the command to use instead (the action refuses it too, remotely).
  if (!ctx.remoteMode() && (await (await ctx.db()).stores.clients.get(id)))
    throw new AdminError(`client ${id} already exists`);
  const { result } = await execute<Described & { client_secret?: string }>(ctx, 'clients.create', input);
  const { client_secret: secret, ...shown } = result;
  print(JSON.stringify(shown, null, 2));
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

interface ClientItem {
  client_id: string;
  client_name?: string;
  token_endpoint_auth_method: string;
  application_type: string;
  grant_types: string[];
  disabled?: boolean;
}

async function clientList(ctx: Ctx): Promise<void> {
  const clients = await executeAll<ClientItem>(ctx, 'clients.list', {}, progress());
  // Metadata document clients are never stored: the blocked ones (known on the host) follow the stored clients.
  const blocks = ctx.remoteMode() ? [] : await (await ctx.db()).stores.clientBlocks.list();
  printList<ClientItem | ClientBlock>(
    ctx,
    [...clients, ...blocks],
    (c) => ('blockedAt' in c ? describeBlock(c.clientId, c) : c),
    {
      CLIENT_ID: (c) => ('blockedAt' in c ? c.clientId : c.client_id),
      NAME: (c) => ('blockedAt' in c ? '' : (c.client_name ?? '')),
      TYPE: (c) =>
        'blockedAt' in c
          ? 'metadata document'
          : `${c.token_endpoint_auth_method === 'none' ? 'public' : 'confidential'} ${c.application_type}`,
      AUTH_METHOD: (c) => ('blockedAt' in c ? '' : c.token_endpoint_auth_method),
      GRANTS: (c) => ('blockedAt' in c ? '' : c.grant_types.join(',')),
      STATUS: (c) => ('blockedAt' in c ? 'blocked' : c.disabled ? 'disabled' : 'enabled'),
    },
    '(no clients)',
  );
}

/** A metadata document URL as `client show` and `client list --json` show it. */
const describeBlock = (clientId: string, block?: ClientBlock) => ({
  client_id: clientId,
  metadata_document: true,
  blocked: block !== undefined,
  ...(block ? { blocked_at: new Date(block.blockedAt * 1000).toISOString() } : {}),
});

async function clientShow(ctx: Ctx): Promise<void> {
  const id = ctx.positionals[0]!;
  if (isMetadataDocumentId(id)) {
    // Never stored: what the operator can know here (on the host) is whether it is blocked.
    const block = (await (await ctx.db()).stores.clientBlocks.list()).find((b) => b.clientId === id);
    print(JSON.stringify(describeBlock(id, block), null, 2));
    return;
  }
  print(JSON.stringify((await execute(ctx, 'clients.read', { client_id: id })).result, null, 2));
}

async function clientDelete(ctx: Ctx): Promise<void> {
  const id = ctx.positionals[0]!;
  // Its client_credentials tokens (no grant behind them) stop at introspection too.
  await execute(ctx, 'clients.delete', { client_id: id });
  print(`deleted client ${id}; its grants are revoked and its consents forgotten`);
}

async function clientRotateSecret(ctx: Ctx): Promise<void> {
  const id = ctx.positionals[0]!;
  // No overlap: the previous secret stops at once, as this command always did.
  const { result } = await execute<{ client_secret: string }>(ctx, 'clients.rotate-secret', {
    client_id: id,
    overlap: 0,
  });
  print(secretLine(result.client_secret, id));
  warn(`the previous secret of ${id} no longer works`);
}

/** client enable / disable: admin approval of dynamically registered clients, or taking a client out of service. */
const clientSetDisabled =
  (disabled: boolean) =>
  async (ctx: Ctx): Promise<void> => {
    const id = ctx.positionals[0]!;
    const { result: r } = await execute<{ grants_revoked: number; changed?: boolean }>(
      ctx,
      disabled ? 'clients.disable' : 'clients.enable',
      { client_id: id },
    );
    // A metadata document client (an https client_id) is never stored: its identifier is blocked instead.
    if (isMetadataDocumentId(id)) {
      // The cache lifetime is the host's setting; remotely, its name.
      const within = ctx.remoteMode() ? 'its TESSERA_CLIENT_CACHE_TTL' : `${ctx.config().clientCacheTtl}s`;
      print(
        disabled
          ? `client ${id} blocked: its metadata document is no longer fetched, its access tokens are refused and its grants (${r.grants_revoked}) revoked; every instance sees the block within ${within}${ctx.remoteMode() ? '' : ' (TESSERA_CLIENT_CACHE_TTL)'}`
          : r.changed
            ? `client ${id} unblocked: its metadata document is fetched again within ${within}; its tokens issued before stay refused`
            : `client ${id} was not blocked: nothing changed`,
      );
      return;
    }
    print(
      disabled
        ? `client ${id} disabled; its access tokens are refused and its grants (${r.grants_revoked}) revoked`
        : `client ${id} enabled`,
    );
  };

/** A whole number option (seconds, counts), or undefined when absent. */
function intOption(ctx: Ctx, name: string): number | undefined {
  const v = ctx.str(name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number`);
  return Number(v);
}

async function registrationTokenCreate(ctx: Ctx): Promise<void> {
  const { stores, now } = await ctx.db();
  const { token, record } = await createInitialAccessToken(stores, now(), {
    expiresIn: intOption(ctx, 'expires-in'),
    uses: intOption(ctx, 'uses'),
  });
  await audit(ctx, 'initial_access_token_created', {
    id: record.id,
    uses: record.usesLeft,
    expires_at: iso(record.expiresAt),
  });
  print(JSON.stringify(describeInitialAccessToken(record), null, 2));
  print(`Initial access token (shown only once; send it as "Authorization: Bearer" to /register): ${token}`);
  if (ctx.config().registration !== 'initial_access_token')
    warn(
      `note: TESSERA_REGISTRATION is ${ctx.config().registration}; initial access tokens are only asked for when it is initial_access_token`,
    );
}

async function registrationTokenList(ctx: Ctx): Promise<void> {
  const { stores, now } = await ctx.db();
  printList<InitialAccessTokenRecord>(
    ctx,
    await stores.initialAccessTokens.list(now()),
    describeInitialAccessToken,
    {
      ID: (t) => t.id,
      USES_LEFT: (t) => (t.usesLeft === null ? 'unlimited' : String(t.usesLeft)),
      CREATED: (t) => iso(t.createdAt),
      EXPIRES: (t) => iso(t.expiresAt),
    },
    '(no live initial access tokens)',
  );
}

async function registrationTokenRevoke(ctx: Ctx): Promise<void> {
  const id = ctx.positionals[0]!;
  if (!(await (await ctx.db()).stores.initialAccessTokens.revoke(id)))
    throw new AdminError(`no initial access token ${id}`);
  await audit(ctx, 'initial_access_token_revoked', { id });
  print(`revoked initial access token ${id}`);
}

/**
 * The resource options given (--scope NAME=DESCRIPTION and --parent SCOPE=PARENT repeatable, --ttl,
 * --alg, --dpop) over `base`. --scope replaces the scopes; --parent replaces the hierarchy.
 */
function resourceInput(ctx: Ctx, base: ResourceInput): ResourceInput {
  const input: ResourceInput = { ...base };
  if (ctx.str('name') !== undefined) input.display_name = ctx.str('name')!;
  const scopes = ctx.list('scope');
  if (scopes !== undefined) {
    input.scopes = {};
    for (const s of scopes) {
      const eq = s.indexOf('=');
      if (eq <= 0) throw new UsageError('--scope takes NAME=DESCRIPTION');
      input.scopes[s.slice(0, eq)] = s.slice(eq + 1);
    }
  }
  // --parent CHILD=PARENT (repeatable): the scope hierarchy, over the scopes given or kept.
  const parents = ctx.list('parent');
  if (parents !== undefined) {
    input.scopes = Object.fromEntries(
      Object.entries(input.scopes ?? {}).map(([name, v]) => [
        name,
        { description: isScopeInput(v) ? v.description : v },
      ]),
    );
    for (const s of parents) {
      const eq = s.indexOf('=');
      if (eq <= 0 || eq === s.length - 1) throw new UsageError('--parent takes SCOPE=PARENT');
      const child = s.slice(0, eq);
      const entry = input.scopes[child];
      if (entry === undefined || !isScopeInput(entry))
        throw new UsageError(`--parent ${child}=...: ${child} is not one of the resource's scopes`);
      entry.parent = s.slice(eq + 1);
    }
  }
  const ttl = ctx.str('ttl');
  if (ttl !== undefined) {
    if (!/^\d{1,6}$/.test(ttl)) throw new UsageError('--ttl must be a number of seconds');
    input.access_token_ttl = Number(ttl);
  }
  if (ctx.str('alg') !== undefined) input.signing_alg = ctx.str('alg');
  const dpop = ctx.str('dpop');
  // Said as the registry's own check says it (the action's input would only name the values).
  if (dpop !== undefined && dpop !== 'required' && dpop !== 'optional')
    throw new AdminError(`resource ${base.identifier}: dpop must be required or optional`);
  if (dpop !== undefined) input.dpop = dpop;
  return input;
}

async function resourceCreate(ctx: Ctx): Promise<void> {
  const identifier = ctx.need('identifier');
  const input = resourceInput(ctx, { identifier, display_name: ctx.need('name') });
  // Any spelling of a stored identifier names it (admin/resources.ts stores the canonical form). On the host the
  // refusal names the command to use instead (the action refuses it too, remotely).
  if (!ctx.remoteMode() && (await findResourceServer((await ctx.db()).stores, identifier))) {
    const canonical = canonicalResource(identifier);
    const stored = 'canonical' in canonical ? canonical.canonical : identifier;
    throw new AdminError(`resource ${stored} already exists (use tessera resource update)`);
  }
  print(JSON.stringify((await execute(ctx, 'resources.create', { ...input })).result, null, 2));
}

async function resourceUpdate(ctx: Ctx): Promise<void> {
  const identifier = ctx.positionals[0]!;
  let base: ResourceInput = { identifier } as ResourceInput;
  let version: { ifMatch?: string } = {};
  // --parent without --scope sets the hierarchy over the scopes kept: read them (and change that version only).
  if (ctx.list('parent') !== undefined && ctx.list('scope') === undefined) {
    const read = await execute<{ scopes: ResourceInput['scopes'] }>(ctx, 'resources.read', { identifier });
    base = { ...base, scopes: read.result.scopes };
    if (read.etag) version = { ifMatch: read.etag };
  }
  const input = resourceInput(ctx, base);
  const { result } = await execute(ctx, 'resources.update', { ...input }, version);
  print(JSON.stringify(result, null, 2));
  print(`Running servers use the change within ${REGISTRY_CACHE_MS / 1000} s.`);
}

interface ResourceItem {
  identifier: string;
  display_name: string;
  scopes: Record<string, unknown>;
  access_token_ttl: number | null;
  dpop: string;
}

async function resourceList(ctx: Ctx): Promise<void> {
  printList<ResourceItem>(
    ctx,
    await executeAll<ResourceItem>(ctx, 'resources.list', {}, progress()),
    (r) => r,
    {
      IDENTIFIER: (r) => r.identifier,
      NAME: (r) => r.display_name,
      SCOPES: (r) => Object.keys(r.scopes).join(' '),
      TOKEN_TTL: (r) => (r.access_token_ttl === null ? 'default' : `${r.access_token_ttl}s`),
      DPOP: (r) => r.dpop,
    },
    '(no resource servers: self-registered clients get tokens for the default audience only)',
  );
}

async function resourceShow(ctx: Ctx): Promise<void> {
  print(JSON.stringify((await execute(ctx, 'resources.read', { identifier: ctx.positionals[0]! })).result, null, 2));
}

async function resourceDelete(ctx: Ctx): Promise<void> {
  // Any spelling names it; the message shows the stored identifier.
  const read = await execute<{ identifier: string }>(ctx, 'resources.read', { identifier: ctx.positionals[0]! });
  const identifier = read.result.identifier;
  await execute(ctx, 'resources.delete', { identifier }, read.etag ? { ifMatch: read.etag } : {});
  print(`deleted resource ${identifier}; self-registered clients get no more tokens for it`);
}

/** The fields of `describeUser` (admin/users.ts): what user create and user list --json show of a user. */
const USER_FIELDS = [
  'id',
  'username',
  'email',
  'email_verified',
  'name',
  'disabled',
  'has_password',
  'mfa_required',
  'created_at',
];
const userFields = (u: Described) => Object.fromEntries(USER_FIELDS.filter((k) => k in u).map((k) => [k, u[k]]));

async function userCreate(ctx: Ctx): Promise<void> {
  const username = ctx.need('username');
  const pw = await password(ctx, false);
  // A user without a password cannot sign in with one: only on purpose, never by omission.
  if (pw === undefined && !ctx.flag('no-password'))
    throw new UsageError(
      'no password given: pipe it to --password-stdin (recommended) or use --password; --no-password creates an account that cannot sign in with a password',
    );
  if (pw !== undefined && ctx.flag('no-password')) throw new UsageError('--no-password conflicts with a password');
  const adopt = ctx.flag('adopt-existing');
  if (adopt && ctx.remoteMode())
    throw new AdminError('--adopt-existing runs on the host only (no admin action takes an account over)');
  let shown: Described;
  const existing = ctx.remoteMode() ? undefined : await (await ctx.db()).stores.users.findByUsername(username);
  if (existing && (existing.origin ?? 'operator') === 'operator') {
    throw new AdminError(
      `user ${username} already exists${existing.username !== username ? ` (as ${existing.username})` : ''}; use tessera user set-password to change its password`,
    );
  }
  if (existing) {
    // An account provisioning did not create (self-registered) is refused naming it, or taken over with
    // --adopt-existing (host only: no action does it): audited, its sessions ended and its grants revoked.
    const { stores, now } = await ctx.db();
    const r = await saveUser(
      stores,
      { username, email: ctx.str('email'), name: ctx.str('name'), password: pw, ...(adopt ? { adopt: true } : {}) },
      now(),
    );
    await audit(ctx, 'user_adopted', { user_id: r.user.id, username: r.user.username, source: 'cli' });
    await notifySessionsEnded(ctx, r.user.username);
    warn(
      `took over the existing account ${r.user.username} (id ${r.user.id}); its sessions are ended and its grants revoked`,
    );
    shown = describeUser(r.user);
  } else {
    const input: Record<string, unknown> = { username };
    if (ctx.str('email') !== undefined) input.email = ctx.str('email');
    if (ctx.str('name') !== undefined) input.name = ctx.str('name');
    if (pw !== undefined) input.password = pw;
    shown = userFields((await execute<Described>(ctx, 'users.create', input)).result);
  }
  if (pw === undefined)
    warn(
      `warning: user ${username} has no password and cannot sign in with one; set one with tessera user set-password`,
    );
  print(JSON.stringify(shown, null, 2));
}

async function userCollisions(ctx: Ctx): Promise<number> {
  const found = await usernameCollisions((await ctx.db()).stores, { withConfusables: true });
  const why = (c: UsernameCollision) =>
    c.kind === 'duplicate'
      ? `same name as ${c.with[0]!.username} (${c.with[0]!.id}); signs in by its exact name only`
      : c.kind === 'invalid'
        ? 'not a valid username (RFC 8265); signs in by its exact name only'
        : `looks like ${c.with[0]!.username} (${c.with[0]!.id})`;
  printList<UsernameCollision>(
    ctx,
    found,
    (c) => c,
    { USERNAME: (c) => c.username, ID: (c) => c.id, KIND: (c) => c.kind, DETAIL: why },
    '(no username collisions)',
  );
  return found.some((c) => c.kind !== 'confusable') ? 1 : 0;
}

/**
 * The user's sessions were ended here: tell the clients of those sessions (OpenID Connect
 * back-channel logout), waiting for the deliveries, as this process exits next. The logout tokens
 * are signed with the server's active key; outcomes go to the audit trail.
 */
async function notifySessionsEnded(ctx: Ctx, username: string): Promise<void> {
  const { stores, now, services } = await ctx.db();
  const user = await stores.users.findByUsername(username);
  if (!user) return;
  const entries = await stores.sessions.takeClientsByUser(user.id);
  if (entries.length === 0) return;
  const config = ctx.config();
  const ring = await loadKeyRing(stores.keys, configKeks(config), config.signingAlgs, now());
  // The deliveries' audit records are written before the command ends (and the database closes).
  const written: Promise<void>[] = [];
  const p: Provider = {
    config,
    stores,
    keys: () => ring,
    now,
    log: { info: () => {}, warn: () => {}, error: (o) => warn(`back-channel logout failed: ${JSON.stringify(o)}`) },
    events: (e) => {
      written.push(stores.audit.append([toAuditEvent(e, Date.now())]));
    },
    ...protocolServices({ stores, now }),
    ...services,
    // Queued in the outbox: a running server delivers it.
    mail: outboxMailer(stores.mailOutbox, now, () => {}, config),
  };
  await endSessions(p, entries);
  await logoutDelivery(p).idle();
  await Promise.all(written);
}

async function userSetPassword(ctx: Ctx): Promise<void> {
  const username = ctx.positionals[0]!;
  const pw = (await password(ctx, true))!;
  const { stores, now } = await ctx.db();
  const user = await setPassword(stores, username, pw, now());
  await audit(ctx, 'user_password_set', { user_id: user.id, username: user.username });
  await notifySessionsEnded(ctx, username);
  print(`password of ${username} changed; their sessions are ended and grants revoked`);
}

const userSetDisabled =
  (disabled: boolean) =>
  async (ctx: Ctx): Promise<void> => {
    const username = ctx.positionals[0]!;
    const { id } = await userOf(ctx, username);
    await execute(ctx, disabled ? 'users.disable' : 'users.enable', { user_id: id });
    print(
      disabled ? `user ${username} disabled; their sessions are ended and grants revoked` : `user ${username} enabled`,
    );
  };

async function userResetFactors(ctx: Ctx): Promise<void> {
  const user = await userOf(ctx, ctx.positionals[0]!);
  // The action ends the sessions (back-channel logout) and tells the owner once per kind of factor removed.
  const { result: r } = await execute<{ factors: number; devices: number; sessions: number }>(
    ctx,
    'users.reset-factors',
    { user_id: user.id },
  );
  print(
    `removed ${r.factors} second factor(s) and the recovery codes of ${user.username}, forgot ${r.devices} remembered browser(s); their sessions (${r.sessions}) are ended`,
  );
}

async function userUnlock(ctx: Ctx): Promise<void> {
  const user = await userOf(ctx, ctx.positionals[0]!);
  const { result: r } = await execute<{ counters: number }>(ctx, 'users.unlock', { user_id: user.id });
  print(`cleared ${r.counters} failure counter(s) of ${user.username}: they may sign in again at once`);
}

async function userVerifyEmail(ctx: Ctx): Promise<void> {
  const user = await userOf(ctx, ctx.positionals[0]!);
  const { result: r } = await execute<{ changed: boolean }>(ctx, 'users.verify-email', { user_id: user.id });
  print(
    r.changed
      ? `the email address of ${user.username} is marked verified`
      : `the email address of ${user.username} was already verified`,
  );
}

async function userRequireMfa(ctx: Ctx): Promise<void> {
  const required = !ctx.flag('off');
  const user = await userOf(ctx, ctx.positionals[0]!);
  const { result: r } = await execute<{ changed: boolean }>(ctx, 'users.require-mfa', { user_id: user.id, required });
  print(
    !r.changed
      ? `nothing to change: a second factor was ${required ? 'already' : 'not'} required of ${user.username}`
      : required
        ? `a second factor is now required of ${user.username}; without one they enrol at their next sign-in`
        : `a second factor is no longer required of ${user.username} (the deployment's policy still applies)`,
  );
}

type SessionItem = Described & { sid: string; created_at: string; last_seen_at: string; amr: string[] };

async function userSessionsList(ctx: Ctx): Promise<void> {
  const { id } = await userOf(ctx, ctx.positionals[0]!);
  const { result } = await execute<{ items: SessionItem[] }>(ctx, 'users.sessions', { user_id: id });
  printList<SessionItem>(
    ctx,
    result.items,
    ({ user_id: _, ...s }) => s,
    {
      SID: (s) => s.sid,
      CREATED: (s) => iso(s.created_at),
      LAST_SEEN: (s) => iso(s.last_seen_at),
      AMR: (s) => s.amr.join(' '),
      IP: (s) => String(s.ip ?? ''),
      USER_AGENT: (s) => String(s.user_agent ?? ''),
    },
    '(no sessions)',
  );
}

async function userEndSessions(ctx: Ctx): Promise<void> {
  const user = await userOf(ctx, ctx.positionals[0]!);
  // The action tells the applications (back-channel logout) once it committed.
  const { result: r } = await execute<{ ended: number }>(ctx, 'users.end-sessions', { user_id: user.id });
  print(`ended ${r.ended} session(s) of ${user.username}; the applications they signed in to were told`);
}

async function userList(ctx: Ctx): Promise<void> {
  // The action pages in id order: shown by username, as before.
  const users = await executeAll<Described>(ctx, 'users.list', {}, progress());
  const name = (u: Described) => String(u.username);
  users.sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
  printList<Described>(
    ctx,
    users,
    (u) => u,
    {
      USERNAME: (u) => String(u.username),
      EMAIL: (u) => String(u.email ?? ''),
      NAME: (u) => String(u.name ?? ''),
      PASSWORD: (u) => (u.has_password ? 'set' : 'none'),
      STATUS: (u) => (u.disabled ? 'disabled' : 'enabled'),
      CREATED: (u) => iso(u.created_at as string),
    },
    '(no users)',
  );
}

async function keysList(ctx: Ctx): Promise<void> {
  const { result } = await execute<{ keys: KeyDescription[] }>(ctx, 'keys.list', {});
  // Only public facts: never the wrapped private key, nor even the public JWK.
  printList<KeyDescription>(
    ctx,
    result.keys,
    (k) => k,
    {
      KID: (k) => k.kid,
      ALG: (k) => k.alg,
      STATE: (k) => k.state,
      CREATED: (k) => k.created_at,
      AGE: (k) => age(k.age_seconds),
      ACTIVE_FROM: (k) => k.active_from ?? '',
      UNTIL: (k) => k.rotates_at ?? k.published_until ?? '',
    },
    '(no signing keys yet: the server creates one when it starts)',
  );
}

async function keysRotate(ctx: Ctx): Promise<void> {
  const alg = ctx.values.alg as string | undefined;
  if (alg !== undefined && !SIGNING_ALGS.includes(alg as SigningAlg))
    throw new UsageError('--alg must be ES256, RS256, PS256 or EdDSA');
  const { result: r } = await execute<{
    kid: string;
    alg: string;
    prepublished: boolean;
    grace_seconds: number;
    reload_seconds: number;
  }>(ctx, 'keys.rotate', alg !== undefined ? { alg } : {});
  print(
    `new active signing key ${r.kid} (${r.alg}${r.prepublished ? ', the prepublished key' : ', a new key'}); the previous one stays published for ${r.grace_seconds} s. Running servers switch within ${r.reload_seconds} s.`,
  );
  if (!r.prepublished)
    warn(
      'warning: relying parties that cached the JWKS may take up to 300 s to fetch the new key; tokens it signs may fail to verify there until then',
    );
}

async function keysRetire(ctx: Ctx): Promise<void> {
  const kid = ctx.positionals[0]!;
  const { result: r } = await execute<{ state: string; changed: boolean }>(ctx, 'keys.retire', { kid });
  if (r.changed && r.state === 'grace')
    print(
      `signing key ${kid} no longer signs (its algorithm is not in TESSERA_SIGNING_ALGS); it stays in the JWKS until the tokens it signed expire`,
    );
  else
    print(
      r.changed
        ? `retired signing key ${kid}: it leaves the JWKS, and tokens it signed stop verifying`
        : `signing key ${kid} was retired already`,
    );
}

async function keysRewrap(ctx: Ctx): Promise<void> {
  const { stores } = await ctx.db();
  const r = await rewrapKeys(stores, ctx.config());
  if (r.rewrapped) await audit(ctx, 'keys_rewrapped', { rewrapped: r.rewrapped, unchanged: r.unchanged });
  print(
    `re-wrapped ${r.rewrapped} signing key(s) under TESSERA_KEY_ENCRYPTION_KEY; ${r.unchanged} already were (${r.total} in all)`,
  );
  const u = await rewrapUpstreamSecrets({ stores, config: ctx.config() });
  if (u.rewrapped) await audit(ctx, 'keys_rewrapped', { upstream_secrets: u.rewrapped, unchanged: u.unchanged });
  if (u.rewrapped || u.unchanged)
    print(`re-wrapped ${u.rewrapped} upstream provider secret(s); ${u.unchanged} already were`);
  const w = await rewrapWebhookSecrets({ stores, config: ctx.config() });
  if (w.rewrapped) await audit(ctx, 'keys_rewrapped', { webhook_secrets: w.rewrapped, unchanged: w.unchanged });
  if (w.rewrapped || w.unchanged) print(`re-wrapped ${w.rewrapped} webhook secret(s); ${w.unchanged} already were`);
}

type UpstreamItem = Described & { id: string; label: string; kind: string; issuer: string; order: number };

async function upstreamList(ctx: Ctx): Promise<void> {
  const items = await executeAll<UpstreamItem>(ctx, 'upstreams.list', {}, progress());
  // By button order, as the login page shows them.
  items.sort((a, b) => a.order - b.order || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  printList<UpstreamItem>(
    ctx,
    items,
    (p) => p,
    {
      ID: (p) => p.id,
      LABEL: (p) => p.label,
      KIND: (p) => (p.preset ? `${p.kind} (${String(p.preset)})` : p.kind),
      ISSUER: (p) => p.issuer,
      ORDER: (p) => String(p.order),
      USERS: (p) => (p.create_users ? 'created' : 'linked only'),
      STATUS: (p) => (p.enabled ? 'enabled' : 'disabled'),
    },
    '(no upstream providers)',
  );
}

async function upstreamShow(ctx: Ctx): Promise<void> {
  print(JSON.stringify((await execute(ctx, 'upstreams.read', { id: ctx.positionals[0]! })).result, null, 2));
}

/** Everything on standard input (a provider piped to `upstream add -`). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A provider of a file as the action upstreams.put takes it: client_secret_env and private_key_env read here, from
 * this machine's environment (the admin API never reads the server's).
 */
function upstreamActionInput(input: UpstreamInput): Record<string, unknown> {
  const { client_secret_env: secretEnv, private_key_env: keyEnv, ...rest } = input;
  const out: Record<string, unknown> = { ...rest };
  for (const [name, variable] of [
    ['client_secret', secretEnv],
    ['private_key', keyEnv],
  ] as const) {
    if (variable === undefined) continue;
    if (out[name] !== undefined) throw new AdminError(`upstream ${input.id}: give ${name} or ${name}_env, not both`);
    const value = process.env[variable];
    if (!value)
      throw new AdminError(`upstream ${input.id}: ${name}_env: the environment variable ${variable} is not set`);
    out[name] = value;
  }
  return out;
}

async function upstreamAdd(ctx: Ctx): Promise<void> {
  const source = ctx.positionals[0]!;
  let text: string;
  try {
    text = source === '-' ? await readStdin() : readFileSync(source, 'utf8');
  } catch (err) {
    throw new AdminError(`cannot read ${source}: ${(err as Error).message}`);
  }
  const inputs = parseUpstreamsDocument(text, source === '-' ? 'standard input' : source);
  // On the host every provider is checked before any is saved: a file with a problem changes nothing. Remotely
  // each is checked as it is saved, in order.
  if (!ctx.remoteMode()) {
    const { stores, now } = await ctx.db();
    await checkUpstreams({ stores, config: ctx.config(), now }, inputs);
  }
  const actionInputs = inputs.map(upstreamActionInput);
  const before = new Map(
    (await executeAll<UpstreamItem>(ctx, 'upstreams.list', {}, progress())).map((p) => [p.id, p.updated_at]),
  );
  const issuer = ctx.remoteMode() ? remoteTarget().issuer : ctx.config().issuer;
  for (const input of actionInputs) {
    const r = await execute<UpstreamItem>(ctx, 'upstreams.put', input);
    const p = r.result;
    const said = r.status === 201 ? 'added' : before.get(p.id) !== p.updated_at ? 'updated' : 'unchanged:';
    print(
      `${said} upstream ${p.id} (${p.label}); callback URL to register with the provider: ${issuer}/upstream/${p.id}/callback`,
    );
  }
}

async function upstreamRemove(ctx: Ctx): Promise<void> {
  const id = ctx.positionals[0]!;
  await execute(ctx, 'upstreams.remove', { id });
  print(`removed upstream ${id} and every identity linked through it; sessions signed in with it run until they end`);
}

const upstreamSetEnabled =
  (enabled: boolean) =>
  async (ctx: Ctx): Promise<void> => {
    const id = ctx.positionals[0]!;
    // Whether it changes: the state read before (the action's answer is the provider as it is after).
    const before = await execute<{ enabled: boolean }>(ctx, 'upstreams.read', { id });
    const changed = before.result.enabled !== enabled;
    await execute(ctx, enabled ? 'upstreams.enable' : 'upstreams.disable', { id });
    print(
      !changed
        ? `upstream ${id} was already ${enabled ? 'enabled' : 'disabled'}`
        : enabled
          ? `upstream ${id} enabled: its button is on the login page`
          : `upstream ${id} disabled: its button is gone and its callbacks are refused; its identities stay linked`,
    );
  };

type IdentityItem = Described & { provider: string; issuer: string; subject: string; email: string | null };

async function userIdentitiesList(ctx: Ctx): Promise<void> {
  const { id } = await userOf(ctx, ctx.positionals[0]!);
  const { result } = await execute<{ items: IdentityItem[] }>(ctx, 'users.identities', { user_id: id });
  printList<IdentityItem>(
    ctx,
    result.items,
    (i) => i,
    {
      PROVIDER: (i) => i.provider,
      ISSUER: (i) => i.issuer,
      SUBJECT: (i) => i.subject,
      EMAIL: (i) => i.email ?? '',
      LINKED: (i) => iso(i.linked_at as string),
      LAST_USED: (i) => iso(i.last_used_at as string),
    },
    '(no linked upstream identities)',
  );
}

async function userUnlink(ctx: Ctx): Promise<void> {
  const [name, provider] = ctx.positionals as [string, string];
  const user = await userOf(ctx, name);
  const subject = ctx.str('subject');
  if (subject === undefined) {
    // Several identities there: the command asks for the option that names one.
    const { result: linked } = await execute<{ items: IdentityItem[] }>(ctx, 'users.identities', { user_id: user.id });
    const there = linked.items.filter((i) => i.provider === provider);
    if (there.length > 1)
      throw new AdminError(
        `${user.username} has ${there.length} identities linked through ${provider} (subjects ${there.map((i) => i.subject).join(', ')}): name one with --subject`,
      );
  }
  const { result } = await execute<{ subject: string }>(ctx, 'users.unlink', {
    user_id: user.id,
    provider,
    ...(subject !== undefined ? { subject } : {}),
  });
  print(
    `unlinked ${provider} identity ${result.subject} from ${user.username}; sessions signed in with it run on (tessera user end-sessions ends them)`,
  );
}

async function bootstrap(ctx: Ctx): Promise<void> {
  const file = readBootstrapFile(ctx.positionals[0]!);
  const { stores, now, services } = await ctx.db();
  // As at start-up: instances (and commands) applying a file at once on one database take turns.
  const r = await stores.exclusive(async () => {
    const applied = await applyBootstrap(stores, ctx.config(), file, now(), services.outbound);
    if (applied.clients || applied.users || applied.resources || applied.upstreams)
      await audit(ctx, 'bootstrap_applied', {
        clients_changed: applied.clients,
        users_changed: applied.users,
        resources_changed: applied.resources,
        // Only when the file changed providers: the record keeps the shape it had before issue 17.
        ...(applied.upstreams ? { upstreams_changed: applied.upstreams } : {}),
      });
    return applied;
  });
  for (const w of r.warnings) warn(`warning: ${w}`);
  print(
    `clients changed: ${r.clients}\nusers changed: ${r.users}\nresources changed: ${r.resources}\nupstreams changed: ${r.upstreams}`,
  );
  const d = r.directory;
  if (d.groups || d.appRoles || d.claimMappings)
    print(`groups changed: ${d.groups}\napp roles changed: ${d.appRoles}\nclaim mappings changed: ${d.claimMappings}`);
  for (const [id, secret] of Object.entries(r.generatedSecrets)) print(secretLine(secret, id));
}

async function auditList(ctx: Ctx): Promise<void> {
  const options = {
    from: ctx.str('from'),
    to: ctx.str('to'),
    type: ctx.str('type'),
    limit: ctx.str('limit'),
    format: ctx.str('format'),
  };
  let out;
  try {
    out = await exportAudit((await ctx.db()).stores, options, (o) => `--${o}`);
  } catch (err) {
    throw err instanceof AuditInputError ? new UsageError(err.message) : err;
  }
  // An export piped to a file is written as it is; on a terminal, what came from clients is escaped.
  process.stdout.write(process.stdout.isTTY ? terminalSafe(out.body, true, '\r\n') : out.body);
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

/** The configuration, or undefined after printing its problems (exit code 2). */
function loadConfigOrReport(): Config | undefined {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    print(
      `The configuration has ${err.problems.length} problem(s):\n${err.problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    return undefined;
  }
}

async function configCheck(): Promise<number> {
  const config = loadConfigOrReport();
  if (!config) return 2;
  for (const w of config.warnings) print(`warning: ${w}`);
  print(
    `configuration OK (${config.env} mode)\n  issuer    ${config.issuer}\n  database  ${maskUrl(config.databaseUrl)}`,
  );
  return 0;
}

/**
 * `tessera config show`: every effective setting with where it came from (env, file, profile,
 * default), secrets redacted; then what the MCP profile changed. `--json` prints it as JSON.
 */
async function configShow(ctx: Ctx): Promise<number> {
  const config = loadConfigOrReport();
  if (!config) return 2;
  const rows = effectiveSettings(config);
  if (ctx.flag('json')) {
    print(
      JSON.stringify(
        rows.map(({ env, key, value, source }) => ({ env, key, value, source })),
        null,
        2,
      ),
    );
    return 0;
  }
  const width = Math.max(...rows.map((r) => r.env.length));
  print(`${'SETTING'.padEnd(width)}  SOURCE   VALUE`);
  for (const r of rows) print(`${r.env.padEnd(width)}  ${r.source.padEnd(7)}  ${terminalSafe(r.value)}`);
  const lines = mcpProfileLines(config);
  if (lines.length) print(`\n${lines.join('\n')}`);
  return 0;
}

/** The Markdown table of every setting, for the README. */
export function settingsMarkdown(): string {
  const show = (v: unknown): string =>
    v === undefined
      ? 'not set'
      : v === DEV_SECRET || v === DEV_KEK
        ? 'built-in development value'
        : Array.isArray(v)
          ? v.length
            ? `\`${v.join(' ')}\``
            : 'empty'
          : `\`${String(v)}\``;
  const byMode = (s: Setting) => {
    if (typeof s.default !== 'function') return show(s.default);
    const [dev, prod] = [show(s.default('development')), show(s.default('production'))];
    return dev === prod ? dev : `development: ${dev}; production: ${prod}`;
  };
  const details = (s: Setting) =>
    s.values
      ? ` One of ${s.values.map((v) => `\`${v}\``).join(', ')}.`
      : s.min !== undefined
        ? s.max !== undefined
          ? ` Range ${s.min}–${s.max}.`
          : ` At least ${s.min}.`
        : '';
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
  return [
    '| Variable | File key | Default | Description |',
    '| --- | --- | --- | --- |',
    ...settings.map(
      (s) => `| \`${s.env}\` | \`${s.key}\` | ${cell(byMode(s))} | ${cell(s.description + details(s))} |`,
    ),
  ].join('\n');
}

export const commands: Record<string, Command> = {
  migrate: { summary: 'Apply the pending database migrations.', run: migrateCommand },
  'client create': {
    remote: true,
    synopsis:
      '--id ID [--name N] [--public] [--auth-method client_secret_basic|client_secret_post|client_secret_jwt|private_key_jwt|none] [--native] [--redirect-uri URI]... [--post-logout-redirect-uri URI]... [--grant TYPE]... [--scope "a b"] [--resource URI]... [--skip-consent] [--jwks-file FILE | --jwks-uri URI] [--auth-signing-alg ALG] [--request-object-alg ALG] [--require-signed-request-object] [--fapi] [--fapi-message-signing] [--pkce-optional]',
    summary: 'Register a client; prints it as JSON and its generated secret once (only a hash is stored).',
    options: {
      id: str,
      name: str,
      public: bool,
      'auth-method': str,
      native: bool,
      'redirect-uri': many,
      'post-logout-redirect-uri': many,
      grant: many,
      scope: str,
      resource: many,
      'skip-consent': bool,
      'jwks-file': str,
      'jwks-uri': str,
      'auth-signing-alg': str,
      'request-object-alg': str,
      'require-signed-request-object': bool,
      fapi: bool,
      'fapi-message-signing': bool,
      'pkce-optional': bool,
    },
    run: clientCreate,
  },
  'client list': {
    remote: true,
    synopsis: '[--json]',
    summary: 'List the clients.',
    options: JSON_OPT,
    run: clientList,
  },
  'client show': {
    remote: true,
    synopsis: 'ID',
    summary: 'Show a client as JSON (never its secret).',
    positionals: ['ID'],
    run: clientShow,
  },
  'client delete': {
    remote: true,
    synopsis: 'ID',
    summary:
      'Delete a client, revoking its grants. A metadata document client (an https client_id) is never stored: disable it instead.',
    positionals: ['ID'],
    run: clientDelete,
  },
  'client rotate-secret': {
    remote: true,
    synopsis: 'ID',
    summary: 'Replace the secret of a client; prints the new one once.',
    positionals: ['ID'],
    run: clientRotateSecret,
  },
  'client enable': {
    remote: true,
    synopsis: 'ID',
    summary:
      'Enable a client (approves a client registered under TESSERA_REGISTRATION=admin_approval); for a metadata document URL, lift its block.',
    positionals: ['ID'],
    run: clientSetDisabled(false),
  },
  'client disable': {
    remote: true,
    synopsis: 'ID',
    summary:
      'Disable a client: it can no longer authenticate or start authorizations; its access tokens are refused and its grants revoked. A metadata document URL (an https client_id) is blocked: its document is no longer fetched.',
    positionals: ['ID'],
    run: clientSetDisabled(true),
  },
  'registration token create': {
    synopsis: '[--expires-in SECONDS] [--uses N]',
    summary:
      'Mint an initial access token for dynamic registration (default: valid 1 day, any number of uses); prints it once (only a hash is stored).',
    options: { 'expires-in': str, uses: str },
    run: registrationTokenCreate,
  },
  'registration token list': {
    synopsis: '[--json]',
    summary: 'List the live initial access tokens (id, uses left, expiry; never the token).',
    options: JSON_OPT,
    run: registrationTokenList,
  },
  'registration token revoke': {
    synopsis: 'ID',
    summary: 'Revoke an initial access token by its id.',
    positionals: ['ID'],
    run: registrationTokenRevoke,
  },
  'resource create': {
    remote: true,
    synopsis:
      '--identifier URI --name NAME [--scope NAME=DESCRIPTION]... [--parent SCOPE=PARENT]... [--ttl SECONDS] [--alg ALG] [--dpop required|optional]',
    summary:
      'Add a resource server to the registry: the audience URI (stored in canonical form), its display name, its scopes with descriptions and their hierarchy (a token with the parent satisfies the child), its access-token lifetime, algorithm and DPoP policy.',
    options: { identifier: str, name: str, scope: many, parent: many, ttl: str, alg: str, dpop: str },
    run: resourceCreate,
  },
  'resource update': {
    remote: true,
    synopsis:
      'URI [--name NAME] [--scope NAME=DESCRIPTION]... [--parent SCOPE=PARENT]... [--ttl SECONDS] [--alg ALG] [--dpop required|optional]',
    summary: 'Change a resource server (--scope replaces the list of scopes, --parent the hierarchy).',
    options: { name: str, scope: many, parent: many, ttl: str, alg: str, dpop: str },
    positionals: ['URI'],
    run: resourceUpdate,
  },
  'resource list': {
    remote: true,
    synopsis: '[--json]',
    summary: 'List the resource servers of the registry.',
    options: JSON_OPT,
    run: resourceList,
  },
  'resource show': {
    remote: true,
    synopsis: 'URI',
    summary: 'Show a resource server as JSON.',
    positionals: ['URI'],
    run: resourceShow,
  },
  'resource delete': {
    remote: true,
    synopsis: 'URI',
    summary: 'Remove a resource server from the registry: self-registered clients get no more tokens for it.',
    positionals: ['URI'],
    run: resourceDelete,
  },
  'user create': {
    remote: true,
    synopsis:
      '--username U [--email E] [--name N] (--password-stdin | --password P | --no-password) [--adopt-existing]',
    summary:
      'Create a user (the sign-up password policy applies). Pipe the password to --password-stdin; --password lands in shell history. A self-registered account of that name is refused, or taken over with --adopt-existing (audited; its sessions end, its grants are revoked).',
    options: { username: str, email: str, name: str, 'no-password': bool, 'adopt-existing': bool, ...PASSWORD_OPTS },
    run: userCreate,
  },
  'user collisions': {
    synopsis: '[--json]',
    summary:
      'List usernames to resolve: existing duplicates in canonical form (RFC 8265) or invalid names (exit 1), and look-alike names (UTS #39).',
    options: JSON_OPT,
    run: userCollisions,
  },
  'user set-password': {
    synopsis: 'USERNAME [--password-stdin | --password P]',
    summary:
      'Set the password of a user (the sign-up password policy applies), ending their sessions and revoking their grants.',
    options: PASSWORD_OPTS,
    positionals: ['USERNAME'],
    run: userSetPassword,
  },
  'user disable': {
    remote: true,
    synopsis: 'USERNAME',
    summary: 'Disable a user, ending their sessions and revoking their grants.',
    positionals: ['USERNAME'],
    run: userSetDisabled(true),
  },
  'user enable': {
    remote: true,
    synopsis: 'USERNAME',
    summary: 'Enable a disabled user.',
    positionals: ['USERNAME'],
    run: userSetDisabled(false),
  },
  'user list': {
    remote: true,
    synopsis: '[--json]',
    summary: 'List the users.',
    options: JSON_OPT,
    run: userList,
  },
  'user reset-factors': {
    remote: true,
    synopsis: 'USERNAME',
    summary:
      'Remove every second factor (authenticator apps, passkeys) and recovery code of a user, ending their sessions (a lost phone or key).',
    positionals: ['USERNAME'],
    run: userResetFactors,
  },
  'user unlock': {
    remote: true,
    synopsis: 'USERNAME',
    summary: 'Clear the failed sign-in counters of a user (password and second factor), lifting their wait.',
    positionals: ['USERNAME'],
    run: userUnlock,
  },
  'user verify-email': {
    remote: true,
    synopsis: 'USERNAME',
    summary: 'Mark the email address of a user verified.',
    positionals: ['USERNAME'],
    run: userVerifyEmail,
  },
  'user require-mfa': {
    remote: true,
    synopsis: 'USERNAME [--off]',
    summary:
      'Require a second factor of a user whatever the policy (without one they enrol at their next sign-in); --off stops requiring it.',
    options: { off: bool },
    positionals: ['USERNAME'],
    run: userRequireMfa,
  },
  'user sessions': {
    remote: true,
    synopsis: 'USERNAME [--json]',
    summary: 'List the live sessions of a user: created, last seen, how they signed in (amr), address and browser.',
    options: JSON_OPT,
    positionals: ['USERNAME'],
    run: userSessionsList,
  },
  'user end-sessions': {
    remote: true,
    synopsis: 'USERNAME',
    summary:
      'End every session of a user, telling the applications they signed in to (back-channel logout), and forget the browsers remembered after a second factor; their grants stay.',
    positionals: ['USERNAME'],
    run: userEndSessions,
  },
  'user identities': {
    remote: true,
    synopsis: 'USERNAME [--json]',
    summary: 'List the upstream identities linked to a user: provider, issuer, subject, email, linked and last used.',
    options: JSON_OPT,
    positionals: ['USERNAME'],
    run: userIdentitiesList,
  },
  'user unlink': {
    remote: true,
    synopsis: 'USERNAME PROVIDER [--subject SUBJECT]',
    summary:
      "Unlink a user's identity with an upstream provider (--subject when they have several there); refused when it is their last way to sign in.",
    options: { subject: str },
    positionals: ['USERNAME', 'PROVIDER'],
    run: userUnlink,
  },
  'upstream list': {
    remote: true,
    synopsis: '[--json]',
    summary: 'List the upstream identity providers, by button order (never their secrets).',
    options: JSON_OPT,
    run: upstreamList,
  },
  'upstream show': {
    remote: true,
    synopsis: 'ID',
    summary: 'Show an upstream provider as JSON (whether a secret is stored, never the secret).',
    positionals: ['ID'],
    run: upstreamShow,
  },
  'upstream add': {
    remote: true,
    synopsis: 'FILE|-',
    summary:
      'Add or update upstream providers from a YAML or JSON file (or standard input): one provider, a list, or an upstreams: list, with the keys of the bootstrap file. Secrets are stored wrapped under TESSERA_KEY_ENCRYPTION_KEY.',
    positionals: ['FILE'],
    run: upstreamAdd,
  },
  'upstream remove': {
    remote: true,
    synopsis: 'ID',
    summary:
      'Remove an upstream provider and every identity linked through it (users without another way in can no longer sign in: disable it instead to keep them).',
    positionals: ['ID'],
    run: upstreamRemove,
  },
  'upstream enable': {
    remote: true,
    synopsis: 'ID',
    summary: 'Put an upstream provider back on the login page.',
    positionals: ['ID'],
    run: upstreamSetEnabled(true),
  },
  'upstream disable': {
    remote: true,
    synopsis: 'ID',
    summary: 'Take an upstream provider off the login page and refuse its callbacks; its identities stay linked.',
    positionals: ['ID'],
    run: upstreamSetEnabled(false),
  },
  'keys rotate': {
    remote: true,
    synopsis: '[--alg ALG]',
    summary:
      'Rotate now (emergencies; the schedule rotates on its own): the prepublished key, else a new one, becomes active; the old one stays published until its tokens expire.',
    options: { alg: str },
    run: keysRotate,
  },
  'keys retire': {
    remote: true,
    synopsis: 'KID',
    summary:
      'Take a key that does not sign (grace or prepublished) out of the JWKS now; the active key of an algorithm no longer in TESSERA_SIGNING_ALGS stops signing and stays published until its tokens expire. Put -- before a KID that starts with -.',
    positionals: ['KID'],
    run: keysRetire,
  },
  'keys list': {
    remote: true,
    synopsis: '[--json]',
    summary: 'List the signing keys: kid, algorithm, state, age and schedule (never private material).',
    options: JSON_OPT,
    run: keysList,
  },
  'keys rewrap': {
    summary: 'Re-wrap every stored private key under TESSERA_KEY_ENCRYPTION_KEY (after a KEK rotation; idempotent).',
    run: keysRewrap,
  },
  bootstrap: {
    synopsis: 'FILE',
    summary:
      'Apply a bootstrap file of clients, users, resource servers and upstream providers (idempotent, as at start-up).',
    positionals: ['FILE'],
    run: bootstrap,
  },
  'audit list': {
    synopsis: '[--from ISO] [--to ISO] [--type TYPE] [--limit N] [--format json|csv]',
    summary: 'Export audit records (oldest first; with --limit, the latest N) as JSON or CSV.',
    options: { from: str, to: str, type: str, limit: str, format: str },
    run: auditList,
  },
  'audit verify': {
    summary: "Check the audit trail's hash chain; exit code 1 naming the first broken record.",
    run: auditVerify,
  },
  'config check': { summary: 'Validate the configuration; exit code 2 when it has problems.', run: configCheck },
  'config show': {
    synopsis: '[--json]',
    summary: 'Print every effective setting with its source (env, file, profile, default), secrets redacted.',
    options: JSON_OPT,
    run: configShow,
  },
  'config docs': { summary: 'Print the Markdown table of every setting.', run: async () => print(settingsMarkdown()) },
  'mcp doctor': mcpDoctorCommand,
  selftest: selftestCommand,
  login: {
    synopsis: '--remote ISSUER-URL [--client-id ID]',
    summary:
      "Sign in to a remote Tessera for the commands' remote mode: the device flow (RFC 8628) as the built-in client tessera-cli; open the address shown, enter the code, sign in (a second factor is asked of admin roles). The token (the admin scopes your admin role holds, short-lived, no refresh) is kept in $XDG_CONFIG_HOME/tessera/credentials.json, readable by you only.",
    options: { remote: str, 'client-id': str },
    run: async (ctx) => print(describeLogin(await login(ctx.need('remote'), ctx.str('client-id')))),
  },
  logout: {
    synopsis: '--remote [--issuer ISSUER-URL]',
    summary: 'Forget the token of a remote Tessera (the one logged in to last, unless --issuer names another).',
    options: { remote: bool, issuer: str },
    run: async (ctx) => {
      if (!ctx.flag('remote')) throw new UsageError('--remote is required (the host has nothing to log out of)');
      const issuer = logout(ctx.str('issuer'));
      print(issuer ? `logged out of ${issuer}: its token is forgotten` : 'not logged in: nothing to forget');
    },
  },
  ...operateCommands,
  ...adminCommands,
};
