import { verifyPassword } from '../../accounts/passwords.ts';
import { msg, type Msg } from '../../i18n/catalog.ts';
import { waitMsg } from './problem.ts';
import type { UserRecord } from '../../ports/users.ts';
import { canonicalUsername } from '../../accounts/usernames.ts';
import type { Config } from '../../config/config.ts';
import type { Stores } from '../../ports/index.ts';
import { tokenHash } from '../hash.ts';
import type { Provider } from '../provider.ts';
import { addressKey } from '../address-key.ts';

// Failed-login throttling (ASVS 6.1.1, 6.3.1). Failures are counted per account and source
// address together, per account alone and per source alone, each with its own threshold. Past a
// threshold every further attempt must wait, and the wait doubles with each failure (1 s, 2 s,
// 4 s, ... up to the window). Nothing locks an account for good: a counter idle for the window
// starts again, and because the tightest threshold is per account *and* source, an attacker
// elsewhere does not lock the owner out of their own address; the per-account threshold is high
// enough to stop distributed guessing without stopping the owner for long.

export interface LoginThrottleConfig {
  loginMaxFailures: number;
  loginAccountMaxFailures: number;
  loginSourceMaxFailures: number;
  loginWindow: number;
}

/** What the failure counters use: the counters store, the clock, the thresholds and window, the IPv6 prefix. */
export type LoginThrottleDeps = Pick<Provider, 'now'> & {
  readonly config: LoginThrottleConfig & Pick<Config, 'rateLimitIpv6Prefix'>;
  readonly stores: Pick<Stores, 'counters'>;
};
/** What checkLogin uses: the counters', the users store, and where it reports (events, log). */
export type CheckLoginDeps = LoginThrottleDeps &
  Pick<Provider, 'events' | 'log'> & {
    readonly stores: Pick<Stores, 'users'>;
  };

/** The counters of an attempt; the source is the address's rate-limit key (an IPv6 address by its prefix). */
function keys(
  p: { readonly config: Pick<Config, 'rateLimitIpv6Prefix'> },
  username: string,
  address: string,
): { key: string; max: (c: LoginThrottleConfig) => number }[] {
  // One account name, one counter: "Bob", "bob" and "ｂｏｂ" share it (the canonical form of RFC 8265).
  const user = tokenHash(canonicalUsername(username) ?? username.toLowerCase());
  const ip = addressKey(address, p.config.rateLimitIpv6Prefix);
  return [
    { key: `login:pair:${user}:${ip}`, max: (c) => c.loginMaxFailures },
    { key: `login:user:${user}`, max: (c) => c.loginAccountMaxFailures },
    { key: `login:ip:${ip}`, max: (c) => c.loginSourceMaxFailures },
  ];
}

function waitFor(count: number, max: number, window: number): number {
  return count < max ? 0 : Math.min(2 ** (count - max), window);
}

/** What one failure counter uses: the counters store, the clock and the window. */
export type CounterDeps = Pick<Provider, 'now'> & {
  readonly config: Pick<LoginThrottleConfig, 'loginWindow'>;
  readonly stores: Pick<Stores, 'counters'>;
};

/**
 * Seconds an attempt counted under `key` must wait, past `max` failures (a doubling wait), or 0. The
 * counters are the store's, so every instance sees the same (the second factor counts its own too).
 */
export async function counterRetryAfter(p: CounterDeps, key: string, max: number): Promise<number> {
  const now = p.now();
  const state = await p.stores.counters.get(key, now);
  if (!state) return 0;
  const w = waitFor(state.count, max, p.config.loginWindow);
  // Times are whole seconds: the last failure happened somewhere within second lastAt, so the
  // wait ends only after second lastAt + wait has passed (at least `wait` seconds; at the cap, the
  // window itself, after which the counter is idle and starts again).
  const until = w > 0 ? state.lastAt + Math.min(w + 1, p.config.loginWindow) : 0;
  return Math.max(0, until - now);
}

/** What the second factor's attempt limit uses: the counters', and TESSERA_FACTOR_MAX_FAILURES. */
export type FactorAttemptDeps = CounterDeps & { readonly config: Pick<Config, 'factorMaxFailures'> };

const factorKey = (userId: string) => `factor:${userId}`;

