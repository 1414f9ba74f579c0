/**
 * Server-rendered pages of the authorization server. Every function is pure and returns a
 * complete HTML document. No JavaScript (except the form-post auto-submit, nonce'd, and the
 * passkey scripts of passkey-pages.ts, served by Tessera and loaded by nonce) and no external
 * resources; styles live in one nonce'd inline <style> (see layout()).
 */
import { brandName, html, layout, webLink, chromeOf, type PageChrome } from './html.ts';
import type { Html } from './html.ts';
import { say, t, type Msg, type Words } from '../i18n/catalog.ts';
import type { Locale } from '../i18n/negotiate.ts';
import { rich, strong } from './rich-text.ts';
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
function unverifiedNote(L: Locale, u: Unverified | undefined): Html | '' {
  if (!u) return '';
  const where =
    u.host !== undefined
      ? rich(L, 'interaction.unverified.sentTo', { host: strong(u.host) })
      : t(L, 'interaction.unverified.device');
  const who =
    u.documentHost !== undefined
      ? rich(L, 'interaction.unverified.document', { host: strong(u.documentHost) })
      : t(L, 'interaction.unverified.self');
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
function clientIdDocumentNote(L: Locale, d: ClientIdDocument): Html {
  const first = d.firstTime
    ? html`<p class="first-visit"><strong>${t(L, 'interaction.cimd.firstTime')}</strong> ${rich(L, 'interaction.cimd.firstTimeHost', { host: strong(d.clientIdHost) })}</p>`
    : '';
  const local = d.localOnly
    ? html`<p class="local-only"><strong>${t(L, 'interaction.cimd.localOnly', { host: d.redirectHost })}</strong> ${t(L, 'interaction.cimd.localOnlyWarning')}</p>`
    : '';
  return html`<div class="alert unverified client-id-document" role="note" aria-label="${t(L, 'interaction.cimd.label')}">
<p>${rich(L, 'interaction.cimd.identified', { host: strong(d.clientIdHost), redirect: strong(d.redirectHost) })}</p>
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
    /** The account area's login: "to continue to your account", whatever clientName says. */
    accountArea?: boolean;
    username?: string;
    error?: Msg;
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
  const invalid =
    p.error && !p.passkeyError && !p.upstreamError ? html` aria-invalid="true" aria-describedby="login-error"` : '';
  // Focus the first field that needs input (password when the username is already known).
  const focusUser = !p.username ? html` autofocus` : '';
  const focusPass = p.username ? html` autofocus` : '';
  const L = p.locale ?? 'en';
  const client = p.accountArea ? t(L, 'interaction.login.yourAccount') : p.clientName;
  const body = html`<h1>${t(L, 'interaction.login.title')}</h1>
<p class="lead">${rich(L, 'interaction.lead.continueTo', { client: strong(client) })}</p>
${unverifiedNote(L, p.unverified)}
${p.error ? html`<div class="alert" role="alert" id="login-error">${t(L, p.error)}</div>` : ''}
<form method="post" action="${p.action}">
${csrfInput(p.csrf)}
<div class="field">
<label for="username">${t(L, 'interaction.login.username')}</label>
<input type="text" id="username" name="username" value="${p.username ?? ''}" autocomplete="${p.passkey ? 'username webauthn' : 'username'}" autocapitalize="none" autocorrect="off" spellcheck="false" required${invalid}${focusUser}>
</div>
<div class="field">
<label for="password">${t(L, 'interaction.login.password')}</label>
<input type="password" id="password" name="password" autocomplete="current-password" required${invalid}${focusPass}>
</div>
<div class="actions"><button type="submit">${t(L, 'interaction.login.submit')}</button></div>
</form>
${p.passkey ? passkeyLoginForm(L, p.passkey, p.csrf, p.nonce, p.assetVersion) : ''}
${upstreamButtons(L, p.upstreams ?? [], p.csrf)}
${p.forgotUrl ? html`<p class="note small"><a href="${p.forgotUrl}">${t(L, 'interaction.login.forgot')}</a></p>` : ''}
${p.signupUrl ? html`<p class="note small">${t(L, 'interaction.login.newHere')} <a href="${p.signupUrl}">${t(L, 'interaction.login.signup')}</a></p>` : ''}`;
  return layout({ title: t(L, 'interaction.login.title'), ...chromeOf(p), body });
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
    errors: Partial<Record<SignupField, Msg>>;
    error?: Msg;
    loginUrl?: string;
    unverified?: Unverified;
  },
): string {
  const firstError = (['username', 'email', 'name', 'password', 'confirm'] as const).find((f) => p.errors[f]);
  const focus = firstError ?? 'username';
  const L = p.locale ?? 'en';
  const field = (
    f: SignupField,
    label: string,
    type: string,
    attrs: { value?: string; autocomplete: string; required: boolean; hint?: string; extra?: Html },
  ) => {
    const err = p.errors[f];
    const describedBy = [err ? `${f}-error` : '', attrs.hint ? `${f}-hint` : ''].filter(Boolean).join(' ');
    return html`<div class="field">
<label for="${f}">${label}${attrs.required ? '' : html` <span class="muted small">${t(L, 'interaction.optional')}</span>`}</label>
<input type="${type}" id="${f}" name="${f}"${attrs.value !== undefined ? html` value="${attrs.value}"` : ''} autocomplete="${attrs.autocomplete}"${attrs.required ? html` required` : ''}${attrs.extra ?? ''}${err ? html` aria-invalid="true"` : ''}${describedBy ? html` aria-describedby="${describedBy}"` : ''}${focus === f ? html` autofocus` : ''}>
${attrs.hint ? html`<p class="hint small" id="${f}-hint">${attrs.hint}</p>` : ''}${err ? html`<p class="field-error small" id="${f}-error">${t(L, err)}</p>` : ''}
</div>
`;
  };
  const body = html`<h1>${t(L, 'interaction.signup.title')}</h1>
<p class="lead">${rich(L, 'interaction.lead.continueTo', { client: strong(p.clientName) })}</p>
${unverifiedNote(L, p.unverified)}
${p.error ? html`<div class="alert" role="alert">${t(L, p.error)}</div>` : ''}
<form method="post" action="${p.action}" novalidate>
${csrfInput(p.csrf)}
${field('username', t(L, 'interaction.login.username'), 'text', { value: p.values.username, autocomplete: 'username', required: true, hint: t(L, 'interaction.signup.usernameHint'), extra: html` autocapitalize="none" autocorrect="off" spellcheck="false" maxlength="32"` })}
${field('email', t(L, 'interaction.signup.email'), 'email', { value: p.values.email, autocomplete: 'email', required: p.emailRequired, extra: html` maxlength="254"` })}
${field('name', t(L, 'interaction.signup.name'), 'text', { value: p.values.name, autocomplete: 'name', required: false, extra: html` maxlength="128"` })}
${field('password', t(L, 'interaction.login.password'), 'password', { autocomplete: 'new-password', required: true, hint: t(L, 'interaction.signup.passwordHint') })}
${field('confirm', t(L, 'interaction.signup.confirm'), 'password', { autocomplete: 'new-password', required: true })}
<div class="actions"><button type="submit">${t(L, 'interaction.signup.submit')}</button></div>
</form>
${p.loginUrl ? html`<p class="note small">${t(L, 'interaction.signup.haveAccount')} <a href="${p.loginUrl}">${t(L, 'interaction.login.submit')}</a></p>` : ''}`;
  return layout({ title: t(L, 'interaction.signup.title'), ...chromeOf(p), body });
}

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
  const L = p.locale ?? 'en';
  const unverified = p.clientIdDocument ? clientIdDocumentNote(L, p.clientIdDocument) : unverifiedNote(L, p.unverified);
  const device = p.userCode
    ? html`<div class="alert device-code" role="note"><p>${t(L, 'interaction.consent.checkCode')}</p>
<p class="user-code"><strong>${p.userCode}</strong></p>
<p class="small">${t(L, 'interaction.consent.codeWarning')}</p></div>`
    : '';
  const scopeList = p.scopes.length
    ? html`<h2 id="scopes-heading">${t(L, 'interaction.consent.scopes', { client: p.clientName })}</h2>
<ul class="scopes" aria-labelledby="scopes-heading">
${p.scopes.map(
  (s) =>
    html`<li><span class="scope-desc">${say(L, s.description) || s.name}</span><code class="scope-name small">${s.name}</code>${
      s.releases?.length
        ? html`<span class="scope-releases small">${t(L, 'interaction.consent.shares')} ${s.releases.map((c, i) => html`${i ? ', ' : ''}<code>${c}</code>`)}</span>`
        : ''
    }</li>\n`,
)}</ul>`
    : html`<p class="muted">${t(L, 'interaction.consent.noScopes')}</p>`;
  // RFC 8707: each API by its name (from the resource registry) or its host, with the identifier.
  const apis = p.resources ?? [];
  const resource = apis.length
    ? html`<h2 id="resources-heading">${t(L, apis.length === 1 ? 'interaction.consent.resourceOne' : 'interaction.consent.resourceMany')}</h2>
<ul class="resources" aria-labelledby="resources-heading">
${apis.map(
  (
    a,
  ) => html`<li><span class="resource-name">${a.name ?? t(L, 'interaction.consent.serviceAt', { host: hostOf(a.uri) })}</span><code class="resource-uri small">${a.uri}</code></li>
`,
)}</ul>`
    : '';
  const details = p.authorizationDetails?.length
    ? html`<h2 id="details-heading">${t(L, 'interaction.consent.details')}</h2>
<ul class="authorization-details" aria-labelledby="details-heading">${p.authorizationDetails.map(
        (d) =>
          html`<li><code class="detail-type">${d.type}</code><dl>${d.fields.map((f) => html`<dt>${f.name}</dt><dd>${f.value}</dd>`)}</dl></li>\n`,
      )}</ul>`
    : '';
  const claims = p.claims?.length
    ? html`<h2 id="claims-heading">${t(L, 'interaction.consent.claims')}</h2>
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
    [webLink(p.policyUri), t(L, 'interaction.consent.privacy')],
    [webLink(p.tosUri), t(L, 'interaction.consent.terms')],
  ].filter((l): l is [string, string] => l[0] !== undefined);
  const clientLinks = policies.length
    ? html`<p class="client-links small">${t(L, 'interaction.consent.policiesOf', { client: p.clientName })} ${policies.map(
        ([href, label], i) => html`${i ? ' · ' : ''}<a href="${href}" rel="noopener noreferrer">${label}</a>`,
      )}</p>`
    : '';
  const body = html`${logo}<h1>${t(L, 'interaction.consent.heading')}</h1>
<p class="lead">${rich(L, p.userCode ? 'interaction.consent.leadDevice' : 'interaction.consent.lead', { client: name, user: strong(p.username) })}</p>
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
<button type="submit" class="secondary" name="decision" value="deny">${t(L, 'interaction.consent.deny')}</button>
<button type="submit" name="decision" value="allow">${t(L, 'interaction.consent.allow')}</button>
</div>
</form>
<p class="note small muted">${t(L, 'interaction.consent.trust', { brand: brandName(p.brand) })}</p>`;
  return layout({ title: t(L, 'interaction.consent.title', { client: p.clientName }), ...chromeOf(p), body });
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
  const L = p.locale ?? 'en';
  const body = html`<h1>${t(L, 'interaction.select.title')}</h1>
<p class="lead">${rich(L, 'interaction.lead.continueTo', { client: strong(p.clientName) })}</p>
${unverifiedNote(L, p.unverified)}
<form method="post" action="${p.action}">
${csrfInput(p.csrf)}
<div class="actions">
<button type="submit" class="secondary" name="decision" value="switch">${t(L, 'interaction.select.switch')}</button>
<button type="submit" name="decision" value="continue" autofocus>${t(L, 'interaction.select.continueAs', { user: p.username })}</button>
</div>
</form>`;
  return layout({ title: t(L, 'interaction.select.title'), ...chromeOf(p), body });
}

