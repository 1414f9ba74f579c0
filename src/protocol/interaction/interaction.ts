import type { SignupField, SignupInput } from '../../accounts/registration.ts';
import type { Msg } from '../../i18n/catalog.ts';
import type { InteractionRecord } from '../../ports/interactions.ts';
import type { ClientMetadata } from '../../ports/clients.ts';
import type { UpstreamProvider as UpstreamProviderRecord } from '../../ports/upstreams.ts';
import { claimsBeyondScopes } from '../claims-request.ts';
import { isMetadataDocumentClient } from '../clients/metadata-document.ts';
import { isLoopbackHost } from '../redirect-uri.ts';
import { consentCovers, needsConsent, INTERACTION_COOKIE, startInteraction } from '../endpoints/authorize.ts';
import { OAuthError } from '../errors.ts';
import { tokenHash, safeEqual } from '../hash.ts';
import { readFormParams, splitScope } from '../params.ts';
import type { CookieSpec, OAuthResponse, Provider, ProtocolRequest, Unverified } from '../provider.ts';
import { consentScopes, currentRegistry, describeResource, splitResources } from '../resources.ts';
import { releasedByScope } from '../directory-claims.ts';
import { scopeWords } from '../scopes.ts';
import { describeAuthorizationDetails } from '../authorization-details.ts';
import { authorizationError, issueCode, languageOf, type AuthorizationRequest } from './authorization-response.ts';
import { approveDevice, denyDevice } from './device.ts';
import { checkLogin, loginPageAnswer } from './login-throttle.ts';
import { askOf, beginSecondFactor, requirementFor, sessionGate } from './mfa-policy.ts';
import { checkCsrf, csrfToken, loadSession, startSession, touchSession } from './session.ts';
import { emailVerificationRequired, unverifiedEmailAnswer } from './email.ts';
import { passkeyLoginBlock } from '../passkeys.ts';
import { problemPage } from './problem.ts';
import type { DepsOf, StoreDeps } from '../provider.ts';
import type { SessionUpstream } from '../../ports/sessions.ts';
import type { UserRecord } from '../../ports/users.ts';
import { hintedUpstream, unreachable, upstreamButtons } from '../upstream/login-options.ts';
import { beginUpstream, freshnessOf, isUpstreamError } from '../upstream/state.ts';

/**
 * What loading an interaction uses: the interactions and clients stores, the clock, and this
 * browser's session (when the interaction's was replaced).
 */
type LoadDeps = Pick<Provider, 'now'> & StoreDeps<'interactions' | 'clients'> & DepsOf<typeof loadSession>;
/** What the login and sign-up pages use: settings (the issuer, sign-up) and the CSRF token's secret. */
type PageDeps = Pick<Provider, 'config'> & DepsOf<typeof csrfToken>;
/** What the login page uses besides: the clock (passkey options) and the upstream providers (its buttons). */
type LoginPageDeps = PageDeps & Pick<Provider, 'now'> & DepsOf<typeof upstreamButtons>;
/**
 * What the consent page and the account chooser use besides: the signed-in user, the consent remembered, the
 * resources' names.
 */
type UserPageDeps = PageDeps &
  StoreDeps<'sessions' | 'users' | 'consents'> &
  DepsOf<typeof describeResource> &
  DepsOf<typeof releasedByScope>;
/** What finish uses: the interactions and sessions stores, the clock, and what a device approval or a code needs. */
type FinishDeps = Pick<Provider, 'now'> &
  StoreDeps<'interactions' | 'sessions'> &
  DepsOf<typeof approveDevice> &
  DepsOf<typeof issueCode> &
  DepsOf<typeof gate>;
/**
 * What the interaction endpoints (GET /interaction/:uid, its select, login and consent forms) use of
 * the Provider: loading, the pages and finishing; settings, clock, events and the stores they read;
 * and the steps they call (CSRF, the login check, the session, consent, a new interaction, a device's
 * denial, an error answer).
 */
