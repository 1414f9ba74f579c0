// Rate-limit policies: the names the route table uses, the keys each policy counts by, their
// default limits, and the parser of TESSERA_RATE_LIMITS. Pure data and validation; the HTTP layer
// (http/rate-limit.ts) applies them.

/** Policy names. `registration` is reserved for dynamic client registration. */
export const RATE_LIMIT_POLICIES = [
  'login',
  'token',
  'par',
  'introspection',
  'revocation',
  'authorization',
  'registration',
  'device',
] as const;
export type RateLimitPolicy = (typeof RATE_LIMIT_POLICIES)[number];

/** What a rule counts by: the client's address, the client_id presented, the username submitted. */
export type RateLimitKey = 'ip' | 'client' | 'username';

export interface RateLimitRule {
  /** Requests allowed per window. */
  limit: number;
  /** Window length, seconds. */
  window: number;
}

/** Every rule in force: policy -> key -> rule (absent when turned off). */
export type RateLimitTable = Readonly<Record<RateLimitPolicy, Readonly<Partial<Record<RateLimitKey, RateLimitRule>>>>>;

// Defaults: far above what one honest client or user does, low enough to bound abuse per
// source. Per-client limits are higher than per-address ones, because anyone can present a
// client_id before authenticating: a single source runs into its own address limit first.
export const DEFAULT_RATE_LIMITS: RateLimitTable = {
  login: { ip: { limit: 60, window: 60 }, username: { limit: 30, window: 60 } },
  token: { ip: { limit: 1200, window: 60 }, client: { limit: 3000, window: 60 } },
  par: { ip: { limit: 300, window: 60 }, client: { limit: 600, window: 60 } },
  introspection: { ip: { limit: 6000, window: 60 }, client: { limit: 12000, window: 60 } },
  revocation: { ip: { limit: 600, window: 60 }, client: { limit: 1200, window: 60 } },
  authorization: { ip: { limit: 300, window: 60 } },
  registration: { ip: { limit: 20, window: 60 } },
  device: { ip: { limit: 300, window: 60 }, client: { limit: 600, window: 60 } },
};

const UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600 };

/**
 * Applies TESSERA_RATE_LIMITS entries (`policy.key=LIMIT/WINDOW`, WINDOW in seconds or with an
 * s, m or h suffix; `policy.key=off` turns a rule off) to the defaults. Problems are pushed with
 * the setting's name.
 */
export function parseRateLimits(entries: readonly string[], problems: string[]): RateLimitTable {
  const table: Record<string, Partial<Record<RateLimitKey, RateLimitRule>>> = {};
  for (const p of RATE_LIMIT_POLICIES) table[p] = { ...DEFAULT_RATE_LIMITS[p] };
  for (const entry of entries) {
    const m = /^([a-z]+)\.([a-z]+)=(.*)$/.exec(entry);
    if (!m) {
      problems.push(
        `TESSERA_RATE_LIMITS: "${entry}" must look like policy.key=LIMIT/WINDOW (e.g. token.client=3000/60s) or policy.key=off`,
      );
      continue;
    }
    const [, policy, key, value] = m as unknown as [string, string, string, string];
    if (!(RATE_LIMIT_POLICIES as readonly string[]).includes(policy)) {
      problems.push(
        `TESSERA_RATE_LIMITS: unknown policy "${policy}" in "${entry}" (known: ${RATE_LIMIT_POLICIES.join(', ')})`,
      );
      continue;
    }
    const keys = Object.keys(DEFAULT_RATE_LIMITS[policy as RateLimitPolicy]);
    if (!keys.includes(key)) {
      problems.push(
        `TESSERA_RATE_LIMITS: policy "${policy}" counts by ${keys.join(' or ')}, not "${key}" (in "${entry}")`,
      );
      continue;
    }
    if (value === 'off') {
      delete table[policy]![key as RateLimitKey];
      continue;
    }
    const v = /^(\d{1,9})\/(\d{1,7})([smh]?)$/.exec(value);
    const limit = v ? Number(v[1]) : NaN;
    const window = v ? Number(v[2]) * UNITS[v[3]!]! : NaN;
    if (!v || limit < 1 || window < 1 || window > 86400) {
      problems.push(
        `TESSERA_RATE_LIMITS: "${entry}": the value must be LIMIT/WINDOW with a limit of at least 1 and a window from 1 s to 24 h (e.g. 30/60s, 1000/1h), or off`,
      );
      continue;
    }
    table[policy]![key as RateLimitKey] = { limit, window };
  }
  return table as RateLimitTable;
}

/** The table as TESSERA_RATE_LIMITS entries, for documentation. */
export function describeRateLimits(table: RateLimitTable): string {
  return RATE_LIMIT_POLICIES.flatMap((p) =>
    Object.entries(table[p]).map(([k, r]) => `${p}.${k}=${r!.limit}/${r!.window}s`),
  ).join(' ');
}
