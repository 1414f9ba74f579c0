import type { Config } from '../../config/config.ts';
import type { ClientRecord } from '../../ports/clients.ts';
import type { CodeRecord } from '../../ports/codes.ts';
import type { Stores } from '../../ports/index.ts';
import { acrLevel, type RequestedClaims } from '../claims-request.ts';
import type { SessionRecord } from '../../ports/sessions.ts';
import type { OAuthError } from '../errors.ts';
import { isLoopbackHost, matchRedirectUri, redirectUriProblem } from '../redirect-uri.ts';
import { timeOrderedKey, timeOrderedToken } from '../hash.ts';
import type { CookieSpec, OAuthResponse, PageLanguage, Provider } from '../provider.ts';
import type { UserRecord } from '../../ports/users.ts';
import { FAPI_CODE_TTL } from '../fapi.ts';
import { isJwtMode, jarmResponseJwt, jarmSigner, type ResponseMode } from './jarm.ts';
import type { DepsOf } from '../provider.ts';
import { msg, type Msg } from '../../i18n/catalog.ts';
import { problemView } from './problem.ts';
import { newGrantId } from '../tokens/access-token.ts';

/** A validated authorization request, as stored while the user logs in and consents. */
export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  /** Whether the request named its redirect_uri (then the token request must repeat it). */
  redirectUriSent: boolean;
  /** query or form_post; the `.jwt` modes sign the response (JARM). */
  responseMode: ResponseMode;
  /** JARM: the algorithm of this client's signed responses, decided with the request (tokens/response-algs.ts). */
  responseAlg?: string;
  state?: string;
  scope: string;
  nonce?: string;
  /** The PKCE S256 challenge; '' when the client's PKCE opt-out let the request go without (see protocol/pkce.ts). */
  codeChallenge: string;
  resource?: string;
  prompt: string[];
  maxAge?: number;
  loginHint?: string;
  /**
   * OIDC Core 3.1.2.1: the languages asked for the pages, in order (authorize-params.ts uiLocalesOf: valid tags only).
   */
  uiLocales?: string;
  /** tessera_idp_hint: the upstream identity provider to send the user straight to (issue 17). */
  idpHint?: string;
  /** RFC 9449 section 10: the DPoP key (JWK thumbprint) the code is bound to. */
  dpopJkt?: string;
  /** RFC 9396: the validated authorization_details (canonical JSON array text). */
  authorizationDetails?: string;
  /** The FAPI 2.0 Security Profile applies (the code lives at most 60 s). */
  fapi?: boolean;
  /** OIDC Core 3.1.2.1: the acr values asked for (voluntary), in order of preference. */
  acrValues?: string[];
  /** OIDC Core 5.5.1.1: the acr values of an essential acr claim request (one must be met). */
  acrEssential?: string[];
  /** OIDC Core 5.5: the user claims the `claims` parameter asked for, per member. */
  claims?: RequestedClaims;
  /** OIDC Core 3.1.2.1: the id_token_hint as sent (verified by /authorize, never stored in an interaction). */
  idTokenHint?: string;
  /** Set when this is the approval of a device authorization (RFC 8628) rather than a redirect-based request. */
  device?: { codeHash: string; userCode: string };
}

/**
 * What a sign-in page knows of its language (provider.ts PageLanguage): the request's ui_locales, and
 * the user's own choice when the page has the user's record at hand anyway.
 */
export const languageOf = (
  areq: Pick<AuthorizationRequest, 'uiLocales'>,
  user?: Pick<UserRecord, 'locale'>,
): PageLanguage => ({
  ...(areq.uiLocales ? { uiLocales: areq.uiLocales } : {}),
  ...(user?.locale ? { userLocale: user.locale } : {}),
});

/**
 * What sending a response to the redirect URI uses: the issuer, the clock, the JARM lifetime, and
 * the keys and algorithm settings a JARM response is signed with.
 */