export type InteractionDeps = LoadDeps &
  UserPageDeps &
  FinishDeps &
  Pick<Provider, 'config' | 'now' | 'events'> &
  StoreDeps<'clients' | 'interactions' | 'sessions' | 'users' | 'consents'> &
  DepsOf<typeof checkCsrf> &
  DepsOf<typeof checkLogin> &
  DepsOf<typeof startSession> &
  DepsOf<typeof needsConsent> &
  DepsOf<typeof startInteraction> &
  DepsOf<typeof denyDevice> &
  DepsOf<typeof requirementFor> &
  DepsOf<typeof beginSecondFactor> &
  DepsOf<typeof authorizationError> &
  DepsOf<typeof emailVerificationRequired> &
  DepsOf<typeof unverifiedEmailAnswer> &
  LoginPageDeps &
  DepsOf<typeof hintedUpstream> &
  DepsOf<typeof beginUpstream>;

const FORM_PARAMS = new Set(['username', 'password', 'csrf', 'decision']);
const LIMITS = { username: 255, password: 1024, csrf: 128, decision: 16 };

/** An error page of the sign-in (interaction/problem.ts). */
export const page = problemPage;
export const EXPIRED = page('interaction.problem.expired');

export interface Loaded {
  ia: InteractionRecord;
  areq: AuthorizationRequest;
  browserSecret: string;
  clientName: string;
  /**
   * Registered through /register (RFC 7591) or made from a metadata document (both have
   * `metadata.registration`): its name is unverified, and its logo is not shown.
   */
  selfRegistered: boolean;
  /**
   * A Client ID Metadata Document client (clients/metadata-document.ts): its client_id's host, and
   * whether every redirect URI it lists is on the user's own device (loopback).
   */
  document?: { host: string; localOnly: boolean };
  /** RFC 7591 section 2: the client's logo, home page, privacy policy and terms, as registered. */
  display?: Pick<ClientMetadata, 'logo_uri' | 'client_uri' | 'policy_uri' | 'tos_uri'>;
}

/** Loads a live interaction and checks that this browser is the one that started it. */
export async function load(p: LoadDeps, req: ProtocolRequest, uid: string): Promise<Loaded | OAuthResponse> {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(uid)) return EXPIRED;
  const ia = await p.stores.interactions.get(uid);
  if (!ia || ia.expiresAt <= p.now()) return EXPIRED;
  const browserSecret = req.cookies[INTERACTION_COOKIE];
  if (!browserSecret || !safeEqual(tokenHash(browserSecret), ia.browserHash)) {
    return page('interaction.problem.notRecognised', 403);
  }
  const client = await p.stores.clients.get(ia.clientId);
  if (!client || client.disabled) return page('interaction.problem.clientGone');
  if (ia.loginAt !== null && ia.sessionIdHash && !(await p.stores.sessions.get(ia.sessionIdHash))) {
    // The session this sign-in started with was replaced since (a new session id after a further
    // factor, ASVS 7.2.4: e.g. the enrolment in the account area that continues here): this
    // browser's current session goes on with it, when it started after this sign-in's login.
    const current = await loadSession(p, req);
    if (current && current.authTime >= ia.loginAt) {
      await p.stores.interactions.setLogin(uid, current.idHash, current.authTime);
      ia.sessionIdHash = current.idHash;
      ia.loginAt = current.authTime;
    }
  }
  return {
    ia,
    areq: ia.params as unknown as AuthorizationRequest,
    browserSecret,
    clientName: client.clientName || client.clientId,
    selfRegistered: client.metadata.registration !== undefined,
    display: {
      logo_uri: client.metadata.logo_uri,
      client_uri: client.metadata.client_uri,
      policy_uri: client.metadata.policy_uri,
      tos_uri: client.metadata.tos_uri,
    },
    ...(isMetadataDocumentClient(client)
      ? {
          document: {
            host: hostOf(client.clientId),
            localOnly: client.redirectUris.length > 0 && client.redirectUris.every(isLoopbackRedirect),
          },
        }
      : {}),
  };
}