export function deviceEntryPage(
  p: PageChrome & {
    action: string;
    csrf: string;
    userCode?: string;
    error?: Msg;
  },
): string {
  const L = p.locale ?? 'en';
  const invalid = p.error ? html` aria-invalid="true" aria-describedby="code-error"` : '';
  const body = html`<h1>${t(L, 'interaction.device.title')}</h1>
<p class="lead">${t(L, 'interaction.device.lead')}</p>
${p.error ? html`<div class="alert" role="alert" id="code-error">${t(L, p.error)}</div>` : ''}
<form method="post" action="${p.action}">
${csrfInput(p.csrf)}
<div class="field">
<label for="user_code">${t(L, 'interaction.device.code')}</label>
<input type="text" id="user_code" name="user_code" value="${p.userCode ?? ''}" placeholder="XXXX-XXXX" autocomplete="one-time-code" autocapitalize="characters" autocorrect="off" spellcheck="false" maxlength="64" required autofocus${invalid}>
</div>
<div class="actions"><button type="submit">${t(L, 'interaction.device.submit')}</button></div>
</form>
<p class="note small muted">${t(L, 'interaction.device.warning')}</p>`;
  return layout({ title: t(L, 'interaction.device.title'), ...chromeOf(p), body });
}

export function deviceDonePage(p: PageChrome & { approved: boolean; clientName: string }): string {
  const L = p.locale ?? 'en';
  const client = { client: strong(p.clientName) };
  const body = p.approved
    ? html`<h1>${t(L, 'interaction.deviceDone.heading')}</h1>
<p class="lead">${rich(L, 'interaction.deviceDone.lead', client)}</p>
<p class="note small muted">${t(L, 'interaction.deviceDone.revoke', { brand: brandName(p.brand) })}</p>`
    : html`<h1>${t(L, 'interaction.deviceDone.deniedTitle')}</h1>
<p class="lead">${rich(L, 'interaction.deviceDone.deniedLead', client)}</p>`;
  const title = t(L, p.approved ? 'interaction.deviceDone.title' : 'interaction.deviceDone.deniedTitle');
  return layout({ title, ...chromeOf(p), body });
}

