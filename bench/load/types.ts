// What a load generator is asked to do, and what it reports.
import type { FlowTarget } from '../lib/flow.ts';

/** The same request over and over; success is exactly `expectStatus`. */
export interface HttpWorkload {
  kind: 'http';
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
  expectStatus: number;
}

/**
 * Refresh-token rotation: every request presents the refresh token returned by the previous
 * response on the same chain; chains start from `tokens` (one per connection, each from its own
 * code flow). Success is 200 with a new refresh_token.
 */
export interface RefreshWorkload {
  kind: 'refresh';
  url: string;
  headers: Record<string, string>;
  tokens: string[];
  /** Form fields sent before grant_type (e.g. `client_id=...&` for a public client), form-encoded. */
  bodyPrefix?: string;
}

/** Complete authorization-code + PKCE flows, `concurrency` at a time, by the JS flow driver. */
export interface FlowWorkload {
  kind: 'flow';
  target: FlowTarget;
  scope: string;
  concurrency: number;
  /**
   * Single sign-on: each browser signs in and consents once (not measured), then every measured
   * flow is authorize with its session cookie, the code, and the token request.
   */
  sso?: boolean;
}

export type Workload = HttpWorkload | RefreshWorkload | FlowWorkload;

export interface LoadOptions {
  durationS: number;
  connections: number;
  /** A constant overall request rate, requests per second, instead of as fast as possible (autocannon only). */
  rate?: number;
  /** Report a window every windowS seconds while the load runs (autocannon only). */
  windowS?: number;
}

/** One window of a long load (LoadOptions.windowS), reported while the load runs. */
export interface LoadWindow {
  /** 1, 2, ... */
  index: number;
  /** Seconds from the start of the load to the end of this window. */
  endS: number;
  /** Length of this window, seconds. */
  durationS: number;
  ok: number;
  failed: number;
  /** Latency of the responses completed in this window. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  firstError?: string;
}

export interface LoadResult {
  /** Successful requests (or completed flows). */
  ok: number;
  /** Failed requests or flows: unexpected status, bad body, socket errors, timeouts. */
  failed: number;
  durationS: number;
  p50Ms: number;
  p99Ms: number;
  /** First failure seen, for the report. */
  firstError?: string;
  /** HTTP requests made by the flows (flow workloads only). */
  httpRequests?: number;
}

export interface LoadDriver {
  name: 'wrk' | 'autocannon' | 'flow-driver';
  /** `onWindow` is called for each window when `o.windowS` is set. */
  run(w: Workload, o: LoadOptions, onWindow?: (w: LoadWindow) => void): Promise<LoadResult>;
}
