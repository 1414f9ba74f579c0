// The protocol's process-local memos and caches. Each is one interface (the seam the protocol code
// reaches through the Provider) with one implementation here or beside the code it serves; none
// does I/O of its own, and those with a notion of time read the provider's clock (`now`, epoch
// seconds). `protocolServices` builds them all; app.ts calls it once per Provider, and a test can
// call it to build a Provider without app.ts.
import { hkdfSync } from 'node:crypto';
import type { GrantRecord } from '../ports/grants.ts';
import type { Stores } from '../ports/index.ts';
import type { ResourceServerRecord, ResourceServerStore } from '../ports/resource-servers.ts';
import type { Config } from '../config/config.ts';
import type { OutboundHttp } from '../ports/outbound.ts';
import { ClientKeys } from './client-auth/client-keys.ts';
import { secretMemo } from './client-auth/secret-hash.ts';
import { LogoutDelivery } from './logout/back-channel.ts';
import { accessTokenMemo } from './tokens/access-token.ts';
import { claimMappingsCache } from './claim-mappings-cache.ts';
import { clientLogos } from './client-logos.ts';
import { brandingCache } from './branding.ts';

/**
 * The HMAC keys of pairwise subjects (tokens/subject.ts), derived with HKDF from a pairwise secret
 * once and kept for the life of the Provider.
 */
export interface PairwiseKeys {
  keyFor(secret: string): Buffer;
}

/** The key of pairwise subjects under `secret` (HKDF-SHA-256, its own label). */
export function derivePairwiseKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'tessera pairwise subject v1', 32));
}

export function pairwiseKeys(): PairwiseKeys {
  const keys = new Map<string, Buffer>();
  return {
    keyFor(secret) {
      let k = keys.get(secret);
      if (!k) keys.set(secret, (k = derivePairwiseKey(secret)));
      return k;
    },
  };
}

/** What userinfo needs of the grant an access token was issued from (null: no grant). */
export type GrantFacts = Pick<GrantRecord, 'userId' | 'claims'> | null;

/**
 * userinfo's grant facts by access-token jti. Neither the user nor the requested claims of a grant
 * ever change for a given token (revocation is checked on its own, every time), so they are kept
 * until the token expires by the provider's clock, in a bounded map (the oldest entry goes first).
 */
export interface GrantFactsCache {
  /** The facts remembered for `jti` while its token is unexpired; undefined when not remembered. */
  get(jti: string): GrantFacts | undefined;
  /** Remembers the facts of the token `jti`, which expires at `exp`. */
  set(jti: string, facts: GrantFacts, exp: number): void;
}

const GRANT_FACTS_SIZE = 10_000;

export function grantFactsCache(now: () => number, size = GRANT_FACTS_SIZE): GrantFactsCache {
  const facts = new Map<string, { facts: GrantFacts; exp: number }>();
  return {
    get(jti) {
      const known = facts.get(jti);
      return known && known.exp > now() ? known.facts : undefined;
    },
    set(jti, value, exp) {
      if (facts.size >= size) facts.delete(facts.keys().next().value!);
      facts.set(jti, { facts: value, exp });
    },
  };
}

/** The registry of resource servers by identifier (protocol/resources.ts). */
export type ResourceRegistry = ReadonlyMap<string, ResourceServerRecord>;

/** How long a process keeps its copy of the registry; changes made in this process are seen at once. */
export const REGISTRY_CACHE_MS = 5000;

/**
 * This process's copy of the (small) registry table, read at most every REGISTRY_CACHE_MS by the
 * provider's clock, so that no token request pays a database read for it.
 */
export interface ResourceRegistryCache {
  /** The registry when a fresh copy is at hand, without waiting; else undefined. */
  ready(): ResourceRegistry | undefined;
  /** The registry: the fresh copy, or one read now (concurrent callers share the read). */
  read(): Promise<ResourceRegistry>;
  /** Drops the copy (a change made in this process). */
  forget(): void;
}

type RegistryEntry = { at: number; value: Promise<ResourceRegistry>; ready?: ResourceRegistry };

export function resourceRegistryCache(
  store: Pick<ResourceServerStore, 'list'>,
  now: () => number,
): ResourceRegistryCache {
  const ttl = REGISTRY_CACHE_MS / 1000;
  let entry: RegistryEntry | undefined;
  return {
    ready: () => (entry?.ready !== undefined && now() - entry.at < ttl ? entry.ready : undefined),
    read() {
      const t = now();
      if (entry && t - entry.at < ttl) return entry.value;
      const e: RegistryEntry = { at: t, value: undefined as never };
      const value = store.list().then((list) => (e.ready = new Map(list.map((r) => [r.identifier, r]))));
      e.value = value;
      entry = e;
      // A failed read is not kept: the next request reads again (and meanwhile fails closed with a 503).
      value.catch(() => {
        if (entry === e) entry = undefined;
      });
      return value;
    },
    forget() {
      entry = undefined;
    },
  };
}

/** `store` whose successful writes drop `registry`'s copy, so a change made through it is seen at once. */
export function forgettingWrites(
  store: ResourceServerStore,
  registry: Pick<ResourceRegistryCache, 'forget'>,
): ResourceServerStore {
  return {
    get: (identifier) => store.get(identifier),
    list: () => store.list(),
    async put(record) {
      await store.put(record);
      registry.forget();
    },
    async delete(identifier) {
      const deleted = await store.delete(identifier);
      if (deleted) registry.forget();
      return deleted;
    },
  };
}

/**
 * The services of one Provider. `now` is the provider's clock (epoch seconds); `stores` the
 * provider's stores, whose resource-server store the registry copy is read from.
 */
export function protocolServices(deps: {
  stores: Pick<Stores, 'resourceServers'> & Partial<Pick<Stores, 'branding'>>;
  now: () => number;
}) {
  return {
    ...(deps.stores.branding ? { branding: brandingCache(deps.stores.branding) } : {}),
    verifiedTokens: accessTokenMemo(deps.now),
    verifiedSecrets: secretMemo(),
    pairwiseKeys: pairwiseKeys(),
    grantFacts: grantFactsCache(deps.now),
    resourceRegistry: resourceRegistryCache(deps.stores.resourceServers, deps.now),
    claimMappings: claimMappingsCache(deps.now),
  };
}

/**
 * The services over outbound HTTP to clients' servers: their key sets (fetched from jwks_uri and
 * cached on the provider's clock) and back-channel logout deliveries. `outbound` is the adapter
 * (adapters/outbound), chosen by the composition root.
 */
export function outboundServices(
  config: Pick<Config, 'clientJwksCacheTtl' | 'clientJwksRefetchInterval' | 'clientJwksAllowLoopback'>,
  now: () => number,
  outbound: OutboundHttp,
) {
  const clientKeys = new ClientKeys({
    cacheTtlSeconds: config.clientJwksCacheTtl,
    refetchIntervalSeconds: config.clientJwksRefetchInterval,
    allowLoopback: config.clientJwksAllowLoopback,
    nowMs: () => now() * 1000,
    outbound,
  });
  // Clients' logos for the consent page (client-logos.ts), fetched through the same outbound client.
  const logos = clientLogos({ outbound, allowLoopback: config.clientJwksAllowLoopback, now });
  return { outbound, clientKeys, logoutDelivery: new LogoutDelivery(), clientLogos: logos };
}
