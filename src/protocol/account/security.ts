// Security (/account/security): the user's second factors (authenticator apps and passkeys, with
// their names, when added and last used), renaming and removing them, recovery codes, and enrolling
// an authenticator app (/account/security/totp). Changes need a recent sign-in. Removing the last
// factor is refused when one is required of the user (TESSERA_MFA required or phishing-resistant, or
// the operator's per-user requirement).
import { beginTotp, confirmTotp } from '../../accounts/totp.ts';
import { regenerateRecoveryCodes } from '../../accounts/recovery-codes.ts';
import type { Config } from '../../config/config.ts';
import { msg, type Msg } from '../../i18n/catalog.ts';
import type { FactorRecord } from '../../ports/factors.ts';
import type { UserRecord } from '../../ports/users.ts';
import type { CookieSpec, DepsOf, OAuthResponse, Provider, ProtocolRequest, StoreDeps } from '../provider.ts';
import { combineAmr } from '../interaction/mfa-policy.ts';
import { startSession } from '../interaction/session.ts';
import {
  accountForm,
  accountPage,
  formToken,
  isRecent,
  notFound,
  redirectTo,
  signedIn,
  toLogin,
  toReauth,
  type AccountDeps,
  type SignedIn,
} from './common.ts';
import type { FactorRow } from './views.ts';

export type SecurityDeps = AccountDeps &
  Pick<Provider, 'events' | 'log' | 'mail'> & {
    readonly config: Pick<Config, 'mfa' | 'notifications' | 'keyEncryptionKey' | 'keyEncryptionKeyPrevious'>;
  } & StoreDeps<'factors' | 'replay' | 'signIns' | 'upstreamIdentities'> &
  DepsOf<typeof startSession>;

const PURPOSE = 'account:security';
const TOTP_PURPOSE = 'account:totp';
/** Where TOTP enrolment may return to: a sign-in in progress, nothing else. */
const CONTINUE = /^\/interaction\/[A-Za-z0-9_-]{1,64}$/;
const continueOf = (v: string | null | undefined): string | undefined => (v && CONTINUE.test(v) ? v : undefined);

const keks = (p: SecurityDeps) => ({
  keyEncryptionKey: p.config.keyEncryptionKey,
  keyEncryptionKeyPrevious: p.config.keyEncryptionKeyPrevious,
});

/** Whether a second factor is required of this user (the last one then cannot be removed). */
export function factorRequired(p: { readonly config: Pick<Config, 'mfa'> }, user: UserRecord): boolean {
  return p.config.mfa === 'required' || p.config.mfa === 'phishing-resistant' || user.mfaRequired === true;
}

const row = (f: FactorRecord): FactorRow => ({
  id: f.id,
  kind: f.kind,
  name: f.name,
  createdAt: f.createdAt,
  lastUsedAt: f.lastUsedAt,
});

async function securityView(p: SecurityDeps, s: SignedIn, extra: { notice?: Msg; error?: Msg } = {}) {
  const factors = (await p.stores.factors.listByUser(s.user.id)).filter((f) => f.confirmed);
  return accountPage(
    p,
    s,
    formToken(p, s, PURPOSE),
    {
      page: 'security',
      factors: factors.map(row),
      recoveryCodesLeft: await p.stores.factors.countRecoveryCodes(s.user.id),
      mfaOff: p.config.mfa === 'off',
      passkeysOnly: p.config.mfa === 'phishing-resistant',
      required: factorRequired(p, s.user),
      ...extra,
    },
    { nav: 'security', ...(extra.error ? { status: 409 } : {}) },
  );
}

const NOTICES: Record<string, Msg> = {
  renamed: msg('account.security.renamed'),
  removed: msg('account.security.removed'),
  added: msg('account.security.added'),
};

export async function showSecurity(p: SecurityDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const s = await signedIn(p, req);
  if (!s) return toLogin(p);
  const key = req.params.get('done') ?? '';
  // Own keys only: `constructor` or `__proto__` would name an object's built-ins.
  const done = Object.hasOwn(NOTICES, key) ? NOTICES[key] : undefined;
  return securityView(p, s, done ? { notice: done } : {});
}

