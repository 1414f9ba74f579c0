// The route table: every protocol endpoint, its path, methods, how its errors are shown, its body
// and CORS rules and its rate-limit policy. server.ts mounts each entry on Fastify (and the JSON
// form endpoints on the form lane, form-lane.ts); every request to one runs pipeline.ts.
import { authorize } from '../protocol/endpoints/authorize.ts';
import { deviceAuthorization } from '../protocol/endpoints/device-authorization.ts';
import { introspect } from '../protocol/endpoints/introspect.ts';
import { logout } from '../protocol/endpoints/logout.ts';
import { par } from '../protocol/endpoints/par.ts';
import { manageRegistration, register } from '../protocol/endpoints/register.ts';
import { revoke } from '../protocol/endpoints/revoke.ts';
import { token } from '../protocol/endpoints/token.ts';
import { userinfo } from '../protocol/endpoints/userinfo.ts';
import { accountLogin } from '../protocol/interaction/account.ts';
import { showActivity } from '../protocol/account/activity.ts';
import { exportData, showData } from '../protocol/account/data.ts';
import { showDelete, submitDelete } from '../protocol/account/delete.ts';
import { accountLogout, revokeConsent, showAccount } from '../protocol/account/overview.ts';
import { changePassword, showPassword } from '../protocol/account/password.ts';
import { saveProfile, showProfile } from '../protocol/account/profile.ts';
import { showReauth, submitReauth } from '../protocol/account/reauth.ts';
import {
  regenerateCodes,
  removeFactor,
  renameFactor,
  showRecoveryCodes,
  showSecurity,
  showTotp,
  submitTotp,
} from '../protocol/account/security.ts';
import { endOneSession, endOthers, showSessions } from '../protocol/account/sessions.ts';
import { linkUpstream, reauthUpstream, showLinked, unlinkUpstream } from '../protocol/upstream/account.ts';
import { upstreamBackchannelLogout } from '../protocol/upstream/backchannel.ts';
import { deviceEntry } from '../protocol/interaction/device.ts';
import { showSignup, submitSignup } from '../protocol/interaction/signup.ts';
import { resendVerification, showVerifyEmail, submitVerifyEmail } from '../protocol/interaction/email.ts';
import { showForgot, showReset, submitForgot, submitReset } from '../protocol/interaction/recovery.ts';
import { selectAccount, showInteraction, submitConsent, submitLogin } from '../protocol/interaction/interaction.ts';
import { accountSecondFactor, secondFactor } from '../protocol/interaction/second-factor.ts';
import {
  accountPasskey,
  accountPasskeyOptions,
  interactionPasskey,
  interactionPasskeyOptions,
  passkeyRegistrationOptionsEndpoint,
  passkeysPage,
} from '../protocol/interaction/passkeys.ts';
import { upstreamCallback } from '../protocol/upstream/callback.ts';
import { accountUpstream, interactionUpstream } from '../protocol/upstream/signin.ts';
import type { OAuthResponse, Provider, ProtocolRequest } from '../protocol/provider.ts';
import type { RateLimitPolicy } from '../config/rate-limits.ts';
import type { CorsMode } from './cors.ts';

/** How a route's errors are shown: OAuth JSON, Bearer challenges, or an HTML page. */
export type Kind = 'json' | 'bearer' | 'page';

/** `uid`: the route's :uid (or :client_id) path parameter; `provider`: its :provider (upstream sign-in, issue 17). */
export type Handler = (p: Provider, req: ProtocolRequest, uid: string, provider?: string) => Promise<OAuthResponse>;

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteSpec {
  path: string;
  methods: Method[];
  kind: Kind;
  handler: Handler;
  /** Browser clients may call it cross-origin, from the origins of this mode (cors.ts). */
  cors?: CorsMode;
  /** With TESSERA_CORS_ANY_ORIGIN on, any origin may call it (`*`, never with credentials). */
  corsAnyOrigin?: true;
  /** POST bodies must be forms. */
  form: boolean;
  /** POST and PUT bodies must be JSON (application/json), parsed into ProtocolRequest.json. */
  json?: true;
  /** The route exists only when this holds for the configuration (else 404). */
  enabled?: (config: Provider['config']) => boolean;
  /** The rate-limit policy counting this route's requests (config/rate-limits.ts). */
  rateLimit?: RateLimitPolicy;
}

/** Self-registration (TESSERA_SELF_REGISTRATION): the form, and its submission. */
const signup: Handler = (p, req, uid) => (req.method === 'GET' ? showSignup(p, req, uid) : submitSignup(p, req, uid));
const registrationOn = (c: Provider['config']) => c.registration !== 'off';
/** A page of the account area: GET shows it, POST submits its form. */
const getPost =
  (show: Handler, submit: Handler): Handler =>
  (p, req, uid) =>
    req.method === 'GET' ? show(p, req, uid) : submit(p, req, uid);