/**
 * An error: its title and sentence in the page's language; `detail`, the technical description of an
 * OAuth error (for the application's developers, in English), below them when there is one.
 */
export function errorPage(
  p: PageChrome & {
    title: Msg;
    message: Msg;
    detail?: string;
    link?: { href: string; text: Msg };
  },
): string {
  const L = p.locale ?? 'en';
  const back = p.link
    ? html`<p class="muted small">${t(L, 'interaction.errorPage.back')}</p>
<p><a href="${p.link.href}" rel="noreferrer">${t(L, p.link.text)}</a></p>`
    : html`<p class="muted small">${t(L, 'interaction.errorPage.noBack')}</p>`;
  const detail = p.detail
    ? html`<p class="muted small error-detail">${t(L, 'interaction.errorPage.detail')} <code lang="en">${p.detail}</code></p>
`
    : '';
  const title = t(L, p.title);
  const body = html`<h1>${title}</h1>
<div class="alert" role="alert">${t(L, p.message)}</div>
${detail}${back}`;
  return layout({ title, ...chromeOf(p), body });
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
  const L = p.locale ?? 'en';
  const brand = brandName(p.brand);
  const who = p.clientName
    ? html`<p class="lead">${rich(L, 'interaction.logout.asking', { client: strong(p.clientName) }, { brand })}</p>`
    : html`<p class="lead">${t(L, 'interaction.logout.request', { brand })}</p>`;
  const next = p.unverifiedHost
    ? html`<p class="note small">${rich(L, 'interaction.logout.next', { host: strong(p.unverifiedHost) })}</p>
`
    : '';
  const body = html`<h1>${t(L, 'interaction.logout.heading', { brand })}</h1>
${who}
${next}<form method="post" action="${p.action}">
${hiddenInputs(p.hidden, ['csrf', 'confirm'])}${csrfInput(p.csrf)}
<input type="hidden" name="confirm" value="yes">
<div class="actions"><button type="submit">${t(L, 'interaction.logout.submit')}</button></div>
</form>
<p class="note small muted">${t(L, 'interaction.logout.stay')}</p>`;
  return layout({ title: t(L, 'interaction.logout.title'), ...chromeOf(p), body });
}

