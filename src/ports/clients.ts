export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';
export type GrantType = 'authorization_code' | 'refresh_token' | 'client_credentials';

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
  createdAt: number;
  updatedAt: number;
}

export interface ClientStore {
  get(clientId: string): Promise<ClientRecord | undefined>;
  list(): Promise<ClientRecord[]>;
  /** Creates the client or replaces it whole. */
  put(client: ClientRecord): Promise<void>;
  delete(clientId: string): Promise<boolean>;
}
