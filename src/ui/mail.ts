// The mails Tessera sends, as pure functions of a template's values: a subject, a plain-text body
// and an HTML body with the pages' look (brand line, card, one button), inline-styled because
// mail clients drop style sheets. The mail adapter renders them at send time from what the outbox
// holds ({ template, vars }). Every value is escaped (ui/html.ts).
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

const WHO = (v: Vars) => (v.username ? `Hello ${v.username},` : 'Hello,');
/** The sign-in method a factor mail is about: a passkey, an app, or an upstream provider (its id). */
const factorName = (v: Vars) =>
  v.kind === 'passkey'
    ? 'A passkey'
    : v.kind === 'upstream'
      ? `Signing in through the provider "${v.provider ?? 'unknown'}"`
      : 'An authenticator app';
const NOT_YOU =
  'If this was not you, change your password now and check the sign-in methods of your account, or ask the operator of this service for help.';
const IGNORE = 'If you did not ask for this, you can ignore this mail: nothing changes until the link is used.';

function minutes(seconds: string | undefined): string {
  const n = Number(seconds);
  if (!Number.isFinite(n) || n <= 0) return 'a short while';
  if (n < 3600) return `${Math.round(n / 60)} minutes`;
  if (n < 86400) return `${Math.round(n / 3600)} hours`;
  return `${Math.round(n / 86400)} days`;
}

function content(template: string, v: Vars): Content {
  const service = v.service || 'Tessera';
  switch (template) {
    case 'verify-email':
      return {
        subject: `Confirm your email address for ${service}`,
        paragraphs: [
          WHO(v),
          `Confirm that ${v.address || 'this address'} is yours by opening the link below and pressing the button there. The link works once, for ${minutes(v.ttl)}.`,
        ],
        button: v.link ? { href: v.link, label: 'Confirm my email address' } : undefined,
        footer: IGNORE,
      };
    case 'email-changed':
      return {
        subject: `The email address of your ${service} account was changed`,
        paragraphs: [
          WHO(v),
          `The email address of your account was changed${v.address ? ` to ${v.address}` : ''}${v.time ? ` on ${v.time}` : ''}. Mail about your account goes there from now on.`,
        ],
        footer: NOT_YOU,
      };
    case 'password-reset':
      return {
        subject: `Reset your ${service} password`,
        paragraphs: [
          WHO(v),
          `Someone asked to reset the password of your account. To choose a new one, open the link below. It works once, for ${minutes(v.ttl)}, and a newer link or a sign-in ends it.`,
        ],
        button: v.link ? { href: v.link, label: 'Choose a new password' } : undefined,
        footer: IGNORE,
      };
    case 'password-changed':
      return {
        subject: `Your ${service} password was changed`,
        paragraphs: [
          WHO(v),
          `The password of your account was changed${v.time ? ` on ${v.time}` : ''}. Every session was signed out${v.reset === 'true' ? ' and every application must be allowed again' : ''}.`,
        ],
        footer: NOT_YOU,
      };
    case 'new-device':
      return {
        subject: `New sign-in to your ${service} account`,
        paragraphs: [
          WHO(v),
          `Your account was signed in to from a browser it had not been used from before${v.time ? `, on ${v.time}` : ''}.`,
          ...(v.browser ? [`Browser: ${v.browser}`] : []),
        ],
        footer: NOT_YOU,
      };
    case 'factor-added':
      return {
        subject: `A sign-in method was added to your ${service} account`,
        paragraphs: [WHO(v), `${factorName(v)} was added to your account${v.time ? ` on ${v.time}` : ''}.`],
        footer: NOT_YOU,
      };
    case 'factor-removed':
      return {
        subject: `A sign-in method was removed from your ${service} account`,
        paragraphs: [WHO(v), `${factorName(v)} was removed from your account${v.time ? ` on ${v.time}` : ''}.`],
        footer: NOT_YOU,
      };
    case 'account-deleted':
      return {
        subject: `Your ${service} account was deleted`,
        paragraphs: [
          WHO(v),
          `Your account${v.time ? ` was deleted on ${v.time}` : ' was deleted'}, with its sign-in methods and the access you gave applications.`,
        ],
        footer: 'If this was not you, contact the operator of this service at once.',
      };
    default:
      return { subject: `A message from ${service}`, paragraphs: [WHO(v)], footer: '' };
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

/** The mail of a template with its values. */
export function renderMail(template: string, vars: Vars): RenderedMail {
  const c = content(template, vars);
  const text = [
    ...c.paragraphs,
    ...(c.button ? [`${c.button.label}: ${c.button.href}`] : []),
    ...(c.footer ? [c.footer] : []),
    `-- \n${vars.service || 'Tessera'}`,
  ].join('\n\n');
  const paragraphs: Html[] = c.paragraphs.map((t) => html`<p style="${S.p}">${t}</p>`);
  const button = c.button
    ? html`<p style="${S.p}"><a href="${c.button.href}" style="${S.button}">${c.button.label}</a></p>
<p style="${S.small}">Or copy this address into your browser:<br><a href="${c.button.href}" style="${S.link}">${c.button.href}</a></p>`
    : '';
  const body = html`<!doctype html>
<html lang="en">
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
