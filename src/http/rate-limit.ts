import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { RateLimitKey, RateLimitPolicy, RateLimitRule, RateLimitTable } from '../config/rate-limits.ts';
import type { Hit, HitRequest, RateLimitStore } from '../ports/rate-limits.ts';
import { addressKey, DEFAULT_IPV6_PREFIX } from '../protocol/address-key.ts';

// Per-endpoint rate limits, applied from the route table (RouteSpec.rateLimit). Each policy has
// rules counted by the client's address (an IPv6 address by its prefix, protocol/address-key.ts),
// the client_id presented and the username submitted.
// Rules that need only the request line and headers (the address; a client_id in a Basic
// Authorization header) are counted before the body is read; rules that need the form (a
// username; a client_id in the body) right after it is read, before the endpoint does any work
// (client authentication, password hashing). Reported with the RateLimit-Policy and RateLimit
// fields of draft-ietf-httpapi-ratelimit-headers.

export type Stage = 'headers' | 'body';

/** What the limiter reads of a request (a Fastify request, or the form lane's). */
export interface LimitedRequest {
  ip: string;
  headers: IncomingHttpHeaders;
}

export interface Counted {
  name: string;
  rule: RateLimitRule;
  count: number;
  resetMs: number;
}

export interface RateLimitOutcome {
  /** Rules counted so far for this request, in order. */
  counted: Counted[];
  /** Seconds to wait when a rule is exceeded; undefined when the request may go on. */
  retryAfter?: number;
  /**
   * The exceeded rule whose count just passed its limit (first rejection in its window), for one log line per window.
   */
  firstRejection?: Counted;
  /** How many rules this stage counted (0: nothing to count at this stage; `counted` is unchanged). */
  added: number;
}

export interface RateLimiter {
  /** Synchronous (no promise) when the store counts in this process (`hitNow`). */
  check(
    policy: RateLimitPolicy,
    stage: Stage,
    req: LimitedRequest,
    params?: URLSearchParams,
  ): RateLimitOutcome | Promise<RateLimitOutcome>;
}

export interface RateLimitHooks {
  /** A request refused by `policy`'s rule counted by `key`. */
  rejected(policy: RateLimitPolicy, key: RateLimitKey): void;
}

/** What one request has been counted for so far, and its Basic client_id (decoded once). */
interface RequestState {
  list: Counted[];
  basic?: string | null;
}
/**
 * Where a request's state lives between its two stages: a property of the request, declared on
 * every request by the server (`decorateRequest`) so requests keep one shape.
 */
export const RATE_LIMIT_STATE = Symbol('tessera.rateLimitState');
type WithState = { [RATE_LIMIT_STATE]?: RequestState | null };

const BASIC = /^Basic ([A-Za-z0-9+/]+=*)$/i;
/** Decoding room for a header of up to 1024 base64 characters, reused (no buffer per request). */
const scratch = Buffer.allocUnsafe(768);

