import {
  createLocalJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type FlattenedJWSInput,
  type JWTVerifyOptions,
  type JWTVerifyResult,
} from 'jose';
import type { ClientRecord } from '../../ports/clients.ts';
import { OutboundError, type OutboundHttp } from '../../ports/outbound.ts';
import type { Provider } from '../provider.ts';
import { fetchableUriProblem } from './public-address.ts';
import { publicKeyProblem } from '../tokens/key-limits.ts';

/** Whose keys: a client, or anything shaped like one (a token-exchange trusted issuer). */
export type KeyOwner = Pick<ClientRecord, 'clientId'> & {
  metadata: Pick<ClientRecord['metadata'], 'jwks' | 'jwks_uri'>;
};

/** Largest key set document accepted from a jwks_uri. */
export const MAX_JWKS_BYTES = 64 * 1024;
/** How long a jwks_uri fetch may take in all. */
export const JWKS_FETCH_TIMEOUT_MS = 5000;
const MAX_KEYS = 100;
/**
 * Most keys a dynamically registered client may register inline (RFC 7591 jwks): a signing key and
 * its successor during a rotation need two; ten leaves room for several algorithms.
 */
export const MAX_REGISTERED_KEYS = 10;
/**
 * Most of a client's keys tried for one JWS: when more match its header (no kid, or a kid shared by
 * several keys), the JWT is refused without verifying anything. Each try is a signature check (an
 * RSA-4096 one costs about 0.2 ms, and a failed one is not cheaper), so without a bound a client with
 * many keys could make every JWT it sends (or one sent in its name) cost a hundred checks.
 */
export const MAX_KEY_CANDIDATES = 3;
/** Members that only private or symmetric keys have: refused in a client's public key set. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** Why a client's keys could not be had; the message is for logs only. */
export class ClientKeysError extends Error {
  readonly reason:
    | 'no_keys'
    | 'jwks_uri_refused'
    | 'jwks_fetch_failed'
    | 'jwks_invalid'
    | 'no_matching_key'
    | 'ambiguous_key';
  constructor(reason: ClientKeysError['reason'], message: string) {
    super(message);
    this.name = 'ClientKeysError';
    this.reason = reason;
  }
}

/** Several of the client's keys match a JWS header; the verifier tries each. */
class SeveralClientKeys extends ClientKeysError {
  readonly candidates: CryptoKey[];
  constructor(candidates: CryptoKey[]) {
    super('no_matching_key', `${candidates.length} registered keys match`);
    this.candidates = candidates;
  }
}

/**
 * jose's jwtVerify with the client's keys: when several keys match the header (duplicate kid, or
 * no kid), each is tried and the first that verifies the signature wins; when more than
 * MAX_KEY_CANDIDATES match, none is tried (ClientKeysError ambiguous_key: the JWT must name its key).
 */
export async function verifyWithClientKeys(
  keys: ClientKeys,
  client: KeyOwner,
  jwt: string,
  opts: JWTVerifyOptions,
): Promise<JWTVerifyResult> {
  try {
    return await jwtVerify(jwt, (h: JWSHeaderParameters, t: FlattenedJWSInput) => keys.key(client, h, t), opts);
  } catch (err) {
    if (!(err instanceof SeveralClientKeys)) throw err;
    for (const key of err.candidates) {
      try {
        return await jwtVerify(jwt, key, opts);
      } catch (e) {
        if (!(e instanceof joseErrors.JWSSignatureVerificationFailed)) throw e;
      }
    }
    throw new ClientKeysError(
      'no_matching_key',
      `none of the ${err.candidates.length} matching keys verifies the signature`,
    );
  }
}

/**
 * Problems of a client key set (inline or fetched): not an object with keys, private members, symmetric keys. Empty
 * when fine.
 */
export function jwksProblems(jwks: unknown): string[] {
  if (jwks === null || typeof jwks !== 'object' || Array.isArray(jwks)) return ['must be an object with a keys array'];
  const keys = (jwks as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0) return ['must have a non-empty keys array'];
  if (keys.length > MAX_KEYS) return [`has more than ${MAX_KEYS} keys`];
  const problems: string[] = [];
  keys.forEach((k: unknown, i) => {
    if (k === null || typeof k !== 'object' || Array.isArray(k)) {
      problems.push(`key ${i} is not an object`);
      return;
    }
    const key = k as Record<string, unknown>;
    const limit = publicKeyProblem(key);
    if (limit) problems.push(`key ${i}: ${limit}${limit.startsWith('kty') ? ' (public keys only)' : ''}`);
    const priv = PRIVATE_MEMBERS.filter((m) => m in key);
    if (priv.length) problems.push(`key ${i} has private members (${priv.join(', ')}): register public keys only`);
    if (key.kid !== undefined && typeof key.kid !== 'string') problems.push(`key ${i}: kid must be a string`);
  });
  return problems;
}

