export interface ConsentRecord {
  userId: string;
  clientId: string;
  scopes: string[];
  grantedAt: number;
}

export interface ConsentStore {
  get(userId: string, clientId: string): Promise<ConsentRecord | undefined>;
  /** Adds scopes to the remembered consent (creating it if needed). */
  grant(userId: string, clientId: string, scopes: string[], now: number): Promise<void>;
  revoke(userId: string, clientId: string): Promise<boolean>;
  listByUser(userId: string): Promise<ConsentRecord[]>;
}
