import type { ClientRecord } from '../../ports/clients.ts';
import type { SessionRecord } from '../../ports/sessions.ts';
import { OAuthError, invalidRequest } from '../errors.ts';
import { randomToken, tokenHash } from '../hash.ts';
import { authorizationError, issueCode, type AuthorizationRequest, type ResponseTarget } from '../interaction/authorization-response.ts';
import { loadSession } from '../interaction/session.ts';
import { isScopeToken, readParams, splitScope, type Params } from '../params.ts';
import type { OAuthResponse, Provider, ProtocolRequest } from '../provider.ts';
import { matchRedirectUri } from '../redirect-uri.ts';
import { supportedScopes } from '../scopes.ts';

export const AUTHORIZE_PARAMS = new Set([
  'client_id', 'redirect_uri', 'response_type', 'response_mode', 'scope', 'state', 'nonce', 'code_challenge',
  'code_challenge_method', 'prompt', 'max_age', 'login_hint', 'resource', 'request', 'request_uri', 'registration',
  'display', 'ui_locales', 'claims_locales', 'id_token_hint', 'acr_values', 'claims',
]);
const LIMITS = { client_id: 255, redirect_uri: 2048, scope: 1024, nonce: 512, state: 4096, code_challenge: 128, login_hint: 255, resource: 2048 };

export const INTERACTION_COOKIE = 'tessera_interaction';

const page = (title: string, message: string, status = 400): OAuthResponse => ({ kind: 'page', status, view: { name: 'error', title, message } });

/** Steps that must pass before anything may be sent to the redirect_uri; failures show a page. */
async function loadClientAndRedirect(p: Provider, params: Params): Promise<{ client: ClientRecord; redirectUri: string } | OAuthResponse> {
  const client = params.client_id ? await p.stores.clients.get(params.client_id) : undefined;
  if (!client || client.disabled) return page('Unknown application', 'The application that sent you here is not registered with this server, so you cannot sign in to it from here.');
  // redirect_uri may be left out only by a plain OAuth client with exactly one registered URI;
  // OpenID Connect requests must always send it.
  const openid = splitScope(params.scope).includes('openid');
  const redirectUri = params.redirect_uri ?? (openid || client.redirectUris.length !== 1 ? undefined : client.redirectUris[0]);
  if (!redirectUri) return page('Missing redirect address', 'The application did not say where to send you back to.');
  if (!matchRedirectUri(client, redirectUri)) return page('Unregistered redirect address', 'The application asked to send you to an address it has not registered, so this request was stopped.');
  return { client, redirectUri };
}

/** The remaining checks; errors from here on go back to the client's redirect_uri. */
function checkRequest(p: Provider, client: ClientRecord, params: Params, redirectUri: string, target: ResponseTarget): AuthorizationRequest {
  if (params.request !== undefined) throw new OAuthError('request_not_supported', 'Request objects are not supported.');
  if (params.request_uri !== undefined) throw new OAuthError('request_uri_not_supported', 'request_uri is not supported.');
  if (params.registration !== undefined) throw new OAuthError('registration_not_supported', 'The registration parameter is not supported.');
  if (params.response_type === undefined) throw invalidRequest('response_type is required.');
  if (params.response_type !== 'code') throw new OAuthError('unsupported_response_type', 'Only response_type=code is supported.');
  if (!client.grantTypes.includes('authorization_code')) throw new OAuthError('unauthorized_client', 'This client may not use the authorization code grant.');

  const scopes = splitScope(params.scope);
  if (scopes.length === 0) throw new OAuthError('invalid_scope', 'scope is required.');
  const supported = supportedScopes(p.config.extraScopes);
  for (const s of scopes) {
    if (!isScopeToken(s) || !supported.includes(s) || !client.scopes.includes(s)) throw new OAuthError('invalid_scope', `Scope ${s} is not allowed for this client.`);
  }
  if (params.code_challenge === undefined) throw invalidRequest('code_challenge is required (PKCE with S256).');
  if (params.code_challenge_method !== 'S256') throw invalidRequest('code_challenge_method must be S256.');
  if (!/^[A-Za-z0-9_-]{43}$/.test(params.code_challenge)) throw invalidRequest('code_challenge is not a valid S256 challenge.');

  const prompt = splitScope(params.prompt);
  if (prompt.includes('none') && prompt.length > 1) throw invalidRequest('prompt=none cannot be combined with other values.');
  let maxAge: number | undefined;
  if (params.max_age !== undefined) {
    if (!/^\d{1,10}$/.test(params.max_age)) throw invalidRequest('max_age must be a non-negative integer.');
    maxAge = Number(params.max_age);
  }
  if (params.resource !== undefined) checkResource(client, params.resource);
  return {
    clientId: client.clientId, redirectUri, redirectUriSent: params.redirect_uri !== undefined, responseMode: target.responseMode, state: params.state, scope: scopes.join(' '),
    nonce: params.nonce, codeChallenge: params.code_challenge, resource: params.resource, prompt, maxAge, loginHint: params.login_hint,
  };
}

