// The way back from an upstream identity provider (issue 17): GET and POST (form_post)
// /upstream/:provider/callback, one URL per provider (RFC 9700 section 4.4.2, against mix-up).
//
// The order matters. The provider of the URL must be configured and enabled. The state must be one
// this browser started for this provider (takeState: single use, bound by the `tessera_upstream`
// cookie, so a callback replayed, from another browser or for another provider is refused, and login
// CSRF with an attacker's own callback fails). A provider that answers with a cross-site form_post
// (Apple) reaches us without our SameSite=Lax cookies: such a POST is bounced once to the same URL
// as a same-site form post (tessera_bounce=1), which the browser sends with them. Only then is the
// provider asked to complete it (p.upstream.callback: error, iss, code with PKCE, ID token, nonce),
// and its answer goes through the linking rules (linking.ts) to the purpose the redirect was for.
// Every failure is a page with the way back; a provider that cannot be reached is a 503.
import { msg, type Msg } from '../../i18n/catalog.ts';
import { UpstreamError, type UpstreamProfile } from '../../ports/upstream-client.ts';
import type { UpstreamProvider, UpstreamState } from '../../ports/upstreams.ts';
import { safeReturn } from '../account/common.ts';
import { readFormParams } from '../params.ts';
import type { DepsOf, OAuthResponse, Provider, ProtocolRequest } from '../provider.ts';
import { accountAfterFirstFactor, type AccountLoginDeps } from '../interaction/account.ts';
import { afterFirstFactor, load, type InteractionDeps } from '../interaction/interaction.ts';
import { beginSecondFactor, capabilityOf } from '../interaction/mfa-policy.ts';
import { reauthContinue } from '../interaction/second-factor.ts';
import { loadSession, SESSION_COOKIE, startSession } from '../interaction/session.ts';
import { emailOf, identityKey, outsideAllowed, resolveSignIn, type LinkingDeps, type Refusal } from './linking.ts';
import { enabledProvider, sessionUpstream, upstreamAmr } from './signin.ts';
import { callbackUrl, isUpstreamError, takeState, UPSTREAM_COOKIE } from './state.ts';

/**
 * What the callback uses: the sign-in steps of an interaction and of the account login, the linking rules, the
 * upstream.
 */
export type CallbackDeps = InteractionDeps &
  AccountLoginDeps &
  LinkingDeps &
  DepsOf<typeof takeState> &
  DepsOf<typeof loadSession> &
  Pick<Provider, 'upstream' | 'log' | 'events'>;

/**
 * The parameters of an authorization response Tessera passes on to the upstream client (RFC 6749
 * 4.1.2, RFC 9207 `iss`, OIDC session_state, Apple's `user`), with their longest values; any other is dropped.
 */
const CALLBACK_LIMITS: Readonly<Record<string, number>> = {
  code: 2048,
  state: 512,
  iss: 2048,
  error: 256,
  error_description: 1024,
  error_uri: 2048,
  session_state: 512,
  user: 4096,
};
const CALLBACK_FIELDS = new Set(Object.keys(CALLBACK_LIMITS));
/** Control characters (C0, DEL, C1) and the Unicode line and paragraph separators. */
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** Set on the same-site re-post of a cross-site form_post, so that it is bounced at most once. */
export const BOUNCE = 'tessera_bounce';

// The callback took its state: the page offers no links to its own address in other languages.
const problem = (status: number, title: Msg, message: Msg, link?: { href: string; text: Msg }): OAuthResponse => ({
  kind: 'page',
  status,
  view: { name: 'upstream-problem', title, message, ...(link ? { link } : {}) },
  language: { once: true },
});

/**
 * Where a failed sign-in sends the person back to: the login page of the interaction (with the
 * provider hint off, so that it is not followed again), the account login, or the linked sign-ins.
 */
function backLink(p: Pick<Provider, 'config'>, state: UpstreamState): { href: string; text: Msg } {
  const issuer = p.config.issuer;
  const text = msg('interaction.upstream.backToSignIn');
  if (state.purpose === 'login') return { href: `${issuer}/interaction/${state.interactionUid ?? ''}?hint=off`, text };
  if (state.purpose === 'account-login') return { href: `${issuer}/account`, text };
  return { href: `${issuer}/account/linked`, text: msg('interaction.upstream.backToLinked') };
}

/** What each refusal of the linking rules says (interaction.upstream.<reason>), and its status. */
function refusalPage(provider: UpstreamProvider, reason: Refusal | 'session' | 'not_yours') {
  const [status, key] = (
    {
      tenant: [403, 'interaction.upstream.tenant'],
      domain: [403, 'interaction.upstream.domain'],
      disabled: [403, 'interaction.upstream.disabled'],
      email_in_use: [409, 'interaction.upstream.emailInUse'],
      not_linked: [403, 'interaction.upstream.notLinked'],
      username: [409, 'interaction.upstream.username'],
      session: [403, 'interaction.upstream.session'],
      not_yours: [403, 'interaction.upstream.notYours'],
    } as const
  )[reason];
  const words = { provider: provider.label };
  return [status, msg(`${key}.title`, words), msg(`${key}.message`, words)] as const;
}

