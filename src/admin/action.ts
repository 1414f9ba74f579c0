// One definition per admin action (issue 20): its name, the admin scope it needs, its input schema,
// whether it asks for a recent sign-in, its audit event, and the function that does it. Three thin
// fronts serve the same table (admin/actions/index.ts): the JSON admin API (http/admin-api.ts), the
// console (/admin) and the CLI. `runAction` is the one way in: it checks the permission, the input
// and the recent sign-in, then runs the action and appends its audit record in one transaction, so
// no change is ever without its record, nor a record without its change.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { AuditEvent } from '../ports/audit.ts';
import type { Stores } from '../ports/index.ts';
import type { AdminScope } from '../protocol/admin-scopes.ts';
import type { Provider } from '../protocol/provider.ts';
import { AdminError, ConflictError, NotFoundError, PreconditionFailedError } from './errors.ts';

/**
 * What actions may use of the provider; `stores` is the action's transaction. `keys` and
 * `pairwiseKeys` sign and address the back-channel logout tokens of the sessions an action ends.
 */
export type AdminDeps = Pick<
  Provider,
  | 'config'
  | 'stores'
  | 'now'
  | 'events'
  | 'log'
  | 'outbound'
  | 'clientKeys'
  | 'logoutDelivery'
  | 'mail'
  | 'upstream'
  | 'health'
  | 'keys'
  | 'pairwiseKeys'
  // The directory's claim mappings as this process keeps them: dropped when an action changes them.
  | 'claimMappings'
  // The branding as this process keeps it: dropped when an action changes it.
  | 'branding'
>;

/** Who is acting, and through which front. */
export interface AdminPrincipal {
  /**
   * `user`: a person (a console session, or a token from the device flow); `client`: an automation
   * client's token (client_credentials); `break-glass`: TESSERA_ADMIN_TOKEN; `cli`: the CLI on the host.
   */
  kind: 'user' | 'client' | 'break-glass' | 'cli';
  /** The audit trail's actor: a user id, a client id, 'admin' (break-glass) or 'cli'. */
  id: string;
  /** The admin scopes this principal holds now (a person's token: never more than their role's). */
  scopes: ReadonlySet<string>;
  /** When the person last signed in (epoch seconds), for the recent sign-in rule; absent when not a person. */
  authTime?: number;
  via: 'api' | 'console' | 'cli';
  ip: string | null;
  /** The client a person acts through (the CLI's device flow); recorded in the audit record. */
  clientId?: string;
}

/** The HTTP shape of an action in the admin API, under /admin/api/v1. */
export interface ActionHttp {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** With `{name}` placeholders for path parameters, which the input schema must have, e.g. `/clients/{client_id}`. */
  path: string;
  /** The success status (default 200). */
  status?: number;
  /** A larger body limit than TESSERA_BODY_LIMIT for this action (an uploaded image), in bytes. */
  bodyLimit?: number;
}

export interface ActionResult<O = unknown> {
  result: O;
  /** What the action was about, for the audit record (ids, names, counts; never a secret). */
  details?: Record<string, string | number | boolean | null>;
  /** The state before and after a change, as the API shows it (never a secret): kept in the audit record. */
  before?: unknown;
  after?: unknown;
  /** The client the action was about (the audit record's client column). */
  clientId?: string;
  /** The version of the one record the result shows (ETag; `etagOf`). */
  etag?: string;
  /** A success status other than the action's (e.g. 201 only when something was created). */
  status?: number;
}

export interface ActionContext {
  /** The provider's services, with `stores` bound to the action's transaction. */
  p: AdminDeps;
  /** The transaction's stores (= p.stores). */
  stores: Stores;
  /** Epoch seconds. */
  now: number;
  actor: AdminPrincipal;
  /** The caller's If-Match, if any: an update checks it with `requireMatch`. */
  ifMatch?: string;
  /** What the action's `prepare` gave (network answers fetched before the transaction), if it has one. */
  prepared?: unknown;
  /**
   * Runs `fn` once the transaction committed: network and mail (back-channel logout, notifications),
   * events for metrics. Its failure is logged, never undoes the action.
   */
  after(fn: () => unknown): void;
}

