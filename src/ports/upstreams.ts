// Upstream sign-in (issue 17): the identity providers an operator configured as ways in, the
// identities they vouch for (linked to Tessera users), and the state of a redirect to one of them.

/**
 * How Tessera talks to an upstream: OpenID Connect (discovery, ID token), or plain OAuth 2.0 with a profile endpoint.
 */
export type UpstreamKind = 'oidc' | 'oauth2';
/**
 * A preset: defaults filled in when the provider is saved, and the upstream's own shapes (admin/upstream-presets.ts).
 */
export type UpstreamPreset = 'github' | 'google' | 'microsoft' | 'gitlab' | 'apple';
/** How Tessera authenticates to the upstream's token endpoint. */
export type UpstreamClientAuth = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';

/** The upstream claims Tessera reads, by the name the upstream gives them (dotted paths not supported). */
export interface UpstreamClaimMapping {
  /** OAuth 2.0 profiles: the member that identifies the account (GitHub: `id`); OIDC always uses `sub`. */
  subject: string;
  username: string;
  name: string;
  email: string;
  emailVerified: string;
  groups?: string;
}

/** One configured upstream identity provider (stored whole; saved by admin/upstreams.ts). */
export interface UpstreamProvider {
  /** Slug, [a-z0-9][a-z0-9-]{0,31}: in URLs (/upstream/<id>/callback) and in the hint parameter. */
  id: string;
  kind: UpstreamKind;
  preset?: UpstreamPreset;
  /** The button's text on the login page ("Sign in with <label>"). */
  label: string;
  /** Buttons are shown by ascending order, then id. */
  order: number;
  enabled: boolean;
  /**
   * OIDC: the issuer (discovery at <issuer>/.well-known/openid-configuration unless discoveryUrl).
   * Microsoft multi-tenant: the template with the literal `{tenantid}`. OAuth 2.0: a name for the
   * identities' issuer column (the authorization server's origin when not set).
   */
  issuer: string;
  discoveryUrl?: string;
  /** Endpoints: required for OAuth 2.0; for OIDC they override what discovery says. */
  authorizationEndpoint?: string;
  tokenEndpoint?: string;
  userinfoEndpoint?: string;
  jwksUri?: string;
  /** OAuth 2.0 presets: where the verified email addresses are listed (GitHub's /user/emails). */
  emailsEndpoint?: string;
  clientId: string;
  clientAuth: UpstreamClientAuth;
  /**
   * The client secret, or for private_key_jwt the private JWK (JSON), wrapped under the key-encryption
   * key (accounts/secret-wrap.ts wrapUnderKek); never the plain value.
   */
  secretWrapped?: string;
  /** Apple: the key id and team id its client-secret JWT is signed with (secretWrapped holds the P-256 key). */
  appleKeyId?: string;
  appleTeamId?: string;
  scopes: string[];
  /** query (default) or form_post (Apple, which sends the name in a form field). */
  responseMode: 'query' | 'form_post';
  claims: UpstreamClaimMapping;
  /**
   * Only identities whose verified email is in one of these domains (Google: the `hd` claim) may sign in. Empty: any.
   */
  allowedDomains: string[];
  /** Microsoft: only these tenant ids (`tid`) may sign in. Empty: any tenant. */
  allowedTenants: string[];
  /** Just-in-time: a first sign-in creates a Tessera user; else only identities already linked sign in. */
  createUsers: boolean;
  /**
   * Automatic linking to an existing account with the same email, only for these email domains the
   * upstream is authoritative for, and only with email_verified true. Empty (default): never.
   */
  autoLinkDomains: string[];
  /** Pass the upstream's RFC 8176 amr values through to the session (beside `fed`). */
  trustAmr: boolean;
  /** Upstream acr value → the Tessera acr value a sign-in with it counts as (claims-request.ts). */
  acrMap: Record<string, string>;
  /** Email domains whose users the login page sends straight to this upstream (home-realm discovery). */
  homeRealmDomains: string[];
  /** The upstream's URLs may resolve to private and loopback addresses and use http (on-premise, tests). */
  privateNetwork: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface UpstreamStore {
  /** Every configured provider, enabled or not, by ascending order then id. */
  list(): Promise<UpstreamProvider[]>;
  get(id: string): Promise<UpstreamProvider | undefined>;
  /** Creates or replaces the provider (by id). */
  put(provider: UpstreamProvider): Promise<void>;
  /** Deletes the provider and every identity linked through it; false when there was none. */
  delete(id: string): Promise<boolean>;
}

/** An upstream identity linked to a Tessera user: keyed by (provider, issuer, subject), never by email. */
export interface UpstreamIdentity {
  providerId: string;
  /** The upstream issuer that vouched for it (Microsoft: the tenant's issuer). */
  issuer: string;
  /** The upstream subject (Microsoft: the `oid`, the issuer naming the tenant). */
  subject: string;
  userId: string;
  /** The email the upstream gave when it was linked or last used (shown on the account page only). */
  email: string | null;
  createdAt: number;
  lastUsedAt: number;
}

export type UpstreamIdentityKey = Pick<UpstreamIdentity, 'providerId' | 'issuer' | 'subject'>;

export interface UpstreamIdentityStore {
  find(key: UpstreamIdentityKey): Promise<UpstreamIdentity | undefined>;
  listByUser(userId: string): Promise<UpstreamIdentity[]>;
  /**
   * Links the identity (one insert): `linked`, or `exists` when it is this user's already, or
   * `taken` when another user holds it (nothing changed). Of concurrent links of one identity one wins.
   */
  link(identity: UpstreamIdentity): Promise<'linked' | 'exists' | 'taken'>;
  /** Records a sign-in with it: last use and the email it came with. */
  touch(key: UpstreamIdentityKey, now: number, email: string | null): Promise<void>;
  /**
   * Unlinks the user's identity, unless it is the user's last way to sign in: when `otherWay` is
   * false (no password, no passkey), only if the user keeps another linked identity (checked in the
   * same statement). `unlinked`, `last` (refused) or `missing`.
   */
  unlink(userId: string, key: UpstreamIdentityKey, otherWay: boolean): Promise<'unlinked' | 'last' | 'missing'>;
  /** Every identity of the user (account deletion); how many. */
  deleteByUser(userId: string): Promise<number>;
}

/** Why a redirect to an upstream was made, and where its answer goes on to. */
export type UpstreamPurpose = 'login' | 'account-login' | 'link' | 'reauth';

/** A redirect to an upstream in flight: single use, bound to the browser that started it. */
export interface UpstreamState {
  /** SHA-256 (base64url) of the `state` sent to the upstream. */
  stateHash: string;
  providerId: string;
  /** SHA-256 (base64url) of the browser's `tessera_upstream` cookie. */
  bindingHash: string;
  purpose: UpstreamPurpose;
  /** login: the interaction it continues. */
  interactionUid?: string;
  /** link and reauth: the signed-in user the identity is for (or must be). */
  userId?: string;
  /** reauth and link: the account page (a path) to go back to afterwards. */
  returnTo?: string;
  /** PKCE (RFC 7636) verifier and OIDC nonce sent with the request. */
  codeVerifier: string;
  nonce: string;
  /** The max_age sent to the upstream, which its ID token's auth_time must meet (absent: none sent). */
  maxAge?: number;
  createdAt: number;
  expiresAt: number;
}

export interface UpstreamStateStore {
  create(state: UpstreamState): Promise<void>;
  /**
   * Takes the state (one DELETE ... RETURNING) when its hash, provider and binding all match and it
   * has not expired: of concurrent callers one gets it; a mismatch neither returns nor burns it.
   */
  consume(stateHash: string, providerId: string, bindingHash: string, now: number): Promise<UpstreamState | undefined>;
}
