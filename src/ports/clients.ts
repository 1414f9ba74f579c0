import type { Page, PageQuery } from './admin.ts';

/** The token endpoint authentication methods Tessera knows, in the order discovery lists them. */
export const CLIENT_AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
  'tls_client_auth',
  'self_signed_tls_client_auth',
  'none',
] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];
export type GrantType =
  | 'authorization_code'
  | 'refresh_token'
  | 'client_credentials'
  | 'urn:ietf:params:oauth:grant-type:device_code'
  | 'urn:ietf:params:oauth:grant-type:token-exchange';

export interface ClientRecord {
  clientId: string;
  clientName: string;
  /** Keyed hash of the secret (see protocol/client-auth/secret-hash.ts); null for public clients. */
  secretHash: string | null;
  tokenEndpointAuthMethod: ClientAuthMethod;
  applicationType: 'web' | 'native';
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  grantTypes: GrantType[];
  /** Scopes the client may ask for. */
  scopes: string[];
  /** RFC 8707 resources the client may ask for; empty means any absolute URI. */
  allowedResources: string[];
  /** First-party clients may skip the consent screen. */
  skipConsent: boolean;
  disabled: boolean;
  /** Further RFC 7591 metadata that features read (stored as JSON; see ClientMetadata). */
  metadata: ClientMetadata;
  createdAt: number;
  updatedAt: number;
  /**
   * When the first token was issued to the client (ClientStore.markUsed); absent: never. Kept by
   * `put`, whatever the record put says. Clients stored before it was recorded count as used.
   */
  firstUsedAt?: number;
}

/**
 * Optional client metadata beyond the core columns, under its RFC 7591 / OIDC registration names.
 * Each feature that needs a client setting adds its field here (no migration needed: stored as one
 * JSON column). Unknown keys are never accepted from input; admin/clients.ts validates each field.
 */
