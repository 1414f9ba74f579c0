/**
 * Server-rendered pages of the authorization server. Every function is pure and returns a
 * complete HTML document. No JavaScript (except the form-post auto-submit, nonce'd, and the
 * passkey scripts of passkey-pages.ts, served by Tessera and loaded by nonce) and no external
 * resources; styles live in one nonce'd inline <style> (see layout()).
 */
import { brandName, html, layout, webLink, chromeOf, type PageChrome } from './html.ts';
import type { Html } from './html.ts';
import { say, type Words } from '../i18n/catalog.ts';
import { passkeyLoginForm, type PasskeyLoginBlock } from './passkey-pages.ts';
import { upstreamButtons, type UpstreamButtonBlock } from './upstream-pages.ts';

function csrfInput(csrf: string): Html {
  return html`<input type="hidden" name="csrf" value="${csrf}">`;
}

function hiddenInputs(fields: Record<string, string>, skip: readonly string[] = []): Html[] {
  return Object.entries(fields)
    .filter(([name]) => !skip.includes(name))
    .map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">\n`);
}

/** Who vouches for a client's name: nobody, when it registered itself (RFC 7591 section 5, RFC 9700 section 4.11.2). */
export interface Unverified {
  /** Where the answer goes (the redirect URI's host); absent for a device approval. */
  host?: string;
  /** A Client ID Metadata Document client: the host of its client_id, which publishes its details. */
  documentHost?: string;
}

/**
 * The warning every page that names a self-registered client shows: the code flow's login,
 * sign-up, account chooser and consent pages, and the device flow's (RFC 8628 section 5.4).
 */
function unverifiedNote(u: Unverified | undefined): Html | '' {
  if (!u) return '';
  const where =
    u.host !== undefined
      ? html`If you continue, you will be sent to <strong>${u.host}</strong>.`
      : html`Access would go to the device that showed you the code, not to this browser.`;
  const who =
    u.documentHost !== undefined
      ? html`This application is identified by <strong>${u.documentHost}</strong>, which publishes its details: its name has not been checked by anyone.`
      : html`This application registered itself with Tessera: its name has not been checked by anyone.`;
  return html`<div class="alert unverified" role="note"><p>${who} ${where}</p></div>`;
}

/**
 * A client known by its Client ID Metadata Document (draft-ietf-oauth-client-id-metadata-document):
 * the host of its client_id (where its document is), the host the answer goes to, whether the user
 * has never consented to it, and whether it only returns to this device (loopback redirect URIs).
 */
export interface ClientIdDocument {
  clientIdHost: string;
  redirectHost: string;
  firstTime: boolean;
  localOnly: boolean;
}

/**
 * The consent page's note on a metadata document client: its name is its own claim, but its
 * identity is the host that serves the document; a first visit is said so; and a client that
 * returns only to this device gets the draft's warning that another program on the device could
 * pose as it.
 */
function clientIdDocumentNote(d: ClientIdDocument): Html {
  const first = d.firstTime
    ? html`<p class="first-visit"><strong>You have not allowed this application before.</strong> Continue only if you expected to use an application from <strong>${d.clientIdHost}</strong>.</p>`
    : '';
  const local = d.localOnly
    ? html`<p class="local-only"><strong>This application returns to an address on your own device (${d.redirectHost}).</strong> Any program on your device could claim to be it: continue only if you started this sign-in yourself, from the application you expect.</p>`
    : '';
  return html`<div class="alert unverified client-id-document" role="note" aria-label="About this application">
<p>This application is identified by <strong>${d.clientIdHost}</strong>, which publishes its details; its name has not been checked by anyone. If you continue, you will be sent to <strong>${d.redirectHost}</strong>.</p>
${first}${local}</div>`;
}

/** The host of a URI, or the URI itself when it has none (shown, escaped, as text). */
function hostOf(uri: string): string {
  try {
    return new URL(uri).host || uri;
  } catch {
    return uri;
  }
}

