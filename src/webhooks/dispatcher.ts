// The webhook dispatcher: one per process, started by app.ts (as the mail worker is) and stopped
// on close. Each run moves the endpoints' cursors over the audit trail (the store queues one
// delivery per record an endpoint's filter takes), then claims due deliveries under a lease,
// signs and POSTs each through the outbound port, and records the attempt: delivered on a 2xx,
// else retried with exponential back-off and jitter, and given up after the last attempt.
// Several processes or instances share the work through the store's leases, so each record
// reaches each endpoint once. A timer wakes it; nothing here runs on a request's path.
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
  /** Deliveries claimed (and sent in parallel) at a time (default 10). */
  batch?: number;
  /** Pending deliveries per endpoint (default MAX_PENDING_PER_ENDPOINT). */
  maxPending?: number;
  onDelivered?(d: ClaimedDelivery): void;
  onRetry?(d: ClaimedDelivery, error: string): void;
  onFailed?(d: ClaimedDelivery, error: string): void;
}

export interface WebhookDispatcher {
  start(): void;
  /** Runs until nothing is due; resolves when done (joins a run in progress). */
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
  const batch = o.batch ?? 10;
  // A claim outlives the longest exchange, so no other process takes a delivery being sent.
  const lease = Math.ceil(o.timeoutMs / 1000) + 30;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
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
      if (await o.store.recordAttempt(owner, attempt, { status: 'delivered' })) o.onDelivered?.(d);
      return;
    }
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

  async function run(): Promise<void> {
    // Cursors first (a few rounds, so a burst is queued without waiting for the timer), then sends.
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
    while (!stopped) {
      const due = await o.store.claim(owner, o.now(), batch, lease);
      if (due.length === 0) break;
      await Promise.all(due.map(deliver));
    }
  }

  function runOnce(): Promise<void> {
    running ??= run()
      .catch((err) => o.log.warn({ event: 'webhook_dispatcher_failed', err: String(err) }, 'webhook run failed'))
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  return {
    start() {
      if (timer || stopped) return;
      timer = setInterval(() => void runOnce(), o.interval ?? 2000);
      timer.unref();
      void runOnce();
    },
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
