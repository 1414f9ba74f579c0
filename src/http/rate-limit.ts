import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { RateLimitKey, RateLimitPolicy, RateLimitRule, RateLimitTable } from '../config/rate-limits.ts';
import type { RateLimitStore } from '../ports/rate-limits.ts';

// Per-endpoint rate limits, applied from the route table (RouteSpec.rateLimit). Each policy has
// rules counted by the client's address, the client_id presented and the username submitted.
// Rules that need only the request line and headers (the address; a client_id in a Basic
// Authorization header) are counted before the body is read; rules that need the form (a
// username; a client_id in the body) right after it is read, before the endpoint does any work
// (client authentication, password hashing). Reported with the RateLimit-Policy and RateLimit
// fields of draft-ietf-httpapi-ratelimit-headers.

export type Stage = 'headers' | 'body';

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
  /** The exceeded rule whose count just passed its limit (first rejection in its window), for one log line per window. */
  firstRejection?: Counted;
}

export interface RateLimiter {
  check(policy: RateLimitPolicy, stage: Stage, req: FastifyRequest, params?: URLSearchParams): Promise<RateLimitOutcome>;
}

export interface RateLimitHooks {
  /** A request refused by `policy`'s rule counted by `key`. */
  rejected(policy: RateLimitPolicy, key: RateLimitKey): void;
}

const counted = new WeakMap<FastifyRequest, Counted[]>();

/** The client_id of a Basic Authorization header, without looking at the secret. */
function basicClientId(header: string | undefined): string | undefined {
  const m = header && /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header.trim());
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i <= 0) return undefined;
  try {
    return decodeURIComponent(decoded.slice(0, i).replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** The value a rule counts by, at this stage; undefined when it is not counted at this stage (or absent). */
function keyValue(key: RateLimitKey, stage: Stage, req: FastifyRequest, params: URLSearchParams | undefined): string | undefined {
  switch (key) {
    case 'ip': return stage === 'headers' ? req.ip : undefined;
    case 'client': {
      const fromHeader = basicClientId(req.headers.authorization);
      if (stage === 'headers') return fromHeader;
      return fromHeader === undefined ? params?.get('client_id') || undefined : undefined;
    }
    case 'username': return stage === 'body' ? params?.get('username')?.trim().toLowerCase() || undefined : undefined;
  }
}

// Keys hold a hash of the value: bounded length, and no addresses or usernames in Redis.
const digest = (v: string) => createHash('sha256').update(v).digest('base64url').slice(0, 22);

export function createRateLimiter(table: RateLimitTable, store: RateLimitStore, hooks: RateLimitHooks): RateLimiter {
  return {
    async check(policy, stage, req, params) {
      const list = counted.get(req) ?? [];
      counted.set(req, list);
      const rules = Object.entries(table[policy]) as [RateLimitKey, RateLimitRule][];
      const hits = await Promise.all(rules.map(async ([key, rule]) => {
        const value = keyValue(key, stage, req, params);
        if (value === undefined) return undefined;
        const r = await store.hit(`${policy}.${key}:${digest(value)}`, rule.window * 1000);
        return { key, c: { name: `${policy}.${key}`, rule, count: r.count, resetMs: r.resetMs } };
      }));
      const outcome: RateLimitOutcome = { counted: list };
      for (const h of hits) {
        if (!h) continue;
        list.push(h.c);
        if (h.c.count > h.c.rule.limit) {
          hooks.rejected(policy, h.key);
          outcome.retryAfter = Math.max(outcome.retryAfter ?? 1, Math.ceil(h.c.resetMs / 1000));
          if (h.c.count === h.c.rule.limit + 1) outcome.firstRejection = h.c;
        }
      }
      return outcome;
    },
  };
}

/** The RateLimit-Policy and RateLimit fields (structured-field lists) for the rules counted. */
export function rateLimitHeaders(list: readonly Counted[]): Record<string, string> {
  if (!list.length) return {};
  return {
    'ratelimit-policy': list.map((c) => `"${c.name}";q=${c.rule.limit};w=${c.rule.window}`).join(', '),
    ratelimit: list.map((c) => `"${c.name}";r=${Math.max(0, c.rule.limit - c.count)};t=${Math.max(0, Math.ceil(c.resetMs / 1000))}`).join(', '),
  };
}
