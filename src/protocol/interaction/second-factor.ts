// The second factor of a sign-in (issue 16): /interaction/:uid/mfa during an authorization request,
// /account/mfa for the account area. A sign-in whose password was right waits in the sign-in store
// (mfa-policy.ts beginSecondFactor) until a code from an authenticator app, a recovery code or a
// passkey (the passkey endpoints call completeSecondFactor) completes it; only then does a session
// start, with the combined amr. A signed-in user asked for more (acr_values, a stricter client) gets
// the same page (step-up). Wrong codes are counted per account in the shared counters
// (TESSERA_FACTOR_MAX_FAILURES, then a doubling wait); a TOTP code is taken once on every instance.
import { msg, type Msg } from '../../i18n/catalog.ts';
import { waitMsg } from './problem.ts';
import { useRecoveryCode } from '../../accounts/recovery-codes.ts';
import { safeReturn } from '../account/common.ts';
import { verifyUserTotp } from '../../accounts/totp.ts';
import type { PendingSignInRecord } from '../../ports/sign-ins.ts';
import type { SessionRecord } from '../../ports/sessions.ts';
import type { UserRecord } from '../../ports/users.ts';
import { acrFor } from '../claims-request.ts';
import { needsConsent } from '../endpoints/authorize.ts';
import { OAuthError } from '../errors.ts';
import { randomToken, tokenHash } from '../hash.ts';
import { readFormParams } from '../params.ts';
import { passkeySecondFactorBlock, verifyPasskeyForUser } from '../passkeys.ts';
import type {
  CookieSpec,
  DepsOf,
  OAuthResponse,
  PasskeyLogin,
  Provider,
  ProtocolRequest,
  StoreDeps,
} from '../provider.ts';
import { authorizationError, languageOf } from './authorization-response.ts';
import {
  action,
  EXPIRED,
  finish,
  formActions,
  load,
  page,
  unverified,
  type InteractionDeps,
  type Loaded,
} from './interaction.ts';
import { claimFactorAttempt, factorPassed, loginPageAnswer, type FactorAttemptDeps } from './login-throttle.ts';
import {
  askOf,
  beginSecondFactor,
  capabilityOf,
  combineAmr,
  type Capability,
  REMEMBER_COOKIE,
  requirementFor,
  SIGN_IN_COOKIE,
  type Requirement,
} from './mfa-policy.ts';
import { checkCsrf, csrfToken, startSession } from './session.ts';

/**
 * What the second-factor pages and completeSecondFactor use: the interaction's, the factors, the
 * recovery codes, the replay store (a TOTP code once), the counters (attempt limits), the sign-in
 * store and the log.
 */
export type SecondFactorDeps = InteractionDeps &
  Pick<Provider, 'log'> &
  StoreDeps<'factors' | 'replay' | 'signIns' | 'counters' | 'users'> &
  FactorAttemptDeps &
  DepsOf<typeof passkeySecondFactorBlock> &
  DepsOf<typeof verifyPasskeyForUser>;

const PARAMS = new Set(['csrf', 'code', 'method', 'remember', 'decision', 'response']);
const LIMITS = { csrf: 128, code: 64, method: 16, remember: 8, decision: 16, response: 16_384 };
const readForm = (req: ProtocolRequest) => readFormParams(req.params, PARAMS, LIMITS);

const FORM_EXPIRED = page('interaction.problem.formExpiredRetry', 403);
const SIGN_IN_EXPIRED = page('interaction.problem.signInExpired');
const clearSignInCookie: CookieSpec = { name: SIGN_IN_COOKIE, value: '', maxAge: 0, path: '/' };

type Method = 'totp' | 'recovery';
/** What was presented: a code (an app's, or a recovery code), or a passkey's assertion (its JSON). */
type Presented = { method: Method; code: string } | { method: 'passkey'; response: string; binding: string };

