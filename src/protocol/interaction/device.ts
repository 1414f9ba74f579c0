import { INTERACTION_COOKIE, startInteraction } from '../endpoints/authorize.ts';
import { formatUserCode, normalizeUserCode, userCodeHash } from '../device/user-code.ts';
import { randomToken } from '../hash.ts';
import { readFormParams, splitScope } from '../params.ts';
import type { CookieSpec, OAuthResponse, PageLanguage, Provider, ProtocolRequest } from '../provider.ts';
import { languageOf, type AuthorizationRequest } from './authorization-response.ts';
import { msg, type Msg } from '../../i18n/catalog.ts';
import { problemPage, problemView, waitMsg } from './problem.ts';
import { checkCsrf, csrfToken, loadSession } from './session.ts';
import type { SessionRecord } from '../../ports/sessions.ts';
import { featureEnabled } from '../../config/features.ts';
import { isAdminScope, type AdminScope } from '../admin-scopes.ts';
import { personAdminScopes } from '../admin-tokens.ts';
import { OAuthError } from '../errors.ts';

import { addressKey } from '../address-key.ts';
import type { DepsOf, StoreDeps } from '../provider.ts';

// The user-code entry page of the device flow (RFC 8628 section 3.3) and the end of its
// interaction. A valid code starts the ordinary login/consent interaction, marked as a device
// approval: the consent page is always shown (with the code, for the user to compare with the
// device, section 5.4) and its outcome approves or denies the device code instead of redirecting.

/** What the entry form uses: the issuer and interaction lifetime, and the CSRF token's secret. */
export type DeviceEntryViewDeps = Pick<Provider, 'config'> & DepsOf<typeof csrfToken>;
/**
 * What /device uses of the Provider: the form's, the clock, events and log, the counters (wrong codes
 * per address), device codes and clients, and what it hands over to (the session, a new interaction).
 */
export type DeviceEntryDeps = DeviceEntryViewDeps &
  Pick<Provider, 'now' | 'events' | 'log'> &
  StoreDeps<'counters' | 'deviceCodes' | 'clients'> &
  DepsOf<typeof checkCsrf> &
  DepsOf<typeof loadSession> &
  DepsOf<typeof startInteraction>;
/** What approving or denying a device code uses: the device codes store, the clock, events. */
export type DeviceDecisionDeps = Pick<Provider, 'now' | 'events'> & StoreDeps<'deviceCodes' | 'adminRoles'>;

const DEVICE_COOKIE = 'tessera_device';
const PARAMS = new Set(['user_code', 'csrf']);
const LIMITS = { user_code: 64, csrf: 128 };
const WRONG_CODE = msg('interaction.error.deviceCode');

function entryView(
  p: DeviceEntryViewDeps,
  secret: string,
  o: { userCode?: string; error?: Msg; status?: number; retryAfter?: number } = {},
): OAuthResponse {
  return {
    kind: 'page',
    status: o.status ?? 200,
    headers: o.retryAfter ? { 'retry-after': String(o.retryAfter) } : undefined,
    view: {
      name: 'device',
      action: `${p.config.issuer}/device`,
      csrf: csrfToken(p, 'device', secret),
      userCode: o.userCode,
      error: o.error,
    },
    cookies: [{ name: DEVICE_COOKIE, value: secret, maxAge: p.config.interactionTtl, path: '/' }],
  };
}

const browserSecret = (req: ProtocolRequest) => {
  const v = req.cookies[DEVICE_COOKIE];
  return v && v.length <= 128 ? v : undefined;
};

/** GET /device: the form; ?user_code= (from verification_uri_complete) fills it in. */
export async function showDeviceEntry(p: DeviceEntryViewDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const params = readFormParams(req.params, new Set(['user_code']), { user_code: LIMITS.user_code });
  return entryView(p, browserSecret(req) ?? randomToken(32), { userCode: params?.user_code });
}

