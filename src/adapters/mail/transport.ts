// How a rendered mail leaves Tessera: over SMTP (nodemailer) when TESSERA_SMTP_URL is set; in
// development without it, written as an .eml file to TESSERA_MAIL_DIR and announced in the log (with
// its link, so a developer can click it); in production without it, not at all (the configuration
// refuses to start when a feature that mails is on, so only a stray mail meets this).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Transporter } from 'nodemailer';
import type { OutboxMail } from '../../ports/mail.ts';
import type { RenderedMail } from '../../ui/mail.ts';

type Nodemailer = typeof import('nodemailer').default;

// nodemailer (some 20 MB of a process's memory) is loaded by the first mail sent, not at start: a
// production instance without TESSERA_SMTP_URL never sends one. A failed load is not memoised (the
// outbox's next try loads again) and fails that delivery like any other transient error.
let nodemailerModule: Promise<Nodemailer> | undefined;
function loadNodemailer(): Promise<Nodemailer> {
  nodemailerModule ??= import('nodemailer').then(
    (m) => m.default,
    (err: unknown) => {
      nodemailerModule = undefined;
      throw err;
    },
  );
  return nodemailerModule;
}

export interface MailLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A delivery that failed; `permanent` ones are not tried again. `reason` is a short word, never content. */
export class MailSendError extends Error {
  readonly reason: string;
  readonly permanent: boolean;
  constructor(reason: string, permanent: boolean, message: string) {
    super(message);
    this.name = 'MailSendError';
    this.reason = reason;
    this.permanent = permanent;
  }
}

export interface MailTransport {
  send(mail: OutboxMail, rendered: RenderedMail, from: string): Promise<void>;
  close(): void;
}

export interface TransportOptions {
  env: 'development' | 'production';
  smtpUrl?: string;
  /** Seconds for the connection, the greeting and each command. */
  smtpTimeout: number;
  mailDir: string;
  /** Tests only: the certificate authorities trusted for the SMTP server's TLS certificate. */
  tlsCa?: string;
}

/** The transport the settings ask for. */
export function mailTransport(o: TransportOptions, log: MailLog): MailTransport {
  if (o.smtpUrl) return smtpTransport(o);
  if (o.env === 'development') return fileTransport(o.mailDir, log);
  return {
    async send() {
      throw new MailSendError('no_transport', true, 'no TESSERA_SMTP_URL: mail cannot be sent');
    },
    close() {},
  };
}

/**
 * SMTP through nodemailer: smtp:// requires STARTTLS (a server that does not offer it is refused),
 * smtps:// speaks TLS from the start. One connection per delivery; every step has the timeout.
 */
export function smtpTransport(o: TransportOptions): MailTransport {
  const url = new URL(o.smtpUrl!);
  const secure = url.protocol === 'smtps:';
  const ms = o.smtpTimeout * 1000;
  const options = {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    requireTLS: !secure,
    ...(url.username
      ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } }
      : {}),
    connectionTimeout: ms,
    greetingTimeout: ms,
    socketTimeout: ms,
    ...(o.tlsCa ? { tls: { ca: o.tlsCa } } : {}),
    disableFileAccess: true,
    disableUrlAccess: true,
  };
  let transporter: Transporter | undefined;
  return {
    async send(mail, rendered, from) {
      try {
        transporter ??= (await loadNodemailer()).createTransport(options);
        await transporter.sendMail({
          from,
          to: mail.to,
          subject: rendered.subject,
          text: rendered.text,
          html: rendered.html,
          messageId: `<${mail.id}@${from.split('@')[1] ?? 'tessera'}>`,
        });
      } catch (err) {
        throw classify(err);
      }
    },
    close: () => transporter?.close(),
  };
}

/** A nodemailer error as a short reason; a 5xx answer to the recipient or the message is permanent. */
function classify(err: unknown): MailSendError {
  const e = err as { code?: string; responseCode?: number; command?: string; message?: string };
  // For the log: an SMTP server's answer may quote the recipient, which the log never shows.
  const message = String(e?.message ?? err)
    .replace(/[^\s<>"'@]+@[^\s<>"'@]+/g, '[address]')
    .slice(0, 300);
  if (e?.code === 'ETIMEDOUT') return new MailSendError('timeout', false, message);
  if (e?.code === 'ECONNECTION' || e?.code === 'ESOCKET' || e?.code === 'EDNS')
    return new MailSendError('connection', false, message);
  if (e?.code === 'ETLS') return new MailSendError('tls', false, message);
  if (e?.code === 'EAUTH') return new MailSendError('auth', false, message);
  if (typeof e?.responseCode === 'number') {
    const permanent = e.responseCode >= 500 && (e.command === 'RCPT TO' || e.command === 'DATA');
    return new MailSendError(`smtp_${e.responseCode}`, permanent, message);
  }
  return new MailSendError('other', false, message);
}

/**
 * Development: each mail as an .eml file in `dir`, announced at info with the recipient's domain,
 * the file and the mail's link (a development server's own links only).
 */
export function fileTransport(dir: string, log: MailLog): MailTransport {
  let composer: Transporter | undefined;
  return {
    async send(mail, rendered, from) {
      composer ??= (await loadNodemailer()).createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
      const info = await composer.sendMail({
        from,
        to: mail.to,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
      });
      mkdirSync(dir, { recursive: true });
      const stamp = new Date(mail.createdAt * 1000).toISOString().replace(/[:.]/g, '-');
      const file = join(dir, `${stamp}-${mail.template}-${mail.id.slice(0, 8)}.eml`);
      writeFileSync(file, info.message as Buffer, { mode: 0o600 });
      log.info(
        {
          event: 'mail_written',
          template: mail.template,
          to_domain: mail.to.split('@').pop(),
          file,
          ...(mail.vars.link ? { link: mail.vars.link } : {}),
        },
        `development: mail written to ${file} (not sent: no TESSERA_SMTP_URL)`,
      );
    },
    close() {},
  };
}
