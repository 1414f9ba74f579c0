// The OpenTelemetry side of tracing (tracing.ts loads this file only when TESSERA_TRACING=otlp):
// the SDK's tracer provider with a batching span processor and the OTLP/HTTP (JSON) exporter, the
// W3C trace context propagator for an incoming `traceparent`, and a context manager over
// node:async_hooks' AsyncLocalStorage, so the span of the request being served is the parent of
// the spans its storage calls and Redis commands make, however far down their asynchronous chain.
import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context as contextApi,
  defaultTextMapGetter,
  trace,
  type Context,
  type ContextManager,
  type Span,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import {
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_SYSTEM_NAME,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVICE_NAME,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import type { Stores } from '../ports/index.ts';
import type { NodeHandler, TraceableRedis, Tracing, TracingLog, TracingSettings } from './tracing.ts';

/** How long close() waits for the spans still queued to reach the collector, ms. */
const CLOSE_WAIT_MS = 3000;

type Listener = (...args: unknown[]) => unknown;
const ADD = ['on', 'addListener', 'prependListener'] as const;
const REMOVE = ['off', 'removeListener'] as const;

/**
 * The active context kept in an AsyncLocalStorage: it follows promises, timers and callbacks. An
 * event emitter's listeners run in the context of whoever emits (a request's body arrives from the
 * connection's parser), so `bind` makes the listeners added to an emitter run in a given context.
 */
class AsyncLocalContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();

  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.apply(thisArg, args));
  }

  bind<T>(ctx: Context, target: T): T {
    if (typeof target === 'function') return this.#bindFunction(ctx, target as unknown as Listener) as T;
    if (target instanceof EventEmitter) this.#bindEmitter(ctx, target);
    return target;
  }

  #bindFunction(ctx: Context, fn: Listener): Listener {
    const self = this;
    const bound = function (this: unknown, ...args: unknown[]) {
      return self.with(ctx, () => fn.apply(this, args));
    };
    // A `once` listener's wrapper names the listener it was given, which removeListener looks for.
    const inner = (fn as { listener?: unknown }).listener;
    if (inner !== undefined) Object.defineProperty(bound, 'listener', { value: inner });
    return bound;
  }

  /** Listeners added to `emitter` from now on run in `ctx` (`once` adds through `on`). */
  #bindEmitter(ctx: Context, emitter: EventEmitter): void {
    const self = this;
    const wrapped = new WeakMap<Listener, Listener>();
    const target = emitter as unknown as Record<string, (event: unknown, listener: Listener) => unknown>;
    for (const name of ADD) {
      const add = target[name]!;
      target[name] = function (this: unknown, event: unknown, listener: Listener) {
        let bound = wrapped.get(listener);
        if (!bound) wrapped.set(listener, (bound = self.#bindFunction(ctx, listener)));
        return add.call(this, event, bound);
      };
    }
    for (const name of REMOVE) {
      const remove = target[name]!;
      target[name] = function (this: unknown, event: unknown, listener: Listener) {
        return remove.call(this, event, wrapped.get(listener) ?? listener);
      };
    }
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.#storage.disable();
    return this;
  }
}

// One per process: the context is the process's, whichever app (tests build several) made the span.
const manager = new AsyncLocalContextManager();
// Libraries that make spans through the API see the same context (unless another manager was set first).
contextApi.setGlobalContextManager(manager);

const propagator = new W3CTraceContextPropagator();

function failed(span: Span, err: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : 'error' });
}