const isLoopbackRedirect = (uri: string) => {
  try {
    const u = new URL(uri);
    return u.protocol === 'http:' && isLoopbackHost(u.hostname);
  } catch {
    return false;
  }
};

const hostOf = (uri: string) => {
  try {
    return new URL(uri).host || uri;
  } catch {
    return uri;
  }
};

/**
 * RFC 9700 section 4.11.2, RFC 7591 section 5, RFC 8628 section 5.4: a self-registered client's
 * name is its own claim, so every page that names it says so (with where the answer goes, or, for
 * a device approval, that it goes to the device).
 */
export const unverified = (l: Loaded): { unverified?: Unverified } =>
  l.selfRegistered
    ? {
        unverified: {
          ...(l.areq.device ? {} : { host: hostOf(l.areq.redirectUri) }),
          ...(l.document ? { documentHost: l.document.host } : {}),
        },
      }
    : {};
export const action = (p: Pick<Provider, 'config'>, uid: string, step: string) =>
  `${p.config.issuer}/interaction/${uid}/${step}`;
/** Where the page's forms may lead: the client's redirect URI, or nowhere else for a device approval. */
export const formActions = (areq: AuthorizationRequest) => (areq.device ? [] : [areq.redirectUri]);

/**
 * The scopes the consent page asks for. Step-up: a client that asks again for the union of what it
 * has and what a resource told it it lacks (`insufficient_scope`) gets a consent for the new scopes
 * only, those a remembered consent of this user does not cover yet at every resource of the
 * request; the consent given covers the union afterwards. prompt=consent shows the page even then
 * (MCP SDK 2.x sends it on every step-up), still asking only for what is new. All of them for a
 * device, or when each is covered already (the consent is then for something else: claims,
 * authorization details, or prompt=consent asking to confirm what was given).
 */
export async function scopesToAsk(
  p: StoreDeps<'consents'> & Pick<Provider, 'resourceRegistry'>,
  userId: string,
  clientId: string,
  areq: AuthorizationRequest,
): Promise<string[]> {
  const scopes = splitScope(areq.scope);
  // A device approval shows all it gives the device (RFC 8628 section 5.4: the user may not be
  // the one holding it).
  if (areq.device) return scopes;
  const consent = await p.stores.consents.get(userId, clientId);
  if (!consent) return scopes;
  const resources = splitResources(areq.resource);
  const registry = resources.length ? await currentRegistry(p) : undefined;
  const fresh = scopes.filter((s) => !consentCovers(consent, [s], resources, registry));
  return fresh.length ? fresh : scopes;
}

/**
 * The CSRF purpose of a consent form, bound to the scopes it asked for: a form that asked for fewer
 * than the request has (step-up) stops working if the consent it relied on is revoked meanwhile.
 */
const consentPurpose = (uid: string, asked: readonly string[]) => `ia:${uid}:consent:${asked.join(' ')}`;

/**
 * The client's logo, home page and policies for the consent page: the logo as Tessera serves it
 * (client-logos.ts), only when it is at hand (no image element that would show broken), and only
 * for a client an operator made: a self-registered or metadata document client's logo is its own
 * claim, as its name is, so it is neither fetched nor shown (its links stay, beside the warning).
 */
async function clientDisplay(p: Pick<Provider, 'config' | 'clientLogos'>, l: Loaded) {
  const d = l.display ?? {};
  const logo =
    !l.selfRegistered &&
    d.logo_uri !== undefined &&
    p.clientLogos !== undefined &&
    (await p.clientLogos.ready(l.ia.clientId, d.logo_uri))
      ? `${p.config.issuer}/clients/${encodeURIComponent(l.ia.clientId)}/logo`
      : undefined;
  return {
    ...(logo ? { clientLogo: logo } : {}),
    ...(d.client_uri ? { clientUri: d.client_uri } : {}),
    ...(d.policy_uri ? { policyUri: d.policy_uri } : {}),
    ...(d.tos_uri ? { tosUri: d.tos_uri } : {}),
  };
}