const accountPage = (path: string, handler: Handler, methods: Method[] = ['GET']): RouteSpec => ({
  path,
  methods,
  kind: 'page',
  handler,
  form: true,
});
/** The mail flows: forgot and reset password, email verification (GET shows a button, POST uses the link). */
const forgot: Handler = (p, req) => (req.method === 'GET' ? showForgot(p, req) : submitForgot(p, req));
const reset: Handler = (p, req) => (req.method === 'GET' ? showReset(p, req) : submitReset(p, req));
const verifyEmail: Handler = (p, req) => (req.method === 'GET' ? showVerifyEmail(p, req) : submitVerifyEmail(p, req));
const resetOn = (c: Provider['config']) => c.passwordReset;
const verificationOn = (c: Provider['config']) => c.emailVerification !== 'off';

export const routes: readonly RouteSpec[] = [
  {
    path: '/authorize',
    methods: ['GET', 'POST'],
    kind: 'page',
    handler: authorize,
    form: true,
    rateLimit: 'authorization',
  },
  {
    path: '/token',
    methods: ['POST'],
    kind: 'json',
    handler: token,
    cors: 'clients',
    corsAnyOrigin: true,
    form: true,
    rateLimit: 'token',
  },
  // RFC 9126: a back-channel call from the client's server; no CORS.
  { path: '/par', methods: ['POST'], kind: 'json', handler: par, form: true, rateLimit: 'par' },
  { path: '/userinfo', methods: ['GET', 'POST'], kind: 'bearer', handler: userinfo, cors: 'clients', form: false },
  {
    path: '/introspect',
    methods: ['POST'],
    kind: 'json',
    handler: introspect,
    form: true,
    rateLimit: 'introspection',
  },
  {
    path: '/revoke',
    methods: ['POST'],
    kind: 'json',
    handler: revoke,
    cors: 'clients',
    corsAnyOrigin: true,
    form: true,
    rateLimit: 'revocation',
  },
  { path: '/logout', methods: ['GET', 'POST'], kind: 'page', handler: logout, form: true },
  { path: '/interaction/:uid', methods: ['GET'], kind: 'page', handler: showInteraction, form: true },
  {
    path: '/interaction/:uid/login',
    methods: ['POST'],
    kind: 'page',
    handler: submitLogin,
    form: true,
    rateLimit: 'login',
  },
  // The second factor of a sign-in (a credential check: counted with logins).
  {
    path: '/interaction/:uid/mfa',
    methods: ['GET', 'POST'],
    kind: 'page',
    handler: secondFactor,
    form: true,
    rateLimit: 'login',
  },
  { path: '/interaction/:uid/consent', methods: ['POST'], kind: 'page', handler: submitConsent, form: true },
  { path: '/interaction/:uid/select', methods: ['POST'], kind: 'page', handler: selectAccount, form: true },
  // Counted with logins: per address and per username.
  {
    path: '/interaction/:uid/signup',
    methods: ['GET', 'POST'],
    kind: 'page',
    handler: signup,
    form: true,
    rateLimit: 'login',
  },
  // Counted with logins (per address, and per username or address typed on the forgot page).
  {
    path: '/forgot-password',
    methods: ['GET', 'POST'],
    kind: 'page',
    handler: forgot,
    form: true,
    enabled: resetOn,
    rateLimit: 'login',
  },
  {
    path: '/reset-password',
    methods: ['GET', 'POST'],
    kind: 'page',
    handler: reset,
    form: true,
    enabled: resetOn,
    rateLimit: 'login',
  },
  {
    path: '/verify-email',
    methods: ['GET', 'POST'],
    kind: 'page',
    handler: verifyEmail,
    form: true,
    enabled: verificationOn,
    rateLimit: 'login',
  },
  {
    path: '/verify-email/resend',
    methods: ['POST'],
    kind: 'page',
    handler: resendVerification,
    form: true,
    enabled: verificationOn,
    rateLimit: 'login',
  },
  { path: '/account', methods: ['GET'], kind: 'page', handler: showAccount, form: true },
  { path: '/account/login', methods: ['POST'], kind: 'page', handler: accountLogin, form: true, rateLimit: 'login' },
  {
    path: '/account/mfa',
    methods: ['GET', 'POST'],
    kind: 'page',
    handler: accountSecondFactor,
    form: true,
    rateLimit: 'login',
  },
  { path: '/account/revoke', methods: ['POST'], kind: 'page', handler: revokeConsent, form: true },
  { path: '/account/logout', methods: ['POST'], kind: 'page', handler: accountLogout, form: true },
  // Passkeys: sign-in (a credential check: counted with logins) and registration in the account area.
  {
    path: '/interaction/:uid/passkey',
    methods: ['POST'],
    kind: 'page',
    handler: interactionPasskey,
    form: true,
    rateLimit: 'login',
  },
  {
    path: '/interaction/:uid/passkey/options',
    methods: ['GET'],
    kind: 'json',
    handler: interactionPasskeyOptions,
    form: true,
  },
  {
    path: '/account/passkey',
    methods: ['POST'],
    kind: 'page',
    handler: accountPasskey,
    form: true,
    rateLimit: 'login',
  },
  { path: '/account/passkey/options', methods: ['GET'], kind: 'json', handler: accountPasskeyOptions, form: true },
  // Upstream sign-in (issue 17): the login pages' provider buttons, and each provider's callback
  // (GET, or POST for form_post; a cross-site POST is accepted: its state and binding cookie decide).
  {
    path: '/interaction/:uid/upstream/:provider',
    methods: ['POST'],
    kind: 'page',
    handler: interactionUpstream,
    form: true,
    rateLimit: 'login',
  },
  {
    path: '/account/upstream/:provider',
    methods: ['POST'],
    kind: 'page',
    handler: accountUpstream,
    form: true,
    rateLimit: 'login',
  },
  {
    path: '/upstream/:provider/callback',
    methods: ['GET', 'POST'],
    kind: 'page',
    handler: upstreamCallback,
    form: true,
    rateLimit: 'login',
  },
  { path: '/account/security/passkeys', methods: ['GET', 'POST'], kind: 'page', handler: passkeysPage, form: true },
  {
    path: '/account/security/passkeys/options',
    methods: ['GET'],
    kind: 'json',
    handler: passkeyRegistrationOptionsEndpoint,
    form: true,
  },
  // The account area (protocol/account/). The forms that check the password count with logins.
  accountPage('/account/profile', getPost(showProfile, saveProfile), ['GET', 'POST']),
  { ...accountPage('/account/password', getPost(showPassword, changePassword), ['GET', 'POST']), rateLimit: 'login' },
  accountPage('/account/security', showSecurity),
  accountPage('/account/security/rename', renameFactor, ['POST']),
  accountPage('/account/security/remove', removeFactor, ['POST']),
  accountPage('/account/security/totp', getPost(showTotp, submitTotp), ['GET', 'POST']),
  accountPage('/account/security/recovery-codes', getPost(showRecoveryCodes, regenerateCodes), ['GET', 'POST']),
  accountPage('/account/sessions', showSessions),
  accountPage('/account/sessions/end', endOneSession, ['POST']),
  accountPage('/account/sessions/end-others', endOthers, ['POST']),
  accountPage('/account/activity', showActivity),
  accountPage('/account/data', getPost(showData, exportData), ['GET', 'POST']),
  { ...accountPage('/account/delete', getPost(showDelete, submitDelete), ['GET', 'POST']), rateLimit: 'login' },
  { ...accountPage('/account/reauth', getPost(showReauth, submitReauth), ['GET', 'POST']), rateLimit: 'login' },
  // Linked sign-ins (issue 17): linking and re-authentication send the browser to a provider (each
  // leaves a stored state behind), so they count with logins; unlinking needs a recent sign-in.
  accountPage('/account/linked', showLinked),
  { ...accountPage('/account/linked/link', linkUpstream, ['POST']), rateLimit: 'login' },
  accountPage('/account/linked/unlink', unlinkUpstream, ['POST']),
  { ...accountPage('/account/reauth/upstream', reauthUpstream, ['POST']), rateLimit: 'login' },
  // An upstream's back-channel logout: a server-to-server POST, answered in JSON. Counted per address
  // as token requests are: while a provider's keys cannot be fetched, each POST is an outbound request.
  {
    path: '/upstream/:provider/backchannel-logout',
    methods: ['POST'],
    kind: 'json',
    handler: upstreamBackchannelLogout,
    form: true,
    rateLimit: 'token',
  },
  {
    path: '/device_authorization',
    methods: ['POST'],
    kind: 'json',
    handler: deviceAuthorization,
    form: true,
    rateLimit: 'device',
  },
  {
    path: '/device',
    methods: ['GET', 'POST'],
    kind: 'page',
    handler: deviceEntry,
    form: true,
    rateLimit: 'device',
  },
  // RFC 7591/7592: JSON bodies. A client that registers has no redirect URI on record yet, so only
  // the configured origins (TESSERA_CORS_ORIGINS) get CORS, or any origin with TESSERA_CORS_ANY_ORIGIN
  // (browser-based MCP clients register themselves): cors.ts.
  {
    path: '/register',
    methods: ['POST'],
    kind: 'json',
    handler: register,
    cors: 'configured',
    corsAnyOrigin: true,
    form: false,
    json: true,
    rateLimit: 'registration',
    enabled: registrationOn,
  },
  {
    path: '/register/:client_id',
    methods: ['GET', 'PUT', 'DELETE'],
    kind: 'json',
    handler: manageRegistration,
    cors: 'configured',
    corsAnyOrigin: true,
    form: false,
    json: true,
    rateLimit: 'registration',
    enabled: registrationOn,
  },
];
