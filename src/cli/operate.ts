// The commands issue 20 adds over the admin action table (admin/actions/): client update, user
// show/update/delete, sessions, consents and admin roles. Each is a thin front: it names its action,
// maps its options to the action's input and prints the answer; the action checks, changes and
// audits. All of them run here on the host or, with --remote, through a remote Tessera's admin API.
import { readFileSync } from 'node:fs';
import type { ParseArgsOptionsConfig } from 'node:util';
import { AdminError } from '../admin/errors.ts';
import { execute, executeAll } from './admin.ts';
import { print, printList, progress, UsageError, warn, type Command, type Ctx } from './cli.ts';

const str = { type: 'string' } as const;
const many = { type: 'string', multiple: true } as const;
const bool = { type: 'boolean' } as const;
const JSON_OPT: ParseArgsOptionsConfig = { json: bool };

type Described = Record<string, unknown>;

/** The --json object of a command that takes more fields than its options name (`client update`). */
function jsonFields(ctx: Ctx): Record<string, unknown> {
  const text = ctx.str('set-json');
  if (text === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text === '-' ? readFileSync(0, 'utf8') : text);
  } catch {
    throw new UsageError('--set-json takes a JSON object (or - to read it from standard input)');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new UsageError('--set-json takes a JSON object');
  return parsed as Record<string, unknown>;
}

/** Adds `value` under `key` when the option was given. */
const given = (input: Record<string, unknown>, key: string, value: unknown) => {
  if (value !== undefined) input[key] = value;
};

/** true/false of an option that may also be absent. */
function yesNo(ctx: Ctx, name: string): boolean | undefined {
  const v = ctx.str(name);
  if (v === undefined) return undefined;
  if (v !== 'true' && v !== 'false') throw new UsageError(`--${name} takes true or false`);
  return v === 'true';
}

/**
 * The user a command names by username or id (id and username): here from the database, remotely through
 * users.list (an id the search does not match is returned as it is: the action says whether it exists).
 */
export async function userOf(ctx: Ctx, name: string): Promise<{ id: string; username: string }> {
  if (!ctx.remoteMode()) {
    const { stores } = await ctx.db();
    const user = (await stores.users.findByUsername(name)) ?? (await stores.users.get(name));
    if (!user) throw new AdminError(`no user ${name}`);
    return { id: user.id, username: user.username };
  }
  const { result } = await execute<{ items: { id: string; username: string }[] }>(ctx, 'users.list', {
    search: name,
    limit: 200,
  });
  const found = result.items.find((u) => u.username === name) ?? result.items.find((u) => u.id === name);
  return found ?? { id: name, username: name };
}

/** The id of the user a command names by username or id. */
const userIdOf = async (ctx: Ctx, name: string): Promise<string> => (await userOf(ctx, name)).id;

// ---- client update ------------------------------------------------------------------------------------------

async function clientUpdate(ctx: Ctx): Promise<void> {
  const input: Record<string, unknown> = { ...jsonFields(ctx), client_id: ctx.positionals[0]! };
  given(input, 'client_name', ctx.str('name'));
  given(input, 'redirect_uris', ctx.list('redirect-uri'));
  given(input, 'post_logout_redirect_uris', ctx.list('post-logout-redirect-uri'));
  given(input, 'grant_types', ctx.list('grant'));
  given(input, 'scope', ctx.str('scope'));
  given(input, 'allowed_resources', ctx.list('resource'));
  given(input, 'token_endpoint_auth_method', ctx.str('auth-method'));
  given(input, 'skip_consent', yesNo(ctx, 'skip-consent'));
  given(input, 'pkce_required', yesNo(ctx, 'pkce-required'));
  given(input, 'admin_client', yesNo(ctx, 'admin-client'));
  given(input, 'jwks_uri', ctx.str('jwks-uri'));
  const jwksFile = ctx.str('jwks-file');
  if (jwksFile !== undefined) {
    try {
      input.jwks = JSON.parse(readFileSync(jwksFile, 'utf8'));
    } catch (err) {
      throw new AdminError(`--jwks-file: cannot read ${jwksFile} as JSON: ${(err as Error).message}`);
    }
  }
  if (Object.keys(input).length === 1) throw new UsageError('nothing to change: give an option or --set-json');
  const r = await execute<Described & { client_secret?: string }>(ctx, 'clients.update', input, ifMatch(ctx));
  const { client_secret: secret, ...shown } = r.result;
  print(JSON.stringify(shown, null, 2));
  if (secret) print(`Client secret (shown only once, store it safely): ${secret}`);
  if (r.etag) warn(`ETag: ${r.etag}`);
}

const ifMatch = (ctx: Ctx) => (ctx.str('if-match') !== undefined ? { ifMatch: ctx.str('if-match')! } : {});

// ---- users ---------------------------------------------------------------------------------------------------

async function userShow(ctx: Ctx): Promise<void> {
  const r = await execute<Described>(ctx, 'users.get', { user_id: await userIdOf(ctx, ctx.positionals[0]!) });
  print(JSON.stringify(r.result, null, 2));
  if (r.etag) warn(`ETag: ${r.etag}`);
}

