// Sessions and devices (/account/sessions): each browser signed in to the account, by its browser
// and system (from its User-Agent), address, when it started and was last seen, and which one is this
// one; ending one, or every other one. An ended session's clients are told (back-channel logout).
import type { DepsOf, OAuthResponse, Provider, ProtocolRequest, StoreDeps } from '../provider.ts';
import { sessionEnded } from '../logout/session-ended.ts';
import {
  accountForm,
  accountPage,
  formToken,
  notFound,
  redirectTo,
  signedIn,
  toLogin,
  type AccountDeps,
} from './common.ts';
import { endOtherSessions } from './password.ts';
import { msg } from '../../i18n/catalog.ts';
import { userAgentParts } from './user-agent.ts';

export type SessionsDeps = AccountDeps &
  Pick<Provider, 'events' | 'log'> &
  StoreDeps<'sessions'> &
  DepsOf<typeof sessionEnded>;

const PURPOSE = 'account:sessions';

export async function showSessions(p: SessionsDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const s = await signedIn(p, req);
  if (!s) return toLogin(p);
  const now = p.now();
  const live = (await p.stores.sessions.listByUser(s.user.id)).filter(
    (x) => x.expiresAt > now && x.lastSeenAt + p.config.sessionIdleTtl > now,
  );
  const ended = Number(req.params.get('ended') ?? '');
  return accountPage(
    p,
    s,
    formToken(p, s, PURPOSE),
    {
      page: 'sessions',
      sessions: live.map((x) => ({
        sid: x.sid,
        ...userAgentParts(x.userAgent),
        ip: x.ip ?? null,
        createdAt: x.createdAt,
        lastSeenAt: x.lastSeenAt,
        current: x.idHash === s.session.idHash,
      })),
      ...(Number.isInteger(ended) && ended > 0
        ? { notice: ended === 1 ? msg('account.sessions.endedOne') : msg('account.sessions.ended', { count: ended }) }
        : {}),
    },
    { nav: 'sessions' },
  );
}

export async function endOneSession(p: SessionsDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const ok = await accountForm(p, req, PURPOSE, { sid: 64 });
  if ('response' in ok) return ok.response;
  const { s, f } = ok;
  const sid = f.sid ?? '';
  // This browser's own session ends with "Sign out"; another user's sid is not found.
  if (!sid || sid === s.session.sid) return notFound('session');
  if (!(await p.stores.sessions.deleteBySid(s.user.id, sid))) return notFound('session');
  await sessionEnded(p, sid);
  p.events({ type: 'sessions_ended', userId: s.user.id, count: 1, by: 'user', ip: req.ip });
  return redirectTo(p, '/account/sessions?ended=1');
}

export async function endOthers(p: SessionsDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const ok = await accountForm(p, req, PURPOSE, {});
  if ('response' in ok) return ok.response;
  const n = await endOtherSessions(p, ok.s);
  if (n) p.events({ type: 'sessions_ended', userId: ok.s.user.id, count: n, by: 'user', ip: req.ip });
  return redirectTo(p, `/account/sessions?ended=${n}`);
}