/**
 * frames: OpenID Connect Front-Channel Logout iframes, one per client of the ended session;
 * continueTo: the post_logout_redirect_uri, followed after the frames had a moment to load.
 */
export function loggedOutPage(p: PageChrome & { frames?: string[]; continueTo?: string }): string {
  const L = p.locale ?? 'en';
  const frames = (p.frames ?? []).map(
    (
      src,
    ) => html`<iframe class="logout-frame" src="${src}" title="${t(L, 'interaction.loggedOut.frame')}" sandbox="allow-scripts allow-same-origin" referrerpolicy="no-referrer"></iframe>
`,
  );
  const next = p.continueTo
    ? html`<meta http-equiv="refresh" content="2;url=${p.continueTo}">
<p><a href="${p.continueTo}">${t(L, 'interaction.loggedOut.continue')}</a></p>`
    : html`<p class="muted">${t(L, 'interaction.loggedOut.done', { brand: brandName(p.brand) })}</p>`;
  const body = html`<h1>${t(L, 'interaction.loggedOut.heading')}</h1>
${next}
${frames}`;
  return layout({ title: t(L, 'interaction.loggedOut.title'), ...chromeOf(p), body });
}

export function formPostPage(
  p: PageChrome & {
    action: string;
    fields: Record<string, string>;
  },
): string {
  const L = p.locale ?? 'en';
  const body = html`<h1>${t(L, 'interaction.continuing.heading')}</h1>
<p class="muted status">${t(L, 'interaction.continuing.status')}</p>
<form method="post" action="${p.action}">
${hiddenInputs(p.fields)}<noscript>
<p class="small noscript-hint">${t(L, 'interaction.continuing.noscript')}</p>
<div class="actions"><button type="submit">${t(L, 'interaction.continuing.link')}</button></div>
</noscript>
</form>
<script nonce="${p.nonce}">document.forms[0].submit()</script>`;
  return layout({ title: t(L, 'interaction.continuing.title'), ...chromeOf(p), body });
}