/**
 * Where a re-authentication of the account area (account/reauth.ts) continues once its second factor
 * is passed: `account:<path>`, the page that asked for it (validated again by safeReturn).
 */
export const reauthContinue = (returnTo: string) => `account:${returnTo}`;
/** A pending sign-in of the account area: its login (`account`), or a re-authentication (`account:<path>`). */
const isAccountSignIn = (continueTo: string) => continueTo === 'account' || continueTo.startsWith('account:');

/**
 * The pending sign-in of this browser (its sign-in cookie) if it is live and continues at
 * `continueTo` (`ia:<uid>` or `account`, or any that the function accepts). The passkey endpoints call
 * it before completeSecondFactor.
 */
export async function loadPendingSignIn(
  p: Pick<Provider, 'now'> & StoreDeps<'signIns'>,
  req: ProtocolRequest,
  continueTo: string | ((continueTo: string) => boolean),
): Promise<PendingSignInRecord | undefined> {
  const value = req.cookies[SIGN_IN_COOKIE];
  if (!value || value.length > 128) return undefined;
  const pending = await p.stores.signIns.getPending(tokenHash(value), p.now());
  if (!pending) return undefined;
  const ok = typeof continueTo === 'string' ? pending.continueTo === continueTo : continueTo(pending.continueTo);
  return ok ? pending : undefined;
}

/** Where a user enrols the factor a policy needs (the account area's page), and the sign-in it continues. */
const enrolPage = (p: Pick<Provider, 'config'>, uid: string, factor: 'totp' | 'passkey') => ({
  action: `${p.config.issuer}/account/security/${factor === 'passkey' ? 'passkeys' : 'totp'}`,
  continueTo: `/interaction/${uid}`,
});
/** The enrolment page's address for this sign-in: `?continue=/interaction/<uid>`. */
export const enrolUrl = (p: Pick<Provider, 'config'>, uid: string, factor: 'totp' | 'passkey') => {
  const e = enrolPage(p, uid, factor);
  return `${e.action}?continue=${e.continueTo}`;
};

/**
 * Checks a code against the user's factors, throttled per account (shared counters): the method's
 * amr, or the error to show. A TOTP code's step is claimed once (a replay is refused and counted).
 */
async function checkCode(
  p: SecondFactorDeps,
  req: ProtocolRequest,
  userId: string,
  presented: Presented,
  clientId: string | undefined,
): Promise<{ amr: string[] } | { error: Msg; retryAfter?: number }> {
  const method = presented.method;
  // Counted before the check (login-throttle.ts claimFactorAttempt), shared with every page that checks a factor.
  const retryAfter = await claimFactorAttempt(p, userId);
  if (retryAfter > 0) {
    p.events({ type: 'second_factor_throttled', userId, clientId, ip: req.ip });
    p.log.warn(
      { event: 'second_factor_throttled', sub: userId, ip: req.ip, retry_after: retryAfter },
      'second factor throttled',
    );
    return {
      error: waitMsg('interaction.error.tooManyCodes', retryAfter),
      retryAfter,
    };
  }
  const now = p.now();
  let reason: string | undefined;
  let amr = ['otp'];
  if (presented.method === 'passkey') {
    // The passkey must be this user's, answering the challenge made for this browser (protocol/passkeys.ts).
    const v = await verifyPasskeyForUser(p, userId, presented.response, presented.binding);
    if (v.ok) amr = v.amr;
    else reason = v.reason;
  } else if (presented.method === 'recovery') {
    if (!(await useRecoveryCode(p.stores, p.config, userId, presented.code, now))) reason = 'invalid';
  } else {
    const { verdict } = await verifyUserTotp(p.stores, p.config, userId, presented.code, now);
    if (verdict !== 'ok') reason = verdict;
  }
  if (reason) {
    p.events({ type: 'second_factor_failed', userId, kind: method, reason, clientId, ip: req.ip });
    p.log.info(
      { event: 'second_factor_failed', sub: userId, kind: method, reason, ip: req.ip },
      'second factor failed',
    );
    return {
      error: msg(
        method === 'passkey'
          ? 'interaction.error.passkeyNotVerified'
          : reason === 'replayed'
            ? 'interaction.error.codeReplayed'
            : method === 'recovery'
              ? 'interaction.error.recoveryInvalid'
              : 'interaction.error.totpInvalid',
      ),
    };
  }
  await factorPassed(p, userId);
  return { amr };
}

