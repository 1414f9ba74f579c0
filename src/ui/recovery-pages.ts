// The pages of the mail flows: forgot password, reset password (with a second factor when the
// account has one), confirm an email address, a sign-in held back for an unverified address, and
// the page that ends each. Same layout, styles and strict CSP as the other pages; no script but the
// passkey scripts of a reset page whose account has passkeys (/assets/passkeys.js, nonce'd).
import { html, layout, chromeOf, type PageChrome } from './html.ts';
import { passkeyScripts, type PasskeyLoginBlock } from './passkey-pages.ts';

const csrfInput = (csrf: string) => html`<input type="hidden" name="csrf" value="${csrf}">`;

/** "Forgot password?": a username or an address; after a submission, the same words for any name. */
export function forgotPasswordPage(
  p: PageChrome & {
    action: string;
    csrf: string;
    sent: boolean;
  },
): string {
  const body = p.sent
    ? html`<h1>Check your mail</h1>
<p role="status">If an account matches and has a confirmed email address, a link to choose a new password is on its way there. It works once, for a short while.</p>
<p class="muted small">No mail within a few minutes? Check the spam folder, or ask again later.</p>`
    : html`<h1>Forgot password?</h1>
<p class="lead">Enter your username or your account's email address. If the account has a confirmed address, we send a link there to choose a new password.</p>
<form method="post" action="${p.action}">
${csrfInput(p.csrf)}
<div class="field">
<label for="username">Username or email address</label>
<input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" autocorrect="off" spellcheck="false" maxlength="320" required autofocus>
</div>
<div class="actions"><button type="submit">Send the link</button></div>
</form>`;
  return layout({ title: p.sent ? 'Check your mail' : 'Forgot password', ...chromeOf(p), body });
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
    error?: string;
  },
): string {
  const invalid = p.error ? html` aria-invalid="true" aria-describedby="reset-error"` : '';
  const passkeyAttrs = p.passkey ? html` data-passkey="login" data-options="${p.passkey.options}"` : '';
  const body = html`<h1>Choose a new password</h1>
<p class="lead">for <strong>${p.username}</strong></p>
${p.error ? html`<div class="alert" role="alert" id="reset-error">${p.error}</div>` : ''}
<form method="post" action="${p.action}"${passkeyAttrs}>
${csrfInput(p.csrf)}
<input type="hidden" name="token" value="${p.token}">
<input type="text" name="username" value="${p.username}" autocomplete="username" hidden>
<div class="field">
<label for="password">New password</label>
<input type="password" id="password" name="password" autocomplete="new-password" minlength="8" required autofocus${invalid}>
</div>
<div class="field">
<label for="confirm">New password again</label>
<input type="password" id="confirm" name="confirm" autocomplete="new-password" minlength="8" required${invalid}>
</div>
${
  p.needsCode
    ? html`<div class="field">
<label for="code">Code from your authenticator app, or a recovery code</label>
<input type="text" id="code" name="code" autocomplete="one-time-code" inputmode="text" autocapitalize="none" autocorrect="off" spellcheck="false" maxlength="64" required${invalid}>
<p class="hint small">Your account has a second sign-in step: the link alone cannot change its password.</p>
</div>`
    : ''
}
${
  p.passkey
    ? html`<div class="field">
<input type="hidden" name="response" value="">
<p class="hint small">Your account has a passkey: after choosing the new password, confirm the change with it${p.needsCode ? ' (or enter a code above)' : ''}.</p>
<button type="button" class="secondary" data-passkey-start hidden>Change password with a passkey</button>
<p class="field-error small" role="status" data-passkey-status hidden></p>
</div>`
    : ''
}
${p.needsCode || !p.passkey ? html`<div class="actions"><button type="submit">Change password</button></div>` : ''}
</form>
${p.passkey ? passkeyScripts(p.nonce, p.passkey.assets, p.assetVersion) : ''}
<p class="muted small">Every session of the account is signed out afterwards.</p>`;
  return layout({ title: 'Choose a new password', ...chromeOf(p), body });
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
  const body = html`<h1>Confirm your email address</h1>
<p class="lead">Is <strong>${p.address}</strong> your address? Press the button to confirm it.</p>
<form method="post" action="${p.action}">
${csrfInput(p.csrf)}
<input type="hidden" name="token" value="${p.token}">
<div class="actions"><button type="submit">Confirm my email address</button></div>
</form>`;
  return layout({ title: 'Confirm your email address', ...chromeOf(p), body });
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
  const body = html`<h1>Confirm your email address first</h1>
<p class="lead">This account can sign in once its email address (${p.address}) is confirmed. Open the link in the mail we sent there.</p>
${p.sent ? html`<p role="status"><strong>A new link is on its way</strong>, unless several were sent within the hour.</p>` : ''}
<form method="post" action="${p.action}">
${csrfInput(p.csrf)}
<input type="hidden" name="ticket" value="${p.ticket}">
<div class="actions"><button type="submit" class="secondary">Send the link again</button></div>
</form>`;
  return layout({ title: 'Confirm your email address', ...chromeOf(p), body });
}

/** How a mail flow ended (done, or why not), with a link onwards. */
export function recoveryDonePage(
  p: PageChrome & {
    title: string;
    message: string;
    link?: { href: string; text: string };
  },
): string {
  const body = html`<h1>${p.title}</h1>
<p>${p.message}</p>
${p.link ? html`<p><a href="${p.link.href}">${p.link.text}</a></p>` : ''}`;
  return layout({ title: p.title, ...chromeOf(p), body });
}
