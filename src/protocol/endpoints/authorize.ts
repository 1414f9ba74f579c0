import type { ClientRecord } from '../../ports/clients.ts';
import type { Stores } from '../../ports/index.ts';
import type { SessionRecord } from '../../ports/sessions.ts';
import { DEFAULT_AUDIENCE, type ConsentRecord } from '../../ports/consents.ts';
import {
  checkAcrRequest,
  essentialAcr,
  parseClaimsRequest,
  requestedClaims,
  claimsBeyondScopes,
  type ClaimsRequest,
} from '../claims-request.ts';
import { OAuthError, invalidRequest } from '../errors.ts';
import { randomToken, tokenHash } from '../hash.ts';
import {
  authorizationError,
  issueCode,
  type AuthorizationRequest,
  type ResponseTarget,
} from '../interaction/authorization-response.ts';
import { errorResponseModeFor, isJwtMode, jarmAlgFor, jarmSigner, responseModeFor } from '../interaction/jarm.ts';
import { askOf, sessionGate } from '../interaction/mfa-policy.ts';
import { loadSessionForClient, touchSession } from '../interaction/session.ts';
import { isScopeToken, readParams, splitScope, type Params } from '../params.ts';
import type { OAuthResponse, Provider, ProtocolRequest } from '../provider.ts';
import { matchRedirectUri } from '../redirect-uri.ts';
import { supportedScopes } from '../scopes.ts';
import { verifyIdTokenHint } from '../tokens/id-token-hint.ts';
import { subjectFor } from '../tokens/subject.ts';
import { problemPage, type ProblemKey } from '../interaction/problem.ts';
import { AUTHORIZE_LIMITS, AUTHORIZE_PARAMS, PAR_URN, uiLocalesOf } from './authorize-params.ts';
import {
  checkResources,
  checkSelfRegisteredRequest,
  currentRegistry,
  isSelfRegistered,
  registryScopesApply,
  scopeSatisfies,
  splitResources,
  withinRegistrationCeiling,
  type ResourceRegistry,
} from '../resources.ts';
import { resolveRequestObject, type RequestObjectDeps } from './request-object.ts';
import { featureEnabled } from '../../config/features.ts';
import { readAuthorizationDetails } from '../authorization-details.ts';
import { isFapiClient } from '../fapi.ts';
import { pkceOptional } from '../pkce.ts';
import { PROVIDER_ID } from '../upstream/state.ts';
import { unusedRegistrationExpired } from '../clients/usage.ts';
import type { DepsOf, StoreDeps } from '../provider.ts';

/** What checkRequest uses of the Provider: settings, and the keys a JARM response would be signed with. */
export type RequestCheckDeps = Pick<Provider, 'config'> & DepsOf<typeof jarmAlgFor> & DepsOf<typeof jarmSigner>;
/** What checkAuthorizationRequest uses: checkRequest's, and the registry for self-registered clients. */
export type AuthorizationRequestDeps = RequestCheckDeps & DepsOf<typeof checkSelfRegisteredRequest>;
/** What starting an interaction uses: the interactions store, its clock and settings. */
export type StartInteractionDeps = Pick<Provider, 'config' | 'now'> & { readonly stores: Pick<Stores, 'interactions'> };
/**
 * What /authorize uses of the Provider: the request checks, pushed requests and request objects,
 * sessions and consents, subjects, and what the answer (a code, an error, an interaction) needs.
 */
export type AuthorizeDeps = AuthorizationRequestDeps &
  StartInteractionDeps &
  RequestObjectDeps &
  Pick<Provider, 'now' | 'pairwiseKeys'> & {
    readonly stores: Pick<Stores, 'clients' | 'pushedRequests' | 'consents' | 'sessions'>;
  } & DepsOf<typeof verifyIdTokenHint> &
  DepsOf<typeof loadSessionForClient> &
  DepsOf<typeof issueCode> &
  DepsOf<typeof sessionGate> &
  DepsOf<typeof authorizationError>;

const LIMITS = AUTHORIZE_LIMITS;

