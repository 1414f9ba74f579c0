// Signing in through an upstream identity provider (issue 17), the way there: the login pages'
// buttons (POST /interaction/:uid/upstream/:provider and /account/upstream/:provider), each
// checked like the login form it sits beside (its CSRF token), and what a sign-in through a
// provider amounts to once its answer came back (callback.ts): the amr, and the identity a session
// records for the provider's back-channel logout.
import { msg } from '../../i18n/catalog.ts';
import type { UpstreamProfile } from '../../ports/upstream-client.ts';
import type { SessionUpstream } from '../../ports/sessions.ts';
import type { UpstreamProvider } from '../../ports/upstreams.ts';
import { forbidden } from '../account/common.ts';
import { ACR_MFA, ACR_PHR, ACR_PHRH } from '../claims-request.ts';
import { readFormParams } from '../params.ts';
import type { DepsOf, OAuthResponse, Provider, ProtocolRequest, StoreDeps } from '../provider.ts';
import { ACCOUNT_LOGIN_COOKIE, loginView as accountLoginView } from '../interaction/account.ts';
import { load, loginView, page, toUpstream, type InteractionDeps } from '../interaction/interaction.ts';
import { unreachable } from './login-options.ts';
import { checkCsrf } from '../interaction/session.ts';
import { beginUpstream, isUpstreamError, PROVIDER_ID } from './state.ts';

/** What the account login's provider button uses: its login page, CSRF, the redirect, events and log. */
export type AccountUpstreamDeps = DepsOf<typeof accountLoginView> &
  DepsOf<typeof checkCsrf> &
  DepsOf<typeof beginUpstream> &
  StoreDeps<'upstreams'> &
  Pick<Provider, 'events' | 'log'>;

const PARAMS = new Set(['csrf']);
const LIMITS = { csrf: 128 };
const form = (req: ProtocolRequest) => readFormParams(req.params, PARAMS, LIMITS);

/** The provider of this id, when it is configured and enabled. */
export async function enabledProvider(
  p: StoreDeps<'upstreams'>,
  id: string | undefined,
): Promise<UpstreamProvider | undefined> {
  if (!id || !PROVIDER_ID.test(id)) return undefined;
  const provider = await p.stores.upstreams.get(id);
  return provider?.enabled ? provider : undefined;
}

const NOT_OFFERED = msg('interaction.error.notOffered');

/** POST /interaction/:uid/upstream/:provider: a login page's button; on to the provider. */
export async function interactionUpstream(
  p: InteractionDeps,
  req: ProtocolRequest,
  uid: string,
  providerId?: string,
): Promise<OAuthResponse> {
  const l = await load(p, req, uid);
  if ('kind' in l) return l;
  const f = form(req);
  if (!f || !checkCsrf(p, `ia:${uid}`, l.browserSecret, f.csrf)) return page('interaction.problem.formExpired', 403);
  if (l.ia.loginAt !== null) return { kind: 'redirect', location: `${p.config.issuer}/interaction/${uid}` };
  const provider = await enabledProvider(p, providerId);
  if (!provider) return loginView(p, l, NOT_OFFERED, undefined, undefined, 404);
  return toUpstream(p, req, l, provider);
}

/** POST /account/upstream/:provider: the account login page's button; on to the provider. */
export async function accountUpstream(
  p: AccountUpstreamDeps,
  req: ProtocolRequest,
  _uid: string,
  providerId?: string,
): Promise<OAuthResponse> {
  const secret = req.cookies[ACCOUNT_LOGIN_COOKIE];
  const f = form(req);
  if (!f || !secret || secret.length > 128 || !checkCsrf(p, 'account-login', secret, f.csrf)) return forbidden;
  const provider = await enabledProvider(p, providerId);
  if (!provider) return accountLoginView(p, secret, NOT_OFFERED, undefined, undefined, 404);
  try {
    return await beginUpstream(p, req, provider, { purpose: 'account-login' });
  } catch (err) {
    if (!isUpstreamError(err)) throw err;
    p.events({ type: 'upstream_login_failed', provider: provider.id, reason: err.reason });
    p.log.warn({ event: 'upstream_unavailable', provider: provider.id, err: err.message }, 'upstream not reached');
    return accountLoginView(p, secret, unreachable(provider.label), undefined, undefined, 503);
  }
}

/** RFC 8176's registry of amr values: only these are passed through from an upstream (trustAmr). */
const RFC8176 = new Set([
  'face',
  'fpt',
  'geo',
  'hwk',
  'iris',
  'kba',
  'mca',
  'mfa',
  'otp',
  'pin',
  'pop',
  'pwd',
  'rba',
  'retina',
  'sc',
  'sms',
  'swk',
  'tel',
  'user',
  'vbm',
  'wia',
]);

/**
 * The amr of a sign-in through an upstream. RFC 8176 has no value for federation: Tessera puts
 * `fed` first (ranked at the single-factor level, claims-request.ts acrFor); then, when the operator
 * trusts the provider's amr (trustAmr), its values that are in RFC 8176's registry; then what the
 * provider's acrMap makes of its acr: mfa adds `mfa`, phr adds `mfa` and `swk`, phrh `mfa` and `hwk`.
 */
export function upstreamAmr(provider: UpstreamProvider, profile: Pick<UpstreamProfile, 'amr' | 'acr'>): string[] {
  const out = ['fed'];
  if (provider.trustAmr) for (const m of profile.amr ?? []) if (typeof m === 'string' && RFC8176.has(m)) out.push(m);
  const mapped =
    profile.acr !== undefined && Object.hasOwn(provider.acrMap, profile.acr) ? provider.acrMap[profile.acr] : undefined;
  if (mapped === ACR_MFA) out.push('mfa');
  if (mapped === ACR_PHR) out.push('mfa', 'swk');
  if (mapped === ACR_PHRH) out.push('mfa', 'hwk');
  return [...new Set(out)];
}

/** The identity a session signed in through an upstream records (and the upstream's session id, `sid`). */
export const sessionUpstream = (provider: UpstreamProvider, profile: UpstreamProfile): SessionUpstream => ({
  providerId: provider.id,
  issuer: profile.issuer,
  subject: profile.subject,
  ...(profile.sid ? { sid: profile.sid } : {}),
});
