import type { X509Certificate } from 'node:crypto';
import type { Config } from '../config/config.ts';
import type { Mailer } from '../ports/mail.ts';
import type { Stores } from '../ports/index.ts';
import type { AccessTokenMemo } from './tokens/access-token.ts';
import type { ClientKeys } from './client-auth/client-keys.ts';
import type { EventSink } from './events.ts';
import type { ClaimMappingsCache } from './claim-mappings-cache.ts';
import type { GrantFactsCache, PairwiseKeys, ResourceRegistryCache } from './services.ts';
import type { LogoutDelivery } from './logout/back-channel.ts';
import type { OutboundHttp } from '../ports/outbound.ts';
import type { ClientLogos } from './client-logos.ts';
import type { BrandingCache } from './branding.ts';
import type { UpstreamClient } from '../ports/upstream-client.ts';
import type { SecretMemo } from './client-auth/secret-hash.ts';
import type { KeyRing } from './tokens/keys.ts';
import type { Msg, Words } from '../i18n/catalog.ts';
import type { AccountSection, AccountView } from './account/views.ts';

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** What the protocol layer works with: configuration, storage ports, keys and a clock. */
export interface Provider {
  readonly config: Config;
  readonly stores: Stores;
  /** The current key ring (replaced when keys rotate). */
  keys(): KeyRing;
  /** Now, in epoch seconds. */
  now(): number;
  readonly log: Logger;
  /** Where the protocol reports what it did (metrics, audit). */
  readonly events: EventSink;

  // ---- Protocol services: this Provider's memos and caches (services.ts), built once by
  // protocolServices() and timed by now() above.
  /** Access tokens already verified against the current key ring (verifyAccessToken). */
  readonly verifiedTokens: AccessTokenMemo;
  /** Client secrets that passed the keyed check (verifyClientSecret). */
  readonly verifiedSecrets: SecretMemo;
  /** The keys of pairwise subjects (subjectFor). */
  readonly pairwiseKeys: PairwiseKeys;
  /** userinfo: the user and requested claims of an access token's grant, by jti. */
  readonly grantFacts: GrantFactsCache;
  /** This process's copy of the resource-server registry (resourceRegistry, currentRegistry). */
  readonly resourceRegistry: ResourceRegistryCache;
  /** This process's copy of the claim mappings of the directory (claim-mappings-cache.ts). */
  readonly claimMappings: ClaimMappingsCache;
  /** This process's copy of the stored branding (branding.ts); absent: the environment's and Tessera's own. */
  readonly branding?: BrandingCache;

  // Outbound requests to clients' servers, and the services over them (built in app.ts, one per process).
  /** HTTP to URLs clients registered (ports/outbound.ts). */
  readonly outbound: OutboundHttp;
  /** Clients' key sets: inline, or fetched from jwks_uri and cached. */
  readonly clientKeys: ClientKeys;
  /** Back-channel logout deliveries in flight. */
  readonly logoutDelivery: LogoutDelivery;
  /** Clients' logos, fetched once and served by Tessera (client-logos.ts); absent: no logos on the consent page. */
  readonly clientLogos?: ClientLogos;
  /** Mail to users: queued durably, delivered by the mail adapter (ports/mail.ts). */
  readonly mail: Mailer;
  /** Upstream identity providers: authorization URLs, callbacks, logout tokens (ports/upstream-client.ts). */
  readonly upstream: UpstreamClient;
  /**
   * The health of what this process depends on (database, signing key, Redis when configured), as
   * /ready reports it: each `ok` or why not. Absent where nothing wires it (tests building a provider).
   */
  readonly health?: () => Promise<Record<string, string>>;
}

/**
 * What a protocol function needs of the provider, as its own signature declares it: deps types name
 * it instead of repeating it, so they follow when that function's needs change.
 */
export type DepsOf<F extends (p: never, ...rest: never[]) => unknown> = Parameters<F>[0];
/** The stores K of the provider, for a function that reads no other part of it. */
export type StoreDeps<K extends keyof Stores> = { readonly stores: Pick<Stores, K> };

/** The transport-neutral request the HTTP layer hands to the protocol layer. */
export interface ProtocolRequest {
  method: string;
  /** Query parameters (GET) or form parameters (POST), duplicates preserved. */
  params: URLSearchParams;
  /** Lower-cased header names. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  cookies: Readonly<Record<string, string | undefined>>;
  ip: string;
  /**
   * The TLS client certificate (RFC 8705): from the connection when Tessera terminates TLS, or from
   * TESSERA_MTLS_CERT_HEADER on a connection from a trusted proxy. Absent otherwise.
   */
  clientCertificate?: X509Certificate;
  /** The parsed JSON body, on the routes that take JSON (dynamic client registration); params is then empty. */
  json?: unknown;
}

