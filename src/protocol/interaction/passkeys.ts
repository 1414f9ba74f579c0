// The passkey pages and forms: passkey-first sign-in on the login page of a sign-in
// (/interaction/:uid/passkey) and of the account (/account/passkey), each with an options endpoint
// (JSON), and registration in the account area (/account/security/passkeys). The ceremonies'
// answers come back as a hidden field of an ordinary CSRF-protected form (ui/assets/passkeys.js).
import { msg, type Msg } from '../../i18n/catalog.ts';
import { passkeyAmr } from '../../accounts/passkeys.ts';
import type { SessionRecord } from '../../ports/sessions.ts';
import type { UserRecord } from '../../ports/users.ts';
import { forbidden, toReauth } from '../account/common.ts';
import { emailVerificationRequired, unverifiedEmailAnswer } from './email.ts';
import { readFormParams } from '../params.ts';
import {
  passkeyLoginOptions,
  passkeyRegistrationOptions,
  registerPasskey,
  verifyPasskeyLogin,
  type PasskeyFailure,
  type PasskeyVerifyDeps,
} from '../passkeys.ts';
import type { DepsOf, OAuthResponse, Provider, ProtocolRequest, StoreDeps } from '../provider.ts';
import { ACCOUNT_LOGIN_COOKIE, loginView as accountLoginView } from './account.ts';
import { load, loginView, page, signedIn, type InteractionDeps } from './interaction.ts';
import { checkCsrf, csrfToken, loadSession, SESSION_COOKIE, startSession } from './session.ts';

/** What the passkey sign-in of an interaction uses: the interaction's steps, and verifying a passkey. */
export type InteractionPasskeyDeps = InteractionDeps &
  PasskeyVerifyDeps &
  Pick<Provider, 'log'> &
  DepsOf<typeof unverifiedHeldBack>;
/** What the account login's passkey sign-in uses: its login page, verifying a passkey, a new session. */
export type AccountPasskeyDeps = DepsOf<typeof accountLoginView> &
  PasskeyVerifyDeps &
  DepsOf<typeof checkCsrf> &
  DepsOf<typeof startSession> &
  DepsOf<typeof unverifiedHeldBack> &
  Pick<Provider, 'events' | 'log'>;
/** What the passkeys page and its registration use: the session, the factors, events, mail, a sign-in's interaction. */
export type PasskeysPageDeps = DepsOf<typeof loadSession> &
  DepsOf<typeof checkCsrf> &
  DepsOf<typeof startSession> &
  DepsOf<typeof registerPasskey> &
  DepsOf<typeof load> &
  Pick<Provider, 'config' | 'now' | 'events' | 'log' | 'mail'> &
  StoreDeps<'users' | 'factors' | 'replay' | 'interactions'>;

const PARAMS = new Set(['csrf', 'response', 'name', 'continue']);
const LIMITS = { csrf: 128, response: 16_384, name: 256, continue: 100 };
const form = (req: ProtocolRequest) => readFormParams(req.params, PARAMS, LIMITS);

const FAILED = msg('interaction.error.passkeyLogin');

/**
 * The sign-in page again after a refused passkey: its alert says so, and the username and password
 * fields, which the person did not use, are not marked invalid (a screen reader would read them so).
 */
function passkeyFailed(answer: OAuthResponse): OAuthResponse {
  return answer.kind === 'page' && answer.view.name === 'login'
    ? { ...answer, view: { ...answer.view, passkeyError: true } }
    : answer;
}
const NO_STORE = { 'cache-control': 'no-store' };

const json = (body: object): OAuthResponse => ({ kind: 'json', status: 200, body, headers: NO_STORE });
const jsonError = (description: string): OAuthResponse => ({
  kind: 'json',
  status: 400,
  body: { error: 'invalid_request', error_description: description },
  headers: NO_STORE,
});

function failed(
  p: Pick<Provider, 'events'>,
  req: ProtocolRequest,
  reason: PasskeyFailure,
  userId?: string,
  clientId?: string,
) {
  p.events({
    type: 'passkey_login_failed',
    reason,
    ...(userId ? { userId } : {}),
    ...(clientId ? { clientId } : {}),
    ip: req.ip,
  });
}

/** A passkey sign-in that passed: the same event and log line as a password's (login-throttle.ts checkLogin). */
function succeeded(
  p: Pick<Provider, 'events' | 'log'>,
  req: ProtocolRequest,
  userId: string,
  context: Record<string, string>,
) {
  p.events({
    type: 'login_succeeded',
    userId,
    ...(context.client_id ? { clientId: context.client_id } : {}),
    ip: req.ip,
  });
  p.log.info({ event: 'login_succeeded', sub: userId, ip: req.ip, method: 'passkey', ...context }, 'login succeeded');
}

