// Linked sign-ins in the account area (issue 17): the user's upstream identities at /account/linked,
// linking another one (a redirect to the provider; the callback, callback.ts, links it and comes back
// here with a notice), unlinking one, and re-authentication through a linked provider for accounts
// that have no password. Linking and unlinking change how the account can be entered, so they need a
// recent sign-in, as a new passkey does; unlinking the last way in is refused (the store decides it
// in one statement, so two unlinks at once cannot both take the last two).
import { msg, type Msg } from '../../i18n/catalog.ts';
import type { UpstreamIdentity, UpstreamIdentityKey, UpstreamProvider } from '../../ports/upstreams.ts';
import { tokenHash, safeEqual } from '../hash.ts';
import { sessionEnded } from '../logout/session-ended.ts';
import type { DepsOf, OAuthResponse, Provider, ProtocolRequest, StoreDeps } from '../provider.ts';
import {
  accountForm,
  accountPage,
  formToken,
  redirectTo,
  safeReturn,
  signedIn,
  toLogin,
  type AccountDeps,
  type SignedIn,
} from '../account/common.ts';
import type { LinkedRow, ProviderButton } from '../account/views.ts';
import { beginUpstream, isUpstreamError, PROVIDER_ID, REAUTHENTICATE, type BeginDeps } from './state.ts';

export type LinkedDeps = AccountDeps &
  BeginDeps &
  Pick<Provider, 'events' | 'log'> &
  StoreDeps<'upstreams' | 'upstreamIdentities' | 'factors' | 'sessions'> &
  DepsOf<typeof sessionEnded>;

/** The linked sign-ins page's forms (link and unlink). */
const PURPOSE = 'account:linked';
/** The re-authentication page's form: its provider buttons carry the same token as its password form. */
const REAUTH_PURPOSE = 'account:reauth';
const PAGE = '/account/linked';

/**
 * How a form names one of the user's identities: the first 22 characters (132 bits) of the SHA-256
 * of provider, issuer and subject. The page never carries the upstream subject itself, and a guessed
 * or copied reference only ever matches among the signed-in user's own identities.
 */
export const identityRef = (k: UpstreamIdentityKey): string =>
  tokenHash(`${k.providerId}\n${k.issuer}\n${k.subject}`).slice(0, 22);

/** What the callback (callback.ts) sends back to this page as `?done=`: notices, and refusals shown as alerts. */
const NOTICES: Record<string, { notice: Msg } | { error: Msg }> = {
  'upstream-linked': { notice: msg('account.linked.done') },
  'upstream-exists': { notice: msg('account.linked.exists') },
  'upstream-unlinked': { notice: msg('account.linked.unlinked') },
  'upstream-taken': { error: msg('account.linked.taken') },
  'upstream-last': { error: msg('account.linked.last') },
  'upstream-failed': { error: msg('account.linked.failed') },
};

const button = (u: UpstreamProvider): ProviderButton => ({ id: u.id, label: u.label });

/**
 * Where a page's provider buttons lead: the form posts here, and our answer redirects to the
 * provider, which the page's CSP form-action must allow (browsers check it on the redirect too).
 * The provider's authorization endpoint when it is configured, else its issuer: the same origin at
 * every provider we know of (a discovery document that moves it elsewhere needs the endpoint set).
 */
export const upstreamFormActions = (providers: readonly UpstreamProvider[]): string[] => [
  ...new Set(providers.map((u) => u.authorizationEndpoint ?? u.issuer)),
];