export interface CookieSpec {
  /** Base name; the HTTP layer adds the __Host- prefix when cookies are Secure. */
  name: string;
  /** Empty value with maxAge 0 clears the cookie. */
  value: string;
  maxAge: number;
  /** Always '/': every cookie is a __Host- cookie when Secure (http/cookies.ts). */
  path: '/';
}

/** A self-registered client's name is unverified; the pages say so, with where the answer goes (none for a device). */
export interface Unverified {
  host?: string;
  /** A Client ID Metadata Document client: the host of its client_id, which publishes its details. */
  documentHost?: string;
}

export type View =
  | {
      name: 'login';
      action: string;
      csrf: string;
      clientName: string;
      /** The account area's login (not a client's): the page says "your account" in its language, not clientName. */
      accountArea?: boolean;
      username?: string;
      error?: Msg;
      /** The error is the passkey's: the username and password fields, not used, are not marked invalid. */
      passkeyError?: boolean;
      signupUrl?: string;
      /** TESSERA_PASSWORD_RESET on: where "Forgot password?" leads. */
      forgotUrl?: string;
      unverified?: Unverified;
      /** Passkey sign-in on this page (protocol/passkeys.ts passkeyLoginBlock). */
      passkey?: PasskeyLogin;
      /** The error is an upstream provider's: the username and password fields are not marked invalid. */
      upstreamError?: boolean;
      /** The enabled upstream identity providers, as buttons in order (upstream/login-options.ts). */
      upstreams?: { id: string; label: string; action: string }[];
    }
  | {
      name: 'signup';
      action: string;
      csrf: string;
      clientName: string;
      emailRequired: boolean;
      values: { username: string; email: string; name: string };
      errors: Partial<Record<'username' | 'email' | 'name' | 'password' | 'confirm', Msg>>;
      error?: Msg;
      loginUrl?: string;
      unverified?: Unverified;
    }
  | {
      name: 'consent';
      action: string;
      csrf: string;
      clientName: string;
      username: string;
      /** `releases`: the claims of the directory the scope releases to this client and these resources. */
      scopes: { name: string; description: Words; releases?: string[] }[];
      resources?: { uri: string; name?: string }[];
      userCode?: string;
      claims?: string[];
      unverified?: Unverified;
      authorizationDetails?: { type: string; fields: { name: string; value: string }[] }[];
      /** A Client ID Metadata Document client (ui/pages.ts ClientIdDocument). */
      clientIdDocument?: { clientIdHost: string; redirectHost: string; firstTime: boolean; localOnly: boolean };
      /** The client's logo as Tessera serves it (GET /clients/<client_id>/logo), only when it is at hand. */
      clientLogo?: string;
      /** RFC 7591 section 2: the client's home page, privacy policy and terms of service. */
      clientUri?: string;
      policyUri?: string;
      tosUri?: string;
    }
  | {
      name: 'select-account';
      action: string;
      csrf: string;
      clientName: string;
      username: string;
      unverified?: Unverified;
    }
  /** The second factor of a sign-in or step-up (ui/second-factor-page.ts). */
  | {
      name: 'second-factor';
      action: string;
      csrf: string;
      clientName: string;
      /** The account area's sign-in (not a client's): the page says "your account" in its language. */
      accountArea?: boolean;
      username: string;
      /** What the form asks for: an app's code, a recovery code, or nothing (a passkey only). */
      method: 'totp' | 'recovery' | 'none';
      totp: boolean;
      recovery: boolean;
      /** Offer "remember this browser" (TESSERA_MFA_REMEMBER_DEVICE). */
      remember: boolean;
      error?: Msg;
      /** The user's passkeys as the factor (protocol/passkeys.ts passkeySecondFactorBlock), posted to `action`. */
      passkey?: PasskeyLogin;
      unverified?: Unverified;
    }
  /** A policy needs a factor the user has not set up: enrol, or skip within the grace (ui/second-factor-page.ts). */
  | {
      name: 'mfa-enrol';
      clientName: string;
      username: string;
      factor: 'totp' | 'passkey';
      /** The account area's enrolment page, and the sign-in it continues (`/interaction/<uid>`) afterwards. */
      enrol: { action: string; continueTo: string };
      skip?: { action: string; csrf: string; until: number };
    }
  | { name: 'device'; action: string; csrf: string; userCode?: string; error?: Msg }
  | { name: 'device-done'; approved: boolean; clientName: string }
  /** `detail`: an OAuth error's description (technical, for developers, in English), shown below the message. */
  | { name: 'error'; title: Msg; message: Msg; detail?: string; link?: { href: string; text: Msg } }
  /** A sign-in through an upstream that did not go through (ui/upstream-pages.ts), with the way back. */
  | { name: 'upstream-problem'; title: Msg; message: Msg; link?: { href: string; text: Msg } }
  /** After a bounced form_post: on to `location` (another site) by a refresh, not a redirect (ui/upstream-pages.ts). */
  | { name: 'upstream-continue'; location: string }
  | {
      name: 'logout-confirm';
      action: string;
      csrf: string;
      clientName?: string;
      hidden: Record<string, string>;
      unverifiedHost?: string;
    }
  /** frames: front-channel logout iframe URLs; continueTo: post_logout_redirect_uri to go on to after them. */
  | { name: 'logged-out'; frames?: string[]; continueTo?: string }
  // Mail pages (interaction/email.ts, interaction/recovery.ts; ui/recovery-pages.ts).
  | { name: 'forgot-password'; action: string; csrf: string; sent: boolean }
  | {
      name: 'reset-password';
      action: string;
      csrf: string;
      token: string;
      username: string;
      /** The account has an authenticator app or recovery codes: a code is asked for too. */
      needsCode: boolean;
      /** The account has passkeys: the form can be sent with one instead of a code (protocol/passkeys.ts). */
      passkey?: PasskeyLogin;
      error?: Msg;
    }
  | { name: 'verify-email'; action: string; csrf: string; token: string; address: string }
  | { name: 'email-unverified'; action: string; csrf: string; ticket: string; address: string; sent: boolean }
  | { name: 'recovery-done'; title: Msg; message: Msg; link?: { href: string; text: Msg } }
  | PasskeysView
  /** A page of the account area (protocol/account/): `nav` marks the section in its navigation. */
  | { name: 'account-area'; nav?: AccountSection; account: AccountView }
  /**
   * A page of the admin console (console/): rendered by ui/console-pages.ts from what the console
   * looked up, given only the page's CSP nonce here.
   */
  /**
   * `chrome`: the nonce, branding, language and language links the HTTP layer renders every page with (ui/html.ts
   * PageChrome).
   */
  | { name: 'console'; render(chrome: PageChromeOf): string };

