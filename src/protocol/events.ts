import type { KeyTransition, Trigger } from './tokens/keys.ts';

/**
 * What the protocol layer reports as it works, for metrics and the audit trail. The protocol only
 * emits; what listens is wired in app.ts. Events carry no token values or secrets. `ip` is the
 * client address of the request, where one is at hand.
 */
export type ProtocolEvent = (
  | { type: 'token_issued'; grantType: string; clientId: string; scope?: string }
  /**
   * method: the authentication method tried; reason: a short non-secret code (e.g. assertion_replayed). clientId only
   * when such a client exists; the id otherwise is `unknownClient` (the audit trail keeps a short hash of it).
   */
  | { type: 'client_auth_failed'; clientId?: string; unknownClient?: string; method?: string; reason?: string }
  | { type: 'login_succeeded'; userId: string; clientId?: string }
  /** targetUserId: the account the attempt named, when it exists (never the username typed). */
  | { type: 'login_failed'; clientId?: string; targetUserId?: string }
  | { type: 'login_throttled'; clientId?: string; targetUserId?: string }
  | { type: 'code_reuse'; clientId: string }
  | { type: 'refresh_reuse'; clientId: string }
  /**
   * A rotated-out refresh token presented again within TESSERA_REFRESH_REUSE_GRACE by the same client,
   * key and request: the stored successor was returned and the family kept.
   */
  | { type: 'refresh_grace'; clientId: string }
  | { type: 'token_revoked'; tokenType: 'access_token' | 'refresh_token'; clientId: string }
  /**
   * authorizationDetailsTypes: the RFC 9396 types approved with it (the details themselves stay out of the audit
   * trail).
   */
  | {
      type: 'consent_granted';
      userId: string;
      clientId: string;
      scopes: string[];
      authorizationDetailsTypes?: string[];
    }
  | { type: 'consent_revoked'; userId: string; clientId: string }
  | { type: 'logout'; userId: string; clientId?: string }
  /** OpenID Connect Back-Channel Logout: a logout token was accepted by the client (2xx). */
  | { type: 'backchannel_logout_delivered'; userId: string; clientId: string; attempts: number }
  /** Not delivered after `attempts` tries; reason: refused (address or URL), status_4xx, status_5xx, network. */
  | { type: 'backchannel_logout_failed'; userId: string; clientId: string; attempts: number; reason: string }
  /** RFC 9449: a DPoP proof was refused (reason is a fixed word such as `htu`, `iat`, `nonce`, `signature`). */
  | { type: 'dpop_proof_refused'; reason: string; clientId?: string }
  /** RFC 9449: a DPoP proof's jti was presented again. */
  | { type: 'dpop_replay'; clientId?: string }
  /** RFC 8705: a certificate-bound access token came over a connection without its certificate. */
  | { type: 'certificate_binding_refused'; clientId?: string }
  /** RFC 9126: an authorization request was pushed and a request_uri issued. */
  | { type: 'par_request'; clientId: string }
  /**
   * FAPI 2.0: a request of a FAPI client was refused by a rule of the profile (reason: auth_method, alg,
   * sender_constraint, message_signing, redirect_uri).
   */
  | { type: 'fapi_refused'; reason: string; clientId: string }
  /**
   * OIDC Core 3.1.2.1: an id_token_hint was refused (reason: jose's error code, e.g.
   * ERR_JWS_SIGNATURE_VERIFICATION_FAILED).
   */
  | { type: 'id_token_hint_refused'; clientId: string; reason: string }
  /** RFC 8693: a token was exchanged (actorTokenType set for delegation). */
  | { type: 'token_exchanged'; clientId: string; subjectTokenType: string; actorTokenType?: string; audience: string }
  /**
   * RFC 8693: a subject or actor token was refused (reason: a fixed word such as `expired`, `untrusted_issuer`,
   * `replayed`).
   */
  | { type: 'token_exchange_refused'; clientId: string; role: 'subject' | 'actor'; reason: string }
  // Signing-key transitions: by the schedule (actor 'system') or asked for (CLI, admin API: actor 'admin').
  | (KeyTransition & { trigger: Trigger; actor: 'system' | 'admin' })
  // Reads of the audit trail through the admin API.
  | { type: 'audit_exported'; actor: 'admin'; format: string; count: number }
  | { type: 'audit_verified'; actor: 'admin'; ok: boolean }
  | { type: 'admin_keys_listed'; actor: 'admin' }
  | { type: 'device_authorization_started'; clientId: string; scope: string }
  | { type: 'device_authorization_approved'; userId: string; clientId: string; scope: string }
  | { type: 'device_authorization_denied'; userId: string; clientId: string }
  | { type: 'device_user_code_failed' }
  | { type: 'device_user_code_throttled' }
  /** Dynamic client registration (RFC 7591/7592); `mode` is TESSERA_REGISTRATION, never a secret. */
  | { type: 'client_registered'; clientId: string; mode: string; authMethod: string; disabled: boolean }
  | { type: 'client_updated'; clientId: string; authMethod: string }
  | { type: 'client_deleted'; clientId: string }
  /** A registration or management request with a missing or wrong token. */
  | { type: 'registration_refused'; clientId?: string; reason: string }
  /** Self-registration: a new account was created by its owner on the sign-up page (no password in it). */
  | { type: 'user_registered'; userId: string; clientId?: string }
  /** Self-registration refused: reason `invalid` (the form's checks) or `username_taken`. */
  | {
      type: 'signup_refused';
      reason: 'invalid' | 'username_taken' | 'username_confusable' | 'username_reserved';
      clientId?: string;
    }
  // Accounts (issue 16). `by`: who made the change; every failure names the account.
  /** A second factor was added (a TOTP app confirmed, a passkey registered) or removed, or renamed. */
  | { type: 'factor_added'; userId: string; kind: 'totp' | 'passkey'; factorId: string }
  | { type: 'factor_removed'; userId: string; kind: 'totp' | 'passkey'; factorId: string; by: 'user' | 'operator' }
  | { type: 'factor_renamed'; userId: string; factorId: string }
  | { type: 'recovery_codes_generated'; userId: string }
  /** A second factor passed at sign-in or step-up (kind: totp, recovery, passkey). */
  | { type: 'second_factor_succeeded'; userId: string; kind: 'totp' | 'recovery' | 'passkey'; clientId?: string }
  /** reason: invalid, replayed (a TOTP code used before), unknown_credential, wrong_user, counter, origin... */
  | {
      type: 'second_factor_failed';
      userId: string;
      kind: 'totp' | 'recovery' | 'passkey';
      reason: string;
      clientId?: string;
    }
  | { type: 'second_factor_throttled'; userId: string; clientId?: string }
  /** Passkey-first sign-in refused before any user was known (userId when the credential names one). */
  | { type: 'passkey_login_failed'; reason: string; userId?: string; clientId?: string }
  /** A sign-in through an upstream identity provider (issue 17); created: a user made just in time. */
  | { type: 'upstream_login_succeeded'; userId: string; provider: string; clientId?: string; created: boolean }
  /**
   * reason: unavailable (provider down), denied (cancelled upstream), invalid (state, iss, ID token...),
   * not_linked, email_in_use, domain, tenant, disabled...
   */
  | { type: 'upstream_login_failed'; provider: string; reason: string; userId?: string; clientId?: string }
  /** An upstream identity linked to a user: by the user from the account page, automatically, or at creation. */
  | { type: 'upstream_linked'; userId: string; provider: string; by: 'user' | 'auto' | 'created' }
  | { type: 'upstream_unlinked'; userId: string; provider: string; by: 'user' | 'operator' }
  /** An upstream's back-channel logout ended this many sessions. */
  | { type: 'upstream_logout'; provider: string; sessions: number }
  /** An operator saved or deleted an upstream provider. */
  | { type: 'upstream_saved' | 'upstream_deleted'; provider: string; actor: 'admin' | 'bootstrap' }
  /** A signed-in user re-authenticated for a higher acr, or because max_age had passed. */
  | { type: 'step_up'; userId: string; clientId?: string; acr?: string }
  /** A sign-in from a browser this account has not signed in from before (a notification may follow). */
  | { type: 'new_device_sign_in'; userId: string; userAgent?: string }
  | { type: 'password_changed'; userId: string; by: 'user' | 'reset' | 'operator' }
  /** A reset link was asked for an account (nothing is recorded for an address no account has). */
  | { type: 'password_reset_requested'; userId: string }
  | { type: 'password_reset_failed'; reason: string; userId?: string }
  | { type: 'email_verification_sent'; userId: string }
  | { type: 'email_verified'; userId: string }
  | { type: 'email_changed'; userId: string }
  /** Sessions ended from the account page or by an operator (count: how many). */
  | { type: 'sessions_ended'; userId: string; count: number; by: 'user' | 'operator' }
  | { type: 'account_deleted'; userId: string; by: 'user' | 'operator' }
  | { type: 'account_exported'; userId: string }
  /** Operators: factors reset, sign-in throttle cleared, email marked verified, MFA required or not. */
  | { type: 'mfa_reset'; userId: string; actor: 'admin' }
  | { type: 'user_unlocked'; userId: string; actor: 'admin' }
  | { type: 'mfa_required_set'; userId: string; required: boolean; actor: 'admin' }
  /** A mail could not be delivered after its last attempt (the template, never the address or the content). */
  | { type: 'mail_failed'; template: string; attempts: number; reason: string; userId?: string }
  /**
   * An admin action refused (admin/action.ts runAction): recorded under the action's own audit event as
   * a failure, through the audit writer, which counts repeats instead of writing a row per request.
   * by: the principal's id; principal: its kind; via: the front; reason: a short code.
   */
  | {
      type: 'admin_action_refused';
      action: string;
      event: string;
      by: string;
      principal: string;
      via: string;
      reason: string;
      clientId?: string;
    }
) & {
  ip?: string;
  /**
   * An admin action (admin/action.ts) recorded it already, in the transaction of the change: the
   * audit writer skips it; metrics and notifications still see it.
   */
  audited?: true;
};

export type EventSink = (event: ProtocolEvent) => void;

export const ignoreEvents: EventSink = () => {};