export interface ClientMetadata {
  [key: string]: unknown;
  /** RFC 9449 section 5.2: the token endpoint refuses requests of this client without a DPoP proof. */
  dpop_bound_access_tokens?: boolean;
  /** RFC 9126 section 6: this client's authorization requests must be pushed to /par first. */
  require_pushed_authorization_requests?: boolean;
  /** The client's public keys inline (RFC 7591 jwks); never together with jwks_uri. */
  jwks?: { keys: Record<string, unknown>[] };
  /** Where the client publishes its public keys (fetched with the rules of protocol/client-auth/client-keys.ts). */
  jwks_uri?: string;
  /** The one JWS algorithm accepted for this client's assertions (private_key_jwt, client_secret_jwt). */
  token_endpoint_auth_signing_alg?: string;
  /** The one JWS algorithm accepted for this client's request objects (RFC 9101). */
  request_object_signing_alg?: string;
  /** Authorization requests of this client must come as signed request objects. */
  require_signed_request_object?: boolean;
  /**
   * client_secret_jwt only: the client secret itself, which HMAC verification needs, wrapped under a
   * key derived from the key-encryption key (compact JWE dir/A256GCM); never shown or logged.
   */
  client_secret_jwe?: string;
  /**
   * The secret before the last rotation, still accepted (client_secret_basic and client_secret_post)
   * until `expires_at` (epoch seconds; TESSERA_CLIENT_SECRET_OVERLAP or the operator's overlap): its
   * keyed hash, and when it was replaced. Set only by a rotation (admin/clients.ts); never shown.
   */
  client_secret_previous?: { hash: string; expires_at: number; rotated_at: number };
  /**
   * JARM: authorization responses of this client are signed JWTs (response_mode query.jwt) unless
   * it asks for another mode; the algorithm must be the one of Tessera's active signing key.
   */
  authorization_signed_response_alg?: string;
  /**
   * OpenID Connect Registration 2: the algorithm of this client's ID tokens (and logout tokens); default RS256, FAPI
   * clients ES256 (protocol/tokens/response-algs.ts).
   */
  id_token_signed_response_alg?: string;
  /**
   * OpenID Connect Registration 2: userinfo answers are JWTs signed with this algorithm (application/jwt); plain JSON
   * when absent.
   */
  userinfo_signed_response_alg?: string;
  /** RFC 9701 section 6: the algorithm of JWT introspection responses to this client; default RS256. */
  introspection_signed_response_alg?: string;
  /**
   * false: the ID token from the token endpoint carries no profile or email claims from the granted
   * scopes, only those the claims parameter names (OIDC Core 5.4: userinfo only). Default true.
   */
  id_token_scope_claims?: boolean;
  /**
   * The second-factor policy for sign-ins to this client (issue 16): off, optional, required or
   * phishing-resistant. Only a stricter policy than TESSERA_MFA takes effect (never a weaker one).
   */
  mfa?: 'off' | 'optional' | 'required' | 'phishing-resistant';
  /**
   * RFC 8705 section 2.1.2: tls_client_auth clients register exactly one of these (subject DN in RFC 4514 form, or one
   * SAN value).
   */
  tls_client_auth_subject_dn?: string;
  tls_client_auth_san_dns?: string;
  tls_client_auth_san_uri?: string;
  tls_client_auth_san_ip?: string;
  tls_client_auth_san_email?: string;
  /** RFC 8705 section 3.4: access tokens of this client are bound to its TLS client certificate (cnf x5t#S256). */
  tls_client_certificate_bound_access_tokens?: boolean;
  /** Token exchange (RFC 8693): what this client may exchange, and for which audiences. */
  token_exchange?: TokenExchangePolicy;
  /** RFC 9396 section 10.2: the authorization_details types this client may use (default: every configured type). */
  authorization_details_types?: string[];
  /** FAPI 2.0 Security Profile for this client (protocol/fapi.ts), whatever TESSERA_FAPI_PROFILE says. */
  fapi_profile?: '2.0';
  /** FAPI 2.0 Message Signing for this FAPI client: signed request objects and JWT-secured responses. */
  fapi_message_signing?: boolean;
  /** OpenID Connect Core 8: `public` (default) or `pairwise` subject identifiers for this client. */
  subject_type?: 'public' | 'pairwise';
  /** Pairwise clients: an https URL listing the client's redirect URIs, whose host is the sector. */
  sector_identifier_uri?: string;
  /**
   * Pairwise clients: the sector their subjects are computed for, fixed when the client was made
   * pairwise (protocol/tokens/subject.ts sectorFor). Pairwise clients stored before it existed
   * have none and keep the sector computed from their URIs, so their `sub` values do not change.
   */
  sector?: string;
  /**
   * RFC 7591 section 2: the client's logo (fetched by the consent page through the outbound port and
   * served from Tessera's own cache, protocol/client-logos.ts; only for clients an operator made), its
   * home page, its privacy policy and its terms of service, shown on the consent page; https URLs
   * (http on a loopback host with the development allowance).
   */
  logo_uri?: string;
  client_uri?: string;
  policy_uri?: string;
  tos_uri?: string;
  /**
   * OpenID Connect Back-Channel Logout: where logout tokens are POSTed (https; http loopback only with the development
   * allowance).
   */
  backchannel_logout_uri?: string;
  /** The client needs `sid` in logout tokens (Tessera always sends sid and sub). */
  backchannel_logout_session_required?: boolean;
  /** OpenID Connect Front-Channel Logout: the page framed (with iss and sid) on the logged-out page. */
  frontchannel_logout_uri?: string;
  /** The client needs iss and sid on its frontchannel_logout_uri (Tessera always adds them). */
  frontchannel_logout_session_required?: boolean;
  /**
   * RFC 8707 per-resource scopes: resource URI -> the scopes an access token for it may carry
   * (OpenID Connect scopes are not restricted). A resource without an entry gets the granted scopes.
   */
  resource_scopes?: Record<string, string[]>;
  /**
   * false: authorization requests may go without PKCE if they are OpenID Connect requests with a
   * nonce (protocol/pkce.ts). Operator-only; confidential clients only, never self-registered or FAPI.
   */
  pkce_required?: false;
  /** Set for clients created through dynamic registration (RFC 7591); never shown or logged. */
  registration?: DynamicRegistration;
}