async function consentView(
  p: UserPageDeps & StoreDeps<'consents'> & Pick<Provider, 'clientLogos'>,
  l: Loaded,
  status = 200,
): Promise<OAuthResponse> {
  const session = l.ia.sessionIdHash ? await p.stores.sessions.get(l.ia.sessionIdHash) : undefined;
  const user = session ? await p.stores.users.get(session.userId) : undefined;
  if (!user) return EXPIRED;
  const asked = await scopesToAsk(p, user.id, l.ia.clientId, l.areq);
  // draft-ietf-oauth-client-id-metadata-document: who the client says it is and where the answer
  // goes, whether this user has ever consented to it, and the warning for redirects to this device.
  const document = l.document && {
    clientIdHost: l.document.host,
    redirectHost: hostOf(l.areq.redirectUri),
    firstTime: !(await p.stores.consents.get(user.id, l.ia.clientId)),
    localOnly: l.document.localOnly,
  };
  // RFC 8707: each resource by its registry name, and its scopes by the registry's descriptions.
  const uris = splitResources(l.areq.resource);
  const registered = await Promise.all(uris.map((uri) => describeResource(p, uri)));
  const registryScopes = new Map(registered.flatMap((r) => r?.scopes ?? []).map((s) => [s.name, s.description]));
  // What each scope releases of the directory's claims (groups, roles, attributes) to this client and these resources.
  const releases = await releasedByScope(p, l.ia.clientId, uris);
  return {
    kind: 'page',
    status,
    language: languageOf(l.areq, user),
    formActions: formActions(l.areq),
    view: {
      name: 'consent',
      action: action(p, l.ia.uid, 'consent'),
      csrf: csrfToken(p, consentPurpose(l.ia.uid, asked), l.browserSecret),
      clientName: l.clientName,
      username: user.username,
      // A scope implied by another one asked at the same resource (the registry's hierarchy) is shown through it.
      scopes: consentScopes(registered, asked).map((name) => ({
        name,
        description: scopeWords(name, registryScopes.get(name)),
        ...(releases.has(name) ? { releases: releases.get(name) } : {}),
      })),
      ...(uris.length
        ? { resources: uris.map((uri, i) => ({ uri, ...(registered[i] ? { name: registered[i].displayName } : {}) })) }
        : {}),
      userCode: l.areq.device?.userCode,
      claims: claimsBeyondScopes(l.areq.claims, l.areq.scope.split(' ')),
      ...(l.areq.authorizationDetails
        ? { authorizationDetails: describeAuthorizationDetails(JSON.parse(l.areq.authorizationDetails)) }
        : {}),
      ...unverified(l),
      ...(document ? { clientIdDocument: document } : {}),
      ...(await clientDisplay(p, l)),
    },
  };
}

/**
 * The login page of an interaction: the password form, the passkey button, and a button per enabled
 * upstream identity provider (POST /interaction/:uid/upstream/:provider, with the login form's token).
 * `status`: an upstream's failure (503 when it could not be reached, 404 when it is not offered); the
 * alert is then about the provider, and the fields, not used, are not marked invalid.
 */
export async function loginView(
  p: LoginPageDeps,
  l: Loaded,
  error?: Msg,
  username?: string,
  retryAfter?: number,
  status?: number,
): Promise<OAuthResponse> {
  const { buttons: upstreams, formActions: upstreamActions } = await upstreamButtons(p, (id) =>
    action(p, l.ia.uid, `upstream/${id}`),
  );
  const answer = loginPageAnswer(error, retryAfter);
  return {
    kind: 'page',
    ...answer,
    ...(status !== undefined ? { status } : {}),
    language: languageOf(l.areq),
    formActions: [...formActions(l.areq), ...upstreamActions],
    view: {
      name: 'login',
      action: action(p, l.ia.uid, 'login'),
      csrf: csrfToken(p, `ia:${l.ia.uid}`, l.browserSecret),
      clientName: l.clientName,
      username: username ?? l.areq.loginHint,
      error,
      ...unverified(l),
      ...(p.config.selfRegistration ? { signupUrl: action(p, l.ia.uid, 'signup') } : {}),
      passkey: passkeyLoginBlock(p, action(p, l.ia.uid, 'passkey'), `ia:${l.ia.uid}`, l.browserSecret),
      ...(p.config.passwordReset ? { forgotUrl: `${p.config.issuer}/forgot-password` } : {}),
      ...(upstreams.length ? { upstreams } : {}),
      ...(status !== undefined ? { upstreamError: true } : {}),
    },
  };
}