export function loginPage(
  p: PageChrome & {
    action: string;
    csrf: string;
    clientName: string;
    username?: string;
    error?: string;
    /** The error is the passkey's: the username and password fields, not used, are not marked invalid. */
    passkeyError?: boolean;
    /** Self-registration on: where "Create an account" leads. */
    signupUrl?: string;
    /** Password reset on: where "Forgot password?" leads. */
    forgotUrl?: string;
    unverified?: Unverified;
    /** Passkey sign-in (a button, and the browser's autofill on the username field). */
    passkey?: PasskeyLoginBlock;
    /** The version in the scripts' URLs (http/assets.ts). */
    assetVersion?: string;
    /** The error is an upstream provider's (unreachable): the fields are not marked invalid either. */
    upstreamError?: boolean;
    /** The enabled upstream identity providers: a "Continue with <label>" button each, in order. */
    upstreams?: UpstreamButtonBlock[];
  },
): string {
  const hasError = Boolean(p.error);
  const invalid =
    hasError && !p.passkeyError && !p.upstreamError ? html` aria-invalid="true" aria-describedby="login-error"` : '';
  // Focus the first field that needs input (password when the username is already known).
  const focusUser = !p.username ? html` autofocus` : '';
  const focusPass = p.username ? html` autofocus` : '';
  const body = html`<h1>Sign in</h1>
<p class="lead">to continue to <strong>${p.clientName}</strong></p>
${unverifiedNote(p.unverified)}
${hasError ? html`<div class="alert" role="alert" id="login-error">${p.error}</div>` : ''}
<form method="post" action="${p.action}">
${csrfInput(p.csrf)}
<div class="field">
<label for="username">Username</label>
<input type="text" id="username" name="username" value="${p.username ?? ''}" autocomplete="${p.passkey ? 'username webauthn' : 'username'}" autocapitalize="none" autocorrect="off" spellcheck="false" required${invalid}${focusUser}>
</div>
<div class="field">
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required${invalid}${focusPass}>
</div>
<div class="actions"><button type="submit">Sign in</button></div>
</form>
${p.passkey ? passkeyLoginForm(p.passkey, p.csrf, p.nonce, p.assetVersion) : ''}
${upstreamButtons(p.upstreams ?? [], p.csrf)}
${p.forgotUrl ? html`<p class="note small"><a href="${p.forgotUrl}">Forgot password?</a></p>` : ''}
${p.signupUrl ? html`<p class="note small">New here? <a href="${p.signupUrl}">Create an account</a></p>` : ''}`;
  return layout({ title: 'Sign in', ...chromeOf(p), body });
}

type SignupField = 'username' | 'email' | 'name' | 'password' | 'confirm';

/** Self-registration: the sign-up form. Passwords are never echoed back. */
export function signupPage(
  p: PageChrome & {
    action: string;
    csrf: string;
    clientName: string;
    emailRequired: boolean;
    values: { username: string; email: string; name: string };
    errors: Partial<Record<SignupField, string>>;
    error?: string;
    loginUrl?: string;
    unverified?: Unverified;
  },
): string {
  const firstError = (['username', 'email', 'name', 'password', 'confirm'] as const).find((f) => p.errors[f]);
  const focus = firstError ?? 'username';
  const field = (
    f: SignupField,
    label: string,
    type: string,
    attrs: { value?: string; autocomplete: string; required: boolean; hint?: string; extra?: Html },
  ) => {
    const err = p.errors[f];
    const describedBy = [err ? `${f}-error` : '', attrs.hint ? `${f}-hint` : ''].filter(Boolean).join(' ');
    return html`<div class="field">
<label for="${f}">${label}${attrs.required ? '' : html` <span class="muted small">(optional)</span>`}</label>
<input type="${type}" id="${f}" name="${f}"${attrs.value !== undefined ? html` value="${attrs.value}"` : ''} autocomplete="${attrs.autocomplete}"${attrs.required ? html` required` : ''}${attrs.extra ?? ''}${err ? html` aria-invalid="true"` : ''}${describedBy ? html` aria-describedby="${describedBy}"` : ''}${focus === f ? html` autofocus` : ''}>
${attrs.hint ? html`<p class="hint small" id="${f}-hint">${attrs.hint}</p>` : ''}${err ? html`<p class="field-error small" id="${f}-error">${err}</p>` : ''}
</div>
`;
  };
  const body = html`<h1>Create an account</h1>
<p class="lead">to continue to <strong>${p.clientName}</strong></p>
${unverifiedNote(p.unverified)}
${p.error ? html`<div class="alert" role="alert">${p.error}</div>` : ''}
<form method="post" action="${p.action}" novalidate>
${csrfInput(p.csrf)}
${field('username', 'Username', 'text', { value: p.values.username, autocomplete: 'username', required: true, hint: '3 to 32 characters: letters, digits, dots, dashes or underscores.', extra: html` autocapitalize="none" autocorrect="off" spellcheck="false" maxlength="32"` })}
${field('email', 'Email', 'email', { value: p.values.email, autocomplete: 'email', required: p.emailRequired, extra: html` maxlength="254"` })}
${field('name', 'Full name', 'text', { value: p.values.name, autocomplete: 'name', required: false, extra: html` maxlength="128"` })}
${field('password', 'Password', 'password', { autocomplete: 'new-password', required: true, hint: 'At least 8 characters. Long passphrases are welcome.' })}
${field('confirm', 'Confirm password', 'password', { autocomplete: 'new-password', required: true })}
<div class="actions"><button type="submit">Create account</button></div>
</form>
${p.loginUrl ? html`<p class="note small">Already have an account? <a href="${p.loginUrl}">Sign in</a></p>` : ''}`;
  return layout({ title: 'Create an account', ...chromeOf(p), body });
}