/** POST /device: checks the code (counting failures per address) and starts the login/consent interaction. */
export async function submitDeviceEntry(p: DeviceEntryDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const form = readFormParams(req.params, PARAMS, LIMITS);
  const secret = browserSecret(req);
  if (!form || !secret || !checkCsrf(p, 'device', secret, form.csrf))
    return problemPage('interaction.problem.formExpiredDevice', 403);
  const now = p.now();
  // Guessing user codes: wrong entries are counted per source address (an IPv6 address by its prefix), in storage every
  // instance shares.
  const key = `device:ip:${addressKey(req.ip, p.config.rateLimitIpv6Prefix)}`;
  const failures = await p.stores.counters.get(key, now);
  if (failures && failures.count >= p.config.deviceMaxFailures) {
    const retryAfter = Math.max(1, failures.expiresAt - now);
    p.events({ type: 'device_user_code_throttled', ip: req.ip });
    p.log.warn(
      { event: 'device_user_code_throttled', ip: req.ip, retry_after: retryAfter },
      'user-code entry throttled',
    );
    return entryView(p, secret, {
      userCode: form.user_code,
      error: waitMsg('interaction.error.tooManyCodes', retryAfter),
      status: 429,
      retryAfter,
    });
  }
  const code = normalizeUserCode(form.user_code ?? '');
  // A user code issued under the previous TESSERA_SECRET (during a rotation) is found by that hash.
  const previous = p.config.secretPrevious;
  const record = code
    ? ((await p.stores.deviceCodes.findPendingByUserCode(userCodeHash(p.config.secret, code), now)) ??
      (previous !== undefined
        ? await p.stores.deviceCodes.findPendingByUserCode(userCodeHash(previous, code), now)
        : undefined))
    : undefined;
  const client = record ? await p.stores.clients.get(record.clientId) : undefined;
  if (!code || !record || !client || client.disabled) {
    await p.stores.counters.hit(key, now, p.config.deviceFailureWindow);
    p.events({ type: 'device_user_code_failed', ip: req.ip });
    p.log.info({ event: 'device_user_code_failed', ip: req.ip }, 'wrong user code entered');
    return entryView(p, secret, { userCode: form.user_code, error: WRONG_CODE, status: 400 });
  }
  const areq: AuthorizationRequest = {
    clientId: client.clientId,
    redirectUri: '',
    redirectUriSent: false,
    responseMode: 'query',
    scope: record.scope,
    codeChallenge: '',
    resource: record.resource ?? undefined,
    prompt: ['consent'],
    device: { codeHash: record.deviceCodeHash, userCode: formatUserCode(code) },
  };
  return startInteraction(p, client, areq, await loadSession(p, req), req.cookies[INTERACTION_COOKIE]);
}

/** GET or POST /device. */
export const deviceEntry = async (p: DeviceEntryDeps, req: ProtocolRequest): Promise<OAuthResponse> => {
  if (!featureEnabled(p.config, 'device_flow')) return problemPage('interaction.problem.deviceUnavailable', 404);
  return req.method === 'POST' ? submitDeviceEntry(p, req) : showDeviceEntry(p, req);
};

// In the language of the consent page before it (the request's ui_locales).
const done = (approved: boolean, clientName: string, cookies: CookieSpec[], language: PageLanguage): OAuthResponse => ({
  kind: 'page',
  status: 200,
  view: { name: 'device-done', approved, clientName },
  cookies,
  language,
});
const expired = (cookies: CookieSpec[]): OAuthResponse => ({
  kind: 'page',
  status: 400,
  view: problemView('interaction.problem.codeExpired'),
  cookies,
});

/** The user allowed it: the device code becomes approved (once), and the device's next poll gets tokens. */
export async function approveDevice(
  p: DeviceDecisionDeps,
  req: ProtocolRequest,
  areq: AuthorizationRequest,
  session: SessionRecord,
  clientName: string,
  cookies: CookieSpec[],
): Promise<OAuthResponse> {
  // Admin scopes (the CLI's remote mode): a person whose role holds none of them, or who has not passed
  // a second factor, is told so here and the device code is denied, rather than the CLI learning it
  // only at its next poll (the token endpoint checks again when it issues: admin-tokens.ts).
  const admin = splitScope(areq.scope).filter(isAdminScope);
  if (admin.length > 0) {
    try {
      await personAdminScopes(p, session.userId, session.amr, admin as AdminScope[]);
    } catch (err) {
      if (!(err instanceof OAuthError)) throw err;
      await p.stores.deviceCodes.deny(areq.device!.codeHash, p.now());
      p.events({ type: 'device_authorization_denied', userId: session.userId, clientId: areq.clientId, ip: req.ip });
      return {
        kind: 'page',
        status: 403,
        view: problemView('interaction.problem.noAdminAccess'),
        cookies,
      };
    }
  }
  const approval = { userId: session.userId, sid: session.sid, authTime: session.authTime, amr: session.amr };
  if (!(await p.stores.deviceCodes.approve(areq.device!.codeHash, approval, p.now()))) return expired(cookies);
  p.events({
    type: 'device_authorization_approved',
    userId: session.userId,
    clientId: areq.clientId,
    scope: areq.scope,
    ip: req.ip,
  });
  return done(true, clientName, cookies, languageOf(areq));
}

/** The user denied it: the device's next poll gets access_denied. */
export async function denyDevice(
  p: DeviceDecisionDeps,
  req: ProtocolRequest,
  areq: AuthorizationRequest,
  userId: string,
  clientName: string,
  cookies: CookieSpec[],
): Promise<OAuthResponse> {
  if (!(await p.stores.deviceCodes.deny(areq.device!.codeHash, p.now()))) return expired(cookies);
  p.events({ type: 'device_authorization_denied', userId, clientId: areq.clientId, ip: req.ip });
  return done(false, clientName, cookies, languageOf(areq));
}
