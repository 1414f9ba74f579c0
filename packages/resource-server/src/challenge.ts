// WWW-Authenticate challenges (RFC 6750 section 3, RFC 9449 section 7.1, RFC 9728 section 5.1) and the
// JSON body of a refusal. Pure functions: the adapters only copy status, headers and body out.
import {
  InsufficientUserAuthenticationError,
  type ResourceServerError,
  ServiceUnavailableError,
  UseDpopNonceError,
} from './errors.ts';

export type Scheme = 'Bearer' | 'DPoP';

export interface ChallengeOptions {
  /** The schemes this resource accepts, in the order to offer them. */
  schemes: readonly Scheme[];
  /** The scheme the request used, if any: the error goes into its challenge, offered first. */
  used?: Scheme;
  /** The RFC 9728 metadata URL (`resource_metadata`). */
  resourceMetadata?: string;
  /** `realm`, if set. */
  realm?: string;
  /** Scopes to name when the error carries none (e.g. the scopes the route needs). */
  scope?: readonly string[];
  /** JWS algorithms accepted in DPoP proofs (`algs` of the DPoP challenge). */
  dpopAlgs?: readonly string[];
}

/** The parts of an HTTP answer refusing a request. */
export interface Refusal {
  status: number;
  headers: Record<string, string>;
  body: { error: string; error_description: string };
}

/** RFC 6750 error-description characters (%x20-21 / %x23-5B / %x5D-7E): anything else becomes a space. */
function descriptionText(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, ' ').slice(0, 300);
}

/** An auth-param value as a quoted-string (RFC 9110 section 5.6.4). */
function quoted(value: string): string {
  return `"${value.replace(/[^\x20-\x7E]/g, ' ').replace(/["\\]/g, '\\$&')}"`;
}

function challengeFor(scheme: Scheme, opts: ChallengeOptions, error?: ResourceServerError): string {
  const params: string[] = [];
  if (opts.realm) params.push(`realm=${quoted(opts.realm)}`);
  const carriesError = error && error.error && (opts.used === undefined || opts.used === scheme);
  if (carriesError) {
    params.push(`error=${quoted(error.error)}`);
    params.push(`error_description=${quoted(descriptionText(error.description))}`);
  }
  // RFC 9470 section 3: what authentication would do. max_age is quoted as in the RFC's examples.
  if (carriesError && error instanceof InsufficientUserAuthenticationError) {
    if (error.acrValues?.length) params.push(`acr_values=${quoted(error.acrValues.join(' '))}`);
    if (error.maxAge !== undefined) params.push(`max_age=${quoted(String(error.maxAge))}`);
  }
  const scope = (carriesError ? error.scope : undefined) ?? opts.scope;
  if (scope?.length) params.push(`scope=${quoted(scope.join(' '))}`);
  if (opts.resourceMetadata) params.push(`resource_metadata=${quoted(opts.resourceMetadata)}`);
  if (scheme === 'DPoP' && opts.dpopAlgs?.length) params.push(`algs=${quoted(opts.dpopAlgs.join(' '))}`);
  return params.length ? `${scheme} ${params.join(', ')}` : scheme;
}

/**
 * The WWW-Authenticate value for a refusal: one challenge per accepted scheme, the one the request
 * used first (carrying the error), else in the configured order.
 */
export function wwwAuthenticate(opts: ChallengeOptions, error?: ResourceServerError): string {
  const order = [...opts.schemes];
  if (opts.used && order.includes(opts.used)) order.sort((a, b) => (a === opts.used ? -1 : b === opts.used ? 1 : 0));
  return order.map((s) => challengeFor(s, opts, error)).join(', ');
}

/**
 * The answer to a refused request: the error's status, a challenge on 401 and 403 (RFC 6750 section 3), Retry-After
 * on 503, and the error as JSON. `Cache-Control: no-store` always.
 */
export function refusal(error: ResourceServerError, opts: ChallengeOptions): Refusal {
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (error.status === 401 || error.status === 403) headers['www-authenticate'] = wwwAuthenticate(opts, error);
  if (error instanceof ServiceUnavailableError) headers['retry-after'] = String(error.retryAfter);
  if (error instanceof UseDpopNonceError) headers['dpop-nonce'] = error.nonce;
  return {
    status: error.status,
    headers,
    body: { error: error.error || 'invalid_token', error_description: descriptionText(error.description) },
  };
}
