// Mail to users (ports/mail.ts). Until the outbox lands, a mail is only logged (its template and
// account, never its address or values).
import type { Mailer } from '../../ports/mail.ts';

interface InfoLog {
  info(obj: object, msg: string): void;
}

export function loggingMailer(log: InfoLog): Mailer {
  return {
    async send(m) {
      log.info({ event: 'mail_unsent', template: m.template, sub: m.userId }, 'mail not sent: no mail transport');
    },
  };
}
