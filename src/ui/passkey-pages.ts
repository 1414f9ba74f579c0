/**
 * Passkey pieces of the pages: the sign-in button of the login pages and the account area's
 * passkeys page. The ceremonies run in /assets/passkeys.js over the @simplewebauthn/browser bundle
 * (/assets/webauthn.js), both loaded by a nonce'd <script src>; the options travel in a data-options
 * attribute (escaped like every value) and the answer goes back in a hidden field of a normal form.
 */
import { t, type Msg } from '../i18n/catalog.ts';
import type { Locale } from '../i18n/negotiate.ts';
import { html, layout, type Html, chromeOf, type PageChrome } from './html.ts';
import { rich, strong } from './rich-text.ts';

/** A login page's passkey sign-in: where the answer is posted, the options (JSON), the scripts' base URL. */
export interface PasskeyLoginBlock {
  action: string;
  options: string;
  assets: string;
  /** The button's text (default "Sign in with a passkey"). */
  label?: Msg;
}

/**
 * What passkeys.js says when a ceremony does not end in an answer, in the page's language: data-
 * attributes of the passkey form (the script has no words of its own).
 */
export function passkeyMessages(L: Locale): Html {
  return html` data-msg-not-used="${t(L, 'interaction.passkeys.script.notUsed')}" data-msg-exists="${t(L, 'interaction.passkeys.script.exists')}" data-msg-not-created="${t(L, 'interaction.passkeys.script.notCreated')}"`;
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
export function passkeyLoginForm(L: Locale, p: PasskeyLoginBlock, csrf: string, nonce: string, version?: string): Html {
  return html`<form class="passkey-signin" method="post" action="${p.action}" data-passkey="login" data-options="${p.options}"${passkeyMessages(L)}>
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="response" value="">
<button type="button" class="secondary" data-passkey-start hidden>${t(L, p.label ?? 'interaction.login.passkey')}</button>
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
    error?: Msg;
    added?: string;
  },
): string {
  const L = p.locale ?? 'en';
  const list = p.passkeys.length
    ? html`<ul class="apps" aria-labelledby="passkeys-heading">
${p.passkeys.map((k) => {
  const created = isoDate(k.createdAt);
  const used = isoDate(k.lastUsedAt);
  return html`<li><div class="app-info">
<span class="app-name">${k.name}</span>
<span class="app-meta small muted">${t(L, k.synced ? 'interaction.passkeys.synced' : 'interaction.passkeys.oneDevice')}${created ? html` · ${rich(L, 'interaction.passkeys.addedOn', { date: html`<time datetime="${created}">${created}</time>` })}` : ''}</span>
<span class="app-meta small muted">${used ? rich(L, 'interaction.passkeys.lastUsed', { date: html`<time datetime="${used}">${used}</time>` }) : t(L, 'interaction.passkeys.notUsed')}</span>
</div></li>
`;
})}</ul>`
    : html`<p class="empty">${t(L, 'interaction.passkeys.none')}</p>`;
  const body = html`<h1>${t(L, 'interaction.passkeys.title')}</h1>
<p class="lead">${rich(L, 'interaction.passkeys.signedInAs', { user: strong(p.username) })}</p>
<p>${t(L, 'interaction.passkeys.about')}</p>
${p.added ? html`<div class="alert notice" role="status">${t(L, 'interaction.passkeys.added', { name: p.added })}</div>` : ''}
${p.error ? html`<div class="alert" role="alert" id="passkey-error">${t(L, p.error)}</div>` : ''}
<h2 id="passkeys-heading">${t(L, 'interaction.passkeys.yours')}</h2>
${list}
<h2>${t(L, 'interaction.passkeys.add')}</h2>
<form method="post" action="${p.action}" data-passkey="register" data-options="${p.options}"${passkeyMessages(L)}>
<input type="hidden" name="csrf" value="${p.csrf}">
<input type="hidden" name="response" value="">
${p.continueTo ? html`<input type="hidden" name="continue" value="${p.continueTo.path}">` : ''}
<div class="field">
<label for="passkey-name">${t(L, 'interaction.passkeys.name')} <span class="muted small">${t(L, 'interaction.optional')}</span></label>
<input type="text" id="passkey-name" name="name" maxlength="64" autocomplete="off" aria-describedby="passkey-name-hint">
<p class="hint small" id="passkey-name-hint">${t(L, 'interaction.passkeys.nameHint')}</p>
</div>
<p class="small muted" data-passkey-needs-script>${t(L, 'interaction.passkeys.needsScript')}</p>
<p class="field-error small" role="status" data-passkey-status hidden></p>
<div class="actions"><button type="submit" data-passkey-enabled disabled>${t(L, 'interaction.passkeys.add')}</button></div>
</form>
<p class="note small"><a href="${p.continueTo?.url ?? p.accountUrl}">${t(L, p.continueTo ? 'interaction.passkeys.continue' : 'interaction.passkeys.back')}</a></p>
${passkeyScripts(p.nonce, p.assets, p.assetVersion)}`;
  return layout({ title: t(L, 'interaction.passkeys.title'), ...chromeOf(p), body });
}
