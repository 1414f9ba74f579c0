// The mails Tessera sends, as pure functions of a template's values: a subject, a plain-text body
// and an HTML body with the pages' look (brand line, card, one button), inline-styled because
// mail clients drop style sheets. The mail adapter renders them at send time from what the outbox
// holds ({ template, vars }), in the language chosen when the mail was queued (issue 18): every
// word comes from the catalog (i18n/messages/mail.ts). Every value is escaped (ui/html.ts).
import { t } from '../i18n/catalog.ts';
import type { Locale } from '../i18n/negotiate.ts';
import { html, type Html } from './html.ts';

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

type Vars = Readonly<Record<string, string>>;

interface Content {
  subject: string;
  /** Paragraphs, in order; the button (if any) follows them. */
  paragraphs: string[];
  button?: { href: string; label: string };
  /** A last, quieter paragraph. */
  footer: string;
}

/**
 * A time as the mail's language writes it. Queued mails carry it as an HTTP date (UTC, English
 * names); one that does not read as a date is shown as it is.
 */
function timeIn(locale: Locale, value: string): string {
  const at = Date.parse(value);
  if (!Number.isFinite(at)) return value;
  return new Intl.DateTimeFormat(locale, { dateStyle: 'full', timeStyle: 'long', timeZone: 'UTC' }).format(at);
}

function minutes(L: Locale, seconds: string | undefined): string {
  const n = Number(seconds);
  if (!Number.isFinite(n) || n <= 0) return t(L, 'mail.duration.shortWhile');
  const [count, one, many] =
    n < 3600
      ? ([Math.round(n / 60), 'mail.duration.minute', 'mail.duration.minutes'] as const)
      : n < 86400
        ? ([Math.round(n / 3600), 'mail.duration.hour', 'mail.duration.hours'] as const)
        : ([Math.round(n / 86400), 'mail.duration.day', 'mail.duration.days'] as const);
  return t(L, count === 1 ? one : many, { count });
}

function content(L: Locale, template: string, v: Vars): Content {
  const service = v.service || 'Tessera';
  const who = v.username ? t(L, 'mail.hello', { username: v.username }) : t(L, 'mail.helloAnonymous');
  const when = v.time ? [t(L, 'mail.time', { time: timeIn(L, v.time) })] : [];
  const notYou = t(L, 'mail.notYou');
  const ignore = t(L, 'mail.ignore');
  // The sign-in method a factor mail is about: a passkey, an app, or an upstream provider (its id).
  const factor = () =>
    v.kind === 'passkey'
      ? t(L, 'mail.factor.passkey')
      : v.kind === 'upstream'
        ? t(L, 'mail.factor.upstream', { provider: v.provider ?? t(L, 'mail.factor.unknownProvider') })
        : t(L, 'mail.factor.app');
  switch (template) {
    case 'verify-email':
      return {
        subject: t(L, 'mail.verify.subject', { service }),
        paragraphs: [
          who,
          t(L, 'mail.verify.body', {
            address: v.address || t(L, 'mail.verify.thisAddress'),
            duration: minutes(L, v.ttl),
          }),
        ],
        button: v.link ? { href: v.link, label: t(L, 'mail.verify.button') } : undefined,
        footer: ignore,
      };
    case 'email-changed':
      return {
        subject: t(L, 'mail.emailChanged.subject', { service }),
        paragraphs: [
          who,
          // '(none)': what mails queued before the mails had languages say of a removed address.
          v.address && v.address !== '(none)'
            ? t(L, 'mail.emailChanged.body', { address: v.address })
            : t(L, 'mail.emailChanged.bodyRemoved'),
          ...when,
        ],
        footer: notYou,
      };
    case 'password-reset':
      return {
        subject: t(L, 'mail.reset.subject', { service }),
        paragraphs: [who, t(L, 'mail.reset.body', { duration: minutes(L, v.ttl) })],
        button: v.link ? { href: v.link, label: t(L, 'mail.reset.button') } : undefined,
        footer: ignore,
      };
    case 'password-changed':
      return {
        subject: t(L, 'mail.passwordChanged.subject', { service }),
        paragraphs: [
          who,
          t(L, v.reset === 'true' ? 'mail.passwordChanged.bodyReset' : 'mail.passwordChanged.body'),
          ...when,
        ],
        footer: notYou,
      };
    case 'new-device':
      return {
        subject: t(L, 'mail.newDevice.subject', { service }),
        paragraphs: [
          who,
          t(L, 'mail.newDevice.body'),
          ...when,
          ...(v.browser ? [t(L, 'mail.browser', { browser: v.browser })] : []),
        ],
        footer: notYou,
      };
    case 'factor-added':
      return {
        subject: t(L, 'mail.factorAdded.subject', { service }),
        paragraphs: [who, t(L, 'mail.factorAdded.body', { factor: factor() }), ...when],
        footer: notYou,
      };
    case 'factor-removed':
      return {
        subject: t(L, 'mail.factorRemoved.subject', { service }),
        paragraphs: [who, t(L, 'mail.factorRemoved.body', { factor: factor() }), ...when],
        footer: notYou,
      };
    case 'account-deleted':
      return {
        subject: t(L, 'mail.accountDeleted.subject', { service }),
        paragraphs: [who, t(L, 'mail.accountDeleted.body'), ...when],
        footer: t(L, 'mail.accountDeleted.footer'),
      };
    default:
      return { subject: t(L, 'mail.other.subject', { service }), paragraphs: [who], footer: '' };
  }
}

