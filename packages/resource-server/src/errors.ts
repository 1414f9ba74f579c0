// The errors a resource server answers with: one class per RFC 6750 / RFC 9449 error, each knowing
// its HTTP status. Every failure of a token or a proof is one of these, never a bare Error, so the
// adapters can answer it with the right status and challenge (and never with a 500).

/** The base of every error the SDK throws for a request it refuses. */
export abstract class ResourceServerError extends Error {
  /** The `error` code of the WWW-Authenticate challenge or JSON body. */
  abstract readonly error: string;
  /** The HTTP status to answer with. */
  abstract readonly status: number;
  /** Scopes to name in the challenge (`scope`), if any. */
  scope?: string[];

  constructor(description: string, options?: { cause?: unknown; scope?: string[] }) {
    super(description, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    if (options?.scope) this.scope = options.scope;
  }

  /** The human-readable `error_description` (never contains token material). */
  get description(): string {
    return this.message;
  }
}

/**
 * No credentials in the request (RFC 6750 section 3.1: the challenge then carries no error code). Status 401.
 */
export class MissingTokenError extends ResourceServerError {
  readonly error = '';
  readonly status = 401;
  constructor(description = 'An access token is required.') {
    super(description);
  }
}

/** A malformed request: several credentials, a broken Authorization header (RFC 6750 section 3.1). Status 400. */
export class InvalidRequestError extends ResourceServerError {
  readonly error = 'invalid_request';
  readonly status = 400;
}

/** The token is expired, revoked, malformed, not for this resource or otherwise invalid. Status 401. */
export class InvalidTokenError extends ResourceServerError {
  readonly error = 'invalid_token';
  readonly status = 401;
}

/**
 * The token lacks a scope the request needs (RFC 6750 section 3.1): the client may ask for more (step-up). Status 403.
 */
export class InsufficientScopeError extends ResourceServerError {
  readonly error = 'insufficient_scope';
  readonly status = 403;
  constructor(description: string, scope: string[]) {
    super(description, { scope });
  }
}

/**
 * The token is valid but the user's authentication behind it is not strong or recent enough for this request (RFC
 * 9470): the client asks the authorization server again with `acr_values` and/or `max_age`, which the challenge names.
 * Status 401.
 */
export class InsufficientUserAuthenticationError extends ResourceServerError {
  readonly error = 'insufficient_user_authentication';
  readonly status = 401;
  /** The acr values that would do (the challenge's `acr_values`), if the level fell short. */
  readonly acrValues: string[] | undefined;
  /** The most seconds since authentication (the challenge's `max_age`), if the authentication is too old. */
  readonly maxAge: number | undefined;
  constructor(description: string, need: { acrValues?: string[] | undefined; maxAge?: number | undefined }) {
    super(description);
    this.acrValues = need.acrValues;
    this.maxAge = need.maxAge;
  }
}

/** The DPoP proof is missing, malformed, replayed or does not match the request or the token (RFC 9449). Status 401. */
export class InvalidDpopProofError extends ResourceServerError {
  readonly error = 'invalid_dpop_proof';
  readonly status = 401;
}

/**
 * The DPoP proof lacks the current server nonce (RFC 9449 section 9): the client retries with `nonce`, which the
 * refusal sends in the DPoP-Nonce header. Status 401.
 */
export class UseDpopNonceError extends ResourceServerError {
  readonly error = 'use_dpop_nonce';
  readonly status = 401;
  /** The nonce to use. */
  readonly nonce: string;
  constructor(description: string, nonce: string) {
    super(description);
    this.nonce = nonce;
  }
}

/**
 * The token is bound to a TLS client certificate (RFC 8705) and the request came without that certificate.
 * Status 401, error invalid_token (RFC 8705 section 3).
 */
export class CertificateMismatchError extends InvalidTokenError {}

/**
 * The authorization server (its metadata, JWKS or introspection endpoint) or the replay store could not be
 * reached or answered wrongly: the token can be neither accepted nor refused. Status 503, with Retry-After.
 */
export class ServiceUnavailableError extends ResourceServerError {
  readonly error = 'temporarily_unavailable';
  readonly status = 503;
  /** Seconds after which the client may retry. */
  readonly retryAfter: number;
  constructor(description: string, options?: { cause?: unknown; retryAfter?: number }) {
    super(description, options);
    this.retryAfter = options?.retryAfter ?? 5;
  }
}

/** Whether a value is one of the SDK's request errors. */
export function isResourceServerError(e: unknown): e is ResourceServerError {
  return e instanceof ResourceServerError;
}
