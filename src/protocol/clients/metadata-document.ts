// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): a client_id that is
// an https URL names the client's metadata, a JSON document the client serves there. This module
// holds the rules (which URLs qualify, which hosts are trusted, what a document may say and the
// client record made of it) and the service that fetches documents through the outbound port
// (ports/outbound.ts: no redirects, 200 only, JSON only, public addresses only after resolution),
// caches them (bounded, Cache-Control within limits, errors never), coalesces concurrent fetches
// of one URL, and holds first fetches to budgets per client id, host, requester and in all, and
// refetches of cached documents to budgets per host and in all (never a requester's).
//
// Such a client is never stored: `metadataDocumentClients` wraps the client store so that every
// read of an https client_id resolves through the service. Its record is marked as registered in
// mode `cimd`, so every least-privilege rule for self-registered clients applies to it.
import type { Config } from '../../config/config.ts';
import type { ClientAuthMethod, ClientRecord, ClientStore, GrantType } from '../../ports/clients.ts';
import { OutboundError, type OutboundHttp } from '../../ports/outbound.ts';
import type { RateLimitStore } from '../../ports/rate-limits.ts';
import { addressKey } from '../address-key.ts';
import { outboundHostProblem } from '../client-auth/public-address.ts';
import { OAuthError } from '../errors.ts';
import { isScopeToken } from '../params.ts';
import { randomToken, tokenHash } from '../hash.ts';
import { nativeRedirectUris } from '../redirect-uri.ts';
import { supportedScopes } from '../scopes.ts';
import { blockedClient, type MetadataDocumentBlocks } from './metadata-document-blocks.ts';
import { buildClient, ClientMetadataError, displayTextProblem, type ClientInput } from './metadata.ts';

/** Largest metadata document read (the draft suggests 5 KB). */
export const MAX_DOCUMENT_BYTES = 5 * 1024;
/** The whole fetch of a document, in milliseconds. */
export const FETCH_TIMEOUT_MS = 5000;
/** Longest client_id URL accepted: the longest client_id the token endpoint reads (client-auth). */
export const MAX_CLIENT_ID_URL = 255;
/** How long a document is kept: its Cache-Control max-age held within [min, max]; `default` without one. */
export const CACHE_SECONDS = { min: 60, max: 86_400, default: 600 };
/**
 * How long past its freshness a cached document may be served stale, while its host does not answer
 * (a timeout, a connection error, a 5xx) or the refetch budgets of its host or in all are spent.
 */
export const STALE_SECONDS = 3600;
/** Most documents kept in memory; the least recently used goes first. */
export const CACHE_ENTRIES = 1000;
/**
 * First fetches allowed per minute, of URLs not in the cache (cached reads and coalesced requests
 * are not fetches): per client id, per host, per requester and in all.
 */
export const FETCH_BUDGETS = { clientId: 10, host: 30, source: 20, total: 120 };
/**
 * Refetches of cached documents allowed per minute, never charged to a requester or a client id:
 * each host has `host` of its own; past them it borrows from a pool of `total` shared by every host,
 * up to `hostMax` in all. So a host is never held below its own share by others, and it takes at
 * least total / (hostMax - host) busy hosts to empty the pool.
 */
export const REFETCH_BUDGETS = { host: 10, hostMax: 30, total: 120 };
/** Failed fetches per minute after which first fetches from that host, or by that requester, are refused. */
export const FAILURE_BUDGETS = { host: 10, source: 10 };
const BUDGET_WINDOW_MS = 60_000;
/** Most in-process budget counters of each kind (without Redis): see #hitLocal. */
export const LOCAL_COUNTERS = 10_000;
const MAX_REDIRECT_URIS = 20;
const MAX_URI_LENGTH = 2048;

/** The registration mode that marks a client made from a metadata document (ports/clients.ts). */
export const CIMD_MODE = 'cimd';