/** The SDK's tracer provider and the wrappers of tracing.ts's Tracing over it. */
export function openTracing(settings: TracingSettings, warn: TracingLog['warn']): Tracing {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }),
    // Every request is traced: a caller's `traceparent` gives the parent, never the decision (its
    // "not sampled" flag would let any client keep its own requests out of the traces).
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler(), remoteParentNotSampled: new AlwaysOnSampler() }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: settings.otlpEndpoint }) })],
  });
  const tracer = provider.getTracer('tessera');
  /** The server span of each request being served. */
  const requestSpans = new WeakMap<IncomingMessage, Span>();

  /**
   * Runs `fn` within a child span of the active one, ended when its promise settles. Work outside
   * a request (the background workers, start-up) makes no spans: only the requests' traces are
   * wanted, and the workers poll.
   */
  const child = <T>(name: string, kind: SpanKind, fn: () => T, attributes?: Record<string, string>): T => {
    const parent = manager.active();
    if (trace.getSpan(parent) === undefined) return fn();
    const span = tracer.startSpan(name, { kind, attributes }, parent);
    let out: T;
    try {
      out = manager.with(trace.setSpan(parent, span), fn);
    } catch (err) {
      failed(span, err);
      span.end();
      throw err;
    }
    if (out instanceof Promise)
      return out.then(
        (value) => {
          span.end();
          return value;
        },
        (err) => {
          failed(span, err);
          span.end();
          throw err;
        },
      ) as T;
    span.end();
    return out;
  };

  /** A port with a span around each of its methods' calls; the same proxy for the same port. */
  const ports = new WeakMap<object, object>();
  const tracedPort = <P extends object>(name: string, port: P): P => {
    let proxy = ports.get(port) as P | undefined;
    if (proxy) return proxy;
    // Each method's wrapper, made once per function (a method replaced on the port gets a new one).
    const methods = new WeakMap<Listener, Listener>();
    proxy = new Proxy(port, {
      get(target, key) {
        const value = Reflect.get(target, key) as unknown;
        if (typeof value !== 'function' || typeof key !== 'string') return value;
        let method = methods.get(value as Listener);
        if (!method) {
          const spanName = `store.${name}.${key}`;
          methods.set(
            value as Listener,
            (method = (...args: unknown[]) =>
              child(spanName, SpanKind.INTERNAL, () => (value as Listener).apply(target, args))),
          );
        }
        return method;
      },
    });
    ports.set(port, proxy);
    return proxy;
  };

  const tracedStores = (stores: Stores): Stores =>
    new Proxy(stores, {
      get(target, key) {
        const value = Reflect.get(target, key) as unknown;
        if (typeof key !== 'string') return value;
        if (key === 'transaction')
          return <T>(fn: (tx: Stores) => Promise<T>) =>
            child('store.transaction', SpanKind.INTERNAL, () => target.transaction((tx) => fn(tracedStores(tx))));
        if (typeof value === 'function')
          return (...args: unknown[]) =>
            child(`store.${key}`, SpanKind.INTERNAL, () => (value as Listener).apply(target, args));
        if (value !== null && typeof value === 'object') return tracedPort(key, value);
        return value;
      },
    });

  return {
    serve(handler: NodeHandler): NodeHandler {
      return (req, res) => {
        const method = req.method ?? 'GET';
        const parent = propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
        const path = (req.url ?? '/').split('?', 1)[0]!;
        const span = tracer.startSpan(
          method,
          { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_URL_PATH]: path } },
          parent,
        );
        requestSpans.set(req, span);
        res.once('close', () => {
          const status = res.statusCode;
          span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
          if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
        });
        const ctx = trace.setSpan(parent, span);
        // The body and the response's events come from the connection: their listeners run in the request's context.
        manager.bind(ctx, req);
        manager.bind(ctx, res);
        manager.with(ctx, handler, undefined, req, res);
      };
    },
    route(req, route) {
      const span = requestSpans.get(req);
      if (!span) return;
      span.setAttribute(ATTR_HTTP_ROUTE, route);
      span.updateName(`${req.method ?? 'GET'} ${route}`);
    },
    stores: tracedStores,
    redis(client: TraceableRedis) {
      const send = client.sendCommand;
      client.sendCommand = function (this: unknown, command, ...rest) {
        const parent = manager.active();
        if (trace.getSpan(parent) === undefined) return send.call(this, command, ...rest);
        const operation = command.name.toUpperCase();
        const span = tracer.startSpan(
          operation,
          {
            kind: SpanKind.CLIENT,
            attributes: { [ATTR_DB_SYSTEM_NAME]: 'redis', [ATTR_DB_OPERATION_NAME]: operation },
          },
          parent,
        );
        command.promise.then(
          () => span.end(),
          (err: unknown) => {
            failed(span, err);
            span.end();
          },
        );
        return send.call(this, command, ...rest);
      };
    },
    activeIds() {
      const span = trace.getSpan(manager.active());
      if (span === undefined) return undefined;
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },
    async close() {
      // The spans still queued are sent, waiting for the collector no longer than CLOSE_WAIT_MS:
      // a collector that is down must not hold up a shutdown (the exporter retries for longer).
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), CLOSE_WAIT_MS);
        timer.unref();
      });
      try {
        const outcome = await Promise.race([provider.shutdown(), waited]);
        if (outcome === 'timeout')
          warn(
            { event: 'tracing_flush_timeout', endpoint: settings.otlpEndpoint },
            'spans not sent on close: the collector did not answer in time',
          );
      } catch (err) {
        warn(
          { event: 'tracing_flush_failed', endpoint: settings.otlpEndpoint, err: String(err) },
          'spans not sent on close',
        );
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