/**
 * Sends the browser to an upstream to sign in for this interaction (a button, a hint or a home
 * realm). An upstream that cannot be reached gives the login page again, 503, saying so.
 */
export async function toUpstream(
  p: InteractionDeps,
  req: ProtocolRequest,
  l: Loaded,
  provider: UpstreamProviderRecord,
  loginHint?: string,
): Promise<OAuthResponse> {
  try {
    return await beginUpstream(
      p,
      req,
      provider,
      { purpose: 'login', interactionUid: l.ia.uid },
      loginHint,
      freshnessOf(l.areq),
    );
  } catch (err) {
    if (!isUpstreamError(err)) throw err;
    p.events({ type: 'upstream_login_failed', provider: provider.id, reason: err.reason, clientId: l.ia.clientId });
    p.log.warn({ event: 'upstream_unavailable', provider: provider.id, err: err.message }, 'upstream not reached');
    return loginView(p, l, unreachable(provider.label), undefined, undefined, 503);
  }
}

/** prompt=select_account with a session: the account chooser (continue as this user, or another). */
async function selectAccountView(p: UserPageDeps, l: Loaded): Promise<OAuthResponse> {
  const session = l.ia.sessionIdHash ? await p.stores.sessions.get(l.ia.sessionIdHash) : undefined;
  const user = session ? await p.stores.users.get(session.userId) : undefined;
  if (!user) return EXPIRED;
  return {
    kind: 'page',
    status: 200,
    language: languageOf(l.areq, user),
    formActions: formActions(l.areq),
    view: {
      name: 'select-account',
      action: action(p, l.ia.uid, 'select'),
      csrf: csrfToken(p, `ia:${l.ia.uid}`, l.browserSecret),
      clientName: l.clientName,
      username: user.username,
      ...unverified(l),
    },
  };
}

/** Whether this interaction asked for the sign-up page (prompt=create) and sign-up is on. */
export const creating = (p: Pick<Provider, 'config'>, l: Loaded): boolean =>
  p.config.selfRegistration && l.areq.prompt.includes('create');

/** The sign-up page (signup.ts handles its form). */
export function signupView(
  p: PageDeps,
  l: Loaded,
  opts: {
    values?: Partial<SignupInput>;
    errors?: Partial<Record<SignupField, Msg>>;
    error?: Msg;
    status?: number;
  } = {},
): OAuthResponse {
  const v = opts.values ?? {};
  return {
    kind: 'page',
    status: opts.status ?? 200,
    language: languageOf(l.areq),
    formActions: formActions(l.areq),
    view: {
      name: 'signup',
      action: action(p, l.ia.uid, 'signup'),
      csrf: csrfToken(p, `ia:${l.ia.uid}`, l.browserSecret),
      clientName: l.clientName,
      emailRequired: p.config.selfRegistrationEmail === 'required',
      values: { username: v.username ?? '', email: v.email ?? '', name: v.name ?? '' },
      errors: opts.errors ?? {},
      error: opts.error,
      ...unverified(l),
      // Reached from the login page: a way back to it. With prompt=create the client asked for sign-up.
      ...(creating(p, l) ? {} : { loginUrl: `${p.config.issuer}/interaction/${l.ia.uid}` }),
    },
  };
}

const choosing = (l: Loaded) => l.ia.loginAt !== null && l.areq.prompt.includes('select_account');

