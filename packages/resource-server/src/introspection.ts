// RFC 7662 introspection, for opaque tokens (or every token, when revocation must take effect at
// once): the resource server authenticates as a confidential client. Answers are cached for at most
// min(the token's exp, the configured bound, 60 s), so a revoked token or a disabled client stops
// working within that bound. A failing introspection is a ServiceUnavailableError (503), never an
// accepted token; `active: false` is an InvalidTokenError.
import { createHash, type KeyObject, randomUUID } from 'node:crypto';
import { importJWK, type JWK, SignJWT } from 'jose';
import type { AuthorizationServer, FetchLike } from './authorization-server.ts';
import { checkEndpoint } from './authorization-server.ts';
import { InvalidTokenError, ServiceUnavailableError } from './errors.ts';
import { audiencesOf, authenticationOf, confirmationOf, scopesOf, type VerifiedToken } from './token-info.ts';

/** The longest an introspection answer is ever reused, in seconds. */
export const MAX_CACHE_SECONDS = 60;

export interface IntrospectionOptions {
  clientId: string;
  /** The client secret, for client_secret_basic and client_secret_post. */
  clientSecret?: string;
  /**
   * How the resource server authenticates: client_secret_basic (default) or client_secret_post (RFC 6749 section
   * 2.3.1), or private_key_jwt (RFC 7523: an assertion signed with `privateKey`, its aud the issuer identifier).
   */
  authMethod?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  /** For private_key_jwt: the private key (a CryptoKey, KeyObject or private JWK). */
  privateKey?: CryptoKey | KeyObject | JWK;
  /** For private_key_jwt: its JWS algorithm (default ES256) and key id (kid), if the registered JWKS has several. */
  signingAlg?: string;
  keyId?: string;
  /** Default: the introspection_endpoint of the authorization server's metadata. */
  endpoint?: string;
  /** Introspect every token, JWTs included (revocation then takes effect within the cache bound). Default false. */
  always?: boolean;
  /** Seconds an answer may be reused, 0 to 60 (default 60); never past the token's exp. */
  cacheSeconds?: number;
  /** Most answers kept (default 10 000; the oldest goes first). */
  cacheSize?: number;
}

interface Entry {
  until: number;
  info: Omit<VerifiedToken, 'token' | 'scheme'>;
}

export interface IntrospectorDeps {
  as: AuthorizationServer;
  audiences: readonly string[];
  clockSkew: number;
  timeout: number;
  fetch: FetchLike;
  /** Seconds since the epoch. */
  now: () => number;
}

function form(value: string): string {
  // RFC 6749 section 2.3.1: client_id and client_secret are form-urlencoded before Basic encoding.
  return encodeURIComponent(value).replace(/%20/g, '+');
}

/** A cached answer as handed out: its lists copied, so no caller can change what the next one gets. */
function copy(info: Entry['info']): Entry['info'] {
  return { ...info, scopes: [...info.scopes], audience: [...info.audience] };
}

export class Introspector {
  readonly #o: IntrospectionOptions;
  readonly #d: IntrospectorDeps;
  readonly #cacheSeconds: number;
  readonly #cacheSize: number;
  readonly #cache = new Map<string, Entry>();
  readonly #pending = new Map<string, Promise<Entry>>();

  constructor(options: IntrospectionOptions, deps: IntrospectorDeps) {
    const seconds = options.cacheSeconds ?? MAX_CACHE_SECONDS;
    if (!Number.isFinite(seconds) || seconds < 0 || seconds > MAX_CACHE_SECONDS)
      throw new Error(`introspection.cacheSeconds must be from 0 to ${MAX_CACHE_SECONDS}`);
    if (!options.clientId) throw new Error('introspection needs the clientId of the resource server');
    if (options.authMethod === 'private_key_jwt') {
      if (!options.privateKey) throw new Error('introspection with private_key_jwt needs privateKey');
      if (/^(HS|none)/.test(options.signingAlg ?? 'ES256')) throw new Error('private_key_jwt needs an asymmetric alg');
    } else if (!options.clientSecret) throw new Error('introspection needs the clientSecret of the resource server');
    if (options.endpoint) checkEndpoint('introspection.endpoint', options.endpoint);
    this.#o = options;
    this.#d = deps;
    this.#cacheSeconds = seconds;
    this.#cacheSize = options.cacheSize ?? 10_000;
  }

  get always(): boolean {
    return this.#o.always === true;
  }

  /** Cached answers (for tests and metrics). */
  get cached(): number {
    return this.#cache.size;
  }