export interface AdminAction<S extends z.ZodType = z.ZodType, O = unknown> {
  /** `area.verb`, e.g. `clients.create`: the CLI's and the OpenAPI document's name of it. */
  name: string;
  summary: string;
  permission: AdminScope;
  /** Path parameters, query parameters and the JSON body, as one object. */
  input: S;
  /** The audit event type of its record; reads have one too (`admin_*_read`, ...). */
  event: string;
  /** Whether a person must have signed in within TESSERA_RECENT_AUTH (sensitive changes). */
  recentAuth?: boolean;
  /** Served by the admin API; absent only with `consoleOnly`. */
  http?: ActionHttp;
  /** Why the admin API does not serve it (the table test requires one or the other). */
  consoleOnly?: string;
  /**
   * What must wait on the network (a client's sector_identifier_uri document, health probes) runs
   * here, before the transaction, with the provider's own stores (read only); `run` gets its answer
   * as `ctx.prepared` and must not trust it further than it checks it again. Refusals as in `run`.
   */
  prepare?(p: AdminDeps, input: z.output<S>): Promise<unknown>;
  run(ctx: ActionContext, input: z.output<S>): Promise<ActionResult<O>>;
}

/** Defines an action (keeps the input type of `run` tied to the schema). */
export function defineAction<S extends z.ZodType, O>(action: AdminAction<S, O>): AdminAction<S, O> {
  return action;
}

