// The resource server: one object per protected API or MCP server, built from its options once and
// shared by every request. `authenticate` takes a request and answers with the verified token or
// throws one of the typed errors; `refusal` turns such an error into status, headers and body.
import type { BlockList } from 'node:net';
import { AuthorizationServer, checkEndpoint, type FetchLike } from './authorization-server.ts';
import { checkCertificateBinding, proxyList, type CertificateOptions } from './certificate.ts';
import { refusal, wwwAuthenticate, type ChallengeOptions, type Refusal, type Scheme } from './challenge.ts';
import { DEFAULT_DPOP_ALGORITHMS, DpopNonces, verifyDpopProof } from './dpop.ts';
import {
  InsufficientScopeError,
  InvalidDpopProofError,
  InvalidTokenError,
  isResourceServerError,
  type ResourceServerError,
  ServiceUnavailableError,
} from './errors.ts';
import { Introspector, type IntrospectionOptions } from './introspection.ts';
import { DEFAULT_ALGORITHMS, looksLikeJwt, verifyJwtAccessToken } from './jwt.ts';
import { metadataPath, metadataUrl, resourceProblem, type ProtectedResourceMetadata } from './metadata.ts';
import { MemoryReplayStore, type ReplayStore } from './replay-store.ts';
import { checkStepUp } from './step-up.ts';
import { credentials, requestUrl, singleHeader, type RequestLike } from './request.ts';
import type { VerifiedToken } from './token-info.ts';

export interface ResourceServerOptions {
  /** The issuer of the authorization server (Tessera's TESSERA_ISSUER), exactly. */
  issuer: string;
  /** This resource's identifier: its public URL, the `resource` clients ask for and the `aud` of its tokens. */
  resource: string;
  /** Other audiences accepted besides `resource` (e.g. the same URL with a trailing slash). Default none. */
  additionalAudiences?: string[];
  /** Where the authorization server's metadata is. Default: its RFC 8414 location, then OpenID Connect discovery. */
  authorizationServerMetadataUrl?: string;
  /** JWS algorithms accepted for access tokens. Default: the asymmetric ones (never none or HS*). */
  algorithms?: string[];
  /** Seconds of clock difference tolerated for exp, nbf and iat (default 30, at most 300). */
  clockSkew?: number;
  /** Scopes every request needs (a route can ask for more). */
  requiredScopes?: string[];
  /** Advertised in the metadata (`scopes_supported`). */
  scopesSupported?: string[];
  /** `resource_name` of the metadata. */
  resourceName?: string;
  /** `resource_documentation` of the metadata. */
  resourceDocumentation?: string;
  /** `realm` in challenges. */
  realm?: string;
  /** Introspection (RFC 7662) for opaque tokens, or for all tokens with `always`. */
  introspection?: IntrospectionOptions;
  /**
   * DPoP: `allowed` (default; DPoP-bound tokens need their proof, plain Bearer tokens are accepted), `required` (only
   * DPoP-bound tokens) or `off` (DPoP-bound tokens are refused).
   */
  dpop?: {
    mode?: 'allowed' | 'required' | 'off';
    algorithms?: string[];
    /** Seconds a proof is accepted after its iat (default 60, at most 300). */
    proofWindow?: number;
    /** Where used proofs are remembered. Default: in memory (one process); RedisReplayStore for several. */
    replayStore?: ReplayStore;
    /**
     * Require server nonces in proofs (RFC 9449 section 9): a secret of at least 32 bytes, the same on every instance.
     * A proof without the current nonce gets 401 use_dpop_nonce with the nonce in DPoP-Nonce. Unset: no nonces.
     */
    nonceSecret?: string;
  };
  /** Certificate-bound tokens (RFC 8705) behind a TLS-terminating proxy. Unset: such tokens are refused. */
  certificateBound?: CertificateOptions;
  /** Seconds between JWKS refetches caused by unknown kids (default 30). */
  jwksCooldown?: number;
  /** Seconds a JWKS is used before it is fetched again (default 600). */
  jwksMaxAge?: number;
  /** Milliseconds for one request to the authorization server (default 5000). */
  timeout?: number;
  /** The fetch to reach the authorization server with (e.g. one with a custom CA). */
  fetch?: FetchLike;
  /** The weakest authentication of the user every request accepts (`acr`, RFC 9470); a route can ask for another. */
  acr?: string;
  /** The most seconds since the user authenticated (`auth_time`) for every request; a route can ask for another. */
  maxAge?: number;
  /** The acr values in order, weakest first (a level satisfies the ones before it). Default: Tessera's (TESSERA_ACR_VALUES). */
  acrValues?: readonly string[];
  /** The clock, in seconds since the epoch (tests). */
  now?: () => number;
}