export const INTERACTION_COOKIE = 'tessera_interaction';
/** What startInteraction makes (randomToken(32)): 43 base64url characters. */
const BROWSER_SECRET = /^[A-Za-z0-9_-]{43}$/;

/**
 * An error page of /authorize (interaction/problem.ts): what went wrong, and the technical detail when there is one.
 */
const page = (problem: ProblemKey, detail?: string): OAuthResponse => problemPage(problem, 400, undefined, detail);
/** A request the application got wrong: the page says so, with the OAuth error's description as the detail. */
const invalid = (detail: string): OAuthResponse => page('interaction.problem.invalidRequest', detail);

/**
 * The redirect URI a request will be answered at, or why there is none: the error page /authorize
 * shows (`problem`), and the description /par answers invalid_request with (`message`, technical).
 * Shared by /authorize and /par.
 */
export function resolveRedirectUri(
  client: ClientRecord,
  params: Params,
): string | { problem: ProblemKey; message: string } {
  // redirect_uri may be left out only by a plain OAuth client with exactly one registered URI;
  // OpenID Connect requests must always send it.
  const openid = splitScope(params.scope).includes('openid');
  const redirectUri =
    params.redirect_uri ?? (openid || client.redirectUris.length !== 1 ? undefined : client.redirectUris[0]);
  if (!redirectUri)
    return {
      problem: 'interaction.problem.noRedirect',
      message: 'The application did not say where to send you back to.',
    };
  if (!matchRedirectUri(client, redirectUri))
    return {
      problem: 'interaction.problem.unregisteredRedirect',
      message: 'The application asked to send you to an address it has not registered, so this request was stopped.',
    };
  return redirectUri;
}

/** Steps that must pass before anything may be sent to the redirect_uri; failures show a page. */
async function loadClientAndRedirect(
  p: StoreDeps<'clients'> & DepsOf<typeof unusedRegistrationExpired>,
  params: Params,
): Promise<{ client: ClientRecord; redirectUri: string } | OAuthResponse> {
  const client = params.client_id ? await p.stores.clients.get(params.client_id) : undefined;
  // A registration left unused past TESSERA_REGISTRATION_UNUSED_TTL is gone (clients/usage.ts).
  if (!client || client.disabled || unusedRegistrationExpired(p, client))
    return page('interaction.problem.unknownClient');
  const redirectUri = resolveRedirectUri(client, params);
  if (typeof redirectUri !== 'string') return page(redirectUri.problem);
  return { client, redirectUri };
}

/** Whether this client's authorization requests must come through /par (RFC 9126 section 6). */
export function parRequired(p: Pick<Provider, 'config'>, client: ClientRecord): boolean {
  return (
    p.config.requirePar ||
    client.metadata.require_pushed_authorization_requests === true ||
    isFapiClient(p.config, client)
  );
}

/**
 * checkRequest, then the ceiling of self-registered clients (TESSERA_REGISTRATION_* and registry
 * resources only): every way in (/authorize, /par) runs both.
 */
export async function checkAuthorizationRequest(
  p: AuthorizationRequestDeps,
  client: ClientRecord,
  params: Params,
  redirectUri: string,
): Promise<AuthorizationRequest> {
  const areq = checkRequest(p, client, params, redirectUri);
  // A default scope (none sent) of a self-registered client with registry scopes in its ceiling
  // keeps only what the request's audiences allow (its registered scopes may span several resources).
  if (splitScope(params.scope).length === 0 && registryScopesApply(p.config, client)) {
    const registry = await currentRegistry(p);
    const targets = splitResources(areq.resource);
    const entries = (targets.length ? targets : [p.config.defaultAudience]).map((r) => registry.get(r));
    const kept = splitScope(areq.scope).filter((s) => entries.some((e) => withinRegistrationCeiling(p.config, e, s)));
    if (kept.length === 0)
      throw new OAuthError('invalid_scope', 'scope is required: this client has no default scope.');
    areq.scope = kept.join(' ');
  }
  await checkSelfRegisteredRequest(p, client, {
    grantType: 'authorization_code',
    scope: areq.scope,
    resource: areq.resource,
  });
  return areq;
}

