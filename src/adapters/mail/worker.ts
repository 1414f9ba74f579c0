// Delivers the outbox in the background: claims due mails under a lease, renders each at send time
// from its template and values (ui/mail.ts), hands it to the transport, and records the outcome:
// sent (the content dropped), retried later with exponential back-off, or given up after the last
// attempt. A timer wakes it regularly (mail queued by other instances, retries coming due) and
// Mailer.send wakes it at once. Nothing here runs on a request's path.
import { randomUUID } from 'node:crypto';
import type { MailOutboxStore, OutboxMail } from '../../ports/mail.ts';
import { renderMail } from '../../ui/mail.ts';
import { localeOfVars, openVars, type Keks } from './sealed-vars.ts';
import { MailSendError, type MailLog, type MailTransport } from './transport.ts';

export interface MailWorkerOptions {
  outbox: MailOutboxStore;
  transport: MailTransport;
  from: string;
  /** What opens a queued mail's values (sealed-vars.ts). */
  keks: Keks;
  /** Epoch seconds (the provider's clock). */
  now: () => number;
  log: MailLog;
  /** Attempts before a mail is given up (default 8: about an hour of retries at the default back-off). */
  maxAttempts?: number;
  /** The first retry's delay, seconds; each next one doubles, up to `retryMax` (default 30 and 3600). */
  retryBase?: number;
  retryMax?: number;
  /** How long a claim holds a mail, seconds: longer than a delivery can take. */
  lease: number;
  /** Milliseconds between regular runs (default 5000). */
  interval?: number;
  /** Mails claimed (and sent in parallel) at a time (default 5). */
  batch?: number;
  onSent?(mail: OutboxMail): void;
  onRetry?(mail: OutboxMail, reason: string): void;
  onFailed?(mail: OutboxMail, reason: string): void;
  onDepth?(depth: number): void;
  /** The deployment's name (its branding) that mails name themselves by, unless a mail's values give one. */
  serviceName?(): string;
}

export interface MailWorker {
  /** Starts the regular runs (and runs now). */
  start(): void;
  /** Runs as soon as possible (after a mail was queued). */
  wake(): void;
  /** Runs until nothing is due; resolves when done (joins a run in progress). */
  runOnce(): Promise<void>;
  /** Stops the timer and waits for the run in progress. */
  stop(): Promise<void>;
}

/** The delay before attempt `attempts + 1`: base, 2 base, 4 base, ... capped. */
export function retryDelay(attempts: number, base: number, max: number): number {
  return Math.min(max, base * 2 ** Math.max(0, attempts - 1));
}

export function mailWorker(o: MailWorkerOptions): MailWorker {
  const owner = randomUUID();
  const maxAttempts = o.maxAttempts ?? 8;
  const base = o.retryBase ?? 30;
  const max = o.retryMax ?? 3600;
  const batch = o.batch ?? 5;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  async function deliver(mail: OutboxMail): Promise<void> {
    try {
      // Values that cannot be opened (the key-encryption key changed twice since) fail for good.
      const opened = await openVars(o.keks, mail.vars).catch(() => {
        throw new MailSendError('sealed_values', true, 'the values could not be opened');
      });
      // In the language chosen when it was queued (issue 18); English for a mail queued before.
      const { locale, vars } = localeOfVars(opened);
      await o.transport.send(
        { ...mail, vars },
        renderMail(mail.template, { ...vars, service: vars.service || o.serviceName?.() || '' }, locale),
        o.from,
      );
    } catch (err) {
      const e = err instanceof MailSendError ? err : new MailSendError('other', false, String(err));
      const now = o.now();
      if (e.permanent || mail.attempts >= maxAttempts) {
        if (await o.outbox.markFailed(mail.id, owner, now, e.reason)) {
          o.log.error(
            {
              event: 'mail_failed',
              template: mail.template,
              mail_id: mail.id,
              attempts: mail.attempts,
              reason: e.reason,
              detail: e.message,
            },
            'mail given up',
          );
          o.onFailed?.(mail, e.reason);
        }
        return;
      }
      const next = now + retryDelay(mail.attempts, base, max);
      if (await o.outbox.retryLater(mail.id, owner, next, e.reason)) {
        o.log.warn(
          {
            event: 'mail_retry',
            template: mail.template,
            mail_id: mail.id,
            attempts: mail.attempts,
            reason: e.reason,
            detail: e.message,
            next_attempt_at: next,
          },
          'mail not delivered; retried later',
        );
        o.onRetry?.(mail, e.reason);
      }
      return;
    }
    if (await o.outbox.markSent(mail.id, owner, o.now())) o.onSent?.(mail);
  }

  async function run(): Promise<void> {
    do {
      again = false;
      for (;;) {
        const mails = await o.outbox.claim(owner, o.now(), batch, o.lease);
        if (mails.length === 0) break;
        await Promise.all(mails.map(deliver));
        if (stopped) return;
      }
    } while (again && !stopped);
    o.onDepth?.(await o.outbox.depth());
  }

  function runOnce(): Promise<void> {
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = run()
      .catch((err) => o.log.warn({ event: 'mail_worker_failed', err: String(err) }, 'mail outbox run failed'))
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  return {
    start() {
      if (timer) return;
      timer = setInterval(() => void runOnce(), o.interval ?? 5000);
      timer.unref();
      void runOnce();
    },
    wake() {
      if (!stopped) setImmediate(() => void runOnce());
    },
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
      o.transport.close();
    },
  };
}
