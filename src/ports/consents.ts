export interface ConsentRecord {
  userId: string;
  clientId: string;
  /** Every scope consented to, for any resource (what the account page lists). */
  scopes: string[];
  /**
   * The scopes consented to per RFC 8707 resource (API); '' is the default audience, a request
   * that names no resource. A remembered consent covers exactly these pairs.
   */
  resources: Record<string, string[]>;
  grantedAt: number;
}

export interface ConsentStore {
  get(userId: string, clientId: string): Promise<ConsentRecord | undefined>;
  /**
   * Remembers consent to `scopes` for each of `resources` (none: the default audience), merged
   * into what was remembered before (creating it if needed), atomically.
   */
  grant(userId: string, clientId: string, scopes: string[], now: number, resources?: string[]): Promise<void>;
  revoke(userId: string, clientId: string): Promise<boolean>;
  listByUser(userId: string): Promise<ConsentRecord[]>;
  /** The consents given to one client (the admin API's grants of a client). */
  listByClient(clientId: string): Promise<ConsentRecord[]>;
}

/** The key of ConsentRecord.resources for a request that names no resource. */
export const DEFAULT_AUDIENCE = '';
