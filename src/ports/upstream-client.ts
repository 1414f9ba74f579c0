// The conversation with an upstream identity provider (issue 17): building its authorization URL,
// completing its callback (state, iss, PKCE, ID token, userinfo or profile) and verifying its
// back-channel logout tokens. The adapter (adapters/upstream/) does it through openid-client over the
// outbound port; the protocol (protocol/upstream/) decides what the answer means for accounts.
import type { UpstreamProvider } from './upstreams.ts';

/** What an upstream said about who signed in, normalized (the provider's claim mapping applied). */
export interface UpstreamProfile {
  /** The issuer that vouched (Microsoft multi-tenant: the tenant's issuer, checked against the template). */
  issuer: string;
  /** The identity's subject (Microsoft: the `oid`; the tenant is in the issuer). */
  subject: string;
  email?: string;
  /** True only when the upstream said so as a boolean true (or GitHub's verified flag). */
  emailVerified: boolean;
  username?: string;
  name?: string;
  givenName?: string;
  familyName?: string;
  groups?: string[];
  amr?: string[];
  acr?: string;
  /** Microsoft: the tenant id. */
  tenant?: string;
  /** Google: the hosted domain (`hd`). */
  hostedDomain?: string;
  /** The upstream's session id (`sid`), for its back-channel logout. */
  sid?: string;
}

/** A logout token that passed OIDC Back-Channel Logout 1.0 section 2.6 (the jti is the caller's to claim). */
export interface UpstreamLogout {
  issuer: string;
  subject?: string;
  sid?: string;
  jti: string;
  /** Epoch seconds: until when the jti must be remembered. */
  expiresAt: number;
}

/**
 * Why a conversation with an upstream failed. The message is for logs only.
 * - unavailable: no answer, a timeout, a 5xx or unreadable discovery: the provider is down;
 * - denied: the upstream answered the authorization request with an error (the person cancelled);
 * - invalid: a response that fails a check (state, iss / mix-up, PKCE, ID token, nonce, tenant).
 */
export class UpstreamError extends Error {
  readonly reason: 'unavailable' | 'denied' | 'invalid';
  /** denied: the upstream's error code (access_denied, ...), safe to show. */
  readonly upstreamError?: string;
  constructor(reason: UpstreamError['reason'], message: string, upstreamError?: string) {
    super(message);
    this.name = 'UpstreamError';
    this.reason = reason;
    if (upstreamError !== undefined) this.upstreamError = upstreamError;
  }
}

export interface UpstreamAuthorization {
  redirectUri: string;
  state: string;
  nonce: string;
  codeVerifier: string;
  loginHint?: string;
  /**
   * The person must authenticate at the upstream now (the application sent prompt=login, or the
   * account area re-authenticates): OpenID Connect `prompt=login`.
   */
  prompt?: 'login';
  /**
   * OpenID Connect `max_age`: the upstream's authentication may be at most this old, which the
   * callback checks against the ID token's `auth_time` (ASVS 7.6.1: federated session lifetimes).
   */
  maxAge?: number;
}

export interface UpstreamClient {
  /** The URL to send the browser to (PKCE S256, state, nonce, response_mode); rejects with an UpstreamError. */
  authorizationUrl(provider: UpstreamProvider, a: UpstreamAuthorization): Promise<string>;
  /**
   * Completes a callback: `params` are its query (GET) or form (POST) parameters. Checks the error
   * and `iss` parameters (RFC 9207, against mix-up), redeems the code with the PKCE verifier,
   * validates the ID token (issuer, audience, nonce, signature) and reads userinfo or the profile
   * endpoint as the provider needs. Rejects with an UpstreamError.
   */
  callback(
    provider: UpstreamProvider,
    a: Omit<UpstreamAuthorization, 'loginHint' | 'prompt'> & { params: URLSearchParams },
  ): Promise<UpstreamProfile>;
  /** Verifies a back-channel logout token of this provider; rejects with an UpstreamError (`invalid`). */
  verifyLogoutToken(provider: UpstreamProvider, token: string): Promise<UpstreamLogout>;
  /** Forgets what it cached of the provider (discovery, keys): after the provider was changed. */
  forget(providerId: string): void;
}
