// Mail to users (ports/mail.ts): Mailer.send queues the mail in the outbox (durably, in the
// database) and wakes the worker (worker.ts), which delivers it through the transport the settings
// ask for (transport.ts).
import { randomUUID } from 'node:crypto';
import type { Mailer, MailOutboxStore } from '../../ports/mail.ts';
import { sealVars, type Keks } from './sealed-vars.ts';
import { mailTransport, type MailLog, type TransportOptions } from './transport.ts';
import { mailWorker, type MailWorker, type MailWorkerOptions } from './worker.ts';

interface InfoLog {
  info(obj: object, msg: string): void;
}

/** A mailer that only logs (its template and account, never its address or values): for tools that send none. */
export function loggingMailer(log: InfoLog): Mailer {
  return {
    async send(m) {
      log.info({ event: 'mail_unsent', template: m.template, sub: m.userId }, 'mail not sent: no mail transport');
    },
  };
}

/** Queues each mail in the outbox (its values sealed), then calls `queued` (metrics, waking the worker). */
export function outboxMailer(outbox: MailOutboxStore, now: () => number, queued: () => void, keks: Keks): Mailer {
  return {
    async send(m) {
      await outbox.enqueue({
        id: randomUUID(),
        to: m.to,
        template: m.template,
        vars: await sealVars(keks, m.vars, m.locale),
        userId: m.userId ?? null,
        createdAt: now(),
      });
      queued();
    },
  };
}

export interface MailSettings extends TransportOptions {
  issuer: string;
  mailFrom?: string;
  /** What seals a queued mail's values (sealed-vars.ts). */
  keks: Keks;
}

/** The From address: TESSERA_MAIL_FROM, or no-reply at the issuer's host. */
export function mailFrom(s: Pick<MailSettings, 'issuer' | 'mailFrom'>): string {
  return s.mailFrom ?? `no-reply@${new URL(s.issuer).hostname}`;
}

/** The mailer and its worker (not started), for the server; the CLI queues only (a server delivers). */
export function createMail(
  settings: MailSettings,
  outbox: MailOutboxStore,
  now: () => number,
  log: MailLog,
  hooks: Pick<MailWorkerOptions, 'onSent' | 'onRetry' | 'onFailed' | 'onDepth' | 'serviceName'> & {
    onQueued?(): void;
  } = {},
  tuning: Pick<MailWorkerOptions, 'maxAttempts' | 'retryBase' | 'retryMax' | 'interval'> = {},
): { mailer: Mailer; worker: MailWorker } {
  const worker = mailWorker({
    outbox,
    transport: mailTransport(settings, log),
    from: mailFrom(settings),
    keks: settings.keks,
    now,
    log,
    // Connection, greeting and a few commands may each take the timeout.
    lease: 6 * settings.smtpTimeout + 30,
    ...hooks,
    ...tuning,
  });
  const mailer = outboxMailer(
    outbox,
    now,
    () => {
      hooks.onQueued?.();
      worker.wake();
    },
    settings.keks,
  );
  return { mailer, worker };
}
