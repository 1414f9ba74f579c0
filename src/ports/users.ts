export interface UserRecord {
  id: string;
  username: string;
  passwordHash: string | null;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
  givenName: string | null;
  familyName: string | null;
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface UserStore {
  get(id: string): Promise<UserRecord | undefined>;
  findByUsername(username: string): Promise<UserRecord | undefined>;
  list(): Promise<UserRecord[]>;
  /** Creates the user or replaces it whole (matched by id). */
  put(user: UserRecord): Promise<void>;
  /** Creates the user unless its id or username exists already (atomically); whether it was created. */
  create(user: UserRecord): Promise<boolean>;
}