/**
 * The passkey form of the challenge page (protocol/passkeys.ts passkeySecondFactorBlock: the user's
 * passkeys, a challenge bound to this browser's `binding`), posted to the page's own `action`, when
 * the user has a passkey that can reach `level` (3: a hardware-bound one).
 */
async function passkeyOffer(
  p: SecondFactorDeps,
  action: string,
  userId: string,
  binding: string,
  cap: Capability,
  level: number,
): Promise<PasskeyLogin | undefined> {
  if (!cap.passkey || (level >= 3 && !cap.hardwarePasskey)) return undefined;
  return passkeySecondFactorBlock(p, action, userId, binding);
}

/** The challenge page's answer for a user, at a level (1: any factor; 2 and above: a passkey only). */
async function challenge(
  p: SecondFactorDeps,
  user: UserRecord,
  level: number,
  o: {
    action: string;
    csrf: string;
    clientName: string;
    /** The account area's sign-in (not a client's). */
    accountArea?: boolean;
    /** The browser secret the passkey challenge is bound to (the CSRF token's). */
    binding: string;
    method: Method;
    rememberable: boolean;
    error?: Msg;
    retryAfter?: number;
    cookies?: CookieSpec[];
    formActions?: string[];
    loaded?: Loaded;
  },
): Promise<OAuthResponse> {
  const cap = capabilityOf(await p.stores.factors.listByUser(user.id));
  const totp = level <= 1 && cap.totp;
  const recovery = level <= 1 && (await p.stores.factors.countRecoveryCodes(user.id)) > 0;
  const method = o.method === 'recovery' && recovery ? 'recovery' : totp ? 'totp' : recovery ? 'recovery' : 'none';
  const passkey = await passkeyOffer(p, o.action, user.id, o.binding, cap, level);
  return {
    kind: 'page',
    ...loginPageAnswer(o.error, o.retryAfter),
    language: languageOf(o.loaded?.areq ?? {}, user),
    ...(o.cookies ? { cookies: o.cookies } : {}),
    ...(o.formActions ? { formActions: o.formActions } : {}),
    view: {
      name: 'second-factor',
      action: o.action,
      csrf: o.csrf,
      clientName: o.clientName,
      ...(o.accountArea ? { accountArea: true } : {}),
      username: user.username,
      method,
      totp,
      recovery,
      remember: o.rememberable && p.config.mfaRememberDevice > 0 && level <= 1,
      ...(o.error ? { error: o.error } : {}),
      ...(passkey ? { passkey } : {}),
      ...(o.loaded ? unverified(o.loaded) : {}),
    },
  };
}

const levelOf = (r: Requirement) => (r.kind === 'factor' ? r.level : 1);

/** The interaction's session once signed in: needs consent → the consent page, else the code (finish). */
async function proceed(
  p: SecondFactorDeps,
  req: ProtocolRequest,
  l: Loaded,
  session: Pick<SessionRecord, 'idHash' | 'authTime' | 'userId'>,
  cookies: CookieSpec[],
): Promise<OAuthResponse> {
  const next: Loaded = { ...l, ia: { ...l.ia, sessionIdHash: session.idHash, loginAt: session.authTime } };
  const client = await p.stores.clients.get(l.ia.clientId);
  if (client && (await needsConsent(p, client, session.userId, l.areq)))
    return { kind: 'redirect', location: `${p.config.issuer}/interaction/${l.ia.uid}`, cookies };
  return finish(p, req, next, cookies);
}

