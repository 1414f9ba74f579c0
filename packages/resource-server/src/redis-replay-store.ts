// A DPoP replay store in Redis or Valkey, shared by every instance of a resource server. Takes an
// ioredis client (or anything with the same `set`), so ioredis stays an optional peer dependency.
import type { ReplayStore } from './replay-store.ts';

/** The one ioredis method used: SET key value EX seconds NX. */
export interface RedisLike {
  set(key: string, value: string, ex: 'EX', seconds: number, nx: 'NX'): Promise<'OK' | null>;
}

/** Replay markers as Redis keys under `prefix`, each expiring with its proof's window (SET NX EX: atomic). */
export class RedisReplayStore implements ReplayStore {
  readonly #redis: RedisLike;
  readonly #prefix: string;

  constructor(redis: RedisLike, options: { prefix?: string } = {}) {
    this.#redis = redis;
    this.#prefix = options.prefix ?? 'tessera-rs:dpop:';
  }

  async add(id: string, ttlSeconds: number): Promise<boolean> {
    const answer = await this.#redis.set(`${this.#prefix}${id}`, '1', 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX');
    return answer === 'OK';
  }
}