export interface AuthenticateOptions {
  /** Scopes this request needs on top of `requiredScopes`. */
  scopes?: readonly string[];
  /**
   * The weakest authentication of the user this request accepts (RFC 9470), in place of the resource's `acr`: the
   * token's `acr` must be this or stronger (in `acrValues`). E.g. `urn:tessera:acr:mfa` for two factors, `phr` for a
   * passkey. Short of it: 401 insufficient_user_authentication with `acr_values`.
   */
  acr?: string;
  /**
   * The most seconds since the user last authenticated (the token's `auth_time`), in place of the resource's `maxAge`.
   * Older: 401 insufficient_user_authentication with `max_age`.
   */
  maxAge?: number;
}

/** A step-up demand as the code wrote it: a misconfiguration throws (a bug, answered 503), never lets a token pass. */
function checkStepUpOption(name: 'acr' | 'maxAge', v: string | number): void {
  if (name === 'acr' && (typeof v !== 'string' || v === '' || /[^\x21\x23-\x5B\x5D-\x7E]/.test(v)))
    throw new Error('acr must be a non-empty acr value');
  if (name === 'maxAge' && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0))
    throw new Error('maxAge must be a whole number of seconds, at least 0');
}

function seconds(name: string, value: number | undefined, fallback: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0 || v > max) throw new Error(`${name} must be from 0 to ${max} seconds`);
  return v;
}

export class ResourceServer {
  readonly issuer: string;
  readonly resource: string;
  /** The path the metadata document is served at (RFC 9728 section 3.1). */
  readonly metadataPath: string;
  /** The absolute URL of the metadata document. */
  readonly metadataUrl: string;
  readonly authorizationServer: AuthorizationServer;
  readonly #o: ResourceServerOptions;
  readonly #audiences: string[];
  readonly #algorithms: string[];
  readonly #dpopAlgorithms: string[];
  readonly #dpopMode: 'allowed' | 'required' | 'off';
  readonly #proofWindow: number;
  readonly #replay: ReplayStore;
  readonly #nonces: DpopNonces | undefined;
  readonly #skew: number;
  readonly #required: string[];
  readonly #introspector: Introspector | undefined;
  readonly #proxies: BlockList | undefined;
  readonly #now: () => number;