/**
 * Completes a pending sign-in whose second factor was just passed, with that factor's amr (`['otp']` for an app or a
 * recovery code; `[kwk, 'user', 'mfa']` for a passkey, kwk hwk or swk). The caller has loaded `pending` for this
 * browser (loadPendingSignIn) and checked the factor belongs to pending.userId (an empty amr: nothing more was due).
 * The pending sign-in is used once (a second call gets the expired page); the session starts with the combined amr, and
 * the sign-in goes on as a password login does (the consent page, or the code; the account page, or for a
 * re-authentication the page that asked for it). `remember`: remember this browser (TESSERA_MFA_REMEMBER_DEVICE).
 */
export async function completeSecondFactor(
  p: SecondFactorDeps,
  req: ProtocolRequest,
  pending: PendingSignInRecord,
  amr: readonly string[],
  opts: { kind?: 'totp' | 'recovery' | 'passkey'; remember?: boolean } = {},
): Promise<OAuthResponse> {
  const now = p.now();
  // The interaction first (live, this browser's): when it is not, the sign-in is left as it is.
  const uid = pending.continueTo.startsWith('ia:') ? pending.continueTo.slice(3) : undefined;
  const l = uid !== undefined ? await load(p, req, uid) : undefined;
  if (l && 'kind' in l) return l;
  const taken = await p.stores.signIns.consumePending(pending.idHash, now);
  if (!taken || taken.continueTo !== pending.continueTo)
    return { ...SIGN_IN_EXPIRED, cookies: [clearSignInCookie] } as OAuthResponse;
  const clientId = l?.ia.clientId;
  const combined = combineAmr(taken.amr, amr);
  // An upstream sign-in's session records the identity it came through (its back-channel logout).
  const started = await startSession(p, req, taken.userId, combined, taken.upstream);
  const { session } = started;
  const cookies: CookieSpec[] = [...started.cookies, clearSignInCookie];
  if (opts.remember && p.config.mfaRememberDevice > 0) {
    const value = randomToken(32);
    await p.stores.signIns.rememberDevice({
      idHash: tokenHash(value),
      userId: taken.userId,
      createdAt: now,
      expiresAt: now + p.config.mfaRememberDevice,
    });
    cookies.push({ name: REMEMBER_COOKIE, value, maxAge: p.config.mfaRememberDevice, path: '/' });
  }
  const kind = opts.kind ?? (amr.includes('hwk') || amr.includes('swk') ? 'passkey' : 'totp');
  if (amr.length) {
    p.events({ type: 'second_factor_succeeded', userId: taken.userId, kind, clientId, ip: req.ip });
    p.log.info({ event: 'second_factor_succeeded', sub: taken.userId, kind, ip: req.ip }, 'second factor passed');
    if (taken.stepUp) p.events({ type: 'step_up', userId: taken.userId, clientId, acr: acrFor(combined), ip: req.ip });
  }
  if (!l) {
    const back = taken.continueTo.startsWith('account:') ? safeReturn(taken.continueTo.slice(8)) : '/account';
    return { kind: 'redirect', location: `${p.config.issuer}${back}`, cookies };
  }
  await p.stores.interactions.setLogin(l.ia.uid, session.idHash, session.authTime);
  return proceed(p, req, l, session, cookies);
}

const methodOf = (v: string | null | undefined): Method => (v === 'recovery' ? 'recovery' : 'totp');
const iaPurpose = (uid: string) => `ia:${uid}:mfa`;