/** The user's own confirmed factor named in the form, or undefined (another user's id is not found). */
async function ownFactor(p: SecurityDeps, s: SignedIn, id: string | undefined): Promise<FactorRecord | undefined> {
  if (!id) return undefined;
  const f = await p.stores.factors.get(id);
  return f && f.userId === s.user.id && f.confirmed ? f : undefined;
}

export async function renameFactor(p: SecurityDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const ok = await accountForm(p, req, PURPOSE, { factor_id: 64, name: 64 }, { back: '/account/security' });
  if ('response' in ok) return ok.response;
  const { s, f } = ok;
  const factor = await ownFactor(p, s, f.factor_id);
  if (!factor) return notFound('factor');
  const name = (f.name ?? '').trim();
  if (!name || /[\p{Cc}]/u.test(name)) return securityView(p, s, { error: msg('account.security.nameInvalid') });
  await p.stores.factors.rename(s.user.id, factor.id, name);
  p.events({ type: 'factor_renamed', userId: s.user.id, factorId: factor.id, ip: req.ip });
  return redirectTo(p, '/account/security?done=renamed');
}

export async function removeFactor(p: SecurityDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const ok = await accountForm(p, req, PURPOSE, { factor_id: 64 }, { back: '/account/security' });
  if ('response' in ok) return ok.response;
  const { s, f } = ok;
  const factor = await ownFactor(p, s, f.factor_id);
  if (!factor) return notFound('factor');
  if (factorRequired(p, s.user)) {
    // Under phishing-resistant only passkeys count; else any confirmed factor.
    const counting = (x: FactorRecord) =>
      x.confirmed && (p.config.mfa !== 'phishing-resistant' || x.kind === 'passkey');
    const left = (await p.stores.factors.listByUser(s.user.id)).filter((x) => counting(x) && x.id !== factor.id);
    if (counting(factor) && left.length === 0) return securityView(p, s, { error: msg('account.security.lastFactor') });
  }
  // A passkey is a way in of its own (issue 17: an account made by a provider has no password). The
  // last way in is never taken away, whether an identity is unlinked last or the passkey removed last.
  if (factor.kind === 'passkey' && factor.confirmed && s.user.passwordHash === null) {
    const passkeys = (await p.stores.factors.listByUser(s.user.id)).filter(
      (x) => x.kind === 'passkey' && x.confirmed && x.id !== factor.id,
    );
    if (passkeys.length === 0 && (await p.stores.upstreamIdentities.listByUser(s.user.id)).length === 0)
      return securityView(p, s, { error: msg('account.security.lastPasskey') });
  }
  if (!(await p.stores.factors.delete(s.user.id, factor.id))) return notFound('factor');
  // A browser remembered after a second factor may have been remembered by the one removed (a lost
  // phone): every remembered browser asks for a factor again.
  await p.stores.signIns.forgetUser(s.user.id);
  p.events({
    type: 'factor_removed',
    userId: s.user.id,
    kind: factor.kind,
    factorId: factor.id,
    by: 'user',
    ip: req.ip,
  });
  p.log.info({ event: 'factor_removed', sub: s.user.id, kind: factor.kind }, 'factor removed by user');
  return redirectTo(p, '/account/security?done=removed');
}

const issuerName = (p: Pick<AccountDeps, 'config'>) => new URL(p.config.issuer).host;

/**
 * GET /account/security/totp: a new secret (unconfirmed until a code proves the app has it), as a QR code and as text.
 */
export async function showTotp(p: SecurityDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const s = await signedIn(p, req);
  if (!s) return toLogin(p);
  const continueTo = continueOf(req.params.get('continue'));
  const back = `/account/security/totp${continueTo ? `?continue=${continueTo}` : ''}`;
  if (!isRecent(p, s.session)) return toReauth(p, back);
  if (p.config.mfa === 'off' || p.config.mfa === 'phishing-resistant')
    return securityView(p, s, { error: msg('account.security.totpOff') });
  const e = await beginTotp(p.stores, keks(p), s.user, issuerName(p), p.now());
  return accountPage(
    p,
    s,
    formToken(p, s, TOTP_PURPOSE),
    { page: 'totp', factorId: e.factor.id, secret: e.secret, qrSvg: e.qrSvg, ...(continueTo ? { continueTo } : {}) },
    { nav: 'security' },
  );
}

