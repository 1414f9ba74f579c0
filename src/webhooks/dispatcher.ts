// The webhook dispatcher: one per process, started by app.ts (as the mail worker is) and stopped
// on close. Two timers drive it. One moves the endpoints' cursors over the audit trail (the store
// queues one delivery per record an endpoint's filter takes). The other sends: a pool of senders
// (8 by default) claims due deliveries under a lease as slots free up, at most 2 in flight per
// endpoint (counted in the store, across processes), signs and POSTs each through the outbound
// port, and records the attempt: delivered on a 2xx, else retried with exponential back-off and
// jitter, and given up after the last attempt. An endpoint that fails several times in a row has
// its other due deliveries pushed back with the back-off (a circuit breaker), so a receiver that
// hangs neither holds the senders nor delays other endpoints. Several processes or instances share
// the work through the store's leases, so each record reaches each endpoint once. Nothing here
// runs on a request's path.
import { randomUUID } from 'node:crypto';
import type { ClaimedDelivery, WebhookStore } from '../ports/webhooks.ts';
import {
  auditDeliveryId,
  auditMessage,
  openWebhookSecret,
  sendWebhook,
  type Keks,
  type SendSettings,
} from './signing.ts';

/** The delays before the second, third, ... attempt, seconds (the last one repeats). */
export const RETRY_DELAYS: readonly number[] = [10, 60, 300, 1800, 7200, 21_600, 43_200, 86_400];
/** Pending deliveries one endpoint may hold: its cursor waits beyond this (the queue never grows without bound). */
export const MAX_PENDING_PER_ENDPOINT = 1000;

export interface WebhookLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface WebhookDispatcherOptions extends SendSettings {
  store: WebhookStore;
  keks: Keks;
  /** Epoch seconds (the provider's clock). */
  now: () => number;
  log: WebhookLog;
  /** Attempts before a delivery is given up (TESSERA_WEBHOOK_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** Tests: other retry delays, seconds. */
  retryDelays?: readonly number[];
  /** The jitter, a fraction of the delay either way (default 0.2). */
  jitter?: number;
  /** Milliseconds between regular runs (default 2000). */
  interval?: number;
  /** Deliveries sent at once by this process (default 8). */
  concurrency?: number;
  /** Deliveries of one endpoint in flight at once, across processes (default 2). */
  perEndpoint?: number;
  /** Failed attempts in a row after which an endpoint's due deliveries are pushed back (default 3). */
  breakAfter?: number;
  /** Pending deliveries per endpoint (default MAX_PENDING_PER_ENDPOINT). */
  maxPending?: number;
  onDelivered?(d: ClaimedDelivery): void;
  onRetry?(d: ClaimedDelivery, error: string): void;
  onFailed?(d: ClaimedDelivery, error: string): void;
}

export interface WebhookDispatcher {
  start(): void;
  /** Moves the cursors, then sends until nothing is due; resolves when done (joins a run in progress). */
  runOnce(): Promise<void>;
  stop(): Promise<void>;
}

/** The delay before the next attempt after `attempts` of them, seconds, with jitter. */
export function retryDelay(attempts: number, delays: readonly number[], jitter: number): number {
  const base = delays[Math.min(Math.max(attempts, 1), delays.length) - 1] ?? 0;
  return Math.max(0, Math.round(base * (1 + jitter * (2 * Math.random() - 1))));
}

