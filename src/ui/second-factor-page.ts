/**
 * The second-factor pages of a sign-in (issue 16): the challenge (a code from an authenticator app,
 * a recovery code, or a passkey when the passkey script fills its block) and the enrolment prompt
 * of a required policy (enrol now, or skip within the grace period). Pure functions, as ui/pages.ts.
 */
import { html, layout, chromeOf, type PageChrome } from './html.ts';
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
  username: string;
  /** What the form asks for now: an app's code or a recovery code (none: only a passkey will do). */
  method: 'totp' | 'recovery' | 'none';
  /** The user has an authenticator app that counts here. */
  totp: boolean;
  /** The user has unused recovery codes that count here. */
  recovery: boolean;
  /** Offer "remember this browser" (TESSERA_MFA_REMEMBER_DEVICE). */
  remember: boolean;
  error?: string;
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
  const invalid = p.error ? html` aria-invalid="true" aria-describedby="mfa-error"` : '';
  const field =
    p.method === 'recovery'
      ? html`<div class="field">
<label for="code">Recovery code</label>
<input type="text" id="code" name="code" autocomplete="off" autocapitalize="none" autocorrect="off" spellcheck="false" maxlength="32" required autofocus${invalid}>
<p class="hint small">One of the codes you saved when you set up your second factor. Each works once.</p>
</div>
<input type="hidden" name="method" value="recovery">`
      : html`<div class="field">
<label for="code">Code from your authenticator app</label>
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
    ? html`<div class="field checkbox"><label><input type="checkbox" name="remember" value="on"> Remember this browser</label></div>`
    : ''
}
<div class="actions"><button type="submit">Verify</button></div>
</form>`;
  const switchLink =
    p.method === 'recovery' && p.totp
      ? html`<p class="note small"><a href="${p.action}">Use your authenticator app instead</a></p>`
      : p.method !== 'recovery' && p.recovery
        ? html`<p class="note small"><a href="${p.action}?method=recovery">Use a recovery code</a></p>`
        : '';
  const body = html`<h1>Second factor</h1>
<p class="lead">Signing in as <strong>${p.username}</strong> to continue to <strong>${p.clientName}</strong></p>
${p.unverified ? html`<p class="note small">This application registered itself: its name has not been checked by anyone.</p>` : ''}
${p.error ? html`<div class="alert" role="alert" id="mfa-error">${p.error}</div>` : ''}
${form}
${p.passkey ? html`<section class="passkey" aria-label="Passkey">${passkeyLoginForm(p.passkey, p.csrf, p.nonce, p.assetVersion)}</section>` : ''}
${p.method === 'none' && !p.passkey ? html`<p class="note">This sign-in needs a passkey, which this page cannot use yet.</p>` : ''}
${switchLink}`;
  return layout({ title: 'Second factor', ...chromeOf(p), body });
}

/** A policy needs a second factor the user has not set up: set one up now, or skip within the grace period. */
export function mfaEnrolPage(p: MfaEnrolView & PageChrome): string {
  const what = p.factor === 'passkey' ? 'a passkey' : 'an authenticator app';
  const body = html`<h1>Set up a second factor</h1>
<p class="lead">Signed in as <strong>${p.username}</strong>. To continue to <strong>${p.clientName}</strong>, your account needs ${what}.</p>
<form method="get" action="${p.enrol.action}">
<input type="hidden" name="continue" value="${p.enrol.continueTo}">
<div class="actions"><button type="submit">Set up ${what}</button></div>
</form>
${
  p.skip
    ? html`<form method="post" action="${p.skip.action}">
<input type="hidden" name="csrf" value="${p.skip.csrf}">
<p class="note small">You can skip this until ${isoDate(p.skip.until)}.</p>
<div class="actions"><button type="submit" class="secondary" name="decision" value="skip">Skip for now</button></div>
</form>`
    : ''
}`;
  return layout({ title: 'Set up a second factor', ...chromeOf(p), body });
}
