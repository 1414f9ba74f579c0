import type { Config } from '../../config/config.ts';
import type { Stores } from '../../ports/index.ts';
import type { SessionForClient, SessionRecord, SessionUpstream } from '../../ports/sessions.ts';
import type { UserRecord } from '../../ports/users.ts';
import { sessionEnded } from '../logout/session-ended.ts';
import { keyedHash, randomToken, safeEqual, tokenHash } from '../hash.ts';
import { header, type CookieSpec, type Provider, type ProtocolRequest, type StoreDeps } from '../provider.ts';
import type { DepsOf } from '../provider.ts';

/** What loading a session uses: the sessions and users stores, the clock and the idle timeout. */
export type LoadSessionDeps = Pick<Provider, 'now'> & {
  readonly config: Pick<Config, 'sessionIdleTtl'>;
  readonly stores: Pick<Stores, 'sessions' | 'users'>;
};
/**
 * What starting a session uses: the sessions store, the clock and the session lifetime, and what
 * ending another user's session in this browser needs (sessionEnded).
 */
export type StartSessionDeps = Pick<Provider, 'now' | 'events'> & {
  readonly config: Pick<Config, 'sessionAbsoluteTtl'>;
  readonly stores: Pick<Stores, 'sessions' | 'accountTokens'>;
} & DepsOf<typeof sessionEnded>;
/** What the CSRF tokens of the forms are keyed with: the server secret, and the previous one during a rotation. */
export type CsrfDeps = { readonly config: Pick<Config, 'secret' | 'secretPrevious'> };

export const SESSION_COOKIE = 'tessera_session';
/**
 * A long-lived random value naming this browser, so the account page can say "this device" and a
 * sign-in from a browser the account never used is noticed. Only its hash is stored.
 */
// Not `tessera_device`: that name is the device-flow page's CSRF cookie (interaction/device.ts).
export const DEVICE_COOKIE = 'tessera_browser';
/** 400 days: the longest lifetime browsers keep a cookie for. */
const DEVICE_COOKIE_TTL = 400 * 86400;
/** How much of the User-Agent header a session keeps (enough to name the browser and system). */
const USER_AGENT_MAX = 256;

/** What a session records of the browser it started in: its User-Agent (truncated) and address, its device id. */
function browserOf(req: ProtocolRequest): { userAgent?: string; device: string } {
  const ua = header(req, 'user-agent');
  const cookie = req.cookies[DEVICE_COOKIE];
  const valid = cookie !== undefined && /^[A-Za-z0-9_-]{32,64}$/.test(cookie);
  return {
    ...(ua ? { userAgent: ua.slice(0, USER_AGENT_MAX) } : {}),
    device: valid ? cookie : randomToken(32),
  };
}

/**
 * Records that a session was used now, for its idle timeout: at most once a minute (a tenth of the
 * idle timeout when that is shorter), so a browser signing in to several applications in a row does
 * not write its session each time. The session then ends at most that much before its true idle
 * end, never after it.
 */
export async function touchSession(
  p: Pick<Provider, 'now'> & StoreDeps<'sessions'> & { readonly config: Pick<Provider['config'], 'sessionIdleTtl'> },
  session: Pick<SessionRecord, 'idHash' | 'lastSeenAt'>,
): Promise<void> {
  const now = p.now();
  if (now - session.lastSeenAt >= Math.min(60, Math.floor(p.config.sessionIdleTtl / 10)))
    await p.stores.sessions.touch(session.idHash, now);
}

/** The login session of this browser, if it has a live one. */
export async function loadSession(p: LoadSessionDeps, req: ProtocolRequest): Promise<SessionRecord | undefined> {
  return (await loadSessionAndUser(p, req))?.session;
}

/**
 * The login session of this browser, if it has a live one, with its user as read to check it (an
 * existing, enabled user), for a caller that reads the user next.
 */
export async function loadSessionAndUser(
  p: LoadSessionDeps,
  req: ProtocolRequest,
): Promise<{ session: SessionRecord; user: UserRecord } | undefined> {
  const idHash = sessionCookieHash(req);
  if (idHash === undefined) return undefined;
  const session = await p.stores.sessions.get(idHash);
  if (!session || !isLive(p, session)) return undefined;
  const user = await p.stores.users.get(session.userId);
  if (!user || user.disabled) return undefined;
  return { session, user };
}

/**
 * The same live session with its user, and what an authorization request for `clientId` is decided
 * from beside it (authorize.ts decide): whether the user holds an admin role (the second-factor
 * gate) and the user's remembered consent to the client. One read of the session store instead of
 * four, at every single sign-on; the session and its user are judged exactly as loadSessionAndUser
 * judges them.
 */
export async function loadSessionForClient(
  p: Pick<Provider, 'now'> & { readonly config: Pick<Config, 'sessionIdleTtl'> } & StoreDeps<'sessions'>,
  req: ProtocolRequest,
  clientId: string,
): Promise<(SessionForClient & { user: UserRecord }) | undefined> {
  const idHash = sessionCookieHash(req);
  if (idHash === undefined) return undefined;
  const found = await p.stores.sessions.getForClient(idHash, clientId);
  if (!found || !isLive(p, found.session)) return undefined;
  const { user } = found;
  if (!user || user.disabled) return undefined;
  return { ...found, user };
}