/**
 * TESSERA_EMAIL_VERIFICATION=before-sign-in holds a passkey sign-in back as it does a password's: an
 * account whose address is not verified yet gets the page that mails the link again (email.ts).
 */
async function unverifiedHeldBack(
  p: DepsOf<typeof unverifiedEmailAnswer> & StoreDeps<'users'> & DepsOf<typeof emailVerificationRequired>,
  req: ProtocolRequest,
  userId: string,
): Promise<OAuthResponse | undefined> {
  if (p.config.emailVerification !== 'before-sign-in') return undefined;
  const user = await p.stores.users.get(userId);
  return user && emailVerificationRequired(p, user) ? unverifiedEmailAnswer(p, req, user) : undefined;
}

// ---- sign-in during an authorization request ----------------------------------------------------

/** GET /interaction/:uid/passkey/options: fresh options for this sign-in (JSON). */
export async function interactionPasskeyOptions(
  p: InteractionPasskeyDeps,
  req: ProtocolRequest,
  uid: string,
): Promise<OAuthResponse> {
  const l = await load(p, req, uid);
  if ('kind' in l) return jsonError('This sign-in request has expired.');
  return json(passkeyLoginOptions(p, `ia:${uid}`, l.browserSecret));
}

/** POST /interaction/:uid/passkey: a passkey-first sign-in; on success as after a password. */
export async function interactionPasskey(
  p: InteractionPasskeyDeps,
  req: ProtocolRequest,
  uid: string,
): Promise<OAuthResponse> {
  const l = await load(p, req, uid);
  if ('kind' in l) return l;
  const f = form(req);
  if (!f || !checkCsrf(p, `ia:${uid}`, l.browserSecret, f.csrf)) return forbidden;
  if (l.ia.loginAt !== null) return { kind: 'redirect', location: `${p.config.issuer}/interaction/${uid}` };
  const verdict = await verifyPasskeyLogin(p, f.response ?? '', `ia:${uid}`, l.browserSecret);
  if (!verdict.ok) {
    failed(p, req, verdict.reason, verdict.userId, l.ia.clientId);
    return passkeyFailed(await loginView(p, l, FAILED));
  }
  const held = await unverifiedHeldBack(p, req, verdict.userId);
  if (held) return held;
  succeeded(p, req, verdict.userId, { client_id: l.ia.clientId });
  return signedIn(p, req, l, verdict.userId, verdict.amr);
}

// ---- sign-in to the account area ----------------------------------------------------------------

/** GET /account/passkey/options: fresh options for the account login (JSON). */
export async function accountPasskeyOptions(p: AccountPasskeyDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const secret = req.cookies[ACCOUNT_LOGIN_COOKIE];
  if (!secret || secret.length > 128) return jsonError('Open the sign-in page first.');
  return json(passkeyLoginOptions(p, 'account', secret));
}

/** POST /account/passkey: sign in to the account area with a passkey. */
export async function accountPasskey(p: AccountPasskeyDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const secret = req.cookies[ACCOUNT_LOGIN_COOKIE];
  const f = form(req);
  if (!f || !secret || !checkCsrf(p, 'account-login', secret, f.csrf)) return forbidden;
  const verdict = await verifyPasskeyLogin(p, f.response ?? '', 'account', secret);
  if (!verdict.ok) {
    failed(p, req, verdict.reason, verdict.userId);
    return passkeyFailed(await accountLoginView(p, secret, FAILED));
  }
  const held = await unverifiedHeldBack(p, req, verdict.userId);
  if (held) return held;
  succeeded(p, req, verdict.userId, { page: 'account' });
  const { cookies } = await startSession(p, req, verdict.userId, verdict.amr);
  return { kind: 'redirect', location: `${p.config.issuer}/account`, cookies };
}

// ---- registration in the account area -----------------------------------------------------------

/** Where the user may go on to after adding a passkey: a sign-in in progress, in exactly this shape. */
const CONTINUE = /^\/interaction\/[A-Za-z0-9_-]{1,64}$/;
const continueOf = (value: string | undefined) => (value && CONTINUE.test(value) ? value : undefined);

/**
 * The signed-in user of this browser, having signed in within TESSERA_RECENT_AUTH; else where to
 * go: the account login (no session), or signing in again there (too long ago).
 */