/** GET /interaction/:uid/mfa: the challenge of a pending sign-in, a step-up of the signed-in user, or enrolment. */
export async function showSecondFactor(p: SecondFactorDeps, req: ProtocolRequest, uid: string): Promise<OAuthResponse> {
  const l = await load(p, req, uid);
  if ('kind' in l) return l;
  const method = methodOf(req.params.get('method'));
  const client = await p.stores.clients.get(l.ia.clientId);
  const base = {
    action: action(p, uid, 'mfa'),
    csrf: csrfToken(p, iaPurpose(uid), l.browserSecret),
    clientName: l.clientName,
    binding: l.browserSecret,
    method,
    formActions: formActions(l.areq),
    loaded: l,
  };
  const pending = await loadPendingSignIn(p, req, `ia:${uid}`);
  if (pending) {
    const user = await p.stores.users.get(pending.userId);
    if (!user || user.disabled) return EXPIRED;
    const r = await requirementFor(p, req, user, pending.amr, client, askOf(l.areq));
    // Nothing (more) to pass since the password (a factor removed meanwhile): the sign-in goes on,
    // and the gate of finish decides from the session (enrolment, or an acr that cannot be met).
    if (r.kind !== 'factor') return completeSecondFactor(p, req, pending, []);
    return challenge(p, user, r.level, { ...base, rememberable: !askOf(l.areq) });
  }
  if (l.ia.loginAt === null || !l.ia.sessionIdHash)
    return { kind: 'redirect', location: `${p.config.issuer}/interaction/${uid}` };
  const session = await p.stores.sessions.get(l.ia.sessionIdHash);
  const user = session ? await p.stores.users.get(session.userId) : undefined;
  if (!session || !user || user.disabled) return EXPIRED;
  const r = await requirementFor(p, req, user, session.amr, client, askOf(l.areq));
  if (r.kind === 'met') return proceed(p, req, l, session, []);
  if (r.kind === 'unmet') {
    if (!(await p.stores.interactions.consume(uid))) return EXPIRED;
    return authorizationError(
      p,
      l.areq,
      new OAuthError(
        'unmet_authentication_requirements',
        'The authentication context class asked for as essential cannot be met for this user.',
      ),
    );
  }
  if (r.kind === 'enrol') {
    const now = p.now();
    let until = user.mfaEnrolBy ?? undefined;
    // The grace period starts at the first sign-in that asks this user to enrol.
    if (r.skippable && until == null) {
      until = now + p.config.mfaEnrolGrace;
      await p.stores.users.put({ ...user, mfaEnrolBy: until, updatedAt: now });
    }
    const url = enrolUrl(p, uid, r.factor);
    if (!r.skippable || until === undefined) return { kind: 'redirect', location: url };
    return {
      kind: 'page',
      status: 200,
      language: languageOf(l.areq, user),
      formActions: formActions(l.areq),
      view: {
        name: 'mfa-enrol',
        clientName: l.clientName,
        username: user.username,
        factor: r.factor,
        enrol: enrolPage(p, uid, r.factor),
        skip: { action: base.action, csrf: base.csrf, until },
      },
    };
  }
  // Step-up: the signed-in user passes a (further) factor; the session is replaced when it is passed.
  // A session signed in through an upstream stays linked to it (its back-channel logout) after the step-up.
  const begun = await beginSecondFactor(p, user.id, session.amr, `ia:${uid}`, true, session.upstream);
  return challenge(p, user, r.level, { ...base, rememberable: false, cookies: [begun.cookie] });
}

