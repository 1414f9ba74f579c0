// The DPoP replay store (RFC 9449 section 11.1): each proof's jti is accepted once within its window.

/** Remembers proof identifiers; an implementation shared by every instance of a resource server is needed for more than one. */
export interface ReplayStore {
  /**
   * Records `id` for `ttlSeconds`. Resolves true when it was new, false when it was already recorded (a replay).
   * Rejects when the store cannot answer (the request then gets a 503, never an accepted replay).
   */
  add(id: string, ttlSeconds: number): Promise<boolean>;
}

/**
 * One process's replay store: a map of ids to their expiry, bounded. When full of unexpired entries it refuses new
 * ones (fails closed) instead of forgetting ids that could then be replayed.
 */
export class MemoryReplayStore implements ReplayStore {
  readonly #seen = new Map<string, number>();
  readonly #max: number;
  readonly #now: () => number;

  constructor(options: { maxEntries?: number; now?: () => number } = {}) {
    this.#max = options.maxEntries ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#seen.size;
  }

  async add(id: string, ttlSeconds: number): Promise<boolean> {
    const now = this.#now();
    const known = this.#seen.get(id);
    if (known !== undefined && known > now) return false;
    if (known !== undefined) this.#seen.delete(id);
    if (this.#seen.size >= this.#max) this.#sweep(now);
    if (this.#seen.size >= this.#max) throw new Error('the DPoP replay store is full');
    // Insertion order is expiry order when every entry has the same lifetime: the sweep stops at the first live one.
    this.#seen.set(id, now + ttlSeconds * 1000);
    return true;
  }

  #sweep(now: number): void {
    for (const [id, expiry] of this.#seen) {
      if (expiry > now) continue;
      this.#seen.delete(id);
    }
  }
}
