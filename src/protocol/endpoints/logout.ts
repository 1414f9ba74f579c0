import { compactVerify, decodeJwt } from 'jose';
import { problemPage } from '../interaction/problem.ts';
import { uiLocalesOf } from './authorize-params.ts';
import type { ClientRecord } from '../../ports/clients.ts';
import type { Stores } from '../../ports/index.ts';
import type { OAuthError } from '../errors.ts';
import { checkCsrf, csrfToken, endSession, loadSession, SESSION_COOKIE } from '../interaction/session.ts';
import { MAX_TOKEN_LENGTH, readParams } from '../params.ts';
import { header, type OAuthResponse, type Provider, type ProtocolRequest } from '../provider.ts';
import { sessionEnded } from '../logout/session-ended.ts';
import { keyResolver } from '../tokens/access-token.ts';
import { subjectFor } from '../tokens/subject.ts';
import type { DepsOf } from '../provider.ts';

/**
 * What /logout uses of the Provider: keys and clients (the hint), subjects, and the session steps
 * (loading, CSRF, ending it and telling its clients).
 */
export type LogoutDeps = Pick<Provider, 'config' | 'keys' | 'events' | 'log' | 'pairwiseKeys'> & {
  readonly stores: Pick<Stores, 'clients'>;
} & DepsOf<typeof loadSession> &
  DepsOf<typeof checkCsrf> &
  DepsOf<typeof csrfToken> &
  DepsOf<typeof endSession> &
  DepsOf<typeof sessionEnded>;

const PARAMS = new Set([
  'id_token_hint',
  'client_id',
  'post_logout_redirect_uri',
  'state',
  'ui_locales',
  'logout_hint',
  'csrf',
  'confirm',
]);
const LIMITS = { id_token_hint: MAX_TOKEN_LENGTH, post_logout_redirect_uri: 2048, client_id: 255, state: 4096 };

/** A sign-out request the application got wrong: the page says so; `detail` (technical, for developers) says what. */
const errorPage = (detail: string): OAuthResponse =>
  problemPage('interaction.problem.logoutInvalid', 400, undefined, detail);

/** Verifies an ID token we issued; expired ones are fine as hints (OpenID RP-Initiated Logout). */
async function readIdTokenHint(
  p: Pick<Provider, 'config' | 'keys'>,
  hint: string,
): Promise<{ sub: string; aud: string[]; sid?: string } | undefined> {
  try {
    const ring = p.keys();
    const { protectedHeader } = await compactVerify(hint, keyResolver(ring) as never, { algorithms: ring.algorithms });
    if (protectedHeader.typ !== undefined && protectedHeader.typ !== 'JWT') return undefined;
    const claims = decodeJwt(hint);
    if (claims.iss !== p.config.issuer || typeof claims.sub !== 'string') return undefined;
    const aud = Array.isArray(claims.aud) ? claims.aud : typeof claims.aud === 'string' ? [claims.aud] : [];
    return { sub: claims.sub, aud, sid: typeof claims.sid === 'string' ? claims.sid : undefined };
  } catch {
    return undefined;
  }
}

/** GET or POST /logout (OpenID Connect RP-Initiated Logout 1.0). */
/**
 * Whether the browser says the request came from another site: Sec-Fetch-Site other than
 * same-origin, or an Origin other than the issuer's. A client that sends neither (not a browser,
 * or an old one) is taken at its word.
 */
function crossSite(p: Pick<Provider, 'config'>, req: ProtocolRequest): boolean {
  const site = header(req, 'sec-fetch-site');
  if (site !== undefined) return site !== 'same-origin';
  const origin = header(req, 'origin');
  return origin !== undefined && origin !== new URL(p.config.issuer).origin;
}