export function webhookDispatcher(o: WebhookDispatcherOptions): WebhookDispatcher {
  const owner = randomUUID();
  const delays = o.retryDelays ?? RETRY_DELAYS;
  const jitter = o.jitter ?? 0.2;
  const concurrency = o.concurrency ?? 8;
  const perEndpoint = o.perEndpoint ?? 2;
  const breakAfter = o.breakAfter ?? 3;
  /** Failed attempts in a row per endpoint, as this process saw them (a success clears it). */
  const failures = new Map<string, number>();
  // A claim outlives the longest exchange, so no other process takes a delivery being sent.
  const lease = Math.ceil(o.timeoutMs / 1000) + 30;
  let timers: NodeJS.Timeout[] = [];
  let running: Promise<void> | undefined;
  let pulling: Promise<void> | undefined;
  let sending: Promise<void> | undefined;
  /** Wakes a send loop waiting for a delivery to finish (the send timer does, while one runs). */
  let wake: (() => void) | undefined;
  let stopped = false;

  async function deliver(d: ClaimedDelivery): Promise<void> {
    let secret: string;
    try {
      secret = await openWebhookSecret(o.keks, d.endpointId, d.secretWrapped);
    } catch {
      // The key-encryption key changed twice since the secret was wrapped: rotating it mends this.
      await record(d, { status: null, error: 'secret', durationMs: 0, response: null });
      return;
    }
    const outcome = await sendWebhook(o, { id: d.id, url: d.url, payload: d.payload, secret, timestamp: o.now() });
    await record(d, outcome);
  }

  async function record(d: ClaimedDelivery, a: Awaited<ReturnType<typeof sendWebhook>>): Promise<void> {
    const now = o.now();
    const attempt = { deliveryId: d.id, attempt: d.attempts, at: now, ...a };
    const log = {
      event: 'webhook_attempt',
      delivery: d.id,
      endpoint: d.endpointId,
      attempt: d.attempts,
      status: a.status,
      error: a.error,
      duration_ms: Math.round(a.durationMs),
    };
    if (a.error === null) {
      failures.delete(d.endpointId);
      if (await o.store.recordAttempt(owner, attempt, { status: 'delivered' })) o.onDelivered?.(d);
      return;
    }
    // Best effort: a failed write of the breaker must not keep this attempt from being recorded.
    await breaker(d.endpointId, now).catch((err) =>
      o.log.warn(
        { event: 'webhook_dispatcher_failed', endpoint: d.endpointId, err: String(err) },
        'webhook breaker failed',
      ),
    );
    if (d.roundAttempts >= o.maxAttempts || a.error === 'secret') {
      if (await o.store.recordAttempt(owner, attempt, { status: 'failed' })) {
        o.log.warn(log, 'webhook delivery given up');
        o.onFailed?.(d, a.error);
      }
      return;
    }
    const nextAt = now + retryDelay(d.roundAttempts, delays, jitter);
    if (await o.store.recordAttempt(owner, attempt, { status: 'pending', nextAt })) {
      o.log.info({ ...log, next_at: nextAt }, 'webhook not delivered; retried later');
      o.onRetry?.(d, a.error);
    }
  }

  /**
   * After `breakAfter` failures in a row, the endpoint's other due deliveries wait as a retry
   * would (longer at each further failure): they are not claimed again at once only to time out.
   */
  async function breaker(endpointId: string, now: number): Promise<void> {
    const n = (failures.get(endpointId) ?? 0) + 1;
    failures.set(endpointId, n);
    if (n < breakAfter) return;
    const until = now + retryDelay(n - breakAfter + 1, delays, jitter);
    const moved = await o.store.deferEndpoint(endpointId, now, until);
    if (moved > 0)
      o.log.info(
        { event: 'webhook_endpoint_failing', endpoint: endpointId, failures: n, deferred: moved, next_at: until },
        'webhook endpoint failing; its due deliveries wait',
      );
  }

  async function pull(): Promise<void> {
    // A few rounds, so a burst is queued without waiting for the timer.
    for (let i = 0; i < 10 && !stopped; i++) {
      const queued = await o.store.pull(owner, o.now(), {
        batch: 100,
        maxPending: o.maxPending ?? MAX_PENDING_PER_ENDPOINT,
        lease: 30,
        deliveryId: auditDeliveryId,
        message: auditMessage,
      });
      if (queued === 0) break;
    }
  }

  /** Sends until nothing is due: a free slot claims more at once, never waiting for a whole batch. */
  async function send(): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    // Deliveries finished so far: one that finished while a claim ran freed its endpoint's turn,
    // so the loop claims again at once rather than wait for the others (a hanging one included).
    let finished = 0;
    try {
      while (!stopped) {
        const seen = finished;
        const free = concurrency - inFlight.size;
        const due = free > 0 ? await o.store.claim(owner, o.now(), free, lease, perEndpoint) : [];
        for (const d of due) {
          const p: Promise<void> = deliver(d)
            .catch((err) =>
              o.log.warn(
                { event: 'webhook_dispatcher_failed', delivery: d.id, err: String(err) },
                'webhook send failed',
              ),
            )
            .finally(() => {
              finished++;
              inFlight.delete(p);
            });
          inFlight.add(p);
        }
        // Nothing more to take now (or no slot): wait for a delivery to finish, then claim again.
        if (due.length === 0 && finished !== seen) continue;
        if (due.length === 0 || inFlight.size >= concurrency) {
          if (inFlight.size === 0) break;
          // The send timer wakes it too: deliveries queued meanwhile need not wait for a slow one.
          await Promise.race([...inFlight, new Promise<void>((r) => (wake = r))]);
          wake = undefined;
        }
      }
    } finally {
      await Promise.all(inFlight);
    }
  }

  /** Runs `fn` unless a run of it is under way (then joins that one); failures are logged. */
  function single(
    get: () => Promise<void> | undefined,
    set: (p: Promise<void> | undefined) => void,
    fn: () => Promise<void>,
  ) {
    let p = get();
    if (!p) {
      p = fn()
        .catch((err) => o.log.warn({ event: 'webhook_dispatcher_failed', err: String(err) }, 'webhook run failed'))
        .finally(() => set(undefined));
      set(p);
    }
    return p;
  }
  const cursors = () =>
    single(
      () => pulling,
      (p) => {
        pulling = p;
      },
      pull,
    );
  const sends = () => {
    wake?.();
    return single(
      () => sending,
      (p) => {
        sending = p;
      },
      send,
    );
  };

  function runOnce(): Promise<void> {
    running ??= (async () => {
      await cursors();
      await sends();
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  return {
    start() {
      if (timers.length || stopped) return;
      // The cursors move on their own timer: a long send (a slow receiver) never holds them.
      timers = [
        setInterval(() => void cursors(), o.interval ?? 2000),
        setInterval(() => void sends(), o.interval ?? 2000),
      ];
      for (const t of timers) t.unref();
      void runOnce();
    },
    runOnce,
    async stop() {
      stopped = true;
      for (const t of timers) clearInterval(t);
      timers = [];
      await Promise.all([running, pulling, sending]);
    },
  };
}