/**
 * The checks of an authorization request once its client and redirect URI are known, shared by
 * /authorize and /par. /authorize sends the errors to the redirect_uri; /par answers them as JSON.
 */
export function checkRequest(
  p: RequestCheckDeps,
  client: ClientRecord,
  params: Params,
  redirectUri: string,
): AuthorizationRequest {
  const responseMode = responseModeFor(client, params.response_mode, featureEnabled(p.config, 'jarm'));
  // JARM: responses are signed with the client's algorithm; when no key has it, the client could
  // not verify them, so nothing is sent to it (an error page instead).
  const responseAlg = jarmAlgFor(p, client);
  if (isJwtMode(responseMode)) jarmSigner(p, responseAlg);
  if (params.request_uri !== undefined)
    throw new OAuthError('request_uri_not_supported', 'request_uri is not supported.');
  if (params.registration !== undefined)
    throw new OAuthError('registration_not_supported', 'The registration parameter is not supported.');
  if (params.response_type === undefined) throw invalidRequest('response_type is required.');
  if (params.response_type !== 'code')
    throw new OAuthError('unsupported_response_type', 'Only response_type=code is supported.');
  if (!client.grantTypes.includes('authorization_code'))
    throw new OAuthError('unauthorized_client', 'This client may not use the authorization code grant.');

  const sent = splitScope(params.scope);
  const supported = supportedScopes(p.config.extraScopes);
  // A scope the server does not offer may be a registry scope in a self-registered client's ceiling:
  // checkSelfRegisteredRequest decides, with the registry and the request's resources.
  const perResource = registryScopesApply(p.config, client);
  for (const s of sent) {
    if (!isScopeToken(s) || !(perResource || supported.includes(s)) || !scopeWithinClient(client, s))
      throw new OAuthError('invalid_scope', `Scope ${s} is not allowed for this client.`);
  }
  // RFC 6749 section 3.3: scope left out, a default applies (and the token response names it).
  const scopes = sent.length > 0 ? sent : defaultScope(p, client);
  if (scopes.length === 0)
    throw new OAuthError('invalid_scope', 'scope is required: this client has no default scope.');
  if (params.code_challenge !== undefined || !pkceOptional(p.config, client)) {
    if (params.code_challenge === undefined) throw invalidRequest('code_challenge is required (PKCE with S256).');
    if (params.code_challenge_method !== 'S256') throw invalidRequest('code_challenge_method must be S256.');
    if (!/^[A-Za-z0-9_-]{43}$/.test(params.code_challenge))
      throw invalidRequest('code_challenge is not a valid S256 challenge.');
  } else {
    // The client's PKCE opt-out (protocol/pkce.ts): only an OpenID Connect request with a nonce (OAuth 2.1 section
    // 7.5.1).
    if (!sent.includes('openid') || params.nonce === undefined)
      throw invalidRequest(
        'code_challenge is required (PKCE with S256), unless the request has the openid scope and a nonce.',
      );
    if (params.code_challenge_method !== undefined)
      throw invalidRequest('code_challenge_method was sent without code_challenge.');
  }

  const prompt = splitScope(params.prompt);
  if (prompt.includes('none') && prompt.length > 1)
    throw invalidRequest('prompt=none cannot be combined with other values.');
  // OpenID Connect Prompt Create 1.0: with self-registration off, prompt=create is not advertised
  // and is refused as an unsupported prompt value (its section 4.1); on, the sign-up page is shown.
  if (prompt.includes('create') && !p.config.selfRegistration)
    throw invalidRequest('prompt=create is not supported: this server has no self-registration.');
  // OIDC Core 5.5: the claims parameter; an essential acr it cannot satisfy fails the request.
  const claims: ClaimsRequest | undefined = params.claims !== undefined ? parseClaimsRequest(params.claims) : undefined;
  checkAcrRequest(claims);
  const acrEssential = essentialAcr(claims);
  // acr_values (OIDC Core 3.1.2.1): voluntary, space-separated, in order of preference.
  const acrValues = splitScope(params.acr_values);
  if (acrValues.length > 16) throw invalidRequest('acr_values lists more than 16 values.');
  const requested = requestedClaims(claims);
  let maxAge: number | undefined;
  if (params.max_age !== undefined) {
    if (!/^\d{1,10}$/.test(params.max_age)) throw invalidRequest('max_age must be a non-negative integer.');
    maxAge = Number(params.max_age);
  }
  if (params.resource !== undefined) checkResource(client, params.resource);
  // RFC 9449 section 10: the code will be bound to this DPoP key thumbprint (base64url SHA-256).
  if (params.dpop_jkt !== undefined && !/^[A-Za-z0-9_-]{43}$/.test(params.dpop_jkt))
    throw invalidRequest('dpop_jkt is not a valid JWK thumbprint.');
  if (params.dpop_jkt !== undefined && !featureEnabled(p.config, 'dpop'))
    throw invalidRequest('dpop_jkt is not supported: DPoP is disabled on this server.');
  const authorizationDetails =
    params.authorization_details !== undefined
      ? readAuthorizationDetails(p.config, params.authorization_details, client.metadata.authorization_details_types)
      : undefined;
  return {
    clientId: client.clientId,
    redirectUri,
    redirectUriSent: params.redirect_uri !== undefined,
    responseMode,
    responseAlg,
    state: params.state,
    scope: scopes.join(' '),
    nonce: params.nonce,
    codeChallenge: params.code_challenge ?? '',
    resource: params.resource,
    prompt,
    maxAge,
    loginHint: params.login_hint,
    ...(uiLocalesOf(params.ui_locales) ? { uiLocales: uiLocalesOf(params.ui_locales) } : {}),
    // An id of the shape of a provider's is kept; whether it names an enabled one is decided on the login page.
    ...(params.tessera_idp_hint !== undefined && PROVIDER_ID.test(params.tessera_idp_hint)
      ? { idpHint: params.tessera_idp_hint }
      : {}),
    ...(params.dpop_jkt !== undefined ? { dpopJkt: params.dpop_jkt } : {}),
    ...(authorizationDetails !== undefined ? { authorizationDetails } : {}),
    ...(isFapiClient(p.config, client) ? { fapi: true } : {}),
    ...(requested ? { claims: requested } : {}),
    ...(acrValues.length ? { acrValues } : {}),
    ...(acrEssential ? { acrEssential } : {}),
    ...(params.id_token_hint !== undefined ? { idTokenHint: params.id_token_hint } : {}),
  };
}