/** Whether a client_id is meant as a metadata document URL (what the setting turns on). */
export function isMetadataDocumentId(clientId: string): boolean {
  return clientId.startsWith('https://');
}

/** Whether `client` was made from a metadata document. */
export function isMetadataDocumentClient(client: Pick<ClientRecord, 'metadata'>): boolean {
  return client.metadata.registration?.mode === CIMD_MODE;
}

/**
 * Why `id` is not a client identifier URL (draft section 3): https, a path (not just `/`), no
 * fragment, no user info, no `.` or `..` segments (in any encoding), and no query (the draft
 * discourages one; Tessera refuses it). The URL must be in the canonical form the WHATWG parser
 * gives (so one client has one identifier), and its host must not be a special-use name or a
 * non-public address literal (loopback only with TESSERA_CIMD_ALLOW_LOOPBACK). Undefined when fine.
 */
export function clientIdUrlProblem(id: string, allowLoopback: boolean): string | undefined {
  if (id.length > MAX_CLIENT_ID_URL) return `the client_id URL is longer than ${MAX_CLIENT_ID_URL} characters`;
  let u: URL;
  try {
    u = new URL(id);
  } catch {
    return 'the client_id is not a URL';
  }
  if (u.protocol !== 'https:') return 'the client_id URL must use https';
  if (id.includes('#')) return 'the client_id URL must not have a fragment';
  if (id.includes('?')) return 'the client_id URL must not have a query';
  const authorityEnd = id.indexOf('/', 'https://'.length);
  if (u.username || u.password || id.slice(0, authorityEnd < 0 ? undefined : authorityEnd).includes('@'))
    return 'the client_id URL must not have user info';
  if (authorityEnd < 0 || u.pathname === '/') return 'the client_id URL must have a path';
  const segments = id.slice(authorityEnd + 1).split('/');
  if (segments.some((s) => /^(?:\.|%2e){1,2}$/i.test(s))) return 'the client_id URL must not have . or .. segments';
  if (u.href !== id) return 'the client_id URL must be in canonical form';
  // One client, one spelling: `example.com.` and `example.com..` would be other identifiers of the
  // host (and slip past a deny list), `%63` another of the path `c`.
  if (u.hostname.endsWith('.') || u.hostname.split('.').includes(''))
    return "the client_id URL's host must not end with a dot or have an empty label";
  for (const [, hex] of u.pathname.matchAll(/%([0-9a-f]{2})/gi))
    if (hex !== hex.toUpperCase() || /[A-Za-z0-9._~-]/.test(String.fromCharCode(parseInt(hex, 16))))
      return 'the client_id URL must be in canonical form (no unreserved character percent-encoded; hex digits in upper case)';
  const hostProblem = outboundHostProblem(u.hostname, allowLoopback);
  return hostProblem && `the client_id URL's ${hostProblem}`;
}

/**
 * A host name in the form hosts are compared in: as the URL parser gives it (ASCII, punycode for
 * internationalised names, lower case), without a trailing dot. The configuration holds its
 * entries in that form already (config.ts cimdHostEntries); this keeps the comparison right for a
 * Config made otherwise and for a client_id whose host ends with a dot.
 */
function comparableHost(host: string): string {
  let h = host;
  try {
    h = new URL(`https://${host}/`).hostname;
  } catch {
    // Not a host: compared as written, in lower case (it matches nothing a URL parser gives).
  }
  return h.toLowerCase().replace(/\.$/, '');
}

/** Whether `host` matches a TESSERA_CIMD_HOSTS entry: the same name, or a subdomain of `*.name`. */
export function hostMatches(pattern: string, host: string): boolean {
  const wildcard = pattern.startsWith('*.');
  const p = comparableHost(wildcard ? pattern.slice(2) : pattern);
  const h = comparableHost(host);
  return wildcard ? h.endsWith(`.${p}`) : p === h;
}