/** What an upstream's failure says, and its status: 503 when it could not be reached. */
function upstreamErrorPage(provider: UpstreamProvider, err: UpstreamError) {
  const words = { provider: provider.label };
  if (err.reason === 'unavailable')
    return [
      503,
      msg('interaction.upstream.unavailable.title', words),
      msg('interaction.upstream.unavailable.message', words),
    ] as const;
  if (err.reason === 'denied') {
    // The provider's error code, when it has the shape of one, for the person to pass on.
    const code = err.upstreamError && /^[A-Za-z0-9_.-]{1,64}$/.test(err.upstreamError) ? err.upstreamError : undefined;
    return [
      400,
      msg('interaction.upstream.denied.title', words),
      code
        ? msg('interaction.upstream.deniedCode.message', { ...words, code })
        : msg('interaction.upstream.denied.message', words),
    ] as const;
  }
  return [
    400,
    msg('interaction.upstream.unverified.title', words),
    msg('interaction.upstream.unverified.message', words),
  ] as const;
}

/**
 * GET and POST /upstream/:provider/callback. An answer that would redirect to another site (the
 * application, with its code) is a page that goes on by a refresh instead (upstreamContinuePage says
 * why), with the same cookies: the callback is reached by redirects from the form the person sent at
 * the provider (or from the bounce page), and Chromium holds that whole redirect chain to the
 * form-action of the page whose form started it, which names the provider's own site and Tessera,
 * not the application.
 */
export async function upstreamCallback(
  p: CallbackDeps,
  req: ProtocolRequest,
  uid: string,
  providerId?: string,
): Promise<OAuthResponse> {
  const answer = await callback(p, req, uid, providerId);
  if (answer.kind !== 'redirect' || answer.location.startsWith(`${p.config.issuer}/`)) return answer;
  return {
    kind: 'page',
    status: 200,
    view: { name: 'upstream-continue', location: answer.location },
    ...(answer.cookies ? { cookies: answer.cookies } : {}),
  };
}

const lacksBinding = (req: ProtocolRequest) => req.method === 'POST' && !req.cookies[UPSTREAM_COOKIE];
const lacksStrictSession = (p: Pick<Provider, 'config'>, req: ProtocolRequest) =>
  p.config.cookieSameSite === 'strict' &&
  !req.cookies[SESSION_COOKIE] &&
  req.headers['sec-fetch-site'] === 'cross-site';

