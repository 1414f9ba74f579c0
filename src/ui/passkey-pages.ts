/**
 * Passkey pieces of the pages: the sign-in button of the login pages and the account area's
 * passkeys page. The ceremonies run in /assets/passkeys.js over the @simplewebauthn/browser bundle
 * (/assets/webauthn.js), both loaded by a nonce'd <script src>; the options travel in a data-options
 * attribute (escaped like every value) and the answer goes back in a hidden field of a normal form.
 */
import { html, layout, type Html, chromeOf, type PageChrome } from './html.ts';

/** A login page's passkey sign-in: where the answer is posted, the options (JSON), the scripts' base URL. */
export interface PasskeyLoginBlock {
  action: string;
  options: string;
  assets: string;
  /** The button's text (default "Sign in with a passkey"). */
  label?: string;
}

/** The two scripts, in order (the bundle defines the global the second one uses). */
export function passkeyScripts(nonce: string, assets: string, version: string | undefined): Html {
  const v = version ? `?v=${version}` : '';
  return html`<script nonce="${nonce}" src="${assets}/webauthn.js${v}"></script>
<script nonce="${nonce}" src="${assets}/passkeys.js${v}"></script>`;
}

/**
 * The "Sign in with a passkey" form: the button appears only when the script runs and the browser
 * can use passkeys (without them the page is the password form it always was).
 */
export function passkeyLoginForm(p: PasskeyLoginBlock, csrf: string, nonce: string, version?: string): Html {
  return html`<form class="passkey-signin" method="post" action="${p.action}" data-passkey="login" data-options="${p.options}">
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="response" value="">
<button type="button" class="secondary" data-passkey-start hidden>${p.label ?? 'Sign in with a passkey'}</button>
<p class="field-error small" role="status" data-passkey-status hidden></p>
</form>
${passkeyScripts(nonce, p.assets, version)}`;
}

function isoDate(t: number | null): string | undefined {
  if (t === null || !Number.isFinite(t)) return undefined;
  const d = new Date(t * 1000);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString().slice(0, 10);
}

/** /account/security/passkeys: the user's passkeys, and a form to add one with a name. */
export function passkeysPage(
  p: PageChrome & {
    assetVersion?: string;
    action: string;
    csrf: string;
    username: string;
    options: string;
    assets: string;
    passkeys: { name: string; createdAt: number; lastUsedAt: number | null; synced: boolean }[];
    continueTo?: { path: string; url: string };
    accountUrl: string;
    error?: string;
    added?: string;
  },
): string {
  const list = p.passkeys.length
    ? html`<ul class="apps" aria-labelledby="passkeys-heading">
${p.passkeys.map((k) => {
  const created = isoDate(k.createdAt);
  const used = isoDate(k.lastUsedAt);
  return html`<li><div class="app-info">
<span class="app-name">${k.name}</span>
<span class="app-meta small muted">${k.synced ? 'Synced passkey' : 'Passkey on one device'}${created ? html` · added <time datetime="${created}">${created}</time>` : ''}</span>
<span class="app-meta small muted">${used ? html`Last used <time datetime="${used}">${used}</time>` : 'Not used yet'}</span>
</div></li>
`;
})}</ul>`
    : html`<p class="empty">You have no passkeys yet.</p>`;
  const body = html`<h1>Passkeys</h1>
<p class="lead">Signed in as <strong>${p.username}</strong></p>
<p>A passkey lets you sign in with your device's screen lock (fingerprint, face or PIN) instead of a password. It works only on this site, so it cannot be phished.</p>
${p.added ? html`<div class="alert notice" role="status">Passkey “${p.added}” added.</div>` : ''}
${p.error ? html`<div class="alert" role="alert" id="passkey-error">${p.error}</div>` : ''}
<h2 id="passkeys-heading">Your passkeys</h2>
${list}
<h2>Add a passkey</h2>
<form method="post" action="${p.action}" data-passkey="register" data-options="${p.options}">
<input type="hidden" name="csrf" value="${p.csrf}">
<input type="hidden" name="response" value="">
${p.continueTo ? html`<input type="hidden" name="continue" value="${p.continueTo.path}">` : ''}
<div class="field">
<label for="passkey-name">Name <span class="muted small">(optional)</span></label>
<input type="text" id="passkey-name" name="name" maxlength="64" autocomplete="off" aria-describedby="passkey-name-hint">
<p class="hint small" id="passkey-name-hint">To tell your passkeys apart, for example “Work laptop”.</p>
</div>
<p class="small muted" data-passkey-needs-script>Adding a passkey needs JavaScript, which is turned off or still loading.</p>
<p class="field-error small" role="status" data-passkey-status hidden></p>
<div class="actions"><button type="submit" data-passkey-enabled disabled>Add a passkey</button></div>
</form>
<p class="note small"><a href="${p.continueTo?.url ?? p.accountUrl}">${p.continueTo ? 'Continue signing in' : 'Back to your account'}</a></p>
${passkeyScripts(p.nonce, p.assets, p.assetVersion)}`;
  return layout({ title: 'Passkeys', ...chromeOf(p), body });
}