/** The trust policy (TESSERA_CIMD_TRUST over TESSERA_CIMD_HOSTS): whether documents may be fetched from `host`. */
export function hostTrusted(config: Pick<Config, 'cimdTrust' | 'cimdHosts'>, host: string): boolean {
  if (config.cimdTrust === 'open') return true;
  const listed = config.cimdHosts.some((p) => hostMatches(p, host));
  return config.cimdTrust === 'allow_list' ? listed : !listed;
}

/**
 * Seconds to keep a document, from its Cache-Control: max-age (or s-maxage) held within [min, max];
 * no-store or no-cache: min (a client that refuses caching is still not fetched on every request);
 * none: the default.
 */
export function cacheSeconds(cacheControl: string | undefined, limits = CACHE_SECONDS): number {
  if (cacheControl === undefined) return limits.default;
  const directives = cacheControl
    .toLowerCase()
    .split(',')
    .map((d) => d.trim());
  if (directives.some((d) => d === 'no-store' || d === 'no-cache')) return limits.min;
  const age = directives
    .map((d) => /^(?:s-maxage|max-age)\s*=\s*"?(\d{1,10})"?$/.exec(d)?.[1])
    .find((v) => v !== undefined);
  if (age === undefined) return limits.default;
  return Math.min(limits.max, Math.max(limits.min, Number(age)));
}

/** A metadata document that breaks the rules; the message is for the client (invalid_client). */
export class MetadataDocumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetadataDocumentError';
  }
}

const SHARED_SECRET_METHODS = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt'];
const DOCUMENT_GRANTS: readonly GrantType[] = ['authorization_code', 'refresh_token'];

/**
 * The client record a metadata document describes (draft section 4), built by buildClient with the
 * rules of every client: `client_id` must equal the URL it was fetched from exactly; no client
 * secret and no shared-secret authentication (none, the default, or private_key_jwt with its keys);
 * redirect URIs from the document, matched exactly later; grant types and scopes are hints held to
 * the ceilings of self-registered clients (TESSERA_REGISTRATION_GRANT_TYPES and _SCOPES); unknown
 * properties are ignored. Throws a MetadataDocumentError.
 */
