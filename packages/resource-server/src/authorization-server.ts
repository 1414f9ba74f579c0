// The authorization server as a resource server sees it: its RFC 8414 metadata (or OpenID Connect
// discovery), fetched once and cached, and its JWKS through jose's remote key set, which refetches on
// an unknown kid at most once per cooldown, so random kids cannot make every request a fetch.
import {
  createRemoteJWKSet,
  customFetch,
  errors as joseErrors,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
} from 'jose';
import { ServiceUnavailableError } from './errors.ts';
import { isLoopbackHost } from './metadata.ts';

export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

/** The RFC 8414 fields the SDK reads. */
export interface AuthorizationServerMetadata {
  issuer: string;
  jwks_uri?: string;
  introspection_endpoint?: string;
  dpop_signing_alg_values_supported?: string[];
  [key: string]: unknown;
}

export interface AuthorizationServerOptions {
  issuer: string;
  /** Where the metadata is; default: RFC 8414 then OpenID Connect discovery locations of the issuer. */
  metadataUrl?: string;
  fetch?: FetchLike;
  /** Milliseconds for one HTTP request to the authorization server. */
  timeout: number;
  /** Seconds between JWKS refetches caused by an unknown kid. */
  jwksCooldown: number;
  /** Seconds a fetched JWKS is used before it is fetched again. */
  jwksMaxAge: number;
  /** Seconds after a failed metadata fetch during which requests fail at once instead of fetching again. */
  retryAfter: number;
}

const MAX_METADATA_BYTES = 256 * 1024;

/** https, or http on a loopback host (development). */
export function checkEndpoint(name: string, value: unknown): string {
  if (typeof value !== 'string') throw new Error(`${name} is missing`);
  const url = new URL(value);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname)))
    throw new Error(`${name} must be https (http only on a loopback host)`);
  return url.href;
}

/** The well-known locations of the metadata of `issuer` (RFC 8414 section 3.1, then OpenID Connect Discovery 4). */
export function metadataLocations(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return [
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
    `${url.origin}${path}/.well-known/openid-configuration`,
  ];
}

export class AuthorizationServer {
  readonly #opts: AuthorizationServerOptions;
  readonly #fetch: FetchLike;
  #metadata: Promise<AuthorizationServerMetadata> | undefined;
  #failedAt = 0;
  #jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  constructor(opts: AuthorizationServerOptions) {
    this.#opts = opts;
    this.#fetch = opts.fetch ?? fetch;
  }

  get issuer(): string {
    return this.#opts.issuer;
  }

  /** The metadata, fetched once; a failure is remembered for `retryAfter` seconds, then fetched again. */
  metadata(): Promise<AuthorizationServerMetadata> {
    if (this.#metadata !== undefined) return this.#metadata;
    if (Date.now() - this.#failedAt < this.#opts.retryAfter * 1000)
      return Promise.reject(
        new ServiceUnavailableError('The authorization server metadata is unavailable.', {
          retryAfter: this.#opts.retryAfter,
        }),
      );
    const pending = this.#discover();
    this.#metadata = pending;
    pending.catch(() => {
      this.#metadata = undefined;
      this.#failedAt = Date.now();
    });
    return pending;
  }

  async #discover(): Promise<AuthorizationServerMetadata> {
    const locations = this.#opts.metadataUrl ? [this.#opts.metadataUrl] : metadataLocations(this.#opts.issuer);
    let last: unknown;
    for (const location of locations) {
      try {
        const doc = await this.getJson(location);
        // RFC 8414 section 3.3: the issuer in the document must be the one asked about, exactly.
        if (doc.issuer !== this.#opts.issuer) throw new Error(`metadata at ${location} names another issuer`);
        if (doc.jwks_uri !== undefined) checkEndpoint('jwks_uri', doc.jwks_uri);
        if (doc.introspection_endpoint !== undefined)
          checkEndpoint('introspection_endpoint', doc.introspection_endpoint);
        return doc as AuthorizationServerMetadata;
      } catch (err) {
        last = err;
      }
    }
    throw new ServiceUnavailableError('The authorization server metadata is unavailable.', {
      cause: last,
      retryAfter: this.#opts.retryAfter,
    });
  }

  /** GET a JSON object (200 only, no redirects, bounded size and time). */
  async getJson(url: string): Promise<Record<string, unknown>> {
    const res = await this.#fetch(url, {
      headers: { accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(this.#opts.timeout),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
    if (text.length > MAX_METADATA_BYTES) throw new Error(`${url} answered more than ${MAX_METADATA_BYTES} bytes`);
    const doc: unknown = JSON.parse(text);
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${url} is not a JSON object`);
    return doc as Record<string, unknown>;
  }

  /**
   * The key for a JWS header, from the issuer's JWKS. An unknown kid refetches the set at most once per cooldown (and
   * is then refused: JWKSNoMatchingKey); a JWKS that cannot be fetched is a ServiceUnavailableError.
   */
  readonly key = async (header: JWSHeaderParameters, input: FlattenedJWSInput) => {
    let jwks = this.#jwks;
    if (!jwks) {
      const meta = await this.metadata();
      const uri = checkEndpoint('jwks_uri', meta.jwks_uri);
      jwks = this.#jwks ??= createRemoteJWKSet(new URL(uri), {
        timeoutDuration: this.#opts.timeout,
        cooldownDuration: this.#opts.jwksCooldown * 1000,
        cacheMaxAge: this.#opts.jwksMaxAge * 1000,
        [customFetch]: (url: string, init: RequestInit) => this.#fetch(url, { ...init, redirect: 'manual' }),
      });
    }
    try {
      return await jwks(header, input);
    } catch (err) {
      if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys) throw err;
      if (err instanceof joseErrors.JOSENotSupported || err instanceof joseErrors.JWSInvalid) throw err;
      throw new ServiceUnavailableError('The signing keys of the authorization server are unavailable.', {
        cause: err,
      });
    }
  };
}
