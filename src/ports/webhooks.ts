// Webhooks (issue 18): endpoints an operator registers, each fed from the audit trail through a
// cursor of its own (the last audit seq it has queued), and the delivery log: one delivery per audit
// record an endpoint's filter takes, with every attempt at it. Times are epoch seconds unless named
// otherwise. Nothing here is ever a plain secret: an endpoint's signing secret is stored wrapped
// under the key-encryption key, and only the webhooks room opens it.
import type { Page } from './admin.ts';

export interface WebhookEndpoint {
  /** `wh_` and random characters. */
  id: string;
  /** Where deliveries are POSTed: https (http only on a loopback host under the test allowance). */
  url: string;
  description: string;
  /** Audit types or prefixes ending in `*` (`admin_*`); empty: every event. */
  events: string[];
  enabled: boolean;
  /** The Standard Webhooks secret (`whsec_...`), wrapped under the key-encryption key. */
  secretWrapped: string;
  createdAt: number;
  updatedAt: number;
  /** The last audit seq this endpoint's cursor has queued (a new endpoint starts at the head: no backlog). */
  lastSeq: number;
}

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookDelivery {
  /** `msg_...`: the Standard Webhooks message id (webhook-id), the same at every attempt. */
  id: string;
  endpointId: string;
  /** The audit record it carries; null for a test ping. */
  seq: number | null;
  /** The message type: `tessera.<audit type>` or `tessera.ping`. */
  type: string;
  /** The JSON body sent (the same at every attempt). */
  payload: string;
  status: WebhookDeliveryStatus;
  /** Attempts made so far (every one, redeliveries included). */
  attempts: number;
  /** When the next attempt is due (pending). */
  nextAt: number;
  createdAt: number;
  /** When it was delivered or given up. */
  doneAt: number | null;
  /** The last attempt's HTTP status, if an answer came. */
  lastStatus: number | null;
  /** The last attempt's error class (`timeout`, `refused`, `network`, `status`, ...), if it failed. */
  lastError: string | null;
}

/** One attempt at a delivery, as the delivery log keeps it. */
export interface WebhookAttempt {
  deliveryId: string;
  /** 1 for the first attempt. */
  attempt: number;
  at: number;
  /** The HTTP status of the answer; null when none came. */
  status: number | null;
  /** Why it did not count as delivered (an error class), null when it did. */
  error: string | null;
  durationMs: number;
  /** The first bytes of the receiver's answer (at most 1 KiB, as text), if any. */
  response: string | null;
}

/** A delivery claimed by a dispatcher, with what it needs to send it. */
export interface ClaimedDelivery extends WebhookDelivery {
  /** Attempts since it was queued or last redelivered, this one included: what the back-off and the limit count. */
  roundAttempts: number;
  url: string;
  secretWrapped: string;
}

export interface WebhookPullOptions {
  /** Audit records read per endpoint per pull (the design's 100). */
  batch: number;
  /** An endpoint holding this many pending deliveries queues no more until some are done. */
  maxPending: number;
  /** How long the cursor lease of an endpoint lasts, seconds (renewed by its holder at each pull). */
  lease: number;
  /** A new delivery's id for an endpoint and audit seq. */
  deliveryId(endpointId: string, seq: number): string;
  /** The message type and JSON body of an audit record for the delivery. */
  message(record: WebhookAuditRecord): { type: string; payload: string };
}

/** An audit record as the cursor reads it. */
export interface WebhookAuditRecord {
  seq: number;
  /** Epoch milliseconds. */
  at: number;
  type: string;
  actor: string | null;
  clientId: string | null;
  ip: string | null;
  outcome: string;
  details: Record<string, unknown>;
}

export interface DeliveryQuery {
  endpointId: string;
  status?: WebhookDeliveryStatus;
  /** The key of the last delivery of the page before (newest first). */
  after?: string;
  limit: number;
}