async function userUpdate(ctx: Ctx): Promise<void> {
  const input: Record<string, unknown> = { user_id: await userIdOf(ctx, ctx.positionals[0]!) };
  given(input, 'username', ctx.str('username'));
  given(input, 'email', ctx.flag('no-email') ? null : ctx.str('email'));
  if (ctx.flag('no-email') && ctx.str('email') !== undefined) throw new UsageError('--no-email conflicts with --email');
  given(input, 'name', ctx.str('name'));
  given(input, 'given_name', ctx.str('given-name'));
  given(input, 'family_name', ctx.str('family-name'));
  given(input, 'email_verified', yesNo(ctx, 'email-verified'));
  given(input, 'mfa_required', yesNo(ctx, 'mfa-required'));
  if (Object.keys(input).length === 1) throw new UsageError('nothing to change: give at least one option');
  const r = await execute<Described>(ctx, 'users.update', input, ifMatch(ctx));
  print(JSON.stringify(r.result, null, 2));
  if (r.etag) warn(`ETag: ${r.etag}`);
}

async function userDelete(ctx: Ctx): Promise<void> {
  const name = ctx.positionals[0]!;
  const r = await execute<{ id: string; username: string }>(ctx, 'users.delete', {
    user_id: await userIdOf(ctx, name),
  });
  print(
    `deleted user ${r.result.username} (id ${r.result.id}): grants and consents revoked, sessions ended, factors and linked identities removed`,
  );
}

// ---- sessions and consents -----------------------------------------------------------------------------------

interface SessionItem {
  sid: string;
  user_id: string;
  username: string | null;
  created_at: string;
  last_seen_at?: string;
  amr?: unknown;
  ip?: string | null;
}

async function sessionList(ctx: Ctx): Promise<void> {
  const user = ctx.str('user');
  const search = user !== undefined ? await userIdOf(ctx, user) : ctx.str('search');
  let items = await executeAll<SessionItem>(ctx, 'sessions.list', search ? { search } : {}, progress());
  if (user !== undefined) items = items.filter((s) => s.user_id === search);
  printList<SessionItem>(
    ctx,
    items,
    (s) => s,
    {
      SID: (s) => s.sid,
      USER: (s) => s.username ?? s.user_id,
      CREATED: (s) => s.created_at,
      LAST_SEEN: (s) => s.last_seen_at ?? '',
      AMR: (s) => words(s.amr),
      IP: (s) => s.ip ?? '',
    },
    '(no live sessions)',
  );
}

async function sessionEnd(ctx: Ctx): Promise<void> {
  const sid = ctx.positionals[0]!;
  const user = ctx.str('user');
  const r = await execute<{ sid: string; user_id: string }>(ctx, 'sessions.end', {
    sid,
    ...(user !== undefined ? { user_id: await userIdOf(ctx, user) } : {}),
  });
  print(`ended session ${r.result.sid} of user ${r.result.user_id}; the applications signed in under it were told`);
}

interface ConsentItem {
  user_id: string;
  username?: string;
  client_id: string;
  scopes: unknown;
  resources?: unknown;
  granted_at: string;
}

/** A list (or a space-separated string) as one cell. */
const words = (v: unknown) => (Array.isArray(v) ? v.join(' ') : v == null ? '' : String(v));

async function consentList(ctx: Ctx): Promise<void> {
  const user = ctx.str('user');
  const client = ctx.str('client');
  if ((user === undefined) === (client === undefined)) throw new UsageError('give --user or --client (one of them)');
  const input = user !== undefined ? { user_id: await userIdOf(ctx, user) } : { client_id: client! };
  const { result } = await execute<{ items: ConsentItem[]; grants: unknown[] }>(ctx, 'consents.list', input);
  if (ctx.flag('json')) {
    print(JSON.stringify(result, null, 2));
    return;
  }
  printList<ConsentItem>(
    ctx,
    result.items,
    (c) => c,
    {
      USER: (c) => c.username ?? c.user_id,
      CLIENT_ID: (c) => c.client_id,
      SCOPES: (c) => words(c.scopes),
      RESOURCES: (c) => words(c.resources),
      GRANTED: (c) => c.granted_at,
    },
    '(no consents)',
  );
  print(`${result.grants.length} active grant(s)`);
}

async function consentRevoke(ctx: Ctx): Promise<void> {
  const [user, clientId] = ctx.positionals as [string, string];
  const r = await execute<{ consent: boolean; grants: number }>(ctx, 'consents.revoke', {
    user_id: await userIdOf(ctx, user),
    client_id: clientId,
  });
  print(
    `revoked ${r.result.consent ? 'the consent and ' : ''}${r.result.grants} grant(s) of ${user} for ${clientId}; the client asks again next time`,
  );
}

// ---- admin roles ---------------------------------------------------------------------------------------------

interface RoleItem {
  user_id: string;
  username?: string;
  role: string;
  granted_at: string;
  granted_by: string;
  disabled?: boolean | null;
}

