// The pages of the mail flows: forgot password, reset password (with a second factor when the
// account has one), confirm an email address, a sign-in held back for an unverified address, and
// the page that ends each. Same layout, styles and strict CSP as the other pages; no script but the
// passkey scripts of a reset page whose account has passkeys (/assets/passkeys.js, nonce'd).
import { t, type Msg } from '../i18n/catalog.ts';
import { html, layout, chromeOf, type PageChrome } from './html.ts';
import { passkeyMessages, passkeyScripts, type PasskeyLoginBlock } from './passkey-pages.ts';
import { rich, strong } from './rich-text.ts';

const csrfInput = (csrf: string) => html`<input type="hidden" name="csrf" value="${csrf}">`;

/** "Forgot password?": a username or an address; after a submission, the same words for any name. */
export function forgotPasswordPage(
  p: PageChrome & {
    action: string;
    csrf: string;
    sent: boolean;
  },
): string {
  const L = p.locale ?? 'en';
  const body = p.sent
    ? html`<h1>${t(L, 'interaction.forgot.sentTitle')}</h1>
<p role="status">${t(L, 'interaction.forgot.sent')}</p>
<p class="muted small">${t(L, 'interaction.forgot.sentHint')}</p>`
    : html`<h1>${t(L, 'interaction.forgot.heading')}</h1>
<p class="lead">${t(L, 'interaction.forgot.lead')}</p>
<form method="post" action="${p.action}">
${csrfInput(p.csrf)}
<div class="field">
<label for="username">${t(L, 'interaction.forgot.name')}</label>
<input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" autocorrect="off" spellcheck="false" maxlength="320" required autofocus>
</div>
<div class="actions"><button type="submit">${t(L, 'interaction.forgot.submit')}</button></div>
</form>`;
  const title = t(L, p.sent ? 'interaction.forgot.sentTitle' : 'interaction.forgot.title');
  return layout({ title, ...chromeOf(p), body });
}

/**
 * The new-password form of a reset link; with a second factor, its code too, or a passkey: the form
 * is then also a passkey form (passkeys.js puts the assertion in `response` and sends the whole form,
 * new password included). Without the script a passkey-only account cannot pass this page.
 */
export function resetPasswordPage(
  p: PageChrome & {
    assetVersion?: string;
    action: string;
    csrf: string;
    token: string;
    username: string;
    needsCode: boolean;
    passkey?: PasskeyLoginBlock;
    error?: Msg;
  },
): string {
  const L = p.locale ?? 'en';
  const invalid = p.error ? html` aria-invalid="true" aria-describedby="reset-error"` : '';
  const passkeyAttrs = p.passkey
    ? html` data-passkey="login" data-options="${p.passkey.options}"${passkeyMessages(L)}`
    : '';
  const body = html`<h1>${t(L, 'interaction.reset.title')}</h1>
<p class="lead">${rich(L, 'interaction.reset.for', { user: strong(p.username) })}</p>
${p.error ? html`<div class="alert" role="alert" id="reset-error">${t(L, p.error)}</div>` : ''}
<form method="post" action="${p.action}"${passkeyAttrs}>
${csrfInput(p.csrf)}
<input type="hidden" name="token" value="${p.token}">
<input type="text" name="username" value="${p.username}" autocomplete="username" hidden>
<div class="field">
<label for="password">${t(L, 'interaction.reset.password')}</label>
<input type="password" id="password" name="password" autocomplete="new-password" minlength="8" required autofocus${invalid}>
</div>
<div class="field">
<label for="confirm">${t(L, 'interaction.reset.confirm')}</label>
<input type="password" id="confirm" name="confirm" autocomplete="new-password" minlength="8" required${invalid}>
</div>
${
  p.needsCode
    ? html`<div class="field">
<label for="code">${t(L, 'interaction.reset.code')}</label>
<input type="text" id="code" name="code" autocomplete="one-time-code" inputmode="text" autocapitalize="none" autocorrect="off" spellcheck="false" maxlength="64" required${invalid}>
<p class="hint small">${t(L, 'interaction.reset.codeHint')}</p>
</div>`
    : ''
}
${
  p.passkey
    ? html`<div class="field">
<input type="hidden" name="response" value="">
<p class="hint small">${t(L, p.needsCode ? 'interaction.reset.passkeyHintCode' : 'interaction.reset.passkeyHint')}</p>
<button type="button" class="secondary" data-passkey-start hidden>${t(L, 'interaction.reset.passkeyButton')}</button>
<p class="field-error small" role="status" data-passkey-status hidden></p>
</div>`
    : ''
}
${p.needsCode || !p.passkey ? html`<div class="actions"><button type="submit">${t(L, 'interaction.reset.submit')}</button></div>` : ''}
</form>
${p.passkey ? passkeyScripts(p.nonce, p.passkey.assets, p.assetVersion) : ''}
<p class="muted small">${t(L, 'interaction.reset.signedOut')}</p>`;
  return layout({ title: t(L, 'interaction.reset.title'), ...chromeOf(p), body });
}