export async function logout(p: LogoutDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  let params;
  try {
    params = readParams(req.params, PARAMS, LIMITS);
  } catch (err) {
    return errorPage((err as OAuthError).description);
  }
  // OpenID RP-Initiated Logout 1.0 section 2: the languages the application asks the pages in (valid tags only).
  const uiLocales = uiLocalesOf(params.ui_locales);
  const language = uiLocales ? { language: { uiLocales } } : {};
  const hint = params.id_token_hint ? await readIdTokenHint(p, params.id_token_hint) : undefined;
  if (params.id_token_hint && !hint) return errorPage('The id_token_hint is not a valid ID token from this server.');
  const clientId = params.client_id ?? (hint?.aud.length === 1 ? hint.aud[0] : undefined);
  if (params.client_id && hint && !hint.aud.includes(params.client_id))
    return errorPage('client_id does not match the id_token_hint.');
  let client: ClientRecord | undefined;
  if (clientId) {
    client = await p.stores.clients.get(clientId);
    if (!client) return errorPage('The application is not registered.');
  }
  const redirect = params.post_logout_redirect_uri;
  if (redirect !== undefined) {
    if (!client) return errorPage('post_logout_redirect_uri needs client_id or id_token_hint.');
    if (!client.postLogoutRedirectUris.includes(redirect))
      return errorPage('post_logout_redirect_uri is not registered for this application.');
  }

  const session = await loadSession(p, req);
  // Log out without asking only when the hint proves the request comes from a client of this
  // very session; otherwise ask the user to confirm (forced-logout protection, ASVS 10.6.2).
  // The hint's sub is the one its client sees: pairwise for a pairwise client (never reversed; the
  // session's user is mapped forward and compared).
  const hintClient =
    hint?.aud.length === 1
      ? client?.clientId === hint.aud[0]
        ? client
        : await p.stores.clients.get(hint.aud[0]!)
      : undefined;
  // RFC 9700 section 4.11.2: a self-registered client's post_logout_redirect_uri is whatever its
  // registrant chose; following it unasked would make /logout an open redirector, so the user is
  // always asked first (signed in or not), and told where the answer goes.
  const untrusted = redirect !== undefined && client?.metadata.registration !== undefined;
  const trusted =
    !untrusted &&
    (!session ||
      (hint !== undefined &&
        hint.sub === subjectFor(p.config.pairwiseSecret, hintClient, session.userId, p.pairwiseKeys) &&
        (hint.sid === undefined || hint.sid === session.sid)));
  // Without a session there is nothing to end, only the redirect the user chose, and no cookie to
  // bind a CSRF token to: the confirmation must not come from another site. A signed-in user's Lax
  // session cookie is not sent on a cross-site POST, so such a POST would otherwise pass as "no
  // session" and turn /logout into an open redirector for a self-registered client.
  const confirmed =
    req.method === 'POST' &&
    params.confirm === 'yes' &&
    (session ? checkCsrf(p, 'logout', req.cookies[SESSION_COOKIE], params.csrf) : !crossSite(p, req));
  if (!trusted && !confirmed) {
    const hidden: Record<string, string> = {};
    for (const k of ['id_token_hint', 'client_id', 'post_logout_redirect_uri', 'state', 'ui_locales'] as const)
      if (params[k] !== undefined) hidden[k] = params[k]!;
    return {
      kind: 'page',
      status: 200,
      ...language,
      formActions: redirect ? [redirect] : [],
      view: {
        name: 'logout-confirm',
        action: `${p.config.issuer}/logout`,
        csrf: session ? csrfToken(p, 'logout', req.cookies[SESSION_COOKIE]!) : '',
        clientName: client?.clientName,
        hidden,
        ...(untrusted ? { unverifiedHost: new URL(redirect).host } : {}),
      },
    };
  }
  const cookies = session ? [await endSession(p, req)] : [];
  // Back-channel logout goes out in the background; front-channel logout frames are on the page below.
  const frames = session ? (await sessionEnded(p, session.sid)).map((f) => f.src) : [];
  if (session) {
    p.events({ type: 'logout', userId: session.userId, clientId, ip: req.ip });
    p.log.info({ event: 'logout', sub: session.userId, client_id: clientId }, 'session ended');
  }
  let next: string | undefined;
  if (redirect !== undefined) {
    const url = new URL(redirect);
    if (params.state !== undefined) url.searchParams.append('state', params.state);
    if (frames.length === 0) return { kind: 'redirect', location: url.href, cookies };
    next = url.href;
  }
  return {
    kind: 'page',
    status: 200,
    ...language,
    view: { name: 'logged-out', frames, continueTo: next },
    cookies,
    frameSources: frames,
  };
}
