import type { Logger } from 'pino';
import type { AuditEvent, AuditStore } from '../ports/audit.ts';

export interface AuditLog {
  /** Queues an event; it is written with the next batch, never on the caller's path. */
  record(e: AuditEvent): void;
  /** Writes what is queued now. */
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
}

/**
 * Buffers audit events and appends them to the store in batches. If an append fails the events
 * stay queued for the next attempt (up to maxBuffer; the oldest are dropped beyond that, and the
 * drop is logged with a count). Logs carry the error only, never the events' contents.
 */
export function createAuditLog(store: AuditStore, log: Logger, opts: AuditLogOptions = {}): AuditLog {
  const { flushMs = 200, maxBatch = 200, maxBuffer = 10_000 } = opts;
  let buffer: AuditEvent[] = [];
  let dropped = 0;
  let timer: NodeJS.Timeout | undefined;
  let chain = Promise.resolve();
  let closed = false;

  const schedule = (delay: number) => {
    if (timer || closed || !buffer.length) return;
    timer = setTimeout(() => { timer = undefined; void flush(); }, delay);
    timer.unref();
  };

  /** Writes the buffer batch by batch; false if an append failed (the events stay queued). */
  const drain = async (): Promise<boolean> => {
    while (buffer.length) {
      const batch = buffer.slice(0, maxBatch);
      try {
        await store.append(batch);
      } catch (err) {
        log.error({ event: 'audit_append_failed', err: String(err), queued: buffer.length }, 'audit events could not be written; will retry');
        return false;
      }
      buffer = buffer.slice(batch.length);
    }
    return true;
  };

  // One writer at a time keeps the batches in order: each flush queues behind the one before.
  // After a failure the next attempt waits longer, so an unavailable database is not hammered.
  function flush(): Promise<void> {
    if (timer) { clearTimeout(timer); timer = undefined; }
    chain = chain.then(drain).then((ok) => schedule(ok ? flushMs : Math.max(flushMs, 5000)));
    return chain;
  }

  return {
    record(e) {
      if (closed) return;
      buffer.push(e);
      if (buffer.length > maxBuffer) {
        const over = buffer.length - maxBuffer;
        buffer.splice(0, over);
        if (dropped === 0) setTimeout(() => { log.error({ event: 'audit_events_dropped', dropped }, 'audit buffer full: oldest events dropped'); dropped = 0; }, 1000).unref();
        dropped += over;
      }
      if (buffer.length === maxBatch) void flush();
      else schedule(flushMs);
    },
    flush,
    async close() {
      closed = true;
      await flush();
      if (timer) { clearTimeout(timer); timer = undefined; }
      if (buffer.length) log.error({ event: 'audit_events_lost', lost: buffer.length }, 'audit events not written at shutdown');
      if (dropped) log.error({ event: 'audit_events_dropped', dropped }, 'audit buffer full: oldest events dropped');
    },
  };
}
