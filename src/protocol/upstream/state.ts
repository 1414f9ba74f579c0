// The redirect to an upstream identity provider and its way back (issue 17). Every way into an
// upstream goes through beginUpstream, and every callback through takeState, so the rules hold for
// all of them: a fresh state, nonce and PKCE verifier per redirect (CSPRNG); the state stored only
// as its hash, single use, short-lived, bound to the provider it was sent to (against mix-up) and
// to this browser by the `tessera_upstream` cookie (against login CSRF and a stolen callback URL).
import { UpstreamError } from '../../ports/upstream-client.ts';
import type { UpstreamProvider, UpstreamPurpose, UpstreamState } from '../../ports/upstreams.ts';
import { randomToken, tokenHash } from '../hash.ts';
import type { CookieSpec, OAuthResponse, Provider, ProtocolRequest, StoreDeps } from '../provider.ts';

/** The browser binding of redirects to upstreams: one random value per browser, shared by its tabs. */
export const UPSTREAM_COOKIE = 'tessera_upstream';

/** Provider ids: they appear in URLs and in the tessera_idp_hint parameter. */
export const PROVIDER_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;

export type BeginDeps = Pick<Provider, 'config' | 'now' | 'upstream'> & StoreDeps<'upstreamStates'>;

/** Where an upstream sends its answer back: one callback URL per provider (RFC 9700 4.4.2). */
export const callbackUrl = (p: Pick<Provider, 'config'>, providerId: string) =>
  `${p.config.issuer}/upstream/${providerId}/callback`;

/** The enabled providers, in the order their buttons are shown. */
export async function enabledUpstreams(p: StoreDeps<'upstreams'>): Promise<UpstreamProvider[]> {
  return (await p.stores.upstreams.list()).filter((u) => u.enabled);
}

/** What a redirect is for: its purpose and what that purpose carries. */
export type BeginPurpose =
  | { purpose: 'login'; interactionUid: string }
  | { purpose: 'account-login' }
  | { purpose: 'link' | 'reauth'; userId: string; returnTo: string };

/** How fresh the upstream's authentication must be: what the application asked of Tessera's. */
export interface FreshAuthentication {
  prompt?: 'login';
  maxAge?: number;
}

/**
 * What an authorization request asks of the upstream's authentication: prompt=login is passed on
 * (with max_age 0, so the ID token's auth_time shows it happened), and so is max_age. A federated
 * sign-in is then no older than the application allows (ASVS 7.6.1).
 */
export function freshnessOf(areq: { prompt?: readonly string[]; maxAge?: number }): FreshAuthentication | undefined {
  if (areq.prompt?.includes('login')) return { prompt: 'login', maxAge: 0 };
  return areq.maxAge !== undefined ? { maxAge: areq.maxAge } : undefined;
}

/** Re-authentication in the account area: a fresh sign-in at the upstream, never its session. */
export const REAUTHENTICATE: FreshAuthentication = { prompt: 'login', maxAge: 0 };

/**
 * Sends the browser to the upstream: stores the state (its hash, the binding, PKCE verifier and
 * nonce) and answers with the redirect and the binding cookie. Rejects with an UpstreamError when
 * the upstream cannot be reached to build the URL (discovery): the caller shows its page.
 */
export async function beginUpstream(
  p: BeginDeps,
  req: ProtocolRequest,
  provider: UpstreamProvider,
  what: BeginPurpose,
  loginHint?: string,
  fresh?: FreshAuthentication,
): Promise<OAuthResponse> {
  const existing = req.cookies[UPSTREAM_COOKIE];
  const binding = existing && existing.length >= 43 && existing.length <= 128 ? existing : randomToken(32);
  const state = randomToken(32);
  const nonce = randomToken(32);
  const codeVerifier = randomToken(48);
  const location = await p.upstream.authorizationUrl(provider, {
    redirectUri: callbackUrl(p, provider.id),
    state,
    nonce,
    codeVerifier,
    ...(loginHint ? { loginHint } : {}),
    ...(fresh?.prompt ? { prompt: fresh.prompt } : {}),
    ...(fresh?.maxAge !== undefined ? { maxAge: fresh.maxAge } : {}),
  });
  const now = p.now();
  const record: UpstreamState = {
    stateHash: tokenHash(state),
    providerId: provider.id,
    bindingHash: tokenHash(binding),
    purpose: what.purpose as UpstreamPurpose,
    ...(what.purpose === 'login' ? { interactionUid: what.interactionUid } : {}),
    ...(what.purpose === 'link' || what.purpose === 'reauth' ? { userId: what.userId, returnTo: what.returnTo } : {}),
    codeVerifier,
    nonce,
    ...(fresh?.maxAge !== undefined ? { maxAge: fresh.maxAge } : {}),
    createdAt: now,
    expiresAt: now + p.config.upstreamStateTtl,
  };
  await p.stores.upstreamStates.create(record);
  const cookie: CookieSpec = { name: UPSTREAM_COOKIE, value: binding, maxAge: p.config.upstreamStateTtl, path: '/' };
  return { kind: 'redirect', location, cookies: [cookie] };
}

/**
 * The state of a callback, taken (once) when the `state` parameter, the provider of this callback
 * URL and this browser's binding cookie all match a live redirect; undefined otherwise (expired,
 * used, another browser's, another provider's), and nothing is burnt by a mismatch.
 */
export async function takeState(
  p: Pick<Provider, 'now'> & StoreDeps<'upstreamStates'>,
  req: ProtocolRequest,
  providerId: string,
): Promise<UpstreamState | undefined> {
  const state = req.params.get('state');
  const binding = req.cookies[UPSTREAM_COOKIE];
  if (!state || state.length > 512 || !binding || binding.length > 128) return undefined;
  return p.stores.upstreamStates.consume(tokenHash(state), providerId, tokenHash(binding), p.now());
}

/** The UpstreamError type guard (the adapter rejects with it; anything else is a bug). */
export const isUpstreamError = (e: unknown): e is UpstreamError => e instanceof UpstreamError;
