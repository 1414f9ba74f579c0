// This process's copy of the claim mappings of the directory (a protocol service on the Provider,
// read by directory-claims.ts): the whole (small) table by application, read at most every
// MAPPINGS_CACHE_MS, dropped at once by changes made in this process (the admin actions).
import { applicationKey, type ClaimMappingRecord, type DirectoryStore } from '../ports/directory.ts';

/** The claim mappings by application (`applicationKey`). */
export type MappingIndex = ReadonlyMap<string, readonly ClaimMappingRecord[]>;

/** How long a process keeps its copy of the mappings; changes made in this process are seen at once. */
export const MAPPINGS_CACHE_MS = 5000;

/** This process's copy of the claim mappings (a protocol service on the Provider). */
export interface ClaimMappingsCache {
  /** The mappings when a fresh copy is at hand, without waiting; else undefined. */
  ready(): MappingIndex | undefined;
  /** The mappings: the fresh copy, or read now from `store` (concurrent callers share the read). */
  read(store: Pick<DirectoryStore, 'listMappings'>): Promise<MappingIndex>;
  /** Drops the copy (a change made in this process). */
  forget(): void;
}

export function claimMappingsCache(now: () => number): ClaimMappingsCache {
  const ttl = MAPPINGS_CACHE_MS / 1000;
  let entry: { at: number; value: Promise<MappingIndex>; ready?: MappingIndex } | undefined;
  return {
    ready: () => (entry?.ready !== undefined && now() - entry.at < ttl ? entry.ready : undefined),
    read(store) {
      const t = now();
      if (entry && t - entry.at < ttl) return entry.value;
      const e: NonNullable<typeof entry> = { at: t, value: undefined as never };
      e.value = store.listMappings().then((list) => {
        const index = new Map<string, ClaimMappingRecord[]>();
        for (const m of list) {
          const key = applicationKey(m.application);
          const at = index.get(key);
          if (at) at.push(m);
          else index.set(key, [m]);
        }
        return (e.ready = index);
      });
      entry = e;
      // A failed read is not kept: the next request reads again (and meanwhile fails closed with a 503).
      e.value.catch(() => {
        if (entry === e) entry = undefined;
      });
      return e.value;
    },
    forget() {
      entry = undefined;
    },
  };
}