/** RFC 8707: an absolute URI without a fragment, and one the client may ask for. */
export function checkResource(client: ClientRecord, resource: string): void {
  let u: URL | undefined;
  try { u = new URL(resource); } catch { /* reported below */ }
  if (!u || resource.includes('#')) throw new OAuthError('invalid_target', 'resource must be an absolute URI without a fragment.');
  if (client.allowedResources.length && !client.allowedResources.includes(resource)) {
    throw new OAuthError('invalid_target', 'This client may not ask for that resource.');
  }
}

/** GET or POST /authorize. */
export async function authorize(p: Provider, req: ProtocolRequest): Promise<OAuthResponse> {
  let params: Params;
  try {
    params = readParams(req.params, AUTHORIZE_PARAMS, LIMITS);
  } catch (err) {
    return page('Invalid request', (err as OAuthError).description);
  }
  const loaded = await loadClientAndRedirect(p, params);
  if ('kind' in loaded) return loaded;
  const { client, redirectUri } = loaded;
  const mode = params.response_mode;
  const target: ResponseTarget = { redirectUri, responseMode: mode === 'form_post' ? 'form_post' : 'query', state: params.state };
  try {
    if (mode !== undefined && mode !== 'query' && mode !== 'form_post') throw invalidRequest('response_mode must be query or form_post.');
    const areq = checkRequest(p, client, params, redirectUri, target);
    return await decide(p, req, client, areq);
  } catch (err) {
    if (err instanceof OAuthError && err.redirectable) return authorizationError(p, target, err);
    throw err;
  }
}

export async function needsConsent(p: Provider, client: ClientRecord, userId: string, areq: AuthorizationRequest): Promise<boolean> {
  if (areq.prompt.includes('consent')) return true;
  if (client.skipConsent) return false;
  const consent = await p.stores.consents.get(userId, client.clientId);
  return !consent || splitScope(areq.scope).some((s) => !consent.scopes.includes(s));
}

/** Decides between an immediate code, an error for prompt=none, or an interaction with the user. */
async function decide(p: Provider, req: ProtocolRequest, client: ClientRecord, areq: AuthorizationRequest): Promise<OAuthResponse> {
  const session = await loadSession(p, req);
  const now = p.now();
  const tooOld = session !== undefined && areq.maxAge !== undefined && (areq.maxAge === 0 || now - session.authTime > areq.maxAge);
  const loginNeeded = !session || areq.prompt.includes('login') || tooOld;
  const consentNeeded = session ? await needsConsent(p, client, session.userId, areq) : true;
  if (areq.prompt.includes('none')) {
    if (loginNeeded) throw new OAuthError('login_required', 'The user is not signed in.');
    if (consentNeeded) throw new OAuthError('consent_required', 'The user has not consented.');
  }
  if (session && !loginNeeded && !consentNeeded) {
    await p.stores.sessions.touch(session.idHash, now);
    return issueCode(p, areq, session);
  }
  return startInteraction(p, client, areq, loginNeeded ? undefined : session);
}

/** Stores a pending interaction bound to this browser and sends the browser to its login/consent page. */
export async function startInteraction(p: Provider, client: ClientRecord, areq: AuthorizationRequest, session: SessionRecord | undefined): Promise<OAuthResponse> {
  const now = p.now();
  const loginNeeded = !session;
  const uid = randomToken(16);
  const browserSecret = randomToken(32);
  await p.stores.interactions.create({
    uid, clientId: client.clientId, params: areq as unknown as Record<string, string>, browserHash: tokenHash(browserSecret),
    sessionIdHash: loginNeeded ? null : session!.idHash, loginAt: loginNeeded ? null : session!.authTime,
    createdAt: now, expiresAt: now + p.config.interactionTtl,
  });
  const path = `${new URL(p.config.issuer).pathname.replace(/\/$/, '')}/interaction/${uid}`;
  return {
    kind: 'redirect', location: `${p.config.issuer}/interaction/${uid}`,
    cookies: [{ name: INTERACTION_COOKIE, value: browserSecret, maxAge: p.config.interactionTtl, path }],
  };
}