/**
 * Whether the client's own scope allows asking for `s`. An operator-made client's registered scope
 * is its ceiling. A self-registered client's is a hint, never a ceiling, so that a client told
 * `insufficient_scope` can ask again for the union (step-up): its ceiling is the operator's,
 * TESSERA_REGISTRATION_SCOPES and the scopes of the resource asked for (resources.ts
 * checkSelfRegisteredRequest, which every way in runs).
 */
export function scopeWithinClient(client: ClientRecord, s: string): boolean {
  return client.scopes.includes(s) || isSelfRegistered(client);
}

/**
 * The scope of a request that sent none (RFC 6749 section 3.3): TESSERA_DEFAULT_SCOPE when set, else
 * the client's registered scope; either way only scopes the client may have, and never openid: a
 * request that does not ask for openid is not an OpenID Connect request (OIDC Core 3.1.2.1), so it
 * gets no ID token, and its redirect_uri rules stay those of plain OAuth. May be empty.
 */
export function defaultScope(p: Pick<Provider, 'config'>, client: ClientRecord): string[] {
  const base = p.config.defaultScope.length > 0 ? p.config.defaultScope : client.scopes;
  const supported = supportedScopes(p.config.extraScopes);
  // A self-registered client's default stays within the ceiling it is held to (TESSERA_REGISTRATION_SCOPES;
  // with TESSERA_REGISTRATION_RESOURCE_SCOPES its registered scopes, narrowed to the request's
  // audiences by checkAuthorizationRequest).
  const perResource = registryScopesApply(p.config, client);
  const ceiling = isSelfRegistered(client) && !perResource ? p.config.registrationScopes : undefined;
  return [...new Set(base)].filter(
    (s) =>
      s !== 'openid' &&
      isScopeToken(s) &&
      (perResource || supported.includes(s)) &&
      client.scopes.includes(s) &&
      (!ceiling || ceiling.includes(s)),
  );
}