/** A refusal of runAction itself: not allowed (403), a recent sign-in needed (401), bad input (400). */
export class ActionRefused extends Error {
  readonly status: number;
  readonly code: 'forbidden' | 'reauthentication_required' | 'invalid_input';
  readonly problems: { field: string; message: string }[];
  constructor(
    status: number,
    code: ActionRefused['code'],
    message: string,
    problems: { field: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'ActionRefused';
    this.status = status;
    this.code = code;
    this.problems = problems;
  }
}

/** The HTTP status of an error runAction may throw; undefined for an unexpected error (500). */
export function statusOf(err: unknown): number | undefined {
  if (err instanceof ActionRefused) return err.status;
  if (err instanceof NotFoundError) return 404;
  if (err instanceof ConflictError) return 409;
  if (err instanceof PreconditionFailedError) return 412;
  if (err instanceof AdminError) return 400;
  return undefined;
}

/**
 * The path of the first string (or member name) of an input holding a NUL character, if any: no store
 * keeps one (PostgreSQL refuses it in text), so it is bad input (400), never a failed statement (500).
 */
function nulAt(v: unknown, path = '', depth = 0): string | undefined {
  if (typeof v === 'string') return v.includes('\u0000') ? path : undefined;
  if (v === null || typeof v !== 'object' || depth > 32) return undefined;
  for (const [k, x] of Object.entries(v)) {
    const at = path ? `${path}.${k}` : k;
    if (k.includes('\u0000')) return at;
    const found = nulAt(x, at, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Longest JSON text of a before/after state kept in an audit record (longer: cut, marked). */
const STATE_LIMIT = 4000;
const stateText = (v: unknown): string | null => {
  if (v === undefined) return null;
  const text = JSON.stringify(v);
  return text.length > STATE_LIMIT ? `${text.slice(0, STATE_LIMIT)}...(cut)` : text;
};

/**
 * Runs an action for a principal: permission, input, recent sign-in, then the action and its audit
 * record in one transaction, then what it left for after the commit. Refusals are recorded too (as
 * failures, outside the transaction) and thrown as ActionRefused; the action's own refusals
 * (AdminError and its kinds) roll back and are recorded as failures.
 */
export async function runAction<S extends z.ZodType, O>(
  p: AdminDeps,
  action: AdminAction<S, O>,
  actor: AdminPrincipal,
  raw: unknown,
  opts: { ifMatch?: string } = {},
): Promise<ActionResult<O>> {
  const record = (r: ActionResult<O>): AuditEvent => ({
    at: Date.now(),
    type: action.event,
    actor: actor.id,
    clientId: r.clientId ?? actor.clientId ?? null,
    ip: actor.ip,
    outcome: 'success',
    details: {
      action: action.name,
      via: actor.via,
      principal: actor.kind,
      ...(actor.clientId && r.clientId && r.clientId !== actor.clientId ? { through: actor.clientId } : {}),
      ...(r.details ?? {}),
      ...(r.before !== undefined ? { before: stateText(r.before) } : {}),
      ...(r.after !== undefined ? { after: stateText(r.after) } : {}),
    },
  });
  // Refusals go through the audit writer (p.events), which counts a refusal repeated from one source
  // in one record instead of a row per request: anyone signed in can ask for a page they may not see.
  const refused = (reason: string) =>
    p.events({
      type: 'admin_action_refused',
      action: action.name,
      event: action.event,
      by: actor.id,
      principal: actor.kind,
      via: actor.via,
      reason,
      ...(actor.clientId ? { clientId: actor.clientId } : {}),
      ...(actor.ip ? { ip: actor.ip } : {}),
    });
  const refuse = async (err: ActionRefused): Promise<never> => {
    refused(err.code);
    throw err;
  };
  if (!actor.scopes.has(action.permission))
    return refuse(new ActionRefused(403, 'forbidden', `This needs the ${action.permission} permission.`));
  const nul = nulAt(raw);
  if (nul !== undefined)
    throw new ActionRefused(400, 'invalid_input', `${nul || 'input'}: must not contain a NUL character`, [
      { field: nul, message: 'must not contain a NUL character' },
    ]);
  const parsed = action.input.safeParse(raw ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => ({
      field: i.path.join('.') || (i.code === 'unrecognized_keys' ? i.keys.join(',') : ''),
      message: i.message,
    }));
    throw new ActionRefused(
      400,
      'invalid_input',
      problems.map((x) => (x.field ? `${x.field}: ${x.message}` : x.message)).join('; '),
      problems,
    );
  }
  const now = p.now();
  if (action.recentAuth && actor.kind === 'user') {
    if (actor.authTime === undefined || now - actor.authTime > p.config.recentAuth)
      return refuse(
        new ActionRefused(401, 'reauthentication_required', 'Sign in again to do this: your last sign-in is too old.'),
      );
  }
  const afterCommit: (() => unknown)[] = [];
  let result: ActionResult<O>;
  try {
    const prepared = action.prepare ? await action.prepare(p, parsed.data) : undefined;
    result = await p.stores.transaction(async (tx) => {
      afterCommit.length = 0; // a transaction run again starts over
      const ctx: ActionContext = {
        p: { ...p, stores: tx },
        stores: tx,
        now,
        actor,
        ifMatch: opts.ifMatch,
        prepared,
        after: (fn) => void afterCommit.push(fn),
      };
      const r = await action.run(ctx, parsed.data);
      await tx.audit.append([record(r)]);
      return r;
    });
  } catch (err) {
    // An action's own refusals (a rule of the state, or a permission about the record: ActionRefused) are recorded too.
    if (err instanceof AdminError || err instanceof ActionRefused)
      refused(err instanceof ActionRefused ? err.code : err.constructor.name);
    throw err;
  }
  for (const fn of afterCommit) {
    try {
      await fn();
    } catch (err) {
      p.log.error(
        { event: 'admin_after_commit_failed', action: action.name, err },
        "an admin action's follow-up failed",
      );
    }
  }
  return result;
}

// ---- helpers for actions ----------------------------------------------------------------------------

/** The version of a record as an ETag: a strong validator over its JSON form. */
export function etagOf(value: unknown): string {
  return `"${createHash('sha256').update(JSON.stringify(value)).digest('base64url').slice(0, 27)}"`;
}

/** Refuses (412) an update whose If-Match names another version of the record than `current`. */
export function requireMatch(ctx: Pick<ActionContext, 'ifMatch'>, current: unknown): void {
  if (ctx.ifMatch === undefined || ctx.ifMatch === '*') return;
  const tags = ctx.ifMatch.split(',').map((t) => t.trim());
  if (!tags.includes(etagOf(current)))
    throw new PreconditionFailedError('The record changed since it was read (If-Match does not match its ETag).');
}

/** A boolean in JSON, or `true`/`false` in a query string or form. */
export const bool = () => z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);

/** The paging and search inputs of a list action. */
export const pageInput = {
  cursor: z
    .string()
    .max(400)
    .refine(
      (c) => /^[A-Za-z0-9_-]*$/.test(c) && !decodeCursor(c)!.includes('\u0000') && encodeCursor(decodeCursor(c)) === c,
      { message: 'cursor is not one this list gave' },
    )
    .optional()
    .describe('next_cursor of the page before; absent: the first page'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  search: z.string().max(200).optional(),
};

/** A page's cursor from a store's key (opaque to callers), and back. */
export const encodeCursor = (key: string | undefined): string | undefined =>
  key === undefined ? undefined : Buffer.from(key, 'utf8').toString('base64url');
export const decodeCursor = (cursor: string | undefined): string | undefined =>
  cursor === undefined ? undefined : Buffer.from(cursor, 'base64url').toString('utf8');

/** A list result: the items and, when there are more, the cursor of the next page. */
export interface PageResult<T> {
  items: T[];
  next_cursor?: string;
}