async function linkedView(
  p: LinkedDeps,
  s: SignedIn,
  extra: { notice?: Msg; error?: Msg } = {},
  status = 200,
): Promise<OAuthResponse> {
  const providers = await p.stores.upstreams.list();
  const byId = new Map(providers.map((u) => [u.id, u]));
  const identities = await p.stores.upstreamIdentities.listByUser(s.user.id);
  const rows: LinkedRow[] = identities.map((i) => ({
    ref: identityRef(i),
    // A provider deleted since is taken with its identities; the id stands in for a label all the same.
    providerLabel: byId.get(i.providerId)?.label ?? i.providerId,
    email: i.email,
    createdAt: i.createdAt,
    lastUsedAt: i.lastUsedAt,
  }));
  const linked = new Set(identities.map((i) => i.providerId));
  const offered = providers.filter((u) => u.enabled && !linked.has(u.id));
  const page = accountPage(
    p,
    s,
    formToken(p, s, PURPOSE),
    { page: 'linked', identities: rows, available: offered.map(button), ...extra },
    { nav: 'linked', status },
  );
  return page.kind === 'page' ? { ...page, formActions: upstreamFormActions(offered) } : page;
}

/** GET /account/linked: the list, with the notice the callback or an unlink sent back. */
export async function showLinked(p: LinkedDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const s = await signedIn(p, req);
  if (!s) return toLogin(p);
  const key = req.params.get('done') ?? '';
  // Own keys only: `constructor` or `__proto__` would name an object's built-ins.
  return linkedView(p, s, Object.hasOwn(NOTICES, key) ? NOTICES[key] : {});
}

/** The enabled provider a form names, or undefined (not a provider id, unknown, or turned off). */
async function enabledProvider(p: LinkedDeps, id: string | undefined): Promise<UpstreamProvider | undefined> {
  if (!id || !PROVIDER_ID.test(id)) return undefined;
  const u = await p.stores.upstreams.get(id);
  return u?.enabled ? u : undefined;
}

const noProvider: OAuthResponse = {
  kind: 'page',
  status: 404,
  view: { name: 'error', title: msg('account.error.notFound'), message: msg('account.error.providerNotOffered') },
};

/** The provider could not be reached to start (its discovery failed): a 503 page with the way back. */
const unreachable = (p: LinkedDeps, u: UpstreamProvider, back: string): OAuthResponse => ({
  kind: 'page',
  status: 503,
  view: {
    name: 'error',
    title: msg('account.error.unreachable', { provider: u.label }),
    message: msg('account.error.unreachableText', { provider: u.label }),
    link: { href: `${p.config.issuer}${back}`, text: msg('account.error.back') },
  },
});

/** Starts the redirect, or answers the provider's failure to be reached with a page (never a 500). */
async function begin(
  p: LinkedDeps,
  req: ProtocolRequest,
  u: UpstreamProvider,
  what: { purpose: 'link' | 'reauth'; userId: string; returnTo: string },
  back: string,
): Promise<OAuthResponse> {
  try {
    return await beginUpstream(p, req, u, what, undefined, what.purpose === 'reauth' ? REAUTHENTICATE : undefined);
  } catch (err) {
    if (!isUpstreamError(err)) throw err;
    p.events({ type: 'upstream_login_failed', provider: u.id, reason: err.reason, userId: what.userId });
    p.log.warn(
      { event: 'upstream_begin_failed', provider: u.id, purpose: what.purpose, reason: err.reason, err: err.message },
      'upstream could not be reached',
    );
    return unreachable(p, u, back);
  }
}

/** POST /account/linked/link (field `provider`): off to the provider, to come back linked. */
export async function linkUpstream(p: LinkedDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const ok = await accountForm(p, req, PURPOSE, { provider: 64 }, { back: PAGE });
  if ('response' in ok) return ok.response;
  const { s, f } = ok;
  const u = await enabledProvider(p, f.provider);
  if (!u) return noProvider;
  // The state carries the user: the callback links only into this user's account, and only while
  // this browser's session is still theirs.
  return begin(p, req, u, { purpose: 'link', userId: s.user.id, returnTo: PAGE }, PAGE);
}

/** Whether the account can be entered without any upstream: a password, or a passkey (passkey-first sign-in). */
async function hasOtherWay(p: LinkedDeps, s: SignedIn): Promise<boolean> {
  if (s.user.passwordHash) return true;
  return (await p.stores.factors.listByUser(s.user.id)).some((f) => f.kind === 'passkey' && f.confirmed);
}