/** The hash of this browser's session cookie, when it sent one that may be a session's. */
function sessionCookieHash(req: ProtocolRequest): string | undefined {
  const value = req.cookies[SESSION_COOKIE];
  return !value || value.length > 128 ? undefined : tokenHash(value);
}

/** Whether a session may still be used now: neither past its absolute end nor idle past the idle timeout. */
function isLive(
  p: Pick<Provider, 'now'> & { readonly config: Pick<Config, 'sessionIdleTtl'> },
  session: SessionRecord,
): boolean {
  const now = p.now();
  return session.expiresAt > now && session.lastSeenAt + p.config.sessionIdleTtl > now;
}

/**
 * Starts a new session for a user who just authenticated. The previous session of this browser,
 * if any, is ended: a new session id on every authentication (ASVS 7.2.4). The public `sid` the
 * clients know stays when the same user authenticates again in this browser (their sessions go
 * on); when another user signs in, the previous user's session ends for its clients too
 * (back- and front-channel logout; the frames cannot be shown here, the back channel goes out).
 * The session records the browser (User-Agent, address, device cookie hash; ASVS 7.5.2 lets the
 * user see them), and a sign-in from a device the account never used reports new_device_sign_in
 * (not the account's very first sign-in: every browser is new then).
 * An upstream sign-in (issue 17) records the upstream identity (`upstream`), for its back-channel logout.
 * Callers set every returned cookie (`cookies`: the session's, then the device's).
 */
export async function startSession(
  p: StartSessionDeps,
  req: ProtocolRequest,
  userId: string,
  amr: string[],
  upstream?: SessionUpstream,
): Promise<{ session: SessionRecord; cookies: CookieSpec[] }> {
  const old = req.cookies[SESSION_COOKIE];
  let sid = randomToken(16);
  if (old && old.length <= 128) {
    const previous = await p.stores.sessions.get(tokenHash(old));
    await p.stores.sessions.delete(tokenHash(old));
    if (previous && previous.userId === userId && previous.expiresAt > p.now()) sid = previous.sid;
    else if (previous) await sessionEnded(p, previous.sid);
  }
  const value = randomToken(32);
  const now = p.now();
  const browser = browserOf(req);
  const deviceHash = tokenHash(browser.device);
  const session: SessionRecord = {
    idHash: tokenHash(value),
    sid,
    userId,
    authTime: now,
    amr,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + p.config.sessionAbsoluteTtl,
    ...(browser.userAgent !== undefined ? { userAgent: browser.userAgent } : {}),
    ip: req.ip,
    deviceHash,
    ...(upstream ? { upstream } : {}),
  };
  await p.stores.sessions.create(session);
  // A sign-in ends the password reset links mailed before it (they were for someone who could not).
  await p.stores.accountTokens.invalidate(userId, 'reset_password', now);
  // A browser the account never used, when it had used another: the account's very first sign-in is
  // from a new browser by necessity, and telling its owner about it would be noise.
  if ((await p.stores.sessions.rememberDevice(userId, deviceHash, now)) === 'new')
    p.events({
      type: 'new_device_sign_in',
      userId,
      ip: req.ip,
      ...(browser.userAgent ? { userAgent: browser.userAgent } : {}),
    });
  const cookie: CookieSpec = { name: SESSION_COOKIE, value, maxAge: p.config.sessionAbsoluteTtl, path: '/' };
  // The device cookie is (re)set on every sign-in, so that it lives on while the browser is used.
  const deviceCookie: CookieSpec = { name: DEVICE_COOKIE, value: browser.device, maxAge: DEVICE_COOKIE_TTL, path: '/' };
  return { session, cookies: [cookie, deviceCookie] };
}

export async function endSession(
  p: { readonly stores: Pick<Stores, 'sessions'> },
  req: ProtocolRequest,
): Promise<CookieSpec> {
  const value = req.cookies[SESSION_COOKIE];
  if (value && value.length <= 128) await p.stores.sessions.delete(tokenHash(value));
  return { name: SESSION_COOKIE, value: '', maxAge: 0, path: '/' };
}

/** A CSRF token bound to a purpose and to a browser-held secret (a cookie value). */
export function csrfToken(
  p: { readonly config: Pick<Config, 'secret'> },
  purpose: string,
  browserSecret: string,
): string {
  return keyedHash(p.config.secret, `csrf:${purpose}:${browserSecret}`);
}

export function checkCsrf(
  p: CsrfDeps,
  purpose: string,
  browserSecret: string | undefined,
  presented: string | undefined,
): boolean {
  if (!browserSecret || !presented) return false;
  if (safeEqual(csrfToken(p, purpose, browserSecret), presented)) return true;
  // During a rotation of TESSERA_SECRET, a page served under the previous secret still submits.
  const previous = p.config.secretPrevious;
  return previous !== undefined && safeEqual(keyedHash(previous, `csrf:${purpose}:${browserSecret}`), presented);
}
