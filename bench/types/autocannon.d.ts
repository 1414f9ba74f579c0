// The small part of autocannon's API the benchmark uses (the package ships no types).
declare module 'autocannon' {
  export interface AutocannonRequest {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
    setupRequest?: (
      req: AutocannonRequest & { state?: Record<string, unknown> },
      context: Record<string, unknown>,
    ) => AutocannonRequest;
    onResponse?: (
      this: AutocannonRequest & { state: Record<string, unknown> },
      status: number,
      body: string,
      context: Record<string, unknown>,
    ) => void;
    state?: Record<string, unknown>;
  }

  export interface AutocannonOptions {
    url: string;
    connections?: number;
    duration?: number;
    pipelining?: number;
    timeout?: number;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    requests?: AutocannonRequest[];
    /** Requests per second over all connections (each connection gets its share per second). */
    overallRate?: number;
    ignoreCoordinatedOmission?: boolean;
  }

  export interface AutocannonResult {
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    statusCodeStats: Record<string, { count: number }>;
    latency: { p50: number; p99: number; average: number; max: number };
    requests: { total: number; average: number };
  }

  /** A run: awaitable for its result, and an emitter of its progress. */
  export interface AutocannonInstance extends PromiseLike<AutocannonResult> {
    on(event: 'response', listener: (client: unknown, status: number, bytes: number, ms: number) => void): this;
    on(event: 'reqError', listener: (err: Error) => void): this;
    on(event: 'done', listener: (result: AutocannonResult) => void): this;
  }

  function autocannon(opts: AutocannonOptions): AutocannonInstance;
  export default autocannon;
}
