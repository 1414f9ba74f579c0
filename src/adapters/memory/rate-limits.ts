import type { RateLimitStore } from '../../ports/rate-limits.ts';

/**
 * In-process rate-limit counters: one Map, counted synchronously (so atomic within the process).
 * Ended windows are swept once a second. At `maxKeys` running windows the oldest are dropped, so
 * a flood of distinct keys (e.g. made-up usernames) cannot grow memory without bound; a dropped
 * key simply starts a new window.
 */
export function memoryRateLimits(
  opts: { maxKeys?: number; now?: () => number } = {},
): Required<Pick<RateLimitStore, 'hit' | 'hitNow'>> & { size(): number; close(): void } {
  const maxKeys = opts.maxKeys ?? 100_000;
  const now = opts.now ?? Date.now;
  const windows = new Map<string, { count: number; endsAt: number }>();
  const sweep = setInterval(() => {
    const t = now();
    for (const [k, w] of windows) if (w.endsAt <= t) windows.delete(k);
  }, 1000);
  sweep.unref();
  const hitNow = (key: string, windowMs: number) => {
    const t = now();
    let w = windows.get(key);
    if (!w || w.endsAt <= t) {
      if (w) windows.delete(key);
      else if (windows.size >= maxKeys) {
        // Maps iterate in insertion order: the first entries are the oldest windows.
        let drop = Math.max(1, Math.floor(maxKeys / 10));
        for (const k of windows.keys()) {
          windows.delete(k);
          if (--drop === 0) break;
        }
      }
      w = { count: 0, endsAt: t + windowMs };
      windows.set(key, w);
    }
    w.count += 1;
    return { count: w.count, resetMs: w.endsAt - t };
  };
  return {
    hitNow,
    hit: async (key, windowMs) => hitNow(key, windowMs),
    size: () => windows.size,
    close: () => clearInterval(sweep),
  };
}
