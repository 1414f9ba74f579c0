export interface CounterState {
  count: number;
  /** When the last hit was counted, epoch seconds. */
  lastAt: number;
  /** When the counter resets by itself (idle for the window), epoch seconds. */
  expiresAt: number;
}

/**
 * Counters shared by every process, for throttling. A counter resets once it has not been hit for
 * its window (a sliding idle window).
 */
export interface CounterStore {
  /** Atomically adds one and returns the new state. */
  hit(key: string, now: number, windowSeconds: number): Promise<CounterState>;
  get(key: string, now: number): Promise<CounterState | undefined>;
  reset(key: string): Promise<void>;
  /** Removes every counter whose key starts with `prefix` (an operator unlocking an account); how many. */
  resetPrefix(prefix: string): Promise<number>;
}