/**
 * Problems of a jwks_uri value (https, or http on a loopback host when allowed; no credentials or
 * fragment). `name` names the field in the messages: the same rules hold for every client URL the
 * server itself fetches or posts to (sector_identifier_uri, backchannel_logout_uri).
 */
export function jwksUriProblem(uri: unknown, allowLoopback: boolean, name = 'jwks_uri'): string | undefined {
  return fetchableUriProblem(name, uri, allowLoopback);
}

/** The outbound port's failures as the ClientKeysErrors callers know (same message): refused, failed, invalid. */
const REASONS = { refused: 'jwks_uri_refused', failed: 'jwks_fetch_failed', invalid: 'jwks_invalid' } as const;
const asClientKeysError = (err: unknown): unknown =>
  err instanceof OutboundError ? new ClientKeysError(REASONS[err.reason], err.message) : err;

/**
 * Fetches a client's key set through the outbound port: https only (http to loopback only with the
 * development allowance), connecting only to addresses checked after resolution, no redirects
 * followed, at most MAX_JWKS_BYTES, within JWKS_FETCH_TIMEOUT_MS.
 */
export async function fetchJwks(
  outbound: OutboundHttp,
  uri: string,
  allowLoopback: boolean,
  timeoutMs = JWKS_FETCH_TIMEOUT_MS,
): Promise<JSONWebKeySet> {
  const doc = await fetchClientJson(
    outbound,
    'jwks_uri',
    uri,
    allowLoopback,
    timeoutMs,
    'application/jwk-set+json, application/json',
  );
  const problems = jwksProblems(doc);
  if (problems.length) throw new ClientKeysError('jwks_invalid', `jwks_uri document ${problems.join('; ')}`);
  return doc as JSONWebKeySet;
}

/**
 * Fetches a JSON document from a client's server (its jwks_uri, its sector_identifier_uri) with the
 * rules of fetchJwks; `name` labels the messages. Rejects with a ClientKeysError.
 */
export function fetchClientJson(
  outbound: OutboundHttp,
  name: string,
  uri: string,
  allowLoopback: boolean,
  timeoutMs = JWKS_FETCH_TIMEOUT_MS,
  accept = 'application/json',
): Promise<unknown> {
  return outbound
    .getJson(uri, { name, allowLoopback, timeoutMs, accept, maxBytes: MAX_JWKS_BYTES })
    .catch((err: unknown) => {
      throw asClientKeysError(err);
    });
}

/**
 * POSTs an application/x-www-form-urlencoded body to a client's URL under the rules of fetchJwks,
 * the whole exchange within timeoutMs. Resolves with the HTTP status; rejects with a ClientKeysError
 * (reason jwks_uri_refused for a refused address, jwks_fetch_failed otherwise) whose message is for
 * logs only.
 */
export function postForm(
  outbound: OutboundHttp,
  uri: string,
  form: URLSearchParams,
  allowLoopback: boolean,
  timeoutMs: number,
  name: string,
): Promise<number> {
  return outbound.postForm(uri, form, { name, allowLoopback, timeoutMs }).catch((err: unknown) => {
    throw asClientKeysError(err);
  });
}

type KeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

interface CachedSet {
  resolver: KeyResolver;
  fetchedAt: number;
  /** The fetched document (self_signed_tls_client_auth compares certificate keys with it). */
  doc: JSONWebKeySet;
}

export interface ClientKeyOptions {
  cacheTtlSeconds: number;
  refetchIntervalSeconds: number;
  allowLoopback: boolean;
  /** Milliseconds now (the provider's clock in app.ts). */
  nowMs?: () => number;
  /** Where remote key sets come from: the outbound port (fetchJwks), or `fetch` in its place (tests). */
  outbound?: OutboundHttp;
  fetch?: (uri: string) => Promise<JSONWebKeySet>;
}

/**
 * The keys a client signs with, for jose's jwtVerify: its inline jwks, or the set at its jwks_uri,
 * cached for cacheTtlSeconds. A JWT whose kid the cached set lacks makes one fetch at once, but
 * at most one per refetchIntervalSeconds for each jwks_uri (so a client that rotated its key is
 * picked up quickly, and unknown kids cannot make Tessera hammer the client's server).
 */
export class ClientKeys {
  private readonly remote = new Map<string, CachedSet>();
  private readonly inflight = new Map<string, Promise<CachedSet>>();
  private readonly inline = new WeakMap<object, KeyResolver>();
  private readonly opts: ClientKeyOptions;
  private readonly nowMs: () => number;
  private readonly fetcher: (uri: string) => Promise<JSONWebKeySet>;

  constructor(opts: ClientKeyOptions) {
    this.opts = opts;
    this.nowMs = opts.nowMs ?? Date.now;
    const { outbound } = opts;
    this.fetcher =
      opts.fetch ??
      (outbound
        ? (uri) => fetchJwks(outbound, uri, opts.allowLoopback)
        : () =>
            Promise.reject(
              new ClientKeysError('jwks_fetch_failed', 'no outbound HTTP client to fetch a jwks_uri with'),
            ));
  }