/** POST /interaction/:uid/mfa: a code (app or recovery), or "skip for now" of the enrolment prompt. */
export async function submitSecondFactor(
  p: SecondFactorDeps,
  req: ProtocolRequest,
  uid: string,
): Promise<OAuthResponse> {
  const l = await load(p, req, uid);
  if ('kind' in l) return l;
  const form = readForm(req);
  if (!form || !checkCsrf(p, iaPurpose(uid), l.browserSecret, form.csrf)) return FORM_EXPIRED;
  const here = action(p, uid, 'mfa');
  const client = await p.stores.clients.get(l.ia.clientId);
  if (form.decision === 'skip') {
    const session = l.ia.sessionIdHash ? await p.stores.sessions.get(l.ia.sessionIdHash) : undefined;
    const user = session ? await p.stores.users.get(session.userId) : undefined;
    if (!session || !user) return { kind: 'redirect', location: `${p.config.issuer}/interaction/${uid}` };
    const r = await requirementFor(p, req, user, session.amr, client, askOf(l.areq));
    // Only within the grace period, once it has started (the enrolment page started it).
    if (r.kind === 'enrol' && r.skippable && r.prompted) return proceed(p, req, l, session, []);
    return { kind: 'redirect', location: here };
  }
  const pending = await loadPendingSignIn(p, req, `ia:${uid}`);
  if (!pending) return { kind: 'redirect', location: here };
  const user = await p.stores.users.get(pending.userId);
  if (!user || user.disabled) return EXPIRED;
  const method = methodOf(form.method);
  const presented: Presented =
    form.response !== undefined
      ? { method: 'passkey', response: form.response, binding: l.browserSecret }
      : { method, code: form.code ?? '' };
  const result = await checkCode(p, req, user.id, presented, l.ia.clientId);
  if ('error' in result) {
    const r = await requirementFor(p, req, user, pending.amr, client, askOf(l.areq));
    return challenge(p, user, levelOf(r), {
      action: here,
      csrf: csrfToken(p, iaPurpose(uid), l.browserSecret),
      clientName: l.clientName,
      binding: l.browserSecret,
      method,
      rememberable: !pending.stepUp && !askOf(l.areq),
      error: result.error,
      retryAfter: result.retryAfter,
      formActions: formActions(l.areq),
      loaded: l,
    });
  }
  return completeSecondFactor(p, req, pending, result.amr, {
    kind: presented.method,
    remember: form.remember === 'on' && !pending.stepUp && !askOf(l.areq),
  });
}

/** /interaction/:uid/mfa */
export const secondFactor = (p: SecondFactorDeps, req: ProtocolRequest, uid: string) =>
  req.method === 'GET' ? showSecondFactor(p, req, uid) : submitSecondFactor(p, req, uid);

/**
 * /account/mfa: the second factor of the account login (account.ts accountLogin) and of the account
 * area's re-authentication (account/reauth.ts, which goes back to its page after). The form is bound
 * to the pending sign-in's own cookie. A re-authentication does not offer to remember the browser:
 * it is asked for because a remembered browser is not enough.
 */
export async function accountSecondFactor(p: SecondFactorDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const pending = await loadPendingSignIn(p, req, isAccountSignIn);
  if (!pending) return { kind: 'redirect', location: `${p.config.issuer}/account` };
  const secret = req.cookies[SIGN_IN_COOKIE]!;
  const user = await p.stores.users.get(pending.userId);
  if (!user || user.disabled) return SIGN_IN_EXPIRED;
  const here = `${p.config.issuer}/account/mfa`;
  const rememberable = pending.continueTo === 'account';
  const view = (method: Method, error?: Msg, retryAfter?: number) =>
    challenge(p, user, 1, {
      action: here,
      csrf: csrfToken(p, 'account-mfa', secret),
      clientName: 'your Tessera account',
      accountArea: true,
      binding: secret,
      method,
      rememberable,
      error,
      retryAfter,
    });
  if (req.method === 'GET') return view(methodOf(req.params.get('method')));
  const form = readForm(req);
  if (!form || !checkCsrf(p, 'account-mfa', secret, form.csrf)) return FORM_EXPIRED;
  const method = methodOf(form.method);
  const presented: Presented =
    form.response !== undefined
      ? { method: 'passkey', response: form.response, binding: secret }
      : { method, code: form.code ?? '' };
  const result = await checkCode(p, req, user.id, presented, undefined);
  if ('error' in result) return view(method, result.error, result.retryAfter);
  return completeSecondFactor(p, req, pending, result.amr, {
    kind: presented.method,
    remember: rememberable && form.remember === 'on',
  });
}
