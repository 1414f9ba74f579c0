// An upstream's back-channel logout (OpenID Connect Back-Channel Logout 1.0, Tessera as the relying
// party; issue 17): POST /upstream/<provider>/backchannel-logout with a `logout_token`. The token is
// verified by the upstream client with this provider's keys (section 2.6), its jti claimed once,
// and the sessions signed in through that upstream identity or upstream session end, their own
// clients told in turn (session-ended.ts). Answers are JSON for the upstream's server: 200, 400
// invalid_request (any token that fails, replays included), 404 for an unknown provider, 503 while
// the provider's keys cannot be fetched (the upstream may send it again). Never a 500.
import type { Config } from '../../config/config.ts';
import type { UpstreamLogout } from '../../ports/upstream-client.ts';
import type { UpstreamProvider } from '../../ports/upstreams.ts';
import { tokenHash } from '../hash.ts';
import { sessionEnded } from '../logout/session-ended.ts';
import { readFormParams } from '../params.ts';
import type { DepsOf, OAuthResponse, Provider, ProtocolRequest, StoreDeps } from '../provider.ts';
import { isUpstreamError, PROVIDER_ID } from './state.ts';

export type UpstreamLogoutDeps = Pick<Provider, 'now' | 'events' | 'log' | 'upstream'> & {
  readonly config: Pick<Config, 'clockSkew'>;
} & StoreDeps<'upstreams' | 'replay' | 'sessions'> &
  DepsOf<typeof sessionEnded>;

const NO_STORE = { 'cache-control': 'no-store' };
/** Section 2.8: any failure is a 400; the body names no reason (the log does). */
const invalid: OAuthResponse = { kind: 'json', status: 400, body: { error: 'invalid_request' }, headers: NO_STORE };
const unknownProvider: OAuthResponse = {
  kind: 'json',
  status: 404,
  body: { error: 'invalid_request', error_description: 'No such provider.' },
  headers: NO_STORE,
};
const unavailable: OAuthResponse = {
  kind: 'json',
  status: 503,
  body: { error: 'temporarily_unavailable', error_description: "The provider's keys could not be fetched." },
  headers: { ...NO_STORE, 'retry-after': '30' },
};
/** The longest token accepted: a signed JWT of a few claims is far smaller. */
const MAX_TOKEN = 16_384;

/**
 * The issuer a verified token names must be this provider's: its issuer, or for a multi-tenant
 * template (Microsoft's `{tenantid}`) that template with one tenant in it. The adapter checks this
 * already; checking it here too means a logout token can only ever end sessions of its own provider.
 */
export function issuerOfProvider(provider: Pick<UpstreamProvider, 'issuer'>, issuer: string): boolean {
  if (!provider.issuer.includes('{tenantid}')) return issuer === provider.issuer;
  const [head, tail] = provider.issuer.split('{tenantid}', 2) as [string, string];
  if (!issuer.startsWith(head) || !issuer.endsWith(tail) || issuer.length <= head.length + tail.length) return false;
  return /^[A-Za-z0-9-]{1,64}$/.test(issuer.slice(head.length, issuer.length - tail.length));
}

/** The replay key of a token's jti (hashed when long: the replay store takes keys of at most 512 characters). */
const replayKey = (providerId: string, jti: string) =>
  `upstream-logout:${providerId}:${jti.length <= 128 ? jti : `sha256:${tokenHash(jti)}`}`;

/** POST /upstream/:provider/backchannel-logout (`providerId`: the path's :provider; the route has no :uid). */
export async function upstreamBackchannelLogout(
  p: UpstreamLogoutDeps,
  req: ProtocolRequest,
  _uid: string,
  providerId?: string,
): Promise<OAuthResponse> {
  const provider =
    providerId !== undefined && PROVIDER_ID.test(providerId) ? await p.stores.upstreams.get(providerId) : undefined;
  // A disabled provider still ends its sessions: logging out only ever takes access away, and the
  // sessions it started live on after it was turned off.
  if (!provider) return unknownProvider;
  const refuse = (reason: string, err?: string): OAuthResponse => {
    p.log.warn(
      { event: 'upstream_logout_refused', provider: provider.id, reason, ...(err ? { err } : {}) },
      'upstream back-channel logout refused',
    );
    return invalid;
  };
  const f = readFormParams(req.params, new Set(['logout_token']), { logout_token: MAX_TOKEN });
  if (!f?.logout_token) return refuse('no_token');

  let logout: UpstreamLogout;
  try {
    logout = await p.upstream.verifyLogoutToken(provider, f.logout_token);
  } catch (err) {
    if (isUpstreamError(err)) {
      if (err.reason === 'unavailable') {
        p.log.warn(
          { event: 'upstream_logout_unavailable', provider: provider.id, err: err.message },
          "upstream back-channel logout: the provider's keys could not be fetched",
        );
        return unavailable;
      }
      return refuse(err.reason, err.message);
    }
    // Not the adapter's own error: a bug, or input it did not foresee. The token is refused all the same.
    p.log.error(
      { event: 'upstream_logout_refused', provider: provider.id, reason: 'error', err: (err as Error).message },
      'upstream back-channel logout: verification failed unexpectedly',
    );
    return invalid;
  }

  // What section 2.6 requires of a verified token, checked again before it ends anything.
  if (!issuerOfProvider(provider, logout.issuer)) return refuse('issuer');
  const subject = typeof logout.subject === 'string' && logout.subject ? logout.subject : undefined;
  const sid = typeof logout.sid === 'string' && logout.sid ? logout.sid : undefined;
  if (!subject && !sid) return refuse('no_subject');
  if (typeof logout.jti !== 'string' || !logout.jti || !Number.isFinite(logout.expiresAt)) return refuse('claims');

  // Once per jti, until it has expired for any verifier (its exp, and the skew a verifier allows past it).
  const now = p.now();
  const until = Math.max(logout.expiresAt, now) + p.config.clockSkew;
  if (!(await p.stores.replay.claim(replayKey(provider.id, logout.jti), until, now))) return refuse('replayed');

  const ended = await p.stores.sessions.deleteByUpstream(provider.id, logout.issuer, {
    ...(subject ? { subject } : {}),
    ...(sid ? { sid } : {}),
  });
  for (const s of ended) {
    await sessionEnded(p, s.sid);
    p.events({ type: 'logout', userId: s.userId });
  }
  p.events({ type: 'upstream_logout', provider: provider.id, sessions: ended.length });
  p.log.info(
    {
      event: 'upstream_logout',
      provider: provider.id,
      sessions: ended.length,
      by: subject && sid ? 'both' : subject ? 'sub' : 'sid',
    },
    'upstream back-channel logout',
  );
  return { kind: 'json', status: 200, body: {}, headers: NO_STORE };
}
