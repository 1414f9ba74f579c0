// Latency percentiles of the JS load generators (the flow driver, and autocannon's windows).

/** The p-th percentile (nearest rank) of latencies sorted in ascending order; 0 when there are none. */
export function percentile(sorted: number[], p: number): number {
  return sorted.length
    ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
    : 0;
}