export function documentClient(config: Config, url: string, doc: unknown, now: number): ClientRecord {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new MetadataDocumentError('the metadata document is not a JSON object');
  const m = doc as Record<string, unknown>;
  if (m.client_id !== url)
    throw new MetadataDocumentError('the metadata document names another client_id than its URL');
  if (m.client_secret !== undefined || m.client_secret_expires_at !== undefined)
    throw new MetadataDocumentError('a metadata document must not hold a client_secret');
  const method = m.token_endpoint_auth_method ?? 'none';
  if (typeof method !== 'string' || SHARED_SECRET_METHODS.includes(method))
    throw new MetadataDocumentError('a metadata document client cannot authenticate with a shared secret');
  if (method !== 'none' && method !== 'private_key_jwt')
    throw new MetadataDocumentError('token_endpoint_auth_method must be none or private_key_jwt');
  const strings = (k: string): string[] | undefined => {
    const v = m[k];
    if (v === undefined) return undefined;
    if (
      !Array.isArray(v) ||
      v.length > MAX_REDIRECT_URIS ||
      !v.every((x) => typeof x === 'string' && x.length <= MAX_URI_LENGTH)
    )
      throw new MetadataDocumentError(`${k} must be an array of at most ${MAX_REDIRECT_URIS} strings`);
    return v as string[];
  };
  const text = (k: string, max = MAX_URI_LENGTH): string | undefined => {
    const v = m[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length === 0 || v.length > max)
      throw new MetadataDocumentError(`${k} must be a non-empty string of at most ${max} characters`);
    return v;
  };
  const redirectUris = strings('redirect_uris') ?? [];
  const declaredType = m.application_type;
  if (declaredType !== undefined && declaredType !== 'web' && declaredType !== 'native')
    throw new MetadataDocumentError('application_type must be web or native');
  // Without a declared type, a client whose every redirect URI is on this machine (loopback http,
  // a private-use scheme) is a native app (RFC 8252): its loopback port may vary.
  const applicationType = declaredType ?? (nativeRedirectUris(redirectUris) ? 'native' : 'web');
  // Hints, held to the ceilings of self-registered clients: what the server does not offer is left out.
  const grantTypes = (strings('grant_types') ?? ['authorization_code']).filter(
    (g): g is GrantType =>
      DOCUMENT_GRANTS.includes(g as GrantType) && config.registrationGrantTypes.includes(g as GrantType),
  );
  const offered = supportedScopes(config.extraScopes).filter((s) => config.registrationScopes.includes(s));
  const asked = text('scope', 4096)?.split(' ').filter(Boolean);
  // With TESSERA_REGISTRATION_RESOURCE_SCOPES, another scope may be one of a registry resource: it is
  // kept as a hint (the document may stay cached while the registry changes), and each request and
  // each token holds it to the resource that declares it (protocol/resources.ts).
  const scope = (
    asked ?? ['openid', 'profile', 'email', ...(grantTypes.includes('refresh_token') ? ['offline_access'] : [])]
  ).filter((s) => offered.includes(s) || (config.registrationResourceScopes && isScopeToken(s)));
  const name = m.client_name;
  if (name !== undefined) {
    const problem = displayTextProblem('client_name', name);
    if (problem) throw new MetadataDocumentError(problem);
  }
  const jwks = m.jwks;
  if (jwks !== undefined && (jwks === null || typeof jwks !== 'object' || Array.isArray(jwks)))
    throw new MetadataDocumentError('jwks must be a JSON Web Key Set object');
  if (m.dpop_bound_access_tokens !== undefined && typeof m.dpop_bound_access_tokens !== 'boolean')
    throw new MetadataDocumentError('dpop_bound_access_tokens must be true or false');
  const input: ClientInput = {
    // buildClient's identifier rule is for stored clients; the URL is set on the record below.
    client_id: 'metadata-document',
    client_name: (name as string | undefined) ?? new URL(url).host,
    token_endpoint_auth_method: method as ClientAuthMethod,
    application_type: applicationType,
    redirect_uris: redirectUris,
    post_logout_redirect_uris: strings('post_logout_redirect_uris') ?? [],
    grant_types: grantTypes,
    scope: [...new Set(scope)].join(' '),
    jwks: jwks as ClientInput['jwks'],
    jwks_uri: text('jwks_uri'),
    token_endpoint_auth_signing_alg: text('token_endpoint_auth_signing_alg', 20),
    dpop_bound_access_tokens: m.dpop_bound_access_tokens === true,
    logo_uri: text('logo_uri'),
    client_uri: text('client_uri'),
    policy_uri: text('policy_uri'),
    tos_uri: text('tos_uri'),
    skip_consent: false,
    allowed_resources: [],
  };
  let client: ClientRecord;
  try {
    client = buildClient(config, input, undefined, now).client;
  } catch (err) {
    if (err instanceof ClientMetadataError) throw new MetadataDocumentError(err.problems.join('; '));
    throw err;
  }
  return {
    ...client,
    clientId: url,
    // Marks the client as self-registered (protocol/resources.ts isSelfRegistered). Its registration
    // access token hash is of a token nobody holds: RFC 7592 management never accepts one for it.
    metadata: { ...client.metadata, registration: { mode: CIMD_MODE, access_token_hash: tokenHash(randomToken(32)) } },
  };
}

/** What the metadata document service uses: the settings, the outbound port, a clock, budgets. */
export interface MetadataDocumentOptions {
  config: Config;
  outbound: OutboundHttp;
  /** Now, in epoch seconds (the provider's clock). */
  now: () => number;
  /** The counters of the fetch budgets (shared between processes with Redis); in-process when absent. */
  budgets?: () => RateLimitStore | undefined;
  /** The address of the request being served, for the per-source budgets. */
  source?: () => string | undefined;
  maxEntries?: number;
}

