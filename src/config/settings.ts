// The table of every setting: its environment variable, its key in the config file, its type,
// its default and what it does. The loader, the validator and the README's table are all
// generated from this one list.

export type SettingType = 'string' | 'int' | 'bool' | 'list' | 'enum';

export interface Setting {
  /** Environment variable. */
  env: string;
  /** Key in the optional config file (JSON or YAML). */
  key: string;
  type: SettingType;
  /** Allowed values for enums. */
  values?: readonly string[];
  /** Default, or a function of the mode; undefined means "not set". */
  default?: string | number | boolean | readonly string[] | ((mode: Mode) => string | number | boolean | undefined);
  min?: number;
  max?: number;
  description: string;
}

export type Mode = 'development' | 'production';

import { DEFAULT_RATE_LIMITS, describeRateLimits } from './rate-limits.ts';
import { FEATURE_NAMES } from './features.ts';

export const DEV_SECRET = 'tessera-development-secret-do-not-use-in-production';
export const DEV_KEK = 'tessera-development-key-encryption-key-not-for-production';

export const settings: readonly Setting[] = [
  {
    env: 'TESSERA_ENV',
    key: 'env',
    type: 'enum',
    values: ['development', 'production'],
    default: undefined,
    description:
      'Run mode. Defaults to production when NODE_ENV=production, else development. Production refuses insecure settings.',
  },
  {
    env: 'TESSERA_ISSUER',
    key: 'issuer',
    type: 'string',
    default: undefined,
    description:
      'Issuer URL (https, or http on a loopback host). Default: http://localhost:PORT in development; required in production.',
  },
  { env: 'TESSERA_HOST', key: 'host', type: 'string', default: '127.0.0.1', description: 'Address to listen on.' },
  {
    env: 'TESSERA_PORT',
    key: 'port',
    type: 'int',
    default: 4000,
    min: 0,
    max: 65535,
    description: 'Port to listen on (0 picks a free port).',
  },
  {
    env: 'TESSERA_SECRET',
    key: 'secret',
    type: 'string',
    default: (m) => (m === 'development' ? DEV_SECRET : undefined),
    description:
      'Server secret (at least 32 bytes): keys the client-secret hashes, CSRF tokens, DPoP nonces and user-code hashes. Rotate it with TESSERA_SECRET_PREVIOUS (docs/production.md). Required in production.',
  },
  {
    env: 'TESSERA_SECRET_PREVIOUS',
    key: 'secretPrevious',
    type: 'string',
    default: undefined,
    description:
      'The server secret being replaced, during a rotation of TESSERA_SECRET: client secrets hashed under it still verify (and are re-hashed under the current one on use), CSRF tokens, DPoP nonces and user codes made under it are still accepted. At least 32 bytes; must differ from TESSERA_SECRET.',
  },
  {
    env: 'TESSERA_PAIRWISE_SECRET',
    key: 'pairwiseSecret',
    type: 'string',
    default: undefined,
    description:
      'Keys the pairwise subject identifiers (OpenID Connect Core 8). Unset: TESSERA_SECRET. Before rotating TESSERA_SECRET, set this to its current value and keep it: the subjects relying parties know then stay the same. Must be set while TESSERA_SECRET_PREVIOUS is.',
  },
  {
    env: 'TESSERA_KEY_ENCRYPTION_KEY',
    key: 'keyEncryptionKey',
    type: 'string',
    default: (m) => (m === 'development' ? DEV_KEK : undefined),
    description:
      'Key-encryption key (at least 32 bytes) that wraps the private signing keys at rest with AES-256-GCM. Required in production.',
  },
  {
    env: 'TESSERA_KEY_ENCRYPTION_KEY_PREVIOUS',
    key: 'keyEncryptionKeyPrevious',
    type: 'string',
    default: undefined,
    description:
      'The key-encryption key being replaced, during a KEK rotation: private keys wrapped under it still open, new ones are wrapped under TESSERA_KEY_ENCRYPTION_KEY; `tessera keys rewrap` then re-wraps every stored key. Same length rule; must differ from the current one.',
  },
  {
    env: 'DATABASE_URL',
    key: 'databaseUrl',
    type: 'string',
    default: 'sqlite:./data/tessera.db',
    description:
      'sqlite:PATH (embedded, WAL mode; sqlite::memory: for throwaway runs) or postgres://user@host:port/db.',
  },
  {
    env: 'TESSERA_MIGRATE_ON_START',
    key: 'migrateOnStart',
    type: 'bool',
    default: true,
    description: 'Run database migrations at start-up (else run `tessera migrate`).',
  },
  {
    env: 'TESSERA_BOOTSTRAP_FILE',
    key: 'bootstrapFile',
    type: 'string',
    default: undefined,
    description: 'YAML or JSON file of clients and users applied idempotently at start-up.',
  },
  {
    env: 'TESSERA_SEED_DEMO',
    key: 'seedDemo',
    type: 'bool',
    default: (m) => m === 'development',
    description: 'On an empty database, create a demo user and demo clients and print their credentials once.',
  },
  {
    env: 'TESSERA_SIGNING_ALG',
    key: 'signingAlg',
    type: 'enum',
    values: ['ES256', 'RS256', 'PS256', 'EdDSA'],
    default: 'ES256',
    description:
      'The primary signing algorithm: access tokens are signed with its key (ES256: the fast node:crypto path). Always one of the signing algorithms (added to TESSERA_SIGNING_ALGS when missing).',
  },
  {
    env: 'TESSERA_SIGNING_ALGS',
    key: 'signingAlgs',
    type: 'list',
    default: ['ES256', 'RS256'],
    description:
      "Algorithms Tessera signs with, each with an active key and its own rotation schedule, all in the JWKS and in discovery (ES256, RS256, PS256, EdDSA). ID tokens use the client's id_token_signed_response_alg (RS256 when a registration names none, OpenID Connect Registration 2). Every instance must have the same list; an algorithm taken out keeps its keys until `tessera keys retire` retires its active key.",
  },
  {
    env: 'TESSERA_ACCESS_TOKEN_TTL',
    key: 'accessTokenTtl',
    type: 'int',
    default: 900,
    min: 30,
    max: 86400,
    description: 'Access token lifetime, seconds.',
  },
  {
    env: 'TESSERA_ID_TOKEN_TTL',
    key: 'idTokenTtl',
    type: 'int',
    default: 3600,
    min: 30,
    max: 86400,
    description: 'ID token lifetime, seconds.',
  },
  {
    env: 'TESSERA_JARM_TTL',
    key: 'jarmTtl',
    type: 'int',
    default: 300,
    min: 10,
    max: 600,
    description:
      'Lifetime (exp) of a signed authorization response (JARM: response_mode jwt, query.jwt, form_post.jwt), seconds; at most 10 minutes.',
  },
  {
    env: 'TESSERA_CODE_TTL',
    key: 'codeTtl',
    type: 'int',
    default: 60,
    min: 10,
    max: 600,
    description: 'Authorization code lifetime, seconds (at most 600).',
  },
  {
    env: 'TESSERA_REFRESH_IDLE_TTL',
    key: 'refreshIdleTtl',
    type: 'int',
    default: 1209600,
    min: 60,
    description: 'A refresh token expires when unused for this many seconds.',
  },
  {
    env: 'TESSERA_REFRESH_ABSOLUTE_TTL',
    key: 'refreshAbsoluteTtl',
    type: 'int',
    default: 2592000,
    min: 60,
    description: 'A refresh-token family ends this many seconds after the original grant, however it is used.',
  },
  {
    env: 'TESSERA_SESSION_IDLE_TTL',
    key: 'sessionIdleTtl',
    type: 'int',
    default: 86400,
    min: 60,
    description: 'Login session idle timeout, seconds.',
  },
  {
    env: 'TESSERA_SESSION_ABSOLUTE_TTL',
    key: 'sessionAbsoluteTtl',
    type: 'int',
    default: 604800,
    min: 60,
    description: 'Login session absolute lifetime, seconds.',
  },
  {
    env: 'TESSERA_INTERACTION_TTL',
    key: 'interactionTtl',
    type: 'int',
    default: 900,
    min: 60,
    max: 3600,
    description: 'How long a login/consent interaction stays valid, seconds.',
  },
  {
    env: 'TESSERA_CLIENT_CACHE_TTL',
    key: 'clientCacheTtl',
    type: 'int',
    default: 2,
    min: 0,
    max: 300,
    description:
      'Seconds a client record read from the database is reused from memory (0: read every time). Changes made by another process or instance show after at most this long.',
  },
  {
    env: 'TESSERA_KEY_RELOAD_SECONDS',
    key: 'keyReloadSeconds',
    type: 'int',
    default: 30,
    min: 1,
    max: 3600,
    description:
      'How often every server process re-reads the signing keys, to pick up rotations made by another process, instance or the CLI.',
  },
  {
    env: 'TESSERA_KEY_ROTATION_DAYS',
    key: 'keyRotationDays',
    type: 'int',
    default: 90,
    min: 0,
    max: 3650,
    description:
      'Days a signing key signs before the schedule replaces it with the prepublished next key (every server process runs the schedule; exactly one rotation happens). 0 turns scheduled rotation off.',
  },
  {
    env: 'TESSERA_KEY_PREPUBLISH_SECONDS',
    key: 'keyPrepublishSeconds',
    type: 'int',
    default: 86400,
    min: 1,
    max: 31536000,
    description:
      'How long the next signing key is published in the JWKS before it signs. Must exceed the JWKS max-age (300 s) plus TESSERA_KEY_RELOAD_SECONDS, so every cached JWKS holds a key before it signs, and be shorter than the rotation period.',
  },
  {
    env: 'TESSERA_LOGIN_MAX_FAILURES',
    key: 'loginMaxFailures',
    type: 'int',
    default: 5,
    min: 1,
    max: 1000,
    description:
      'Failed logins for one account from one address before each further attempt must wait (1 s, doubling per failure, up to TESSERA_LOGIN_WINDOW).',
  },
  {
    env: 'TESSERA_LOGIN_ACCOUNT_MAX_FAILURES',
    key: 'loginAccountMaxFailures',
    type: 'int',
    default: 20,
    min: 1,
    max: 10000,
    description:
      'Failed logins for one account from all addresses before the same back-off applies (distributed guessing).',
  },
  {
    env: 'TESSERA_LOGIN_SOURCE_MAX_FAILURES',
    key: 'loginSourceMaxFailures',
    type: 'int',
    default: 50,
    min: 1,
    max: 100000,
    description:
      'Failed logins from one address for all accounts before the same back-off applies (credential stuffing).',
  },
  {
    env: 'TESSERA_LOGIN_WINDOW',
    key: 'loginWindow',
    type: 'int',
    default: 900,
    min: 10,
    max: 86400,
    description: 'Seconds after the last failure when a failed-login counter starts again; also the longest wait.',
  },
  {
    env: 'TESSERA_SELF_REGISTRATION',
    key: 'selfRegistration',
    type: 'bool',
    default: false,
    description:
      'Let people create their own account: a sign-up page linked from the login page of a sign-in, and prompt=create at /authorize (OpenID Connect Prompt Create 1.0, then advertised in prompt_values_supported). Off: accounts are created by operators only and prompt=create is refused.',
  },
  {
    env: 'TESSERA_SELF_REGISTRATION_EMAIL',
    key: 'selfRegistrationEmail',
    type: 'enum',
    values: ['optional', 'required'],
    default: 'optional',
    description: 'Whether the sign-up page requires an email address (it is stored unverified).',
  },
  {
    env: 'TESSERA_MFA',
    key: 'mfa',
    type: 'enum',
    values: ['off', 'optional', 'required', 'phishing-resistant'],
    default: 'optional',
    description:
      'Second factors (TOTP, passkeys, recovery codes): off (none offered), optional (users may enrol them), required (every user needs one: users without enrol at their next sign-in, within TESSERA_MFA_ENROL_GRACE), phishing-resistant (passkeys only). A client can ask for more with its `mfa` metadata, never for less.',
  },
  {
    env: 'TESSERA_MFA_ENROL_GRACE',
    key: 'mfaEnrolGrace',
    type: 'int',
    default: 604800,
    min: 0,
    max: 7776000,
    description:
      'Under a required policy, seconds from the first sign-in that asks a user without a factor to enrol during which they may still skip it (0: enrol before going on).',
  },
  {
    env: 'TESSERA_MFA_REMEMBER_DEVICE',
    key: 'mfaRememberDevice',
    type: 'int',
    default: 0,
    min: 0,
    max: 7776000,
    description:
      'Seconds a browser may be remembered after a second factor, so the next sign-ins there ask for the password only (0: off). Never for an acr a client asks for, nor under the phishing-resistant policy.',
  },
  {
    env: 'TESSERA_FACTOR_MAX_FAILURES',
    key: 'factorMaxFailures',
    type: 'int',
    default: 5,
    min: 1,
    max: 100,
    description:
      'Wrong second-factor codes (TOTP, recovery code) per account before a wait that doubles with each further failure (shared by all instances).',
  },
  {
    env: 'TESSERA_WEBAUTHN_RP_ID',
    key: 'webauthnRpId',
    type: 'string',
    default: undefined,
    description:
      "The WebAuthn relying party ID of passkeys: the issuer's host by default, or a parent domain of it (passkeys then work on its sibling hosts too). Changing it makes existing passkeys unusable.",
  },
  {
    env: 'TESSERA_WEBAUTHN_ORIGINS',
    key: 'webauthnOrigins',
    type: 'list',
    default: [],
    description: "Origins a passkey ceremony may come from besides the issuer's own (each https, under the RP ID).",
  },
  {
    env: 'TESSERA_RECENT_AUTH',
    key: 'recentAuth',
    type: 'int',
    default: 300,
    min: 30,
    max: 86400,
    description:
      'Seconds since the last sign-in within which the account page lets a user change a factor, the email or the password, or delete the account; later they sign in again first.',
  },
  {
    env: 'TESSERA_SMTP_URL',
    key: 'smtpUrl',
    type: 'string',
    default: undefined,
    description:
      'Where mail is sent: smtp://user:pass@host:587 (STARTTLS required) or smtps://host:465 (TLS). Unset in development: mails are printed to the log and written to TESSERA_MAIL_DIR. In production without it, password reset, email verification and notifications are off (refused if set explicitly).',
  },
  {
    env: 'TESSERA_MAIL_FROM',
    key: 'mailFrom',
    type: 'string',
    default: undefined,
    description: "The From address of Tessera's mails. Default: no-reply at the issuer's host.",
  },
  {
    env: 'TESSERA_MAIL_DIR',
    key: 'mailDir',
    type: 'string',
    default: './data/mail',
    description: 'Development without TESSERA_SMTP_URL: the folder each mail is written to (one .eml file per mail).',
  },
  {
    env: 'TESSERA_SMTP_TIMEOUT',
    key: 'smtpTimeout',
    type: 'int',
    default: 10,
    min: 1,
    max: 300,
    description:
      'Seconds for each step of an SMTP delivery (connection, greeting, each command) before it counts as failed and is retried later.',
  },
  {
    env: 'TESSERA_DEFAULT_LOCALE',
    key: 'defaultLocale',
    type: 'enum',
    values: ['en', 'de', 'fr'],
    default: 'en',
    description:
      "The language of pages and mails when neither the request's ui_locales, the person's own choice nor their browser's Accept-Language names one Tessera speaks (en, de, fr).",
  },
  {
    env: 'TESSERA_BRAND_NAME',
    key: 'brandName',
    type: 'string',
    default: undefined,
    description:
      "The deployment's name in each page's header and title and in mails, unless operators set one (admin action branding.update). Default: Tessera.",
  },
  {
    env: 'TESSERA_BRAND_PRIMARY_COLOR',
    key: 'brandPrimaryColor',
    type: 'string',
    default: undefined,
    description:
      "The pages' primary colour (buttons, links) as a CSS hex colour (#rgb or #rrggbb), unless operators set one; the button text is white or black, whichever reads better. Refused below a 4.5:1 contrast (WCAG AA) with its text or with the white page. Default: Tessera's blue.",
  },
  {
    env: 'TESSERA_BRAND_PRIVACY_URL',
    key: 'brandPrivacyUrl',
    type: 'string',
    default: undefined,
    description: 'A privacy policy link in the footer of every page (https; http only on a loopback host).',
  },
  {
    env: 'TESSERA_BRAND_TERMS_URL',
    key: 'brandTermsUrl',
    type: 'string',
    default: undefined,
    description: 'A terms of service link in the footer of every page (https; http only on a loopback host).',
  },
  {
    env: 'TESSERA_BRAND_SUPPORT_URL',
    key: 'brandSupportUrl',
    type: 'string',
    default: undefined,
    description: 'A support (help) link in the footer of every page (https; http only on a loopback host).',
  },
  {
    env: 'TESSERA_UPSTREAM_TIMEOUT',
    key: 'upstreamTimeout',
    type: 'int',
    default: 10,
    min: 1,
    max: 60,
    description:
      'Seconds each exchange with an upstream identity provider (discovery, token, userinfo, keys) may take before the sign-in is answered with a page saying the provider is not reachable.',
  },
  {
    env: 'TESSERA_UPSTREAM_STATE_TTL',
    key: 'upstreamStateTtl',
    type: 'int',
    default: 600,
    min: 60,
    max: 3600,
    description:
      'Seconds a redirect to an upstream identity provider may take to come back: after that its state (single use, bound to the browser) is refused and the person starts again from the login page.',
  },
  {
    env: 'TESSERA_EMAIL_VERIFICATION',
    key: 'emailVerification',
    type: 'enum',
    values: ['off', 'after-sign-in', 'before-sign-in'],
    default: 'after-sign-in',
    description:
      'Email verification of accounts with an address: off, after-sign-in (a link is mailed at sign-up and on every change; email_verified is true once it is used) or before-sign-in (also, an account with an unverified address cannot sign in).',
  },
  {
    env: 'TESSERA_EMAIL_LINK_TTL',
    key: 'emailLinkTtl',
    type: 'int',
    default: 86400,
    min: 300,
    max: 604800,
    description: 'Lifetime of an email verification link, seconds.',
  },
  {
    env: 'TESSERA_PASSWORD_RESET',
    key: 'passwordReset',
    type: 'bool',
    default: true,
    description:
      'Offer "Forgot password?" on the login page: a single-use reset link mailed to the account\'s verified address.',
  },
  {
    env: 'TESSERA_PASSWORD_RESET_TTL',
    key: 'passwordResetTtl',
    type: 'int',
    default: 900,
    min: 60,
    max: 86400,
    description: 'Lifetime of a password reset link, seconds; any newer link and any sign-in end it sooner.',
  },
  {
    env: 'TESSERA_NOTIFICATIONS',
    key: 'notifications',
    type: 'list',
    default: ['new-device', 'factor-changed', 'password-changed'],
    description:
      "Security mails sent to the account's address: new-device (a sign-in from a browser not seen before), factor-changed (a second factor or a provider's sign-in added or removed), password-changed; none for none.",
  },
  {
    env: 'TESSERA_WEBHOOKS',
    key: 'webhooks',
    type: 'bool',
    default: true,
    description:
      'Deliver audit events to the webhook endpoints operators register (docs/webhooks.md). With no endpoint registered this costs nothing; false stops every delivery (endpoints and their queues stay).',
  },
  {
    env: 'TESSERA_WEBHOOK_MAX_ATTEMPTS',
    key: 'webhookMaxAttempts',
    type: 'int',
    default: 8,
    min: 1,
    max: 12,
    description:
      'Attempts at a webhook delivery before it is given up (status failed). The waits between attempts are about 10 s, 1 min, 5 min, 30 min, 2 h, 6 h, 12 h, then 24 h each, with 20 % jitter: the default 8 attempts span about 21 hours.',
  },
  {
    env: 'TESSERA_WEBHOOK_TIMEOUT_MS',
    key: 'webhookTimeoutMs',
    type: 'int',
    default: 10000,
    min: 500,
    max: 60000,
    description:
      'Milliseconds a webhook receiver has for the whole exchange (connecting, the request, its answer) before the attempt counts as failed (timeout).',
  },
  {
    env: 'TESSERA_USERNAME_RESERVATION',
    key: 'usernameReservation',
    type: 'int',
    default: 7776000,
    min: 0,
    max: 315360000,
    description:
      "Seconds a deleted account's username stays reserved before someone else may take it (its sub is never issued again).",
  },
  {
    env: 'TESSERA_PAR_TTL',
    key: 'parTtl',
    type: 'int',
    default: 60,
    min: 5,
    max: 599,
    description:
      'Lifetime of a pushed authorization request (RFC 9126) request_uri, seconds (under 600, as FAPI 2.0 requires); it can be used once.',
  },
  {
    env: 'TESSERA_REQUIRE_PAR',
    key: 'requirePar',
    type: 'bool',
    default: false,
    description:
      'Refuse authorization requests that were not pushed to /par first, for every client (clients can also require it one by one: require_pushed_authorization_requests).',
  },
  {
    env: 'TESSERA_DPOP_PROOF_WINDOW',
    key: 'dpopProofWindow',
    type: 'int',
    default: 60,
    min: 5,
    max: 600,
    description:
      'How old (by its iat) a DPoP proof (RFC 9449) may be, seconds; proofs dated more than 10 s in the future are refused.',
  },
  {
    env: 'TESSERA_DPOP_REQUIRE_NONCE',
    key: 'dpopRequireNonce',
    type: 'bool',
    default: false,
    description:
      'Require a server-provided nonce (DPoP-Nonce header) in every DPoP proof. Nonces are derived from TESSERA_SECRET and the time, so every instance accepts them without shared state; each is good for 5 to 10 minutes.',
  },
  {
    env: 'TESSERA_CLIENT_JWT_MAX_LIFETIME',
    key: 'clientJwtMaxLifetime',
    type: 'int',
    default: 300,
    min: 10,
    max: 3600,
    description:
      'Longest lifetime accepted for client assertions (private_key_jwt, client_secret_jwt) and request objects (JAR), seconds: exp may be at most this far ahead (and exp - iat at most this much).',
  },
  {
    env: 'TESSERA_ASSERTION_TOKEN_ENDPOINT_AUDIENCE',
    key: 'assertionTokenEndpointAudience',
    type: 'bool',
    default: false,
    description:
      'Also accept the token endpoint URL (not only the issuer identifier) as the aud of client assertions, for older clients. Off by default: draft-ietf-oauth-rfc7523bis wants the issuer identifier only, which closes the audience-injection attack.',
  },
  {
    env: 'TESSERA_CLOCK_SKEW',
    key: 'clockSkew',
    type: 'int',
    default: 30,
    min: 0,
    max: 300,
    description:
      'Seconds of clock difference tolerated when checking exp, nbf and iat of client assertions, request objects and external JWTs in token exchange.',
  },
  {
    env: 'TESSERA_CLIENT_JWKS_CACHE_TTL',
    key: 'clientJwksCacheTtl',
    type: 'int',
    default: 300,
    min: 1,
    max: 86400,
    description: 'Seconds a client key set fetched from its jwks_uri is reused before it is fetched again.',
  },
  {
    env: 'TESSERA_CLIENT_JWKS_REFETCH_INTERVAL',
    key: 'clientJwksRefetchInterval',
    type: 'int',
    default: 30,
    min: 1,
    max: 3600,
    description:
      'A JWT naming a key id that the cached key set of its client lacks fetches the jwks_uri again at once, but at most once per this many seconds per jwks_uri.',
  },
  {
    env: 'TESSERA_CLIENT_JWKS_ALLOW_LOOPBACK',
    key: 'clientJwksAllowLoopback',
    type: 'bool',
    default: (m) => m === 'development',
    description:
      'Let client jwks_uri and backchannel_logout_uri values use http and loopback hosts (127.0.0.0/8, ::1, localhost), for local tests and demos. Other private addresses are always refused. Production refuses true.',
  },
  {
    env: 'TESSERA_REGISTRATION',
    key: 'registration',
    type: 'enum',
    values: ['off', 'open', 'initial_access_token', 'admin_approval'],
    default: 'off',
    description:
      'Dynamic client registration (RFC 7591, managed per RFC 7592) at /register: `off` (no endpoint, not advertised), `open` (anyone may register), `initial_access_token` (a Bearer token minted with `tessera registration token create` is required), `admin_approval` (anyone may register, but new clients stay disabled until an operator runs `tessera client enable`).',
  },
  {
    env: 'TESSERA_REGISTRATION_GRANT_TYPES',
    key: 'registrationGrantTypes',
    type: 'list',
    default: ['authorization_code', 'refresh_token'],
    description:
      'The grant types a dynamically registered client may have: the ceiling for every self-registered client, checked at registration and at every token request. Any of `authorization_code`, `refresh_token`, `client_credentials`, `urn:ietf:params:oauth:grant-type:device_code` (token exchange needs an operator-written policy).',
  },
  {
    env: 'TESSERA_REGISTRATION_SCOPES',
    key: 'registrationScopes',
    type: 'list',
    default: ['openid', 'profile', 'email', 'offline_access'],
    description:
      'The scopes a dynamically registered client may have: the ceiling for every self-registered client at registration, at each authorization (step-up included) and in each token, intersected with the scopes of the resource server the token is for. Each must be offered by the server (TESSERA_EXTRA_SCOPES).',
  },
  // ---- MCP (docs/mcp.md): the profile switch and the settings it bundles --------------------------
  {
    env: 'TESSERA_MCP_PROFILE',
    key: 'mcpProfile',
    type: 'enum',
    values: ['off', '2025-06-18', '2025-11-25', '2026-07-28', 'latest'],
    default: 'off',
    description:
      'The Model Context Protocol authorization profile: a frozen, dated bundle of defaults for the MCP revision named (`latest`: the newest Tessera knows, now 2026-07-28). It sets TESSERA_REGISTRATION, TESSERA_CLIENT_ID_METADATA_DOCUMENTS (from 2025-11-25), TESSERA_REGISTRATION_APPLICATION_TYPE, TESSERA_REGISTRATION_UNUSED_TTL, TESSERA_CORS_ANY_ORIGIN, TESSERA_REFRESH_REUSE_GRACE, TESSERA_RESOURCE_REGISTRY_ONLY and TESSERA_REGISTRATION_RESOURCE_SCOPES, each of which can still be set one by one (explicit settings win); start-up and `tessera config show` print what it changed; docs/mcp.md has the table. 2025-03-26 is refused: in that revision the MCP server is its own authorization server.',
  },
  {
    env: 'TESSERA_CLIENT_ID_METADATA_DOCUMENTS',
    key: 'clientIdMetadataDocuments',
    type: 'enum',
    values: ['off', 'on'],
    default: 'off',
    description:
      "Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): a client_id that is an https URL is the address of the client's metadata, fetched by the SSRF-safe fetcher. Such clients follow the rules of self-registered clients.",
  },
  {
    env: 'TESSERA_CIMD_TRUST',
    key: 'cimdTrust',
    type: 'enum',
    values: ['open', 'allow_list', 'deny_list'],
    default: 'open',
    description:
      'Which Client ID Metadata Document hosts are accepted: `open` (any public host), `allow_list` (only TESSERA_CIMD_HOSTS), `deny_list` (any but TESSERA_CIMD_HOSTS).',
  },
  {
    env: 'TESSERA_CIMD_HOSTS',
    key: 'cimdHosts',
    type: 'list',
    default: [],
    description:
      'Host names for TESSERA_CIMD_TRUST (`allow_list` or `deny_list`); `*.example.com` covers subdomains (not example.com itself). Internationalised names are taken in their ASCII form (bücher.de is xn--bcher-kva.de), case and a trailing dot ignored; an entry with a scheme, port, path, user info or empty label is refused at start-up. A client_id whose host is a public IP address is not covered by names: list the address (IPv6 in brackets).',
  },
  {
    env: 'TESSERA_CIMD_ALLOW_LOOPBACK',
    key: 'cimdAllowLoopback',
    type: 'bool',
    default: false,
    description:
      'Let Client ID Metadata Documents be fetched from loopback hosts, for tests only. Production refuses true.',
  },
  {
    env: 'TESSERA_REFRESH_REUSE_GRACE',
    key: 'refreshReuseGrace',
    type: 'int',
    default: 0,
    min: 0,
    max: 300,
    description:
      'Seconds after a refresh token is rotated during which the same client presenting it again (with the same DPoP key and client certificate, or none, and the same parameters), while the successor is still unused, gets the same successor, stored sealed rather than minted again, instead of revoking the family: for clients whose processes share one token store (docs/mcp.md). 0: off (any reuse revokes the family).',
  },
  {
    env: 'TESSERA_CORS_ANY_ORIGIN',
    key: 'corsAnyOrigin',
    type: 'bool',
    default: false,
    description:
      'Answer CORS requests from any origin (`Access-Control-Allow-Origin: *`, never with credentials) at the token, registration and revocation endpoints, preflights included (discovery and JWKS always do; /authorize never): for browser-based clients whose origin is not known in advance. Off: token and revocation answer TESSERA_CORS_ORIGINS and the origins of registered redirect URIs, registration TESSERA_CORS_ORIGINS only.',
  },
  {
    env: 'TESSERA_REGISTRATION_UNUSED_TTL',
    key: 'registrationUnusedTtl',
    type: 'int',
    default: 0,
    min: 0,
    description:
      'Seconds a dynamically registered client may stay unused (no token issued to it) after its registration or its last change (an RFC 7592 update, an approval): then it is refused, and deleted by the periodic cleanup (every 10 minutes). Operator-made clients, and clients that existed before this was recorded, never expire. 0: never.',
  },
  {
    env: 'TESSERA_REGISTRATION_APPLICATION_TYPE',
    key: 'registrationApplicationType',
    type: 'enum',
    values: ['web', 'infer'],
    default: 'web',
    description:
      'application_type of a registration that names none: `web` (OpenID Connect Registration 2), or `infer`: native when every redirect URI is a loopback http URI or a private-use scheme, web otherwise. A native client may use any port on its loopback redirect URIs (RFC 8252 section 7.3) and private-use schemes.',
  },
  {
    env: 'TESSERA_RESOURCE_REGISTRY_ONLY',
    key: 'resourceRegistryOnly',
    type: 'bool',
    default: false,
    description:
      'Every client (not only self-registered ones) may name only resources in the registry of resource servers (`tessera resource`); any other resource gets invalid_target at /authorize, /par, device authorization and /token. Whatever this setting, another spelling of a registry resource (case, default port, trailing slash) is refused, naming the registered form.',
  },
  {
    env: 'TESSERA_REGISTRATION_RESOURCE_SCOPES',
    key: 'registrationResourceScopes',
    type: 'bool',
    default: false,
    description:
      'The ceiling of self-registered clients (dynamic registration and Client ID Metadata Documents) also holds the scopes of the registry of resource servers (`tessera resource`), each only in tokens for the resource that declares it (its scope hierarchy applying), without listing them in TESSERA_EXTRA_SCOPES or TESSERA_REGISTRATION_SCOPES; they are then advertised in scopes_supported. Off: only TESSERA_REGISTRATION_SCOPES.',
  },
  {
    env: 'TESSERA_BACKCHANNEL_LOGOUT_TIMEOUT',
    key: 'backchannelLogoutTimeout',
    type: 'int',
    default: 5,
    min: 1,
    max: 30,
    description: 'Back-channel logout: seconds one POST of a logout token to a client may take in all.',
  },
  {
    env: 'TESSERA_BACKCHANNEL_LOGOUT_ATTEMPTS',
    key: 'backchannelLogoutAttempts',
    type: 'int',
    default: 3,
    min: 1,
    max: 6,
    description:
      'Back-channel logout: attempts per client (network error, timeout or 5xx is retried after 1 s, 4 s, 16 s, ...; a 4xx or a refused address is not).',
  },
  {
    env: 'TESSERA_DEVICE_CODE_TTL',
    key: 'deviceCodeTtl',
    type: 'int',
    default: 600,
    min: 60,
    max: 1800,
    description: 'Device flow (RFC 8628): how long a device code and its user code stay valid, seconds.',
  },
  {
    env: 'TESSERA_DEVICE_POLL_INTERVAL',
    key: 'devicePollInterval',
    type: 'int',
    default: 5,
    min: 1,
    max: 60,
    description:
      'Device flow: seconds a device must wait between token requests; each poll sooner than that answers slow_down and adds 5 s.',
  },
  {
    env: 'TESSERA_DEVICE_MAX_FAILURES',
    key: 'deviceMaxFailures',
    type: 'int',
    default: 10,
    min: 1,
    max: 10000,
    description:
      'Wrong or expired user codes entered at /device from one address before further entries are refused (429) until TESSERA_DEVICE_FAILURE_WINDOW passes without one.',
  },
  {
    env: 'TESSERA_DEVICE_FAILURE_WINDOW',
    key: 'deviceFailureWindow',
    type: 'int',
    default: 900,
    min: 10,
    max: 86400,
    description: 'Seconds after the last wrong user code when the per-address counter of /device starts again.',
  },
  {
    env: 'TESSERA_FEATURES_DISABLED',
    key: 'featuresDisabled',
    type: 'list',
    default: [],
    description: `Optional protocol features turned off (space- or comma-separated): ${FEATURE_NAMES.join(', ')}. A disabled feature is not advertised in discovery and is refused where it would be used (see src/config/features.ts).`,
  },
  {
    env: 'TESSERA_AUTHORIZATION_DETAILS_TYPES',
    key: 'authorizationDetailsTypes',
    type: 'list',
    default: [],
    description:
      'Rich authorization requests (RFC 9396): the authorization_details types accepted, space- or comma-separated. Each is TYPE (any fields) or TYPE=FIELD|FIELD|... (only those fields besides the common ones: locations, actions, datatypes, identifier, privileges). Empty: authorization_details is refused.',
  },
  {
    env: 'TESSERA_FAPI_PROFILE',
    key: 'fapiProfile',
    type: 'enum',
    values: ['none', '2.0'],
    default: 'none',
    description:
      'FAPI 2.0 Security Profile for every client (2.0), or only for clients registered with fapi_profile "2.0" (none). See docs/security.md for what the profile enforces.',
  },
  {
    env: 'TESSERA_FAPI_MESSAGE_SIGNING',
    key: 'fapiMessageSigning',
    type: 'bool',
    default: false,
    description:
      'FAPI 2.0 Message Signing for every FAPI client: pushed requests must be signed request objects, and a response_mode ending in jwt (JARM) is required. Clients can also opt in one by one: fapi_message_signing.',
  },
  {
    env: 'TESSERA_DEFAULT_AUDIENCE',
    key: 'defaultAudience',
    type: 'string',
    default: undefined,
    description: 'Access-token audience when the request names no RFC 8707 resource. Default: the issuer URL.',
  },
  {
    env: 'TESSERA_EXTRA_SCOPES',
    key: 'extraScopes',
    type: 'list',
    default: [],
    description: 'Scopes offered besides openid, profile, email and offline_access (space- or comma-separated).',
  },
  {
    env: 'TESSERA_DEFAULT_SCOPE',
    key: 'defaultScope',
    type: 'list',
    default: [],
    description:
      "Scope applied to an authorization request that sends none (RFC 6749 section 3.3), within the client's registered scope and never openid. Empty: the client's registered scope (without openid).",
  },
  {
    env: 'TESSERA_COOKIE_SECURE',
    key: 'cookieSecure',
    type: 'bool',
    default: (m) => m === 'production',
    description: 'Mark cookies Secure (and use the __Host- prefix). Production refuses false.',
  },
  {
    env: 'TESSERA_COOKIE_SAMESITE',
    key: 'cookieSameSite',
    type: 'enum',
    values: ['lax', 'strict', 'none'],
    default: 'lax',
    description:
      'SameSite attribute of the session cookie (only: the interaction and CSRF cookies are always Lax). none lets apps renew silently in a hidden iframe on another site (prompt=none); production only (it needs Secure cookies), and Safari and Firefox block such third-party cookies anyway: see docs/production.md. SPAs should renew with refresh tokens.',
  },
  {
    env: 'TESSERA_CORS_ORIGINS',
    key: 'corsOrigins',
    type: 'list',
    default: [],
    description:
      'Extra browser origins allowed to call token, userinfo and revocation (origins of registered redirect URIs are always allowed).',
  },
  {
    env: 'TESSERA_TRUST_PROXY',
    key: 'trustProxy',
    type: 'list',
    default: [],
    description: 'Addresses or CIDRs of reverse proxies whose X-Forwarded-* headers are believed. Empty: none.',
  },
  {
    env: 'TESSERA_TLS_CERT_FILE',
    key: 'tlsCertFile',
    type: 'string',
    default: undefined,
    description:
      'PEM file with the certificate (and chain) for Tessera to serve HTTPS itself; with it, the listener asks every client for a TLS certificate (optional, checked per client: mutual-TLS client authentication, RFC 8705). Needs TESSERA_TLS_KEY_FILE. Unset: plain HTTP behind a TLS-terminating proxy.',
  },
  {
    env: 'TESSERA_TLS_KEY_FILE',
    key: 'tlsKeyFile',
    type: 'string',
    default: undefined,
    description: 'PEM file with the private key of TESSERA_TLS_CERT_FILE.',
  },
  {
    env: 'TESSERA_MTLS_CERT_HEADER',
    key: 'mtlsCertHeader',
    type: 'string',
    default: undefined,
    description:
      'Name of the header in which a TLS-terminating reverse proxy forwards the client certificate (URL-encoded PEM as nginx $ssl_client_escaped_cert, or base64 DER), e.g. x-ssl-client-cert. Believed only on connections from a TESSERA_TRUST_PROXY address (the socket address); ignored otherwise. Not together with TESSERA_TLS_CERT_FILE.',
  },
  {
    env: 'TESSERA_MTLS_CA_FILE',
    key: 'mtlsCaFile',
    type: 'string',
    default: undefined,
    description:
      'PEM bundle of the certificate authorities whose client certificates tls_client_auth accepts. Unset: only self_signed_tls_client_auth is offered (when a client certificate source is configured).',
  },
  {
    env: 'REDIS_URL',
    key: 'redisUrl',
    type: 'string',
    default: undefined,
    description:
      'redis://[user:password@]host:port[/db] or rediss:// (TLS): Redis or Valkey for state every instance shares, the replay cache and the rate-limit counters. Unset: replay markers in the database, rate limits counted per process. With TESSERA_REDIS_CLUSTER, a comma-separated list of seed nodes.',
  },
  {
    env: 'TESSERA_REDIS_CLUSTER',
    key: 'redisCluster',
    type: 'bool',
    default: false,
    description: 'REDIS_URL names seed nodes of a Redis Cluster (one is enough; the others are discovered).',
  },
  {
    env: 'TESSERA_REDIS_PREFIX',
    key: 'redisPrefix',
    type: 'string',
    default: 'tessera:',
    description: 'Prefix of every Redis key Tessera writes, so several deployments can share one Redis.',
  },
  {
    env: 'TESSERA_REDIS_TIMEOUT',
    key: 'redisTimeout',
    type: 'int',
    default: 500,
    min: 50,
    max: 10000,
    description:
      'Longest time one request waits for Redis, all its commands together, milliseconds (time the event loop was busy with other work is not counted, up to twice this in wall time); a command past it fails (replay checks answer 503, rate limits fall back to the process) and opens the circuit breaker for a short back-off. Connection attempts wait at most 2 s or this, whichever is longer.',
  },
  {
    env: 'TESSERA_RATE_LIMITING',
    key: 'rateLimiting',
    type: 'bool',
    default: true,
    description:
      'Per-endpoint rate limits (TESSERA_RATE_LIMITS); false turns them all off. Failed-login throttling stays on either way.',
  },
  {
    env: 'TESSERA_RATE_LIMITS',
    key: 'rateLimits',
    type: 'list',
    default: [],
    description: `Changes to the default rate limits, as policy.key=LIMIT/WINDOW (window in seconds, or with s, m, h) or policy.key=off, space- or comma-separated. Defaults: ${describeRateLimits(DEFAULT_RATE_LIMITS)}.`,
  },
  {
    env: 'TESSERA_RATE_LIMIT_IPV6_PREFIX',
    key: 'rateLimitIpv6Prefix',
    type: 'int',
    default: 64,
    min: 16,
    max: 128,
    description:
      "Prefix length by which IPv6 client addresses are counted in every per-address limit (the rate limits' ip rules, failed-login throttling, wrong device user codes): one host usually holds a whole /64. IPv4 addresses count one by one; IPv6 addresses that stand for an IPv4 host (IPv4-mapped, NAT64 64:ff9b::/96, 6to4, Teredo) as that IPv4 address.",
  },
  {
    env: 'TESSERA_METRICS_TOKEN',
    key: 'metricsToken',
    type: 'string',
    default: undefined,
    description:
      'Bearer token (at least 32 characters) that unlocks GET /metrics on the main listener. Unset: /metrics is not served there.',
  },
  {
    env: 'TESSERA_METRICS_PORT',
    key: 'metricsPort',
    type: 'int',
    default: undefined,
    min: 1,
    max: 65535,
    description:
      'Serve Prometheus metrics without authentication on this port of TESSERA_METRICS_HOST (a separate listener for the internal network).',
  },
  {
    env: 'TESSERA_METRICS_HOST',
    key: 'metricsHost',
    type: 'string',
    default: '127.0.0.1',
    description: 'Address of the separate metrics listener.',
  },
  {
    env: 'TESSERA_TRACING',
    key: 'tracing',
    type: 'enum',
    values: ['off', 'otlp'],
    default: 'off',
    description:
      "OpenTelemetry tracing: otlp sends a span per HTTP request (continuing an incoming traceparent), with a child per storage call and per Redis command, to TESSERA_OTLP_ENDPOINT over OTLP/HTTP (JSON), and puts trace_id and span_id in that request's log lines (docs/observability.md). off loads no OpenTelemetry code.",
  },
  {
    env: 'TESSERA_OTLP_ENDPOINT',
    key: 'otlpEndpoint',
    type: 'string',
    default: undefined,
    description:
      "URL the spans are sent to (an OpenTelemetry collector's OTLP/HTTP traces endpoint, http or https). Unset: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT with /v1/traces added, else http://localhost:4318/v1/traces.",
  },
  {
    env: 'TESSERA_SERVICE_NAME',
    key: 'serviceName',
    type: 'string',
    default: 'tessera',
    description: 'The service.name of the spans (TESSERA_TRACING).',
  },
  {
    env: 'TESSERA_ADMIN_TOKEN',
    key: 'adminToken',
    type: 'string',
    default: undefined,
    description:
      "Break-glass bearer token (at least 32 characters, random) for the admin API under /admin/api/v1 with the owner's permissions: for the first owner only, until admin clients and owners exist (docs/admin.md). Unset: only admin tokens Tessera issued are accepted.",
  },
  {
    env: 'TESSERA_ADMIN_TOKEN_TTL',
    key: 'adminTokenTtl',
    type: 'int',
    default: 300,
    min: 30,
    max: 3600,
    description:
      "Lifetime in seconds of the access tokens Tessera issues for its own admin API (client_credentials of admin clients, the CLI's device flow); they come without refresh tokens.",
  },
  {
    env: 'TESSERA_ADMIN_CONSOLE',
    key: 'adminConsole',
    type: 'bool',
    default: true,
    description:
      "Serve the admin console under /admin (people with an admin role sign in through Tessera's own login).",
  },
  {
    env: 'TESSERA_ADMIN_PORT',
    key: 'adminPort',
    type: 'int',
    default: undefined,
    min: 1,
    max: 65535,
    description:
      "Serve the admin API only on this port of TESSERA_ADMIN_HOST (a separate listener, as Hydra's admin port), not on the main listener. The console stays on the main listener, where people sign in (TESSERA_ADMIN_CONSOLE=false removes it).",
  },
  {
    env: 'TESSERA_ADMIN_HOST',
    key: 'adminHost',
    type: 'string',
    default: '127.0.0.1',
    description: 'Address of the separate admin listener (TESSERA_ADMIN_PORT).',
  },
  {
    env: 'TESSERA_CLIENT_SECRET_OVERLAP',
    key: 'clientSecretOverlap',
    type: 'int',
    default: 3600,
    min: 0,
    max: 2592000,
    description:
      "Seconds a client's previous secret keeps working after its secret is rotated (an operator may choose another overlap per rotation, 0 for none).",
  },
  {
    env: 'TESSERA_AUDIT_RETENTION_DAYS',
    key: 'auditRetentionDays',
    type: 'int',
    default: 365,
    min: 1,
    description: 'Days audit records are kept; older ones are deleted by the periodic cleanup.',
  },
  {
    env: 'TESSERA_WORKERS',
    key: 'workers',
    type: 'int',
    default: 1,
    min: 0,
    max: 64,
    description:
      'Server processes sharing the port (node:cluster); 0 starts one per CPU core. With more than one, use PostgreSQL, or SQLite on a local disk.',
  },
  {
    env: 'TESSERA_SHUTDOWN_DRAIN_SECONDS',
    key: 'shutdownDrainSeconds',
    type: 'int',
    default: (m) => (m === 'production' ? 5 : 0),
    min: 0,
    max: 120,
    description:
      'On SIGTERM, keep serving this long with /ready answering 503 and every response closing its connection, so load balancers stop sending traffic before the listener closes; then finish the requests in flight and exit.',
  },
  {
    env: 'TESSERA_BODY_LIMIT',
    key: 'bodyLimit',
    type: 'int',
    default: 65536,
    min: 1024,
    max: 10485760,
    description: 'Largest request body accepted, bytes.',
  },
  {
    env: 'TESSERA_LOG_LEVEL',
    key: 'logLevel',
    type: 'enum',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    default: 'info',
    description: 'Log level (JSON logs on stdout).',
  },
];