/** RFC 8707: an absolute URI without a fragment, and one the client may ask for. */
export function checkResource(client: ClientRecord, resource: string): void {
  // Several resources (repeated parameters, space-joined by readParams): see protocol/resources.ts.
  checkResources(client, resource);
}

/**
 * RFC 9126 section 4: an authorization request by reference to a pushed request. The stored request
 * is consumed at once (single use, only by the client that pushed it) and only its parameters are
 * used from here on. Failures show a page: no redirect URI from this request can be trusted.
 */
async function pushedParams(
  p: Pick<Provider, 'now'> & StoreDeps<'pushedRequests'>,
  params: Params,
): Promise<Params | OAuthResponse> {
  const uri = params.request_uri!;
  if (!params.client_id) return invalid('client_id is required with request_uri.');
  if (!uri.startsWith(PAR_URN) || !/^[A-Za-z0-9_-]{43}$/.test(uri.slice(PAR_URN.length))) {
    return invalid('request_uri is not one this server issued.');
  }
  const pushed = await p.stores.pushedRequests.consume(tokenHash(uri), params.client_id, p.now());
  if (!pushed) return page('interaction.problem.parExpired');
  return pushed.params;
}

/**
 * RFC 9101: the parameters inside a signed request object replace the outer ones (only client_id
 * must be outside too). When the object is refused, the error goes to the redirect_uri only if the
 * outer parameters name a registered one and authorizationError allows it; otherwise an error page.
 */
async function requestObjectParams(p: AuthorizeDeps, outer: Params): Promise<{ params: Params } | OAuthResponse> {
  const client = outer.client_id ? await p.stores.clients.get(outer.client_id) : undefined;
  if (!client || client.disabled) return page('interaction.problem.unknownClient');
  try {
    return { params: await resolveRequestObject(p, client, outer.request!) };
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err;
    const loaded = await loadClientAndRedirect(p, outer);
    if ('kind' in loaded) return invalid(`${err.description} (${err.code})`);
    return authorizationError(
      p,
      {
        clientId: client.clientId,
        redirectUri: loaded.redirectUri,
        responseMode: errorResponseModeFor(client, outer.response_mode, featureEnabled(p.config, 'jarm')),
        responseAlg: jarmAlgFor(p, client),
        state: outer.state,
      },
      err,
    );
  }
}

/**
 * The request parameter while request objects are disabled: request_not_supported (OIDC Core 6.2), at the redirect URI
 * when it is known.
 */
async function requestNotSupported(p: AuthorizeDeps, params: Params): Promise<OAuthResponse> {
  const err = new OAuthError('request_not_supported', 'Request objects are not supported by this server.');
  const loaded = await loadClientAndRedirect(p, params);
  if ('kind' in loaded) return invalid(`${err.description} (${err.code})`);
  return authorizationError(
    p,
    {
      clientId: loaded.client.clientId,
      redirectUri: loaded.redirectUri,
      responseMode: errorResponseModeFor(loaded.client, params.response_mode, featureEnabled(p.config, 'jarm')),
      responseAlg: jarmAlgFor(p, loaded.client),
      state: params.state,
    },
    err,
  );
}

