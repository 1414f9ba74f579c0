/**
 * Server-rendered pages of the authorization server. Every function is pure and returns a
 * complete HTML document. No JavaScript (except the form-post auto-submit, nonce'd) and no
 * external resources; styles live in one nonce'd inline <style> (see layout()).
 */
import { html, layout } from './html.ts';
import type { Html } from './html.ts';

function csrfInput(csrf: string): Html {
  return html`<input type="hidden" name="csrf" value="${csrf}">`;
}

function hiddenInputs(fields: Record<string, string>, skip: readonly string[] = []): Html[] {
  return Object.entries(fields)
    .filter(([name]) => !skip.includes(name))
    .map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">\n`);
}

/** Epoch seconds (as everywhere in Tessera) to YYYY-MM-DD (UTC), or undefined. */
function isoDate(t: number): string | undefined {
  if (!Number.isFinite(t)) return undefined;
  const d = new Date(t * 1000);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString().slice(0, 10);
}

export function loginPage(p: {
  nonce: string;
  action: string;
  csrf: string;
  clientName: string;
  username?: string;
  error?: string;
}): string {
  const hasError = Boolean(p.error);
  const invalid = hasError ? html` aria-invalid="true" aria-describedby="login-error"` : '';
  // Focus the first field that needs input (password when the username is already known).
  const focusUser = !p.username ? html` autofocus` : '';
  const focusPass = p.username ? html` autofocus` : '';
  const body = html`<h1>Sign in</h1>
<p class="lead">to continue to <strong>${p.clientName}</strong></p>
${hasError ? html`<div class="alert" role="alert" id="login-error">${p.error}</div>` : ''}
<form method="post" action="${p.action}">
${csrfInput(p.csrf)}
<div class="field">
<label for="username">Username</label>
<input type="text" id="username" name="username" value="${p.username ?? ''}" autocomplete="username" autocapitalize="none" autocorrect="off" spellcheck="false" required${invalid}${focusUser}>
</div>
<div class="field">
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required${invalid}${focusPass}>
</div>
<div class="actions"><button type="submit">Sign in</button></div>
</form>`;
  return layout({ title: 'Sign in', nonce: p.nonce, body });
}

export function consentPage(p: {
  nonce: string;
  action: string;
  csrf: string;
  clientName: string;
  username: string;
  scopes: { name: string; description: string }[];
  resource?: string;
  /** A device approval: the user code, for the user to compare with the one on their device. */
  userCode?: string;
  /** RFC 9396: the authorization details asked for, one entry per type with its fields as text. */
  authorizationDetails?: { type: string; fields: { name: string; value: string }[] }[];
  /** Claims asked for by name (OIDC claims parameter) beyond what the scopes release. */
  claims?: string[];
}): string {
  const device = p.userCode
    ? html`<div class="alert device-code" role="note"><p>Check that this code is the one shown on your device:</p>
<p class="user-code"><strong>${p.userCode}</strong></p>
<p class="small">If it is not, or you did not start this on a device of your own, select Deny: someone may be trying to get access to your account.</p></div>`
    : '';
  const scopeList = p.scopes.length
    ? html`<h2 id="scopes-heading">This will allow ${p.clientName} to:</h2>
<ul class="scopes" aria-labelledby="scopes-heading">
${p.scopes.map(
  (s) => html`<li><span class="scope-desc">${s.description || s.name}</span><code class="scope-name small">${s.name}</code></li>\n`,
)}</ul>`
    : html`<p class="muted">No specific permissions are requested.</p>`;
  const resource = p.resource
    ? html`<p class="resource small">Access is for the API <code>${p.resource}</code></p>`
    : '';
  const details = p.authorizationDetails?.length
    ? html`<h2 id="details-heading">In particular:</h2>
<ul class="authorization-details" aria-labelledby="details-heading">${p.authorizationDetails.map(
  (d) => html`<li><code class="detail-type">${d.type}</code><dl>${d.fields.map((f) => html`<dt>${f.name}</dt><dd>${f.value}</dd>`)}</dl></li>\n`,
)}</ul>`
    : '';
  const claims = p.claims?.length
    ? html`<h2 id="claims-heading">It also asks to see:</h2>
<ul class="scopes" aria-labelledby="claims-heading">
${p.claims.map((c) => html`<li><code class="scope-name">${c}</code></li>
`)}</ul>`
    : '';
  const body = html`<h1>Allow access?</h1>
<p class="lead"><strong>${p.clientName}</strong> is asking for access to your account <strong>${p.username}</strong>${p.userCode ? ' on a device' : ''}.</p>
${device}
${scopeList}
${claims}
${details}
${resource}
<form method="post" action="${p.action}">
${csrfInput(p.csrf)}
<div class="actions">
<button type="submit" class="secondary" name="decision" value="deny">Deny</button>
<button type="submit" name="decision" value="allow">Allow</button>
</div>
</form>
<p class="note small muted">Only allow access to applications you trust. You can revoke access later from your Tessera account.</p>`;
  return layout({ title: `Allow access to ${p.clientName}?`, nonce: p.nonce, body });
}