/**
 * What the HTTP layer renders a page with (ui/html.ts PageChrome, which protocol/ may not import):
 * the CSP nonce, the branding, the language and the links to the page in the others.
 */
export interface PageChromeOf {
  nonce: string;
  brand?: unknown;
  locale?: 'en' | 'de' | 'fr';
  languages?: readonly { locale: 'en' | 'de' | 'fr'; href: string }[];
}

/**
 * What a page's endpoint knows of the language to show it in (i18n/negotiate.ts LanguageHints): the
 * authorization request's ui_locales, the signed-in user's own choice. The HTTP layer adds the
 * person's pick from the language links and Accept-Language, and always negotiates.
 */
export interface PageLanguage {
  uiLocales?: string;
  userLocale?: string | null;
  /**
   * The page's address used something up (an upstream's callback took its state): loading it again
   * would not show this page, so it offers no links to itself in other languages.
   */
  once?: boolean;
}

/** A login page's passkey sign-in: where the answer is posted, the options (JSON), the scripts' base URL. */
export interface PasskeyLogin {
  action: string;
  options: string;
  assets: string;
  /** The button's text (default "Sign in with a passkey"). */
  label?: Msg;
}

/** The account area's passkeys page (/account/security/passkeys): the user's passkeys, and adding one. */
export interface PasskeysView {
  name: 'passkeys';
  action: string;
  csrf: string;
  username: string;
  /** The registration options (JSON). */
  options: string;
  assets: string;
  passkeys: { name: string; createdAt: number; lastUsedAt: number | null; synced: boolean }[];
  /** Where the user goes on after adding one: a sign-in in progress (path /interaction/<uid>, and its URL). */
  continueTo?: { path: string; url: string };
  accountUrl: string;
  error?: Msg;
  added?: string;
}

export type OAuthResponse =
  | { kind: 'json'; status: number; body: object; headers?: Record<string, string> }
  /** A non-JSON body, e.g. a signed JWT response (RFC 9701). */
  | { kind: 'raw'; status: number; contentType: string; body: string; headers?: Record<string, string> }
  | { kind: 'redirect'; location: string; cookies?: CookieSpec[] }
  | { kind: 'form_post'; action: string; fields: Record<string, string>; cookies?: CookieSpec[] }
  /**
   * formActions: where the page's forms may lead besides here (through our redirect), e.g. the client's redirect_uri.
   * frameSources: URLs the page frames (CSP frame-src gets their origins).
   */
  | {
      kind: 'page';
      status: number;
      view: View;
      /** What the endpoint knows of the page's language (the HTTP layer negotiates with it). */
      language?: PageLanguage;
      cookies?: CookieSpec[];
      formActions?: string[];
      headers?: Record<string, string>;
      frameSources?: string[];
    };

export function header(req: ProtocolRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
