export interface ConsentRecord {
  userId: string;
  clientId: string;
  scopes: string[];
  /** RFC 8707 resources (APIs) the user consented to; a request for another one asks again. */
  resources: string[];
  grantedAt: number;
}

export interface ConsentStore {
  get(userId: string, clientId: string): Promise<ConsentRecord | undefined>;
  /** Adds scopes and resources to the remembered consent (creating it if needed), atomically. */
  grant(userId: string, clientId: string, scopes: string[], now: number, resources?: string[]): Promise<void>;
  revoke(userId: string, clientId: string): Promise<boolean>;
  listByUser(userId: string): Promise<ConsentRecord[]>;
}