/** GET or POST /authorize. */
export async function authorize(p: AuthorizeDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  let params: Params;
  try {
    params = readParams(req.params, AUTHORIZE_PARAMS, LIMITS);
  } catch (err) {
    return invalid((err as OAuthError).description);
  }
  const pushed = params.request_uri !== undefined;
  let fromRequestObject = false;
  if (pushed && !featureEnabled(p.config, 'par'))
    return invalid('request_uri is not supported by this server (request_uri_not_supported).');
  if (params.request !== undefined && !featureEnabled(p.config, 'request_object'))
    return requestNotSupported(p, params);
  if (pushed) {
    if (params.request !== undefined) return invalid('request and request_uri cannot be used together.');
    const stored = await pushedParams(p, params);
    if ('kind' in stored) return stored as OAuthResponse;
    params = stored;
  } else if (params.request !== undefined) {
    const resolved = await requestObjectParams(p, params);
    if ('kind' in resolved) return resolved;
    params = resolved.params;
    fromRequestObject = true;
  }
  const loaded = await loadClientAndRedirect(p, params);
  if ('kind' in loaded) return loaded;
  const { client, redirectUri } = loaded;
  const target: ResponseTarget = {
    clientId: client.clientId,
    redirectUri,
    responseMode: errorResponseModeFor(client, params.response_mode, featureEnabled(p.config, 'jarm')),
    responseAlg: jarmAlgFor(p, client),
    state: params.state,
  };
  try {
    if (!pushed && parRequired(p, client))
      throw invalidRequest(
        'This authorization request must be pushed to the pushed authorization request endpoint first (RFC 9126).',
      );
    // A pushed request (PAR) was checked for this when it was pushed.
    if (!pushed && !fromRequestObject && client.metadata.require_signed_request_object === true) {
      throw invalidRequest('This client must send its authorization requests as signed request objects.');
    }
    const areq = await checkAuthorizationRequest(p, client, params, redirectUri);
    return await decide(p, req, client, areq);
  } catch (err) {
    // authorizationError decides whether the error may go to the redirect URI (RFC 9700 section 4.11.2).
    if (err instanceof OAuthError && err.redirectable) return authorizationError(p, target, err);
    throw err;
  }
}

/** Whether a remembered consent covers every scope at every resource of a request (none: the default audience). */
export function consentCovers(
  consent: ConsentRecord,
  scopes: readonly string[],
  resources: readonly string[],
  registry?: ResourceRegistry,
): boolean {
  return (resources.length ? resources : [DEFAULT_AUDIENCE]).every((r) => {
    const granted = Object.hasOwn(consent.resources, r) ? consent.resources[r]! : [];
    // A scope granted at a registry resource covers the scopes under it there (its scope hierarchy).
    const entry = registry?.get(r);
    return scopes.every((s) => scopeSatisfies(entry, granted, s));
  });
}

/**
 * Whether the user must be asked for consent to this request. `known`: the user's remembered consent
 * to the client, when the caller has just read it (decide: with the session), so it is not read again.
 */
export async function needsConsent(
  p: StoreDeps<'consents'> & Pick<Provider, 'resourceRegistry'>,
  client: ClientRecord,
  userId: string,
  areq: AuthorizationRequest,
  known?: { consent: ConsentRecord | undefined },
): Promise<boolean> {
  if (areq.prompt.includes('consent')) return true;
  // RFC 9396: remembered consent covers scopes only; authorization_details are always shown and approved.
  if (areq.authorizationDetails !== undefined) return true;
  if (client.skipConsent) return false;
  // Claims asked for by name beyond what the scopes release are not covered by a remembered consent.
  if (claimsBeyondScopes(areq.claims, splitScope(areq.scope)).length) return true;
  const consent =
    known &&
    (known.consent === undefined || (known.consent.userId === userId && known.consent.clientId === client.clientId))
      ? known.consent
      : await p.stores.consents.get(userId, client.clientId);
  // A remembered consent covers the scopes at the RFC 8707 resources they were given for, no others.
  if (!consent) return true;
  const resources = splitResources(areq.resource);
  return !consentCovers(
    consent,
    splitScope(areq.scope),
    resources,
    resources.length ? await currentRegistry(p) : undefined,
  );
}