const S = {
  body: 'margin:0;padding:24px 12px;background:#f3f4f6;color:#111827;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif',
  brand: 'max-width:26rem;margin:0 auto 16px;font-weight:650;font-size:18px',
  mark: 'display:inline-block;width:20px;height:20px;border-radius:5px;background:#1d4ed8;vertical-align:-4px;margin-right:8px',
  card: 'max-width:26rem;margin:0 auto;background:#ffffff;border:1px solid #d1d5db;border-radius:14px;padding:28px 24px',
  p: 'margin:0 0 16px',
  button:
    'display:inline-block;background:#1d4ed8;color:#ffffff;text-decoration:none;font-weight:600;padding:10px 18px;border-radius:8px',
  small: 'margin:16px 0 0;color:#4b5563;font-size:14px',
  link: 'color:#1d4ed8;word-break:break-all',
};

/** The mail of a template with its values, in `locale` (English when the mail was queued without one). */
export function renderMail(template: string, vars: Vars, locale: Locale = 'en'): RenderedMail {
  const c = content(locale, template, vars);
  const text = [
    ...c.paragraphs,
    ...(c.button ? [t(locale, 'mail.linkLine', { label: c.button.label, link: c.button.href })] : []),
    ...(c.footer ? [c.footer] : []),
    `-- \n${vars.service || 'Tessera'}`,
  ].join('\n\n');
  const paragraphs: Html[] = c.paragraphs.map((p) => html`<p style="${S.p}">${p}</p>`);
  const button = c.button
    ? html`<p style="${S.p}"><a href="${c.button.href}" style="${S.button}">${c.button.label}</a></p>
<p style="${S.small}">${t(locale, 'mail.copyLink')}<br><a href="${c.button.href}" style="${S.link}">${c.button.href}</a></p>`
    : '';
  const body = html`<!doctype html>
<html lang="${locale}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${c.subject}</title></head>
<body style="${S.body}">
<div style="${S.brand}"><span style="${S.mark}"></span>${vars.service || 'Tessera'}</div>
<div style="${S.card}">
${paragraphs}
${button}
${c.footer ? html`<p style="${S.small}">${c.footer}</p>` : ''}
</div>
</body>
</html>
`;
  return { subject: c.subject, text: `${text}\n`, html: body.value };
}