export interface DynamicRegistration {
  /** SHA-256 of the current registration access token (RFC 7592). */
  access_token_hash: string;
  /**
   * The TESSERA_REGISTRATION mode the client was registered under; `cimd`: made from a Client ID Metadata Document
   * (never stored).
   */
  mode: 'open' | 'initial_access_token' | 'admin_approval' | 'cimd';
}

export interface TokenExchangePolicy {
  /** Audiences (RFC 8693 `audience`, or RFC 8707 `resource` URIs) the client may ask tokens for. */
  audiences: string[];
  /**
   * Clients whose Tessera tokens (access, refresh, ID) may be subject tokens; ["*"] for any. External JWTs are vouched
   * for by `trusted_issuers`.
   */
  subject_clients: string[];
  /**
   * Token types accepted as subject and actor tokens (short names of the RFC 8693 URIs); default
   * ["access_token"]. `jwt` is a JWT of one of `trusted_issuers`.
   */
  token_types?: TokenExchangeTokenType[];
  /** Scopes the exchanged tokens may carry (within the client's scopes); default: the client's scopes. */
  scopes?: string[];
  /** Delegation (actor_token, the `act` claim) is allowed; default false (impersonation only). */
  delegation?: boolean;
  /** With delegation: clients whose Tessera tokens may be actor tokens; ["*"] for any. */
  actor_clients?: string[];
  /** External issuers whose JWTs (token type `jwt`) may be subject or actor tokens. */
  trusted_issuers?: TrustedIssuer[];
}

export type TokenExchangeTokenType = 'access_token' | 'refresh_token' | 'id_token' | 'jwt';

/** An external JWT issuer trusted for token exchange: its keys (inline or by URI) and algorithms. */
export interface TrustedIssuer {
  /** The exact `iss` value of its JWTs. */
  issuer: string;
  /** Its public keys, inline. */
  jwks?: ClientMetadata['jwks'];
  /** Where it publishes its public keys (fetched with the rules of protocol/client-auth/client-keys.ts). */
  jwks_uri?: string;
  /** JWS algorithms accepted; default PS256, ES256, EdDSA. */
  algorithms?: string[];
}

export interface ClientStore {
  get(clientId: string): Promise<ClientRecord | undefined>;
  list(): Promise<ClientRecord[]>;
  /** A page of clients in client_id order; `search` matches client_id or client_name (case-insensitive substring). */
  page(q: PageQuery): Promise<Page<ClientRecord>>;
  /** Creates the client or replaces it whole, but for its first use (firstUsedAt), which stays as stored. */
  put(client: ClientRecord): Promise<void>;
  delete(clientId: string): Promise<boolean>;
  /**
   * Records the first token issued to the client: sets firstUsedAt to `at` unless it is set already
   * (one conditional update); true when this call set it.
   */
  markUsed(clientId: string, at: number): Promise<boolean>;
  /**
   * Deletes, as `delete` does, at most `limit` dynamically registered clients (metadata.registration)
   * never used (no firstUsedAt) and unchanged since `changedBefore` (updatedAt at or before it),
   * oldest first; returns their ids. A client marked used meanwhile is kept.
   */
  deleteUnusedRegistrations(changedBefore: number, limit: number): Promise<string[]>;
  /**
   * Replaces the client's secret hash `from` with `to`, and nothing else of the record (one
   * conditional update); false when the stored hash is no longer `from`.
   */
  replaceSecretHash(clientId: string, from: string, to: string): Promise<boolean>;
}