export async function submitTotp(p: SecurityDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const continueTo = continueOf(req.params.get('continue'));
  const back = `/account/security/totp${continueTo ? `?continue=${continueTo}` : ''}`;
  const ok = await accountForm(p, req, TOTP_PURPOSE, { factor_id: 64, code: 32, name: 64, continue: 80 }, { back });
  if ('response' in ok) return ok.response;
  const { s, f } = ok;
  const factor = f.factor_id ? await p.stores.factors.get(f.factor_id) : undefined;
  if (!factor || factor.userId !== s.user.id || factor.kind !== 'totp' || factor.confirmed)
    return notFound('enrolment');
  const now = p.now();
  const verdict = await confirmTotp(p.stores, keks(p), s.user.id, factor.id, f.code ?? '', now);
  if (verdict !== 'ok') {
    // The secret is not shown again (it was shown once): the app already set up can still be
    // confirmed with its next code, or the user starts over with a new secret.
    return accountPage(
      p,
      s,
      formToken(p, s, TOTP_PURPOSE),
      {
        page: 'totp',
        factorId: factor.id,
        ...(continueTo ? { continueTo } : {}),
        error: verdict === 'replayed' ? msg('account.totp.replayed') : msg('account.totp.wrong'),
      },
      { nav: 'security' },
    );
  }
  const name = (f.name ?? '').trim();
  if (name && !/[\p{Cc}]/u.test(name)) await p.stores.factors.rename(s.user.id, factor.id, name);
  p.events({ type: 'factor_added', userId: s.user.id, kind: 'totp', factorId: factor.id, ip: req.ip });
  p.log.info({ event: 'factor_added', sub: s.user.id, kind: 'totp' }, 'authenticator app added');
  // A sign-in that asked for enrolment goes on with a session that adds the app's code to what the
  // session had passed (its password, or a passkey: never a password that was not typed).
  let cookies: CookieSpec[] | undefined;
  if (continueTo) {
    // Still the sign-in it was (a provider's too: its back-channel logout must find the session).
    const started = await startSession(p, req, s.user.id, combineAmr(s.session.amr, ['otp']), s.session.upstream);
    cookies = started.cookies;
  }
  // Recovery codes, shown once, for a user who has none yet.
  if ((await p.stores.factors.countRecoveryCodes(s.user.id)) === 0) {
    const codes = await regenerateRecoveryCodes(p.stores, keks(p), s.user.id, now);
    p.events({ type: 'recovery_codes_generated', userId: s.user.id, ip: req.ip });
    const shown = accountPage(
      p,
      s,
      '',
      {
        page: 'recovery-codes',
        left: codes.length,
        codes,
        notice: msg('account.security.added'),
        ...(continueTo ? { continueTo } : {}),
      },
      { nav: 'security', headers: { 'cache-control': 'no-store' } },
    );
    return cookies && shown.kind === 'page' ? { ...shown, cookies } : shown;
  }
  if (continueTo) return { kind: 'redirect', location: `${p.config.issuer}${continueTo}`, cookies };
  return redirectTo(p, '/account/security?done=added');
}

const RECOVERY_PURPOSE = 'account:recovery';

export async function showRecoveryCodes(p: SecurityDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const s = await signedIn(p, req);
  if (!s) return toLogin(p);
  return accountPage(
    p,
    s,
    formToken(p, s, RECOVERY_PURPOSE),
    { page: 'recovery-codes', left: await p.stores.factors.countRecoveryCodes(s.user.id) },
    { nav: 'security' },
  );
}

export async function regenerateCodes(p: SecurityDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const ok = await accountForm(p, req, RECOVERY_PURPOSE, {}, { back: '/account/security/recovery-codes' });
  if ('response' in ok) return ok.response;
  const { s } = ok;
  const codes = await regenerateRecoveryCodes(p.stores, keks(p), s.user.id, p.now());
  p.events({ type: 'recovery_codes_generated', userId: s.user.id, ip: req.ip });
  p.log.info({ event: 'recovery_codes_generated', sub: s.user.id }, 'recovery codes regenerated by user');
  return accountPage(
    p,
    s,
    formToken(p, s, RECOVERY_PURPOSE),
    {
      page: 'recovery-codes',
      left: codes.length,
      codes,
      notice: msg('account.recovery.made'),
    },
    { nav: 'security', headers: { 'cache-control': 'no-store' } },
  );
}