/** prompt=select_account: continue as the signed-in user, or sign in as someone else. */
export function selectAccountPage(p: { nonce: string; action: string; csrf: string; clientName: string; username: string }): string {
  const body = html`<h1>Choose an account</h1>
<p class="lead">to continue to <strong>${p.clientName}</strong></p>
<form method="post" action="${p.action}">
${csrfInput(p.csrf)}
<div class="actions">
<button type="submit" class="secondary" name="decision" value="switch">Use another account</button>
<button type="submit" name="decision" value="continue" autofocus>Continue as ${p.username}</button>
</div>
</form>`;
  return layout({ title: 'Choose an account', nonce: p.nonce, body });
}

export function deviceEntryPage(p: { nonce: string; action: string; csrf: string; userCode?: string; error?: string }): string {
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
  return layout({ title: 'Connect a device', nonce: p.nonce, body });
}

export function deviceDonePage(p: { nonce: string; approved: boolean; clientName: string }): string {
  const body = p.approved
    ? html`<h1>You may return to your device</h1>
<p class="lead"><strong>${p.clientName}</strong> now has the access you allowed. You can close this page and continue on your device.</p>
<p class="note small muted">You can revoke its access at any time from your Tessera account.</p>`
    : html`<h1>Access denied</h1>
<p class="lead"><strong>${p.clientName}</strong> was not given access. You can close this page.</p>`;
  return layout({ title: p.approved ? 'Device connected' : 'Access denied', nonce: p.nonce, body });
}

export function errorPage(p: { nonce: string; title: string; message: string }): string {
  const body = html`<h1>${p.title}</h1>
<div class="alert" role="alert">${p.message}</div>
<p class="muted small">For your security, you have not been sent back to the application. You can close this page.</p>`;
  return layout({ title: p.title, nonce: p.nonce, body });
}

export function logoutConfirmPage(p: {
  nonce: string;
  action: string;
  csrf: string;
  clientName?: string;
  hidden: Record<string, string>;
}): string {
  const who = p.clientName
    ? html`<p class="lead"><strong>${p.clientName}</strong> is asking to sign you out of Tessera.</p>`
    : html`<p class="lead">A request was made to sign you out of Tessera.</p>`;
  const body = html`<h1>Sign out of Tessera?</h1>
${who}
<form method="post" action="${p.action}">
${hiddenInputs(p.hidden, ['csrf', 'confirm'])}${csrfInput(p.csrf)}
<input type="hidden" name="confirm" value="yes">
<div class="actions"><button type="submit">Sign out</button></div>
</form>
<p class="note small muted">If you did not ask to sign out, you can close this page and stay signed in.</p>`;
  return layout({ title: 'Sign out?', nonce: p.nonce, body });
}

export function loggedOutPage(p: { nonce: string }): string {
  const body = html`<h1>You are signed out.</h1>
<p class="muted">You have been signed out of Tessera. You can close this page.</p>`;
  return layout({ title: 'Signed out', nonce: p.nonce, body });
}

export function formPostPage(p: { nonce: string; action: string; fields: Record<string, string> }): string {
  const body = html`<h1>Continuing…</h1>
<p class="muted status">Returning you to the application.</p>
<form method="post" action="${p.action}">
${hiddenInputs(p.fields)}<noscript>
<p class="small noscript-hint">JavaScript is turned off. Select Continue to return to the application.</p>
<div class="actions"><button type="submit">Continue</button></div>
</noscript>
</form>
<script nonce="${p.nonce}">document.forms[0].submit()</script>`;
  return layout({ title: 'Continuing', nonce: p.nonce, body });
}

export function accountPage(p: {
  nonce: string;
  csrf: string;
  username: string;
  consents: { clientId: string; clientName: string; scopes: string[]; grantedAt: number }[];
  revokeAction: string;
  logoutAction: string;
}): string {
  const apps = p.consents.length
    ? html`<ul class="apps" aria-labelledby="apps-heading">
${p.consents.map((c) => {
  const date = isoDate(c.grantedAt);
  return html`<li>
<div class="app-info">
<span class="app-name">${c.clientName}</span>
<span class="app-meta small muted">${c.scopes.length ? c.scopes.map((s, i) => html`${i ? ' ' : ''}<code>${s}</code>`) : 'No scopes'}</span>
<span class="app-meta small muted">Granted ${date ? html`<time datetime="${date}">${date}</time>` : 'on an unknown date'}</span>
</div>
<form method="post" action="${p.revokeAction}">
${csrfInput(p.csrf)}
<input type="hidden" name="client_id" value="${c.clientId}">
<button type="submit" class="secondary compact" aria-label="Revoke access for ${c.clientName}">Revoke</button>
</form>
</li>
`;
})}</ul>`
    : html`<p class="empty">You have not granted any applications access to your account.</p>`;
  const body = html`<h1>Your account</h1>
<p class="lead">Signed in as <strong>${p.username}</strong></p>
<h2 id="apps-heading">Applications with access</h2>
${apps}
<hr class="divider">
<form method="post" action="${p.logoutAction}">
${csrfInput(p.csrf)}
<button type="submit" class="secondary">Sign out</button>
</form>`;
  return layout({ title: 'Your account', nonce: p.nonce, body });
}