type ResponseDeps = Pick<Provider, 'now'> & {
  readonly config: Pick<Config, 'issuer' | 'jarmTtl'>;
} & DepsOf<typeof jarmSigner>;
/** What authorizationError uses: the response's, and the clients store (whether the client may be redirected to). */
export type AuthorizationErrorDeps = ResponseDeps & { readonly stores: Pick<Stores, 'clients'> };
/** What issueCode uses: the response's, the codes store and the code lifetime. */
export type IssueCodeDeps = ResponseDeps & {
  readonly config: Pick<Config, 'codeTtl'>;
  readonly stores: Pick<Stores, 'codes'>;
};

export type ResponseTarget = Pick<
  AuthorizationRequest,
  'clientId' | 'redirectUri' | 'responseMode' | 'responseAlg' | 'state'
> &
  Partial<Pick<AuthorizationRequest, 'uiLocales'>>;

/**
 * Sends parameters to the client's redirect_uri, always with state (if any) and iss (RFC 9207).
 * Not exported: a code goes out through issueCode, an error through authorizationError (its guard).
 */
function authorizationResponse(
  p: ResponseDeps,
  target: ResponseTarget,
  fields: Record<string, string>,
  cookies?: CookieSpec[],
): OAuthResponse {
  let all: Record<string, string> = { ...fields };
  if (target.state !== undefined) all.state = target.state;
  if (isJwtMode(target.responseMode)) {
    // JARM: the parameters (with state) go inside one signed JWT, whose iss stands for RFC 9207's.
    all = {
      response: jarmResponseJwt(jarmSigner(p, target.responseAlg), {
        issuer: p.config.issuer,
        clientId: target.clientId,
        now: p.now(),
        ttl: p.config.jarmTtl,
        fields: all,
      }),
    };
  } else {
    all.iss = p.config.issuer;
  }
  if (target.responseMode === 'form_post' || target.responseMode === 'form_post.jwt')
    return { kind: 'form_post', action: target.redirectUri, fields: all, cookies };
  const url = new URL(target.redirectUri);
  for (const [k, v] of Object.entries(all)) url.searchParams.append(k, v);
  return { kind: 'redirect', location: url.href, cookies };
}

/**
 * Whether a redirect URI can only reach the user's own device, so that redirecting to it cannot make
 * this server an open redirector to another site: a loopback http URI (127.0.0.1, [::1], localhost;
 * RFC 8252 section 7.3), or a private-use scheme (reverse domain name, RFC 8252 section 7.1) of a
 * native client. An https URI, whatever its host, is not (`https://localhost` included: a web client's
 * URI is compared as registered, and nothing stops a DNS name from pointing anywhere).
 */
export function staysOnDevice(client: Pick<ClientRecord, 'applicationType'>, redirectUri: string): boolean {
  let u: URL;
  try {
    u = new URL(redirectUri);
  } catch {
    return false;
  }
  if (u.username || u.password || u.hash) return false;
  if (u.protocol === 'http:') return isLoopbackHost(u.hostname);
  if (u.protocol === 'https:') return false;
  return client.applicationType === 'native' && redirectUriProblem(redirectUri, 'native') === undefined;
}

/**
 * The one place that decides whether an authorization error goes to the client's redirect URI
 * (RFC 6749 section 4.1.2.1, RFC 9700 section 4.11.2); every error of /authorize, of a pushed
 * request or request object replayed there, and of the interaction (a denied consent) comes here.
 * It is sent only when the error is redirectable, the client is registered and enabled, the redirect
 * URI is one it registered, and an operator made the client or the redirect URI stays on the user's
 * device (staysOnDevice). A self-registered client's https redirect URI is whatever its registrant
 * chose, so sending it an error (which needs no user, or follows the user's refusal of that very
 * client) would make this server an open redirector: the user gets a page with the error and a link
 * there instead, and decides. That holds for prompt=none answers too (RFC 9700 lists silent
 * authentication among the attacks); codes are not errors and still go. A loopback or private-use
 * redirect URI reaches only an application on the user's own machine, never another site, so the
 * error goes there as RFC 6749 section 4.1.2.1 says (an MCP client waiting on its loopback callback
 * hears of it).
 */
