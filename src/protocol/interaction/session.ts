import type { Config } from '../../config/config.ts';
import type { Stores } from '../../ports/index.ts';
import type { SessionRecord } from '../../ports/sessions.ts';
import { sessionEnded } from '../logout/session-ended.ts';
import { keyedHash, randomToken, safeEqual, tokenHash } from '../hash.ts';
import type { CookieSpec, Provider, ProtocolRequest } from '../provider.ts';
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
export type StartSessionDeps = Pick<Provider, 'now'> & {
  readonly config: Pick<Config, 'sessionAbsoluteTtl'>;
  readonly stores: Pick<Stores, 'sessions'>;
} & DepsOf<typeof sessionEnded>;
/** What the CSRF tokens of the forms are keyed with: the server secret, and the previous one during a rotation. */
export type CsrfDeps = { readonly config: Pick<Config, 'secret' | 'secretPrevious'> };

export const SESSION_COOKIE = 'tessera_session';

/** The login session of this browser, if it has a live one. */
export async function loadSession(p: LoadSessionDeps, req: ProtocolRequest): Promise<SessionRecord | undefined> {
  const value = req.cookies[SESSION_COOKIE];
  if (!value || value.length > 128) return undefined;
  const session = await p.stores.sessions.get(tokenHash(value));
  const now = p.now();
  if (!session || session.expiresAt <= now || session.lastSeenAt + p.config.sessionIdleTtl <= now) return undefined;
  const user = await p.stores.users.get(session.userId);
  if (!user || user.disabled) return undefined;
  return session;
}

/**
 * Starts a new session for a user who just authenticated. The previous session of this browser,
 * if any, is ended: a new session id on every authentication (ASVS 7.2.4). The public `sid` the
 * clients know stays when the same user authenticates again in this browser (their sessions go
 * on); when another user signs in, the previous user's session ends for its clients too
 * (back- and front-channel logout; the frames cannot be shown here, the back channel goes out).
 */
export async function startSession(
  p: StartSessionDeps,
  req: ProtocolRequest,
  userId: string,
  amr: string[],
): Promise<{ session: SessionRecord; cookie: CookieSpec }> {
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
  const session: SessionRecord = {
    idHash: tokenHash(value),
    sid,
    userId,
    authTime: now,
    amr,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + p.config.sessionAbsoluteTtl,
  };
  await p.stores.sessions.create(session);
  return { session, cookie: { name: SESSION_COOKIE, value, maxAge: p.config.sessionAbsoluteTtl, path: '/' } };
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
