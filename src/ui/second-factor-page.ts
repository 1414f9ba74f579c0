/**
 * The second-factor pages of a sign-in (issue 16): the challenge (a code from an authenticator app,
 * a recovery code, or a passkey when the passkey script fills its block) and the enrolment prompt
 * of a required policy (enrol now, or skip within the grace period). Pure functions, as ui/pages.ts.
 */
import { t, type Msg } from '../i18n/catalog.ts';
import { html, layout, chromeOf, type PageChrome } from './html.ts';
import { rich, strong } from './rich-text.ts';
import { passkeyLoginForm, type PasskeyLoginBlock } from './passkey-pages.ts';

/** A self-registered client's name is unverified (as ui/pages.ts Unverified). */
interface Unverified {
  host?: string;
  documentHost?: string;
}

export interface SecondFactorView {
  action: string;
  csrf: string;
  clientName: string;
  /** The account area's sign-in: "your account" in the page's language, whatever clientName says. */
  accountArea?: boolean;
  username: string;
  /** What the form asks for now: an app's code or a recovery code (none: only a passkey will do). */
  method: 'totp' | 'recovery' | 'none';
  /** The user has an authenticator app that counts here. */
  totp: boolean;
  /** The user has unused recovery codes that count here. */
  recovery: boolean;
  /** Offer "remember this browser" (TESSERA_MFA_REMEMBER_DEVICE). */
  remember: boolean;
  error?: Msg;
  /** The user's passkeys may be used here: the passkey form (ui/passkey-pages.ts), posted with the same CSRF token. */
  passkey?: PasskeyLoginBlock;
  /** The static assets' version (cache busting of the passkey scripts). */
  assetVersion?: string;
  unverified?: Unverified;
}

export interface MfaEnrolView {
  clientName: string;
  username: string;
  factor: 'totp' | 'passkey';
  /** The account area's enrolment page (a GET form), and the sign-in to continue afterwards (`/interaction/<uid>`). */
  enrol: { action: string; continueTo: string };
  /** Within the grace period: the skip form. */
  skip?: { action: string; csrf: string; until: number };
}

const isoDate = (t: number) => new Date(t * 1000).toISOString().slice(0, 10);

/** The challenge: one form with the code field; links switch between the app and a recovery code. */
export function secondFactorPage(p: SecondFactorView & PageChrome): string {
  const L = p.locale ?? 'en';
  const invalid = p.error ? html` aria-invalid="true" aria-describedby="mfa-error"` : '';
  const field =
    p.method === 'recovery'
      ? html`<div class="field">
<label for="code">${t(L, 'interaction.mfa.recoveryCode')}</label>
<input type="text" id="code" name="code" autocomplete="off" autocapitalize="none" autocorrect="off" spellcheck="false" maxlength="32" required autofocus${invalid}>
<p class="hint small">${t(L, 'interaction.mfa.recoveryHint')}</p>
</div>
<input type="hidden" name="method" value="recovery">`
      : html`<div class="field">
<label for="code">${t(L, 'interaction.mfa.appCode')}</label>
<input type="text" id="code" name="code" inputmode="numeric" pattern="[0-9 \\-]*" autocomplete="one-time-code" maxlength="12" required autofocus${invalid}>
</div>
<input type="hidden" name="method" value="totp">`;
  const form =
    p.method === 'none'
      ? ''
      : html`<form method="post" action="${p.action}">
<input type="hidden" name="csrf" value="${p.csrf}">
${field}
${
  p.remember
    ? html`<div class="field checkbox"><label><input type="checkbox" name="remember" value="on"> ${t(L, 'interaction.mfa.remember')}</label></div>`
    : ''
}
<div class="actions"><button type="submit">${t(L, 'interaction.mfa.verify')}</button></div>
</form>`;
  const switchLink =
    p.method === 'recovery' && p.totp
      ? html`<p class="note small"><a href="${p.action}">${t(L, 'interaction.mfa.useApp')}</a></p>`
      : p.method !== 'recovery' && p.recovery
        ? html`<p class="note small"><a href="${p.action}?method=recovery">${t(L, 'interaction.mfa.useRecovery')}</a></p>`
        : '';
  const client = p.accountArea ? t(L, 'interaction.login.yourAccount') : p.clientName;
  const lead = rich(L, 'interaction.mfa.lead', { user: strong(p.username), client: strong(client) });
  const body = html`<h1>${t(L, 'interaction.mfa.title')}</h1>
<p class="lead">${lead}</p>
${p.unverified ? html`<p class="note small">${t(L, 'interaction.unverified.short')}</p>` : ''}
${p.error ? html`<div class="alert" role="alert" id="mfa-error">${t(L, p.error)}</div>` : ''}
${form}
${p.passkey ? html`<section class="passkey" aria-label="${t(L, 'interaction.mfa.passkey')}">${passkeyLoginForm(L, p.passkey, p.csrf, p.nonce, p.assetVersion)}</section>` : ''}
${p.method === 'none' && !p.passkey ? html`<p class="note">${t(L, 'interaction.mfa.needsPasskey')}</p>` : ''}
${switchLink}`;
  return layout({ title: t(L, 'interaction.mfa.title'), ...chromeOf(p), body });
}

/** A policy needs a second factor the user has not set up: set one up now, or skip within the grace period. */
export function mfaEnrolPage(p: MfaEnrolView & PageChrome): string {
  const L = p.locale ?? 'en';
  const passkey = p.factor === 'passkey';
  const lead = rich(L, passkey ? 'interaction.enrol.leadPasskey' : 'interaction.enrol.leadTotp', {
    user: strong(p.username),
    client: strong(p.clientName),
  });
  const body = html`<h1>${t(L, 'interaction.enrol.title')}</h1>
<p class="lead">${lead}</p>
<form method="get" action="${p.enrol.action}">
<input type="hidden" name="continue" value="${p.enrol.continueTo}">
<div class="actions"><button type="submit">${t(L, passkey ? 'interaction.enrol.setUpPasskey' : 'interaction.enrol.setUpTotp')}</button></div>
</form>
${
  p.skip
    ? html`<form method="post" action="${p.skip.action}">
<input type="hidden" name="csrf" value="${p.skip.csrf}">
<p class="note small">${t(L, 'interaction.enrol.skipUntil', { date: isoDate(p.skip.until) })}</p>
<div class="actions"><button type="submit" class="secondary" name="decision" value="skip">${t(L, 'interaction.enrol.skip')}</button></div>
</form>`
    : ''
}`;
  return layout({ title: t(L, 'interaction.enrol.title'), ...chromeOf(p), body });
}