async function roleList(ctx: Ctx): Promise<void> {
  const { result } = await execute<{ items: RoleItem[] }>(ctx, 'roles.list', {});
  printList<RoleItem>(
    ctx,
    result.items,
    (r) => r,
    {
      USER: (r) => r.username ?? r.user_id,
      ROLE: (r) => r.role,
      GRANTED: (r) => r.granted_at,
      BY: (r) => r.granted_by,
      STATUS: (r) => (r.disabled ? 'disabled' : 'enabled'),
    },
    '(no admin roles: the break-glass TESSERA_ADMIN_TOKEN and this CLI are the only ways in)',
  );
}

async function roleSet(ctx: Ctx): Promise<void> {
  const [user, role] = ctx.positionals as [string, string];
  const r = await execute<RoleItem>(ctx, 'roles.set', { user_id: await userIdOf(ctx, user), role });
  print(`${r.result.username ?? user} now holds the ${r.result.role} admin role`);
}

async function roleRemove(ctx: Ctx): Promise<void> {
  const user = ctx.positionals[0]!;
  const r = await execute<{ removed: string }>(ctx, 'roles.remove', { user_id: await userIdOf(ctx, user) });
  print(`${user} no longer holds the ${r.result.removed} admin role`);
}

export const operateCommands: Record<string, Command> = {
  'client update': {
    synopsis:
      "ID [--name N] [--redirect-uri URI]... [--post-logout-redirect-uri URI]... [--grant TYPE]... [--scope S] [--resource URI]... [--auth-method M] [--skip-consent true|false] [--pkce-required true|false] [--admin-client true|false] [--jwks-file FILE | --jwks-uri URI] [--set-json '{...}'] [--if-match ETAG]",
    summary:
      "Change some of a client's settings (the others stay; a list option replaces the list), validated as the bootstrap file is; --set-json sets any other field of clients.update (null removes one). Prints the client and its ETag.",
    options: {
      name: str,
      'redirect-uri': many,
      'post-logout-redirect-uri': many,
      grant: many,
      scope: str,
      resource: many,
      'auth-method': str,
      'skip-consent': str,
      'pkce-required': str,
      'admin-client': str,
      'jwks-file': str,
      'jwks-uri': str,
      'set-json': str,
      'if-match': str,
    },
    positionals: ['ID'],
    remote: true,
    run: clientUpdate,
  },
  'user show': {
    synopsis: 'USERNAME|ID',
    summary: 'Show a user as JSON: profile, origin, second factors, linked identities, admin role (never a secret).',
    positionals: ['USER'],
    remote: true,
    run: userShow,
  },
  'user update': {
    synopsis:
      'USERNAME|ID [--username NEW] [--email E | --no-email] [--email-verified true|false] [--name N] [--given-name N] [--family-name N] [--mfa-required true|false] [--if-match ETAG]',
    summary: 'Change a user’s profile (a new email is unverified unless --email-verified true says otherwise).',
    options: {
      username: str,
      email: str,
      'no-email': bool,
      'email-verified': str,
      name: str,
      'given-name': str,
      'family-name': str,
      'mfa-required': str,
      'if-match': str,
    },
    positionals: ['USER'],
    remote: true,
    run: userUpdate,
  },
  'user delete': {
    synopsis: 'USERNAME|ID',
    summary:
      'Delete a user: grants and consents revoked, sessions ended (applications told), factors and linked identities removed; never the last owner.',
    positionals: ['USER'],
    remote: true,
    run: userDelete,
  },
  'session list': {
    synopsis: '[--user USERNAME|ID | --search TEXT] [--json]',
    summary: 'List the live sessions of every user (or of one): user, created, last seen, how they signed in, address.',
    options: { user: str, search: str, ...JSON_OPT },
    remote: true,
    run: sessionList,
  },
  'session end': {
    synopsis: 'SID [--user USERNAME|ID]',
    summary:
      'End one session (--user: whose it is, as session list shows); the applications signed in under it are told (back-channel logout).',
    options: { user: str },
    positionals: ['SID'],
    remote: true,
    run: sessionEnd,
  },
  'consent list': {
    synopsis: '(--user USERNAME|ID | --client ID) [--json]',
    summary: 'List the consents of a user, or given to a client, and how many grants are active.',
    options: { user: str, client: str, ...JSON_OPT },
    remote: true,
    run: consentList,
  },
  'consent revoke': {
    synopsis: 'USERNAME|ID CLIENT_ID',
    summary: "Revoke a user's consent to a client and every grant it holds for them; the client asks again next time.",
    positionals: ['USER', 'CLIENT_ID'],
    remote: true,
    run: consentRevoke,
  },
  'role list': {
    synopsis: '[--json]',
    summary: 'List who holds an admin role (owner, admin, support, auditor).',
    options: JSON_OPT,
    remote: true,
    run: roleList,
  },
  'role set': {
    synopsis: 'USERNAME|ID owner|admin|support|auditor',
    summary: 'Give a user an admin role (or another one); the last owner is never demoted.',
    positionals: ['USER', 'ROLE'],
    remote: true,
    run: roleSet,
  },
  'role remove': {
    synopsis: 'USERNAME|ID',
    summary: "Take a user's admin role away (never the last owner's).",
    positionals: ['USER'],
    remote: true,
    run: roleRemove,
  },
};
