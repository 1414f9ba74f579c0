// Typed OAuth errors. Each carries a client-safe description and an optional logs-only detail.

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'access_denied'
  | 'server_error'
  | 'temporarily_unavailable'
  | 'unsupported_token_type'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'login_required'
  | 'consent_required'
  | 'interaction_required'
  | 'account_selection_required'
  | 'request_not_supported'
  | 'request_uri_not_supported'
  | 'registration_not_supported'
  | 'invalid_request_uri'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'invalid_request_object'
  | 'invalid_authorization_details'
  | 'authorization_pending'
  | 'slow_down'
  | 'expired_token'
  | 'unmet_authentication_requirements'
  // RFC 7591 section 3.2.2 (dynamic client registration)
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata'
  | 'invalid_software_statement'
  | 'unapproved_software_statement';

const defaultStatus: Partial<Record<OAuthErrorCode, number>> = {
  invalid_client: 401,
  invalid_token: 401,
  insufficient_scope: 403,
  server_error: 500,
  temporarily_unavailable: 503,
};

export class OAuthError extends Error {
  readonly code: OAuthErrorCode;
  readonly status: number;
  /** Client-safe text. */
  readonly description: string;
  /** Logs-only detail: never shown to the client. */
  readonly detail: string | undefined;
  /** False when the error must not be sent to the redirect_uri (unknown client, bad redirect_uri). */
  readonly redirectable: boolean;
  /** Extra response headers (e.g. DPoP-Nonce, or a WWW-Authenticate challenge that replaces the default one). */
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(
    code: OAuthErrorCode,
    description: string,
    opts: { status?: number; detail?: string; redirectable?: boolean; headers?: Record<string, string> } = {},
  ) {
    super(`${code}: ${description}`);
    this.name = 'OAuthError';
    this.code = code;
    this.description = description;
    this.status = opts.status ?? defaultStatus[code] ?? 400;
    this.detail = opts.detail;
    this.redirectable = opts.redirectable ?? true;
    this.headers = opts.headers;
  }

  toJSON(): { error: string; error_description: string } {
    return { error: this.code, error_description: this.description };
  }
}

export const invalidRequest = (description: string, detail?: string) =>
  new OAuthError('invalid_request', description, { detail });
export const invalidGrant = (description: string, detail?: string) =>
  new OAuthError('invalid_grant', description, { detail });
export const invalidClient = (detail?: string) =>
  new OAuthError('invalid_client', 'Client authentication failed.', { detail });