/** GET /interaction/:uid: the login page, the account chooser, or the consent page once the user is signed in. */
export async function showInteraction(p: InteractionDeps, req: ProtocolRequest, uid: string): Promise<OAuthResponse> {
  const l = await load(p, req, uid);
  if ('kind' in l) return l;
  if (choosing(l)) return selectAccountView(p, l);
  if (l.ia.loginAt === null && creating(p, l)) return signupView(p, l);
  if (l.ia.loginAt === null) {
    // tessera_idp_hint, or a login_hint in a provider's home realm: straight to that provider, once.
    // The pages of a sign-in that failed there come back with ?hint=off, so that the person can
    // choose another way instead of being sent to the provider again.
    const hinted =
      req.params.get('hint') === 'off'
        ? undefined
        : await hintedUpstream(p, { idpHint: l.areq.idpHint, email: l.areq.loginHint });
    if (hinted) return toUpstream(p, req, l, hinted, l.areq.loginHint);
    return loginView(p, l);
  }
  const session = l.ia.sessionIdHash ? await p.stores.sessions.get(l.ia.sessionIdHash) : undefined;
  if (!session) return EXPIRED;
  const stop = await gate(p, req, l, session, []);
  if (stop) return stop;
  // Back from a step elsewhere (enrolling a factor in the account area) with nothing left to consent to.
  const client = await p.stores.clients.get(l.ia.clientId);
  if (client && !(await needsConsent(p, client, session.userId, l.areq))) return finish(p, req, l, []);
  return consentView(p, l);
}

const unmet = () =>
  new OAuthError(
    'unmet_authentication_requirements',
    'The authentication context class asked for as essential cannot be met for this user.',
  );

/**
 * The second-factor gate of a session about to be used for this interaction's client (the policy and
 * the acr asked for: mfa-policy.ts sessionGate). Nothing when it may go on; else the second-factor
 * step (/interaction/:uid/mfa: a factor, step-up or enrolment), or, for an essential acr its user
 * cannot reach, the end of the interaction with unmet_authentication_requirements.
 */
async function gate(
  p: Pick<Provider, 'config'> &
    StoreDeps<'clients' | 'interactions'> &
    DepsOf<typeof sessionGate> &
    DepsOf<typeof authorizationError>,
  req: ProtocolRequest,
  l: Loaded,
  session: { userId: string; amr: string[] },
  cookies: CookieSpec[],
): Promise<OAuthResponse | undefined> {
  const client = await p.stores.clients.get(l.ia.clientId);
  const verdict = await sessionGate(p, req, session, client, askOf(l.areq));
  if (verdict === 'ok') return undefined;
  if (verdict === 'more') return { kind: 'redirect', location: action(p, l.ia.uid, 'mfa'), cookies };
  if (!(await p.stores.interactions.consume(l.ia.uid))) return EXPIRED;
  return authorizationError(p, l.areq, unmet(), cookies);
}

/**
 * POST /interaction/:uid/select: the account chooser's answer. This interaction ends (once); the
 * request goes on without select_account, in a new interaction: as the signed-in user (to consent,
 * or straight to the code), or to the login page with no session ("use another account").
 */
export async function selectAccount(p: InteractionDeps, req: ProtocolRequest, uid: string): Promise<OAuthResponse> {
  const l = await load(p, req, uid);
  if ('kind' in l) return l;
  const form = readForm(req);
  if (!form || !checkCsrf(p, `ia:${uid}`, l.browserSecret, form.csrf))
    return page('interaction.problem.formExpired', 403);
  if (!choosing(l)) return { kind: 'redirect', location: `${p.config.issuer}/interaction/${uid}` };
  if (form.decision !== 'continue' && form.decision !== 'switch') return selectAccountView(p, l);
  const client = await p.stores.clients.get(l.ia.clientId);
  if (!client || client.disabled) return page('interaction.problem.clientGone');
  const ia = await p.stores.interactions.consume(uid);
  if (!ia) return EXPIRED;
  const areq: AuthorizationRequest = { ...l.areq, prompt: l.areq.prompt.filter((x) => x !== 'select_account') };
  const session =
    form.decision === 'continue' && ia.sessionIdHash ? await p.stores.sessions.get(ia.sessionIdHash) : undefined;
  if (form.decision === 'continue') {
    const user =
      session && session.expiresAt > p.now() && session.lastSeenAt + p.config.sessionIdleTtl > p.now()
        ? await p.stores.users.get(session.userId)
        : undefined;
    if (!user || user.disabled) return EXPIRED;
  }
  if (
    session &&
    !(await needsConsent(p, client, session.userId, areq)) &&
    (await sessionGate(p, req, session, client, askOf(areq))) === 'ok'
  ) {
    await touchSession(p, session);
    return issueCode(p, areq, session);
  }
  return startInteraction(p, client, areq, session, l.browserSecret);
}

