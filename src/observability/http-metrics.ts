import type { Registry } from 'prom-client';

const REQUESTS = 'tessera_http_requests_total';
const DURATION = 'tessera_http_request_duration_seconds';
/** Upper bounds of the latency histogram's buckets, seconds. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

interface Count {
  labels: Record<string, string>;
  value: number;
}
interface Latency {
  route: string;
  perBucket: number[];
  sum: number;
  count: number;
}
interface Value {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
  exemplar?: null;
}

/**
 * The request counter and latency histogram of every HTTP request. They are counted in plain
 * numbers on the request path and read by the registry at scrape time, in the shape prom-client's
 * own Counter and Histogram give it: a labelled prom-client child validates and hashes its labels
 * on every call, a cost paid twice per request on the server's fastest routes.
 *
 * The label sets are bounded: routes are route patterns (or "unmatched"), methods the ones Node's
 * HTTP parser accepts, statuses their class.
 */
export function httpRequestMetrics(
  registry: Registry,
): (route: string, method: string, status: number, seconds: number) => void {
  const counts = new Map<string, Count>();
  const latencies = new Map<string, Latency>();
  registerCounter(registry, REQUESTS, 'HTTP requests by route, method and status class.', counts);
  register(
    registry,
    DURATION,
    'HTTP request latency by route.',
    'histogram',
    () => [...latencies.values()].flatMap(histogramValues),
    () => latencies.clear(),
  );
  return (route, method, status, seconds) => {
    const statusClass = Math.floor(status / 100);
    const key = `${route} ${method} ${statusClass}`;
    let c = counts.get(key);
    if (!c) counts.set(key, (c = { labels: { route, method, status: `${statusClass}xx` }, value: 0 }));
    c.value += 1;
    let l = latencies.get(route);
    if (!l) latencies.set(route, (l = { route, perBucket: LATENCY_BUCKETS.map(() => 0), sum: 0, count: 0 }));
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
    if (i < LATENCY_BUCKETS.length) l.perBucket[i]! += 1;
    l.sum += seconds;
    l.count += 1;
  };
}

/**
 * A counter with one label, counted in a plain map on the hot path (tokens issued, per grant
 * type) and read by the registry at scrape time like prom-client's own Counter.
 */
export function plainCounter(registry: Registry, name: string, help: string, label: string): (value: string) => void {
  const counts = new Map<string, Count>();
  registerCounter(registry, name, help, counts);
  return (value) => {
    let c = counts.get(value);
    if (!c) counts.set(value, (c = { labels: { [label]: value }, value: 0 }));
    c.value += 1;
  };
}

/** A counter whose counts (one per label set) live in `counts`. */
function registerCounter(registry: Registry, name: string, help: string, counts: Map<string, Count>): void {
  register(
    registry,
    name,
    help,
    'counter',
    () => [...counts.values()].map((c) => ({ labels: c.labels, value: c.value })),
    () => counts.clear(),
  );
}

/** Cumulative buckets (le), +Inf, sum and count, as Prometheus histograms are exposed. */
function histogramValues(l: Latency): Value[] {
  let cumulative = 0;
  const buckets: Value[] = LATENCY_BUCKETS.map((le, i) => ({
    metricName: `${DURATION}_bucket`,
    labels: { le, route: l.route },
    value: (cumulative += l.perBucket[i]!),
    exemplar: null,
  }));
  return [
    ...buckets,
    { metricName: `${DURATION}_bucket`, labels: { le: '+Inf', route: l.route }, value: l.count, exemplar: null },
    { metricName: `${DURATION}_sum`, labels: { route: l.route }, value: l.sum },
    { metricName: `${DURATION}_count`, labels: { route: l.route }, value: l.count },
  ];
}

/** A metric object the registry reads like its own (get, reset), for the text and JSON formats. */
function register(
  registry: Registry,
  name: string,
  help: string,
  type: 'counter' | 'histogram',
  values: () => Value[],
  reset: () => void,
): void {
  registry.registerMetric({
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
    reset,
  } as unknown as Parameters<Registry['registerMetric']>[0]);
}