interface Entry {
  client: ClientRecord;
  /** Fresh until then (epoch seconds): served without a fetch. */
  until: number;
  /**
   * Served stale until then, while its host does not answer or the refetch budgets are spent: until + STALE_SECONDS.
   */
  staleUntil: number;
}

/**
 * Why a refetch failed without a word from the document's owner (no answer in time, no connection,
 * a 5xx, the refetch budgets of its host or in all spent, the counters unreachable): the cached
 * document is served stale. Any other failure (a 4xx or 3xx, an answer that is not a valid document,
 * a host that now resolves to an address that may not be reached) drops it.
 */
const transient = new WeakSet<object>();
const markTransient = <E>(err: E): E => {
  if (typeof err === 'object' && err !== null) transient.add(err);
  return err;
};

/**
 * The documents of one Provider: fetched, validated, cached and budgeted (see the top of the file).
 * `resolve` answers the record or throws an OAuthError (invalid_client, or 429 when a budget is
 * spent) whose description says why, and whose detail is for the logs.
 *
 * Budgets, per minute (FETCH_BUDGETS, REFETCH_BUDGETS, FAILURE_BUDGETS). A URL never fetched
 * successfully (or whose document has left the cache) is a first fetch: it counts against its
 * requester (the source address, IPv6 by TESSERA_RATE_LIMIT_IPV6_PREFIX as every per-address limit),
 * its client id, its host and all first fetches, and is refused while its host or its requester has
 * spent its failure budget (fetches that failed or were refused as invalid). A refetch of a document
 * in the cache counts only against the refetch budgets of its host and in all (REFETCH_BUDGETS),
 * which first fetches never spend: no requester, by spending its own budgets, can stop the refetch
 * of someone else's document, and junk URLs cannot stop those of documents known to be good. When a
 * refetch is refused by those budgets or its host does not answer (timeout, connection error, 5xx),
 * the cached document is served stale, up to STALE_SECONDS past its freshness, and is tried again
 * after CACHE_SECONDS.min; any other answer (a 4xx such as 404 or 410, a redirect, a document that
 * is no longer valid) is its owner's word and drops it.
 */
export class MetadataDocuments {
  readonly #o: MetadataDocumentOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<ClientRecord>>();
  /** In-process counters (without Redis), in the order their windows end: see #hitLocal. */
  readonly #local = new Map<string, { count: number; endsAt: number }>();
  /** The same for the counters of hosts and of all fetches, which are never evicted while live. */
  readonly #localShared = new Map<string, { count: number; endsAt: number }>();
  /** Failure budgets seen spent (key to the end of their window, epoch ms): see #failed. */
  readonly #spent = new Map<string, number>();
  /** Fetches started (for tests and metrics). */
  fetches = 0;

  constructor(options: MetadataDocumentOptions) {
    this.#o = options;
  }

  /** Whether TESSERA_CLIENT_ID_METADATA_DOCUMENTS is on. */
  get enabled(): boolean {
    return this.#o.config.clientIdMetadataDocuments === 'on';
  }

  /** How many documents are cached (fresh or kept to be served stale). */
  get size(): number {
    return this.#entries.size;
  }

  /** The client of the document at `url`, from the cache or fetched now. */
  resolve(url: string): Promise<ClientRecord> {
    const now = this.#o.now();
    let hit = this.#entries.get(url);
    if (hit && hit.staleUntil <= now) {
      this.#entries.delete(url);
      hit = undefined;
    }
    if (hit) {
      // Least recently used goes first: a hit moves to the end.
      this.#entries.delete(url);
      this.#entries.set(url, hit);
      if (hit.until > now) return Promise.resolve(hit.client);
    }
    const running = this.#inflight.get(url);
    if (running !== undefined) return running;
    const fetching = this.#refresh(url, hit).finally(() => this.#inflight.delete(url));
    this.#inflight.set(url, fetching);
    return fetching;
  }