export interface WebhookStore {
  /** Refuses (throws) an id in use. */
  create(endpoint: WebhookEndpoint): Promise<void>;
  get(id: string): Promise<WebhookEndpoint | undefined>;
  list(): Promise<WebhookEndpoint[]>;
  /** Saves url, description, events, enabled, secretWrapped and updatedAt; false when there is no such endpoint. */
  update(endpoint: WebhookEndpoint): Promise<boolean>;
  /** Removes an endpoint with its deliveries and their attempts; false when there was none. */
  delete(id: string): Promise<boolean>;
  /** The audit trail's last seq (0 when empty): where a new endpoint's cursor starts. */
  auditHead(): Promise<number>;
  /**
   * Moves the cursors: for each enabled endpoint whose cursor lease is free (or `owner`'s), takes
   * the lease, reads the audit records after its cursor (at most `batch`), queues one pending
   * delivery (due `now`) per record its filter takes and moves the cursor past every record read,
   * in one transaction per endpoint. An endpoint at `maxPending` is skipped (its cursor waits).
   * Returns how many deliveries were queued.
   */
  pull(owner: string, now: number, options: WebhookPullOptions): Promise<number>;
  /**
   * Up to `limit` pending deliveries of enabled endpoints that are due and not leased, leased to
   * `owner` until now + lease, both attempt counts + 1, oldest first. With `perEndpoint`, an
   * endpoint's deliveries are taken only while fewer than that many of them are leased (by any
   * process), the endpoints waiting longest first: one slow endpoint cannot take every sender.
   */
  claim(owner: string, now: number, limit: number, lease: number, perEndpoint?: number): Promise<ClaimedDelivery[]>;
  /**
   * Moves the due and not leased pending deliveries of an endpoint to `until` (none earlier): the
   * dispatcher's circuit breaker for an endpoint failing again and again. Returns how many moved.
   */
  deferEndpoint(endpointId: string, now: number, until: number): Promise<number>;
  /**
   * Records an attempt of a claimed delivery and its outcome: delivered, failed for good, or pending
   * again from `nextAt`. Does nothing (false) when `owner` no longer holds the lease.
   */
  recordAttempt(
    owner: string,
    attempt: WebhookAttempt,
    outcome: { status: 'delivered' | 'failed' } | { status: 'pending'; nextAt: number },
  ): Promise<boolean>;
  /** Adds a delivery already attempted (a test ping sent by an operator) with its one attempt. */
  addAttempted(delivery: WebhookDelivery, attempt: WebhookAttempt): Promise<void>;
  getDelivery(id: string): Promise<WebhookDelivery | undefined>;
  /** An endpoint's deliveries, newest first (keyed by id within one created_at: the page key is opaque). */
  deliveries(q: DeliveryQuery): Promise<Page<WebhookDelivery>>;
  /** A delivery's attempts, first first. */
  attempts(deliveryId: string): Promise<WebhookAttempt[]>;
  /** Pending deliveries of an endpoint (due or not). */
  pendingCount(endpointId: string): Promise<number>;
  /**
   * Makes a delivery pending again, due `now`, with a fresh round of attempts (the log keeps the earlier ones); false
   * when there is none or it is leased.
   */
  redeliver(id: string, now: number): Promise<boolean>;
  /** Retention of the log: removes deliveries done before `before` with their attempts; returns how many. */
  deleteDoneBefore(before: number): Promise<number>;
  /**
   * Retention of the queue: removes pending deliveries queued before `before` (their audit records
   * are past retention; a disabled or dead endpoint's queue would otherwise stay) with their
   * attempts; returns how many.
   */
  deletePendingBefore(before: number): Promise<number>;
}

/**
 * Whether an endpoint's event filter takes an audit type: an empty filter takes every type; an entry
 * is a type (`login_failed`) or a prefix ending in `*` (`admin_*`; `*` alone is every type).
 */
export function webhookFilterTakes(events: readonly string[], type: string): boolean {
  if (events.length === 0) return true;
  return events.some((e) => (e.endsWith('*') ? type.startsWith(e.slice(0, -1)) : e === type));
}
