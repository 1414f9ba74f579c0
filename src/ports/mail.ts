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
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}