/** The user's identity a form names by its reference; another user's (or an invented one) is not found. */
function ownIdentity(identities: UpstreamIdentity[], ref: string | undefined): UpstreamIdentity | undefined {
  if (!ref || ref.length !== 22) return undefined;
  return identities.find((i) => safeEqual(identityRef(i), ref));
}

/** POST /account/linked/unlink (field `identity`): unlinks it, unless it is the last way in. */
export async function unlinkUpstream(p: LinkedDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const ok = await accountForm(p, req, PURPOSE, { identity: 64 }, { back: PAGE });
  if ('response' in ok) return ok.response;
  const { s, f } = ok;
  const identity = ownIdentity(await p.stores.upstreamIdentities.listByUser(s.user.id), f.identity);
  if (!identity) return notLinked;
  const key: UpstreamIdentityKey = {
    providerId: identity.providerId,
    issuer: identity.issuer,
    subject: identity.subject,
  };
  const outcome = await p.stores.upstreamIdentities.unlink(s.user.id, key, await hasOtherWay(p, s));
  if (outcome === 'missing') return notLinked;
  if (outcome === 'last') return redirectTo(p, `${PAGE}?done=upstream-last`);
  // The sessions this identity started in other browsers end with it (their clients told): a person
  // who unlinks a provider account they no longer trust wants it out. This browser stays signed in.
  let ended = 0;
  for (const other of await p.stores.sessions.listByUser(s.user.id)) {
    const up = other.upstream;
    if (other.idHash === s.session.idHash || !up) continue;
    if (up.providerId !== key.providerId || up.issuer !== key.issuer || up.subject !== key.subject) continue;
    if (await p.stores.sessions.deleteBySid(s.user.id, other.sid)) {
      await sessionEnded(p, other.sid);
      ended++;
    }
  }
  p.events({ type: 'upstream_unlinked', userId: s.user.id, provider: key.providerId, by: 'user' });
  p.log.info(
    { event: 'upstream_unlinked', sub: s.user.id, provider: key.providerId, by: 'user', sessions: ended },
    'upstream identity unlinked by user',
  );
  return redirectTo(p, `${PAGE}?done=upstream-unlinked`);
}

const notLinked: OAuthResponse = {
  kind: 'page',
  status: 404,
  view: { name: 'error', title: msg('account.error.notFound'), message: msg('account.error.notLinked') },
};

/** The providers the re-authentication page offers the user: enabled ones the user has an identity at, in order. */
export async function reauthProviders(
  p: StoreDeps<'upstreams' | 'upstreamIdentities'>,
  userId: string,
): Promise<UpstreamProvider[]> {
  const linked = new Set((await p.stores.upstreamIdentities.listByUser(userId)).map((i) => i.providerId));
  if (linked.size === 0) return [];
  return (await p.stores.upstreams.list()).filter((u) => u.enabled && linked.has(u.id));
}

/** The re-authentication page's provider buttons, and the origins its CSP must let them lead to. */
export async function reauthButtons(
  p: StoreDeps<'upstreams' | 'upstreamIdentities'>,
  userId: string,
): Promise<{ providers: ProviderButton[]; formActions: string[] }> {
  const providers = await reauthProviders(p, userId);
  return { providers: providers.map(button), formActions: upstreamFormActions(providers) };
}

/**
 * POST /account/reauth/upstream (fields `provider`, `return`): re-authentication through a linked
 * provider. The callback requires the identity that comes back to be this user's, and then does
 * what a password re-authentication does (the second factor when the user has one; a new session).
 */
export async function reauthUpstream(p: LinkedDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const ok = await accountForm(p, req, REAUTH_PURPOSE, { provider: 64, return: 200 });
  if ('response' in ok) return ok.response;
  const { s, f } = ok;
  const returnTo = safeReturn(f.return);
  const u = await enabledProvider(p, f.provider);
  if (!u || !(await reauthProviders(p, s.user.id)).some((x) => x.id === u.id)) return noProvider;
  return begin(
    p,
    req,
    u,
    { purpose: 'reauth', userId: s.user.id, returnTo },
    `/account/reauth?return=${encodeURIComponent(returnTo)}`,
  );
}