async function callback(
  p: CallbackDeps,
  req: ProtocolRequest,
  _uid: string,
  providerId?: string,
): Promise<OAuthResponse> {
  const provider = await enabledProvider(p, providerId);
  if (!provider)
    return problem(
      404,
      msg('interaction.upstream.unknownProvider.title'),
      msg('interaction.upstream.unknownProvider.message'),
    );
  const fields = readFormParams(req.params, CALLBACK_FIELDS, CALLBACK_LIMITS);
  const words = { provider: provider.label };
  if (!fields)
    return problem(
      400,
      msg('interaction.upstream.badAnswer.title', words),
      msg('interaction.upstream.badAnswer.message', words),
    );
  // A cross-site form_post arrives without our SameSite=Lax cookies, and under TESSERA_COOKIE_SAMESITE=
  // strict a cross-site redirect back arrives without the session cookie (which linking and
  // re-authentication check): re-posted once from our own page, same-site, so the cookies come.
  if (!req.params.has(BOUNCE) && (lacksBinding(req) || lacksStrictSession(p, req)))
    return { kind: 'form_post', action: callbackUrl(p, provider.id), fields: { ...fields, [BOUNCE]: '1' } };
  const state = await takeState(p, req, provider.id);
  if (!state) {
    p.events({ type: 'upstream_login_failed', provider: provider.id, reason: 'state' });
    return problem(
      400,
      msg('interaction.upstream.stateExpired.title', words),
      msg('interaction.upstream.stateExpired.message', words),
    );
  }
  const back = backLink(p, state);
  let profile: UpstreamProfile;
  try {
    profile = await p.upstream.callback(provider, {
      redirectUri: callbackUrl(p, provider.id),
      state: fields.state ?? '',
      nonce: state.nonce,
      codeVerifier: state.codeVerifier,
      ...(state.maxAge !== undefined ? { maxAge: state.maxAge } : {}),
      params: new URLSearchParams(fields),
    });
    if (!profile.issuer || !profile.subject) throw new Error('profile without issuer or subject');
    // The identity and the upstream's session id are stored and compared as they came: text a store
    // may refuse (PostgreSQL cannot hold a NUL) or that no provider sends (OIDC Core: `sub` is
    // printable) makes the answer unusable, not the request a 500.
    if ([profile.issuer, profile.subject, profile.sid].some((v) => v !== undefined && UNPRINTABLE.test(v)))
      throw new UpstreamError('invalid', 'issuer, subject or sid with control characters');
  } catch (err) {
    const known = isUpstreamError(err);
    // The adapter rejects with UpstreamError only; anything else is a bug, logged (its name, message
    // and stack), and the person still gets a page (the answer is not used).
    if (!known) {
      const { name, message, stack } = err as Error;
      const fields = { event: 'upstream_callback_error', provider: provider.id, err: { name, message, stack } };
      p.log.error(fields, 'upstream callback failed');
    }
    const reason = known ? err.reason : 'invalid';
    // A provider found down is asked again (discovery) at the next start, which then shows the login
    // page saying so, instead of sending the browser to a dead address from the cached configuration.
    if (reason === 'unavailable') p.upstream.forget(provider.id);
    const userId = state.userId;
    p.events({ type: 'upstream_login_failed', provider: provider.id, reason, ...(userId ? { userId } : {}) });
    p.log.info(
      { event: 'upstream_login_failed', provider: provider.id, reason, err: (err as Error).message },
      'upstream sign-in failed',
    );
    const [status, title, message] = upstreamErrorPage(
      provider,
      known ? err : ({ reason: 'invalid' } as UpstreamError),
    );
    return problem(status, title, message, back);
  }
  const refuse = (reason: Refusal | 'session' | 'not_yours', extra: { userId?: string; clientId?: string } = {}) => {
    p.events({ type: 'upstream_login_failed', provider: provider.id, reason, ...extra });
    p.log.info({ event: 'upstream_login_failed', provider: provider.id, reason }, 'upstream sign-in refused');
    const [status, title, message] = refusalPage(provider, reason);
    return problem(status, title, message, back);
  };
  const amr = upstreamAmr(provider, profile);
  const upstream = sessionUpstream(provider, profile);

  if (state.purpose === 'login') {
    const l = await load(p, req, state.interactionUid ?? '');
    if ('kind' in l) return l;
    // Signed in meanwhile (another tab): this sign-in goes on from there.
    if (l.ia.loginAt !== null) return { kind: 'redirect', location: `${p.config.issuer}/interaction/${l.ia.uid}` };
    const decision = await resolveSignIn(p, provider, profile);
    if ('refused' in decision) return refuse(decision.refused, { clientId: l.ia.clientId });
    succeeded(p, req, provider, decision.user.id, decision.created, l.ia.clientId);
    return afterFirstFactor(p, req, l, decision.user, amr, upstream);
  }
  if (state.purpose === 'account-login') {
    const decision = await resolveSignIn(p, provider, profile);
    if ('refused' in decision) return refuse(decision.refused);
    succeeded(p, req, provider, decision.user.id, decision.created);
    return accountAfterFirstFactor(p, req, decision.user, amr, upstream);
  }

  // link and reauth: for the user who started them, still signed in in this browser.
  const userId = state.userId ?? '';
  const session = await loadSession(p, req);
  if (!session || session.userId !== userId) return refuse('session', { userId });
  const outside = outsideAllowed(provider, profile);
  if (outside) return refuse(outside, { userId });
  const key = identityKey(provider, profile);
  const returnTo = safeReturn(state.returnTo);
  const now = p.now();
  if (state.purpose === 'link') {
    const email = emailOf(profile) ?? null;
    const result = await p.stores.upstreamIdentities.link({ ...key, userId, email, createdAt: now, lastUsedAt: now });
    if (result === 'linked') p.events({ type: 'upstream_linked', userId, provider: provider.id, by: 'user' });
    if (result === 'taken') p.events({ type: 'upstream_login_failed', provider: provider.id, reason: 'taken', userId });
    return { kind: 'redirect', location: `${p.config.issuer}${withNotice(returnTo, `upstream-${result}`)}` };
  }
  // reauth: the identity must be this user's; then as account/reauth.ts after a password.
  const linked = await p.stores.upstreamIdentities.find(key);
  if (!linked || linked.userId !== userId) return refuse('not_yours', { userId });
  await p.stores.upstreamIdentities.touch(key, now, emailOf(profile) ?? null);
  succeeded(p, req, provider, userId, false);
  // A user with a second factor passes it too, whatever the policy (reauth.ts says why).
  const cap = capabilityOf(await p.stores.factors.listByUser(userId));
  if (cap.totp || cap.passkey) {
    const pending = await beginSecondFactor(p, userId, amr, reauthContinue(returnTo), false, upstream);
    return { kind: 'redirect', location: `${p.config.issuer}/account/mfa`, cookies: [pending.cookie] };
  }
  const { cookies } = await startSession(p, req, userId, amr, upstream);
  return { kind: 'redirect', location: `${p.config.issuer}${returnTo}`, cookies };
}

/** The account page to go back to, with the notice it shows (`done`). */
const withNotice = (path: string, notice: string) => `${path}${path.includes('?') ? '&' : '?'}done=${notice}`;

function succeeded(
  p: Pick<Provider, 'events' | 'log'>,
  req: ProtocolRequest,
  provider: UpstreamProvider,
  userId: string,
  created: boolean,
  clientId?: string,
) {
  p.events({
    type: 'upstream_login_succeeded',
    userId,
    provider: provider.id,
    created,
    ...(clientId ? { clientId } : {}),
  });
  p.log.info(
    { event: 'upstream_login_succeeded', sub: userId, provider: provider.id, created, ip: req.ip },
    'upstream sign-in succeeded',
  );
}
