/**
 * The account area's pages (/account and /account/*): pure functions over what the protocol layer
 * hands them (protocol/account/views.ts, repeated here structurally: ui/ imports nothing of ours).
 * No script: every action is a plain form with its CSRF token; a navigation links the sections.
 */
import { html, layout, raw, type Html, chromeOf, type PageChrome } from './html.ts';

type Section =
  | 'overview'
  | 'profile'
  | 'password'
  | 'security'
  | 'linked'
  | 'sessions'
  | 'activity'
  | 'data'
  | 'delete';

interface Base {
  base: string;
  username: string;
  csrf: string;
  notice?: string;
  error?: string;
}

/** A linked upstream identity; `ref` is what the Unlink form names it by. */
interface Linked {
  ref: string;
  providerLabel: string;
  email: string | null;
  createdAt: number;
  lastUsedAt: number;
}

interface ProviderButton {
  id: string;
  label: string;
}

interface Factor {
  id: string;
  kind: 'totp' | 'passkey';
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

export type AccountPageProps = Base &
  (
    | {
        page: 'overview';
        name: string | null;
        email: string | null;
        emailVerified: boolean;
        factorCount: number;
        consents: { clientId: string; clientName: string; scopes: string[]; grantedAt: number }[];
      }
    | {
        page: 'profile';
        name: string;
        email: string;
        emailVerified: boolean;
        fieldErrors: { name?: string; email?: string };
      }
    | { page: 'password'; fieldErrors: { current?: string; password?: string; confirm?: string } }
    | {
        page: 'security';
        factors: Factor[];
        recoveryCodesLeft: number;
        mfaOff: boolean;
        passkeysOnly: boolean;
        required: boolean;
      }
    | { page: 'totp'; factorId: string; secret?: string; qrSvg?: string; continueTo?: string }
    | { page: 'recovery-codes'; left: number; codes?: string[]; continueTo?: string }
    | {
        page: 'sessions';
        sessions: {
          sid: string;
          browser: string;
          os: string;
          ip: string | null;
          createdAt: number;
          lastSeenAt: number;
          current: boolean;
        }[];
      }
    | { page: 'activity'; records: { at: number; type: string; outcome: 'success' | 'failure'; ip: string | null }[] }
    | { page: 'linked'; identities: Linked[]; available: ProviderButton[] }
    | { page: 'data' }
    | { page: 'delete'; hasPassword?: boolean }
    | { page: 'reauth'; returnTo: string; providers?: ProviderButton[]; hasPassword?: boolean }
  );

const SECTIONS: [Section, string, string][] = [
  ['overview', 'Overview', '/account'],
  ['profile', 'Profile', '/account/profile'],
  ['password', 'Password', '/account/password'],
  ['security', 'Security', '/account/security'],
  ['linked', 'Linked sign-ins', '/account/linked'],
  ['sessions', 'Sessions', '/account/sessions'],
  ['activity', 'Activity', '/account/activity'],
  ['data', 'Your data', '/account/data'],
  ['delete', 'Delete account', '/account/delete'],
];

/** Epoch seconds as a <time> element (UTC, to the minute). */
function when(t: number | null, ms = false): Html | string {
  if (t === null) return 'never';
  const d = new Date(ms ? t : t * 1000);
  if (Number.isNaN(d.getTime())) return 'unknown';
  const iso = d.toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`;
}

const csrfInput = (csrf: string) => html`<input type="hidden" name="csrf" value="${csrf}">`;

/**
 * A form that is one small button acting on one item of a list (revoke, remove, end, unlink, link):
 * the hidden field names the item, and the button's accessible name says which one it is, since the
 * visible word alone repeats on every row.
 */
function itemButton(action: string, csrf: string, item: [name: string, value: string], word: string, name: Html): Html {
  return html`<form method="post" action="${action}">
${csrfInput(csrf)}
<input type="hidden" name="${item[0]}" value="${item[1]}">
<button type="submit" class="secondary compact" aria-label="${name}">${word}</button>
</form>`;
}

function nav(base: string, current: Section | undefined): Html {
  return html`<nav class="account-nav" aria-label="Account">
<ul>${SECTIONS.map(
    ([id, label, path]) =>
      html`<li><a href="${base}${path}"${current === id ? raw(' aria-current="page"') : ''}>${label}</a></li>`,
  )}</ul>
</nav>`;
}

function messages(p: Base): Html {
  return html`${p.notice ? html`<p class="notice" role="status">${p.notice}</p>` : ''}${
    p.error ? html`<p class="alert" role="alert">${p.error}</p>` : ''
  }`;
}

function field(p: {
  id: string;
  label: string;
  type: string;
  value?: string;
  autocomplete: string;
  error?: string;
  hint?: string;
  required?: boolean;
  extra?: Html;
}): Html {
  const described = [p.hint ? `${p.id}-hint` : '', p.error ? `${p.id}-error` : ''].filter(Boolean).join(' ');
  return html`<div class="field">
<label for="${p.id}">${p.label}</label>
<input id="${p.id}" name="${p.id}" type="${p.type}" autocomplete="${p.autocomplete}"${p.value !== undefined ? html` value="${p.value}"` : ''}${p.required ? raw(' required') : ''}${p.error ? raw(' aria-invalid="true"') : ''}${described ? html` aria-describedby="${described}"` : ''}${p.extra ?? ''}>
${p.hint ? html`<p class="hint small" id="${p.id}-hint">${p.hint}</p>` : ''}
${p.error ? html`<p class="field-error small" id="${p.id}-error">${p.error}</p>` : ''}
</div>`;
}

/** The QR code's SVG from the TOTP enrolment, only in the exact shape uqr draws (a rect and a path). */
const QR_SVG =
  /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 \d+ \d+"><rect fill="white" width="\d+" height="\d+"\/><path fill="black" d="[MHVhvz0-9,. -]*"\/><\/svg>$/;
function qr(svg: string | undefined): Html | '' {
  if (!svg || !QR_SVG.test(svg)) return '';
  return html`<div class="qr">${raw(svg.replace('<svg ', '<svg role="img" aria-label="QR code for your authenticator app" '))}</div>`;
}

const TYPE_TEXT: Record<string, string> = {
  login_succeeded: 'Signed in',
  logout: 'Signed out',
  user_registered: 'Account created',
  consent_granted: 'Gave an application access',
  consent_revoked: 'Removed an application’s access',
  factor_added: 'Second factor added',
  factor_removed: 'Second factor removed',
  factor_renamed: 'Second factor renamed',
  recovery_codes_generated: 'New recovery codes made',
  second_factor_succeeded: 'Second factor passed',
  second_factor_failed: 'Second factor failed',
  second_factor_throttled: 'Too many wrong second-factor codes',
  step_up: 'Signed in again for an application',
  new_device_sign_in: 'Signed in from a new device',
  password_changed: 'Password changed',
  password_reset_requested: 'Password reset asked for',
  password_reset_failed: 'Password reset failed',
  email_verification_sent: 'Verification mail sent',
  email_verified: 'Email address verified',
  email_changed: 'Email address changed',
  sessions_ended: 'Sessions ended',
  account_exported: 'Data downloaded',
  upstream_login_succeeded: 'Signed in with a linked provider',
  upstream_linked: 'Sign-in linked',
  upstream_unlinked: 'Sign-in unlinked',
};

function body(p: AccountPageProps): { title: string; content: Html } {
  const b = p.base;
  switch (p.page) {
    case 'overview': {
      const apps = p.consents.length
        ? html`<ul class="apps" aria-labelledby="apps-heading">
${p.consents.map(
  (c) => html`<li>
<div class="app-info">
<span class="app-name">${c.clientName}</span>
<span class="app-meta small muted">${c.scopes.length ? c.scopes.map((s, i) => html`${i ? ' ' : ''}<code>${s}</code>`) : 'No scopes'}</span>
<span class="app-meta small muted">Granted ${when(c.grantedAt)}</span>
</div>
${itemButton(
  `${b}/account/revoke`,
  p.csrf,
  ['client_id', c.clientId],
  'Revoke',
  html`Revoke access for ${c.clientName}`,
)}
</li>
`,
)}</ul>`
        : html`<p class="empty">You have not granted any applications access to your account.</p>`;
      return {
        title: 'Your account',
        content: html`<h1>Your account</h1>
<p class="lead">Signed in as <strong>${p.username}</strong></p>
${messages(p)}
<dl class="facts">
<dt>Name</dt><dd>${p.name ?? 'Not given'}</dd>
<dt>Email</dt><dd>${p.email ? html`${p.email} ${p.emailVerified ? '(verified)' : '(not verified)'}` : 'Not given'}</dd>
<dt>Second factors</dt><dd>${p.factorCount === 0 ? 'None' : String(p.factorCount)}</dd>
</dl>
<h2 id="apps-heading">Applications with access</h2>
${apps}
<hr class="divider">
<form method="post" action="${b}/account/logout">
${csrfInput(p.csrf)}
<button type="submit" class="secondary">Sign out</button>
</form>`,
      };
    }
    case 'profile':
      return {
        title: 'Profile',
        content: html`<h1>Profile</h1>
${messages(p)}
<form method="post" action="${b}/account/profile" novalidate>
${csrfInput(p.csrf)}
${field({ id: 'name', label: 'Name', type: 'text', value: p.name, autocomplete: 'name', error: p.fieldErrors.name })}
${field({
  id: 'email',
  label: 'Email address',
  type: 'email',
  value: p.email,
  autocomplete: 'email',
  error: p.fieldErrors.email,
  hint: p.email
    ? p.emailVerified
      ? 'Verified. A new address must be verified again: we send it a link.'
      : 'Not verified yet: open the link we sent to it.'
    : 'We send a link to verify it.',
})}
<button type="submit">Save</button>
</form>`,
      };
    case 'password':
      return {
        title: 'Password',
        content: html`<h1>Change your password</h1>
<p class="lead">Your other sessions end when you change it.</p>
${messages(p)}
<form method="post" action="${b}/account/password" novalidate>
${csrfInput(p.csrf)}
<input type="text" name="username" value="${p.username}" autocomplete="username" hidden>
${field({ id: 'current', label: 'Current password', type: 'password', autocomplete: 'current-password', error: p.fieldErrors.current, required: true })}
${field({ id: 'password', label: 'New password', type: 'password', autocomplete: 'new-password', error: p.fieldErrors.password, required: true, hint: 'At least 8 characters; a long phrase is best.' })}
${field({ id: 'confirm', label: 'New password again', type: 'password', autocomplete: 'new-password', error: p.fieldErrors.confirm, required: true })}
<button type="submit">Change password</button>
</form>`,
      };
    case 'security': {
      const list = p.factors.length
        ? html`<ul class="apps" aria-labelledby="factors-heading">${p.factors.map(
            (f) => html`<li class="factor">
<div class="app-info">
<span class="app-name">${f.name}</span>
<span class="app-meta small muted">${f.kind === 'totp' ? 'Authenticator app' : 'Passkey'} · added ${when(f.createdAt)} · last used ${when(f.lastUsedAt)}</span>
<form method="post" action="${b}/account/security/rename" class="inline-form">
${csrfInput(p.csrf)}
<input type="hidden" name="factor_id" value="${f.id}">
<label for="name-${f.id}" class="small">New name for ${f.name}</label>
<input id="name-${f.id}" name="name" type="text" maxlength="64" value="${f.name}" autocomplete="off">
<button type="submit" class="secondary compact">Rename</button>
</form>
</div>
${itemButton(`${b}/account/security/remove`, p.csrf, ['factor_id', f.id], 'Remove', html`Remove ${f.name}`)}
</li>`,
          )}</ul>`
        : html`<p class="empty">No second factor yet.${p.required ? ' Your account must have one.' : ''}</p>`;
      return {
        title: 'Security',
        content: html`<h1>Security</h1>
<p class="lead">Second factors protect your account if your password is stolen.</p>
${messages(p)}
<h2 id="factors-heading">Second factors</h2>
${list}
${
  p.mfaOff
    ? html`<p class="muted">This server does not offer second factors.</p>`
    : html`<ul class="links">
${p.passkeysOnly ? '' : html`<li><a href="${b}/account/security/totp">Add an authenticator app</a></li>`}
<li><a href="${b}/account/security/passkeys">Add or manage passkeys</a></li>
</ul>
<h2>Recovery codes</h2>
<p>${p.recoveryCodesLeft} of 10 left. <a href="${b}/account/security/recovery-codes">Recovery codes</a></p>`
}`,
      };
    }
    case 'totp': {
      const back = p.continueTo ? `?continue=${p.continueTo}` : '';
      return {
        title: 'Add an authenticator app',
        content: html`<h1>Add an authenticator app</h1>
${messages(p)}
${
  p.secret
    ? html`<p>Scan this code with your authenticator app, or type the key below into it.</p>
${qr(p.qrSvg)}
<p><span class="muted small" id="secret-label">Key</span><br><code class="secret" aria-labelledby="secret-label">${p.secret.replace(/(.{4})/g, '$1 ').trim()}</code></p>`
    : html`<p>Type the current code from the app you set up, or <a href="${b}/account/security/totp${back}">start again with a new key</a>.</p>`
}
<form method="post" action="${b}/account/security/totp${back}" novalidate>
${csrfInput(p.csrf)}
<input type="hidden" name="factor_id" value="${p.factorId}">
${p.continueTo ? html`<input type="hidden" name="continue" value="${p.continueTo}">` : ''}
${field({ id: 'code', label: 'Code from the app', type: 'text', autocomplete: 'one-time-code', required: true, extra: raw(' inputmode="numeric" pattern="[0-9 ]*" maxlength="8"') })}
${field({ id: 'name', label: 'Name for this app (optional)', type: 'text', autocomplete: 'off', hint: 'For example: Phone' })}
<button type="submit">Add</button>
</form>`,
      };
    }
    case 'recovery-codes':
      return {
        title: 'Recovery codes',
        content: html`<h1>Recovery codes</h1>
${messages(p)}
${
  p.codes
    ? html`<p>Keep these codes somewhere safe. Each one signs you in once if you lose your second factor. <strong>They are shown only now.</strong></p>
<ul class="codes" aria-label="Your recovery codes">${p.codes.map((c) => html`<li><code>${c}</code></li>`)}</ul>
${p.continueTo ? html`<p><a class="button-link" href="${b}${p.continueTo}">Continue signing in</a></p>` : html`<p><a href="${b}/account/security">Back to security</a></p>`}`
    : html`<p>You have <strong>${p.left}</strong> unused recovery code${p.left === 1 ? '' : 's'}.</p>
<form method="post" action="${b}/account/security/recovery-codes">
${csrfInput(p.csrf)}
<button type="submit">Make new codes</button>
</form>
<p class="hint small">New codes replace the old ones.</p>`
}`,
      };
    case 'sessions':
      return {
        title: 'Sessions',
        content: html`<h1>Sessions and devices</h1>
<p class="lead">Where your account is signed in.</p>
${messages(p)}
<ul class="apps" aria-label="Sessions">${p.sessions.map(
          (x) => html`<li>
<div class="app-info">
<span class="app-name">${x.browser} on ${x.os}${x.current ? html` <span class="badge">This device</span>` : ''}</span>
<span class="app-meta small muted">${x.ip ?? 'Unknown address'} · last seen ${when(x.lastSeenAt)} · signed in ${when(x.createdAt)}</span>
</div>
${
  x.current
    ? ''
    : itemButton(
        `${b}/account/sessions/end`,
        p.csrf,
        ['sid', x.sid],
        'End',
        html`End the session of ${x.browser} on ${x.os}`,
      )
}
</li>`,
        )}</ul>
${
  p.sessions.some((x) => !x.current)
    ? html`<form method="post" action="${b}/account/sessions/end-others" class="note">
${csrfInput(p.csrf)}
<button type="submit" class="secondary">End all other sessions</button>
</form>`
    : ''
}`,
      };
    case 'activity':
      return {
        title: 'Activity',
        content: html`<h1>Recent security activity</h1>
<p class="lead">The latest ${p.records.length} events of your account.</p>
${
  p.records.length
    ? html`<ul class="activity">${p.records.map(
        (r) =>
          html`<li>${when(r.at, true)}: ${TYPE_TEXT[r.type] ?? r.type}${r.outcome === 'failure' ? ' (failed)' : ''}${r.ip ? html` <span class="muted">from ${r.ip}</span>` : ''}</li>`,
      )}</ul>`
    : html`<p class="empty">Nothing yet.</p>`
}`,
      };
    case 'linked': {
      const list = p.identities.length
        ? html`<ul class="apps" aria-labelledby="linked-heading">${p.identities.map(
            (i) => html`<li>
<div class="app-info">
<span class="app-name">${i.providerLabel}</span>
${i.email ? html`<span class="app-meta small muted">${i.email}</span>` : ''}
<span class="app-meta small muted">Linked ${when(i.createdAt)} · last used ${when(i.lastUsedAt)}</span>
</div>
${itemButton(
  `${b}/account/linked/unlink`,
  p.csrf,
  ['identity', i.ref],
  'Unlink',
  html`Unlink ${i.providerLabel}${i.email ? html` (${i.email})` : ''}`,
)}
</li>`,
          )}</ul>`
        : html`<p class="empty">No other sign-in is linked to your account.</p>`;
      return {
        title: 'Linked sign-ins',
        content: html`<h1>Linked sign-ins</h1>
<p class="lead">Accounts at other providers that can sign you in here.</p>
${messages(p)}
<h2 id="linked-heading">Linked</h2>
${list}
${
  p.available.length
    ? html`<h2 id="link-heading">Link another</h2>
<p>You sign in at the provider, then come back here.</p>
<ul class="apps" aria-labelledby="link-heading">${p.available.map(
        (u) => html`<li>
<div class="app-info"><span class="app-name">${u.label}</span></div>
${itemButton(`${b}/account/linked/link`, p.csrf, ['provider', u.id], 'Link', html`Link ${u.label}`)}
</li>`,
      )}</ul>`
    : ''
}`,
      };
    }
    case 'data':
      return {
        title: 'Your data',
        content: html`<h1>Download your data</h1>
<p>A JSON file with your profile, your second factors (names and dates, never their secrets), your linked sign-ins, your sessions, the applications you let in and your recent activity.</p>
${messages(p)}
<form method="post" action="${b}/account/data">
${csrfInput(p.csrf)}
<button type="submit">Download my data</button>
</form>`,
      };
    case 'delete':
      return {
        title: 'Delete account',
        content: html`<h1>Delete your account</h1>
<p>This cannot be undone. Applications you use with this account lose access and are signed out; your second factors, linked sign-ins and sessions are deleted. Your username stays reserved for a while and is not given to anyone else during it.</p>
${messages(p)}
<form method="post" action="${b}/account/delete" novalidate>
${csrfInput(p.csrf)}
${
  p.hasPassword === false
    ? ''
    : html`<input type="text" name="username" value="${p.username}" autocomplete="username" hidden>
${field({ id: 'password', label: 'Your password', type: 'password', autocomplete: 'current-password', required: true })}`
}
<div class="field check"><input id="confirm" name="confirm" type="checkbox" value="yes" required> <label for="confirm">I want to delete my account</label></div>
<button type="submit" class="danger">Delete my account</button>
</form>`,
      };
    case 'reauth': {
      const providers = p.providers ?? [];
      const password = p.hasPassword !== false;
      // A user without a password signs in again through a linked provider; one with a password may too.
      const buttons = providers.length
        ? html`${password ? html`<hr class="divider"><p>Or confirm with a linked sign-in:</p>` : ''}
${providers.map(
  (u) => html`<form method="post" action="${b}/account/reauth/upstream" class="note">
${csrfInput(p.csrf)}
<input type="hidden" name="return" value="${p.returnTo}">
<input type="hidden" name="provider" value="${u.id}">
<button type="submit" class="secondary">Continue with ${u.label}</button>
</form>`,
)}`
        : '';
      return {
        title: 'Confirm it is you',
        content: html`<h1>Confirm it is you</h1>
<p class="lead">${
          password
            ? 'Type your password again to go on (then your second factor, if your account has one).'
            : providers.length
              ? 'Sign in again with a provider linked to your account to go on (then your second factor, if your account has one).'
              : html`Your account has no password and no linked sign-in to confirm it with. <a href="${b}/account">Back to your account</a>: sign out there, then sign in again.`
        }</p>
${messages(p)}
${
  password
    ? html`<form method="post" action="${b}/account/reauth" novalidate>
${csrfInput(p.csrf)}
<input type="hidden" name="return" value="${p.returnTo}">
<input type="text" name="username" value="${p.username}" autocomplete="username" hidden>
${field({ id: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', required: true })}
<button type="submit">Continue</button>
</form>`
    : ''
}
${buttons}`,
      };
    }
  }
}

/** A page of the account area, with its navigation (none on the re-authentication page). */
export function accountAreaPage(
  p: PageChrome & {
    nav?: Section;
    account: AccountPageProps;
  },
): string {
  const { title, content } = body(p.account);
  const navigation = p.account.page === 'reauth' ? '' : nav(p.account.base, p.nav);
  return layout({ title, ...chromeOf(p), body: html`${navigation}${content}` });
}