  /** True when the client registered keys (jwks or jwks_uri). */
  static has(client: KeyOwner): boolean {
    return client.metadata.jwks !== undefined || typeof client.metadata.jwks_uri === 'string';
  }

  /** The key for a JWS header of this client; throws ClientKeysError. */
  async key(client: KeyOwner, header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> {
    const { jwks, jwks_uri } = client.metadata;
    if (jwks !== undefined) return this.pick(this.inlineSet(jwks), header, token);
    if (typeof jwks_uri !== 'string')
      throw new ClientKeysError('no_keys', `client ${client.clientId} has no registered keys`);
    let cached = this.remote.get(jwks_uri);
    const now = this.nowMs();
    if (!cached || now - cached.fetchedAt >= this.opts.cacheTtlSeconds * 1000) cached = await this.refresh(jwks_uri);
    try {
      return await this.pick(cached.resolver, header, token);
    } catch (err) {
      if (!(err instanceof ClientKeysError) || err.reason !== 'no_matching_key') throw err;
      if (this.nowMs() - cached.fetchedAt < this.opts.refetchIntervalSeconds * 1000) throw err;
      return this.pick((await this.refresh(jwks_uri)).resolver, header, token);
    }
  }

  /**
   * The client's whole key set (inline, or from its jwks_uri under the same cache rules); with
   * `refetch`, a cached remote set older than the refetch interval is fetched again first.
   */
  async keySet(client: ClientRecord, refetch = false): Promise<JSONWebKeySet> {
    const { jwks, jwks_uri } = client.metadata;
    if (jwks !== undefined) return jwks as JSONWebKeySet;
    if (typeof jwks_uri !== 'string')
      throw new ClientKeysError('no_keys', `client ${client.clientId} has no registered keys`);
    const cached = this.remote.get(jwks_uri);
    const age = cached ? this.nowMs() - cached.fetchedAt : Infinity;
    if (
      !cached ||
      age >= this.opts.cacheTtlSeconds * 1000 ||
      (refetch && age >= this.opts.refetchIntervalSeconds * 1000)
    )
      return (await this.refresh(jwks_uri)).doc;
    return cached.doc;
  }

  private inlineSet(jwks: object): KeyResolver {
    let r = this.inline.get(jwks);
    if (!r) {
      // Checked here too: a client stored before the key limits were enforced is refused, not used.
      const problems = jwksProblems(jwks);
      r = problems.length
        ? () => Promise.reject(new ClientKeysError('jwks_invalid', `client jwks ${problems.join('; ')}`))
        : (createLocalJWKSet(jwks as JSONWebKeySet) as KeyResolver);
      this.inline.set(jwks, r);
    }
    return r;
  }

  private async pick(resolver: KeyResolver, header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> {
    try {
      return await resolver(header, token);
    } catch (err) {
      if (err instanceof ClientKeysError) throw err;
      if (err instanceof joseErrors.JWKSNoMatchingKey)
        throw new ClientKeysError(
          'no_matching_key',
          `no registered key matches kid ${header.kid ?? '(none)'} and alg ${header.alg}`,
        );
      if (err instanceof joseErrors.JWKSMultipleMatchingKeys) {
        // Duplicate kids (or no kid) after matching kty, alg, use and crv: each candidate is tried,
        // but only a few (jose imports them one by one: stop as soon as there are too many).
        const candidates: CryptoKey[] = [];
        for await (const k of err as unknown as AsyncIterable<CryptoKey>) {
          candidates.push(k);
          if (candidates.length > MAX_KEY_CANDIDATES) {
            throw new ClientKeysError(
              'ambiguous_key',
              `more than ${MAX_KEY_CANDIDATES} registered keys match ${header.kid === undefined ? 'a JWS header without kid' : `kid ${String(header.kid).slice(0, 100)}`} and alg ${String(header.alg).slice(0, 20)}: the header must name one key by its kid`,
            );
          }
        }
        throw new SeveralClientKeys(candidates);
      }
      throw new ClientKeysError('jwks_invalid', `client key cannot be used: ${(err as Error).message}`);
    }
  }

  /** One fetch per jwks_uri at a time; a failed fetch keeps nothing. */
  private refresh(uri: string): Promise<CachedSet> {
    let p = this.inflight.get(uri);
    if (!p) {
      p = this.fetcher(uri)
        .then((doc) => {
          const set = { resolver: createLocalJWKSet(doc) as KeyResolver, fetchedAt: this.nowMs(), doc };
          this.remote.set(uri, set);
          return set;
        })
        .finally(() => this.inflight.delete(uri));
      this.inflight.set(uri, p);
    }
    return p;
  }
}

/** The client key sets of a provider (one cache per server process, built in app.ts). */
export function clientKeys(p: Pick<Provider, 'clientKeys'>): ClientKeys {
  return p.clientKeys;
}