/**
 * Claims one attempt at a user's second factor (a code or a passkey, on any page that checks one:
 * sign-in, account sign-in, password reset): 0 when this attempt may be checked, else the seconds
 * to wait. The attempt is counted before the check, so that attempts sent at once (on one instance
 * or several) cannot all pass the limit before any is counted: past TESSERA_FACTOR_MAX_FAILURES,
 * only the one attempt counted right after the (doubling) wait is checked. A passed factor clears
 * the count (factorPassed); a failed one stays counted.
 */
export async function claimFactorAttempt(p: FactorAttemptDeps, userId: string): Promise<number> {
  const key = factorKey(userId);
  const max = p.config.factorMaxFailures;
  const seen = (await p.stores.counters.get(key, p.now()))?.count ?? 0;
  const wait = await counterRetryAfter(p, key, max);
  if (wait > 0) return wait;
  const claimed = await p.stores.counters.hit(key, p.now(), p.config.loginWindow);
  if (claimed.count > max && claimed.count !== seen + 1) return Math.max(1, await counterRetryAfter(p, key, max));
  return 0;
}

/** The user passed their second factor: the failures counted so far are forgotten. */
export async function factorPassed(p: Pick<FactorAttemptDeps, 'stores'>, userId: string): Promise<void> {
  await p.stores.counters.reset(factorKey(userId));
}

/** Seconds this login attempt must wait before it may be tried, or 0. */
export async function loginRetryAfter(p: LoginThrottleDeps, username: string, ip: string): Promise<number> {
  let wait = 0;
  for (const k of keys(p, username, ip)) wait = Math.max(wait, await counterRetryAfter(p, k.key, k.max(p.config)));
  return wait;
}

export async function recordLoginFailure(p: LoginThrottleDeps, username: string, ip: string): Promise<void> {
  for (const k of keys(p, username, ip)) await p.stores.counters.hit(k.key, p.now(), p.config.loginWindow);
}

/**
 * A successful login clears the account's counters (not the source's: one valid password must not excuse a
 * credential-stuffing run).
 */
export async function recordLoginSuccess(p: LoginThrottleDeps, username: string, ip: string): Promise<void> {
  const [pair, user] = keys(p, username, ip);
  await p.stores.counters.reset(pair!.key);
  await p.stores.counters.reset(user!.key);
}

/** Status and headers of a login page: 200, 400 after a failure, 429 with Retry-After when throttled. */
export function loginPageAnswer(
  error?: Msg,
  retryAfter?: number,
): { status: number; headers?: Record<string, string> } {
  if (retryAfter) return { status: 429, headers: { 'retry-after': String(retryAfter) } };
  return { status: error ? 400 : 200 };
}

export type LoginResult = { user: UserRecord } | { error: Msg; retryAfter?: number };

/**
 * Checks a username and password as a login form submits them: throttled first, then the
 * Argon2id check (timed the same for unknown users), counting failures and clearing them on
 * success.
 */
export async function checkLogin(
  p: CheckLoginDeps,
  ip: string,
  username: string,
  password: string,
  context: Record<string, unknown>,
): Promise<LoginResult> {
  const retryAfter = await loginRetryAfter(p, username, ip);
  const clientId = typeof context.client_id === 'string' ? context.client_id : undefined;
  // The audit records of a failed or throttled attempt name the account it targeted, by user id,
  // when one exists (never the username typed: it may be a mistyped password).
  const user = username ? await p.stores.users.findByUsername(username) : undefined;
  const target = user ? { targetUserId: user.id } : {};
  if (retryAfter > 0) {
    p.events({ type: 'login_throttled', clientId, ip, ...target });
    p.log.warn(
      { event: 'login_throttled', ip, retry_after: retryAfter, ...(user ? { target_sub: user.id } : {}), ...context },
      'login throttled',
    );
    return { error: waitMsg('interaction.error.tooManyAttempts', retryAfter), retryAfter };
  }
  const ok = await verifyPassword(password, user?.passwordHash);
  if (!user || !ok || user.disabled) {
    await recordLoginFailure(p, username, ip);
    p.events({ type: 'login_failed', clientId, ip, ...target });
    p.log.info({ event: 'login_failed', ip, ...(user ? { target_sub: user.id } : {}), ...context }, 'login failed');
    return { error: msg('interaction.error.invalidLogin') };
  }
  await recordLoginSuccess(p, username, ip);
  p.events({ type: 'login_succeeded', userId: user.id, clientId, ip });
  p.log.info({ event: 'login_succeeded', sub: user.id, ip, ...context }, 'login succeeded');
  return { user };
}