  async #refresh(url: string, stale: Entry | undefined): Promise<ClientRecord> {
    try {
      return await this.#fetch(url, stale !== undefined);
    } catch (err) {
      if (stale === undefined) throw err;
      if (!transient.has(err as object)) {
        // The host answered, with no valid document (a 404, a 410, another client_id, ...): its
        // owner's latest word. The client is unknown from now on.
        this.#entries.delete(url);
        throw err;
      }
      // A refetch budget spent, no answer from the host, or the budgets' counters unreachable:
      // served stale, and tried again after the shortest caching time, within the ceiling.
      stale.until = Math.min(stale.staleUntil, this.#o.now() + CACHE_SECONDS.min);
      return stale.client;
    }
  }

  async #fetch(url: string, known: boolean): Promise<ClientRecord> {
    const { config, outbound, now } = this.#o;
    const problem = clientIdUrlProblem(url, config.cimdAllowLoopback);
    if (problem) throw refused(`${problem}.`, problem);
    const host = new URL(url).hostname;
    if (!hostTrusted(config, host))
      throw refused('Client metadata documents from this host are not accepted here.', `untrusted host ${host}`);
    const raw = this.#o.source?.();
    const source = raw === undefined ? undefined : addressKey(raw, config.rateLimitIpv6Prefix);
    // One budget per host however it is spelled: `example.com.` is `example.com`.
    const hostKey = host.replace(/\.$/, '');
    await this.#spend(url, hostKey, source, known);
    this.fetches++;
    let answer;
    try {
      answer = await outbound.getJsonDocument(url, {
        name: 'client metadata document',
        allowLoopback: config.cimdAllowLoopback,
        timeoutMs: FETCH_TIMEOUT_MS,
        accept: 'application/json',
        maxBytes: MAX_DOCUMENT_BYTES,
      });
    } catch (err) {
      if (err instanceof OutboundError) {
        await this.#failed(hostKey, source);
        const why =
          err.reason === 'refused'
            ? 'its address may not be reached'
            : err.reason === 'invalid'
              ? `the answer is not a JSON document of at most ${MAX_DOCUMENT_BYTES} bytes`
              : 'no 200 answer came in time (redirects are not followed)';
        const error = refused(`The client's metadata document could not be fetched: ${why}.`, err.message);
        // No answer, or a server error: the owner said nothing (a 4xx or a redirect is its word).
        throw err.reason === 'failed' && (err.status === undefined || err.status >= 500) ? markTransient(error) : error;
      }
      throw markTransient(err);
    }
    let client: ClientRecord;
    try {
      client = documentClient(config, url, answer.body, now());
    } catch (err) {
      if (err instanceof MetadataDocumentError) {
        await this.#failed(hostKey, source);
        throw new OAuthError(
          'invalid_client',
          `The client's metadata document is not valid: ${err.message}.`,
          refusal(err.message),
        );
      }
      throw err;
    }
    this.#store(url, client, cacheSeconds(answer.cacheControl));
    return client;
  }

  #store(url: string, client: ClientRecord, seconds: number): void {
    const t = this.#o.now();
    const max = this.#o.maxEntries ?? CACHE_ENTRIES;
    this.#entries.delete(url);
    if (this.#entries.size >= max)
      for (const [key, e] of this.#entries) if (e.staleUntil <= t) this.#entries.delete(key);
    while (this.#entries.size >= max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(url, { client, until: t + seconds, staleUntil: t + seconds + STALE_SECONDS });
  }

  /** Counts one fetch against its budgets; throws (429) when one is spent. */
  async #spend(url: string, host: string, source: string | undefined, known: boolean): Promise<void> {
    let counted;
    if (known) {
      // A refetch: never charged to the requester or the client id (see the class). The host's own
      // share first; past it, the pool shared by every host, up to the host's ceiling.
      try {
        counted = await this.#hit(`cimd:refetch:host:${host}`);
        if (counted.count <= REFETCH_BUDGETS.host) return;
        if (counted.count > REFETCH_BUDGETS.hostMax) throw spent('refetch:host', counted.resetMs);
        counted = await this.#hit('cimd:refetch:all');
      } catch (err) {
        throw markTransient(err);
      }
      if (counted.count > REFETCH_BUDGETS.total) throw markTransient(spent('refetch:all', counted.resetMs));
      return;
    }
    // Narrowest first: a refused fetch is not counted by the budgets after the one that refused it,
    // so one flooding requester spends its own budget, not the host's or everyone's.
    const hit = async (name: string, key: string, limit: number) => {
      const { count, resetMs } = await this.#hit(key);
      if (count > limit) throw spent(name, resetMs);
    };
    if (source) await hit('source', `cimd:source:${source}`, FETCH_BUDGETS.source);
    await hit('client', `cimd:client:${url}`, FETCH_BUDGETS.clientId);
    // A first fetch is refused while its host or its requester has spent its failure budget.
    const t = this.#o.now() * 1000;
    for (const [name, key] of failureKeys(host, source)) {
      const endsAt = this.#spent.get(key);
      if (endsAt !== undefined && endsAt > t) throw spent(name, endsAt - t);
      if (endsAt !== undefined) this.#spent.delete(key);
    }
    await hit('first:host', `cimd:first:host:${host}`, FETCH_BUDGETS.host);
    await hit('first:all', 'cimd:first:all', FETCH_BUDGETS.total);
  }

  /**
   * Counts a failed fetch against the failure budgets of its host and its requester. The store
   * only counts (it has no read without a hit), so a budget seen spent here is remembered until
   * its window ends; another process learns it at its own next failure.
   */
  async #failed(host: string, source: string | undefined): Promise<void> {
    const t = this.#o.now() * 1000;
    for (const [name, key] of failureKeys(host, source)) {
      const limit = name === 'failed:host' ? FAILURE_BUDGETS.host : FAILURE_BUDGETS.source;
      let counted;
      try {
        counted = await this.#hit(key);
      } catch {
        continue; // the counter's backend is down: the fetch budgets still hold
      }
      if (counted.count >= limit) {
        // In the order the windows end, so that the oldest goes first when full (never all at once).
        this.#spent.delete(key);
        if (this.#spent.size >= LOCAL_COUNTERS) this.#spent.delete(this.#spent.keys().next().value!);
        this.#spent.set(key, t + counted.resetMs);
      }
    }
  }

  #hit(key: string): Promise<{ count: number; resetMs: number }> {
    const store = this.#o.budgets?.();
    return store ? store.hit(key, BUDGET_WINDOW_MS) : Promise.resolve(this.#hitLocal(key));
  }

  /**
   * One in-process counter. Each map holds at most LOCAL_COUNTERS windows, in the order they end.
   * Those of requesters and client ids (one per address or URL an attacker picks): when full, the
   * oldest goes (expired ones first), which gives back at most that one key its budget. Those of
   * hosts and of all fetches: only expired windows go; while it is full of live ones, a new host is
   * refused (fails closed), and the budgets of all fetches are never reset.
   */
  #hitLocal(key: string): { count: number; resetMs: number } {
    const t = this.#o.now() * 1000;
    const shared = key.includes(':host:') || key.endsWith(':all');
    const map = shared ? this.#localShared : this.#local;
    let w = map.get(key);
    if (w && w.endsAt <= t) {
      map.delete(key);
      w = undefined;
    }
    if (!w) {
      while (map.size >= LOCAL_COUNTERS) {
        const [oldest, ow] = map.entries().next().value!;
        if (shared && ow.endsAt > t) return { count: Number.POSITIVE_INFINITY, resetMs: ow.endsAt - t };
        map.delete(oldest);
      }
      w = { count: 0, endsAt: t + BUDGET_WINDOW_MS };
      map.set(key, w);
    }
    w.count++;
    return { count: w.count, resetMs: w.endsAt - t };
  }
}