/** The consent page's words about the client's own links (one place, for the coming message catalog). */
const CONSENT_TEXT = {
  policiesOf: (client: string) => `${client}'s`,
  privacy: 'privacy policy',
  terms: 'terms of service',
};

export function consentPage(
  p: PageChrome & {
    action: string;
    csrf: string;
    clientName: string;
    username: string;
    /** `releases`: the claims of the directory (groups, roles, attributes) the scope shares with the client. */
    scopes: { name: string; description: Words; releases?: string[] }[];
    /** RFC 8707: the resources (APIs) the access is for, with their display names where known. */
    resources?: { uri: string; name?: string }[];
    /** A device approval: the user code, for the user to compare with the one on their device. */
    userCode?: string;
    /** RFC 9396: the authorization details asked for, one entry per type with its fields as text. */
    authorizationDetails?: { type: string; fields: { name: string; value: string }[] }[];
    /** Claims asked for by name (OIDC claims parameter) beyond what the scopes release. */
    claims?: string[];
    /** A dynamically registered client: its name is unverified. */
    unverified?: Unverified;
    /** A Client ID Metadata Document client: its note replaces the one of self-registered clients. */
    clientIdDocument?: ClientIdDocument;
    /** The client's logo as Tessera serves it; absent: no image. */
    clientLogo?: string;
    /** RFC 7591 section 2: the client's home page, privacy policy and terms of service. */
    clientUri?: string;
    policyUri?: string;
    tosUri?: string;
  },
): string {
  const unverified = p.clientIdDocument ? clientIdDocumentNote(p.clientIdDocument) : unverifiedNote(p.unverified);
  const device = p.userCode
    ? html`<div class="alert device-code" role="note"><p>Check that this code is the one shown on your device:</p>
<p class="user-code"><strong>${p.userCode}</strong></p>
<p class="small">If it is not, or you did not start this on a device of your own, select Deny: someone may be trying to get access to your account.</p></div>`
    : '';
  const scopeList = p.scopes.length
    ? html`<h2 id="scopes-heading">This will allow ${p.clientName} to:</h2>
<ul class="scopes" aria-labelledby="scopes-heading">
${p.scopes.map(
  (s) =>
    html`<li><span class="scope-desc">${say(p.locale ?? 'en', s.description) || s.name}</span><code class="scope-name small">${s.name}</code>${
      s.releases?.length
        ? html`<span class="scope-releases small">Shares: ${s.releases.map((c, i) => html`${i ? ', ' : ''}<code>${c}</code>`)}</span>`
        : ''
    }</li>\n`,
)}</ul>`
    : html`<p class="muted">No specific permissions are requested.</p>`;
  // RFC 8707: each API by its name (from the resource registry) or its host, with the identifier.
  const apis = p.resources ?? [];
  const resource = apis.length
    ? html`<h2 id="resources-heading">${apis.length === 1 ? 'This access can be used only with:' : 'This access can be used only with these services:'}</h2>
<ul class="resources" aria-labelledby="resources-heading">
${apis.map(
  (
    a,
  ) => html`<li><span class="resource-name">${a.name ?? `The service at ${hostOf(a.uri)}`}</span><code class="resource-uri small">${a.uri}</code></li>
`,
)}</ul>`
    : '';
  const details = p.authorizationDetails?.length
    ? html`<h2 id="details-heading">In particular:</h2>
<ul class="authorization-details" aria-labelledby="details-heading">${p.authorizationDetails.map(
        (d) =>
          html`<li><code class="detail-type">${d.type}</code><dl>${d.fields.map((f) => html`<dt>${f.name}</dt><dd>${f.value}</dd>`)}</dl></li>\n`,
      )}</ul>`
    : '';
  const claims = p.claims?.length
    ? html`<h2 id="claims-heading">It also asks to see:</h2>
<ul class="scopes" aria-labelledby="claims-heading">
${p.claims.map(
  (c) => html`<li><code class="scope-name">${c}</code></li>
`,
)}</ul>`
    : '';
  const clientHome = webLink(p.clientUri);
  const name = clientHome
    ? html`<a href="${clientHome}" rel="noopener noreferrer"><strong>${p.clientName}</strong></a>`
    : html`<strong>${p.clientName}</strong>`;
  const logo = p.clientLogo ? html`<img class="client-logo" src="${p.clientLogo}" alt="" width="64" height="64">` : '';
  const policies = [
    [webLink(p.policyUri), CONSENT_TEXT.privacy],
    [webLink(p.tosUri), CONSENT_TEXT.terms],
  ].filter((l): l is [string, string] => l[0] !== undefined);
  const clientLinks = policies.length
    ? html`<p class="client-links small">${CONSENT_TEXT.policiesOf(p.clientName)} ${policies.map(
        ([href, label], i) => html`${i ? ' · ' : ''}<a href="${href}" rel="noopener noreferrer">${label}</a>`,
      )}</p>`
    : '';
  const body = html`${logo}<h1>Allow access?</h1>
<p class="lead">${name} is asking for access to your account <strong>${p.username}</strong>${p.userCode ? ' on a device' : ''}.</p>
${device}
${unverified}
${scopeList}
${claims}
${details}
${resource}
${clientLinks}
<form method="post" action="${p.action}">
${csrfInput(p.csrf)}
<div class="actions">
<button type="submit" class="secondary" name="decision" value="deny">Deny</button>
<button type="submit" name="decision" value="allow">Allow</button>
</div>
</form>
<p class="note small muted">Only allow access to applications you trust. You can revoke access later from your ${brandName(p.brand)} account.</p>`;
  return layout({ title: `Allow access to ${p.clientName}?`, ...chromeOf(p), body });
}

