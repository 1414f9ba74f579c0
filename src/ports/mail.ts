/**
 * Mail to users. The protocol names what to send (a template and its values); the mail adapter
 * renders and delivers it. `send` is durable: once it resolves, the mail is queued and will be
 * retried until delivered or given up (never lost with the user's action); it throws
 * StorageUnavailableError when it could not be queued.
 */
export type MailTemplate =
  | 'verify-email'
  | 'email-changed'
  | 'password-reset'
  | 'password-changed'
  | 'new-device'
  | 'factor-added'
  | 'factor-removed'
  | 'account-deleted';

export interface MailMessage {
  to: string;
  template: MailTemplate;
  /** The template's values (links, names, times as text): never a password or a factor's secret. */
  vars: Readonly<Record<string, string>>;
  /** The account it is about, for the audit trail when delivery fails. */
  userId?: string;
  /**
   * The language to write it in, chosen when it is queued (protocol/mail-language.ts): the worker
   * renders it later, far from the request that caused it. Absent: English.
   */
  locale?: 'en' | 'de' | 'fr';
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

/** A mail in the outbox (migration 0024), as a worker claimed it. */
export interface OutboxMail {
  id: string;
  to: string;
  template: MailTemplate;
  vars: Readonly<Record<string, string>>;
  userId: string | null;
  /** Attempts so far, this one included (a claim counts as an attempt). */
  attempts: number;
  createdAt: number;
}

/**
 * The durable queue behind Mailer.send. Times are epoch seconds. A claim is a lease: a worker
 * that dies mid-send leaves the mail to be claimed again once the lease ends, and no two workers
 * (processes or instances) hold one mail at once. Every change after a claim names the claim's
 * owner and does nothing when the lease was lost meanwhile.
 */
export interface MailOutboxStore {
  enqueue(mail: {
    id: string;
    to: string;
    template: MailTemplate;
    vars: Readonly<Record<string, string>>;
    userId: string | null;
    createdAt: number;
  }): Promise<void>;
  /** Up to `limit` pending mails that are due and not leased, leased to `owner` until now + lease, attempts + 1. */
  claim(owner: string, now: number, limit: number, lease: number): Promise<OutboxMail[]>;
  /** Delivered: the recipient and values are dropped, the row kept (for a while) as a record. */
  markSent(id: string, owner: string, now: number): Promise<boolean>;
  /** Not delivered this time: pending again from `nextAttemptAt`, with the reason (a short word, no content). */
  retryLater(id: string, owner: string, nextAttemptAt: number, reason: string): Promise<boolean>;
  /** Given up: the recipient and values are dropped too. */
  markFailed(id: string, owner: string, now: number, reason: string): Promise<boolean>;
  /** Mails waiting to be delivered (due or not). */
  depth(): Promise<number>;
}