async function recentSession(
  p: PasskeysPageDeps,
  req: ProtocolRequest,
): Promise<{ redirect: OAuthResponse } | { session: SessionRecord; user: UserRecord; binding: string }> {
  const session = await loadSession(p, req);
  const user = session && (await p.stores.users.get(session.userId));
  if (!session || !user) return { redirect: { kind: 'redirect', location: `${p.config.issuer}/account` } };
  // Signed in, but not lately: the account area's re-authentication, then back here (with the
  // sign-in in progress, if one sent the user).
  if (session.authTime + p.config.recentAuth < p.now()) {
    const cont = continueOf(req.params.get('continue') ?? undefined);
    return { redirect: toReauth(p, `/account/security/passkeys${cont ? `?continue=${cont}` : ''}`) };
  }
  return { session, user, binding: req.cookies[SESSION_COOKIE]! };
}

const PURPOSE = 'account-passkeys';

async function passkeysView(
  p: PasskeysPageDeps,
  user: { id: string; username: string; name?: string | null; locale?: string | null },
  binding: string,
  opts: { continueTo?: string; error?: Msg; added?: string; status?: number } = {},
): Promise<OAuthResponse> {
  const factors = (await p.stores.factors.listByUser(user.id)).filter((f) => f.kind === 'passkey');
  const options = await passkeyRegistrationOptions(p, user, binding);
  return {
    kind: 'page',
    status: opts.status ?? 200,
    ...(user.locale ? { language: { userLocale: user.locale } } : {}),
    view: {
      name: 'passkeys',
      action: `${p.config.issuer}/account/security/passkeys`,
      csrf: csrfToken(p, PURPOSE, binding),
      username: user.username,
      options: JSON.stringify(options),
      assets: `${p.config.issuer}/assets`,
      passkeys: factors.map((f) => ({
        name: f.name,
        createdAt: f.createdAt,
        lastUsedAt: f.lastUsedAt,
        synced: f.backupEligible,
      })),
      accountUrl: `${p.config.issuer}/account`,
      ...(opts.continueTo
        ? { continueTo: { path: opts.continueTo, url: `${p.config.issuer}${opts.continueTo}` } }
        : {}),
      ...(opts.error ? { error: opts.error } : {}),
      ...(opts.added ? { added: opts.added } : {}),
    },
  };
}

/** GET /account/security/passkeys/options: registration options for the signed-in user (JSON). */
export async function passkeyRegistrationOptionsEndpoint(
  p: PasskeysPageDeps,
  req: ProtocolRequest,
): Promise<OAuthResponse> {
  const s = await recentSession(p, req);
  if ('redirect' in s) return jsonError('Sign in again first.');
  return json(await passkeyRegistrationOptions(p, s.user, s.binding));
}

/** GET and POST /account/security/passkeys: the page, and a new passkey's registration. */
export async function passkeysPage(p: PasskeysPageDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const s = await recentSession(p, req);
  if ('redirect' in s) return s.redirect;
  if (req.method === 'GET') {
    const cont = req.params.getAll('continue');
    return passkeysView(p, s.user, s.binding, cont.length === 1 && continueOf(cont[0]) ? { continueTo: cont[0] } : {});
  }
  const f = form(req);
  if (!f || !checkCsrf(p, PURPOSE, s.binding, f.csrf)) return forbidden;
  const continueTo = continueOf(f.continue);
  if (f.continue !== undefined && !continueTo) return page('interaction.problem.notSignIn', 400);
  if (!f.response)
    return passkeysView(p, s.user, s.binding, {
      ...(continueTo ? { continueTo } : {}),
      error: msg('interaction.error.passkeyNotCreated'),
      status: 400,
    });
  const result = await registerPasskey(p, s.user.id, f.response, s.binding, f.name);
  if (!result.ok) {
    p.log.info({ event: 'passkey_registration_failed', sub: s.user.id, reason: result.reason }, 'passkey refused');
    const error = msg(
      result.reason === 'exists' ? 'interaction.error.passkeyExists' : 'interaction.error.passkeyNotAdded',
    );
    return passkeysView(p, s.user, s.binding, { ...(continueTo ? { continueTo } : {}), error, status: 400 });
  }
  const factor = result.factor;
  p.events({ type: 'factor_added', userId: s.user.id, kind: 'passkey', factorId: factor.id });
  if (!continueTo) {
    return passkeysView(p, s.user, s.binding, { added: factor.name });
  }
  // Back to the sign-in that sent the user here: a new session that says a passkey was used, and
  // the sign-in's interaction pointed at it (startSession ends the old one).
  const amr = [...new Set([...s.session.amr, ...passkeyAmr(factor)])];
  const { session, cookies } = await startSession(p, req, s.user.id, amr, s.session.upstream);
  const uid = continueTo.slice('/interaction/'.length);
  const l = await load(p, req, uid);
  if (!('kind' in l) && l.ia.loginAt !== null && l.ia.sessionIdHash === s.session.idHash)
    await p.stores.interactions.setLogin(uid, session.idHash, session.authTime);
  return { kind: 'redirect', location: `${p.config.issuer}${continueTo}`, cookies };
}
