// Tracing (TESSERA_TRACING=otlp): spans sent to an OpenTelemetry collector over OTLP/HTTP. This
// file imports nothing of OpenTelemetry: with tracing off (the default) no OpenTelemetry module is
// ever loaded and nothing is wrapped. Turned on, startTracing loads tracing-otel.ts, which holds
// the SDK, and returns what the composition root wraps: the HTTP server's handler (a span per
// request, continuing an incoming `traceparent`), the storage ports (a child span per call) and the
// Redis client (a child span per command). Log lines written while a span is active carry its ids
// (traceLogFields, the logger's mixin).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Stores } from '../ports/index.ts';

/** What tracing needs of the settings. */
export interface TracingSettings {
  tracing: 'off' | 'otlp';
  /** OTLP/HTTP traces URL (…/v1/traces). */
  otlpEndpoint: string;
  serviceName: string;
}

/** Where tracing reports spans it could not send. */
export interface TracingLog {
  warn(obj: object, msg: string): void;
}

/** A node:http request handler. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** The parts of an ioredis client (Redis or Cluster) tracing wraps. */
export interface TraceableRedis {
  sendCommand(command: { name: string; promise: Promise<unknown> }, ...rest: unknown[]): unknown;
}

/** Tracing, turned on. */
export interface Tracing {
  /** Runs each request of `handler` within a server span (its parent from `traceparent`, when sent). */
  serve(handler: NodeHandler): NodeHandler;
  /** Names the route (the route table's path) of a request being served, for its span. */
  route(req: IncomingMessage, route: string): void;
  /** The storage ports with a child span around each call (`store.<port>.<method>`). */
  stores(stores: Stores): Stores;
  /** Adds a child span per command sent through `client` (patched in place). */
  redis(client: TraceableRedis): void;
  /** The trace and span ids of the active span (the process's context, whichever app made it). */
  activeIds(): { trace_id: string; span_id: string } | undefined;
  /** Sends the spans still queued (waiting a few seconds at most; never throws), then stops. */
  close(): Promise<void>;
}

/** The ids of the active span, once tracing-otel.ts is loaded. */
let activeIds: Tracing['activeIds'] | undefined;

/**
 * Pino's mixin while tracing is on: the trace and span ids of the span active when a line is
 * written (the request's, or a storage call's within it), so log lines and traces join up.
 */
export function traceLogFields(): object {
  return activeIds?.() ?? {}; // a fresh object: pino merges the line's fields into it
}

/** Loads the OpenTelemetry SDK and starts exporting, when tracing is on; undefined (and nothing loaded) when off. */
export async function startTracing(settings: TracingSettings, log: TracingLog): Promise<Tracing | undefined> {
  if (settings.tracing === 'off') return undefined;
  const { openTracing } = await import('./tracing-otel.ts');
  const tracing = openTracing(settings, (obj, msg) => log.warn(obj, msg));
  activeIds ??= tracing.activeIds;
  return tracing;
}