/** The failure budgets of a fetch: [name, counter key]. */
const failureKeys = (host: string, source: string | undefined): [string, string][] => [
  ['failed:host', `cimd:failed:host:${host}`],
  ...(source ? [['failed:source', `cimd:failed:source:${source}`] as [string, string]] : []),
];

const refusal = (detail: string) => ({ status: 400, detail, redirectable: false });

const spent = (budget: string, resetMs: number) =>
  new OAuthError('temporarily_unavailable', 'Too many client metadata documents are being fetched; try again later.', {
    status: 429,
    detail: `metadata document fetch budget ${budget} spent`,
    redirectable: false,
    headers: { 'retry-after': String(Math.max(1, Math.ceil(resetMs / 1000))) },
  });

const refused = (description: string, detail: string) =>
  new OAuthError('invalid_client', description, { status: 400, detail, redirectable: false });

/**
 * The client store seen through metadata documents: with TESSERA_CLIENT_ID_METADATA_DOCUMENTS on,
 * a client_id that is an https URL is resolved by `documents` (never read from or written to
 * `store`: no stored client can have such an identifier); everything else goes to `store`.
 *
 * An identifier an operator blocked (`blocks`, metadata-document-blocks.ts) resolves to a disabled
 * client made from the identifier alone, before any fetch: its document is not fetched at all.
 *
 * A document that cannot be fetched or is refused makes an unknown client, as everywhere a client
 * is unknown (authorize's page, invalid_client at the token endpoint), and `refused` is told why
 * (the composition root logs it). Never an error from the documents: a client read on the side (the
 * account page, logout notifications, a token exchange audience) must not fail because some
 * document is unreachable or the fetch budgets are spent. The blocks are read from the database, and
 * fail the read when it fails, as a stored client's read does.
 */
