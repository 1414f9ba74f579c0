/**
 * The registry of resource servers (RFC 8707 resources this server issues access tokens for): per
 * resource its identifier (an absolute URI, the `aud` of its tokens), a display name and its scopes
 * with descriptions (for the consent page), and the policy of its access tokens. Self-registered
 * clients may obtain tokens only for these and for the default audience (protocol/resources.ts).
 */
/**
 * An operator's description of a scope: English text, or the text in each language they wrote it in
 * (English required; i18n/catalog.ts OperatorText).
 */
export type ScopeDescription = string | { readonly en: string; readonly de?: string; readonly fr?: string };

export interface ResourceServerRecord {
  /** Absolute URI without a fragment; the `aud` of the access tokens for it. */
  identifier: string;
  displayName: string;
  /**
   * The scopes this resource understands, each with a description shown to users and, optionally,
   * its parent among them: a token holding the parent satisfies the child (protocol/resources.ts, the
   * scope hierarchy). A description is English text, or the text per language ({ en, de?, fr? }: the
   * consent page shows the one of its language, else the English); kept as given.
   */
  scopes: { name: string; description: ScopeDescription; parent?: string }[];
  /** Lifetime of its access tokens in seconds; null: TESSERA_ACCESS_TOKEN_TTL. */
  accessTokenTtl: number | null;
  /** JWS algorithm of its access tokens; null: the server's signing key's. */
  signingAlg: string | null;
  /** `required`: its access tokens are issued only DPoP-bound (RFC 9449); `optional`: as the client asks. */
  dpop: 'required' | 'optional';
  createdAt: number;
  updatedAt: number;
}

export interface ResourceServerStore {
  get(identifier: string): Promise<ResourceServerRecord | undefined>;
  list(): Promise<ResourceServerRecord[]>;
  /** Inserts or replaces the resource of this identifier. */
  put(record: ResourceServerRecord): Promise<void>;
  /** False when there was none. */
  delete(identifier: string): Promise<boolean>;
}