export async function authorizationError(
  p: AuthorizationErrorDeps,
  target: ResponseTarget,
  err: OAuthError,
  cookies?: CookieSpec[],
): Promise<OAuthResponse> {
  const client = await p.stores.clients.get(target.clientId);
  // The page says what happened in the reader's language; the error's description (for developers) is its detail.
  const shown = `${err.description} (${err.code})`;
  const language = { language: languageOf(target) };
  if (!client || client.disabled || !err.redirectable || !matchRedirectUri(client, target.redirectUri)) {
    const view = problemView('interaction.problem.requestNotValid', undefined, shown);
    return { kind: 'page', status: 400, view, cookies, ...language };
  }
  const res = authorizationResponse(p, target, { error: err.code, error_description: err.description }, cookies);
  if (client.metadata.registration === undefined || staysOnDevice(client, target.redirectUri)) return res;
  const denied = err.code === 'access_denied';
  const name = client.clientName || client.clientId;
  let link: { href: string; text: Msg } | undefined;
  if (res.kind === 'redirect') {
    // The query modes can be followed by a plain link; a form_post response cannot (no link then).
    const host = new URL(res.location).host;
    const text = host
      ? msg('interaction.errorPage.returnToHost', { client: name, host })
      : msg('interaction.errorPage.returnTo', { client: name });
    link = { href: res.location, text };
  }
  const view = denied
    ? problemView('interaction.problem.accessDenied', { client: name }, err.code)
    : problemView('interaction.problem.requestNotValid', undefined, shown);
  return {
    kind: 'page',
    status: denied ? 200 : 400,
    cookies,
    ...language,
    view: { ...view, ...(link ? { link } : {}) },
  };
}

/**
 * What the code keeps of the request's claims: the user claims asked for, and the acr values named
 * (the essential acr claim's values, else acr_values), which the tokens' acr answers with.
 */
function codeClaims(areq: AuthorizationRequest): { claims?: RequestedClaims } {
  const acr = (areq.acrEssential ?? areq.acrValues)?.filter((v) => acrLevel(v) >= 0);
  if (!areq.claims && !acr?.length) return {};
  return { claims: { ...(areq.claims ?? { id_token: [], userinfo: [] }), ...(acr?.length ? { acr } : {}) } };
}

/** Issues a single-use authorization code bound to the client, redirect_uri, PKCE challenge and session. */
export async function issueCode(
  p: IssueCodeDeps,
  areq: AuthorizationRequest,
  session: SessionRecord,
  cookies?: CookieSpec[],
): Promise<OAuthResponse> {
  const code = timeOrderedToken();
  const now = p.now();
  const record: CodeRecord = {
    codeHash: timeOrderedKey(code),
    grantId: newGrantId(),
    clientId: areq.clientId,
    userId: session.userId,
    // An empty redirectUri records that the request relied on the single registered URI.
    redirectUri: areq.redirectUriSent === false ? '' : areq.redirectUri,
    scope: areq.scope,
    nonce: areq.nonce ?? null,
    codeChallenge: areq.codeChallenge,
    resource: areq.resource ?? null,
    sid: session.sid,
    authTime: session.authTime,
    amr: session.amr,
    createdAt: now,
    expiresAt: now + (areq.fapi ? Math.min(p.config.codeTtl, FAPI_CODE_TTL) : p.config.codeTtl),
    dpopJkt: areq.dpopJkt ?? null,
    authorizationDetails: areq.authorizationDetails ?? null,
    ...codeClaims(areq),
  };
  await p.stores.codes.create(record);
  return authorizationResponse(p, areq, { code }, cookies);
}