  constructor(options: ResourceServerOptions) {
    const problem = resourceProblem(options.resource);
    if (problem) throw new Error(problem);
    checkEndpoint('issuer', options.issuer);
    this.#o = options;
    this.issuer = options.issuer;
    this.resource = options.resource;
    this.metadataPath = metadataPath(options.resource);
    this.metadataUrl = metadataUrl(options.resource);
    this.#audiences = [options.resource, ...(options.additionalAudiences ?? [])];
    this.#algorithms = options.algorithms ?? DEFAULT_ALGORITHMS;
    for (const alg of this.#algorithms)
      if (alg === 'none' || /^HS/.test(alg)) throw new Error(`algorithm ${alg} is never accepted for access tokens`);
    this.#dpopAlgorithms = options.dpop?.algorithms ?? DEFAULT_DPOP_ALGORITHMS;
    this.#dpopMode = options.dpop?.mode ?? 'allowed';
    this.#proofWindow = seconds('dpop.proofWindow', options.dpop?.proofWindow, 60, 300);
    this.#replay = options.dpop?.replayStore ?? new MemoryReplayStore();
    this.#nonces = options.dpop?.nonceSecret !== undefined ? new DpopNonces(options.dpop.nonceSecret) : undefined;
    this.#skew = seconds('clockSkew', options.clockSkew, 30, 300);
    this.#required = options.requiredScopes ?? [];
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
    const timeout = options.timeout ?? 5000;
    const fetchImpl = options.fetch ?? fetch;
    this.authorizationServer = new AuthorizationServer({
      issuer: options.issuer,
      metadataUrl: options.authorizationServerMetadataUrl,
      fetch: fetchImpl,
      timeout,
      jwksCooldown: seconds('jwksCooldown', options.jwksCooldown, 30, 3600),
      jwksMaxAge: seconds('jwksMaxAge', options.jwksMaxAge, 600, 86_400),
      retryAfter: 5,
    });
    this.#introspector = options.introspection
      ? new Introspector(options.introspection, {
          as: this.authorizationServer,
          audiences: this.#audiences,
          clockSkew: this.#skew,
          timeout,
          fetch: fetchImpl,
          now: this.#now,
        })
      : undefined;
    this.#proxies = options.certificateBound ? proxyList(options.certificateBound.trustedProxies) : undefined;
    for (const [name, v] of [
      ['maxAge', options.maxAge],
      ['acr', options.acr],
    ] as const)
      if (v !== undefined) checkStepUpOption(name, v);
  }

  /** The schemes offered in challenges. */
  get schemes(): Scheme[] {
    if (this.#dpopMode === 'required') return ['DPoP'];
    return this.#dpopMode === 'off' ? ['Bearer'] : ['Bearer', 'DPoP'];
  }

  /** The RFC 9728 document. */
  metadata(): ProtectedResourceMetadata {
    const doc: ProtectedResourceMetadata = {
      resource: this.resource,
      authorization_servers: [this.issuer],
      bearer_methods_supported: ['header'],
    };
    if (this.#o.scopesSupported) doc.scopes_supported = [...this.#o.scopesSupported];
    if (this.#o.resourceName) doc.resource_name = this.#o.resourceName;
    if (this.#o.resourceDocumentation) doc.resource_documentation = this.#o.resourceDocumentation;
    if (this.#dpopMode !== 'off') doc.dpop_signing_alg_values_supported = [...this.#dpopAlgorithms];
    if (this.#dpopMode === 'required') doc.dpop_bound_access_tokens_required = true;
    if (this.#o.certificateBound) doc.tls_client_certificate_bound_access_tokens = true;
    return doc;
  }

  /**
   * Verifies a token by itself, without a request: no DPoP proof and no certificate can be checked, so tokens bound
   * to either are refused (RFC 9449 section 7.2: a DPoP-bound token is not a Bearer token). For verifier interfaces
   * that only see the token (the MCP SDKs' OAuthTokenVerifier).
   */
  async verifyBearerToken(token: string, options: AuthenticateOptions = {}): Promise<VerifiedToken> {
    if (this.#dpopMode === 'required') throw new InvalidTokenError('This resource accepts only DPoP-bound tokens.');
    const info = await this.#verifyToken(token, 'Bearer');
    if (info.cnf?.jkt)
      throw new InvalidTokenError('The token is DPoP-bound: present it with the DPoP scheme and a proof.');
    if (info.cnf?.['x5t#S256']) throw new InvalidTokenError('The token is bound to a client certificate.');
    this.#checkScopes(info, options.scopes);
    this.#checkStepUp(info, options);
    return info;
  }

  /** Authenticates a request: the token, its binding (DPoP proof or certificate) and the scopes needed. */
  async authenticate(req: RequestLike, options: AuthenticateOptions = {}): Promise<VerifiedToken> {
    const { scheme, token } = credentials(req.headers);
    if (scheme === 'Bearer' && this.#dpopMode === 'required')
      throw new InvalidTokenError('This resource accepts only DPoP-bound tokens.');
    if (scheme === 'DPoP' && this.#dpopMode === 'off')
      throw new InvalidTokenError('This resource does not accept DPoP.');
    const info = await this.#verifyToken(token, scheme);
    const jkt = info.cnf?.jkt;
    if (jkt) {
      // RFC 9449 section 7.2: a DPoP-bound token presented as a Bearer token is refused.
      if (scheme !== 'DPoP') throw new InvalidTokenError('The token is DPoP-bound: present it with the DPoP scheme.');
      const proof = singleHeader(req.headers, 'dpop');
      if (!proof) throw new InvalidDpopProofError('A DPoP proof is required.');
      await verifyDpopProof(
        { proof, method: req.method.toUpperCase(), url: requestUrl(req, this.resource), accessToken: token, jkt },
        {
          algorithms: this.#dpopAlgorithms,
          proofWindow: this.#proofWindow,
          clockSkew: this.#skew,
          replay: this.#replay,
          nonces: this.#nonces,
          now: this.#now,
        },
      );
    } else if (scheme === 'DPoP') {
      throw new InvalidTokenError('The token is not DPoP-bound: present it with the Bearer scheme.');
    }
    const x5t = info.cnf?.['x5t#S256'];
    if (x5t) checkCertificateBinding(req, x5t, this.#o.certificateBound, this.#proxies);
    this.#checkScopes(info, options.scopes);
    this.#checkStepUp(info, options);
    return info;
  }

  async #verifyToken(token: string, scheme: Scheme): Promise<VerifiedToken> {
    const introspector = this.#introspector;
    if (introspector && (introspector.always || !looksLikeJwt(token)))
      return { ...(await introspector.verify(token)), token, scheme };
    if (!looksLikeJwt(token)) throw new InvalidTokenError('The access token is malformed.');
    const info = await verifyJwtAccessToken(token, {
      as: this.authorizationServer,
      audiences: this.#audiences,
      algorithms: this.#algorithms,
      clockSkew: this.#skew,
      now: this.#now,
    });
    return { ...info, scheme };
  }

  #checkScopes(info: VerifiedToken, extra: readonly string[] | undefined): void {
    const needed = [...new Set([...this.#required, ...(extra ?? [])])];
    const missing = needed.filter((s) => !info.scopes.includes(s));
    if (missing.length === 0) return;
    // The challenge names every scope the request needs together with those the token has, so a client that asks for
    // exactly the scopes named (rather than the union) does not lose the ones it had (step-up).
    throw new InsufficientScopeError(`The access token lacks the scope ${missing.join(' ')}.`, [
      ...new Set([...info.scopes, ...needed]),
    ]);
  }

  /** RFC 9470: the user's authentication behind the token, against the route's demand or else the resource's. */
  #checkStepUp(info: VerifiedToken, options: AuthenticateOptions): void {
    const acr = options.acr ?? this.#o.acr;
    const maxAge = options.maxAge ?? this.#o.maxAge;
    if (acr === undefined && maxAge === undefined) return;
    if (options.acr !== undefined) checkStepUpOption('acr', options.acr);
    if (options.maxAge !== undefined) checkStepUpOption('maxAge', options.maxAge);
    checkStepUp(info, { acr, maxAge }, { now: this.#now(), clockSkew: this.#skew, order: this.#o.acrValues });
  }

  /** The challenge parameters for a request (which scheme it used, if any). */
  challengeOptions(req?: RequestLike, scopes?: readonly string[]): ChallengeOptions {
    let used: Scheme | undefined;
    try {
      if (req) used = credentials(req.headers).scheme;
    } catch {
      used = undefined;
    }
    const needed = [...new Set([...this.#required, ...(scopes ?? [])])];
    return {
      schemes: this.schemes,
      used,
      resourceMetadata: this.metadataUrl,
      realm: this.#o.realm,
      scope: needed.length ? needed : undefined,
      dpopAlgs: this.#dpopMode === 'off' ? undefined : this.#dpopAlgorithms,
    };
  }

  /**
   * The answer for a failure of `authenticate`: a ResourceServerError as its status and challenge; anything else (a
   * bug) as a 503 without details, never a 500 with a stack.
   */
  refusal(error: unknown, req?: RequestLike, scopes?: readonly string[]): Refusal {
    const e: ResourceServerError = isResourceServerError(error)
      ? error
      : new ServiceUnavailableError('The token could not be verified.', { cause: error });
    return refusal(e, this.challengeOptions(req, scopes));
  }

  /** The WWW-Authenticate value for a request without a token (e.g. a 401 sent by the application itself). */
  challenge(scopes?: readonly string[]): string {
    return wwwAuthenticate(this.challengeOptions(undefined, scopes));
  }
}

/** Builds a resource server (the options are checked at once: a misconfiguration throws here, not per request). */
export function createResourceServer(options: ResourceServerOptions): ResourceServer {
  return new ResourceServer(options);
}