/** A verification link, opened: one button, so that a link scanner fetching the URL confirms nothing. */
export function verifyEmailPage(
  p: PageChrome & {
    action: string;
    csrf: string;
    token: string;
    address: string;
  },
): string {
  const L = p.locale ?? 'en';
  const body = html`<h1>${t(L, 'interaction.verify.title')}</h1>
<p class="lead">${rich(L, 'interaction.verify.lead', { address: strong(p.address) })}</p>
<form method="post" action="${p.action}">
${csrfInput(p.csrf)}
<input type="hidden" name="token" value="${p.token}">
<div class="actions"><button type="submit">${t(L, 'interaction.verify.submit')}</button></div>
</form>`;
  return layout({ title: t(L, 'interaction.verify.title'), ...chromeOf(p), body });
}

/** A sign-in held back until the address is confirmed, with a button that mails the link again. */
export function emailUnverifiedPage(
  p: PageChrome & {
    action: string;
    csrf: string;
    ticket: string;
    address: string;
    sent: boolean;
  },
): string {
  const L = p.locale ?? 'en';
  const sent = rich(L, 'interaction.unconfirmed.sent', { newLink: strong(t(L, 'interaction.unconfirmed.newLink')) });
  const body = html`<h1>${t(L, 'interaction.unconfirmed.heading')}</h1>
<p class="lead">${t(L, 'interaction.unconfirmed.lead', { address: p.address })}</p>
${p.sent ? html`<p role="status">${sent}</p>` : ''}
<form method="post" action="${p.action}">
${csrfInput(p.csrf)}
<input type="hidden" name="ticket" value="${p.ticket}">
<div class="actions"><button type="submit" class="secondary">${t(L, 'interaction.unconfirmed.submit')}</button></div>
</form>`;
  return layout({ title: t(L, 'interaction.verify.title'), ...chromeOf(p), body });
}

/** What a page that tells how something ended says: a title, a sentence, and maybe a link onwards. */
export type OutcomeView = PageChrome & { title: Msg; message: Msg; link?: { href: string; text: Msg } };

/**
 * A page that tells how something ended: a mail flow (done, or why not), or a sign-in through an
 * upstream provider that did not go through (`alert`: the sentence is an alert, the link a note).
 */
export function outcomePage(p: OutcomeView, alert = false): string {
  const L = p.locale ?? 'en';
  const title = t(L, p.title);
  const text = t(L, p.message);
  const link = p.link ? html`<a href="${p.link.href}">${t(L, p.link.text)}</a>` : '';
  const body = html`<h1>${title}</h1>
${alert ? html`<div class="alert" role="alert">${text}</div>` : html`<p>${text}</p>`}
${link ? (alert ? html`<p class="note">${link}</p>` : html`<p>${link}</p>`) : ''}`;
  return layout({ title, ...chromeOf(p), body });
}

/** How a mail flow ended (done, or why not), with a link onwards. */
export const recoveryDonePage = (p: OutcomeView): string => outcomePage(p);
