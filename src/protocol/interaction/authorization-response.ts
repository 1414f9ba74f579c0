import type { CodeRecord } from '../../ports/codes.ts';
import type { RequestedClaims } from '../claims-request.ts';
import type { SessionRecord } from '../../ports/sessions.ts';
import type { OAuthError } from '../errors.ts';
import { randomToken, tokenHash } from '../hash.ts';
import type { CookieSpec, OAuthResponse, Provider } from '../provider.ts';
import { FAPI_CODE_TTL } from '../fapi.ts';
import { isJwtMode, jarmResponseJwt, jarmSigner, type ResponseMode } from './jarm.ts';

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
  codeChallenge: string;
  resource?: string;
  prompt: string[];
  maxAge?: number;
  loginHint?: string;
  /** RFC 9449 section 10: the DPoP key (JWK thumbprint) the code is bound to. */
  dpopJkt?: string;
  /** RFC 9396: the validated authorization_details (canonical JSON array text). */
  authorizationDetails?: string;
  /** The FAPI 2.0 Security Profile applies (the code lives at most 60 s). */
  fapi?: boolean;
  /** OIDC Core 5.5: the user claims the `claims` parameter asked for, per member. */
  claims?: RequestedClaims;
  /** OIDC Core 3.1.2.1: the id_token_hint as sent (verified by /authorize, never stored in an interaction). */
  idTokenHint?: string;
  /** Set when this is the approval of a device authorization (RFC 8628) rather than a redirect-based request. */
  device?: { codeHash: string; userCode: string };
}

export type ResponseTarget = Pick<AuthorizationRequest, 'clientId' | 'redirectUri' | 'responseMode' | 'responseAlg' | 'state'>;

/** Sends parameters to the client's redirect_uri, always with state (if any) and iss (RFC 9207). */
export function authorizationResponse(p: Provider, target: ResponseTarget, fields: Record<string, string>, cookies?: CookieSpec[]): OAuthResponse {
  let all: Record<string, string> = { ...fields };
  if (target.state !== undefined) all.state = target.state;
  if (isJwtMode(target.responseMode)) {
    // JARM: the parameters (with state) go inside one signed JWT, whose iss stands for RFC 9207's.
    all = { response: jarmResponseJwt(jarmSigner(p, target.responseAlg), { issuer: p.config.issuer, clientId: target.clientId, now: p.now(), ttl: p.config.jarmTtl, fields: all }) };
  } else {
    all.iss = p.config.issuer;
  }
  if (target.responseMode === 'form_post' || target.responseMode === 'form_post.jwt') return { kind: 'form_post', action: target.redirectUri, fields: all, cookies };
  const url = new URL(target.redirectUri);
  for (const [k, v] of Object.entries(all)) url.searchParams.append(k, v);
  return { kind: 'redirect', location: url.href, cookies };
}

export function authorizationError(p: Provider, target: ResponseTarget, err: OAuthError, cookies?: CookieSpec[]): OAuthResponse {
  return authorizationResponse(p, target, { error: err.code, error_description: err.description }, cookies);
}

/** Issues a single-use authorization code bound to the client, redirect_uri, PKCE challenge and session. */
export async function issueCode(p: Provider, areq: AuthorizationRequest, session: SessionRecord, cookies?: CookieSpec[]): Promise<OAuthResponse> {
  const code = randomToken(32);
  const now = p.now();
  const record: CodeRecord = {
    codeHash: tokenHash(code), grantId: randomToken(16), clientId: areq.clientId, userId: session.userId,
    // An empty redirectUri records that the request relied on the single registered URI.
    redirectUri: areq.redirectUriSent === false ? '' : areq.redirectUri, scope: areq.scope, nonce: areq.nonce ?? null, codeChallenge: areq.codeChallenge,
    resource: areq.resource ?? null, sid: session.sid, authTime: session.authTime, amr: session.amr,
    createdAt: now, expiresAt: now + (areq.fapi ? Math.min(p.config.codeTtl, FAPI_CODE_TTL) : p.config.codeTtl), dpopJkt: areq.dpopJkt ?? null,
    authorizationDetails: areq.authorizationDetails ?? null,
    ...(areq.claims ? { claims: areq.claims } : {}),
  };
  await p.stores.codes.create(record);
  return authorizationResponse(p, areq, { code }, cookies);
}
