/**
 * The account area's pages (/account and /account/*): pure functions over what the protocol layer
 * hands them (protocol/account/views.ts, repeated here structurally: ui/ imports no protocol code).
 * No script: every action is a plain form with its CSRF token; a navigation links the sections.
 * Every word comes from the catalog (i18n/messages/account.ts) in the page's language.
 */
import { t, type MessageKey, type Msg } from '../i18n/catalog.ts';
import { LANGUAGE_NAMES, LOCALES, type Locale } from '../i18n/negotiate.ts';
import { rich } from './rich-text.ts';
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
  notice?: Msg;
  error?: Msg;
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
        locale: string | null;
        fieldErrors: { name?: Msg; email?: Msg; locale?: Msg };
      }
    | { page: 'password'; fieldErrors: { current?: Msg; password?: Msg; confirm?: Msg } }
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
          browser: string | null;
          os: string | null;
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

const SECTIONS: [Section, MessageKey, string][] = [
  ['overview', 'account.nav.overview', '/account'],
  ['profile', 'account.nav.profile', '/account/profile'],
  ['password', 'account.nav.password', '/account/password'],
  ['security', 'account.nav.security', '/account/security'],
  ['linked', 'account.nav.linked', '/account/linked'],
  ['sessions', 'account.nav.sessions', '/account/sessions'],
  ['activity', 'account.nav.activity', '/account/activity'],
  ['data', 'account.nav.data', '/account/data'],
  ['delete', 'account.nav.delete', '/account/delete'],
];

/** A message of the protocol layer in the page's language, when there is one. */
const say = (L: Locale, m: Msg | undefined): string | undefined => (m ? t(L, m) : undefined);