const readForm = (req: ProtocolRequest) => readFormParams(req.params, FORM_PARAMS, LIMITS);

/** Ends the interaction (once) and sends the code to the client (or approves the device). */
export async function finish(
  p: FinishDeps,
  req: ProtocolRequest,
  l: Loaded,
  cookies: CookieSpec[],
): Promise<OAuthResponse> {
  // The session must have passed what this client needs (second factor, acr) before it is used.
  const current = l.ia.sessionIdHash ? await p.stores.sessions.get(l.ia.sessionIdHash) : undefined;
  if (!current) return EXPIRED;
  const stop = await gate(p, req, l, current, cookies);
  if (stop) return stop;
  const ia = await p.stores.interactions.consume(l.ia.uid);
  if (!ia || !ia.sessionIdHash) return EXPIRED;
  const session = await p.stores.sessions.get(ia.sessionIdHash);
  if (!session) return EXPIRED;
  await touchSession(p, session);
  // The interaction cookie stays: it is the browser's, shared by the interactions of its other tabs (authorize.ts
  // startInteraction).
  if (l.areq.device) return approveDevice(p, req, l.areq, session, l.clientName, cookies);
  return issueCode(p, l.areq, session, cookies);
}

/** POST /interaction/:uid/login */
export async function submitLogin(p: InteractionDeps, req: ProtocolRequest, uid: string): Promise<OAuthResponse> {
  const l = await load(p, req, uid);
  if ('kind' in l) return l;
  const form = readForm(req);
  if (!form || !checkCsrf(p, `ia:${uid}`, l.browserSecret, form.csrf))
    return page('interaction.problem.formExpired', 403);
  if (l.ia.loginAt !== null) return { kind: 'redirect', location: `${p.config.issuer}/interaction/${uid}` };
  const username = form.username ?? '';
  // Home-realm discovery: an email address typed without a password, in a provider's home realm.
  if (!form.password && username.includes('@')) {
    const realm = await hintedUpstream(p, { email: username.trim() });
    if (realm) return toUpstream(p, req, l, realm, username.trim());
  }
  const result = await checkLogin(p, req.ip, username, form.password ?? '', { client_id: l.ia.clientId });
  if ('error' in result) return loginView(p, l, result.error, username, result.retryAfter);
  return afterFirstFactor(p, req, l, result.user, ['pwd']);
}

/**
 * The steps of a sign-in once its first factor passed (a password, an upstream identity provider):
 * the same for every first factor. TESSERA_EMAIL_VERIFICATION=before-sign-in holds back an account
 * whose address is not verified yet (email.ts); then the second factor (mfa-policy.ts): no session
 * until it is passed; an essential acr this user cannot reach ends the request (OIDC Core 5.5.1.1);
 * a user the policy wants enrolled is signed in and sent to enrol (or skip, within the grace
 * period); then consent, or the answer. `upstream`: the identity an upstream sign-in came through,
 * which the session records (directly, or after the second factor).
 */