  async verify(token: string): Promise<Omit<VerifiedToken, 'token' | 'scheme'>> {
    const key = createHash('sha256').update(token).digest('base64url');
    const now = this.#d.now();
    const hit = this.#cache.get(key);
    if (hit && hit.until > now && hit.info.expiresAt + this.#d.clockSkew > now) return copy(hit.info);
    if (hit) this.#cache.delete(key);
    // Concurrent requests with one token share one introspection.
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = this.#introspect(token).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    const entry = await pending;
    if (entry.until > now) {
      if (this.#cache.size >= this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(key, entry);
    }
    return copy(entry.info);
  }

  async #introspect(token: string): Promise<Entry> {
    const body = new URLSearchParams({ token, token_type_hint: 'access_token' });
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    let answer: Record<string, unknown>;
    try {
      if (this.#o.authMethod === 'private_key_jwt') {
        body.set('client_id', this.#o.clientId);
        body.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
        body.set('client_assertion', await this.#assertion());
      } else if (this.#o.authMethod === 'client_secret_post') {
        body.set('client_id', this.#o.clientId);
        body.set('client_secret', this.#o.clientSecret!);
      } else {
        const pair = `${form(this.#o.clientId)}:${form(this.#o.clientSecret!)}`;
        headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
      }
      const endpoint =
        this.#o.endpoint ??
        checkEndpoint('introspection_endpoint', (await this.#d.as.metadata()).introspection_endpoint);
      const res = await this.#d.fetch(endpoint, {
        method: 'POST',
        headers,
        body: body.toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#d.timeout),
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`introspection answered ${res.status}`);
      const parsed: unknown = JSON.parse(text);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
        throw new Error('introspection answered something other than a JSON object');
      answer = parsed as Record<string, unknown>;
      if (typeof answer.active !== 'boolean') throw new Error('introspection answered without active');
    } catch (err) {
      throw new ServiceUnavailableError('Token introspection is unavailable.', { cause: err });
    }
    return this.#judge(answer);
  }

  /** An RFC 7523 client assertion: iss and sub the client, aud the issuer identifier (rfc7523bis), short-lived. */
  async #assertion(): Promise<string> {
    const alg = this.#o.signingAlg ?? 'ES256';
    const key = this.#o.privateKey!;
    const signingKey = 'kty' in key && typeof key.kty === 'string' ? await importJWK(key as JWK, alg) : key;
    const now = this.#d.now();
    return new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg, typ: 'JWT', ...(this.#o.keyId ? { kid: this.#o.keyId } : {}) })
      .setIssuer(this.#o.clientId)
      .setSubject(this.#o.clientId)
      .setAudience(this.#d.as.issuer)
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(signingKey as CryptoKey | KeyObject);
  }

  #judge(a: Record<string, unknown>): Entry {
    if (a.active !== true) throw new InvalidTokenError('The access token is not active.');
    const now = this.#d.now();
    const skew = this.#d.clockSkew;
    if (a.token_type !== undefined && typeof a.token_type === 'string' && /^refresh_token$/i.test(a.token_type))
      throw new InvalidTokenError('A refresh token is not an access token.');
    if (typeof a.exp !== 'number') throw new InvalidTokenError('The introspected token has no expiry.');
    if (a.exp + skew <= now) throw new InvalidTokenError('The access token has expired.');
    if (typeof a.nbf === 'number' && a.nbf - skew > now)
      throw new InvalidTokenError('The access token is not valid yet.');
    if (a.iss !== undefined && a.iss !== this.#d.as.issuer)
      throw new InvalidTokenError('The access token is from another issuer.');
    const audience = audiencesOf(a.aud);
    if (!audience.some((x) => this.#d.audiences.includes(x)))
      throw new InvalidTokenError('The access token is not for this resource.');
    if (typeof a.client_id !== 'string') throw new InvalidTokenError('The introspected token has no client_id.');
    const cnf = confirmationOf(a.cnf);
    if (cnf === 'malformed') throw new InvalidTokenError('The cnf of the introspected token is malformed.');
    return {
      until: Math.min(a.exp, now + this.#cacheSeconds),
      info: {
        source: 'introspection',
        issuer: typeof a.iss === 'string' ? a.iss : this.#d.as.issuer,
        subject: typeof a.sub === 'string' ? a.sub : undefined,
        clientId: a.client_id,
        scopes: scopesOf(a.scope),
        audience,
        expiresAt: a.exp,
        issuedAt: typeof a.iat === 'number' ? a.iat : undefined,
        jti: typeof a.jti === 'string' ? a.jti : undefined,
        cnf,
        ...authenticationOf(a),
        claims: Object.freeze({ ...a }),
      },
    };
  }
}