/** Decides between an immediate code, an error for prompt=none, or an interaction with the user. */
async function decide(
  p: AuthorizeDeps,
  req: ProtocolRequest,
  client: ClientRecord,
  areq: AuthorizationRequest,
): Promise<OAuthResponse> {
  // The session with its user, the user's admin role and consent to this client, in one read.
  const signedIn = await loadSessionForClient(p, req, client.clientId);
  const session = signedIn?.session;
  const now = p.now();
  // OIDC Core 3.1.2.1: id_token_hint names the user the client expects; another signed-in user
  // means a login (login_required for prompt=none). The hint's sub is the one this client sees
  // (pairwise for a pairwise client): the session's user is mapped forward and compared, never the
  // hint reversed. Nothing of the hinted user is shown: the login page is not filled in from the
  // hint, since the username is a claim the client may not have been granted, and anyone holding
  // an ID token could read it there (a client that knows it sends login_hint).
  let hintedOther = false;
  if (areq.idTokenHint !== undefined) {
    const sub = await verifyIdTokenHint(p, client.clientId, areq.idTokenHint, req.ip);
    const { idTokenHint: _, ...rest } = areq;
    areq = rest;
    hintedOther =
      session !== undefined && subjectFor(p.config.pairwiseSecret, client, session.userId, p.pairwiseKeys) !== sub;
  }
  const tooOld =
    session !== undefined && areq.maxAge !== undefined && (areq.maxAge === 0 || now - session.authTime > areq.maxAge);
  // prompt=create (Prompt Create 1.0): the sign-up page instead of the login page, whatever the session.
  const loginNeeded =
    !session || areq.prompt.includes('login') || tooOld || hintedOther || areq.prompt.includes('create');
  const consentNeeded = signedIn ? await needsConsent(p, client, signedIn.user.id, areq, signedIn) : true;
  if (areq.prompt.includes('none')) {
    if (loginNeeded) throw new OAuthError('login_required', 'The user is not signed in.');
    if (consentNeeded) throw new OAuthError('consent_required', 'The user has not consented.');
  }
  // prompt=select_account: the account chooser is shown only when there is a session to continue with.
  const choose = session !== undefined && !loginNeeded && areq.prompt.includes('select_account');
  if (!choose && areq.prompt.includes('select_account'))
    areq = { ...areq, prompt: areq.prompt.filter((x) => x !== 'select_account') };
  // The second-factor policy and the acr asked for (interaction/mfa-policy.ts): a session that has
  // not passed what this client needs goes through the second-factor step (step-up); an essential
  // acr its user cannot reach is an error to the client (OIDC Core 5.5.1.1).
  const gate = session && !loginNeeded ? await sessionGate(p, req, session, client, askOf(areq), signedIn) : 'ok';
  if (gate === 'unmet')
    throw new OAuthError(
      'unmet_authentication_requirements',
      'The authentication context class asked for as essential cannot be met for this user.',
    );
  if (gate === 'more' && areq.prompt.includes('none'))
    throw new OAuthError('interaction_required', 'The user must pass a second factor.');
  if (session && !loginNeeded && !consentNeeded && !choose && gate === 'ok') {
    await touchSession(p, session);
    return issueCode(p, areq, session);
  }
  return startInteraction(p, client, areq, loginNeeded ? undefined : session, req.cookies[INTERACTION_COOKIE]);
}

/**
 * Stores a pending interaction bound to this browser and sends the browser to its login/consent page.
 * The browser's secret is one __Host- cookie (Path=/, so no sibling host can plant one: see
 * http/cookies.ts), kept for every interaction the browser starts (`browserCookie`, the value it
 * sent) so that sign-ins in two tabs do not overwrite each other's; a new one when it has none.
 */
export async function startInteraction(
  p: StartInteractionDeps,
  client: ClientRecord,
  areq: AuthorizationRequest,
  session: SessionRecord | undefined,
  browserCookie?: string,
): Promise<OAuthResponse> {
  const now = p.now();
  const loginNeeded = !session;
  const uid = randomToken(16);
  const browserSecret =
    browserCookie !== undefined && BROWSER_SECRET.test(browserCookie) ? browserCookie : randomToken(32);
  await p.stores.interactions.create({
    uid,
    clientId: client.clientId,
    params: areq as unknown as Record<string, string>,
    browserHash: tokenHash(browserSecret),
    sessionIdHash: loginNeeded ? null : session!.idHash,
    loginAt: loginNeeded ? null : session!.authTime,
    createdAt: now,
    expiresAt: now + p.config.interactionTtl,
  });
  return {
    kind: 'redirect',
    location: `${p.config.issuer}/interaction/${uid}`,
    cookies: [{ name: INTERACTION_COOKIE, value: browserSecret, maxAge: p.config.interactionTtl, path: '/' }],
  };
}