export async function afterFirstFactor(
  p: InteractionDeps,
  req: ProtocolRequest,
  l: Loaded,
  user: UserRecord,
  amr: string[],
  upstream?: SessionUpstream,
): Promise<OAuthResponse> {
  const uid = l.ia.uid;
  if (emailVerificationRequired(p, user)) return unverifiedEmailAnswer(p, req, user);
  const client = await p.stores.clients.get(l.ia.clientId);
  const next = await requirementFor(p, req, user, amr, client, askOf(l.areq));
  if (next.kind === 'unmet') {
    if (!(await p.stores.interactions.consume(uid))) return EXPIRED;
    return authorizationError(p, l.areq, unmet());
  }
  if (next.kind === 'factor') {
    const pending = await beginSecondFactor(p, user.id, amr, `ia:${uid}`, false, upstream);
    return { kind: 'redirect', location: action(p, uid, 'mfa'), cookies: [pending.cookie] };
  }
  if (next.kind === 'enrol') {
    const { session, cookies } = await startSession(p, req, user.id, amr, upstream);
    await p.stores.interactions.setLogin(uid, session.idHash, session.authTime);
    return { kind: 'redirect', location: action(p, uid, 'mfa'), cookies };
  }
  return signedIn(p, req, l, user.id, amr, upstream);
}

/**
 * A user authenticated in this interaction with nothing more due (a passkey, or afterFirstFactor
 * with the policy met): the new session with its amr, then consent if needed, else the answer.
 */
export async function signedIn(
  p: InteractionDeps,
  req: ProtocolRequest,
  l: Loaded,
  userId: string,
  amr: string[],
  upstream?: SessionUpstream,
): Promise<OAuthResponse> {
  const { session, cookies } = await startSession(p, req, userId, amr, upstream);
  await p.stores.interactions.setLogin(l.ia.uid, session.idHash, session.authTime);
  const client = await p.stores.clients.get(l.ia.clientId);
  if (client && (await needsConsent(p, client, userId, l.areq)))
    return { kind: 'redirect', location: `${p.config.issuer}/interaction/${l.ia.uid}`, cookies };
  return finish(p, req, { ...l, ia: { ...l.ia, sessionIdHash: session.idHash, loginAt: session.authTime } }, cookies);
}

/** POST /interaction/:uid/consent */
export async function submitConsent(p: InteractionDeps, req: ProtocolRequest, uid: string): Promise<OAuthResponse> {
  const l = await load(p, req, uid);
  if ('kind' in l) return l;
  const form = readForm(req);
  const session =
    l.ia.loginAt !== null && l.ia.sessionIdHash ? await p.stores.sessions.get(l.ia.sessionIdHash) : undefined;
  // The consent page's form is bound to the scopes it asked for (consentPurpose).
  const purpose = session
    ? consentPurpose(uid, await scopesToAsk(p, session.userId, l.ia.clientId, l.areq))
    : `ia:${uid}`;
  if (!form || !checkCsrf(p, purpose, l.browserSecret, form.csrf)) return page('interaction.problem.formExpired', 403);
  if (l.ia.loginAt === null || !l.ia.sessionIdHash)
    return { kind: 'redirect', location: `${p.config.issuer}/interaction/${uid}` };
  if (form.decision === 'deny') {
    if (!(await p.stores.interactions.consume(uid))) return EXPIRED;
    if (l.areq.device) return denyDevice(p, req, l.areq, session?.userId ?? '', l.clientName, []);
    return authorizationError(p, l.areq, new OAuthError('access_denied', 'The user denied the request.'));
  }
  if (form.decision !== 'allow') return consentView(p, l, 400);
  if (!session) return EXPIRED;
  const scopes = l.areq.scope.split(' ');
  await p.stores.consents.grant(session.userId, l.ia.clientId, scopes, p.now(), splitResources(l.areq.resource));
  const detailTypes = l.areq.authorizationDetails
    ? [...new Set((JSON.parse(l.areq.authorizationDetails) as { type: string }[]).map((d) => d.type))]
    : undefined;
  p.events({
    type: 'consent_granted',
    userId: session.userId,
    clientId: l.ia.clientId,
    scopes,
    ip: req.ip,
    ...(detailTypes ? { authorizationDetailsTypes: detailTypes } : {}),
  });
  return finish(p, req, l, []);
}