/** prompt=select_account: continue as the signed-in user, or sign in as someone else. */
export function selectAccountPage(
  p: PageChrome & {
    action: string;
    csrf: string;
    clientName: string;
    username: string;
    unverified?: Unverified;
  },
): string {
  const body = html`<h1>Choose an account</h1>
<p class="lead">to continue to <strong>${p.clientName}</strong></p>
${unverifiedNote(p.unverified)}
<form method="post" action="${p.action}">
${csrfInput(p.csrf)}
<div class="actions">
<button type="submit" class="secondary" name="decision" value="switch">Use another account</button>
<button type="submit" name="decision" value="continue" autofocus>Continue as ${p.username}</button>
</div>
</form>`;
  return layout({ title: 'Choose an account', ...chromeOf(p), body });
}

export function deviceEntryPage(
  p: PageChrome & {
    action: string;
    csrf: string;
    userCode?: string;
    error?: string;
  },
): string {
  const invalid = p.error ? html` aria-invalid="true" aria-describedby="code-error"` : '';
  const body = html`<h1>Connect a device</h1>
<p class="lead">Enter the code shown on your TV, console or other device.</p>
${p.error ? html`<div class="alert" role="alert" id="code-error">${p.error}</div>` : ''}
<form method="post" action="${p.action}">
${csrfInput(p.csrf)}
<div class="field">
<label for="user_code">Code</label>
<input type="text" id="user_code" name="user_code" value="${p.userCode ?? ''}" placeholder="XXXX-XXXX" autocomplete="one-time-code" autocapitalize="characters" autocorrect="off" spellcheck="false" maxlength="64" required autofocus${invalid}>
</div>
<div class="actions"><button type="submit">Continue</button></div>
</form>
<p class="note small muted">Only enter a code from a device you are setting up yourself. Never enter a code someone else sent you.</p>`;
  return layout({ title: 'Connect a device', ...chromeOf(p), body });
}

