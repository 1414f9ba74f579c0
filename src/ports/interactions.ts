/** A pending authorization request waiting for the user to log in and/or consent. */
export interface InteractionRecord {
  uid: string;
  clientId: string;
  /** The validated authorization request parameters. */
  params: Record<string, string>;
  /** Hash of the interaction cookie that binds it to the browser that started it. */
  browserHash: string;
  /** Session established (or confirmed) during this interaction. */
  sessionIdHash: string | null;
  /** Set once the user has authenticated in this interaction. */
  loginAt: number | null;
  createdAt: number;
  expiresAt: number;
}

export interface InteractionStore {
  create(record: InteractionRecord): Promise<void>;
  get(uid: string): Promise<InteractionRecord | undefined>;
  setLogin(uid: string, sessionIdHash: string, loginAt: number): Promise<void>;
  /** Deletes it and returns it to the first caller only. */
  consume(uid: string): Promise<InteractionRecord | undefined>;
}
