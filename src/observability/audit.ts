import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { AuditEvent, AuditStore } from '../ports/audit.ts';

export interface AuditLog {
  /** Queues an event; it is written with the next batch, never on the caller's path. */
  record(e: AuditEvent): void;
  /** Writes what is queued now, with the repeat counts of the current window (see Aggregate). */
  flush(): Promise<void>;
  /** Stops the timer and writes what is queued (call before closing the stores). */
  close(): Promise<void>;
}

export interface AuditLogOptions {
  /** How long an event may wait before its batch is written, ms (default 200). */
  flushMs?: number;
  /** Largest batch per append (default 200); a full batch is written at once. */
  maxBatch?: number;
  /** Most events held while the database is unavailable (default 10 000); older ones are dropped and counted. */
  maxBuffer?: number;
  /** Window over which repeated failures are counted instead of written one by one, ms (default 60 000). */
  aggregateMs?: number;
  /**
   * Most distinct failures (type, source, client, details) counted per window (default 500); the rest share one record
   * per type.
   */
  maxAggregates?: number;
}

/**
 * Failures are what unauthenticated requests can cause at will (failed client authentication,
 * failed logins, refused registrations, DPoP refusals, replays), so they are not written one
 * record per request: within a window, the first failure of a kind from a source is written as it
 * comes, and the repeats are counted and written as one record with `details.repeated` when the
 * window ends (or at flush / close). A kind is its type, source address, client, actor and
 * details, all of which are fixed words or known ids (see audit-events.ts; an unknown client id is
 * only a short hash, `unknown_client`, kept from the first record of its kind). At most
 * `maxAggregates` kinds are tracked per window; further kinds fold into one record per type with
 * `details.overflow`. So a flood, even from many addresses, adds a bounded number of rows per
 * window, never one per request.
 */
interface Aggregate {
  first: AuditEvent;
  repeated: number;
  last: number;
}

/** The source address of an event as stored: an IP address, or null (never raw header text). */
export function auditIp(ip: string | null | undefined): string | null {
  return typeof ip === 'string' && isIP(ip) !== 0 ? ip : null;
}

/**
 * Buffers audit events and appends them to the store in batches. If an append fails the events
 * stay queued for the next attempt (up to maxBuffer; the oldest are dropped beyond that, and the
 * drop is logged with a count). Logs carry the error only, never the events' contents.
 */
export function createAuditLog(store: AuditStore, log: Logger, opts: AuditLogOptions = {}): AuditLog {
  const { flushMs = 200, maxBatch = 200, maxBuffer = 10_000, aggregateMs = 60_000, maxAggregates = 500 } = opts;
  let buffer: AuditEvent[] = [];
  let aggregates = new Map<string, Aggregate>();
  let windowTimer: NodeJS.Timeout | undefined;
  let dropped = 0;
  let timer: NodeJS.Timeout | undefined;
  let chain = Promise.resolve();
  let closed = false;

  const schedule = (delay: number) => {
    if (timer || closed || !buffer.length) return;
    timer = setTimeout(() => {
      timer = undefined;
      void write();
    }, delay);
    timer.unref();
  };

  /**
   * Writes batch by batch the events queued when it starts (`all`: the timer, flush and close), then
   * any full batch; false if an append failed (the events stay queued). Events queued while it
   * writes wait for a full batch or the timer: under steady load the appends stay batches of
   * maxBatch, instead of one after the other, each with whatever arrived during the one before (a
   * transaction and a commit for a few events).
   */
  const drain = async (all: boolean): Promise<boolean> => {
    let due = all ? buffer.length : 0;
    while (buffer.length && (due > 0 || buffer.length >= maxBatch)) {
      const batch = buffer.slice(0, maxBatch);
      try {
        await store.append(batch);
      } catch (err) {
        log.error(
          { event: 'audit_append_failed', err: String(err), queued: buffer.length },
          'audit events could not be written; will retry',
        );
        return false;
      }
      buffer = buffer.slice(batch.length);
      due -= batch.length;
    }
    return true;
  };

  // One writer at a time keeps the batches in order: each flush queues behind the one before.
  // After a failure the next attempt waits longer, so an unavailable database is not hammered.
  function write(all = true): Promise<void> {
    if (all && timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    chain = chain
      .then(() => drain(all))
      .then((ok) => {
        if (!ok && timer) {
          clearTimeout(timer);
          timer = undefined;
        }
        schedule(ok ? flushMs : Math.max(flushMs, 5000));
      });
    return chain;
  }

  /** Ends the counting window: one record per failure kind that repeated, with the count. */
  const endWindow = () => {
    if (windowTimer) {
      clearTimeout(windowTimer);
      windowTimer = undefined;
    }
    const ended = aggregates;
    aggregates = new Map();
    for (const a of ended.values()) {
      if (a.repeated > 0) push({ ...a.first, at: a.last, details: { ...a.first.details, repeated: a.repeated } });
    }
  };

  /** The event to write now, or undefined when it was counted as a repeat of one written this window. */
  const admit = (e: AuditEvent): AuditEvent | undefined => {
    if (e.outcome !== 'failure') return e;
    // The short hash of an unknown client id varies at the sender's will: not part of the kind.
    const { unknown_client: _, ...kind } = e.details;
    let key = JSON.stringify([e.type, e.ip, e.clientId, e.actor, kind]);
    let event = e;
    if (!aggregates.has(key) && aggregates.size >= maxAggregates) {
      // Too many kinds this window (many sources): the rest of this type share one record.
      key = JSON.stringify([e.type, 'overflow']);
      event = { ...e, ip: null, clientId: null, actor: null, details: { overflow: true } };
    }
    const known = aggregates.get(key);
    if (known) {
      known.repeated++;
      known.last = e.at;
      return undefined;
    }
    aggregates.set(key, { first: event, repeated: 0, last: e.at });
    if (!windowTimer) {
      windowTimer = setTimeout(() => {
        windowTimer = undefined;
        endWindow();
      }, aggregateMs);
      windowTimer.unref();
    }
    return event;
  };

  function push(e: AuditEvent): void {
    buffer.push(e);
    if (buffer.length > maxBuffer) {
      const over = buffer.length - maxBuffer;
      buffer.splice(0, over);
      if (dropped === 0)
        setTimeout(() => {
          log.error({ event: 'audit_events_dropped', dropped }, 'audit buffer full: oldest events dropped');
          dropped = 0;
        }, 1000).unref();
      dropped += over;
    }
    if (buffer.length === maxBatch) void write(false);
    else schedule(flushMs);
  }

  /** Writes what is queued, with the counts of the current window (which then starts afresh). */
  function flush(): Promise<void> {
    endWindow();
    return write();
  }

  return {
    record(e) {
      if (closed) return;
      const admitted = admit({ ...e, ip: auditIp(e.ip) });
      if (admitted) push(admitted);
    },
    flush,
    async close() {
      endWindow();
      closed = true;
      await write();
      if (timer) {
        clearTimeout(timer);
        timer = undefined;
      }
      if (buffer.length)
        log.error({ event: 'audit_events_lost', lost: buffer.length }, 'audit events not written at shutdown');
      if (dropped) log.error({ event: 'audit_events_dropped', dropped }, 'audit buffer full: oldest events dropped');
    },
  };
}