export function deviceDonePage(p: PageChrome & { approved: boolean; clientName: string }): string {
  const body = p.approved
    ? html`<h1>You may return to your device</h1>
<p class="lead"><strong>${p.clientName}</strong> now has the access you allowed. You can close this page and continue on your device.</p>
<p class="note small muted">You can revoke its access at any time from your ${brandName(p.brand)} account.</p>`
    : html`<h1>Access denied</h1>
<p class="lead"><strong>${p.clientName}</strong> was not given access. You can close this page.</p>`;
  return layout({ title: p.approved ? 'Device connected' : 'Access denied', ...chromeOf(p), body });
}

export function errorPage(
  p: PageChrome & {
    title: string;
    message: string;
    link?: { href: string; text: string };
  },
): string {
  const back = p.link
    ? html`<p class="muted small">For your security, you have not been sent back to the application automatically. You can close this page, or go back only if you trust it:</p>
<p><a href="${p.link.href}" rel="noreferrer">${p.link.text}</a></p>`
    : html`<p class="muted small">For your security, you have not been sent back to the application. You can close this page.</p>`;
  const body = html`<h1>${p.title}</h1>
<div class="alert" role="alert">${p.message}</div>
${back}`;
  return layout({ title: p.title, ...chromeOf(p), body });
}

export function logoutConfirmPage(
  p: PageChrome & {
    action: string;
    csrf: string;
    clientName?: string;
    hidden: Record<string, string>;
    /** A self-registered client's post_logout_redirect_uri host: said before the user goes there. */
    unverifiedHost?: string;
  },
): string {
  const who = p.clientName
    ? html`<p class="lead"><strong>${p.clientName}</strong> is asking to sign you out of ${brandName(p.brand)}.</p>`
    : html`<p class="lead">A request was made to sign you out of ${brandName(p.brand)}.</p>`;
  const next = p.unverifiedHost
    ? html`<p class="note small">You will then be sent to <strong>${p.unverifiedHost}</strong>, an address this application registered itself. Continue only if you trust it.</p>
`
    : '';
  const body = html`<h1>Sign out of ${brandName(p.brand)}?</h1>
${who}
${next}<form method="post" action="${p.action}">
${hiddenInputs(p.hidden, ['csrf', 'confirm'])}${csrfInput(p.csrf)}
<input type="hidden" name="confirm" value="yes">
<div class="actions"><button type="submit">Sign out</button></div>
</form>
<p class="note small muted">If you did not ask to sign out, you can close this page and stay signed in.</p>`;
  return layout({ title: 'Sign out?', ...chromeOf(p), body });
}

/**
 * frames: OpenID Connect Front-Channel Logout iframes, one per client of the ended session;
 * continueTo: the post_logout_redirect_uri, followed after the frames had a moment to load.
 */
export function loggedOutPage(p: PageChrome & { frames?: string[]; continueTo?: string }): string {
  const frames = (p.frames ?? []).map(
    (
      src,
    ) => html`<iframe class="logout-frame" src="${src}" title="Signing out of an application" sandbox="allow-scripts allow-same-origin" referrerpolicy="no-referrer"></iframe>
`,
  );
  const next = p.continueTo
    ? html`<meta http-equiv="refresh" content="2;url=${p.continueTo}">
<p><a href="${p.continueTo}">Continue to the application</a></p>`
    : html`<p class="muted">You have been signed out of ${brandName(p.brand)}. You can close this page.</p>`;
  const body = html`<h1>You are signed out.</h1>
${next}
${frames}`;
  return layout({ title: 'Signed out', ...chromeOf(p), body });
}

export function formPostPage(
  p: PageChrome & {
    action: string;
    fields: Record<string, string>;
  },
): string {
  const body = html`<h1>Continuing…</h1>
<p class="muted status">Returning you to the application.</p>
<form method="post" action="${p.action}">
${hiddenInputs(p.fields)}<noscript>
<p class="small noscript-hint">JavaScript is turned off. Select Continue to return to the application.</p>
<div class="actions"><button type="submit">Continue</button></div>
</noscript>
</form>
<script nonce="${p.nonce}">document.forms[0].submit()</script>`;
  return layout({ title: 'Continuing', ...chromeOf(p), body });
}