/** The client_id of a Basic Authorization header, without looking at the secret. */
function basicClientId(header: string | undefined): string | undefined {
  const m = header && BASIC.exec(header.trim());
  if (!m) return undefined;
  const encoded = m[1]!;
  const buf = encoded.length <= 1024 ? scratch : Buffer.allocUnsafe(Math.ceil((encoded.length * 3) / 4));
  const length = buf.write(encoded, 'base64');
  const i = buf.subarray(0, length).indexOf(0x3a); // ':'
  if (i <= 0) return undefined;
  const id = buf.toString('utf8', 0, i);
  if (!id.includes('%') && !id.includes('+')) return id;
  try {
    return decodeURIComponent(id.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** The value a rule counts by, at this stage; undefined when it is not counted at this stage (or absent). */
function keyValue(
  key: RateLimitKey,
  stage: Stage,
  req: LimitedRequest,
  params: URLSearchParams | undefined,
  state: RequestState,
  ipv6Prefix: number,
): string | undefined {
  switch (key) {
    case 'ip':
      return stage === 'headers' ? addressKey(req.ip, ipv6Prefix) : undefined;
    case 'client': {
      if (state.basic === undefined) state.basic = basicClientId(req.headers.authorization) ?? null;
      const fromHeader = state.basic ?? undefined;
      if (stage === 'headers') return fromHeader;
      return fromHeader === undefined ? params?.get('client_id') || undefined : undefined;
    }
    case 'username':
      return stage === 'body' ? params?.get('username')?.trim().toLowerCase() || undefined : undefined;
  }
}

// Keys hold a hash of the value: bounded length, and no addresses or usernames in Redis. The
// same few values (addresses, client_ids) come back on every request, so each rule remembers
// the keys of its recent values (a bounded map, emptied when full): the same string each time.
const digest = (v: string): string => createHash('sha256').update(v).digest('base64url').slice(0, 22);

interface PreparedRule {
  key: RateLimitKey;
  name: string;
  rule: RateLimitRule;
  windowMs: number;
  /** Counts a shared store may reserve for this process at once (RateLimitStore.hit). */
  ahead: number;
  keys: Map<string, string>;
}

/**
 * What a shared store (Redis) may reserve for one process at once: 1% of a rule's limit, at most
 * 64, so a rule typically refuses up to 1% of its limit early per process (counts reserved and not
 * spent when the window ends) and does not admit more while Redis keeps its counts (the cases in
 * docs/production.md, "Rate limits"); rules under 200 a window are counted one by one.
 */
export const reservationSize = (limit: number): number => Math.min(64, Math.max(1, Math.floor(limit / 100)));

function storeKey(r: PreparedRule, value: string): string {
  let k = r.keys.get(value);
  if (k === undefined) {
    k = `${r.name}:${digest(value)}`;
    if (value.length <= 256) {
      if (r.keys.size >= 10_000) r.keys.clear();
      r.keys.set(value, k);
    }
  }
  return k;
}

/** `ipv6Prefix`: the prefix length IPv6 addresses are counted by (TESSERA_RATE_LIMIT_IPV6_PREFIX). */
export function createRateLimiter(
  table: RateLimitTable,
  store: RateLimitStore,
  hooks: RateLimitHooks,
  ipv6Prefix: number = DEFAULT_IPV6_PREFIX,
): RateLimiter {
  const rulesOf = new Map<RateLimitPolicy, PreparedRule[]>();
  for (const policy of Object.keys(table) as RateLimitPolicy[]) {
    rulesOf.set(
      policy,
      (Object.entries(table[policy]) as [RateLimitKey, RateLimitRule][]).map(([key, rule]) => ({
        key,
        name: `${policy}.${key}`,
        rule,
        windowMs: rule.window * 1000,
        ahead: reservationSize(rule.limit),
        keys: new Map(),
      })),
    );
  }

  /** Adds a rule's hit to the request's list and to the outcome. */
  const count = (policy: RateLimitPolicy, outcome: RateLimitOutcome, r: PreparedRule, h: Hit): void => {
    const c: Counted = { name: r.name, rule: r.rule, count: h.count, resetMs: h.resetMs };
    outcome.counted.push(c);
    outcome.added++;
    if (c.count > r.rule.limit) {
      hooks.rejected(policy, r.key);
      outcome.retryAfter = Math.max(outcome.retryAfter ?? 1, Math.ceil(c.resetMs / 1000));
      if (c.count === r.rule.limit + 1) outcome.firstRejection = c;
    }
  };

  const ask = (asked: readonly HitRequest[]): Promise<Hit[]> =>
    store.hitMany && asked.length > 1
      ? store.hitMany(asked)
      : Promise.all(asked.map((a) => store.hit(a.key, a.windowMs, a.ahead)));

  return {
    check(policy, stage, req, params) {
      const holder = req as unknown as WithState;
      let state = holder[RATE_LIMIT_STATE];
      if (!state) holder[RATE_LIMIT_STATE] = state = { list: [] };
      const rules = rulesOf.get(policy) ?? [];
      if (store.hitNow) {
        // In-process counters: counted synchronously, no promise.
        const outcome: RateLimitOutcome = { counted: state.list, added: 0 };
        for (const r of rules) {
          const value = keyValue(r.key, stage, req, params, state, ipv6Prefix);
          if (value !== undefined) count(policy, outcome, r, store.hitNow(storeKey(r, value), r.windowMs));
        }
        return outcome;
      }
      const list = state.list;
      const asked: { rule: PreparedRule; key: string; windowMs: number; ahead: number }[] = [];
      let taken: (Hit | undefined)[] | undefined;
      for (const r of rules) {
        const value = keyValue(r.key, stage, req, params, state, ipv6Prefix);
        if (value === undefined) continue;
        const key = storeKey(r, value);
        // A count this process holds reserved (a shared store's `ahead`) is taken without a promise.
        const own = store.reserved?.(key);
        if (own) (taken ??= [])[asked.length] = own;
        asked.push({ rule: r, key, windowMs: r.windowMs, ahead: r.ahead });
      }
      const outcomeOf = (counts: readonly (Hit | undefined)[]): RateLimitOutcome => {
        const outcome: RateLimitOutcome = { counted: list, added: 0 };
        counts.forEach((h, i) => count(policy, outcome, asked[i]!.rule, h!));
        return outcome;
      };
      if (!taken) return ask(asked).then(outcomeOf);
      const missing = asked.filter((_, i) => !taken[i]);
      if (!missing.length) return outcomeOf(taken);
      return ask(missing).then((got) => {
        let j = 0;
        return outcomeOf(asked.map((_, i) => taken[i] ?? got[j++]));
      });
    },
  };
}

// A rule's RateLimit-Policy item never changes: written once per rule and name.
const policyItems = new WeakMap<RateLimitRule, Map<string, string>>();
function policyItem(c: Counted): string {
  let byName = policyItems.get(c.rule);
  if (!byName) policyItems.set(c.rule, (byName = new Map()));
  let item = byName.get(c.name);
  if (item === undefined) byName.set(c.name, (item = `"${c.name}";q=${c.rule.limit};w=${c.rule.window}`));
  return item;
}

/** The RateLimit-Policy and RateLimit fields (structured-field lists) for the rules counted. */
export function rateLimitHeaders(list: readonly Counted[]): Record<string, string> {
  if (!list.length) return {};
  let policy = '';
  let remaining = '';
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    const sep = i ? ', ' : '';
    policy += sep + policyItem(c);
    remaining += `${sep}"${c.name}";r=${Math.max(0, c.rule.limit - c.count)};t=${Math.max(0, Math.ceil(c.resetMs / 1000))}`;
  }
  return { 'ratelimit-policy': policy, ratelimit: remaining };
}