/** Epoch seconds as a <time> element (UTC, to the minute: the same digits in every language). */
function when(L: Locale, at: number | null, ms = false): Html | string {
  if (at === null) return t(L, 'account.time.never');
  const d = new Date(ms ? at : at * 1000);
  if (Number.isNaN(d.getTime())) return t(L, 'account.time.unknown');
  const iso = d.toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`;
}

const csrfInput = (csrf: string) => html`<input type="hidden" name="csrf" value="${csrf}">`;

/**
 * A form that is one small button acting on one item of a list (revoke, remove, end, unlink, link):
 * the hidden field names the item, and the button's accessible name says which one it is, since the
 * visible word alone repeats on every row.
 */
function itemButton(
  action: string,
  csrf: string,
  item: [name: string, value: string],
  word: string,
  name: string,
): Html {
  return html`<form method="post" action="${action}">
${csrfInput(csrf)}
<input type="hidden" name="${item[0]}" value="${item[1]}">
<button type="submit" class="secondary compact" aria-label="${name}">${word}</button>
</form>`;
}

function nav(L: Locale, base: string, current: Section | undefined): Html {
  return html`<nav class="account-nav" aria-label="${t(L, 'account.nav.label')}">
<ul>${SECTIONS.map(
    ([id, label, path]) =>
      html`<li><a href="${base}${path}"${current === id ? raw(' aria-current="page"') : ''}>${t(L, label)}</a></li>`,
  )}</ul>
</nav>`;
}

function messages(L: Locale, p: Base): Html {
  return html`${p.notice ? html`<p class="notice" role="status">${t(L, p.notice)}</p>` : ''}${
    p.error ? html`<p class="alert" role="alert">${t(L, p.error)}</p>` : ''
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

/**
 * The profile's language: "browser default" (empty: the browser's languages decide), then each
 * language Tessera speaks by its own name, marked with its lang so a screen reader says it right.
 */
function languageField(L: Locale, chosen: string | null, error: string | undefined): Html {
  const selected = (v: string) => ((chosen ?? '') === v ? raw(' selected') : '');
  return html`<div class="field">
<label for="locale">${t(L, 'account.profile.language')}</label>
<select id="locale" name="locale" aria-describedby="locale-hint${error ? ' locale-error' : ''}"${error ? raw(' aria-invalid="true"') : ''}>
<option value=""${selected('')}>${t(L, 'account.profile.languageDefault')}</option>
${LOCALES.map((l) => html`<option value="${l}" lang="${l}"${selected(l)}>${LANGUAGE_NAMES[l]}</option>`)}
</select>
<p class="hint small" id="locale-hint">${t(L, 'account.profile.languageHint')}</p>
${error ? html`<p class="field-error small" id="locale-error">${error}</p>` : ''}
</div>`;
}

/** The QR code's SVG from the TOTP enrolment, only in the exact shape uqr draws (a rect and a path). */
const QR_SVG =
  /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 \d+ \d+"><rect fill="white" width="\d+" height="\d+"\/><path fill="black" d="[MHVhvz0-9,. -]*"\/><\/svg>$/;
function qr(L: Locale, svg: string | undefined): Html | '' {
  if (!svg || !QR_SVG.test(svg)) return '';
  const label = html`${t(L, 'account.totp.qr')}`.value; // escaped for the attribute it goes into
  return html`<div class="qr">${raw(svg.replace('<svg ', `<svg role="img" aria-label="${label}" `))}</div>`;
}

/** The audit types the activity page names (protocol/account/activity.ts ACTIVITY_TYPES). */
const TYPE_TEXT: Readonly<Record<string, MessageKey>> = {
  login_succeeded: 'account.activity.login_succeeded',
  logout: 'account.activity.logout',
  user_registered: 'account.activity.user_registered',
  consent_granted: 'account.activity.consent_granted',
  consent_revoked: 'account.activity.consent_revoked',
  factor_added: 'account.activity.factor_added',
  factor_removed: 'account.activity.factor_removed',
  factor_renamed: 'account.activity.factor_renamed',
  recovery_codes_generated: 'account.activity.recovery_codes_generated',
  second_factor_succeeded: 'account.activity.second_factor_succeeded',
  second_factor_failed: 'account.activity.second_factor_failed',
  second_factor_throttled: 'account.activity.second_factor_throttled',
  step_up: 'account.activity.step_up',
  new_device_sign_in: 'account.activity.new_device_sign_in',
  password_changed: 'account.activity.password_changed',
  password_reset_requested: 'account.activity.password_reset_requested',
  password_reset_failed: 'account.activity.password_reset_failed',
  email_verification_sent: 'account.activity.email_verification_sent',
  email_verified: 'account.activity.email_verified',
  email_changed: 'account.activity.email_changed',
  sessions_ended: 'account.activity.sessions_ended',
  account_exported: 'account.activity.account_exported',
  mfa_reset: 'account.activity.mfa_reset',
  user_unlocked: 'account.activity.user_unlocked',
  mfa_required_set: 'account.activity.mfa_required_set',
  upstream_login_succeeded: 'account.activity.upstream_login_succeeded',
  upstream_linked: 'account.activity.upstream_linked',
  upstream_unlinked: 'account.activity.upstream_unlinked',
};

/** An audit type in words ("Other event (type)" for one the list above does not name). */
const typeText = (L: Locale, type: string): string =>
  Object.hasOwn(TYPE_TEXT, type) ? t(L, TYPE_TEXT[type]!) : t(L, 'account.activity.other', { type });

/** A session's browser and system in words, the unknown ones said in the page's language. */
const device = (L: Locale, x: { browser: string | null; os: string | null }): string =>
  t(L, 'account.sessions.device', {
    browser: x.browser ?? t(L, 'account.sessions.unknownBrowser'),
    os: x.os ?? t(L, 'account.sessions.unknownSystem'),
  });

function body(L: Locale, p: AccountPageProps): { title: string; content: Html } {
  const b = p.base;
  switch (p.page) {
    case 'overview': {
      const apps = p.consents.length
        ? html`<ul class="apps" aria-labelledby="apps-heading">
${p.consents.map(
  (c) => html`<li>
<div class="app-info">
<span class="app-name">${c.clientName}</span>
<span class="app-meta small muted">${c.scopes.length ? c.scopes.map((s, i) => html`${i ? ' ' : ''}<code>${s}</code>`) : t(L, 'account.overview.noScopes')}</span>
<span class="app-meta small muted">${rich(L, 'account.overview.granted', { when: when(L, c.grantedAt) })}</span>
</div>
${itemButton(
  `${b}/account/revoke`,
  p.csrf,
  ['client_id', c.clientId],
  t(L, 'account.overview.revoke'),
  t(L, 'account.overview.revokeFor', { client: c.clientName }),
)}
</li>
`,
)}</ul>`
        : html`<p class="empty">${t(L, 'account.overview.noApps')}</p>`;
      const email = p.email
        ? t(L, p.emailVerified ? 'account.overview.verified' : 'account.overview.notVerified', { email: p.email })
        : t(L, 'account.overview.notGiven');
      return {
        title: t(L, 'account.overview.title'),
        content: html`<h1>${t(L, 'account.overview.title')}</h1>
<p class="lead">${rich(L, 'account.overview.signedInAs', { username: html`<strong>${p.username}</strong>` })}</p>
${messages(L, p)}
<dl class="facts">
<dt>${t(L, 'account.overview.name')}</dt><dd>${p.name ?? t(L, 'account.overview.notGiven')}</dd>
<dt>${t(L, 'account.overview.email')}</dt><dd>${email}</dd>
<dt>${t(L, 'account.overview.factors')}</dt><dd>${p.factorCount === 0 ? t(L, 'account.overview.noFactors') : String(p.factorCount)}</dd>
</dl>
<h2 id="apps-heading">${t(L, 'account.overview.apps')}</h2>
${apps}
<hr class="divider">
<form method="post" action="${b}/account/logout">
${csrfInput(p.csrf)}
<button type="submit" class="secondary">${t(L, 'account.overview.signOut')}</button>
</form>`,
      };
    }
    case 'profile':
      return {
        title: t(L, 'account.profile.title'),
        content: html`<h1>${t(L, 'account.profile.title')}</h1>
${messages(L, p)}
<form method="post" action="${b}/account/profile" novalidate>
${csrfInput(p.csrf)}
${field({ id: 'name', label: t(L, 'account.profile.name'), type: 'text', value: p.name, autocomplete: 'name', error: say(L, p.fieldErrors.name) })}
${field({
  id: 'email',
  label: t(L, 'account.profile.email'),
  type: 'email',
  value: p.email,
  autocomplete: 'email',
  error: say(L, p.fieldErrors.email),
  hint: t(
    L,
    p.email
      ? p.emailVerified
        ? 'account.profile.emailVerified'
        : 'account.profile.emailNotVerified'
      : 'account.profile.emailNew',
  ),
})}
${languageField(L, p.locale, say(L, p.fieldErrors.locale))}
<button type="submit">${t(L, 'account.profile.save')}</button>
</form>`,
      };
    case 'password':
      return {
        title: t(L, 'account.password.title'),
        content: html`<h1>${t(L, 'account.password.heading')}</h1>
<p class="lead">${t(L, 'account.password.lead')}</p>
${messages(L, p)}
<form method="post" action="${b}/account/password" novalidate>
${csrfInput(p.csrf)}
<input type="text" name="username" value="${p.username}" autocomplete="username" hidden>
${field({ id: 'current', label: t(L, 'account.password.current'), type: 'password', autocomplete: 'current-password', error: say(L, p.fieldErrors.current), required: true })}
${field({ id: 'password', label: t(L, 'account.password.new'), type: 'password', autocomplete: 'new-password', error: say(L, p.fieldErrors.password), required: true, hint: t(L, 'account.password.newHint') })}
${field({ id: 'confirm', label: t(L, 'account.password.confirm'), type: 'password', autocomplete: 'new-password', error: say(L, p.fieldErrors.confirm), required: true })}
<button type="submit">${t(L, 'account.password.submit')}</button>
</form>`,
      };
    case 'security': {
      const list = p.factors.length
        ? html`<ul class="apps" aria-labelledby="factors-heading">${p.factors.map(
            (f) => html`<li class="factor">
<div class="app-info">
<span class="app-name">${f.name}</span>
<span class="app-meta small muted">${rich(L, 'account.security.factorMeta', {
              kind: t(L, f.kind === 'totp' ? 'account.security.totp' : 'account.security.passkey'),
              added: when(L, f.createdAt),
              used: when(L, f.lastUsedAt),
            })}</span>
<form method="post" action="${b}/account/security/rename" class="inline-form">
${csrfInput(p.csrf)}
<input type="hidden" name="factor_id" value="${f.id}">
<label for="name-${f.id}" class="small">${t(L, 'account.security.newName', { name: f.name })}</label>
<input id="name-${f.id}" name="name" type="text" maxlength="64" value="${f.name}" autocomplete="off">
<button type="submit" class="secondary compact">${t(L, 'account.security.rename')}</button>
</form>
</div>
${itemButton(
  `${b}/account/security/remove`,
  p.csrf,
  ['factor_id', f.id],
  t(L, 'account.security.remove'),
  t(L, 'account.security.removeName', { name: f.name }),
)}
</li>`,
          )}</ul>`
        : html`<p class="empty">${t(L, 'account.security.none')}${p.required ? ` ${t(L, 'account.security.mustHave')}` : ''}</p>`;
      return {
        title: t(L, 'account.security.title'),
        content: html`<h1>${t(L, 'account.security.title')}</h1>
<p class="lead">${t(L, 'account.security.lead')}</p>
${messages(L, p)}
<h2 id="factors-heading">${t(L, 'account.security.factors')}</h2>
${list}
${
  p.mfaOff
    ? html`<p class="muted">${t(L, 'account.security.mfaOff')}</p>`
    : html`<ul class="links">
${p.passkeysOnly ? '' : html`<li><a href="${b}/account/security/totp">${t(L, 'account.security.addTotp')}</a></li>`}
<li><a href="${b}/account/security/passkeys">${t(L, 'account.security.passkeys')}</a></li>
</ul>
<h2>${t(L, 'account.security.recovery')}</h2>
<p>${t(L, 'account.security.recoveryLeft', { left: p.recoveryCodesLeft })} <a href="${b}/account/security/recovery-codes">${t(L, 'account.security.recovery')}</a></p>`
}`,
      };
    }
    case 'totp': {
      const back = p.continueTo ? `?continue=${p.continueTo}` : '';
      return {
        title: t(L, 'account.totp.title'),
        content: html`<h1>${t(L, 'account.totp.title')}</h1>
${messages(L, p)}
${
  p.secret
    ? html`<p>${t(L, 'account.totp.scan')}</p>
${qr(L, p.qrSvg)}
<p><span class="muted small" id="secret-label">${t(L, 'account.totp.key')}</span><br><code class="secret" aria-labelledby="secret-label">${p.secret.replace(/(.{4})/g, '$1 ').trim()}</code></p>`
    : html`<p>${rich(L, 'account.totp.typeCurrent', {
        restart: html`<a href="${b}/account/security/totp${back}">${t(L, 'account.totp.restart')}</a>`,
      })}</p>`
}
<form method="post" action="${b}/account/security/totp${back}" novalidate>
${csrfInput(p.csrf)}
<input type="hidden" name="factor_id" value="${p.factorId}">
${p.continueTo ? html`<input type="hidden" name="continue" value="${p.continueTo}">` : ''}
${field({ id: 'code', label: t(L, 'account.totp.code'), type: 'text', autocomplete: 'one-time-code', required: true, extra: raw(' inputmode="numeric" pattern="[0-9 ]*" maxlength="8"') })}
${field({ id: 'name', label: t(L, 'account.totp.name'), type: 'text', autocomplete: 'off', hint: t(L, 'account.totp.nameHint') })}
<button type="submit">${t(L, 'account.totp.add')}</button>
</form>`,
      };
    }
    case 'recovery-codes':
      return {
        title: t(L, 'account.recovery.title'),
        content: html`<h1>${t(L, 'account.recovery.title')}</h1>
${messages(L, p)}
${
  p.codes
    ? html`<p>${t(L, 'account.recovery.keep')} <strong>${t(L, 'account.recovery.onlyNow')}</strong></p>
<ul class="codes" aria-label="${t(L, 'account.recovery.list')}">${p.codes.map((c) => html`<li><code>${c}</code></li>`)}</ul>
${p.continueTo ? html`<p><a class="button-link" href="${b}${p.continueTo}">${t(L, 'account.recovery.continue')}</a></p>` : html`<p><a href="${b}/account/security">${t(L, 'account.recovery.back')}</a></p>`}`
    : html`<p>${rich(L, p.left === 1 ? 'account.recovery.leftOne' : 'account.recovery.left', {
        count: html`<strong>${p.left}</strong>`,
      })}</p>
<form method="post" action="${b}/account/security/recovery-codes">
${csrfInput(p.csrf)}
<button type="submit">${t(L, 'account.recovery.make')}</button>
</form>
<p class="hint small">${t(L, 'account.recovery.replace')}</p>`
}`,
      };
    case 'sessions':
      return {
        title: t(L, 'account.sessions.title'),
        content: html`<h1>${t(L, 'account.sessions.heading')}</h1>
<p class="lead">${t(L, 'account.sessions.lead')}</p>
${messages(L, p)}
<ul class="apps" aria-label="${t(L, 'account.sessions.title')}">${p.sessions.map(
          (x) => html`<li>
<div class="app-info">
<span class="app-name">${device(L, x)}${x.current ? html` <span class="badge">${t(L, 'account.sessions.thisDevice')}</span>` : ''}</span>
<span class="app-meta small muted">${rich(L, 'account.sessions.meta', {
            ip: x.ip ?? t(L, 'account.sessions.unknownAddress'),
            seen: when(L, x.lastSeenAt),
            started: when(L, x.createdAt),
          })}</span>
</div>
${
  x.current
    ? ''
    : itemButton(
        `${b}/account/sessions/end`,
        p.csrf,
        ['sid', x.sid],
        t(L, 'account.sessions.end'),
        t(L, 'account.sessions.endName', { device: device(L, x) }),
      )
}
</li>`,
        )}</ul>
${
  p.sessions.some((x) => !x.current)
    ? html`<form method="post" action="${b}/account/sessions/end-others" class="note">
${csrfInput(p.csrf)}
<button type="submit" class="secondary">${t(L, 'account.sessions.endOthers')}</button>
</form>`
    : ''
}`,
      };
    case 'activity':
      return {
        title: t(L, 'account.activity.title'),
        content: html`<h1>${t(L, 'account.activity.heading')}</h1>
<p class="lead">${t(L, 'account.activity.lead', { count: p.records.length })}</p>
${
  p.records.length
    ? html`<ul class="activity">${p.records.map(
        (r) =>
          html`<li>${when(L, r.at, true)}: ${r.outcome === 'failure' ? t(L, 'account.activity.failed', { event: typeText(L, r.type) }) : typeText(L, r.type)}${r.ip ? html` <span class="muted">${t(L, 'account.activity.from', { ip: r.ip })}</span>` : ''}</li>`,
      )}</ul>`
    : html`<p class="empty">${t(L, 'account.activity.empty')}</p>`
}`,
      };
    case 'linked': {
      const list = p.identities.length
        ? html`<ul class="apps" aria-labelledby="linked-heading">${p.identities.map(
            (i) => html`<li>
<div class="app-info">
<span class="app-name">${i.providerLabel}</span>
${i.email ? html`<span class="app-meta small muted">${i.email}</span>` : ''}
<span class="app-meta small muted">${rich(L, 'account.linked.meta', {
              linked: when(L, i.createdAt),
              used: when(L, i.lastUsedAt),
            })}</span>
</div>
${itemButton(
  `${b}/account/linked/unlink`,
  p.csrf,
  ['identity', i.ref],
  t(L, 'account.linked.unlink'),
  i.email
    ? t(L, 'account.linked.unlinkNameEmail', { provider: i.providerLabel, email: i.email })
    : t(L, 'account.linked.unlinkName', { provider: i.providerLabel }),
)}
</li>`,
          )}</ul>`
        : html`<p class="empty">${t(L, 'account.linked.none')}</p>`;
      return {
        title: t(L, 'account.linked.title'),
        content: html`<h1>${t(L, 'account.linked.title')}</h1>
<p class="lead">${t(L, 'account.linked.lead')}</p>
${messages(L, p)}
<h2 id="linked-heading">${t(L, 'account.linked.linked')}</h2>
${list}
${
  p.available.length
    ? html`<h2 id="link-heading">${t(L, 'account.linked.another')}</h2>
<p>${t(L, 'account.linked.anotherHint')}</p>
<ul class="apps" aria-labelledby="link-heading">${p.available.map(
        (u) => html`<li>
<div class="app-info"><span class="app-name">${u.label}</span></div>
${itemButton(
  `${b}/account/linked/link`,
  p.csrf,
  ['provider', u.id],
  t(L, 'account.linked.link'),
  t(L, 'account.linked.linkName', { provider: u.label }),
)}
</li>`,
      )}</ul>`
    : ''
}`,
      };
    }
    case 'data':
      return {
        title: t(L, 'account.data.title'),
        content: html`<h1>${t(L, 'account.data.heading')}</h1>
<p>${t(L, 'account.data.text')}</p>
${messages(L, p)}
<form method="post" action="${b}/account/data">
${csrfInput(p.csrf)}
<button type="submit">${t(L, 'account.data.download')}</button>
</form>`,
      };
    case 'delete':
      return {
        title: t(L, 'account.delete.title'),
        content: html`<h1>${t(L, 'account.delete.heading')}</h1>
<p>${t(L, 'account.delete.text')}</p>
${messages(L, p)}
<form method="post" action="${b}/account/delete" novalidate>
${csrfInput(p.csrf)}
${
  p.hasPassword === false
    ? ''
    : html`<input type="text" name="username" value="${p.username}" autocomplete="username" hidden>
${field({ id: 'password', label: t(L, 'account.delete.password'), type: 'password', autocomplete: 'current-password', required: true })}`
}
<div class="field check"><input id="confirm" name="confirm" type="checkbox" value="yes" required> <label for="confirm">${t(L, 'account.delete.confirm')}</label></div>
<button type="submit" class="danger">${t(L, 'account.delete.submit')}</button>
</form>`,
      };
    case 'reauth': {
      const providers = p.providers ?? [];
      const password = p.hasPassword !== false;
      // A user without a password signs in again through a linked provider; one with a password may too.
      const buttons = providers.length
        ? html`${password ? html`<hr class="divider"><p>${t(L, 'account.reauth.orLinked')}</p>` : ''}
${providers.map(
  (u) => html`<form method="post" action="${b}/account/reauth/upstream" class="note">
${csrfInput(p.csrf)}
<input type="hidden" name="return" value="${p.returnTo}">
<input type="hidden" name="provider" value="${u.id}">
<button type="submit" class="secondary">${t(L, 'account.reauth.continueWith', { provider: u.label })}</button>
</form>`,
)}`
        : '';
      return {
        title: t(L, 'account.reauth.title'),
        content: html`<h1>${t(L, 'account.reauth.title')}</h1>
<p class="lead">${
          password
            ? t(L, 'account.reauth.password')
            : providers.length
              ? t(L, 'account.reauth.provider')
              : rich(L, 'account.reauth.neither', {
                  back: html`<a href="${b}/account">${t(L, 'account.reauth.back')}</a>`,
                })
        }</p>
${messages(L, p)}
${
  password
    ? html`<form method="post" action="${b}/account/reauth" novalidate>
${csrfInput(p.csrf)}
<input type="hidden" name="return" value="${p.returnTo}">
<input type="text" name="username" value="${p.username}" autocomplete="username" hidden>
${field({ id: 'password', label: t(L, 'account.reauth.passwordLabel'), type: 'password', autocomplete: 'current-password', required: true })}
<button type="submit">${t(L, 'account.reauth.continue')}</button>
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
  const L = p.locale ?? 'en';
  const { title, content } = body(L, p.account);
  const navigation = p.account.page === 'reauth' ? '' : nav(L, p.account.base, p.nav);
  return layout({ title, ...chromeOf(p), body: html`${navigation}${content}` });
}