export function metadataDocumentClients(
  store: ClientStore,
  documents: Pick<MetadataDocuments, 'enabled' | 'resolve'>,
  blocks: Pick<MetadataDocumentBlocks, 'find'>,
  refused: (clientId: string, err: unknown) => void = () => {},
): ClientStore {
  if (!documents.enabled) return store;
  return {
    async get(clientId) {
      if (!isMetadataDocumentId(clientId)) return store.get(clientId);
      const block = await blocks.find(clientId);
      if (block) return blockedClient(block);
      return documents.resolve(clientId).catch((err: unknown) => {
        refused(clientId, err);
        return undefined;
      });
    },
    list: () => store.list(),
    page: (q) => store.page(q),
    // Never stored, so never written back (a feature that updates self-registered clients must skip
    // these); an operator takes one out of service with a block (admin/clients.ts setClientDisabled).
    put: (client) =>
      isMetadataDocumentId(client.clientId)
        ? Promise.reject(new Error('a client made from a metadata document is never stored'))
        : store.put(client),
    delete: (clientId) => (isMetadataDocumentId(clientId) ? Promise.resolve(false) : store.delete(clientId)),
    // Use is not recorded (the document's cache is its life), and no stored registration has an https id.
    markUsed: (clientId, at) =>
      isMetadataDocumentId(clientId) ? Promise.resolve(false) : store.markUsed(clientId, at),
    deleteUnusedRegistrations: (changedBefore, limit) => store.deleteUnusedRegistrations(changedBefore, limit),
    replaceSecretHash: (clientId, from, to) =>
      isMetadataDocumentId(clientId) ? Promise.resolve(false) : store.replaceSecretHash(clientId, from, to),
  };
}
